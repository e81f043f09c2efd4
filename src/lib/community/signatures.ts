/**
 * Signatures in community events that are not the author's own (PROTOCOL.md K2–K4):
 * - the genesis binding: the community's root key, used once at founding and then forgotten, signs
 *   `{community_id, founder_node_id, name, policy}`, so exactly one `community.created` can ever be valid;
 * - trusted co-signatures on promote, demote and revoke: each signer signs the intent
 *   `{community_id, event_type, ...data without co_signers}`, independently of who finally authors the event.
 */
import { signPayload, verifyPayload, type KeyPair } from '../core/index.js';
import type { EventType } from '../events/index.js';
import type { CoSigner } from './community-view.js';

export interface GenesisBinding {
  community_id: string;
  founder_node_id: string;
  name: string;
  policy: unknown;
}

export async function signGenesis(rootKey: KeyPair, binding: GenesisBinding): Promise<string> {
  return (await signPayload({ ...binding }, rootKey)).signature;
}

export function verifyGenesis(binding: GenesisBinding, signature: unknown): Promise<boolean> {
  return verifyPayload({ ...binding, signature }, binding.community_id);
}

export type TrustAction = Extract<EventType, 'community.member.promoted' | 'community.member.demoted' | 'community.member.revoked'>;
export const TRUST_ACTIONS: readonly TrustAction[] = ['community.member.promoted', 'community.member.demoted', 'community.member.revoked'];

/** What a co-signer signs: the action's data without the signatures, bound to one community. */
export function coSignIntent(communityId: string, eventType: TrustAction, data: Record<string, unknown>): Record<string, unknown> {
  const { co_signers: _omitted, ...intent } = data;
  return { ...intent, community_id: communityId, event_type: eventType };
}

export async function coSign(keyPair: KeyPair, communityId: string, eventType: TrustAction, data: Record<string, unknown>): Promise<CoSigner> {
  const { signature } = await signPayload(coSignIntent(communityId, eventType, data), keyPair);
  return { node_id: keyPair.nodeId, signature };
}

export function verifyCoSigner(coSigner: CoSigner, communityId: string, eventType: TrustAction, data: Record<string, unknown>): Promise<boolean> {
  return verifyPayload({ ...coSignIntent(communityId, eventType, data), signature: coSigner.signature }, coSigner.node_id);
}
