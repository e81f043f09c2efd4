/**
 * The ChunkStore port over Dexie (IndexedDB), for browsers (DESIGN §5). Its own database ("hearthnet-blobs"), so
 * the event store's schema never changes for blobs. Sizes and use stamps live in `meta`, apart from the bytes in
 * `data`, so that bytesUsed() and gc() never load chunk bytes. One transaction per put batch; reads mark use in
 * batches too (markUsed).
 */
import Dexie, { type DexieOptions, type EntityTable } from 'dexie';
import { evictionOrder, useStamps, type ChunkPut, type ChunkStore, type GcResult } from '../../blobs/index.js';

export const BLOB_DATABASE_NAME = 'hearthnet-blobs';

export type DexieChunkStoreOptions = Pick<DexieOptions, 'indexedDB' | 'IDBKeyRange' | 'chromeTransactionDurability'> & {
  /** Another database name, for tests or a second profile in one origin. */
  name?: string;
  now?: () => number;
};

interface Meta {
  cid: string;
  size: number;
  used: number;
}
interface Data {
  cid: string;
  bytes: Uint8Array;
}
interface Pin {
  id: string;
  cids: string[];
}

type ChunksDb = Dexie & { meta: EntityTable<Meta, 'cid'>; data: EntityTable<Data, 'cid'>; pins: EntityTable<Pin, 'id'> };

/**
 * IndexedDB clones what it stores, and a typed array is cloned with its whole buffer: a view into a larger buffer (a
 * chunk of a blob being added) is copied out first, a chunk that owns its buffer (one assembled from the network) is
 * stored as it is, sparing a 256 KiB copy per chunk.
 */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/** Read chunks' use stamps wait at most this long to be written... */
const USE_STAMPS_WRITE_MS = 1000;
/** ...or until this many are waiting. */
const MAX_UNWRITTEN_USE_STAMPS = 256;

export class DexieChunkStore implements ChunkStore {
  private readonly usedSince = new Map<string, number>();
  private stampTimer: ReturnType<typeof setTimeout> | null = null;

  private constructor(
    private readonly db: ChunksDb,
    private readonly stamp: () => number
  ) {}

  static async open(options: DexieChunkStoreOptions = {}): Promise<DexieChunkStore> {
    const { name = BLOB_DATABASE_NAME, now, ...dexieOptions } = options;
    const db = new Dexie(name, dexieOptions) as ChunksDb;
    db.version(1).stores({ meta: 'cid, used', data: 'cid', pins: 'id' });
    await db.open();
    // Stamps continue after the newest stored one, so use order survives a clock that went back.
    const newest = await db.meta.orderBy('used').last();
    return new DexieChunkStore(db, useStamps(now, newest?.used ?? 0));
  }

  async put(chunks: readonly ChunkPut[]): Promise<string[]> {
    return this.db.transaction('rw', this.db.meta, this.db.data, async () => {
      const present = await this.db.meta.bulkGet(chunks.map((c) => c.cid));
      const seen = new Set<string>();
      const meta: Meta[] = [];
      const data: Data[] = [];
      chunks.forEach(({ cid, bytes }, i) => {
        const old = present[i];
        if (seen.has(cid)) return;
        seen.add(cid);
        meta.push({ cid, size: old?.size ?? bytes.length, used: this.stamp() });
        if (!old) data.push({ cid, bytes: ownBuffer(bytes) });
      });
      await this.db.meta.bulkPut(meta);
      if (data.length > 0) await this.db.data.bulkPut(data);
      return data.map((d) => d.cid);
    });
  }

  async get(cid: string): Promise<Uint8Array | undefined> {
    const row = await this.db.data.get(cid);
    if (!row) return undefined;
    this.markUsed(cid);
    return row.bytes;
  }

  async getMany(cids: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const rows = await this.db.data.bulkGet([...cids]);
    for (const row of rows) if (row) this.markUsed(row.cid);
    return rows.map((row) => row?.bytes);
  }

  /**
   * Use stamps of chunks read are kept here and written together, USE_STAMPS_WRITE_MS later (or before a gc): a read
   * is then one read-only request, where writing its stamp made it a read-write transaction with a modify() query,
   * which cost a holder serving chunks back to back more than the reads. A tab that closes first loses those stamps,
   * so gc order is a little less exact; nothing else depends on them.
   */
  private markUsed(cid: string): void {
    this.usedSince.set(cid, this.stamp());
    if (this.usedSince.size >= MAX_UNWRITTEN_USE_STAMPS) void this.writeUseStamps().catch(() => {});
    else this.stampTimer ??= setTimeout(() => void this.writeUseStamps().catch(() => {}), USE_STAMPS_WRITE_MS);
  }

  private async writeUseStamps(): Promise<void> {
    if (this.stampTimer) clearTimeout(this.stampTimer);
    this.stampTimer = null;
    if (this.usedSince.size === 0) return;
    const stamps = [...this.usedSince];
    this.usedSince.clear();
    await this.db.transaction('rw', this.db.meta, async () => {
      const rows = await this.db.meta.bulkGet(stamps.map(([cid]) => cid));
      // A chunk deleted meanwhile has no row; one stored again meanwhile may carry a newer stamp already.
      const updated = rows.flatMap((row, i) => (row ? [{ ...row, used: Math.max(row.used, stamps[i][1]) }] : []));
      await this.db.meta.bulkPut(updated);
    });
  }

  private dropUseStamps(): void {
    if (this.stampTimer) clearTimeout(this.stampTimer);
    this.stampTimer = null;
    this.usedSince.clear();
  }

  async has(cid: string): Promise<boolean> {
    return (await this.db.meta.get(cid)) !== undefined;
  }

  async missing(cids: readonly string[]): Promise<string[]> {
    const found = await this.db.meta.bulkGet([...cids]);
    return cids.filter((_, i) => !found[i]);
  }

  async delete(cids: readonly string[]): Promise<number> {
    return this.db.transaction('rw', this.db.meta, this.db.data, async () => {
      const present = (await this.db.meta.bulkGet([...new Set(cids)])).filter((m): m is Meta => m !== undefined).map((m) => m.cid);
      await this.db.meta.bulkDelete(present);
      await this.db.data.bulkDelete(present);
      return present.length;
    });
  }

  async list(prefix = ''): Promise<string[]> {
    const keys = (await this.db.meta.orderBy('cid').primaryKeys()) as string[];
    return keys.filter((cid) => cid.startsWith(prefix));
  }

  async bytesUsed(): Promise<number> {
    let total = 0;
    await this.db.meta.each((m) => void (total += m.size));
    return total;
  }

  async pin(id: string, cids: readonly string[]): Promise<void> {
    await this.db.pins.put({ id, cids: [...new Set(cids)] });
  }

  async unpin(id: string): Promise<void> {
    await this.db.pins.delete(id);
  }

  async pins(): Promise<string[]> {
    return (await this.db.pins.orderBy('id').primaryKeys()) as string[];
  }

  async gc(thresholdBytes: number): Promise<GcResult> {
    await this.writeUseStamps(); // eviction order needs the latest reads
    return this.db.transaction('rw', this.db.meta, this.db.data, this.db.pins, async () => {
      const result: GcResult = { deleted: [], bytesFreed: 0 };
      const all = await this.db.meta.toArray();
      let used = all.reduce((n, m) => n + m.size, 0);
      if (used <= thresholdBytes) return result;
      const pinned = new Set((await this.db.pins.toArray()).flatMap((p) => p.cids));
      const size = new Map(all.map((m) => [m.cid, m.size]));
      for (const cid of evictionOrder(all, pinned)) {
        if (used <= thresholdBytes) break;
        used -= size.get(cid)!;
        result.deleted.push(cid);
        result.bytesFreed += size.get(cid)!;
      }
      await this.db.meta.bulkDelete(result.deleted);
      await this.db.data.bulkDelete(result.deleted);
      return result;
    });
  }

  close(): void {
    this.dropUseStamps();
    this.db.close();
  }

  /** Closes and deletes the whole database (tests; a user clearing storage). */
  async destroy(): Promise<void> {
    this.dropUseStamps();
    this.db.close();
    await this.db.delete();
  }
}
