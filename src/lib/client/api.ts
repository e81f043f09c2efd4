/** The narrow API the UI has to the node worker (comlink). Types only: the UI never imports node code. */
import type { CapabilityView } from '../bus/bus.js';
import type { CallTrace } from '../bus/trace.js';
import type { WireError } from '../core/errors.js';
import type { Transfer } from '../library/library-node.js';
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
  /** Keeps a conversation's calls on one provider while it stays viable (M03 §5.6 sticky sessions). */
  sessionId?: string;
  /** Names the call so `cancelCall` can stop it (the caller picks it, e.g. crypto.randomUUID()). */
  callId?: string;
}

/** A model server this device offers to the mesh (an OpenAI-compatible URL such as a laptop's own Ollama). */
export interface LlmSettings {
  /** e.g. http://127.0.0.1:11434/v1, or null when this device offers none. */
  serverUrl: string | null;
  /** Models the server listed at the last check; empty when unreachable. */
  models: string[];
  /** Why the last check failed, for the person to fix. */
  problem: string | null;
}

/** Where a model in this browser runs: WebLLM on the GPU (WebGPU), or transformers.js (WASM on any device). */
export type DeviceModelBackend = 'webllm' | 'transformers';

/** A model this device could run, as the Ask page's "Run a model in this browser" card lists it. */
export interface DeviceModelOption {
  backend: DeviceModelBackend;
  /** WebLLM's model_id, or the Hugging Face repo for transformers.js. */
  id: string;
  /** Graphics memory it needs (WebLLM's catalogue), when known. */
  vramMB: number | null;
  /** Download size, when known. */
  sizeMB: number | null;
  /** Whether this device can run it; when not, `reason` says why. */
  fits: boolean;
  reason: string | null;
  /** Where its files come from: the bridge's mirror (no internet needed) or the internet (only when asked). */
  source: 'mirror' | 'internet';
}

export interface DeviceModelState {
  webgpu: { usable: boolean; reason: string | null; adapter: string | null };
  /** Whether the bridge serves model files (`models.dir`). */
  mirror: 'available' | 'none' | 'unreachable';
  options: DeviceModelOption[];
  /** The model chosen on this device (kept across reloads), loaded or loading. */
  chosen: { backend: DeviceModelBackend; id: string } | null;
  phase: 'idle' | 'loading' | 'ready' | 'error';
  progress: { fraction: number; text: string } | null;
  problem: string | null;
}

/** A sentence-embedding model on the bridge's mirror, as the Library page's card lists it. */
export interface EmbeddingModelOption {
  /** `org/repo`: also the model's name in embed.text. */
  id: string;
  /** What loading it downloads from the bridge. */
  sizeMB: number;
}

/**
 * The sentence-embedding model this browser runs (for better library search), loaded from the bridge's mirror only —
 * never from the internet — and offered to the mesh as embed.text.
 */
export interface EmbeddingModelState {
  /** Whether the bridge serves model files (`models.dir`); `options` lists the embedding models among them. */
  mirror: 'available' | 'none' | 'unreachable';
  options: EmbeddingModelOption[];
  /** The model turned on here (kept across reloads), loaded or loading. */
  chosen: string | null;
  phase: 'idle' | 'loading' | 'ready' | 'error';
  progress: { fraction: number; text: string } | null;
  problem: string | null;
  /** Models this node embeds with now, and the one its new library collections use. */
  models: string[];
  preferred: string;
}

/** A member as the Community page lists them. */
export interface MemberView {
  nodeId: string;
  shortId: string;
  displayName: string;
  level: 'member' | 'trusted' | 'anchor';
  addedAt: string;
  addedBy: string;
  isSelf: boolean;
  /** Linked to this node right now. */
  online: boolean;
  /** The bridge's own node (keeps a durable copy of the log). */
  isBridge: boolean;
}

export interface InviteView {
  eventId: string;
  inviteeNodeId: string;
  displayName: string;
  level: 'member' | 'trusted';
  expiresAt: string;
  redeemedBy: string | null;
  inviter: string;
}

/**
 * Where this device stands. `none`: not in a community (open room); `joining`: holds an invite and waits to reach
 * someone who has the log; `member`; `revoked`: removed (the log stays readable, nothing is accepted from it).
 */
export interface CommunityState {
  status: 'none' | 'joining' | 'member' | 'revoked';
  communityId: string | null;
  name: string | null;
  /** This node's level in the community. */
  level: 'none' | 'member' | 'trusted' | 'anchor' | 'revoked';
  policy: Record<string, number | boolean> | null;
  members: MemberView[];
  revoked: { nodeId: string; shortId: string; revokedAt: string; reason: string }[];
  invites: InviteView[];
  events: number;
  headLamport: number;
  /** May invite members (and trusted, when `canInviteTrusted`). */
  canInvite: boolean;
  canInviteTrusted: boolean;
  /** Trusted or anchor: may promote, and co-sign demotions and revocations. */
  canModerate: boolean;
  /** Signatures the policy needs to revoke / demote. */
  revokeSignatures: number;
  joining: { communityName: string; inviterShortId: string; level: string; error: string | null } | null;
  bridge: { nodeId: string | null; member: boolean; note: string | null };
  /** Other trusted members asking this device to co-sign a demotion or revocation (a person decides). */
  cosignRequests: { id: string; from: string; fromName: string; action: 'revoke' | 'demote'; target: string; targetName: string; reason: string | null; newLevel: string | null; receivedAt: number }[];
  /** This device's own demotion or revocation while it gathers signatures, or how the last one ended. */
  proposal: { action: 'revoke' | 'demote'; targetName: string; needed: number; signed: string[]; waitingFor: string[]; declined: string[]; done: boolean; error: string | null } | null;
  /** Last sync with each peer, newest first. */
  sync: { peer: string; peerName: string; at: number; ok: boolean; received: number; sent: number; error?: string }[];
}

/** What the join page shows before anyone commits: read from the invite, signature checked. */
export interface InvitePreview {
  communityId: string;
  communityName: string;
  inviterNodeId: string;
  inviterShortId: string;
  level: 'member' | 'trusted';
  expiresAt: string;
  /** A one-scan invite (any device may redeem it once) rather than one addressed to this device. */
  oneScan: boolean;
}

export interface CreatedInvite {
  /** https link that opens the join page; the QR encodes it. */
  link: string;
  /** The contract's invite_blob (paste form). */
  blob: string;
  expiresAt: string;
  eventId: string;
}

/** Someone who holds a file (a manifest and all its chunks), as the Files page lists them. */
export interface HolderView {
  nodeId: string;
  name: string;
  /** Linked to this node now, so a download can use them. */
  online: boolean;
  isSelf: boolean;
}

/** A file this node knows of: one it holds, or one a member announced (`file.cid.advertised`). */
export interface FileView {
  /** The blob manifest's CID (`blake3:` + 64 hex). */
  cid: string;
  /** The name it was added under (announced with it); "" when nobody said. */
  name: string;
  mediaType: string;
  sizeBytes: number;
  /** ms since the epoch: added here, or first announced. */
  addedAt: number;
  /** Whether this device has every chunk (`complete`), some (`partial`, an interrupted download), or none. */
  local: 'complete' | 'partial' | 'none';
  chunksHeld: number;
  chunksTotal: number;
  holders: HolderView[];
}

/** A download in progress or just ended (the node's Transfer, as data): resuming fetches only the chunks still missing. */
export interface TransferView extends Omit<Transfer, 'sources' | 'error'> {
  /** Display names of the nodes chunks came from. */
  sources: string[];
  error: WireError | null;
}

export interface FilesState {
  files: FileView[];
  transfers: TransferView[];
  /** Bytes of chunks stored on this device. */
  usedBytes: number;
}

/** A document in a corpus, as `rag.document.ingested` announced it. */
export interface LibraryDocumentView {
  docCid: string;
  title: string;
  chunks: number;
  /** The node that indexed it (and answers queries for it). */
  holder: string;
  holderName: string;
  ingestedAt: string;
  embeddingModel: string | null;
}

export interface CorpusView {
  name: string;
  documents: LibraryDocumentView[];
  /** Nodes offering `rag.query` for this corpus now. */
  holders: HolderView[];
  /** Searchable right now: some node in reach holds it. */
  reachable: boolean;
}

/** An ingest started from this device's Library page. */
export interface IngestView {
  id: string;
  title: string;
  corpus: string;
  phase: 'storing' | 'indexing' | 'done' | 'failed';
  /** 0..1 where known (storing); null while indexing (one call to the indexing node). */
  fraction: number | null;
  chunks: number | null;
  error: WireError | null;
}

export interface LibraryState {
  corpora: CorpusView[];
  ingests: IngestView[];
  /** Trusted or anchor here: `rag.ingest` is trusted-only (contract §4.5). */
  canIngest: boolean;
  /** Why not, for the page to say. */
  ingestNote: string | null;
}

/** Outcomes cross comlink as data (like CallOutcome). `reload` says the node restarted into another community. */
export type ActionOutcome = { ok: true; reload?: boolean } | { ok: false; error: WireError };

export interface NodeWorkerApi {
  /** `bridgeUrl` is the signalling socket; its http(s) origin is where the bridge takes invites. */
  start(options: { bridgeUrl: string }): Promise<IdentityView>;
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
  community(): Promise<CommunityState>;
  /** `listener` gets the state whenever the log or the peers change (coalesced). */
  subscribeCommunity(listener: (state: CommunityState) => void): Promise<void>;
  /** Founds a community with this device as anchor; the node restarts into it (`reload`). */
  createCommunity(fields: { name: string; policy?: Record<string, number | boolean> }): Promise<ActionOutcome>;
  /** A one-scan invite (no `inviteeNodeId`) or one addressed to a device (from its "fresh device" card or id). */
  createInvite(fields: { level: 'member' | 'trusted'; ttlSeconds?: number; invitee?: string; displayName?: string; origin: string }): Promise<{ ok: true; invite: CreatedInvite } | { ok: false; error: WireError }>;
  /** Reads an invite (link, blob, or hearthnet:// text) and checks it is usable by this device. */
  previewInvite(text: string): Promise<{ ok: true; preview: InvitePreview } | { ok: false; error: WireError }>;
  /** Keeps the invite and restarts the node into its community (`reload`); joining completes once synced. */
  acceptInvite(text: string): Promise<ActionOutcome>;
  /** Leaves the community on this device (the log stays on the others); restarts into the open room. */
  leaveCommunity(): Promise<ActionOutcome>;
  promote(nodeId: string, level: 'trusted' | 'anchor'): Promise<ActionOutcome>;
  /**
   * Revokes a member: asks the other trusted members linked now to co-sign (each decides on their device) and writes
   * the revocation once the policy's count is met. Resolves when written, or with why not.
   */
  revoke(nodeId: string, reason: string): Promise<ActionOutcome>;
  /** Lowers a member's level, with co-signatures gathered like `revoke`. */
  demote(nodeId: string, level: 'member' | 'trusted'): Promise<ActionOutcome>;
  /** Answers a co-sign request shown in `cosignRequests`. */
  answerCosign(id: string, approve: boolean): Promise<ActionOutcome>;
  /**
   * The community manifest (contract §6.2) derived from this device's copy of the log, signed when this device is an
   * anchor (`signed`), as JSON text.
   */
  communityManifest(): Promise<{ ok: true; json: string; signed: boolean } | { ok: false; error: WireError }>;
  /** Cancels a call started with this `callId`: the provider is told and stops (within 200 ms for streams). */
  cancelCall(callId: string): Promise<void>;
  llmSettings(): Promise<LlmSettings>;
  /** Models this browser could run, and the one it runs. */
  deviceModel(): Promise<DeviceModelState>;
  /** Calls `listener` now and on every change (loading progress included); returns an id for unsubscribing. */
  subscribeDeviceModel(listener: (state: DeviceModelState) => void): Promise<number>;
  unsubscribeDeviceModel(id: number): Promise<void>;
  /** Loads a model in a model worker and offers it to the mesh; `allowInternet` only when the person asked. */
  loadDeviceModel(choice: { backend: DeviceModelBackend; id: string; allowInternet: boolean }): Promise<DeviceModelState>;
  /** Stops offering the model and frees its memory. */
  unloadDeviceModel(): Promise<DeviceModelState>;
  /** The bridge's sentence-embedding models, and the one this browser runs. */
  embeddingModel(): Promise<EmbeddingModelState>;
  /** Calls `listener` now and on every change (loading progress included); returns an id for unsubscribing. */
  subscribeEmbeddingModel(listener: (state: EmbeddingModelState) => void): Promise<number>;
  unsubscribeEmbeddingModel(id: number): Promise<void>;
  /** Loads a mirrored sentence-embedding model in a model worker, offers it, and uses it for new collections. */
  loadEmbeddingModel(id: string): Promise<EmbeddingModelState>;
  /** Stops offering it and frees its memory; collections embedded with it answer by their words until it is back. */
  unloadEmbeddingModel(): Promise<EmbeddingModelState>;
  /** Offers (or with null stops offering) an OpenAI-compatible model server from this device; checks it at once. */
  setLlmServer(url: string | null): Promise<LlmSettings>;
  /** Files this device holds or has heard of, with downloads. */
  files(): Promise<FilesState>;
  /** Calls `listener` now and on every change (download progress included, a few times a second at most). */
  subscribeFiles(listener: (state: FilesState) => void): Promise<number>;
  unsubscribeFiles(id: number): Promise<void>;
  /** Stores a file (bytes transferred, not copied), pins it and announces it to the community. */
  addFile(file: { name: string; mediaType: string; bytes: Uint8Array }): Promise<{ ok: true; cid: string } | { ok: false; error: WireError }>;
  /** Starts (or resumes) a download from every holder in reach; progress arrives through `subscribeFiles`. */
  downloadFile(cid: string, name?: string): Promise<ActionOutcome>;
  cancelDownload(cid: string): Promise<void>;
  /** The whole file from this device's store (bytes transferred), for opening or saving. */
  readFile(cid: string): Promise<{ ok: true; bytes: Uint8Array; name: string; mediaType: string } | { ok: false; error: WireError }>;
  /** Unpins the file here and announces `file.cid.unpinned`; its chunks go at the next garbage collection. */
  removeFile(cid: string): Promise<ActionOutcome>;
  library(): Promise<LibraryState>;
  subscribeLibrary(listener: (state: LibraryState) => void): Promise<number>;
  unsubscribeLibrary(id: number): Promise<void>;
  /** Stores the document as a blob, then asks a node that can index (this one first) to ingest it into `corpus`. */
  ingestDocument(doc: { corpus: string; title: string; name: string; mediaType: string; bytes: Uint8Array }): Promise<{ ok: true; docCid: string; chunks: number } | { ok: false; error: WireError }>;
  /** This device's "fresh device" card text (hearthnet-id://…), for an inviter to scan. */
  deviceCard(): Promise<string>;
  signHello(nonce: string): Promise<Record<string, unknown>>;
  signSignal(to: string, data: unknown): Promise<Record<string, unknown>>;
}

/** A device in no community joins this open room on its bridge (to meet others and to be invited). */
export const OPEN_COMMUNITY_ID = 'hearthnet:open';
