import { describe, expect, it } from 'vitest';
import type { CallerLevel } from '../../../src/lib/bus/index.js';
import { rfc3339 } from '../../../src/lib/core/index.js';
import type { EventEnvelope, EventType } from '../../../src/lib/events/index.js';
import { ReplayEngine, type MaterialisedView } from '../../../src/lib/events/view.js';
import { MAX_TTL_SECONDS, MarketView } from '../../../src/lib/market/index.js';
import { Community, DAY_MS, postData, type Standing } from './fixtures.js';

function viewOf(c: Community, events: readonly EventEnvelope[] = c.events): MarketView {
  const view = new MarketView(c.standing);
  for (const event of events) view.apply(event);
  return view;
}

/** Stands in for the community view: revocations in the log change standing from their place in replay order. */
class RevocationView implements MaterialisedView<string[]> {
  readonly name = 'community';
  readonly eventTypes: readonly EventType[] = ['community.member.revoked'];
  private revoked = new Set<string>();
  constructor(private readonly base: Standing) {}
  reset() {
    this.revoked = new Set();
  }
  apply(event: EventEnvelope) {
    this.revoked.add(event.data.target_node_id as string);
  }
  snapshotState() {
    return [...this.revoked].sort();
  }
  restoreState(state: string[]) {
    this.revoked = new Set(state);
  }
  levelOf = (nodeId: string): CallerLevel => (this.revoked.has(nodeId) ? 'revoked' : this.base.levelOf(nodeId));
}

describe('MarketView', () => {
  it('shows a post once its created event is applied (M06 §8 test_post_event_appears_in_view_after_apply)', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const view = new MarketView(c.standing);
    const created = await alice.emit('market.post.created', postData('a1', { category: 'request', title: 'Suche Wasserkanister, 20L', tags: ['wasser'], location: { lat: 51.5, lng: 6.2, label: 'Issum' } }));
    expect(view.list({}, c.time.now())).toEqual([]);
    view.apply(created);
    expect(view.list({}, c.time.now())).toEqual([
      {
        event_id: created.event_id,
        lamport: created.lamport,
        author: alice.id,
        category: 'request',
        title: 'Suche Wasserkanister, 20L',
        body: '',
        location: { lat: 51.5, lng: 6.2, label: 'Issum' },
        tags: ['wasser'],
        created_at: created.wall_clock,
        expires_at: rfc3339(Date.parse(created.wall_clock) + 86_400_000)
      }
    ]);
    expect(view.maxLamport).toBe(created.lamport);
    expect(view.get(created.event_id)?.expired_via_event_id).toBeNull();
  });

  it('V2: the first post per (author, client_id) wins; another author may reuse the client_id', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const bob = await c.author(2);
    const first = await alice.emit('market.post.created', postData('same', { title: 'first' }));
    await alice.emit('market.post.created', postData('same', { title: 'second' }));
    const bobs = await bob.emit('market.post.created', postData('same', { title: 'bob' }));
    const view = viewOf(c);
    expect(view.list({}, c.time.now()).map((p) => p.title)).toEqual(['bob', 'first']);
    expect(view.findByClientId(alice.id, 'same')?.event_id).toBe(first.event_id);
    expect(view.findByClientId(bob.id, 'same')?.event_id).toBe(bobs.event_id);
    expect(view.findByClientId(alice.id, 'other')).toBeUndefined();
  });

  it('V1: events by unknown or revoked authors are ignored; a revocation counts from its place in the log on', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const stranger = await c.author(2, 'none');
    const mallory = await c.author(3, 'revoked');
    const eve = await c.author(4);
    await stranger.emit('market.post.created', postData('s'));
    await mallory.emit('market.post.created', postData('m'));
    const before = await eve.emit('market.post.created', postData('e1', { title: 'before' }));
    await alice.emit('community.member.revoked', { target_node_id: eve.id, reason: 'spam' });
    await eve.emit('market.post.created', postData('e2', { title: 'after' }));
    await eve.emit('market.post.expired', { client_id: 'x', target_event_id: before.event_id, reason: 'withdrawn' });

    const community = new RevocationView(c.standing);
    const market = new MarketView(community);
    const engine = new ReplayEngine();
    engine.register(community);
    engine.register(market);
    engine.rebuild(c.events);
    expect(market.list({}, c.time.now()).map((p) => p.title)).toEqual(['before']);
    expect(market.get(before.event_id)?.expired_via_event_id).toBeNull();
  });

  it('V3: the author\'s updates apply, the last in replay order wins; others\' updates and other fields are ignored', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const bob = await c.author(2, 'anchor');
    const post = await alice.emit('market.post.created', postData('a1', { title: 'Fahrrad', tags: ['rad'] }));
    const target = post.event_id;
    await alice.emit('market.post.updated', { client_id: 'u1', target_event_id: target, fields: { title: 'Fahrrad, blau', tags: ['Rad ', 'Blau'] } });
    await alice.emit('market.post.updated', { client_id: 'u2', target_event_id: target, fields: { body: 'Nur abholen' } });
    await bob.emit('market.post.updated', { client_id: 'u3', target_event_id: target, fields: { title: 'hijacked' } });
    await alice.emit('market.post.updated', { client_id: 'u4', target_event_id: target, fields: { ttl_seconds: MAX_TTL_SECONDS } });
    await alice.emit('market.post.updated', { client_id: 'u5', target_event_id: target, fields: { title: '' } });
    const view = viewOf(c);
    expect(view.get(target)).toMatchObject({ title: 'Fahrrad, blau', body: 'Nur abholen', tags: ['rad', 'blau'] });
    expect(view.get(target)?.expires_at).toBe(rfc3339(Date.parse(post.wall_clock) + 86_400_000));

    await alice.emit('market.post.expired', { client_id: 'x', target_event_id: target, reason: 'fulfilled' });
    await alice.emit('market.post.updated', { client_id: 'u6', target_event_id: target, fields: { title: 'after the end' } });
    expect(viewOf(c).get(target)?.title).toBe('Fahrrad, blau');
  });

  it('V4: the author may expire for any reason; trusted members only as stale; plain members never; the first expiry stays', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const moderator = await c.author(2, 'trusted');
    const neighbour = await c.author(3);
    const p1 = await alice.emit('market.post.created', postData('p1'));
    const p2 = await alice.emit('market.post.created', postData('p2'));
    const p3 = await alice.emit('market.post.created', postData('p3'));
    await neighbour.emit('market.post.expired', { client_id: 'n', target_event_id: p1.event_id, reason: 'stale' });
    await moderator.emit('market.post.expired', { client_id: 'm1', target_event_id: p1.event_id, reason: 'withdrawn' });
    await moderator.emit('market.post.expired', { client_id: 'm2', target_event_id: p1.event_id, reason: 'user_request' });
    const stale = await moderator.emit('market.post.expired', { client_id: 'm3', target_event_id: p2.event_id, reason: 'stale' });
    const own = await alice.emit('market.post.expired', { client_id: 'a', target_event_id: p3.event_id, reason: 'fulfilled' });
    await alice.emit('market.post.expired', { client_id: 'b', target_event_id: p3.event_id, reason: 'withdrawn' });
    await alice.emit('market.post.expired', { client_id: 'c', target_event_id: 'no-such-post', reason: 'withdrawn' });
    await alice.emit('market.post.expired', { client_id: 'd', target_event_id: p1.event_id, reason: 'bored' });
    const view = viewOf(c);
    expect(view.list({}, c.time.now()).map((p) => p.event_id)).toEqual([p1.event_id]);
    expect(view.get(p2.event_id)).toMatchObject({ expired_via_event_id: stale.event_id, expiry_reason: 'stale' });
    expect(view.get(p3.event_id)).toMatchObject({ expired_via_event_id: own.event_id, expired_lamport: own.lamport, expiry_reason: 'fulfilled' });
  });

  it('V5: leaves out posts past expires_at, and offers them to the sweeper until an event ends them', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const short = await alice.emit('market.post.created', postData('short', { ttl_seconds: 3600 }));
    await alice.emit('market.post.created', postData('long', { ttl_seconds: 7200 }));
    const view = viewOf(c);
    expect(view.dueForSweep(c.time.now())).toEqual([]);
    const later = c.time.now() + 3600_000 + 1000;
    expect(view.list({}, later).map((p) => p.title)).toEqual(['Post long']);
    expect(view.dueForSweep(later).map((p) => p.event_id)).toEqual([short.event_id]);
    view.apply(await alice.emit('market.post.expired', { client_id: 'x', target_event_id: short.event_id, reason: 'stale' }));
    expect(view.dueForSweep(later)).toEqual([]);
  });

  it('lists newest first, filtered by category, every tag (case-folded) and since_lamport, limited', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const a = await alice.emit('market.post.created', postData('a', { category: 'offer', tags: ['wasser', 'notfall'] }));
    const b = await alice.emit('market.post.created', postData('b', { category: 'request', tags: ['wasser'] }));
    const d = await alice.emit('market.post.created', postData('d', { category: 'offer', tags: ['strom'] }));
    const view = viewOf(c);
    const now = c.time.now();
    const ids = (posts: { event_id: string }[]) => posts.map((p) => p.event_id);
    expect(ids(view.list({}, now))).toEqual([d.event_id, b.event_id, a.event_id]);
    expect(ids(view.list({ category: 'offer' }, now))).toEqual([d.event_id, a.event_id]);
    expect(ids(view.list({ tags: ['Wasser'] }, now))).toEqual([b.event_id, a.event_id]);
    expect(ids(view.list({ tags: ['wasser', 'notfall'] }, now))).toEqual([a.event_id]);
    expect(ids(view.list({ since_lamport: a.lamport }, now))).toEqual([d.event_id, b.event_id]);
    expect(ids(view.list({ limit: 1 }, now))).toEqual([d.event_id]);
    // An update moves a post past since_lamport without changing its place in the order.
    await alice.emit('market.post.updated', { client_id: 'u', target_event_id: a.event_id, fields: { body: 'neu' } });
    expect(ids(viewOf(c).list({ since_lamport: d.lamport }, now))).toEqual([a.event_id]);
  });

  it('ignores malformed or out-of-bounds peer data without throwing', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const bad: Record<string, unknown>[] = [
      { ...postData('1'), title: 'x'.repeat(121) },
      { ...postData('2'), ttl_seconds: MAX_TTL_SECONDS + 1 },
      { ...postData('3'), category: 'spam' },
      { ...postData('4'), location: { lat: 91, lng: 0, label: '' } },
      { ...postData('5'), tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      { ...postData('6'), body: 'x'.repeat(4001) },
      { category: 'offer', title: 'no client id' },
      { ...postData('7'), tags: 'wasser' }
    ];
    for (const data of bad) await alice.emit('market.post.created', data);
    await alice.emit('market.post.updated', { target_event_id: 42, fields: null });
    await alice.emit('market.post.expired', { target_event_id: null });
    const view = viewOf(c);
    expect(view.list({}, c.time.now())).toEqual([]);
    expect(view.snapshotState().posts).toEqual([]);
  });

  it('snapshot → restore gives an equal state and equal answers (M06 §8 test_replay_then_snapshot_then_restore_equal_state)', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const bob = await c.author(2, 'trusted');
    const p = await alice.emit('market.post.created', postData('a', { title: 'Äpfel', tags: ['obst'], location: { lat: 1.5, lng: 2.25, label: 'Hof' } }));
    await bob.emit('market.post.created', postData('b'));
    await alice.emit('market.post.updated', { client_id: 'u', target_event_id: p.event_id, fields: { body: 'frisch' } });
    await bob.emit('market.post.expired', { client_id: 'x', target_event_id: p.event_id, reason: 'stale' });
    await alice.emit('market.post.created', postData('c'));
    const original = viewOf(c);
    const state = JSON.parse(JSON.stringify(original.snapshotState()));
    const restored = new MarketView(c.standing);
    restored.restoreState(state);
    expect(restored.snapshotState()).toEqual(original.snapshotState());
    expect(restored.maxLamport).toBe(original.maxLamport);
    expect(restored.list({}, c.time.now())).toEqual(original.list({}, c.time.now()));
    expect(restored.findByClientId(alice.id, 'c')).toEqual(original.findByClientId(alice.id, 'c'));
    // Restored, it carries on like the original.
    const next = await alice.emit('market.post.created', postData('d'));
    original.apply(next);
    restored.apply(next);
    expect(restored.snapshotState()).toEqual(original.snapshotState());
    expect(() => restored.restoreState({ version: 2 } as never)).toThrow(/version 1/);
  });
});
