/**
 * The ChunkStore port on the bridge's disk (M07 §5.1): one file per chunk at `<dir>/<aa>/<rest of hex>`, fanned out
 * by the first two hex digits. A chunk is written to a temp file, fsynced, renamed onto its name and the directory
 * fsynced, so a crash leaves either the whole chunk or no file under its CID; temp files left by a crash are
 * removed at open. Use order is the file's mtime (set on every read), pins a JSON file replaced the same way.
 * The index (CID → size, use) is rebuilt by one directory scan at open and then kept in memory.
 */
import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { CID_PREFIX, HearthError, isCid } from '../src/lib/core/index.js';
import { evictionOrder, useStamps, type ChunkPut, type ChunkStore, type GcResult } from '../src/lib/blobs/index.js';
import { TEMP_MARK, fsyncDir, writeDurably } from './durable-file.js';

const PINS_FILE = 'pins.json';
const FAN_OUT = /^[0-9a-f]{2}$/;
const REST = /^[0-9a-f]{62}$/;

export class DiskChunkStore implements ChunkStore {
  private constructor(
    readonly dir: string,
    private readonly index: Map<string, { size: number; used: number }>,
    private pinSets: Map<string, string[]>,
    private readonly stamp: () => number
  ) {}

  /** Pin file writes, one after another, so an older state can never be renamed over a newer one. */
  private pinWrites: Promise<void> = Promise.resolve();

  /** Opens (creating) the store in `dir`, dropping temp files a crash left behind. */
  static async open(dir: string, options: { now?: () => number } = {}): Promise<DiskChunkStore> {
    await mkdir(dir, { recursive: true });
    const index = new Map<string, { size: number; used: number }>();
    let newest = 0;
    for (const fan of await readdir(dir)) {
      if (fan.includes(TEMP_MARK)) await rm(join(dir, fan), { force: true });
      if (!FAN_OUT.test(fan)) continue;
      for (const name of await readdir(join(dir, fan))) {
        const path = join(dir, fan, name);
        if (!REST.test(name)) {
          if (name.includes(TEMP_MARK)) await rm(path, { force: true });
          continue;
        }
        const info = await stat(path);
        index.set(CID_PREFIX + fan + name, { size: info.size, used: info.mtimeMs });
        newest = Math.max(newest, info.mtimeMs);
      }
    }
    let pins = new Map<string, string[]>();
    let text: string | null = null;
    try {
      text = await readFile(join(dir, PINS_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== null) {
      const parsed = parsePins(text);
      // Refused rather than set aside: starting without pins would let the next gc take files people added here.
      if (!parsed) throw new HearthError('internal_error', `${join(dir, PINS_FILE)} is damaged; move it aside to start without pins (files held here may then be collected when space runs short)`);
      pins = parsed;
    }
    return new DiskChunkStore(dir, index, pins, useStamps(options.now, newest));
  }

  /** Where the chunk `cid` lives; throws bad_request for anything that is not a CID (no path tricks). */
  pathOf(cid: string): string {
    if (!isCid(cid)) throw new HearthError('bad_request', `not a CID: ${String(cid).slice(0, 80)}`);
    const hex = cid.slice(CID_PREFIX.length);
    return join(this.dir, hex.slice(0, 2), hex.slice(2));
  }

  async put(chunks: readonly ChunkPut[]): Promise<string[]> {
    const added: string[] = [];
    const touched = new Set<string>();
    for (const { cid, bytes } of chunks) {
      const path = this.pathOf(cid);
      const present = this.index.get(cid);
      if (present) {
        present.used = this.stamp();
        continue;
      }
      const fan = join(path, '..');
      await mkdir(fan, { recursive: true });
      await writeDurably(path, bytes);
      touched.add(fan);
      if (this.index.has(cid)) continue; // a concurrent put of the same chunk got there first
      this.index.set(cid, { size: bytes.length, used: this.stamp() });
      added.push(cid);
    }
    // The renames are durable once their directories are: one fsync per directory per batch.
    for (const fan of touched) await fsyncDir(fan);
    return added;
  }

  async get(cid: string): Promise<Uint8Array | undefined> {
    const entry = this.index.get(cid);
    if (!entry) return undefined;
    const path = this.pathOf(cid);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.index.delete(cid); // removed behind our back
      return undefined;
    }
    entry.used = this.stamp();
    await utimes(path, entry.used / 1000, entry.used / 1000).catch(() => undefined);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** get() of each, read in parallel: a bridge streaming a blob reads a run of chunks at once (ChunkStore.getMany). */
  getMany(cids: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return Promise.all(cids.map((cid) => this.get(cid)));
  }

  async has(cid: string): Promise<boolean> {
    return this.index.has(cid);
  }

  async missing(cids: readonly string[]): Promise<string[]> {
    return cids.filter((cid) => !this.index.has(cid));
  }

  async delete(cids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const cid of new Set(cids)) {
      if (!this.index.has(cid)) continue;
      await rm(this.pathOf(cid), { force: true });
      this.index.delete(cid);
      deleted++;
    }
    return deleted;
  }

  async list(prefix = ''): Promise<string[]> {
    return [...this.index.keys()].filter((cid) => cid.startsWith(prefix)).sort();
  }

  async bytesUsed(): Promise<number> {
    let total = 0;
    for (const { size } of this.index.values()) total += size;
    return total;
  }

  async pin(id: string, cids: readonly string[]): Promise<void> {
    this.pinSets.set(id, [...new Set(cids)]);
    await this.savePins();
  }

  async unpin(id: string): Promise<void> {
    if (this.pinSets.delete(id)) await this.savePins();
  }

  async pins(): Promise<string[]> {
    return [...this.pinSets.keys()].sort();
  }

  async gc(thresholdBytes: number): Promise<GcResult> {
    const result: GcResult = { deleted: [], bytesFreed: 0 };
    let used = await this.bytesUsed();
    if (used <= thresholdBytes) return result;
    const pinned = new Set([...this.pinSets.values()].flat());
    for (const cid of evictionOrder([...this.index].map(([cid, { used }]) => ({ cid, used })), pinned)) {
      if (used <= thresholdBytes) break;
      const size = this.index.get(cid)!.size;
      await this.delete([cid]);
      used -= size;
      result.deleted.push(cid);
      result.bytesFreed += size;
    }
    return result;
  }

  private savePins(): Promise<void> {
    const write = async () => {
      await writeDurably(join(this.dir, PINS_FILE), new TextEncoder().encode(JSON.stringify(Object.fromEntries(this.pinSets))));
      await fsyncDir(this.dir);
    };
    this.pinWrites = this.pinWrites.then(write, write);
    return this.pinWrites;
  }
}

/** pins.json: `{id: [cid, …]}`; null when it is not that. */
function parsePins(text: string): Map<string, string[]> | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    const entries = Object.entries(parsed as Record<string, unknown>);
    if (!entries.every(([, cids]) => Array.isArray(cids) && cids.every((cid) => isCid(cid)))) return null;
    return new Map(entries as [string, string[]][]);
  } catch {
    return null;
  }
}
