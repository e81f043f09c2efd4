/** The narrow API the UI has to the node worker (comlink). Types only: the UI never imports node code. */
import type { CapabilityView } from '../bus/bus.js';
import type { CallTrace } from '../bus/trace.js';
import type { WireError } from '../core/errors.js';
import type { PingResult, PingStreamResult } from '../node/types.js';
import type { StreamEvent } from '../transport/frame-types.js';
import type { LinkPath } from '../transport/link.js';

export interface IdentityView {
  nodeId: string;
  shortId: string;
  displayName: string;
  profile: string;
  communityId: string;
  keyEngine: 'webcrypto' | 'noble';
  createdKey: boolean;
}

export interface PeerView {
  nodeId: string;
  shortId: string;
  displayName: string;
  profile: string;
  path: LinkPath | null;
  rttMs: number | null;
  lastSeenMs: number;
}

/** Same shapes the node returns; re-exported as types only, so the UI bundle holds no node code. */
export type { PingResult, PingStreamResult, CallTrace, CapabilityView, StreamEvent, WireError };

/** A capability row: the bus entry with the name people know its node by. */
export interface CapabilityRow extends CapabilityView {
  nodeName: string;
  nodeShortId: string;
  /** Quarantined at the moment the view was made. */
  quarantined: boolean;
}

/** A recent call, with both ends named. */
export interface CallRow extends CallTrace {
  fromName: string;
  toName: string;
}

export interface BusView {
  capabilities: CapabilityRow[];
  /** Newest first, at most BUS_VIEW_CALLS. */
  calls: CallRow[];
  /** Calls traced since the node started (the ring keeps the last 10 000). */
  callsTotal: number;
  echoOffered: boolean;
}

export const BUS_VIEW_CALLS = 50;

/** Errors cross comlink as data so the UI keeps the contract code, not only a message. */
export type CallOutcome = { ok: true; result: unknown; trace: CallTrace | null } | { ok: false; error: WireError; trace: CallTrace | null };

export interface CallRequest {
  capability: string;
  version: string;
  body: unknown;
  /** Only this node may serve it. */
  node?: string;
  timeoutMs?: number;
}

export interface NodeWorkerApi {
  start(options: { communityId: string }): Promise<IdentityView>;
  identity(): Promise<IdentityView>;
  setDisplayName(name: string): Promise<IdentityView>;
  peers(): Promise<PeerView[]>;
  /** `listener` is a comlink proxy; it receives the full peer list whenever it changes. */
  subscribePeers(listener: (peers: PeerView[]) => void): Promise<void>;
  ping(nodeId: string, payload?: string): Promise<PingResult>;
  pingStream(nodeId: string, count: number): Promise<PingStreamResult>;
  stats(): Promise<Record<string, number>>;
  busView(): Promise<BusView>;
  /** `listener` (a comlink proxy) receives the view whenever capabilities or calls change, a few times a second at most. */
  subscribeBus(listener: (view: BusView) => void): Promise<void>;
  /** A routed call through the bus: the bus picks the provider unless `node` is given. */
  callCapability(request: CallRequest): Promise<CallOutcome>;
  /** A routed streaming call; `onEvent` (a comlink proxy) gets every event, the last being `done`. */
  streamCapability(request: CallRequest, onEvent: (event: StreamEvent) => void): Promise<CallOutcome>;
  /** Offer or withdraw `experimental.echo@1.0` from this node (remembered on this device). */
  setEchoOffered(offered: boolean): Promise<boolean>;
  /** The bus's metrics in Prometheus text format. */
  metrics(): Promise<string>;
  attachHost(port: MessagePort): Promise<void>;
  signHello(nonce: string): Promise<Record<string, unknown>>;
  signSignal(to: string, data: unknown): Promise<Record<string, unknown>>;
}

/** Until communities exist (next issue) every node joins one open room on its bridge. */
export const OPEN_COMMUNITY_ID = 'hearthnet:open';
