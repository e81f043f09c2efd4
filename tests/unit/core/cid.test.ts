import { describe, expect, it } from 'vitest';
import { blobManifestOf, canonicalJson, CHUNK_SIZE_BYTES, cidOf, isCid, manifestCid, schemaHash, utf8Encode } from '../../../src/lib/core/index.js';
import { loadWireVectors, vectorData } from './vectors.js';

const vectors = loadWireVectors();

describe('BLAKE3 CIDs and blob manifests (W5)', () => {
  it.each(vectors.cids)('matches b3sum for length $length salt $salt', async ({ length, salt, cid }) => {
    expect(await cidOf(vectorData(length, salt))).toBe(cid);
  });

  it('gives an empty blob one empty chunk', async () => {
    const m = await blobManifestOf(new Uint8Array(0));
    expect(m.size_bytes).toBe(0);
    expect(m.chunks).toEqual([{ i: 0, cid: vectors.cids.find((c) => c.length === 0)!.cid, size_bytes: 0 }]);
  });

  it('splits at 256 KiB and hashes the manifest without its cid', async () => {
    const data = vectorData(CHUNK_SIZE_BYTES * 2 + 5, 9);
    const m = await blobManifestOf(data);
    expect(m.chunk_size_bytes).toBe(262144);
    expect(m.chunks.map((c) => c.size_bytes)).toEqual([CHUNK_SIZE_BYTES, CHUNK_SIZE_BYTES, 5]);
    expect(m.chunks[2].cid).toBe(await cidOf(data.subarray(CHUNK_SIZE_BYTES * 2)));
    const { cid, ...body } = m;
    expect(cid).toBe(await cidOf(utf8Encode(canonicalJson(body))));
    expect(await manifestCid(m)).toBe(cid);
    expect(isCid(cid)).toBe(true);
  });

  it('a single chunk blob at exactly 256 KiB matches the shared chunk vector', async () => {
    const v = vectors.cids.find((c) => c.length === 262144)!;
    const m = await blobManifestOf(vectorData(v.length, v.salt));
    expect(m.chunks).toEqual([{ i: 0, cid: v.cid, size_bytes: 262144 }]);
  });

  it('schema hash covers name, version and the three schemas, absent ones as null', async () => {
    const request_schema = { type: 'object' };
    const expected = await cidOf(
      utf8Encode(canonicalJson({ name: 'experimental.echo', version: '1.0', request_schema, response_schema: null, stream_schema: null }))
    );
    expect(await schemaHash({ name: 'experimental.echo', version: '1.0', request_schema })).toBe(expected);
    expect(await schemaHash({ name: 'experimental.echo', version: '1.1', request_schema })).not.toBe(expected);
  });

  it('refuses non-bytes input', async () => {
    await expect(cidOf('text' as unknown as Uint8Array)).rejects.toThrow(/expected bytes/);
  });
});
