import { describe, expect, it, vi } from 'vitest';
import { FOREIGN_SWEEP_GRACE_MS, SWEEP_PERIOD_MS } from '../../../src/lib/market/index.js';
import { Community, postData } from './fixtures.js';
import { marketNode, postInput } from './service-fixtures.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';

// The sweeper signs when its timer fires: crypto must finish before virtual time moves on.
useOrderedWebCrypto();

const HOUR_MS = 3600_000;

describe('MarketSweeper (M06 §4.2)', () => {
  it('appends a stale expiry for its own due post once a minute, once (M06 §8 test_auto_expire_appends_event_with_stale_reason)', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    const post = (await node.call('market.post', postInput('p', { ttl_seconds: 3600 }))).output as { event_id: string };
    node.sweeper.start();
    await c.time.advance(HOUR_MS - SWEEP_PERIOD_MS);
    expect(await node.me.log.events()).toHaveLength(1);
    await c.time.advance(2 * SWEEP_PERIOD_MS);
    await vi.waitFor(() => expect(node.view.get(post.event_id)?.expiry_reason).toBe('stale'));
    const expiries = (await node.me.log.events()).filter((e) => e.event_type === 'market.post.expired');
    expect(expiries).toMatchObject([{ author: node.me.id, data: { target_event_id: post.event_id, reason: 'stale' } }]);
    await c.time.advance(5 * SWEEP_PERIOD_MS);
    expect((await node.me.log.events()).filter((e) => e.event_type === 'market.post.expired')).toHaveLength(1);
    node.sweeper.stop();
    expect(c.time.pendingTimers).toBe(0);
  });

  it('sweeps others\' posts only when trusted or anchor, and only after the grace period', async () => {
    const c = new Community();
    const alice = await c.author(1);
    const moderator = await marketNode(c, 2, 'anchor');
    const neighbour = await marketNode(c, 3);
    const post = await alice.emit('market.post.created', postData('a', { ttl_seconds: 3600 }));
    await c.time.advance(HOUR_MS + 1000);
    expect(await neighbour.sweeper.sweep()).toEqual([]);
    expect(await moderator.sweeper.sweep()).toEqual([]); // within the author's grace
    await c.time.advance(FOREIGN_SWEEP_GRACE_MS);
    expect(await neighbour.sweeper.sweep()).toEqual([]);
    const swept = await moderator.sweeper.sweep();
    expect(swept).toMatchObject([{ author: moderator.me.id, event_type: 'market.post.expired', data: { target_event_id: post.event_id, reason: 'stale' } }]);
    expect(moderator.view.get(post.event_id)?.expired_via_event_id).toBe(swept[0].event_id);
    expect(await moderator.sweeper.sweep()).toEqual([]);
  });

  it('does nothing while this node is not a member', async () => {
    const c = new Community();
    const node = await marketNode(c, 1);
    await node.call('market.post', postInput('p', { ttl_seconds: 60 }));
    c.standing.set(node.me.id, 'revoked');
    await c.time.advance(HOUR_MS);
    expect(await node.sweeper.sweep()).toEqual([]);
  });
});
