/**
 * Counts of everything the bridge refused or dropped, by reason (B5: "gets an error and is counted"), and of
 * what it forwarded. Shown in /health so an operator can see abuse or a buggy client without reading logs.
 */
export const REJECTION_REASONS = [
  'binary', // binary socket message: the bridge socket is JSON text only
  'oversize', // message over limits.max_message_bytes
  'oversize_closed', // message so large that the socket was closed before it was read
  'bad_json',
  'bad_shape',
  'unknown_type',
  'unauthorized', // anything but hello before admission
  'wrong_nonce',
  'expired', // hello timestamp outside the window
  'invalid_signature', // missing, malformed or not verifying
  'spoofed_from', // signal.from is not the session's NodeID
  'already_admitted',
  'not_found', // target not in the sender's room
  'frame_too_large', // relay frame over MAX_FRAME_BYTES
  'target_busy', // target's socket buffer is full; dropped rather than queued without bound
  'target_leaving', // target's socket is closing; its peer-left follows
  'rate_limited',
  'hello_timeout',
  'too_many_clients',
  'dead_socket', // no pong to a heartbeat ping
  'socket_error',
  // Rooms of communities the bridge is a member of (B8):
  'revoked', // hello from a NodeID the community revoked
  'not_member', // hello from a non-member that shows no invite
  'invite_refused', // hello with an invite the bridge's copy of the log does not accept
  'dropped_revoked', // a connected member the community revoked: socket closed
  'dropped_not_member', // a connected client that no longer passes the room's check (its invite expired, it was never a member)
  // The bridge's node to one client (relay-link.ts), socket closed 1013 so the client reconnects and syncs again:
  'relay_link_overflow', // over 256 frames or 4 MiB waiting for a client that does not read
  'relay_link_stalled' // the client's socket stayed over 1 MiB unsent for 30 s while frames waited
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export const TRAFFIC_EVENTS = ['connected', 'admitted', 'replaced', 'left', 'signals_forwarded', 'relays_forwarded', 'relays_to_member'] as const;
export type TrafficEvent = (typeof TRAFFIC_EVENTS)[number];

export class BridgeCounters {
  private readonly rejections = new Map<RejectionReason, number>(REJECTION_REASONS.map((r) => [r, 0]));
  private readonly traffic = new Map<TrafficEvent, number>(TRAFFIC_EVENTS.map((e) => [e, 0]));

  reject(reason: RejectionReason, by = 1): void {
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + by);
  }

  count(event: TrafficEvent): void {
    this.traffic.set(event, (this.traffic.get(event) ?? 0) + 1);
  }

  rejectionsSnapshot(): Record<RejectionReason, number> {
    return Object.fromEntries(this.rejections) as Record<RejectionReason, number>;
  }

  trafficSnapshot(): Record<TrafficEvent, number> {
    return Object.fromEntries(this.traffic) as Record<TrafficEvent, number>;
  }
}
