/** Signing and verification of JSON payloads (CONTRACT §1.3, §10): Ed25519 over canonical JSON without `signature`. */
import { canonicalJson } from './canonical-json.js';
import { verifyEd25519 } from './ed25519.js';
import { base64UrlDecode, base64UrlEncode, utf8Encode } from './encoding.js';
import type { KeyPair } from './keys.js';
import { parseNodeId } from './node-id.js';

export const SIGNATURE_PREFIX = 'ed25519:';
const SIGNATURE_PATTERN = /^ed25519:[A-Za-z0-9_-]{86}$/;

export type Signed<T> = T & { signature: string };

function withoutSignature(payload: Record<string, unknown>): Record<string, unknown> {
  const { signature: _ignored, ...rest } = payload;
  return rest;
}

export function encodeSignature(bytes: Uint8Array): string {
  return SIGNATURE_PREFIX + base64UrlEncode(bytes);
}

export function decodeSignature(text: unknown): Uint8Array | null {
  if (typeof text !== 'string' || !SIGNATURE_PATTERN.test(text)) return null;
  try {
    return base64UrlDecode(text.slice(SIGNATURE_PREFIX.length));
  } catch {
    return null;
  }
}

/** The bytes a signature covers. */
export function signingBytes(payload: Record<string, unknown>): Uint8Array {
  return utf8Encode(canonicalJson(withoutSignature(payload)));
}

export async function signBytes(message: Uint8Array, keyPair: KeyPair): Promise<string> {
  return encodeSignature(await keyPair.sign(message));
}

/** Returns a copy of the payload with `signature` (any old one is replaced). */
export async function signPayload<T extends Record<string, unknown>>(payload: T, keyPair: KeyPair): Promise<Signed<T>> {
  const rest = withoutSignature(payload) as T;
  const signature = await signBytes(signingBytes(rest), keyPair);
  return { ...rest, signature };
}

/** True iff `signature` is a valid Ed25519 signature by `nodeIdFull` over the rest of the payload. Never throws. */
export async function verifyPayload(payload: unknown, nodeIdFull: string): Promise<boolean> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return false;
  const record = payload as Record<string, unknown>;
  const signature = decodeSignature(record.signature);
  if (!signature) return false;
  let publicKey: Uint8Array;
  let message: Uint8Array;
  try {
    publicKey = parseNodeId(nodeIdFull);
    message = signingBytes(record);
  } catch {
    return false;
  }
  return verifyEd25519(signature, message, publicKey);
}
