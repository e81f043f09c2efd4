/**
 * Snapshots (X02 §3.5, §5.4; contract §7.5): a community reopened over its store restores this node's latest
 * snapshot and applies only the events after it, ending exactly where a full replay ends; a snapshot that is not
 * ours, not this community's, tampered with, or missing an event that sorts before its position is not used.
 */
import { describe, expect, it, vi } from 'vitest';
import { keyPairFromSeed, ulidGenerator, verifyPayload, type KeyPair } from '../../../src/lib/core/index.js';
import { Community, type CommunityOptions } from '../../../src/lib/community/index.js';
import {
  MemoryEventStore,
  SNAPSHOT_EVERY_EVENTS,
  Snapshotter,
  openSnapshot,
  signSnapshot,
  type EventEnvelope,
  type EventStore,
  type StoredSnapshot
} from '../../../src/lib/events/index.js';
import { communityViews } from '../../../src/lib/node/index.js';

const START_MS = Date.UTC(2026, 0, 1);

interface World {
  founder: Community;
  member: Community;
  founderKey: KeyPair;
  memberKey: KeyPair;
  store: MemoryEventStore;
  clock: { now(): number; ms: number };
  communityId: string;
  /** Opens the founder's community again over its store. */
  reopen(extra?: Partial<CommunityOptions>): Promise<Community>;
}

function post(i: number): Record<string, unknown> {
  return { client_id: `c${i}`, category: i % 2 ? 'offer' : 'request', title: `Post ${i}`, body: 'spare water canisters', tags: ['water'], location: null, ttl_seconds: 86_400 };
}

/** A founder and a member who joined and was promoted, with no posts yet; the member's store is its own. */
async function world(): Promise<World> {
  const clock = { ms: START_MS, now: () => clock.ms };
  const founderKey = await keyPairFromSeed(new Uint8Array(32).fill(1));
  const memberKey = await keyPairFromSeed(new Uint8Array(32).fill(2));
  const rootKey = await keyPairFromSeed(new Uint8Array(32).fill(3));
  const store = new MemoryEventStore();
  const common = { clock, nextId: ulidGenerator(clock), views: communityViews };
  const founder = await Community.found({ name: 'Snap', displayName: 'founder', rootKey }, { ...common, keyPair: founderKey, storeFor: () => store });
  const communityId = founder.communityId;
  const member = await Community.open({ ...common, store: new MemoryEventStore(), keyPair: memberKey, communityId });
  const { event } = await founder.invite({ inviteeNodeId: memberKey.nodeId });
  await member.ingest(await founder.log.events());
  await member.redeem(event.event_id, null, { display_name: 'member' });
  await founder.ingest(await member.log.events());
  await founder.promote(memberKey.nodeId, 'trusted');
  await member.ingest(await founder.log.events());
  const reopen = (extra: Partial<CommunityOptions> = {}) => Community.open({ ...common, store, keyPair: founderKey, communityId, ...extra });
  return { founder, member, founderKey, memberKey, store, clock, communityId, reopen };
}

/** `n` marketplace events by `community`: posts, with an update every 7th and an expiry every 11th. */
async function market(community: Community, n: number, from = 0): Promise<EventEnvelope[]> {
  const written: EventEnvelope[] = [];
  const created: EventEnvelope[] = [];
  for (let i = from; i < from + n; i++) {
    if (i % 7 === 6 && created.length > 0) {
      written.push(await community.append('market.post.updated', { target_event_id: created[created.length - 1].event_id, fields: { title: `Post ${i} (updated)` } }));
    } else if (i % 11 === 10 && created.length > 0) {
      written.push(await community.append('market.post.expired', { target_event_id: created.shift()!.event_id, reason: 'fulfilled' }));
    } else {
      created.push(await community.append('market.post.created', post(i)));
      written.push(created[created.length - 1]);
    }
  }
  return written;
}

function snapshotterOf(w: World, community: Community, store: EventStore = w.store, keyPair = w.founderKey): Snapshotter {
  return new Snapshotter({ engine: community.engine, store, keyPair, communityId: w.communityId, clock: w.clock });
}

/** The state a full replay of the founder's store gives, with no snapshot. */
async function fullReplay(w: World): Promise<Record<string, unknown>> {
  return (await w.reopen({ snapshots: false })).engine.snapshotState();
}

describe('snapshots (E5, X02 §5.4)', () => {
  it('a reopened community restores its latest snapshot and applies only the tail, ending where a full replay ends', async () => {
    const w = await world();
    await market(w.founder, 120);
    await market(w.member, 30, 1000);
    await w.founder.ingest(await w.member.log.events());
    const taken = await snapshotterOf(w, w.founder).take();
    expect(taken).toMatchObject({ lamport: w.founder.engine.applied!.lamport, event_id: w.founder.engine.applied!.event_id, events: await w.store.count() });
    const tail = await market(w.founder, 15, 500);

    const reopened = await w.reopen();
    expect(reopened.engine.applyCount).toBe(tail.length);
    expect(reopened.engine.rebuildCount).toBe(0);
    expect(reopened.engine.coveredCount).toBe(await w.store.count());
    expect(reopened.engine.applied).toMatchObject({ lamport: tail[tail.length - 1].lamport, event_id: tail[tail.length - 1].event_id });
    expect(reopened.engine.snapshotState()).toEqual(await fullReplay(w));
    expect(reopened.engine.snapshotState()).toEqual(w.founder.engine.snapshotState());
    // The views work on from there: new events land incrementally, as after a full replay.
    await reopened.append('market.post.created', post(9999));
    expect(reopened.engine.applyCount).toBe(tail.length + 1);
    expect(reopened.engine.snapshotState()).toEqual(await fullReplay(w));
    // And the gate still knows every author: the member's events are admitted.
    const later = await market(w.member, 3, 2000);
    expect((await reopened.ingest(later)).accepted).toHaveLength(3);
  });

  it("is contract §7.5's object, signed by the node that took it (W2)", async () => {
    const w = await world();
    await market(w.founder, 10);
    const stored = (await snapshotterOf(w, w.founder).take())!;
    const check = await openSnapshot(stored, w.founderKey.nodeId, w.communityId);
    if (!check.ok) throw new Error(check.reason);
    const { snapshot } = check;
    expect(Object.keys(snapshot).sort()).toEqual(['community_id', 'covers_events_up_to', 'event_id', 'events', 'lamport', 'schema_version', 'signature', 'state', 'wall_clock']);
    expect(snapshot).toMatchObject({ schema_version: 1, community_id: w.communityId, covers_events_up_to: snapshot.lamport, wall_clock: '2026-01-01T00:00:00Z' });
    expect(snapshot.state).toEqual(w.founder.engine.snapshotState());
    expect(await verifyPayload(snapshot, w.founderKey.nodeId)).toBe(true);
    expect(await verifyPayload(snapshot, w.memberKey.nodeId)).toBe(false);
  });

  it('ignores, with a log line, a snapshot that was tampered with, is not ours, is of another community or lacks a view, and replays in full', async () => {
    const w = await world();
    await market(w.founder, 40);
    const genuine = (await snapshotterOf(w, w.founder).take())!;
    const total = await w.store.count();
    const expected = await fullReplay(w);
    const position = { lamport: genuine.lamport, event_id: genuine.event_id };
    const state = w.founder.engine.snapshotState();
    const fields = { communityId: w.communityId, position, events: total, wallClockMs: w.clock.now(), state };
    const cases: [string, StoredSnapshot, RegExp][] = [
      ['tampered', { ...genuine, signed: genuine.signed.replace('Post 3', 'Post 4') }, /signature is not ours/],
      ['signed by another node', await signSnapshot(w.memberKey, fields), /signature is not ours/],
      ['of another community', await signSnapshot(w.founderKey, { ...fields, communityId: w.memberKey.nodeId }), /another community/],
      ['index disagreeing with the signed text', { ...genuine, events: genuine.events - 1 }, /malformed/],
      ['without the market view', await signSnapshot(w.founderKey, { ...fields, state: { community: state.community } }), /no state for the market view/]
    ];
    for (const [name, snapshot, reason] of cases) {
      await w.store.saveSnapshot(snapshot);
      const lines: string[] = [];
      const reopened = await w.reopen({ log: (_level, message) => lines.push(message) });
      expect(reopened.engine.applyCount, name).toBe(total);
      expect(reopened.engine.snapshotState(), name).toEqual(expected);
      expect(lines.join('\n'), name).toMatch(reason);
    }
    // The genuine one, put back, is used again.
    await w.store.saveSnapshot(genuine);
    expect((await w.reopen()).engine.applyCount).toBe(0);
  });

  it('after a restore, an event that sorts before the snapshot makes the views replay everything, correctly; the stale snapshot is then not used', async () => {
    const w = await world();
    // The member writes while cut off: its events carry Lamport values below the founder's later ones.
    const offline = await market(w.member, 8, 3000);
    await market(w.founder, 60);
    await snapshotterOf(w, w.founder).take();
    const reopened = await w.reopen();
    expect(reopened.engine.applyCount).toBe(0);
    const position = reopened.engine.applied!;
    expect(offline.every((event) => event.lamport < position.lamport)).toBe(true);

    const result = await reopened.ingest(offline);
    expect(result.accepted).toHaveLength(offline.length);
    expect(reopened.engine.rebuildCount).toBe(1);
    expect(reopened.engine.coveredCount).toBe(await w.store.count());
    const expected = await fullReplay(w);
    expect(reopened.engine.snapshotState()).toEqual(expected);
    expect(JSON.stringify(expected)).toContain('Post 3000');

    // The snapshot on disk does not cover the member's events although they sort before it: not used.
    const lines: string[] = [];
    const again = await w.reopen({ log: (_level, message) => lines.push(message) });
    expect(again.engine.applyCount).toBe(await w.store.count());
    expect(again.engine.snapshotState()).toEqual(expected);
    expect(lines.join('\n')).toMatch(/events are stored up to its position/);
  });

  it(`a community takes a snapshot by itself once ${SNAPSHOT_EVERY_EVENTS} events went through its views`, async () => {
    const w = await world();
    const before = await w.store.count();
    await market(w.founder, SNAPSHOT_EVERY_EVENTS - before - 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await w.store.latestSnapshot()).toBeUndefined();
    await market(w.founder, 1, 5000);
    await vi.waitFor(async () => expect(await w.store.latestSnapshot()).toMatchObject({ events: SNAPSHOT_EVERY_EVENTS }));
    const tail = await market(w.founder, 5, 6000);
    const reopened = await w.reopen();
    expect(reopened.engine.applyCount).toBe(tail.length);
    expect(reopened.engine.snapshotState()).toEqual(await fullReplay(w));
  }, 60_000);

  it('the policy: every N applied events, at most once per interval; a replay counts', async () => {
    const w = await world();
    const community = await w.reopen({ snapshots: false });
    const snapshotter = new Snapshotter({ engine: community.engine, store: w.store, keyPair: w.founderKey, communityId: w.communityId, clock: w.clock, everyEvents: 10, minIntervalMs: 60_000 });
    const replayedAtOpen = community.engine.applyCount; // in no snapshot yet, but fewer than 10
    expect(replayedAtOpen).toBeLessThan(10);
    const stop = snapshotter.start();
    const latest = async () => (await w.store.latestSnapshot())?.events ?? 0;
    const flush = () => new Promise((resolve) => setTimeout(resolve, 10));
    await market(community, 9 - replayedAtOpen);
    await flush();
    expect(await latest()).toBe(0);
    await market(community, 1, 50);
    await flush();
    const first = await latest();
    expect(first).toBe(await w.store.count());
    await market(community, 10, 100);
    await flush();
    expect(await latest()).toBe(first); // due by count, not by time
    w.clock.ms += 60_000;
    await market(community, 1, 200);
    await flush();
    expect(await latest()).toBe(await w.store.count());
    stop();
  });
});
