/** ULIDs for event and request ids: monotonic within a millisecond, time from the injected clock. */
import { monotonicFactory } from 'ulid';
import type { Clock } from './time.js';

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export type UlidGenerator = () => string;

/**
 * Random bytes drawn 256 at a time. The ulid package's default PRNG calls crypto.getRandomValues once per character
 * (16 per id), ~0.1 ms per id in a Chromium worker — and every call and event needs one.
 */
function pooledRandom(): () => number {
  const pool = new Uint8Array(256);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      crypto.getRandomValues(pool);
      next = 0;
    }
    return pool[next++] / 256;
  };
}

export function ulidGenerator(clock: Clock): UlidGenerator {
  const next = monotonicFactory(pooledRandom());
  // ULIDs encode whole milliseconds; a clock with fractions (simulated link jitter) must not break them.
  return () => next(Math.floor(clock.now()));
}

export function isUlid(value: unknown): value is string {
  return typeof value === 'string' && ULID_PATTERN.test(value);
}
