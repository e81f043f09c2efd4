/** The bridge's disk ChunkStore: the port's acceptance suite, reopening, and crash safety of the temp + rename write. */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BlobStore, type ChunkStore } from '../../src/lib/blobs/index.js';
import { DiskChunkStore } from '../../relay/disk-chunk-store.js';
import { chunk, chunkStoreAcceptance } from '../unit/blobs/chunk-store-acceptance.js';
import { makeTempDir } from './helpers.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

async function tempDir(): Promise<string> {
  const temp = await makeTempDir('hearthnet-chunks-');
  cleanup.push(temp.remove);
  return temp.path;
}

const dirOf = new Map<ChunkStore, string>();
chunkStoreAcceptance(
  'disk',
  async () => {
    const dir = await tempDir();
    const store = await DiskChunkStore.open(dir);
    dirOf.set(store, dir);
    return store;
  },
  { reopen: async (store) => DiskChunkStore.open(dirOf.get(store)!) }
);

describe('DiskChunkStore', () => {
  it('fans chunks out by the first two hex digits of their CID', async () => {
    const dir = await tempDir();
    const store = await DiskChunkStore.open(dir);
    const a = chunk(1);
    await store.put([a]);
    const hex = a.cid.slice('blake3:'.length);
    expect(store.pathOf(a.cid)).toBe(join(dir, hex.slice(0, 2), hex.slice(2)));
    expect(new Uint8Array(await readFile(store.pathOf(a.cid)))).toEqual(a.bytes);
    expect((await readdir(join(dir, hex.slice(0, 2)))).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('refuses anything that is not a CID as a name (no path tricks)', async () => {
    const store = await DiskChunkStore.open(await tempDir());
    await expect(store.put([{ cid: 'blake3:../../etc/passwd', bytes: new Uint8Array(1) }])).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('ignores and removes temp files a crash left behind, and never reads a half chunk under its CID', async () => {
    const dir = await tempDir();
    const store = await DiskChunkStore.open(dir);
    const whole = chunk(1);
    await store.put([whole]);
    // A crash mid-write leaves only a temp file: under the chunk's own fan-out directory, named after the CID.
    const half = chunk(2);
    const halfHex = half.cid.slice('blake3:'.length);
    await mkdir(join(dir, halfHex.slice(0, 2)), { recursive: true });
    const tempPath = join(dir, halfHex.slice(0, 2), `${halfHex.slice(2)}.tmp-deadbeef`);
    await writeFile(tempPath, half.bytes.subarray(0, 10));
    await writeFile(join(dir, 'pins.json.tmp-0badc0de'), '{"half":');

    const again = await DiskChunkStore.open(dir);
    expect(await again.list()).toEqual([whole.cid]);
    expect(await again.has(half.cid)).toBe(false);
    expect(await again.bytesUsed()).toBe(1000);
    expect(await again.pins()).toEqual([]);
    const left = [...(await readdir(join(dir, halfHex.slice(0, 2)))), ...(await readdir(dir))];
    expect(left.filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('with BlobStore: a chunk corrupted on disk is detected on read and deleted', async () => {
    const dir = await tempDir();
    const blobs = await BlobStore.open(await DiskChunkStore.open(dir));
    const data = new Uint8Array(300_000).map((_, i) => i % 251);
    const manifest = await blobs.add(data);
    const disk = blobs.chunks as DiskChunkStore;
    const bad = manifest.chunks[1];
    const path = disk.pathOf(bad.cid);
    const bytes = await readFile(path);
    bytes[7] ^= 1;
    await writeFile(path, bytes);
    await expect(blobs.readAll(manifest.cid)).rejects.toMatchObject({ code: 'not_found', extra: { reason: 'chunk_corrupt' } });
    expect(await blobs.missingChunks(manifest)).toEqual([bad]);
    const reopened = await BlobStore.open(await DiskChunkStore.open(dir));
    expect(await reopened.missingChunks(manifest)).toEqual([bad]);
  });
});

describe('DiskChunkStore with a damaged pins.json', () => {
  it('refuses to open with a message naming the file and what to do, instead of starting unpinned (a gc would take held files)', async () => {
    const dir = await tempDir();
    const store = await DiskChunkStore.open(dir);
    const { cid, bytes } = chunk(1);
    await store.put([{ cid, bytes }]);
    await store.pin(cid, [cid]);
    await writeFile(join(dir, 'pins.json'), '{"blake3:', 'utf8');
    await expect(DiskChunkStore.open(dir)).rejects.toThrow(/pins\.json is damaged; move it aside/);
    await writeFile(join(dir, 'pins.json'), JSON.stringify({ [cid]: ['not-a-cid'] }), 'utf8');
    await expect(DiskChunkStore.open(dir)).rejects.toThrow(/is damaged/);
    // Nothing was lost: the chunk is still there for whoever repairs the file.
    expect(await readFile(store.pathOf(cid))).toHaveLength(bytes.length);
  });
});
