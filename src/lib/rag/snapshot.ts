/**
 * The JSON-able form of a corpus, for a node to persist (IndexedDB, a file) and restore. Chunks are stored whole;
 * the BM25 postings are rebuilt on restore (cheap: tokenising), vectors are stored as base64url of little-endian
 * float32, a quarter the size of JSON number arrays and bit-exact.
 */
import { base64UrlDecode, base64UrlEncode } from '../core/encoding.js';
import { HearthError } from '../core/errors.js';
import { SNAPSHOT_VERSION } from './constants.js';
import type { DocumentRecord } from './corpus.js';
import type { Chunk } from './types.js';

export interface CorpusSnapshot {
  version: typeof SNAPSHOT_VERSION;
  tokensPerChunk: number;
  overlapTokens: number;
  embeddingModel?: string;
  documents: DocumentRecord[];
  chunks: Chunk[];
  /** chunk id → base64url(float32 LE); only chunks that were embedded. */
  vectors: Record<string, string>;
}

export function encodeVector(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  vector.forEach((x, i) => view.setFloat32(i * 4, x, true));
  return base64UrlEncode(bytes);
}

export function decodeVector(text: string): Float32Array {
  const bytes = base64UrlDecode(text);
  if (bytes.length % 4 !== 0) throw new HearthError('bad_request', 'snapshot vector is not a whole number of float32 values');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export function checkSnapshot(value: unknown): CorpusSnapshot {
  const s = value as Partial<CorpusSnapshot> | null;
  if (!s || typeof s !== 'object' || s.version !== SNAPSHOT_VERSION) {
    throw new HearthError('bad_request', `not a corpus snapshot of version ${SNAPSHOT_VERSION}`);
  }
  if (!Array.isArray(s.documents) || !Array.isArray(s.chunks) || typeof s.vectors !== 'object' || s.vectors === null) {
    throw new HearthError('bad_request', 'corpus snapshot is missing documents, chunks or vectors');
  }
  return s as CorpusSnapshot;
}
