/**
 * The EventStore adapters in Node, each next to the raw primitive it wraps, in the same run: 1,000 events in one put
 * (a sync batch) and 1,000 puts of one event (a node writing as it goes). Events are signed beforehand; only the
 * store is timed. Median of 3 rounds after a warm-up, each on a fresh store.
 *  - SQLite: on the temp directory's disk, synchronous=FULL; the raw rows are prepared INSERTs in one transaction
 *    per put with the same pragmas, and with synchronous=OFF to show what the fsync per commit costs.
 *  - Dexie: over fake-indexeddb, a pure-JS in-memory IndexedDB. It measures Dexie's own overhead, not a browser:
 *    real IndexedDB pays milliseconds per transaction (DESIGN §5), which is why puts should be batched.
 * Run: `npx tsx bench/event-store.ts`.
 */
import Database from 'better-sqlite3';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPairFromSeed } from '../src/lib/core/index.js';
import { DexieEventStore } from '../src/lib/adapters/browser/dexie-event-store.js';
import { MemoryEventStore, signEvent, type EventEnvelope } from '../src/lib/events/index.js';
import { SqliteEventStore } from '../relay/sqlite-event-store.js';
import { printTable } from './table.js';

const EVENTS = 1000;
const ROUNDS = 3;
const COMMUNITY = 'ed25519:' + 'B'.repeat(43);

/** Something that stores a batch of events; opened fresh for each round. */
interface Target {
  put(events: readonly EventEnvelope[]): Promise<unknown>;
  close?(): Promise<void> | void;
}

const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(7));
const events = await Promise.all(
  Array.from({ length: EVENTS }, (_, i) =>
    signEvent(keyPair, { eventId: '01HXR' + String(i + 1).padStart(21, '0'), lamport: i + 1, wallClockMs: Date.UTC(2026, 0, 1), communityId: COMMUNITY, eventType: 'market.post.created', data: { title: `post ${i}`, body: 'x'.repeat(200) } })
  )
);

const dir = mkdtempSync(join(tmpdir(), 'hearthnet-bench-'));
let fresh = 0;

function rawSqlite(synchronous: 'FULL' | 'OFF'): Target {
  const db = new Database(join(dir, `raw-${++fresh}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.exec('CREATE TABLE events (event_id TEXT PRIMARY KEY, lamport INTEGER NOT NULL, json TEXT NOT NULL); CREATE INDEX events_replay ON events (lamport, event_id);');
  const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?)');
  const putAll = db.transaction((batch: readonly EventEnvelope[]) => {
    for (const e of batch) insert.run(e.event_id, e.lamport, JSON.stringify(e));
  });
  return { put: async (batch) => putAll(batch), close: () => void db.close() };
}

/** Plain IndexedDB calls: one readwrite transaction per put, add() each event, wait for complete. */
async function rawIndexedDb(): Promise<Target> {
  const factory = new IDBFactory();
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = factory.open('raw', 1);
    request.onupgradeneeded = () => request.result.createObjectStore('events', { keyPath: 'event_id' }).createIndex('replay', ['lamport', 'event_id']);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return {
    put: (batch) =>
      new Promise<void>((resolve, reject) => {
        const tx = db.transaction('events', 'readwrite');
        for (const e of batch) tx.objectStore('events').add(e);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      }),
    close: () => db.close()
  };
}

const indexedDbOptions = () => ({ indexedDB: new IDBFactory(), IDBKeyRange });

const targets: [string, () => Promise<Target> | Target][] = [
  ['memory (MemoryEventStore)', () => new MemoryEventStore()],
  ['raw better-sqlite3, synchronous=OFF', () => rawSqlite('OFF')],
  ['raw better-sqlite3, synchronous=FULL', () => rawSqlite('FULL')],
  ['SqliteEventStore (FULL)', () => SqliteEventStore.open(join(dir, `store-${++fresh}`), COMMUNITY)],
  ['raw IndexedDB (fake-indexeddb)', rawIndexedDb],
  ['DexieEventStore (fake-indexeddb)', () => DexieEventStore.open(COMMUNITY, indexedDbOptions())]
];

async function median(open: () => Promise<Target> | Target, run: (target: Target) => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let round = -1; round < ROUNDS; round++) {
    const target = await open();
    const started = performance.now();
    await run(target);
    if (round >= 0) times.push(performance.now() - started); // round -1 warms the JIT up
    await target.close?.();
  }
  return times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

const rows: (string | number)[][] = [];
const baseline: Record<string, { batch: number; single: number }> = {};
for (const [name, open] of targets) {
  const batch = await median(open, async (t) => void (await t.put(events)));
  const single = await median(open, async (t) => {
    for (const e of events) await t.put([e]);
  });
  const raw = name.startsWith('SqliteEventStore') ? baseline['raw better-sqlite3, synchronous=FULL'] : name.startsWith('DexieEventStore') ? baseline['raw IndexedDB (fake-indexeddb)'] : undefined;
  baseline[name] = { batch, single };
  rows.push([name, batch, (single * 1000) / EVENTS, raw ? batch / raw.batch : '', raw ? single / raw.single : '']);
}
rmSync(dir, { recursive: true, force: true });

printTable(
  `EventStore, ${EVENTS.toLocaleString('en-US')} signed events (~${JSON.stringify(events[0]).length} B each), median of ${ROUNDS} fresh stores, Node ${process.version}`,
  ['store', '1 put of 1,000 (ms)', '1,000 puts of 1 (µs per put)', 'batch / raw', 'single / raw'],
  rows
);
