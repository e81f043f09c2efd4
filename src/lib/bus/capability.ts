/**
 * What a capability is to the bus: the descriptor a service registers (M03 §3.1), the entry the bus keeps for
 * every (node, capability) pair, local or remote, and version compatibility (contract §2.1).
 */
import type { Stability } from '../core/index.js';
import type { CallContext, HandlerResult } from '../transport/index.js';

/**
 * Who may call a capability. `self` means only this node; member, trusted and anchor are community trust levels;
 * `guest` is any caller that is not revoked, for the few capabilities that let a newcomer in (log sync with an
 * invite) and check the caller themselves.
 */
export const TRUST_LEVELS = ['guest', 'member', 'trusted', 'anchor', 'self'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];

/** A JSON Schema, kept as plain data so it can be hashed (contract §11). */
export type JsonSchema = Record<string, unknown>;

/** (offered params, requested params) → can this instance serve the request? (M03 §5.5) */
export type ParamsCompatible = (offered: Record<string, unknown>, requested: Record<string, unknown>) => boolean;

export type CapabilityHandler = (body: unknown, ctx: CallContext) => HandlerResult | Promise<HandlerResult>;

export interface CapabilityDescriptor {
  name: string;
  /** "major.minor" */
  version: string;
  stability: Stability;
  requestSchema: JsonSchema;
  /** Null for a pure stream. */
  responseSchema: JsonSchema | null;
  /** Schema of each non-terminal stream event `{event, data}`; null when the capability does not stream. */
  streamSchema: JsonSchema | null;
  /** Instance parameters published in the manifest (model, corpus, ...). */
  params: Record<string, unknown>;
  maxConcurrent: number;
  trustRequired: TrustLevel;
  /** Deadline when the caller gives none; the provider enforces it too. */
  timeoutSeconds: number;
  /** Safe to run twice: the caller may fail over after a timeout or a lost link. */
  idempotent: boolean;
}

/** What a service hands to `register`: the descriptor (defaults filled in for the optional parts) and its handler. */
export interface CapabilityRegistration extends Partial<Omit<CapabilityDescriptor, 'name' | 'version'>> {
  name: string;
  version: string;
  handler: CapabilityHandler;
  paramsCompatible?: ParamsCompatible;
  /**
   * Keep calls out of the trace ring (metrics still count them). Only for liveness probes, which would otherwise
   * push real calls out of the 10 000 most recent.
   */
  untraced?: boolean;
  /** The service's own prefix (e.g. "market"): a name outside it is a namespace violation (M03 §3.2). */
  owner?: string;
  /**
   * Calls per second one peer may make before `rate_limited` (default X01's per-capability rate). Only for bulk
   * protocols that pace themselves, such as log sync; the per-peer total still applies.
   */
  ratePerSecond?: number;
}

export const DESCRIPTOR_DEFAULTS = {
  stability: 'experimental',
  requestSchema: { type: 'object' },
  responseSchema: null,
  streamSchema: null,
  params: {},
  maxConcurrent: 8,
  trustRequired: 'member',
  timeoutSeconds: 30,
  idempotent: false
} as const satisfies Omit<CapabilityDescriptor, 'name' | 'version'>;

/** The bus's record of one capability on one node (M03 §3.1 CapabilityEntry). Mutable counters live here. */
export interface CapabilityEntry {
  /** `${nodeId} ${name}@${version}` */
  readonly key: string;
  readonly nodeId: string;
  readonly name: string;
  readonly version: string;
  readonly isLocal: boolean;
  stability: Stability;
  schemaHash: string;
  params: Record<string, unknown>;
  maxConcurrent: number;
  /** Known for local entries; remote ones say it in the manifest when they run this implementation. */
  trustRequired: TrustLevel | null;
  timeoutSeconds: number | null;
  idempotent: boolean;
  /** Local entries only. */
  descriptor: CapabilityDescriptor | null;
  handler: CapabilityHandler | null;
  untraced: boolean;
  /** Calls we are running on it right now (as caller for remote entries, as server for local ones). */
  inFlight: number;
  lastSeenMs: number;
}

export function entryKey(nodeId: string, name: string, version: string): string {
  return `${nodeId} ${name}@${version}`;
}

const VERSION = /^(\d{1,6})\.(\d{1,6})$/;

export function parseVersion(version: string): [number, number] | null {
  const match = VERSION.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** Contract §2.1: a request for A.B is served by X.Y iff X == A and Y >= B. */
export function versionSatisfies(offered: string, requested: string): boolean {
  const o = parseVersion(offered);
  const r = parseVersion(requested);
  return o !== null && r !== null && o[0] === r[0] && o[1] >= r[1];
}

export function label(name: string, version: string): string {
  return `${name}@${version}`;
}
