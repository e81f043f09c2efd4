/** The public face of a node: what the worker, the bridge and tests hold. */
import type { Clock, KeyPair, NodeProfile } from '../core/index.js';
import type {
  CallOptions,
  HandlerRegistration,
  Link,
  LinkPath,
  PeerListener,
  PeerRecord,
  RejectionCounts,
  Scheduler,
  StreamEvent,
  StreamOptions
} from '../transport/index.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type NodeLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface NodeOptions {
  keyPair: KeyPair;
  clock: Clock;
  scheduler: Scheduler;
  displayName: string;
  profile: NodeProfile;
  communityId: string;
  log?: NodeLog;
  /** RTT probe period; default PROBE_INTERVAL_MS. Simulations lengthen it to save signatures. */
  probeIntervalMs?: number;
}

export interface NodeIdentity {
  nodeId: string;
  shortId: string;
  displayName: string;
  profile: NodeProfile;
  communityId: string;
}

export interface PingResult {
  rttMs: number;
  path: LinkPath | null;
}

export interface PingStreamResult {
  /** Progress frames received (not counting `done`). */
  frames: number;
  ms: number;
}

export interface HearthNode {
  /** Resolves once the first manifest is signed; links added before then get it as soon as it is. */
  readonly ready: Promise<void>;
  identity(): NodeIdentity;
  /** Re-signs the manifest and sends it to every link at once. Throws bad_request for an empty or long name. */
  setDisplayName(name: string): Promise<void>;
  /** Takes ownership of an open link: sends our manifest first (P1), then serves and calls over it. */
  addLink(link: Link): void;
  peers(): PeerRecord[];
  /** Returns a function that unsubscribes. */
  subscribe(listener: PeerListener): () => void;
  /** Adds a capability to the default handler table; returns a function that removes it. */
  register(registration: HandlerRegistration): () => void;
  call(peer: string, capability: string, version: string, body: unknown, options?: CallOptions): Promise<unknown>;
  stream(peer: string, capability: string, version: string, body: unknown, options?: StreamOptions): AsyncIterable<StreamEvent>;
  /** One unary ping; records the RTT on the peer. Throws HearthError (timeout, partition, ...). */
  ping(nodeId: string, payload?: string): Promise<PingResult>;
  /** A streaming ping of `count` frames (1..1000), which exercises the flow window. */
  pingStream(nodeId: string, count: number): Promise<PingStreamResult>;
  /** Inbound frames dropped so far, by wire code. */
  stats(): RejectionCounts;
  /** Emergency mode prunes silent peers after 30 s instead of 90 s (P7). */
  setEmergency(emergency: boolean): void;
  /** Stops timers and handlers and closes every link. */
  stop(): void;
}
