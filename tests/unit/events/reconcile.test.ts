import { describe, expect, it } from 'vitest';
import { Reconciler, eventKey, type RangeItem } from '../../../src/lib/events/index.js';
import { mulberry32 } from '../../../src/lib/transport/index.js';

/** Runs the exchange to the end; returns what each side learned it must fetch, and what crossed the wire. */
function reconcile(a: string[], b: string[]) {
  const sides = [new Reconciler(a), new Reconciler(b)];
  const wants: Set<string>[] = [new Set(), new Set()];
  const offers: Set<string>[] = [new Set(), new Set()];
  let items: RangeItem[] = sides[0].open();
  let turn = 1;
  let rounds = 0;
  let keysSent = items.reduce((n, i) => n + (i.kind === 'ids' ? i.keys.length : 1), 0);
  while (items.length > 0) {
    rounds++;
    if (rounds > 50) throw new Error('no convergence');
    const reply = sides[turn].respond(items);
    reply.want.forEach((k) => wants[turn].add(k));
    reply.offer.forEach((k) => offers[turn].add(k));
    items = reply.items;
    keysSent += items.reduce((n, i) => n + (i.kind === 'ids' ? i.keys.length : 1), 0);
    turn = 1 - turn;
  }
  return { aFetches: new Set([...wants[0], ...offers[1]]), bFetches: new Set([...wants[1], ...offers[0]]), rounds, keysSent };
}

function keys(rng: () => number, n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => eventKey(1 + Math.floor(rng() * n), `01HXR${tag}${String(i).padStart(21 - tag.length, '0')}`));
}

describe('range-based reconciliation (DESIGN §3.8)', () => {
  it('two sides end with exactly each other\'s missing keys, for many random splits', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rng = mulberry32(seed);
      const shared = keys(rng, Math.floor(rng() * 3000), 'S');
      const onlyA = keys(rng, Math.floor(rng() * 60), 'A');
      const onlyB = keys(rng, Math.floor(rng() * 60), 'B');
      const result = reconcile([...shared, ...onlyA], [...shared, ...onlyB]);
      expect([...result.aFetches].sort(), `seed ${seed}`).toEqual([...onlyB].sort());
      expect([...result.bFetches].sort(), `seed ${seed}`).toEqual([...onlyA].sort());
    }
  });

  it('identical logs settle in one answer; an empty side learns everything', () => {
    const rng = mulberry32(7);
    const all = keys(rng, 2000, 'S');
    const same = reconcile(all, [...all].reverse());
    expect(same).toMatchObject({ rounds: 1 });
    expect(same.aFetches.size + same.bFetches.size).toBe(0);
    const fresh = reconcile([], all);
    expect(fresh.aFetches.size).toBe(2000);
  });

  it('what crosses the wire grows with the difference, not the log', () => {
    const rng = mulberry32(11);
    const shared = keys(rng, 10_000, 'S');
    const small = reconcile([...shared, ...keys(rng, 5, 'A')], [...shared, ...keys(rng, 5, 'B')]);
    expect(small.aFetches.size).toBe(5);
    if (process.env.PRINT_RECONCILE) console.log(`10 000 shared + 5/5 differing: ${small.keysSent} keys or fingerprints sent, ${small.rounds} rounds`);
    // 10 differing keys among 10 000: a few hundred keys and fingerprints, in a handful of rounds.
    expect(small.keysSent).toBeLessThan(1000);
    expect(small.rounds).toBeLessThanOrEqual(8);
  });
});
