/** Loads the shared known-answer vectors (made with libsodium, b3sum and an RFC 8785 canonicaliser). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
/** The shared set beside the checkout when there is one, else the copy kept in tests/vectors. */
export const SHARED_VECTORS = `${here}../../../../shared/vectors/wire-basic.json`;
export const VENDORED_VECTORS = `${here}../../vectors/wire-basic.json`;
const candidates = [SHARED_VECTORS, VENDORED_VECTORS];

export interface WireVectors {
  canonical: { input: string; canonical: string }[];
  keys: { seed_hex: string; public_hex: string; node_id_full: string; node_id_short: string }[];
  signed: { seed_index: number; payload: Record<string, unknown>; signed: Record<string, unknown> & { signature: string } }[];
  cids: { length: number; salt: number; cid: string }[];
}

export function loadWireVectors(): WireVectors {
  for (const path of candidates) {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as WireVectors;
    } catch {
      /* try the next location */
    }
  }
  throw new Error(`wire-basic.json not found (looked in ${candidates.join(', ')})`);
}

/** Byte i of a data vector of length n with salt s is (i*31+s) % 251. */
export function vectorData(length: number, salt: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + salt) % 251);
}
