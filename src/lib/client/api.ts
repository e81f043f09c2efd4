/** The narrow API the UI has to the node worker (comlink). Types only: the UI never imports node code. */
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
export type { PingResult, PingStreamResult } from '../node/types.js';
import type { PingResult, PingStreamResult } from '../node/types.js';

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
  attachHost(port: MessagePort): Promise<void>;
  signHello(nonce: string): Promise<Record<string, unknown>>;
  signSignal(to: string, data: unknown): Promise<Record<string, unknown>>;
}

/** Until communities exist (next issue) every node joins one open room on its bridge. */
export const OPEN_COMMUNITY_ID = 'hearthnet:open';
