/** The Dexie EventStore over fake-indexeddb, passed in as options so no test touches globals. */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { keyPairFromSeed } from '../../../src/lib/core/index.js';
import { DexieEventStore, eventDatabaseName } from '../../../src/lib/adapters/browser/dexie-event-store.js';
import Dexie from 'dexie';
import { signEvent, type EventEnvelope, type EventStore } from '../../../src/lib/events/index.js';
import { eventStoreAcceptance } from '../events/store-acceptance.js';

const COMMUNITY = 'ed25519:' + 'C'.repeat(43);
const indexedDB = new IDBFactory();
const options = { indexedDB, IDBKeyRange };
const opened: DexieEventStore[] = [];
let counter = 0;

/** A fresh database per test: each gets its own community id. */
async function freshStore(communityId = `${COMMUNITY}-${++counter}`): Promise<DexieEventStore> {
  const store = await DexieEventStore.open(communityId, options);
  opened.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.delete()));
});

async function event(n: number, lamport = n): Promise<EventEnvelope> {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(3));
  return signEvent(kp, { eventId: `01HXR0000000000000000000${String(n).padStart(2, '0')}`, lamport, wallClockMs: Date.UTC(2026, 0, 1), communityId: COMMUNITY, eventType: 'market.post.created', data: { n } });
}

const idOf = new Map<EventStore, string>();
eventStoreAcceptance(
  'dexie',
  async () => {
    const store = await freshStore();
    idOf.set(store, `${COMMUNITY}-${counter}`);
    return store;
  },
  {
    reopen: async (store) => {
      (store as DexieEventStore).close();
      return freshStore(idOf.get(store));
    }
  }
);

describe('DexieEventStore', () => {
  it('keeps its events across close and reopen', async () => {
    const communityId = `${COMMUNITY}-reopen`;
    const first = await DexieEventStore.open(communityId, options);
    const written = await Promise.all([2, 1, 3].map((n) => event(n)));
    await first.put(written);
    first.close();
    const again = await freshStore(communityId);
    expect(await again.count()).toBe(3);
    expect(await again.head()).toBe(3);
    expect((await again.all()).map((e) => e.data.n)).toEqual([1, 2, 3]);
  });

  it('adds an id repeated within one batch once (the first), without failing the batch', async () => {
    const store = await freshStore();
    const a = await event(1);
    const b = await event(2);
    expect(await store.put([a, b, { ...a, data: { n: 'repeat' } }])).toEqual([a, b]);
    expect(await store.get(a.event_id)).toEqual(a);
    expect(await store.count()).toBe(2);
  });

  it('upgrades a version 1 database: its events stay, the event_type index is filled, snapshots can be kept', async () => {
    const communityId = `${COMMUNITY}-v1`;
    const v1 = new Dexie(eventDatabaseName(communityId), options);
    v1.version(1).stores({ events: 'event_id, [lamport+event_id]' });
    await v1.open();
    const written = await Promise.all([2, 1, 3].map((n) => event(n)));
    await v1.table('events').bulkAdd(written);
    v1.close();
    const store = await freshStore(communityId);
    expect((await store.all()).map((e) => e.data.n)).toEqual([1, 2, 3]);
    expect((await store.ofTypes(['market.post.created'])).map((e) => e.data.n)).toEqual([1, 2, 3]);
    const snapshot = { lamport: 3, event_id: written[2].event_id, events: 3, signed: '{}', signature: 'ed25519:x' };
    await store.saveSnapshot(snapshot);
    expect(await store.latestSnapshot()).toEqual(snapshot);
  });

  it('gives each community its own database, ":" and all', async () => {
    expect(eventDatabaseName('ed25519:abc')).toBe('hearthnet-events-ed25519%3Aabc');
    const a = await freshStore('ed25519:A');
    const b = await freshStore('ed25519:a');
    await a.put([await event(1)]);
    expect(await b.count()).toBe(0);
  });
});
