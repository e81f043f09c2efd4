/** The ChunkStore port's acceptance suite: memory, Dexie and disk run it unchanged. */
import { describe, expect, it } from 'vitest';
import { nobleHasher, type ChunkStore } from '../../../src/lib/blobs/index.js';

const hasher = nobleHasher();

/** A real chunk: `size` bytes of `fill`, under its own CID. */
export function chunk(fill: number, size = 1000): { cid: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(size).fill(fill);
  return { cid: hasher.cid(bytes), bytes };
}

export interface ChunkStoreAcceptanceOptions {
  /** Closes `store` and opens the same storage again; only for stores that outlive their handle. */
  reopen?: (store: ChunkStore) => Promise<ChunkStore>;
}

export function chunkStoreAcceptance(name: string, open: () => Promise<ChunkStore>, options: ChunkStoreAcceptanceOptions = {}): void {
  describe(`ChunkStore acceptance: ${name}`, () => {
    it('starts empty', async () => {
      const store = await open();
      expect(await store.list()).toEqual([]);
      expect(await store.bytesUsed()).toBe(0);
      expect(await store.pins()).toEqual([]);
      expect(await store.get(chunk(1).cid)).toBeUndefined();
    });

    it('stores, returns, and reports presence by CID', async () => {
      const store = await open();
      const a = chunk(1);
      const b = chunk(2, 5);
      const empty = chunk(0, 0);
      expect(await store.put([a, b, empty])).toEqual([a.cid, b.cid, empty.cid]);
      expect(await store.get(a.cid)).toEqual(a.bytes);
      expect(await store.get(empty.cid)).toEqual(new Uint8Array(0));
      expect(await store.has(b.cid)).toBe(true);
      expect(await store.missing([chunk(3).cid, a.cid, chunk(4).cid])).toEqual([chunk(3).cid, chunk(4).cid]);
      expect(await store.bytesUsed()).toBe(1005);
    });

    it('stores a chunk once however often it is put (dedup)', async () => {
      const store = await open();
      const a = chunk(1);
      expect(await store.put([a, a])).toEqual([a.cid]);
      expect(await store.put([a, chunk(2)])).toEqual([chunk(2).cid]);
      expect(await store.list()).toEqual([a.cid, chunk(2).cid].sort());
      expect(await store.bytesUsed()).toBe(2000);
    });

    it('getMany reads several chunks in the order asked, undefined where absent (optional)', async ({ skip }) => {
      const store = await open();
      if (!store.getMany) return skip();
      const [a, b] = [chunk(1), chunk(2)];
      await store.put([a, b]);
      expect(await store.getMany([b.cid, chunk(3).cid, a.cid])).toEqual([b.bytes, undefined, a.bytes]);
      expect(await store.getMany([])).toEqual([]);
    });

    it('keeps its own copy of the bytes', async () => {
      const store = await open();
      const a = chunk(1);
      const bytes = a.bytes.slice();
      await store.put([{ cid: a.cid, bytes }]);
      bytes.fill(9);
      expect(await store.get(a.cid)).toEqual(a.bytes);
    });

    it('deletes and lists by prefix, sorted', async () => {
      const store = await open();
      const chunks = [1, 2, 3, 4].map((n) => chunk(n));
      await store.put(chunks);
      const cids = chunks.map((c) => c.cid).sort();
      expect(await store.list()).toEqual(cids);
      expect(await store.list(cids[2].slice(0, 12))).toEqual([cids[2]]);
      expect(await store.list('blake3:zz')).toEqual([]);
      expect(await store.delete([cids[0], cids[0], chunk(7).cid])).toBe(1);
      expect(await store.list()).toEqual(cids.slice(1));
      expect(await store.get(cids[0])).toBeUndefined();
      expect(await store.bytesUsed()).toBe(3000);
    });

    it('keeps pins by id; pinning an id again replaces its set', async () => {
      const store = await open();
      await store.pin('blake3:' + 'b'.repeat(64), [chunk(1).cid]);
      await store.pin('blake3:' + 'a'.repeat(64), [chunk(2).cid]);
      expect(await store.pins()).toEqual(['blake3:' + 'a'.repeat(64), 'blake3:' + 'b'.repeat(64)]);
      await store.unpin('blake3:' + 'a'.repeat(64));
      await store.unpin('blake3:' + 'c'.repeat(64));
      expect(await store.pins()).toEqual(['blake3:' + 'b'.repeat(64)]);
    });

    it('gc evicts least recently used first, only until under the threshold', async () => {
      const store = await open();
      const [a, b, c, d] = [1, 2, 3, 4].map((n) => chunk(n));
      await store.put([a]);
      await store.put([b]);
      await store.put([c]);
      await store.put([d]);
      await store.get(a.cid); // a is now the most recent
      await store.put([b]); // putting a present chunk counts as use
      expect(await store.gc(4000)).toEqual({ deleted: [], bytesFreed: 0 });
      expect(await store.gc(2500)).toEqual({ deleted: [c.cid, d.cid], bytesFreed: 2000 });
      expect(await store.list()).toEqual([a.cid, b.cid].sort());
      expect(await store.gc(0)).toEqual({ deleted: [a.cid, b.cid], bytesFreed: 2000 });
      expect(await store.bytesUsed()).toBe(0);
    });

    it('gc never evicts a chunk a pin protects, while any pin protects it', async () => {
      const store = await open();
      const [shared, onlyX, loose] = [1, 2, 3].map((n) => chunk(n));
      await store.put([shared, onlyX, loose]);
      await store.pin('x', [shared.cid, onlyX.cid]);
      await store.pin('y', [shared.cid]);
      expect((await store.gc(0)).deleted).toEqual([loose.cid]);
      expect(await store.bytesUsed()).toBe(2000);
      await store.unpin('x');
      expect((await store.gc(0)).deleted).toEqual([onlyX.cid]);
      expect(await store.list()).toEqual([shared.cid]);
      await store.unpin('y');
      expect((await store.gc(0)).deleted).toEqual([shared.cid]);
    });

    it('deletes a pinned chunk when asked (a corrupt chunk must go)', async () => {
      const store = await open();
      const a = chunk(1);
      await store.put([a]);
      await store.pin('p', [a.cid]);
      expect(await store.delete([a.cid])).toBe(1);
      expect(await store.has(a.cid)).toBe(false);
    });

    it('keeps chunks, pins and use order across reopen (optional)', async ({ skip }) => {
      if (!options.reopen) return skip();
      const first = await open();
      const [a, b, c] = [1, 2, 3].map((n) => chunk(n));
      await first.put([a]);
      await first.put([b]);
      await first.put([c]);
      await first.get(a.cid);
      await first.pin('p', [c.cid]);
      const again = await options.reopen(first);
      expect(await again.list()).toEqual([a.cid, b.cid, c.cid].sort());
      expect(await again.get(b.cid)).toEqual(b.bytes);
      expect(await again.pins()).toEqual(['p']);
      expect(await again.bytesUsed()).toBe(3000);
      // b was just read, c is pinned: a goes first.
      expect((await again.gc(2000)).deleted).toEqual([a.cid]);
    });
  });
}
