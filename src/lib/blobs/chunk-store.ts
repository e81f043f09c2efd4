/**
 * The ChunkStore port: bytes by CID, deduplicated, with pins and least-recently-used eviction. Memory (here), Dexie
 * (adapters/browser/dexie-chunk-store.ts) and disk (relay/disk-chunk-store.ts) pass the same acceptance suite
 * (tests/unit/blobs/chunk-store-acceptance.ts).
 *
 * The store trusts its caller: it does not hash what it is given. BlobStore and fetchBlob verify every chunk
 * before a put and after a get; peers never reach a store directly.
 */

export interface ChunkPut {
  cid: string;
  bytes: Uint8Array;
}

export interface GcResult {
  deleted: string[];
  bytesFreed: number;
}

export interface ChunkStore {
  /** Stores the chunks not yet present, in one transaction per call; returns the CIDs it added. Present ones count as used. */
  put(chunks: readonly ChunkPut[]): Promise<string[]>;
  /** The bytes under `cid`, marking it used; undefined when absent. */
  get(cid: string): Promise<Uint8Array | undefined>;
  /**
   * Optional: get() of each of `cids` in one read, in order. IndexedDB pays about half a millisecond per
   * transaction, as much as reading a chunk, so a holder streaming a blob reads a few chunks at a time this way.
   */
  getMany?(cids: readonly string[]): Promise<(Uint8Array | undefined)[]>;
  has(cid: string): Promise<boolean>;
  /** The CIDs of `cids` that are absent, in the given order. */
  missing(cids: readonly string[]): Promise<string[]>;
  /** Removes these chunks, pinned or not (a corrupt chunk must go); returns how many were there. */
  delete(cids: readonly string[]): Promise<number>;
  /** Every stored CID starting with `prefix` (all when omitted), sorted. */
  list(prefix?: string): Promise<string[]>;
  /** The sum of the stored chunks' sizes, each chunk counted once. */
  bytesUsed(): Promise<number>;
  /** Protects `cids` (a blob's manifest and chunks) from gc under the name `id`; pinning an id again replaces its set. */
  pin(id: string, cids: readonly string[]): Promise<void>;
  unpin(id: string): Promise<void>;
  /** The pinned ids, sorted. */
  pins(): Promise<string[]>;
  /** Deletes unpinned chunks, least recently used first, until bytesUsed() <= thresholdBytes or none is left. */
  gc(thresholdBytes: number): Promise<GcResult>;
}

/** A strictly increasing use stamp close to wall time, so ties in the same millisecond still order. */
export function useStamps(now: () => number = Date.now, start = 0): () => number {
  let last = start;
  return () => (last = Math.max(now(), last + 0.001));
}

/** The chunk ids that no pin protects, oldest use first. */
export function evictionOrder(entries: Iterable<{ cid: string; used: number }>, pinned: ReadonlySet<string>): string[] {
  return [...entries].filter((e) => !pinned.has(e.cid)).sort((a, b) => a.used - b.used || (a.cid < b.cid ? -1 : 1)).map((e) => e.cid);
}

/** In memory: for tests, simulations, and nodes that keep nothing. */
export class MemoryChunkStore implements ChunkStore {
  private readonly chunks = new Map<string, { bytes: Uint8Array; used: number }>();
  private readonly pinSets = new Map<string, ReadonlySet<string>>();
  private readonly stamp: () => number;
  private used = 0;

  constructor(options: { now?: () => number } = {}) {
    this.stamp = useStamps(options.now);
  }

  async put(chunks: readonly ChunkPut[]): Promise<string[]> {
    const added: string[] = [];
    for (const { cid, bytes } of chunks) {
      const present = this.chunks.get(cid);
      if (present) {
        present.used = this.stamp();
        continue;
      }
      // A copy: the caller may reuse its buffer.
      this.chunks.set(cid, { bytes: bytes.slice(), used: this.stamp() });
      this.used += bytes.length;
      added.push(cid);
    }
    return added;
  }

  async get(cid: string): Promise<Uint8Array | undefined> {
    const entry = this.chunks.get(cid);
    if (!entry) return undefined;
    entry.used = this.stamp();
    return entry.bytes.slice();
  }

  async getMany(cids: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return Promise.all(cids.map((cid) => this.get(cid)));
  }

  async has(cid: string): Promise<boolean> {
    return this.chunks.has(cid);
  }

  async missing(cids: readonly string[]): Promise<string[]> {
    return cids.filter((cid) => !this.chunks.has(cid));
  }

  async delete(cids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const cid of cids) {
      const entry = this.chunks.get(cid);
      if (!entry) continue;
      this.chunks.delete(cid);
      this.used -= entry.bytes.length;
      deleted++;
    }
    return deleted;
  }

  async list(prefix = ''): Promise<string[]> {
    return [...this.chunks.keys()].filter((cid) => cid.startsWith(prefix)).sort();
  }

  async bytesUsed(): Promise<number> {
    return this.used;
  }

  async pin(id: string, cids: readonly string[]): Promise<void> {
    this.pinSets.set(id, new Set(cids));
  }

  async unpin(id: string): Promise<void> {
    this.pinSets.delete(id);
  }

  async pins(): Promise<string[]> {
    return [...this.pinSets.keys()].sort();
  }

  async gc(thresholdBytes: number): Promise<GcResult> {
    const result: GcResult = { deleted: [], bytesFreed: 0 };
    if (this.used <= thresholdBytes) return result;
    const pinned = new Set([...this.pinSets.values()].flatMap((set) => [...set]));
    const order = evictionOrder([...this.chunks].map(([cid, { used }]) => ({ cid, used })), pinned);
    for (const cid of order) {
      if (this.used <= thresholdBytes) break;
      const size = this.chunks.get(cid)!.bytes.length;
      await this.delete([cid]);
      result.deleted.push(cid);
      result.bytesFreed += size;
    }
    return result;
  }
}
