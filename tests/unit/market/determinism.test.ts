/**
 * The view is a function of the set of events, whatever order they arrive in (X02 §3.4): many seeded arrival
 * orders, replayed whole or fed in batches (which forces rebuilds when one lands in the past), end in one state.
 */
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../../src/lib/events/index.js';
import { ReplayEngine } from '../../../src/lib/events/view.js';
import { MarketView } from '../../../src/lib/market/index.js';
import { Community, postData, shuffled, type Author } from './fixtures.js';

/** A busy stretch of market life: concurrent posts, duplicates, updates, rival expiries, a few invalid events. */
async function workload(): Promise<Community> {
  const c = new Community();
  const authors: Author[] = [await c.author(1), await c.author(2, 'trusted'), await c.author(3), await c.author(4, 'anchor')];
  const posts: EventEnvelope[] = [];
  for (let round = 0; round < 4; round++) {
    c.connected = round % 2 === 0; // odd rounds: nobody hears anybody, so Lamport values collide
    for (const [i, a] of authors.entries()) {
      posts.push(await a.emit('market.post.created', postData(`r${round}-${i}`, { title: `Runde ${round} von ${i}`, tags: [`t${i}`] })));
      await a.emit('market.post.created', postData(`r${round}-${i}`, { title: 'duplicate client id' }));
    }
    for (const [i, a] of authors.entries()) {
      const target = posts[(round * 3 + i) % posts.length];
      await a.emit('market.post.updated', { client_id: `u${round}${i}`, target_event_id: target.event_id, fields: { body: `von ${i} in ${round}` } });
      const reason = (['stale', 'withdrawn', 'fulfilled', 'stale'] as const)[(round + i) % 4];
      await a.emit('market.post.expired', { client_id: `x${round}${i}`, target_event_id: posts[(round * 5 + i * 2) % posts.length].event_id, reason });
    }
  }
  await authors[0].emit('market.post.created', { client_id: 'bad', title: '' });
  return c;
}

function engineWithView(c: Community): { engine: ReplayEngine; view: MarketView } {
  const view = new MarketView(c.standing);
  const engine = new ReplayEngine();
  engine.register(view);
  return { engine, view };
}

describe('MarketView order independence', () => {
  it('replays any arrival order to the same state', async () => {
    const c = await workload();
    const reference = engineWithView(c);
    reference.engine.rebuild(c.events);
    const expected = reference.view.snapshotState();
    expect(expected.posts.length).toBeGreaterThan(10);
    expect(expected.posts.some((p) => p.expired_via_event_id !== null)).toBe(true);
    expect(expected.posts.some((p) => p.body !== '')).toBe(true);

    for (let seed = 1; seed <= 50; seed++) {
      const { engine, view } = engineWithView(c);
      engine.rebuild(shuffled(c.events, seed));
      expect(view.snapshotState(), `seed ${seed}`).toEqual(expected);
    }
  });

  it('reaches the same state when events arrive in shuffled batches', async () => {
    const c = await workload();
    const reference = engineWithView(c);
    reference.engine.rebuild(c.events);
    const expected = reference.view.snapshotState();

    for (let seed = 1; seed <= 25; seed++) {
      const { engine, view } = engineWithView(c);
      const arrival = shuffled(c.events, seed);
      const stored: EventEnvelope[] = [];
      for (let i = 0; i < arrival.length; ) {
        const batch = arrival.slice(i, i + 1 + ((seed * 7 + i) % 5));
        i += batch.length;
        stored.push(...batch);
        await engine.added(batch, async () => [...stored]);
      }
      expect(view.snapshotState(), `seed ${seed}`).toEqual(expected);
    }
  });
});
