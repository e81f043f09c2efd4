/**
 * Helpers for the bus's unit tests: a CapabilityBus on virtual time with a scripted RemoteCalls in place of the
 * rpc layer, so a test decides how each peer answers (value, error, delay, stream) and sees every call it was sent.
 */
import { HearthError, type CapabilitySpec, type ErrorCode } from '../../../src/lib/core/index.js';
import { CapabilityBus, interimMembership, schemaHashOf, type BusOptions, type RemoteCalls } from '../../../src/lib/bus/index.js';
import type { StreamEvent } from '../../../src/lib/transport/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

export const SELF = 'node-self';
export const PEER_A = 'peer-a';
export const PEER_B = 'peer-b';
export const PEER_C = 'peer-c';

export interface RemoteRequest {
  peer: string;
  capability: string;
  version: string;
  body: unknown;
  timeoutMs?: number;
  requestId: string;
  signal?: AbortSignal;
}

/** How a scripted peer answers one unary call. */
export type Answer = (req: RemoteRequest) => Promise<unknown>;
/** How a scripted peer answers one streaming call. */
export type StreamAnswer = (req: RemoteRequest) => AsyncIterable<StreamEvent>;


/** A RemoteCalls whose peers follow scripts. A peer without a script is unreachable (partition). */
export class FakeRemote implements RemoteCalls {
  readonly calls: RemoteRequest[] = [];
  readonly streams: RemoteRequest[] = [];
  private readonly answers = new Map<string, Answer>();
  private readonly streamAnswers = new Map<string, StreamAnswer>();

  constructor(private readonly time: VirtualTime) {}

  on(peer: string, answer: Answer): this {
    this.answers.set(peer, answer);
    return this;
  }

  onStream(peer: string, answer: StreamAnswer): this {
    this.streamAnswers.set(peer, answer);
    return this;
  }

  /** The peer answers `{ served_by: peer }` after `ms`; slower than the caller's deadline means `timeout`. */
  answersAfter(peer: string, ms: number): this {
    return this.on(peer, async (req) => {
      await this.wait(req, ms);
      return { served_by: peer };
    });
  }

  /** The peer fails every call with `code` after `ms`. */
  failsWith(peer: string, code: ErrorCode, ms = 10): this {
    return this.on(peer, async (req) => {
      await this.wait(req, ms);
      throw new HearthError(code, `${peer} says ${code}`);
    });
  }

  /** Peers that received calls, in order. */
  served(): string[] {
    return this.calls.map((c) => c.peer);
  }

  call(peer: string, capability: string, version: string, body: unknown, options: { timeoutMs: number; requestId: string; signal?: AbortSignal }): Promise<unknown> {
    const req = { peer, capability, version, body, ...options };
    this.calls.push(req);
    const answer = this.answers.get(peer);
    if (!answer) return Promise.reject(new HearthError('partition', `no link to ${peer}`));
    return answer(req);
  }

  stream(peer: string, capability: string, version: string, body: unknown, options: { requestId: string; signal?: AbortSignal }): AsyncIterable<StreamEvent> {
    const req = { peer, capability, version, body, ...options };
    this.streams.push(req);
    const answer = this.streamAnswers.get(peer);
    if (!answer) {
      return (async function* () {
        throw new HearthError('partition', `no link to ${peer}`);
      })();
    }
    return answer(req);
  }

  pathTo(peer: string): string | null {
    return this.answers.has(peer) || this.streamAnswers.has(peer) ? 'memory' : null;
  }

  /** Waits `ms`, or fails with `timeout` at the caller's deadline, as the rpc layer would. */
  private async wait(req: RemoteRequest, ms: number): Promise<void> {
    if (req.timeoutMs !== undefined && ms > req.timeoutMs) {
      await this.time.sleep(req.timeoutMs, req.signal);
      throw new HearthError('timeout', `${req.peer} gave no answer within ${req.timeoutMs} ms`);
    }
    await this.time.sleep(ms, req.signal);
  }
}

export interface TestBus {
  bus: CapabilityBus;
  time: VirtualTime;
  remote: FakeRemote;
  /** Peers the interim membership admits (as `member`). */
  admitted: Set<string>;
  localChanges: () => number;
}

export function makeBus(overrides: Partial<BusOptions> = {}): TestBus {
  const time = new VirtualTime();
  const remote = new FakeRemote(time);
  const admitted = new Set([PEER_A, PEER_B, PEER_C]);
  let ids = 0;
  let changes = 0;
  const bus = new CapabilityBus({
    selfId: SELF,
    clock: time,
    scheduler: time,
    remote,
    membership: interimMembership(SELF, (id) => admitted.has(id)),
    nextId: () => `trace-${String(++ids).padStart(4, '0')}`,
    onLocalChange: () => changes++,
    ...overrides
  });
  return { bus, time, remote, admitted, localChanges: () => changes };
}

type SpecExtras = Partial<CapabilitySpec> & { trust_required?: string; timeout_seconds?: number; idempotent?: boolean };

/** One capability as a peer's manifest lists it (contract §6.1 plus this implementation's optional fields). */
export function offer(name: string, extras: SpecExtras = {}): CapabilitySpec {
  const version = extras.version ?? '1.0';
  return {
    name,
    version,
    stability: 'experimental',
    schema_hash: schemaHashOf({ name, version, requestSchema: { type: 'object' }, responseSchema: null, streamSchema: null }),
    params: {},
    max_concurrent: 8,
    ...extras
  } as CapabilitySpec;
}

/** A promise with its resolve/reject, for handlers a test holds open. */
export function deferred<T = unknown>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Runs virtual time until the promise settles; returns the HearthError it rejected with (fails if it resolved). */
export async function failure(time: VirtualTime, promise: Promise<unknown>): Promise<HearthError> {
  const error = await time.resolve(promise).then(
    () => null,
    (err: unknown) => err
  );
  if (!(error instanceof HearthError)) throw new Error(`expected a HearthError, got ${String(error)}`);
  return error;
}

/** Who served a unary call whose result is `{ served_by }` (scripted peers) or a local handler's `{ served_by: SELF }`. */
export async function servedBy(t: TestBus, name: string, body: unknown = {}, options: Parameters<CapabilityBus['call']>[3] = {}): Promise<string> {
  const result = (await t.time.resolve(t.bus.call(name, '1.0', body, options))) as { served_by: string };
  return result.served_by;
}
