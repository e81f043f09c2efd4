/**
 * The community manifest (contract §6.2): the membership view at the log's head, as one signed document that can
 * be handed to anyone (a new device, another community, an auditor). Derived, never stored: the log is the truth.
 * Signed by an anchor; a reader checks the signature, that the signer is an anchor in the manifest, and that the
 * manifest's `community_id` is the community it asked about.
 */
import { HearthError, signPayload, verifyPayload, type KeyPair } from '../core/index.js';
import type { CommunityView } from './community-view.js';

export interface CommunityManifest {
  version: 1;
  community_id: string;
  name: string;
  root_key: string;
  created_at: string;
  lamport_at_creation: number;
  policy: Record<string, unknown>;
  members: { node_id: string; level: string; added_at: string; added_by: string }[];
  revoked: { node_id: string; revoked_at: string }[];
  head_lamport: number;
  signature?: string;
}

/** The view as contract §6.2's object, unsigned; members and revocations sorted by node id so it is reproducible. */
export function deriveManifest(view: CommunityView): CommunityManifest {
  const genesis = view.genesis;
  if (!genesis || !view.policy) throw new HearthError('not_found', 'this copy of the log has no genesis yet (sync first)');
  return {
    version: 1,
    community_id: genesis.community_id,
    name: genesis.name,
    root_key: genesis.community_id,
    created_at: genesis.created_at,
    lamport_at_creation: genesis.lamport,
    policy: { ...view.policy },
    members: view
      .members()
      .map((m) => ({ node_id: m.node_id, level: m.level, added_at: m.added_at, added_by: m.added_by }))
      .sort((a, b) => (a.node_id < b.node_id ? -1 : 1)),
    revoked: view
      .revocations()
      .map((r) => ({ node_id: r.node_id, revoked_at: r.revoked_at }))
      .sort((a, b) => (a.node_id < b.node_id ? -1 : 1)),
    head_lamport: view.head
  };
}

/** Signs the derived manifest as `anchor`; refuses when the signer is not an anchor in it. */
export async function signManifest(view: CommunityView, anchor: KeyPair): Promise<CommunityManifest & { signature: string }> {
  const manifest = deriveManifest(view);
  if (!manifest.members.some((m) => m.node_id === anchor.nodeId && m.level === 'anchor')) {
    throw new HearthError('unauthorized', 'only an anchor signs the community manifest');
  }
  return signPayload({ ...manifest }, anchor) as Promise<CommunityManifest & { signature: string }>;
}

/**
 * Who signed `manifest` for `communityId`, or why it cannot be trusted. The signer must be one of `knownAnchors`
 * (the reader's own view of the community, or the founder from the genesis): anchors the manifest lists about
 * itself prove nothing, since anyone can sign a manifest that names them anchor.
 */
export async function verifyManifest(manifest: unknown, communityId: string, knownAnchors: readonly string[]): Promise<string> {
  const m = manifest as CommunityManifest | null;
  if (!m || typeof m !== 'object' || m.community_id !== communityId || !Array.isArray(m.members)) {
    throw new HearthError('bad_request', 'not a community manifest for this community');
  }
  for (const anchor of knownAnchors) {
    if (await verifyPayload(m, anchor)) return anchor;
  }
  throw new HearthError('invalid_signature', 'the community manifest is not signed by an anchor this node knows');
}
