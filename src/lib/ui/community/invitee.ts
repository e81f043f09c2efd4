/**
 * Reads whom an addressed invite is for: a "fresh device" card (M13 §4.4, `hearthnet-id://v1/<base64url JSON>`)
 * or a bare full NodeID. The card is unsigned public data, so reading it here only spares a round trip and lets
 * the inviter see the device's name before inviting; the node checks the id again when it makes the invite.
 */
const CARD_PREFIX = 'hearthnet-id://v1/';
const FULL_NODE_ID = /^ed25519:[A-Za-z0-9_-]{43}$/;
const MAX_CARD_CHARS = 1024;

export interface Invitee {
  nodeId: string;
  /** The name the device gave itself; null for a bare id. */
  name: string | null;
}

export type InviteeResult = { ok: true; invitee: Invitee } | { ok: false; problem: string };

function base64UrlText(encoded: string): string {
  const base64 = encoded.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

export function readInvitee(text: string): InviteeResult {
  const trimmed = text.trim();
  if (FULL_NODE_ID.test(trimmed)) return { ok: true, invitee: { nodeId: trimmed, name: null } };
  if (/^ed25519:[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/.test(trimmed)) {
    return { ok: false, problem: 'That is the short form of a node id, which is for display only. Scan the device’s code or paste its full id.' };
  }
  if (!trimmed.startsWith(CARD_PREFIX)) {
    const hint = trimmed.includes('/join#') ? ' This looks like an invite: open it on the device that should join.' : '';
    return { ok: false, problem: `This is not a device code (it should start with "${CARD_PREFIX}") or a full node id.${hint}` };
  }
  if (trimmed.length > MAX_CARD_CHARS) return { ok: false, problem: 'This device code is far too long to be one.' };
  let card: unknown;
  try {
    card = JSON.parse(base64UrlText(trimmed.slice(CARD_PREFIX.length)));
  } catch {
    return { ok: false, problem: 'This device code cannot be read (was it cut off?). Scan it again.' };
  }
  const { node_id_full: nodeId, display_name: name } = (card ?? {}) as Record<string, unknown>;
  if (typeof nodeId !== 'string' || !FULL_NODE_ID.test(nodeId)) return { ok: false, problem: 'This device code holds no valid node id.' };
  return { ok: true, invitee: { nodeId, name: typeof name === 'string' && name.trim() ? name.trim() : null } };
}
