/**
 * The "I'm a fresh device" card (M13 §4.4): a device that has not joined yet shows its NodeID as a QR code, and an
 * inviter scans it to make an invite addressed to it. Text form:
 *   hearthnet-id://v1/<base64url-nopad of canonical JSON {"display_name": ..., "node_id_full": ...}>
 * Unsigned on purpose: it holds only a public key and a name, and the inviter, who looks at the device in front
 * of them, is the source of trust.
 */
import { base64UrlDecode, base64UrlEncode, canonicalJson, HearthError, isFullNodeId, utf8Decode, utf8Encode } from '../core/index.js';

export const DEVICE_CARD_PREFIX = 'hearthnet-id://v1/';
export const MAX_DEVICE_NAME_CHARS = 64;
/** Far more than any valid card; longer text is refused before decoding. */
export const MAX_DEVICE_CARD_BYTES = 1024;

export interface DeviceCard {
  node_id_full: string;
  display_name: string;
}

const refuse = (what: string) => new HearthError('bad_request', `This is not a HearthNet device code: ${what}.`);

function cardProblem(card: Record<string, unknown>): string | null {
  const extra = Object.keys(card).filter((key) => key !== 'node_id_full' && key !== 'display_name');
  if (extra.length > 0) return `it has fields a device code does not have (${extra.join(', ')})`;
  if (!isFullNodeId(card.node_id_full)) return 'its node_id_full is not a full NodeID ("ed25519:" and 43 base64url characters)';
  const name = card.display_name;
  if (typeof name !== 'string' || name.trim().length === 0 || [...name].length > MAX_DEVICE_NAME_CHARS) {
    return `its display_name must be 1 to ${MAX_DEVICE_NAME_CHARS} characters`;
  }
  return null;
}

export function encodeDeviceCard(card: DeviceCard): string {
  const value = { node_id_full: card.node_id_full, display_name: card.display_name };
  const problem = cardProblem(value);
  if (problem) throw new HearthError('bad_request', `cannot make a device code: ${problem}`);
  return DEVICE_CARD_PREFIX + base64UrlEncode(utf8Encode(canonicalJson(value)));
}

/** Parses a scanned or pasted device code; throws `bad_request` saying what is wrong. */
export function decodeDeviceCard(input: string): DeviceCard {
  if (typeof input !== 'string') throw refuse('expected text');
  const text = input.trim();
  if (utf8Encode(text).length > MAX_DEVICE_CARD_BYTES) throw refuse(`it is longer than ${MAX_DEVICE_CARD_BYTES} bytes`);
  if (!text.startsWith(DEVICE_CARD_PREFIX)) {
    const hint = text.startsWith('ed25519:') || text.includes('/join#') ? ' (this looks like an invite; open it on the device that should join)' : '';
    throw refuse(`it should start with "${DEVICE_CARD_PREFIX}"${hint}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decode(base64UrlDecode(text.slice(DEVICE_CARD_PREFIX.length))));
  } catch (err) {
    throw refuse(err instanceof SyntaxError ? 'its content is not valid JSON' : 'it is not valid base64url (was it cut off?)');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw refuse('it does not hold a JSON object');
  const problem = cardProblem(parsed as Record<string, unknown>);
  if (problem) throw refuse(problem);
  const card = parsed as DeviceCard;
  return { node_id_full: card.node_id_full, display_name: card.display_name };
}
