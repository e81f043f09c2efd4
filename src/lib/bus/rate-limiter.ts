/**
 * Per-peer budgets for inbound calls (X01 §7): token buckets per (peer, capability) and per peer in total, each
 * with a soft rate (over it: `rate_limited` with a retry hint) and a hard rate (over it: dropped unanswered, so a
 * flood cannot make us sign answers as fast as it sends). A bucket holds one second of its rate.
 */
import {
  RATE_LIMIT_HARD_RPS_PER_CAP,
  RATE_LIMIT_HARD_RPS_TOTAL,
  RATE_LIMIT_SOFT_RPS_PER_CAP,
  RATE_LIMIT_SOFT_RPS_TOTAL,
  type Clock
} from '../core/index.js';

export interface RateLimits {
  softPerCap: number;
  hardPerCap: number;
  softTotal: number;
  hardTotal: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  softPerCap: RATE_LIMIT_SOFT_RPS_PER_CAP,
  hardPerCap: RATE_LIMIT_HARD_RPS_PER_CAP,
  softTotal: RATE_LIMIT_SOFT_RPS_TOTAL,
  hardTotal: RATE_LIMIT_HARD_RPS_TOTAL
};

export type RateVerdict = { kind: 'ok' } | { kind: 'soft'; retryAfterMs: number; scope: 'capability' | 'peer' } | { kind: 'hard' };

class Bucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly ratePerSecond: number,
    nowMs: number
  ) {
    this.tokens = ratePerSecond;
    this.updatedMs = nowMs;
  }

  refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.updatedMs);
    this.tokens = Math.min(this.ratePerSecond, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    this.updatedMs = nowMs;
  }

  get hasToken(): boolean {
    return this.tokens >= 1;
  }

  take(): void {
    this.tokens -= 1;
  }

  /** Ms until one whole token is back. */
  get msToToken(): number {
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }

  full(): boolean {
    return this.tokens >= this.ratePerSecond;
  }
}

interface Buckets {
  soft: Bucket;
  hard: Bucket;
}

/** Buckets idle this long are full again and can be forgotten. */
const FORGET_AFTER_MS = 60_000;

export class RateLimiter {
  private readonly perCap = new Map<string, Buckets>();
  private readonly perPeer = new Map<string, Buckets>();
  private lastSweepMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly limits: RateLimits = DEFAULT_RATE_LIMITS
  ) {
    this.lastSweepMs = clock.now();
  }

  /** `softPerCap` overrides the per-capability rate for a capability that asked for its own (hard is 10×). */
  check(peer: string, capability: string, softPerCap = this.limits.softPerCap): RateVerdict {
    const now = this.clock.now();
    this.sweep(now);
    const hardPerCap = softPerCap === this.limits.softPerCap ? this.limits.hardPerCap : softPerCap * 10;
    const cap = this.buckets(this.perCap, `${peer} ${capability}`, softPerCap, hardPerCap, now);
    const total = this.buckets(this.perPeer, peer, this.limits.softTotal, this.limits.hardTotal, now);
    // Every arrival spends hard budget, answered or not: the hard rate bounds the work a flood can cause.
    if (!cap.hard.hasToken || !total.hard.hasToken) return { kind: 'hard' };
    cap.hard.take();
    total.hard.take();
    if (!total.soft.hasToken) return { kind: 'soft', retryAfterMs: total.soft.msToToken, scope: 'peer' };
    if (!cap.soft.hasToken) return { kind: 'soft', retryAfterMs: cap.soft.msToToken, scope: 'capability' };
    cap.soft.take();
    total.soft.take();
    return { kind: 'ok' };
  }

  private buckets(map: Map<string, Buckets>, key: string, soft: number, hard: number, now: number): Buckets {
    let buckets = map.get(key);
    if (!buckets) {
      buckets = { soft: new Bucket(soft, now), hard: new Bucket(hard, now) };
      map.set(key, buckets);
    } else {
      buckets.soft.refill(now);
      buckets.hard.refill(now);
    }
    return buckets;
  }

  private sweep(now: number): void {
    if (now - this.lastSweepMs < FORGET_AFTER_MS) return;
    this.lastSweepMs = now;
    for (const map of [this.perCap, this.perPeer]) {
      for (const [key, buckets] of map) {
        buckets.soft.refill(now);
        buckets.hard.refill(now);
        if (buckets.soft.full() && buckets.hard.full()) map.delete(key);
      }
    }
  }
}
