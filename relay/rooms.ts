/**
 * Who is connected, by NodeID and by room. A room is every admitted session with the same `community` string;
 * sessions only ever see, signal and relay to their own room. One NodeID has at most one session (B2).
 */
import type { PeerInfo } from './messages.js';

export interface RoomMember {
  readonly nodeId: string;
  readonly community: string;
  readonly peerInfo: PeerInfo;
}

export class Rooms<S extends RoomMember> {
  private readonly byNodeId = new Map<string, S>();
  private readonly byCommunity = new Map<string, Map<string, S>>();

  /** Adds the session; returns the older session with the same NodeID that it replaces (already removed). */
  admit(session: S): S | undefined {
    const previous = this.byNodeId.get(session.nodeId);
    if (previous) this.remove(previous);
    this.byNodeId.set(session.nodeId, session);
    let room = this.byCommunity.get(session.community);
    if (!room) this.byCommunity.set(session.community, (room = new Map()));
    room.set(session.nodeId, session);
    return previous;
  }

  /** Removes the session if it is still the current one for its NodeID; false if it was already replaced. */
  remove(session: S): boolean {
    if (this.byNodeId.get(session.nodeId) !== session) return false;
    this.byNodeId.delete(session.nodeId);
    const room = this.byCommunity.get(session.community);
    room?.delete(session.nodeId);
    if (room?.size === 0) this.byCommunity.delete(session.community);
    return true;
  }

  /** The other members of the session's room. */
  roommates(session: S): S[] {
    return [...(this.byCommunity.get(session.community)?.values() ?? [])].filter((s) => s !== session);
  }

  /** Every session in `community`'s room. */
  inRoom(community: string): S[] {
    return [...(this.byCommunity.get(community)?.values() ?? [])];
  }

  /** The member `nodeId` of `community`, if any. */
  find(community: string, nodeId: string): S | undefined {
    return this.byCommunity.get(community)?.get(nodeId);
  }

  get sessionCount(): number {
    return this.byNodeId.size;
  }

  get roomCount(): number {
    return this.byCommunity.size;
  }
}
