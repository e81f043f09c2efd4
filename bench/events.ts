/**
 * The community log in Node, each figure next to the raw primitive it wraps, in the same run (issue 4 §7):
 *  - append (sign + store + views): a member's Community.append into memory and into the bridge's SQLite store,
 *    vs signing the same canonical bytes;
 *  - verify-and-apply: Community.ingest of a peer's events in batches of 100 (envelope checks, signature, gate,
 *    store, membership + marketplace views) vs verifying the same signatures;
 *  - catch-up: a node that missed 10 000 events syncs them from a peer through `community.sync@1.0` over an
 *    in-memory link (signed calls, real bus): time, and bytes on the wire vs the events' own JSON size;
 *  - open: Community.open over a log of 10 000 events, full replay vs this node's snapshot plus a tail of 100
 *    events, in memory and in SQLite, vs reading every event from the store (what any full replay reads): a log of
 *    10 000 posts (the state is as large as the log) and one of 1 000 posts updated 9 000 times (it is a tenth).
 * Run: `npx tsx bench/events.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, keyPairFromSeed, systemClock, ulidGenerator, utf8Encode, verifyPayload, type KeyPair } from '../src/lib/core/index.js';
import { Community, LogSync } from '../src/lib/community/index.js';
import { MemoryEventStore, Snapshotter, type EventEnvelope, type EventStore } from '../src/lib/events/index.js';
import { communityViews, createNode } from '../src/lib/node/index.js';
import { createMemoryLinkPair, systemScheduler } from '../src/lib/transport/index.js';
import { SqliteEventStore } from '../relay/sqlite-event-store.js';
import { printTable } from './table.js';

const APPENDS = 2_000;
const CATCH_UP = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'hearthnet-bench-events-'));

const founderKey = await keyPairFromSeed(new Uint8Array(32).fill(1));
const rootKey = await keyPairFromSeed(new Uint8Array(32).fill(2));
const readerKey = await keyPairFromSeed(new Uint8Array(32).fill(3));

function post(i: number): Record<string, unknown> {
  return { client_id: `c${i}`, category: 'offer', title: `Post ${i}: spare water canisters`, body: 'Two 20 l canisters, clean, pick up any time. '.repeat(3), tags: ['water', 'emergency'], ttl_seconds: 86_400 };
}

async function found(keyPair: KeyPair, store: EventStore): Promise<Community> {
  return Community.found(
    { name: 'Bench', displayName: 'founder', rootKey },
    { keyPair, clock: systemClock, nextId: ulidGenerator(systemClock), storeFor: () => store, views: communityViews }
  );
}

async function rate(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return (n * 1000) / (performance.now() - t);
}

// --- append ---
const sample = await (await found(founderKey, new MemoryEventStore())).append('market.post.created', post(0));
const { signature: _s, ...unsigned } = sample;
const signingBytes = utf8Encode(canonicalJson(unsigned));
const rawSign = await rate(APPENDS, () => founderKey.sign(signingBytes));
const memoryCommunity = await found(founderKey, new MemoryEventStore());
const appendMemory = await rate(APPENDS, (i) => memoryCommunity.append('market.post.created', post(i)));
const sqlite = SqliteEventStore.open(dir, rootKey.nodeId);
const sqliteCommunity = await found(founderKey, sqlite);
const appendSqlite = await rate(APPENDS, (i) => sqliteCommunity.append('market.post.created', post(i)));
printTable(`Append (${APPENDS.toLocaleString('en-US')} events, one at a time)`, ['path', 'events/s', 'vs raw signing'], [
  ['raw Ed25519 sign of the canonical bytes', rawSign, 1],
  ['Community.append, memory store', appendMemory, appendMemory / rawSign],
  ['Community.append, SQLite (synchronous=FULL)', appendSqlite, appendSqlite / rawSign]
]);

// --- verify and apply ---
const events: EventEnvelope[] = (await memoryCommunity.log.events()).slice();
const rawVerify = await rate(events.length, (i) => verifyPayload(events[i], events[i].author));
const reader = await Community.open({ store: new MemoryEventStore(), keyPair: readerKey, communityId: rootKey.nodeId, clock: systemClock, nextId: ulidGenerator(systemClock), views: communityViews });
const t0 = performance.now();
for (let i = 0; i < events.length; i += 100) await reader.ingest(events.slice(i, i + 100));
const ingestRate = (events.length * 1000) / (performance.now() - t0);
if (reader.log.size !== events.length) throw new Error(`reader stored ${reader.log.size} of ${events.length}`);
printTable(`Verify and apply (${events.length.toLocaleString('en-US')} events, batches of 100)`, ['path', 'events/s', 'vs raw verify'], [
  ['raw Ed25519 verify', rawVerify, 1],
  ['Community.ingest (checks, gate, store, views)', ingestRate, ingestRate / rawVerify]
]);

// --- catch-up over the bus ---
const source = await found(founderKey, new MemoryEventStore());
const invite = await source.invite({ inviteeNodeId: readerKey.nodeId });
for (let i = 0; i < CATCH_UP; i++) await source.append('market.post.created', post(i));
const target = await Community.open({ store: new MemoryEventStore(), keyPair: readerKey, communityId: rootKey.nodeId, clock: systemClock, nextId: ulidGenerator(systemClock), views: communityViews });
const nodeOf = (keyPair: KeyPair, community: Community) =>
  createNode({ keyPair, clock: systemClock, scheduler: systemScheduler, displayName: 'bench', profile: 'spark', communityId: rootKey.nodeId, membership: community, probeIntervalMs: 3_600_000 });
const sourceNode = nodeOf(founderKey, source);
const targetNode = nodeOf(readerKey, target);
const syncOf = (community: Community, node: ReturnType<typeof nodeOf>, credential: () => { invite_event_id: string } | null) =>
  new LogSync({ community, bus: node.bus, clock: systemClock, scheduler: systemScheduler, peers: () => [], credential });
const sourceSync = syncOf(source, sourceNode, () => null);
sourceNode.register(sourceSync.registration());
const targetSync = syncOf(target, targetNode, () => ({ invite_event_id: invite.event.event_id }));
targetNode.register(targetSync.registration());
const pair = createMemoryLinkPair(founderKey.nodeId, readerKey.nodeId);
sourceNode.addLink(pair.a);
targetNode.addLink(pair.b);
while (!targetNode.bus.capabilities().some((c) => c.name === 'community.sync' && !c.isLocal)) await new Promise((r) => setTimeout(r, 5));
const eventsBytes = (await source.log.events()).reduce((n, e) => n + utf8Encode(JSON.stringify(e)).length, 0);
const t1 = performance.now();
const outcome = await targetSync.syncWith(founderKey.nodeId);
const catchUpMs = performance.now() - t1;
if (!outcome || target.log.size !== source.log.size) throw new Error(`catch-up incomplete: ${target.log.size} of ${source.log.size}: ${JSON.stringify([...targetSync.status().values()])}`);
printTable(`Catch-up: a node that missed ${source.log.size.toLocaleString('en-US')} events, over community.sync@1.0 (signed calls, in-memory link)`, ['figure', 'value'], [
  ['time (s)', catchUpMs / 1000],
  ['events/s', (source.log.size * 1000) / catchUpMs],
  ['sync rounds (calls)', outcome.rounds],
  ['sync message bytes (both ways)', outcome.bytes],
  ["events' own JSON bytes", eventsBytes],
  ['wire bytes / event bytes', outcome.bytes / eventsBytes]
]);

sourceNode.stop();
targetNode.stop();

// --- open: full replay vs snapshot + tail ---
const OPEN_TAIL = 100;
const OPEN_RUNS = 5;
const postsLog = await source.log.events();
const updated = await found(founderKey, new MemoryEventStore());
const posts: EventEnvelope[] = [];
for (let i = 0; i < CATCH_UP / 10; i++) posts.push(await updated.log.append('market.post.created', post(i)));
for (let i = 0; i < CATCH_UP - posts.length; i++) await updated.log.append('market.post.updated', { target_event_id: posts[i % posts.length].event_id, fields: { title: `Post ${i % posts.length}, update ${i}` } });
const updatesLog = await updated.log.events();
const openOptions = (store: EventStore, snapshots: boolean) => ({ store, keyPair: founderKey, communityId: rootKey.nodeId, clock: systemClock, nextId: ulidGenerator(systemClock), views: communityViews, snapshots });
/** The store as the port was before `keys`, `ofTypes` and snapshots: every open reads every event, twice. */
const plain = (store: EventStore): EventStore => ({ put: (e) => store.put(e), get: (id) => store.get(id), all: () => store.all(), after: (p) => store.after(p), head: () => store.head(), count: () => store.count() });
async function bestMs(fn: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let run = 0; run < OPEN_RUNS; run++) {
    const t = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}
async function openFigures(store: EventStore, logEvents: readonly EventEnvelope[]) {
  await store.put(logEvents);
  const community = await Community.open(openOptions(store, false));
  const t = performance.now();
  const snapshot = (await new Snapshotter({ engine: community.engine, store, keyPair: founderKey, communityId: rootKey.nodeId, clock: systemClock }).take())!;
  const takeMs = performance.now() - t;
  for (let i = 0; i < OPEN_TAIL; i++) await community.append('market.post.created', post(CATCH_UP + i));
  const opened = await Community.open(openOptions(store, true));
  if (opened.engine.applyCount !== OPEN_TAIL) throw new Error(`the snapshot was not used: ${opened.engine.applyCount} events applied at open`);
  if (canonicalJson(opened.engine.snapshotState()) !== canonicalJson(community.engine.snapshotState())) throw new Error('snapshot + tail differs from the live views');
  return {
    readAll: await bestMs(() => store.all()),
    before: await bestMs(() => Community.open(openOptions(plain(store), false))),
    full: await bestMs(() => Community.open(openOptions(store, false))),
    snapshot: await bestMs(() => Community.open(openOptions(store, true))),
    takeMs,
    bytes: snapshot.signed.length
  };
}
for (const [name, logEvents] of [['10 000 posts', postsLog], ['1 000 posts, 9 000 updates', updatesLog]] as const) {
  const openSqlite = SqliteEventStore.open(join(dir, `open-${logEvents.length}-${name.length}`), rootKey.nodeId);
  const inMemory = await openFigures(new MemoryEventStore(), logEvents);
  const inSqlite = await openFigures(openSqlite, logEvents);
  openSqlite.close();
  const openRows = (label: string, key: 'readAll' | 'before' | 'full' | 'snapshot') => [label, inMemory[key], inSqlite[key], inSqlite[key] / inSqlite.readAll];
  printTable(`Open a community of ${(logEvents.length + OPEN_TAIL).toLocaleString('en-US')} events (${name}), best of ${OPEN_RUNS}`, ['path', 'memory (ms)', 'SQLite (ms)', 'SQLite, × reading all'], [
    openRows('raw: read every event from the store (store.all)', 'readAll'),
    openRows('full replay, store port without keys/ofTypes (as before)', 'before'),
    openRows('full replay (snapshots: false)', 'full'),
    openRows(`snapshot + tail of ${OPEN_TAIL} (default)`, 'snapshot'),
    ['taking the snapshot (views, canonical JSON, sign, save)', inMemory.takeMs, inSqlite.takeMs, ''],
    ['snapshot size (bytes)', inMemory.bytes, inSqlite.bytes, '']
  ]);
}

sqlite.close();
rmSync(dir, { recursive: true, force: true });
