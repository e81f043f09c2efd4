/** The Dexie ChunkStore over fake-indexeddb, passed in as options so no test touches globals. */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { BLOB_DATABASE_NAME, DexieChunkStore } from '../../../src/lib/adapters/browser/dexie-chunk-store.js';
import type { ChunkStore } from '../../../src/lib/blobs/index.js';
import { chunk, chunkStoreAcceptance } from './chunk-store-acceptance.js';

const indexedDB = new IDBFactory();
const opened: DexieChunkStore[] = [];
let counter = 0;

async function freshStore(name = `${BLOB_DATABASE_NAME}-${++counter}`): Promise<DexieChunkStore> {
  const store = await DexieChunkStore.open({ indexedDB, IDBKeyRange, name });
  opened.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.destroy()));
});

const nameOf = new Map<ChunkStore, string>();
chunkStoreAcceptance(
  'dexie',
  async () => {
    const store = await freshStore();
    nameOf.set(store, `${BLOB_DATABASE_NAME}-${counter}`);
    return store;
  },
  {
    reopen: async (store) => {
      (store as DexieChunkStore).close();
      return freshStore(nameOf.get(store));
    }
  }
);

describe('DexieChunkStore', () => {
  it('uses its own database, "hearthnet-blobs" by default, leaving the event databases alone', async () => {
    const store = await DexieChunkStore.open({ indexedDB, IDBKeyRange });
    opened.push(store);
    await store.put([chunk(1)]);
    const databases = await indexedDB.databases();
    expect(databases.map((d) => d.name)).toContain('hearthnet-blobs');
    const raw = new Dexie('hearthnet-blobs', { indexedDB, IDBKeyRange });
    await raw.open();
    expect(raw.tables.map((t) => t.name).sort()).toEqual(['data', 'meta', 'pins']);
    raw.close();
  });
});
