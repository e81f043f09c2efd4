/**
 * Proof that a newcomer holds a one-scan invite's secret (DESIGN §3.9). The invite key signs
 * `{purpose, community_id, invite_event_id, node_id}`: "the device `node_id` redeems invite `invite_event_id` of
 * `community_id`". The proof travels in the newcomer's `community.member.joined` event (`invite_proof`) and in its
 * first sync request, and is verified against the invite's `invitee_node_id` (the invite key's public half).
 * `purpose` separates these signatures from every other object a key could sign; the invite key signs nothing else.
 */
import { keyPairFromSeed, signPayload, verifyPayload } from '../core/index.js';

export const INVITE_PROOF_PURPOSE = 'hearthnet.invite.proof/1';

export interface InviteProofFields {
  community_id: string;
  invite_event_id: string;
  /** The full NodeID of the device that redeems the invite. */
  node_id: string;
}

function proofPayload(fields: InviteProofFields): Record<string, unknown> {
  // Only the named fields: anything else a caller passes along must not change what is signed.
  return { purpose: INVITE_PROOF_PURPOSE, community_id: fields.community_id, invite_event_id: fields.invite_event_id, node_id: fields.node_id };
}

/** The proof (an `ed25519:` signature string) made with the invite secret's 32-byte seed. */
export async function proveInvite(secretSeed: Uint8Array, fields: InviteProofFields): Promise<string> {
  const inviteKey = await keyPairFromSeed(secretSeed);
  return (await signPayload(proofPayload(fields), inviteKey)).signature;
}

/** True iff `proof` was made by the key behind `inviteeNodeId` for exactly these fields. Never throws. */
export function verifyInviteProof(proof: unknown, inviteeNodeId: string, fields: InviteProofFields): Promise<boolean> {
  return verifyPayload({ ...proofPayload(fields), signature: proof }, inviteeNodeId);
}
