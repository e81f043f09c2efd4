/** BLAKE3 backends against the b3sum vectors, chunk boundaries, and manifests from untrusted peers. */
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE_BYTES, blobManifestOf, canonicalJson, type BlobManifest } from '../../../src/lib/core/index.js';
import { MAX_BLOB_BYTES, MAX_MANIFEST_BYTES, buildManifest, chunksOf, loadHasher, manifestBody, nobleHasher, parseManifest, wasmHasher, type ChunkRef } from '../../../src/lib/blobs/index.js';
import { loadWireVectors, vectorData } from '../core/vectors.js';

const vectors = loadWireVectors();
const noble = nobleHasher();
const wasm = await wasmHasher();

async function manifestOf(input: Parameters<typeof chunksOf>[0]): Promise<BlobManifest> {
  const refs: ChunkRef[] = [];
  for await (const bytes of chunksOf(input)) refs.push({ i: refs.length, cid: wasm.cid(bytes), size_bytes: bytes.length });
  return buildManifest(refs, wasm);
}

describe('BLAKE3 backends (W5 vectors)', () => {
  it.each(vectors.cids)('hash-wasm and noble both match b3sum for length $length salt $salt', ({ length, salt, cid }) => {
    const data = vectorData(length, salt);
    expect(wasm.cid(data)).toBe(cid);
    expect(noble.cid(data)).toBe(cid);
  });

  it('agree on a 5 MB input and on consecutive inputs through one reused hash-wasm state', () => {
    const big = vectorData(5_000_000, 3);
    expect(wasm.cid(big)).toBe(noble.cid(big));
    expect(wasm.cid(vectorData(1, 0))).toBe(vectors.cids[1].cid);
  });

  it('loads hash-wasm where WebAssembly works', async () => {
    expect((await loadHasher()).backend).toBe('hash-wasm');
  });
});

describe('chunking and manifests (DESIGN §3.10)', () => {
  const sizes = [0, 1, CHUNK_SIZE_BYTES, CHUNK_SIZE_BYTES + 1, 5_000_000];
  it.each(sizes)('%i bytes: chunk layout, and the same manifest as core/cid.ts from bytes or an uneven stream', async (size) => {
    const data = vectorData(size, 4);
    const manifest = await manifestOf(data);
    expect(manifest).toEqual(await blobManifestOf(data));
    const count = Math.max(1, Math.ceil(size / CHUNK_SIZE_BYTES));
    expect(manifest.chunks.length).toBe(count);
    expect(manifest.chunks.map((c) => c.size_bytes).reduce((a, b) => a + b, 0)).toBe(size);
    expect(manifest.chunks.slice(0, -1).every((c) => c.size_bytes === CHUNK_SIZE_BYTES)).toBe(true);
    const pieces = async function* () {
      for (let at = 0, step = 1; at < size; at += step, step = (step * 7 + 13) % 100_003) yield data.slice(at, at + step);
    };
    expect(await manifestOf(pieces())).toEqual(manifest);
    expect(await manifestOf(new Blob([data as BlobPart]).stream())).toEqual(manifest);
    expect(parseManifest(manifest, noble, manifest.cid)).toEqual(manifest);
  });

  it('an empty blob is one empty chunk with the b3sum CID of nothing', async () => {
    const manifest = await manifestOf(new Uint8Array(0));
    expect(manifest.chunks).toEqual([{ i: 0, cid: vectors.cids[0].cid, size_bytes: 0 }]);
    expect(await manifestOf((async function* () {})())).toEqual(manifest);
  });

  it('a 256 KiB blob is one chunk with the shared 256 KiB vector CID; the manifest CID covers the canonical body', async () => {
    const v = vectors.cids.find((c) => c.length === CHUNK_SIZE_BYTES)!;
    const manifest = await manifestOf(vectorData(v.length, v.salt));
    expect(manifest.chunks).toEqual([{ i: 0, cid: v.cid, size_bytes: CHUNK_SIZE_BYTES }]);
    expect(new TextDecoder().decode(manifestBody(manifest))).toBe(canonicalJson({ size_bytes: v.length, chunk_size_bytes: CHUNK_SIZE_BYTES, chunks: manifest.chunks }));
    expect(manifest.cid).toBe(noble.cid(manifestBody(manifest)));
  });
});

describe('parseManifest: manifests from untrusted peers', () => {
  const good = () => manifestOf(vectorData(CHUNK_SIZE_BYTES * 2 + 10, 1));
  const rejects = (candidate: unknown, expected?: string) => expect(() => parseManifest(candidate, noble, expected)).toThrow(expect.objectContaining({ code: 'bad_request' }));

  it('accepts the object, its JSON text and its JSON bytes, with or without cid', async () => {
    const m = await good();
    const { cid, ...body } = m;
    expect(parseManifest(JSON.stringify(m), noble, cid)).toEqual(m);
    expect(parseManifest(manifestBody(m), noble, cid)).toEqual(m);
    expect(parseManifest(body, noble)).toEqual(m);
  });

  it('rejects a manifest that is not the one asked for, or whose cid field lies', async () => {
    const m = await good();
    const other = await manifestOf(vectorData(5, 1));
    rejects(m, other.cid);
    rejects({ ...m, cid: other.cid });
  });

  it('rejects wrong shapes', async () => {
    const m = await good();
    for (const candidate of [null, 42, [], 'not json', { ...m, extra: 1 }, { ...m, chunks: 'x' }, { ...m, chunk_size_bytes: 1024 }, { ...m, size_bytes: -1 }, { ...m, size_bytes: 1.5 }, { ...m, size_bytes: '10' }]) rejects(candidate);
    rejects({ ...m, chunks: [m.chunks[0], null, m.chunks[2]] });
    rejects({ ...m, chunks: m.chunks.map((c) => ({ ...c, note: 'x' })) });
    rejects({ ...m, chunks: m.chunks.map((c) => ({ ...c, cid: c.cid.toUpperCase() })) });
  });

  it('rejects a chunk layout that does not add up', async () => {
    const m = await good();
    rejects({ ...m, chunks: m.chunks.slice(0, 2) }); // too few chunks for size_bytes
    rejects({ ...m, chunks: [...m.chunks, { ...m.chunks[2], i: 3 }] }); // too many
    rejects({ ...m, chunks: [m.chunks[1], m.chunks[0], m.chunks[2]] }); // out of order
    rejects({ ...m, chunks: m.chunks.map((c, i) => (i === 2 ? { ...c, size_bytes: 11 } : c)) });
    rejects({ ...m, chunks: m.chunks.map((c, i) => (i === 0 ? { ...c, size_bytes: 100 } : c)) });
    rejects({ ...m, size_bytes: 0, chunks: [] }); // an empty blob still has its one empty chunk
  });

  it('rejects a blob beyond MAX_BLOB_BYTES and manifest text beyond MAX_MANIFEST_BYTES, unread', async () => {
    const m = await good();
    rejects({ ...m, size_bytes: MAX_BLOB_BYTES + 1 });
    rejects(' '.repeat(MAX_MANIFEST_BYTES + 1));
    rejects(new Uint8Array(MAX_MANIFEST_BYTES + 1));
  });
});
