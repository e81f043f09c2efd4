import { describe, expect, it } from 'vitest';
import { isWithinClockWindow, parseRfc3339, rfc3339 } from '../../../src/lib/core/index.js';

const NOW = Date.parse('2026-05-26T08:14:22Z');

describe('timestamps (CONTRACT §1.1) and the freshness window (P3, B1)', () => {
  it('prints whole-second UTC with Z and reads it back', () => {
    expect(rfc3339(NOW + 999)).toBe('2026-05-26T08:14:22Z');
    expect(parseRfc3339('2026-05-26T08:14:22Z')).toBe(NOW);
    expect(parseRfc3339('2026-05-26T08:14:22.281Z')).toBe(NOW + 281);
  });

  it('refuses offsets, missing Z and non-strings', () => {
    for (const bad of ['2026-05-26T08:14:22+01:00', '2026-05-26T08:14:22', '2026-05-26', 12, null]) expect(parseRfc3339(bad)).toBeNaN();
  });

  it('accepts exactly 60 s of skew either way and nothing beyond', () => {
    expect(isWithinClockWindow(rfc3339(NOW - 60_000), NOW, 60)).toBe(true);
    expect(isWithinClockWindow(rfc3339(NOW + 60_000), NOW, 60)).toBe(true);
    expect(isWithinClockWindow(rfc3339(NOW - 61_000), NOW, 60)).toBe(false);
    expect(isWithinClockWindow(rfc3339(NOW + 61_000), NOW, 60)).toBe(false);
  });

  it('never calls a malformed timestamp fresh', () => {
    expect(isWithinClockWindow('yesterday', NOW, 60)).toBe(false);
    expect(isWithinClockWindow(undefined, NOW, 60)).toBe(false);
  });
});
