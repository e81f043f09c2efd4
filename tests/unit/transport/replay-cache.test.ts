import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../../src/lib/transport/index.js';
import { ManualClock, T0 } from './fixtures.js';

describe('replay cache (P4)', () => {
  it('P4: holds an id for twice the timestamp window, then forgets it', () => {
    const clock = new ManualClock();
    const cache = new ReplayCache({ clock });
    expect(cache.check('alice', 'r1')).toEqual({ kind: 'fresh' });
    clock.ms = T0 + 119_999;
    expect(cache.check('alice', 'r1')).toEqual({ kind: 'replayed' });
    clock.ms = T0 + 120_000;
    expect(cache.check('alice', 'r1')).toEqual({ kind: 'fresh' });
  });

  it('P4: keys ids by sender', () => {
    const cache = new ReplayCache({ clock: new ManualClock() });
    expect(cache.check('alice', 'r1').kind).toBe('fresh');
    expect(cache.check('bob', 'r1').kind).toBe('fresh');
    expect(cache.check('alice', 'r1').kind).toBe('replayed');
  });

  it('P4: stays bounded, refusing new ids when full instead of forgetting live ones', () => {
    const clock = new ManualClock();
    const cache = new ReplayCache({ clock, maxEntries: 3 });
    for (const id of ['a', 'b', 'c']) expect(cache.check('alice', id).kind).toBe('fresh');
    clock.ms = T0 + 1_000;
    expect(cache.check('alice', 'd')).toEqual({ kind: 'full', retryAfterMs: 119_000 });
    expect(cache.check('alice', 'a').kind).toBe('replayed');
    clock.ms = T0 + 120_000;
    expect(cache.check('alice', 'd').kind).toBe('fresh');
    expect(cache.size).toBe(1);
  });

  it('P4: evicts in expiry order even when an id is re-recorded after it lapsed', () => {
    const clock = new ManualClock();
    const cache = new ReplayCache({ clock });
    cache.check('alice', 'a');
    clock.ms = T0 + 60_000;
    cache.check('alice', 'b');
    clock.ms = T0 + 130_000; // a lapsed, b still held
    expect(cache.check('alice', 'a').kind).toBe('fresh');
    expect(cache.check('alice', 'b').kind).toBe('replayed');
    clock.ms = T0 + 185_000; // b lapsed, the new a still held
    expect(cache.check('alice', 'c').kind).toBe('fresh');
    expect(cache.check('alice', 'a').kind).toBe('replayed');
    expect(cache.check('alice', 'b').kind).toBe('fresh');
  });
});
