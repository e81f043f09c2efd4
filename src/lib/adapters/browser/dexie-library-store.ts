/**
 * The library's small stores in IndexedDB (DESIGN §5): the names of files this device added or downloaded (blobs
 * carry none) and the snapshots of its corpora (RagService's CorpusStore). Its own database, beside the chunks in
 * "hearthnet-blobs", so neither schema changes for the other.
 */
import Dexie, { type DexieOptions, type EntityTable } from 'dexie';
import type { FileMeta, FileMetaStore } from '../../library/index.js';
import type { CorpusStore } from '../../rag/index.js';

export const LIBRARY_DATABASE_NAME = 'hearthnet-library';

interface CorpusRow {
  name: string;
  snapshot: unknown;
}

type LibraryDb = Dexie & { files: EntityTable<FileMeta, 'cid'>; corpora: EntityTable<CorpusRow, 'name'> };

export class DexieLibraryStore implements FileMetaStore, CorpusStore {
  private constructor(private readonly db: LibraryDb) {}

  static async open(options: Pick<DexieOptions, 'indexedDB' | 'IDBKeyRange'> & { name?: string } = {}): Promise<DexieLibraryStore> {
    const { name = LIBRARY_DATABASE_NAME, ...dexieOptions } = options;
    const db = new Dexie(name, dexieOptions) as LibraryDb;
    db.version(1).stores({ files: 'cid', corpora: 'name' });
    await db.open();
    return new DexieLibraryStore(db);
  }

  all(): Promise<FileMeta[]> {
    return this.db.files.toArray();
  }

  async put(meta: FileMeta): Promise<void> {
    await this.db.files.put(meta);
  }

  async delete(cid: string): Promise<void> {
    await this.db.files.delete(cid);
  }

  async loadAll(): Promise<Record<string, unknown>> {
    return Object.fromEntries((await this.db.corpora.toArray()).map((row) => [row.name, row.snapshot]));
  }

  async save(name: string, snapshot: unknown): Promise<void> {
    await this.db.corpora.put({ name, snapshot });
  }

  close(): void {
    this.db.close();
  }
}
