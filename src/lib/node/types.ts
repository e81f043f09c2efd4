/** The public face of a node: what the worker, the bridge and tests hold. */
import type { CapabilityBus, CapabilityRegistration, MembershipView, RateLimits } from '../bus/index.js';
import type { Clock, KeyPair, NodeManifest, NodeProfile } from '../core/index.js';
import type {
  CallOptions,
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
  /** Who is trusted how far; default: this node is `self`, admitted peers are `member` (until the community log). */
  membership?: MembershipView;
  /** Inbound call budgets per peer; default the X01 numbers. */
  rateLimits?: RateLimits;
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
  /** Our current signed manifest (contract §6.1), e.g. for a `community.member.joined` event. */
  manifest(): Promise<NodeManifest>;
  /** Re-signs the manifest and sends it to every link at once. Throws bad_request for an empty or long name. */
  setDisplayName(name: string): Promise<void>;
  /** Takes ownership of an open link: sends our manifest first (P1), then serves and calls over it. */
  addLink(link: Link): void;
  peers(): PeerRecord[];
  /** Returns a function that unsubscribes. */
  subscribe(listener: PeerListener): () => void;
  /** The capability bus: routed calls and streams, registry, traces, metrics. Services use this. */
  readonly bus: CapabilityBus;
  /** Offers a capability (bus.register); it appears in our next manifest at once. Returns a withdraw function. */
  register(registration: CapabilityRegistration): () => void;
  /**
   * A call to one named peer over the transport, bypassing routing (RTT probes, diagnostics). Services call
   * capabilities through `bus.call`, which picks the provider.
   */
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
