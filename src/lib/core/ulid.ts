/** ULIDs for event and request ids: monotonic within a millisecond, time from the injected clock. */
import { monotonicFactory } from 'ulid';
import type { Clock } from './time.js';

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export type UlidGenerator = () => string;

export function ulidGenerator(clock: Clock): UlidGenerator {
  const next = monotonicFactory();
  return () => next(clock.now());
}

export function isUlid(value: unknown): value is string {
  return typeof value === 'string' && ULID_PATTERN.test(value);
}
