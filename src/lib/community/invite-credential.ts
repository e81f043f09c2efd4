/**
 * The invite a newcomer presents before it is a member (DESIGN §3.9, §3.12): to sync the log (log-sync.ts) and to
 * enter a community's room on a bridge that holds the log (relay/). One check, so both say yes and no alike.
 */
import { HearthError } from '../core/index.js';
import type { Community } from './community.js';
import { verifyInviteProof } from './invite-proof.js';
import type { InviteCredential } from './log-sync.js';

/**
 * Resolves when `credential` lets `caller`, who is not a member, act on the invite now: the invite is in our copy
 * of the log, not expired, and either addressed to `caller` or proven with its key. An invite someone else used
 * still lets its holder sync until it expires: a device whose join lost a race (two devices, one one-scan invite,
 * a partition) must be able to read the log to learn that it lost (K3).
 * Throws HearthError with M13's reason otherwise. Members and revoked nodes are the caller's business.
 */
export async function checkInviteCredential(community: Community, caller: string, credential: InviteCredential, nowMs: number): Promise<void> {
  const held = community.view.invite(credential.invite_event_id);
  if (!held) throw new HearthError('not_found', 'this node does not know that invite (yet); try the inviter or the bridge', { extra: { reason: 'invite_unknown' } });
  if (Date.parse(held.expires_at) < nowMs) throw new HearthError('expired', `that invite expired at ${held.expires_at}`, { extra: { reason: 'invite_expired' } });
  if (held.invitee_node_id === caller) return;
  const fields = { community_id: community.communityId, invite_event_id: credential.invite_event_id, node_id: caller };
  if (!(await verifyInviteProof(credential.proof, held.invitee_node_id, fields))) {
    throw new HearthError('unauthorized', 'the invite proof does not verify for this node', { extra: { reason: 'invitee_mismatch' } });
  }
}
