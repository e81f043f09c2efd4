/**
 * BLAKE3 for bulk chunk hashing: the one implementation in core/blake3.ts (hash-wasm, noble as the fallback), which
 * the transport shares to check chunk bytes from peers. The blob layer's names for it; one process-wide hasher.
 * tests/unit/blobs/hash.test.ts checks both backends against the b3sum vectors.
 */
export {
  type Blake3Hasher,
  nobleBlake3Hasher as nobleHasher,
  wasmBlake3Hasher as wasmHasher,
  loadBlake3Hasher as loadHasher
} from '../core/blake3.js';
