/** Wall-clock helpers. Time always comes in through a Clock so protocols stay pure and tests drive it. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 UTC with `Z` and whole seconds (CONTRACT §1.1). */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 with milliseconds, for traces and logs only. */
export function rfc3339Millis(ms: number): string {
  return new Date(ms).toISOString();
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Milliseconds since epoch, or NaN for anything that is not RFC 3339 UTC. */
export function parseRfc3339(text: unknown): number {
  if (typeof text !== 'string' || !RFC3339_UTC.test(text)) return NaN;
  return Date.parse(text);
}

/**
 * True when `timestamp` is RFC 3339 UTC and at most `windowSeconds` from `nowMs` either way: the freshness rule
 * for calls (P3), bridge hellos (B1) and WebRTC signals. Malformed timestamps are never fresh.
 */
export function isWithinClockWindow(timestamp: unknown, nowMs: number, windowSeconds: number): boolean {
  return Math.abs(nowMs - parseRfc3339(timestamp)) <= windowSeconds * 1000;
}
