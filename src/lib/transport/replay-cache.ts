/**
 * P4: a request_id seen from the same sender within the timestamp window is a replay. Ids are held for twice the
 * window, which is enough: a replay arriving later carries a timestamp P3 already refuses. Memory is bounded;
 * when full the cache refuses new ids (the caller answers rate_limited) rather than forget one early and let a
 * replay through.
 */
import { CALL_TIMESTAMP_WINDOW_SECONDS, type Clock } from '../core/index.js';

/** About 120 s of calls at 400 per second; each entry is one short string and a number. */
export const REPLAY_CACHE_MAX_ENTRIES = 50_000;

export type ReplayVerdict = { kind: 'fresh' } | { kind: 'replayed' } | { kind: 'full'; retryAfterMs: number };

export interface ReplayCacheOptions {
  clock: Clock;
  windowSeconds?: number;
  maxEntries?: number;
}

export class ReplayCache {
  /** key → expiry ms. Insertion order is expiry order while the clock moves forward, so eviction looks at the front. */
  private readonly expiries = new Map<string, number>();
  private readonly clock: Clock;
  private readonly holdMs: number;
  private readonly maxEntries: number;

  constructor(options: ReplayCacheOptions) {
    this.clock = options.clock;
    this.holdMs = 2 * (options.windowSeconds ?? CALL_TIMESTAMP_WINDOW_SECONDS) * 1000;
    this.maxEntries = options.maxEntries ?? REPLAY_CACHE_MAX_ENTRIES;
  }

  /** Records the id if it is new. */
  check(sender: string, requestId: string): ReplayVerdict {
    const now = this.clock.now();
    this.evictExpired(now);
    const key = `${sender} ${requestId}`;
    const expiry = this.expiries.get(key);
    if (expiry !== undefined && expiry > now) return { kind: 'replayed' };
    if (this.expiries.size >= this.maxEntries) {
      const oldest = this.expiries.values().next().value as number;
      return { kind: 'full', retryAfterMs: Math.max(1, Math.ceil(oldest - now)) };
    }
    this.expiries.delete(key); // a stale entry must move to the back to keep the map in expiry order
    this.expiries.set(key, now + this.holdMs);
    return { kind: 'fresh' };
  }

  get size(): number {
    return this.expiries.size;
  }

  private evictExpired(now: number): void {
    for (const [key, expiry] of this.expiries) {
      if (expiry > now) break;
      this.expiries.delete(key);
    }
  }
}
