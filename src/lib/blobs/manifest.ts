/**
 * Blob manifests, exactly DESIGN §3.10: `{size_bytes, chunk_size_bytes: 262144, chunks: [{i, cid, size_bytes}]}`,
 * CID = BLAKE3 of its canonical JSON; the stored form adds `cid`. Manifests arrive from untrusted peers, so
 * `parseManifest` checks every field, the sizes against the limits, and the CID, before anything uses them.
 */
import { CHUNK_SIZE_BYTES, HearthError, canonicalJson, isCid, utf8Decode, utf8Encode, type BlobManifest, type ChunkRef } from '../core/index.js';
import type { Blake3Hasher } from './hash.js';
import { MAX_BLOB_BYTES, MAX_CHUNKS_PER_BLOB, MAX_MANIFEST_BYTES } from './limits.js';

export type { BlobManifest, ChunkRef };

/** The bytes the manifest CID covers (and what a ChunkStore keeps under that CID). */
export function manifestBody(manifest: Omit<BlobManifest, 'cid'>): Uint8Array {
  const { size_bytes, chunk_size_bytes, chunks } = manifest;
  return utf8Encode(canonicalJson({ size_bytes, chunk_size_bytes, chunks: chunks.map(({ i, cid, size_bytes }) => ({ i, cid, size_bytes })) }));
}

export function buildManifest(chunks: readonly ChunkRef[], hasher: Blake3Hasher): BlobManifest {
  const size_bytes = chunks.reduce((sum, c) => sum + c.size_bytes, 0);
  const body = { size_bytes, chunk_size_bytes: CHUNK_SIZE_BYTES, chunks: chunks.map(({ i, cid, size_bytes }) => ({ i, cid, size_bytes })) };
  return { cid: hasher.cid(manifestBody(body)), ...body };
}

const bad = (why: string) => new HearthError('bad_request', `blob manifest: ${why}`, { extra: { reason: 'manifest_invalid' } });
const isSize = (n: unknown, max: number): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) throw bad(`${where} has unknown field "${key}"`);
}

/**
 * Checks shape, limits and chunk layout of `candidate` (an object, or its JSON as text or bytes) and, when
 * `expectedCid` is given, that its CID is that one. Returns a fresh manifest holding only the checked fields.
 * Throws HearthError bad_request (reason `manifest_invalid`) otherwise.
 */
export function parseManifest(candidate: unknown, hasher: Blake3Hasher, expectedCid?: string): BlobManifest {
  if (candidate instanceof Uint8Array || typeof candidate === 'string') {
    const length = typeof candidate === 'string' ? candidate.length : candidate.byteLength;
    if (length > MAX_MANIFEST_BYTES) throw bad(`larger than ${MAX_MANIFEST_BYTES} bytes`);
    try {
      candidate = JSON.parse(typeof candidate === 'string' ? candidate : utf8Decode(candidate));
    } catch {
      throw bad('not JSON');
    }
  }
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) throw bad('not an object');
  const m = candidate as Record<string, unknown>;
  onlyKeys(m, ['cid', 'size_bytes', 'chunk_size_bytes', 'chunks'], 'manifest');
  if (m.chunk_size_bytes !== CHUNK_SIZE_BYTES) throw bad(`chunk_size_bytes must be ${CHUNK_SIZE_BYTES}`);
  if (!isSize(m.size_bytes, MAX_BLOB_BYTES)) throw bad(`size_bytes must be an integer in 0..${MAX_BLOB_BYTES}`);
  if (!Array.isArray(m.chunks)) throw bad('chunks must be an array');
  const size = m.size_bytes;
  const count = Math.max(1, Math.ceil(size / CHUNK_SIZE_BYTES));
  if (m.chunks.length > MAX_CHUNKS_PER_BLOB || m.chunks.length !== count) throw bad(`${size} bytes need ${count} chunks, not ${m.chunks.length}`);
  const chunks: ChunkRef[] = m.chunks.map((c: unknown, index: number) => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad(`chunk ${index} is not an object`);
    const ref = c as Record<string, unknown>;
    onlyKeys(ref, ['i', 'cid', 'size_bytes'], `chunk ${index}`);
    if (ref.i !== index) throw bad(`chunk ${index} has i=${String(ref.i)}`);
    if (!isCid(ref.cid)) throw bad(`chunk ${index} cid is not blake3:<64 hex>`);
    const expected = index < count - 1 ? CHUNK_SIZE_BYTES : size - (count - 1) * CHUNK_SIZE_BYTES;
    if (ref.size_bytes !== expected) throw bad(`chunk ${index} must be ${expected} bytes, says ${String(ref.size_bytes)}`);
    return { i: index, cid: ref.cid, size_bytes: expected };
  });
  const body = { size_bytes: size, chunk_size_bytes: CHUNK_SIZE_BYTES, chunks };
  const cid = hasher.cid(manifestBody(body));
  if (m.cid !== undefined && m.cid !== cid) throw bad(`its cid field ${String(m.cid)} is not its hash ${cid}`);
  if (expectedCid !== undefined && expectedCid !== cid) throw bad(`hash ${cid} is not the requested ${expectedCid}`);
  return { cid, ...body };
}
