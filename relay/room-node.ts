/**
 * What signalling needs of the bridge's own member nodes (community-member.ts), and what those nodes need of a
 * client socket. Kept apart so client-connection.ts and the member code do not import each other.
 */
import type { LinkFrame } from '../src/lib/transport/index.js';
import type { Hello, PeerInfo, Rejection } from './messages.js';

/** A client socket as a relay link to the bridge's node sees it. */
export interface RelayCarrier {
  readonly nodeId: string;
  readonly open: boolean;
  /** Bytes queued on the socket and not yet sent. */
  readonly bufferedBytes: number;
  /** Sends one bridge message; false if the socket is closed or too backed up to take it. */
  send(message: object): boolean;
  /**
   * The relay link to the bridge's node gave up on this client (it reads too slowly): count it and close the socket,
   * so the client reconnects and syncs again rather than the bridge holding frames for it without bound.
   */
  dropSlowReader(reason: SlowReaderReason, message: string): void;
}

export type SlowReaderReason = 'relay_link_overflow' | 'relay_link_stalled';

/** The bridge's member node in one community's room (PROTOCOL.md B7, B8). */
export interface RoomNode {
  /** How the room sees it: `relay_only`, profile `bridge`. */
  readonly peerInfo: PeerInfo;
  /** True once the bridge is a member and so can tell members from strangers: only then are hellos checked. */
  readonly gated: boolean;
  /** null when this (already signature-checked) hello may enter the room; else why not. */
  admission(hello: Pick<Hello, 'node_id' | 'invite'>, nowMs: number): Promise<Rejection | null>;
  /** An admitted client of this room: the node gets a relay link to it. */
  attach(client: RelayCarrier): void;
  /** The client left (or was replaced): its link closes. */
  detach(client: RelayCarrier): void;
  /** A peer frame the client relayed to the bridge's node: JSON text, or the bytes of a binary frame. */
  deliver(client: RelayCarrier, frame: LinkFrame): void;
}

export type RoomChange = 'started' | 'membership' | 'stopped';

/** Every community the bridge holds, by id (community-registry.ts). */
export interface HeldCommunities {
  get(communityId: string): RoomNode | undefined;
  /**
   * `started`: a node joined a room; `membership`: who may be in it changed (or the room became gated); `stopped`:
   * the node left its room for good (a join given up), so `get` no longer returns it.
   */
  subscribe(listener: (communityId: string, change: RoomChange) => void): () => void;
}
