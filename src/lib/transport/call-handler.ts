/**
 * The serving side's port: whatever answers verified calls. The rpc layer knows only `CallHandler`; today a
 * HandlerTable implements it, later the capability bus (routing, schemas, health) replaces it without the
 * transport changing.
 */
import { HearthError } from '../core/index.js';
import type { StreamEvent } from './frame-types.js';

export interface IncomingCall {
  capability: string;
  version: string;
  body: unknown;
}

export interface CallContext {
  /** Full NodeID of the verified caller. */
  caller: string;
  requestId: string;
  /** Fires when the caller cancels, its link closes, the stream times out or the node stops. Stop within 200 ms. */
  signal: AbortSignal;
}

/**
 * A plain value answers a unary call with a signed `response`. An AsyncIterable makes it a stream: each item is
 * one frame, and the layer sends the terminal `done` with the iterator's return value (or `{}`). Throw a
 * HearthError to answer with its code; anything else thrown becomes `internal_error`.
 */
export type HandlerResult = unknown;

export interface CallHandler {
  handle(call: IncomingCall, ctx: CallContext): HandlerResult | Promise<HandlerResult>;
}

/**
 * Thrown by a handler to leave a call unanswered: only for floods past the hard rate limit (X01 §7), where signing
 * a refusal per frame would hand the flooder our CPU.
 */
export class DroppedCall extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'DroppedCall';
  }
}

export type Handler = (body: unknown, ctx: CallContext) => HandlerResult | Promise<HandlerResult>;

export interface HandlerRegistration {
  name: string;
  version: string;
  handler: Handler;
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<StreamEvent> {
  return value !== null && typeof value === 'object' && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

const CAPABILITY_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const VERSION = /^\d+\.\d+$/;

function parseVersion(version: string): [number, number] {
  const [major, minor] = version.split('.').map(Number);
  return [major, minor];
}

/**
 * Capabilities by name and version. A request for `A.B` is served by an offered `X.Y` with X == A and Y >= B
 * (contract §2.1), the highest such minor first.
 */
export class HandlerTable implements CallHandler {
  private readonly byName = new Map<string, HandlerRegistration[]>();

  /** Returns a function that unregisters. Registering the same name@version twice is a bug. */
  register(registration: HandlerRegistration): () => void {
    if (!CAPABILITY_NAME.test(registration.name)) throw new Error(`capability name ${JSON.stringify(registration.name)} is not dotted lowercase`);
    if (!VERSION.test(registration.version)) throw new Error(`capability version ${JSON.stringify(registration.version)} is not major.minor`);
    const list = this.byName.get(registration.name) ?? [];
    if (list.some((r) => r.version === registration.version)) {
      throw new Error(`${registration.name}@${registration.version} is already registered`);
    }
    list.push(registration);
    list.sort((a, b) => parseVersion(b.version)[1] - parseVersion(a.version)[1]);
    this.byName.set(registration.name, list);
    return () => {
      const current = this.byName.get(registration.name)?.filter((r) => r !== registration) ?? [];
      if (current.length) this.byName.set(registration.name, current);
      else this.byName.delete(registration.name);
    };
  }

  handle(call: IncomingCall, ctx: CallContext): HandlerResult | Promise<HandlerResult> {
    const offered = this.byName.get(call.capability);
    if (!offered) throw new HearthError('not_found', `no capability ${call.capability} here`);
    const [major, minor] = parseVersion(call.version);
    const match = offered.find((r) => {
      const [m, n] = parseVersion(r.version);
      return m === major && n >= minor;
    });
    if (!match) {
      const versions = offered.map((r) => `${r.name}@${r.version}`);
      throw new HearthError('schema_mismatch', `${call.capability}@${call.version} is not offered; have ${versions.join(', ')}`, {
        extra: { alt_capabilities: versions }
      });
    }
    return match.handler(call.body, ctx);
  }

  list(): { name: string; version: string }[] {
    return [...this.byName.values()].flat().map(({ name, version }) => ({ name, version }));
  }
}
