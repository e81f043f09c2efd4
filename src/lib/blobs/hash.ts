/**
 * BLAKE3 for bulk chunk hashing. hash-wasm is the fast path (see bench/blobs.ts for the ratio); @noble/hashes is
 * the fallback where WebAssembly is missing or blocked (CSP without 'wasm-unsafe-eval'). Both give the CIDs of
 * core/cid.ts; tests/unit/blobs/hash.test.ts checks them against the b3sum vectors.
 */
import { createBLAKE3 } from 'hash-wasm';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { CID_PREFIX } from '../core/index.js';

export interface Blake3Hasher {
  readonly backend: 'hash-wasm' | 'noble';
  /** `blake3:` + hex of the 32-byte digest. Synchronous, so one hasher is safe to share in one thread. */
  cid(bytes: Uint8Array): string;
}

export function nobleHasher(): Blake3Hasher {
  return { backend: 'noble', cid: (bytes) => CID_PREFIX + bytesToHex(nobleBlake3(bytes)) };
}

export async function wasmHasher(): Promise<Blake3Hasher> {
  const state = await createBLAKE3(256);
  return {
    backend: 'hash-wasm',
    // init/update/digest run without an await between them, so interleaved callers cannot mix their input.
    cid(bytes) {
      state.init();
      state.update(bytes);
      return CID_PREFIX + state.digest('hex');
    }
  };
}

let shared: Promise<Blake3Hasher> | undefined;

/** The process-wide hasher: hash-wasm when it loads, noble otherwise. */
export function loadHasher(): Promise<Blake3Hasher> {
  shared ??= wasmHasher().catch(() => nobleHasher());
  return shared;
}
