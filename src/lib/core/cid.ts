/** Content ids (CONTRACT §1.4, DESIGN §3.10): `blake3:` + 64 lowercase hex. BLAKE3 comes from hash-wasm (~15x noble's speed). */
import { blake3 } from 'hash-wasm';
import { canonicalJson } from './canonical-json.js';
import { CHUNK_SIZE_BYTES } from './constants.js';
import { utf8Encode } from './encoding.js';

export const CID_PREFIX = 'blake3:';
export const CID_PATTERN = /^blake3:[0-9a-f]{64}$/;

export async function cidOf(bytes: Uint8Array): Promise<string> {
  if (!(bytes instanceof Uint8Array)) throw new Error('cidOf: expected bytes (Uint8Array)');
  return CID_PREFIX + (await blake3(bytes, 256));
}

export function isCid(value: unknown): value is string {
  return typeof value === 'string' && CID_PATTERN.test(value);
}

export interface ChunkRef {
  i: number;
  cid: string;
  size_bytes: number;
}

export interface BlobManifest {
  cid: string;
  size_bytes: number;
  chunk_size_bytes: number;
  chunks: ChunkRef[];
}

/** Splits into 256 KiB chunks; an empty blob has one empty chunk. The manifest's CID is over the manifest without `cid`. */
export async function blobManifestOf(bytes: Uint8Array): Promise<BlobManifest> {
  const chunks: ChunkRef[] = [];
  const count = Math.max(1, Math.ceil(bytes.length / CHUNK_SIZE_BYTES));
  for (let i = 0; i < count; i++) {
    const chunk = bytes.subarray(i * CHUNK_SIZE_BYTES, (i + 1) * CHUNK_SIZE_BYTES);
    chunks.push({ i, cid: await cidOf(chunk), size_bytes: chunk.length });
  }
  const body = { size_bytes: bytes.length, chunk_size_bytes: CHUNK_SIZE_BYTES, chunks };
  return { cid: await manifestCid(body), ...body };
}

export async function manifestCid(manifest: Omit<BlobManifest, 'cid'> | BlobManifest): Promise<string> {
  const { size_bytes, chunk_size_bytes, chunks } = manifest;
  return cidOf(utf8Encode(canonicalJson({ size_bytes, chunk_size_bytes, chunks })));
}

export interface SchemaParts {
  name: string;
  version: string;
  request_schema: unknown;
  response_schema?: unknown;
  stream_schema?: unknown;
}

/** CONTRACT §11: BLAKE3 of the canonical JSON of name, version and the three schemas (absent ones are null). */
export async function schemaHash(partial: SchemaParts): Promise<string> {
  return cidOf(
    utf8Encode(
      canonicalJson({
        name: partial.name,
        version: partial.version,
        request_schema: partial.request_schema ?? null,
        response_schema: partial.response_schema ?? null,
        stream_schema: partial.stream_schema ?? null
      })
    )
  );
}
