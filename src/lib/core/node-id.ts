/** NodeID forms (DESIGN §3.3): full = `ed25519:` + base64url(pubkey); short (display only) = base32 of the first 10 bytes in four groups. */
import { base32Encode, base64UrlDecode, base64UrlEncode } from './encoding.js';

export const NODE_ID_PREFIX = 'ed25519:';
export const FULL_NODE_ID_PATTERN = /^ed25519:[A-Za-z0-9_-]{43}$/;
export const SHORT_NODE_ID_PATTERN = /^ed25519:[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/;
const SHORT_ID_BYTES = 10;

export function fullNodeId(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new Error(`node id: public key must be 32 bytes, got ${publicKey.length}`);
  return NODE_ID_PREFIX + base64UrlEncode(publicKey);
}

export function shortNodeId(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new Error(`node id: public key must be 32 bytes, got ${publicKey.length}`);
  const b32 = base32Encode(publicKey.subarray(0, SHORT_ID_BYTES)); // 16 characters exactly
  return NODE_ID_PREFIX + b32.match(/.{4}/g)!.join('-');
}

/** The short form of a full NodeID string, for display. */
export function shortOf(fullId: string): string {
  return shortNodeId(parseNodeId(fullId));
}

/** Full form back to the 32 public-key bytes; the short form (or anything else) is refused with a reason. */
export function parseNodeId(full: string): Uint8Array {
  if (typeof full !== 'string') throw new Error('node id: expected a string');
  if (SHORT_NODE_ID_PATTERN.test(full)) throw new Error('node id: the short form is for display only; use the full form');
  if (!FULL_NODE_ID_PATTERN.test(full)) throw new Error('node id: expected "ed25519:" followed by 43 base64url characters');
  return base64UrlDecode(full.slice(NODE_ID_PREFIX.length));
}

export function isFullNodeId(value: unknown): value is string {
  if (typeof value !== 'string' || !FULL_NODE_ID_PATTERN.test(value)) return false;
  try {
    parseNodeId(value);
    return true;
  } catch {
    return false;
  }
}
