/**
 * The bridge's library beside a community's log: file names (`files.json`) and one snapshot file per corpus
 * (`corpora/<name>.json`), each written durably (temp file, fsync, rename). Chunks live in `chunks/`
 * (DiskChunkStore). Corpus names are checked by RagService (lowercase letters, digits, "-"), so they are safe file
 * names; this store checks again, since a path is built from them.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, isCid } from '../src/lib/core/index.js';
import type { FileMeta, FileMetaStore } from '../src/lib/library/index.js';
import type { CorpusStore } from '../src/lib/rag/index.js';
import { TEMP_MARK, fsyncDir, writeDurably } from './durable-file.js';

const CORPUS_FILE = /^([a-z0-9][a-z0-9-]{0,62})\.json$/;
const encoder = new TextEncoder();

export class DiskLibraryStore implements FileMetaStore, CorpusStore {
  /** Writes of files.json, one after another, so an older list never lands over a newer one. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly metas: Map<string, FileMeta>
  ) {}

  static async open(dir: string): Promise<DiskLibraryStore> {
    await mkdir(join(dir, 'corpora'), { recursive: true });
    // Leftovers of a crash between a temp file's write and its rename (durable-file.ts).
    for (const folder of [dir, join(dir, 'corpora')]) {
      for (const name of await readdir(folder)) if (name.includes(TEMP_MARK)) await rm(join(folder, name), { force: true });
    }
    return new DiskLibraryStore(dir, new Map((await readMetas(dir)).map((m) => [m.cid, m])));
  }

  async all(): Promise<FileMeta[]> {
    return [...this.metas.values()];
  }

  put(meta: FileMeta): Promise<void> {
    this.metas.set(meta.cid, meta);
    return this.saveMetas();
  }

  delete(cid: string): Promise<void> {
    this.metas.delete(cid);
    return this.saveMetas();
  }

  async loadAll(): Promise<Record<string, unknown>> {
    const corpora: Record<string, unknown> = {};
    for (const name of await readdir(join(this.dir, 'corpora'))) {
      const match = CORPUS_FILE.exec(name);
      if (!match) continue;
      try {
        corpora[match[1]] = JSON.parse(await readFile(join(this.dir, 'corpora', name), 'utf8'));
      } catch {
        corpora[match[1]] = null; // RagService keeps an unreadable corpus untouched and says so
      }
    }
    return corpora;
  }

  save(name: string, snapshot: unknown): Promise<void> {
    if (!CORPUS_FILE.test(`${name}.json`)) return Promise.reject(new HearthError('bad_request', `corpus name ${JSON.stringify(name)} is not a safe file name`));
    const text = JSON.stringify(snapshot);
    const write = async () => {
      await writeDurably(join(this.dir, 'corpora', `${name}.json`), encoder.encode(text));
      await fsyncDir(join(this.dir, 'corpora'));
    };
    // One after another, like files.json: an older snapshot finishing last would replace a newer one on disk.
    this.writes = this.writes.then(write, write);
    return this.writes;
  }

  private saveMetas(): Promise<void> {
    const write = async () => {
      await writeDurably(join(this.dir, 'files.json'), encoder.encode(JSON.stringify([...this.metas.values()])));
      await fsyncDir(this.dir);
    };
    this.writes = this.writes.then(write, write);
    return this.writes;
  }
}

const isMeta = (value: unknown): value is FileMeta => {
  const m = value as Partial<FileMeta> | null;
  return typeof m === 'object' && m !== null && isCid(m.cid) && typeof m.name === 'string' && typeof m.media_type === 'string' && Number.isSafeInteger(m.size_bytes) && typeof m.added_at === 'number';
};

/**
 * files.json's entries. Only names and types are in it (the blobs are in chunks/), so an unreadable file must not keep
 * the community's member from starting: it is set aside as `files.json.unreadable-<ms>` for a person to look at, and
 * the library starts without names. Malformed entries are dropped.
 */
async function readMetas(dir: string): Promise<FileMeta[]> {
  const path = join(dir, 'files.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error('not a list');
    return parsed.filter(isMeta);
  } catch {
    await rename(path, `${path}.unreadable-${Date.now()}`);
    return [];
  }
}
