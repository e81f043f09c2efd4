/** BlobStore over MemoryChunkStore: add/read, dedup, pins and gc, and corruption caught on read. */
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE_BYTES, HearthError } from '../../../src/lib/core/index.js';
import { BlobStore, MemoryChunkStore, manifestBody } from '../../../src/lib/blobs/index.js';
import { vectorData } from '../core/vectors.js';

/** Byte equality without vitest's element-by-element diffing (seconds for megabytes). */
const same = (a: Uint8Array, b: Uint8Array) => expect(Buffer.compare(a, b) === 0 && a.length === b.length).toBe(true);
const open = async () => BlobStore.open(new MemoryChunkStore());

describe('BlobStore', () => {
  it.each([0, 1, CHUNK_SIZE_BYTES, CHUNK_SIZE_BYTES + 1, 5_000_000])('adds and reads back %i bytes, streamed chunk by chunk', async (size) => {
    const blobs = await open();
    const data = vectorData(size, 6);
    const manifest = await blobs.add(data);
    expect(await blobs.manifest(manifest.cid)).toEqual(manifest);
    expect(await blobs.has(manifest.cid)).toBe(true);
    const parts: number[] = [];
    for await (const part of blobs.read(manifest.cid)) parts.push(part.length);
    expect(parts).toEqual(manifest.chunks.map((c) => c.size_bytes));
    same(await blobs.readAll(manifest.cid), data);
    expect(await blobs.chunks.pins()).toEqual([manifest.cid]);
  });

  it('adds from a ReadableStream', async () => {
    const blobs = await open();
    const data = vectorData(CHUNK_SIZE_BYTES * 3 + 17, 2);
    const manifest = await blobs.add(new Blob([data as BlobPart]).stream());
    same(await blobs.readAll(manifest.cid), data);
  });

  it('stores a chunk once however many blobs use it (dedup)', async () => {
    const blobs = await open();
    const shared = vectorData(CHUNK_SIZE_BYTES, 1);
    const a = new Uint8Array(CHUNK_SIZE_BYTES * 2);
    a.set(shared);
    a.set(vectorData(CHUNK_SIZE_BYTES, 2), CHUNK_SIZE_BYTES);
    const b = new Uint8Array(CHUNK_SIZE_BYTES * 2 + 5);
    b.set(shared);
    b.set(shared, CHUNK_SIZE_BYTES); // repeated within one blob too
    const ma = await blobs.add(a);
    const mb = await blobs.add(b);
    const manifests = manifestBody(ma).length + manifestBody(mb).length;
    // shared + a's second + b's 5-byte tail, plus the two manifests.
    expect(await blobs.chunks.bytesUsed()).toBe(CHUNK_SIZE_BYTES * 2 + 5 + manifests);
    same(await blobs.readAll(mb.cid), b);
    expect(await blobs.missingChunks(mb)).toEqual([]);
  });

  it('gc keeps pinned blobs whole and takes unpinned ones', async () => {
    const blobs = await open();
    const kept = await blobs.add(vectorData(CHUNK_SIZE_BYTES * 2, 1));
    const loose = await blobs.add(vectorData(CHUNK_SIZE_BYTES * 2, 2), { pin: false });
    const result = await blobs.chunks.gc(0);
    expect(result.deleted.sort()).toEqual([loose.cid, ...loose.chunks.map((c) => c.cid)].sort());
    expect(await blobs.has(kept.cid)).toBe(true);
    expect(await blobs.manifest(loose.cid)).toBeUndefined();
    await blobs.unpin(kept.cid);
    await blobs.chunks.gc(0);
    expect(await blobs.chunks.bytesUsed()).toBe(0);
  });

  it('a temporary pin left by a crash mid-add is dropped at open, so its chunks can be collected; a finished blob stays pinned', async () => {
    const chunks = new MemoryChunkStore();
    const first = await BlobStore.open(chunks);
    const kept = await first.add(vectorData(CHUNK_SIZE_BYTES + 10, 1));
    // What an add that never finished leaves behind: its chunks, pinned under its temporary id.
    const orphan = vectorData(CHUNK_SIZE_BYTES, 2);
    const orphanCid = first.hasher.cid(orphan);
    await chunks.put([{ cid: orphanCid, bytes: orphan }]);
    await chunks.pin('adding:7:1700000000000', [orphanCid]);
    await BlobStore.open(chunks);
    expect(await chunks.pins()).toEqual([kept.cid]);
    await chunks.gc(0);
    expect(await chunks.has(orphanCid)).toBe(false);
    expect(await first.has(kept.cid)).toBe(true);
  });

  it('a gc while a blob is still being added does not take its chunks', async () => {
    const blobs = await open();
    let gcDone = false;
    async function* slowly() {
      for (let i = 0; i < 40; i++) {
        yield vectorData(CHUNK_SIZE_BYTES, 10 + i);
        if (i === 20 && !gcDone) {
          await blobs.chunks.gc(0); // e.g. started by a fetch that needed room
          gcDone = true;
        }
      }
    }
    const manifest = await blobs.add(slowly());
    expect(gcDone).toBe(true);
    expect(await blobs.missingChunks(manifest)).toEqual([]);
    expect(await blobs.chunks.pins()).toEqual([manifest.cid]); // the temporary pin is gone
  });

  it('a piece of a file asked for as a file is refused and kept, not deleted as corrupt', async () => {
    const blobs = await open();
    const manifest = await blobs.add(vectorData(CHUNK_SIZE_BYTES + 5, 3));
    const piece = manifest.chunks[0].cid;
    await expect(blobs.manifest(piece)).rejects.toMatchObject({ code: 'bad_request', extra: { reason: 'not_a_manifest' } });
    expect(await blobs.missingChunks(manifest)).toEqual([]);
  });

  it('lists the chunks a blob still lacks', async () => {
    const blobs = await open();
    const manifest = await blobs.add(vectorData(CHUNK_SIZE_BYTES * 3, 5));
    await blobs.chunks.delete([manifest.chunks[0].cid, manifest.chunks[2].cid]);
    expect(await blobs.missingChunks(manifest)).toEqual([manifest.chunks[0], manifest.chunks[2]]);
    expect(await blobs.has(manifest.cid)).toBe(false);
    await expect(blobs.readAll(manifest.cid)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('detects a chunk corrupted in storage on read, reports it clearly, and deletes it', async () => {
    const blobs = await open();
    const manifest = await blobs.add(vectorData(CHUNK_SIZE_BYTES * 2, 5));
    const bad = manifest.chunks[1];
    const flipped = (await blobs.chunks.get(bad.cid))!;
    flipped[100] ^= 0x10;
    await blobs.chunks.delete([bad.cid]);
    await blobs.chunks.put([{ cid: bad.cid, bytes: flipped }]); // bit rot: wrong bytes under the right name
    const error = await blobs.readAll(manifest.cid).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HearthError);
    expect(error).toMatchObject({ code: 'not_found', extra: { reason: 'chunk_corrupt' } });
    expect((error as Error).message).toContain(bad.cid);
    expect(await blobs.chunks.has(bad.cid)).toBe(false);
    expect(await blobs.missingChunks(manifest)).toEqual([bad]);
  });

  it('detects a corrupted stored manifest', async () => {
    const blobs = await open();
    const manifest = await blobs.add(vectorData(10, 5));
    await blobs.chunks.delete([manifest.cid]);
    await blobs.chunks.put([{ cid: manifest.cid, bytes: new TextEncoder().encode('{"size_bytes":11}') }]);
    await expect(blobs.manifest(manifest.cid)).rejects.toMatchObject({ code: 'not_found', extra: { reason: 'chunk_corrupt' } });
    expect(await blobs.chunks.has(manifest.cid)).toBe(false);
  });

  it('putChunks refuses bytes that do not hash to their CID (M07 §6: bad_request)', async () => {
    const blobs = await open();
    const manifest = await blobs.add(vectorData(10, 5), { pin: false });
    await expect(blobs.putChunks([{ cid: manifest.chunks[0].cid, bytes: vectorData(10, 6) }])).rejects.toMatchObject({ code: 'bad_request', extra: { reason: 'hash_mismatch' } });
  });
});
