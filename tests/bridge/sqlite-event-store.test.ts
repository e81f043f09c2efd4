/**
 * The bridge's SQLite EventStore: the port's acceptance suite, reopening, and the DESIGN §5 promise that a crash at
 * any point loses no acknowledged event (a child process is SIGKILLed mid-stream of puts).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyPairFromSeed } from '../../src/lib/core/index.js';
import Database from 'better-sqlite3';
import { SNAPSHOTS_KEPT, signEvent, type EventEnvelope, type EventStore } from '../../src/lib/events/index.js';
import { SqliteEventStore, eventStorePath } from '../../relay/sqlite-event-store.js';
import { eventStoreAcceptance } from '../unit/events/store-acceptance.js';
import { makeTempDir, waitFor } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const COMMUNITY = 'ed25519:' + 'C'.repeat(43);
const cleanup: (() => Promise<void> | void)[] = [];

async function tempDir(): Promise<string> {
  const temp = await makeTempDir('hearthnet-sqlite-');
  cleanup.push(temp.remove);
  return temp.path;
}

function open(dir: string, communityId = COMMUNITY): SqliteEventStore {
  const store = SqliteEventStore.open(dir, communityId);
  cleanup.unshift(() => store.close()); // closed before its directory goes
  return store;
}

afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

async function event(n: number, lamport = n): Promise<EventEnvelope> {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(3));
  return signEvent(kp, { eventId: `01HXR0000000000000000000${String(n).padStart(2, '0')}`, lamport, wallClockMs: Date.UTC(2026, 0, 1), communityId: COMMUNITY, eventType: 'market.post.created', data: { n } });
}

const dirOf = new Map<EventStore, string>();
eventStoreAcceptance(
  'sqlite',
  async () => {
    const dir = await tempDir();
    const store = open(dir);
    dirOf.set(store, dir);
    return store;
  },
  {
    reopen: async (store) => {
      (store as SqliteEventStore).close();
      return open(dirOf.get(store)!);
    }
  }
);

describe('SqliteEventStore', () => {
  it('keeps its events across close and reopen', async () => {
    const dir = await tempDir();
    const first = SqliteEventStore.open(dir, COMMUNITY);
    await first.put(await Promise.all([2, 1, 3].map((n) => event(n))));
    first.close();
    const again = open(dir);
    expect(await again.count()).toBe(3);
    expect(await again.head()).toBe(3);
    expect((await again.all()).map((e) => e.data.n)).toEqual([1, 2, 3]);
  });

  it('adds an id repeated within one batch once (the first)', async () => {
    const store = open(await tempDir());
    const a = await event(1);
    const b = await event(2);
    expect(await store.put([a, b, { ...a, data: { n: 'repeat' } }])).toEqual([a, b]);
    expect(await store.get(a.event_id)).toEqual(a);
  });

  it(`keeps the last ${SNAPSHOTS_KEPT} snapshots only`, async () => {
    const dir = await tempDir();
    const store = open(dir);
    for (let lamport = 1; lamport <= 6; lamport++) await store.saveSnapshot({ lamport, event_id: `id${lamport}`, events: lamport, signed: '{}', signature: 'ed25519:x' });
    const raw = new Database(eventStorePath(dir, COMMUNITY), { readonly: true });
    const kept = raw.prepare('SELECT lamport FROM snapshots ORDER BY lamport').all() as { lamport: number }[];
    raw.close();
    expect(kept.map((row) => row.lamport)).toEqual([4, 5, 6]);
  });

  it('keeps one file per community, even for ids that differ only in case', async () => {
    const dir = await tempDir();
    expect(eventStorePath(dir, 'ed25519:A')).not.toBe(eventStorePath(dir, 'ed25519:a'));
    expect(eventStorePath(dir, COMMUNITY)).toMatch(/events-[0-9a-f]{64}\.sqlite$/);
    await open(dir, 'ed25519:A').put([await event(1)]);
    expect(await open(dir, 'ed25519:a').count()).toBe(0);
  });

  it('loses no acknowledged event when the process is killed mid-stream (DESIGN §5)', async () => {
    const dir = await tempDir();
    // The child acks each event only after its put resolved, as the bridge will to a peer. It is node itself (tsx
    // as a loader), not the tsx CLI, which would run a grandchild that SIGKILL cannot reach.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, dir, COMMUNITY], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // 'close', not 'exit': every ack the child wrote has been read by then.
    const closed = new Promise<NodeJS.Signals | null>((done) => child.on('close', (_code, signal) => done(signal)));
    const acked = () => stdout.split('\n').filter((line) => line.startsWith('acked ')).map((line) => line.slice('acked '.length));
    await waitFor(() => acked().length >= 200 || stderr, 'the child to ack 200 events', 15_000, 5);
    expect(stderr).toBe('');
    child.kill('SIGKILL');
    expect(await closed).toBe('SIGKILL');

    const ids = acked();
    const store = open(dir);
    const stored = new Set((await store.all()).map((e) => e.event_id));
    expect(ids.filter((id) => !stored.has(id))).toEqual([]);
    // At most the put in flight when it died got in without its ack being read.
    expect(stored.size).toBeGreaterThanOrEqual(ids.length);
    expect(stored.size).toBeLessThanOrEqual(ids.length + 1);
  });
});

/** The child: puts events one batch (of one) at a time until killed, printing each ack. */
const CHILD = `
import { keyPairFromSeed } from './src/lib/core/index.ts';
import { signEvent } from './src/lib/events/index.ts';
import { SqliteEventStore } from './relay/sqlite-event-store.ts';
const [dir, communityId] = process.argv.slice(1);
const store = SqliteEventStore.open(dir, communityId);
const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(3));
for (let n = 1; n <= 1_000_000; n++) {
  const event = await signEvent(keyPair, { eventId: '01HXR' + String(n).padStart(21, '0'), lamport: n, wallClockMs: Date.UTC(2026, 0, 1), communityId, eventType: 'market.post.created', data: { n } });
  await store.put([event]);
  process.stdout.write('acked ' + event.event_id + '\\n');
}
`;
