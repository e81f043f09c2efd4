import { describe, expect, it } from 'vitest';
import { DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS } from '../../../src/lib/market/index.js';
import { Community, postData } from './fixtures.js';
import { marketNode, postInput } from './service-fixtures.js';

const output = (result: Record<string, unknown>) => result.output as Record<string, unknown>;

describe('market.post', () => {
  it('appends a created event signed by this node, with defaults filled in, and the view shows it', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    const result = await node.call('market.post', postInput('c1', { title: '  Suche Leiter ', tags: ['Werkzeug'] }));
    const events = await node.me.log.events();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ author: node.me.id, event_type: 'market.post.created' });
    expect(events[0].data).toEqual({ client_id: 'c1', category: 'offer', title: 'Suche Leiter', body: '', tags: ['werkzeug'], ttl_seconds: DEFAULT_TTL_SECONDS });
    expect(output(result)).toEqual({ event_id: events[0].event_id, lamport: events[0].lamport });
    expect(node.view.list({}, c.time.now()).map((p) => p.title)).toEqual(['Suche Leiter']);
  });

  it('is idempotent on client_id, sequentially and when calls overlap (M06 §8 test_post_is_idempotent_on_client_id)', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    const first = output(await node.call('market.post', postInput('same')));
    const again = output(await node.call('market.post', postInput('same', { title: 'changed my mind' })));
    expect(again).toEqual(first);
    const overlapping = await Promise.all([1, 2, 3].map(() => node.call('market.post', postInput('burst'))));
    expect(new Set(overlapping.map((r) => output(r).event_id)).size).toBe(1);
    expect((await node.me.log.events()).map((e) => e.data.client_id)).toEqual(['same', 'burst']);
  });

  it('refuses out-of-bounds input with bad_request naming the field', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ttl_seconds: MAX_TTL_SECONDS + 1 }, /input\.ttl_seconds.*30 days/],
      [{ ttl_seconds: 0 }, /input\.ttl_seconds/],
      [{ ttl_seconds: 1.5 }, /input\.ttl_seconds/],
      [{ title: '   ' }, /input\.title must be 1 to 120/],
      [{ title: 'x'.repeat(121) }, /input\.title/],
      [{ body: 'x'.repeat(4001) }, /input\.body.*4000/],
      [{ tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }, /input\.tags has 11 tags/],
      [{ tags: ['x'.repeat(33)] }, /input\.tags\[0\]/],
      [{ category: 'sale' }, /input\.category must be one of offer, request, info, emergency/],
      [{ location: { lat: 91, lng: 0, label: 'Nordpol+' } }, /input\.location\.lat/],
      [{ location: { lat: 0, lng: -181, label: '' } }, /input\.location\.lng/],
      [{ client_id: '' }, /input\.client_id/]
    ];
    for (const [extra, message] of cases) {
      const error = await node.refusal('market.post', postInput('c', extra));
      expect(error.code, JSON.stringify(extra)).toBe('bad_request');
      expect(error.message).toMatch(message);
    }
    expect(await node.me.log.events()).toEqual([]);
    await node.call('market.post', postInput('max', { ttl_seconds: MAX_TTL_SECONDS }));
  });

  it('refuses while this node is not, or no longer, a member: its events would count nowhere', async () => {
    const c = new Community();
    const node = await marketNode(c, 1, 'none');
    expect((await node.refusal('market.post', postInput('a'))).code).toBe('unauthorized');
    c.standing.set(node.me.id, 'revoked');
    expect((await node.refusal('market.post', postInput('a'))).code).toBe('revoked');
  });
});

describe('market.expire', () => {
  it('lets the author expire, answers a repeat with the same expiry, and lists no more', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    const post = output(await node.call('market.post', postInput('p')));
    const [first, overlapping] = await Promise.all([
      node.call('market.expire', { client_id: 'x1', event_id: post.event_id, reason: 'fulfilled' }),
      node.call('market.expire', { client_id: 'x2', event_id: post.event_id, reason: 'fulfilled' })
    ]);
    const later = await node.call('market.expire', { client_id: 'x3', event_id: post.event_id, reason: 'withdrawn' });
    expect(output(overlapping)).toEqual(output(first));
    expect(output(later)).toEqual(output(first));
    expect((await node.me.log.events()).filter((e) => e.event_type === 'market.post.expired')).toHaveLength(1);
    expect(node.view.list({}, c.time.now())).toEqual([]);
  });

  it('rejects a plain member expiring someone else\'s post (M06 §8 test_expire_unauthorized_caller_rejected)', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const neighbour = await marketNode(c, 2);
    const post = await alice.emit('market.post.created', postData('a'));
    for (const reason of ['fulfilled', 'withdrawn', 'user_request', 'stale']) {
      const error = await neighbour.refusal('market.expire', { client_id: 'x', event_id: post.event_id, reason });
      expect(error.code).toBe('unauthorized');
    }
    expect((await neighbour.me.log.events()).filter((e) => e.author === neighbour.me.id)).toEqual([]);
    expect((await neighbour.refusal('market.expire', { event_id: 'nope', reason: 'stale' })).code).toBe('not_found');
    expect((await neighbour.refusal('market.expire', { event_id: post.event_id, reason: 'bored' })).message).toMatch(/input\.reason/);
  });

  it('lets a trusted member expire someone else\'s post as stale, and only as stale', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const moderator = await marketNode(c, 2, 'trusted');
    const post = await alice.emit('market.post.created', postData('a'));
    expect((await moderator.refusal('market.expire', { event_id: post.event_id, reason: 'withdrawn' })).code).toBe('unauthorized');
    const result = output(await moderator.call('market.expire', { client_id: 'm', event_id: post.event_id, reason: 'stale' }));
    expect(moderator.view.get(post.event_id)).toMatchObject({ expired_via_event_id: result.event_id, expiry_reason: 'stale' });
  });
});

describe('market.list and market.search', () => {
  it('answer with posts and max_lamport, and refuse bad filters with bad_request', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    await node.call('market.post', postInput('a', { title: 'Wasserkanister', tags: ['wasser'] }));
    const b = output(await node.call('market.post', postInput('b', { category: 'request', title: 'Brot' })));
    const listed = output(await node.call('market.list', { category: 'request' }));
    expect(listed).toMatchObject({ max_lamport: b.lamport, posts: [{ event_id: b.event_id, title: 'Brot' }] });
    const found = await node.call('market.search', { query: 'wasser', k: 5 });
    expect(found).toMatchObject({ output: { posts: [{ title: 'Wasserkanister', score: expect.any(Number) }] }, meta: { mode: 'lexical' } });
    for (const [name, input, field] of [
      ['market.list', { limit: 501 }, 'input.limit'],
      ['market.list', { limit: 0 }, 'input.limit'],
      ['market.list', { category: 'sale' }, 'input.category'],
      ['market.list', { since_lamport: -1 }, 'input.since_lamport'],
      ['market.list', { tags: [''] }, 'input.tags[0]'],
      ['market.search', { query: ' ' }, 'input.query'],
      ['market.search', { query: 'x', k: 101 }, 'input.k']
    ] as const) {
      const error = await node.refusal(name, input);
      expect([error.code, error.message.includes(field)], `${name} ${JSON.stringify(input)}`).toEqual(['bad_request', true]);
    }
  });
});
