/**
 * The bridge's library beside a community's log: file names (`files.json`) and one snapshot file per corpus
 * (`corpora/<name>.json`), each written durably (temp file, fsync, rename). Chunks live in `chunks/`
 * (DiskChunkStore). Corpus names are checked by RagService (lowercase letters, digits, "-"), so they are safe file
 * names; this store checks again, since a path is built from them.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError } from '../src/lib/core/index.js';
import type { FileMeta, FileMetaStore } from '../src/lib/library/index.js';
import type { CorpusStore } from '../src/lib/rag/index.js';
import { fsyncDir, writeDurably } from './durable-file.js';

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
    let metas: FileMeta[] = [];
    try {
      metas = JSON.parse(await readFile(join(dir, 'files.json'), 'utf8')) as FileMeta[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return new DiskLibraryStore(dir, new Map(metas.map((m) => [m.cid, m])));
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

  async save(name: string, snapshot: unknown): Promise<void> {
    if (!CORPUS_FILE.test(`${name}.json`)) throw new HearthError('bad_request', `corpus name ${JSON.stringify(name)} is not a safe file name`);
    await writeDurably(join(this.dir, 'corpora', `${name}.json`), encoder.encode(JSON.stringify(snapshot)));
    await fsyncDir(join(this.dir, 'corpora'));
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
