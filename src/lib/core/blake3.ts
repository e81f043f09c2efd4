/**
 * BLAKE3 CIDs of bulk bytes (blob chunks), for every layer that must check them: the blob store and the transport,
 * which verifies chunk bytes from a peer before anyone sees them. hash-wasm is the fast path (bench/blobs.ts has the
 * ratio); @noble/hashes is the fallback where WebAssembly is missing or blocked (a CSP without
 * 'wasm-unsafe-eval'). Both give the CIDs of cid.ts.
 */
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createBLAKE3 } from 'hash-wasm';
import { CID_PREFIX } from './cid.js';

export interface Blake3Hasher {
  readonly backend: 'hash-wasm' | 'noble';
  /** `blake3:` + hex of the 32-byte digest. Synchronous, so one hasher is safe to share in one thread. */
  cid(bytes: Uint8Array): string;
}

export function nobleBlake3Hasher(): Blake3Hasher {
  return { backend: 'noble', cid: (bytes) => CID_PREFIX + bytesToHex(nobleBlake3(bytes)) };
}

export async function wasmBlake3Hasher(): Promise<Blake3Hasher> {
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

/** The process-wide hasher, loaded on first use (never at import): hash-wasm when it loads, noble otherwise. */
export function loadBlake3Hasher(): Promise<Blake3Hasher> {
  shared ??= wasmBlake3Hasher().catch(() => nobleBlake3Hasher());
  return shared;
}
