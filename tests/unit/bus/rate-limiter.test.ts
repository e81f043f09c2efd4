import { describe, expect, it } from 'vitest';
import { HearthError, RATE_LIMIT_HARD_RPS_PER_CAP, RATE_LIMIT_HARD_RPS_TOTAL, RATE_LIMIT_SOFT_RPS_PER_CAP, RATE_LIMIT_SOFT_RPS_TOTAL } from '../../../src/lib/core/index.js';
import { DEFAULT_RATE_LIMITS, RateLimiter, type RateVerdict } from '../../../src/lib/bus/index.js';
import { DroppedCall } from '../../../src/lib/transport/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';
import { makeBus, PEER_A, PEER_B, SELF } from './harness.js';

function tally(verdicts: RateVerdict[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of verdicts) {
    const key = v.kind === 'soft' ? `soft:${v.scope}` : v.kind;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe('rate limiter (X01 §7)', () => {
  it('defaults to the X01 numbers: 10 / 100 per capability, 100 / 1000 per peer', () => {
    expect(DEFAULT_RATE_LIMITS).toEqual({ softPerCap: 10, hardPerCap: 100, softTotal: 100, hardTotal: 1000 });
    expect([RATE_LIMIT_SOFT_RPS_PER_CAP, RATE_LIMIT_HARD_RPS_PER_CAP, RATE_LIMIT_SOFT_RPS_TOTAL, RATE_LIMIT_HARD_RPS_TOTAL]).toEqual([10, 100, 100, 1000]);
  });

  it('soft excess gets a rate_limited verdict with retryAfterMs; hard excess is dropped', () => {
    const time = new VirtualTime();
    const limiter = new RateLimiter(time);
    const burst = Array.from({ length: 120 }, () => limiter.check(PEER_A, 'llm.chat'));
    // Every arrival spends hard budget: 10 served, 90 told to slow down, the 20 past 100 dropped.
    expect(tally(burst)).toEqual({ ok: 10, 'soft:capability': 90, hard: 20 });
    expect(burst.slice(0, 10).every((v) => v.kind === 'ok')).toBe(true);
    expect(burst[10]).toEqual({ kind: 'soft', retryAfterMs: 100, scope: 'capability' });
    expect(burst.slice(100).every((v) => v.kind === 'hard')).toBe(true);
  });

  it('budgets refill over time at their rate, and the retry hint shrinks as they do', async () => {
    const time = new VirtualTime();
    const limiter = new RateLimiter(time);
    for (let i = 0; i < 10; i++) expect(limiter.check(PEER_A, 'llm.chat').kind).toBe('ok');
    await time.advance(40);
    expect(limiter.check(PEER_A, 'llm.chat')).toEqual({ kind: 'soft', retryAfterMs: 60, scope: 'capability' });
    await time.advance(60);
    expect(limiter.check(PEER_A, 'llm.chat').kind).toBe('ok');
    expect(limiter.check(PEER_A, 'llm.chat').kind).toBe('soft');
    // A steady 10/s is always served.
    for (let i = 0; i < 50; i++) {
      await time.advance(100);
      expect(limiter.check(PEER_A, 'llm.chat').kind, `call ${i}`).toBe('ok');
    }
    // After a quiet second the whole burst allowance is back.
    await time.advance(1_000);
    expect(tally(Array.from({ length: 11 }, () => limiter.check(PEER_A, 'llm.chat')))).toEqual({ ok: 10, 'soft:capability': 1 });
  });

  it('budgets are per (peer, capability) and per peer in total', () => {
    const time = new VirtualTime();
    const limiter = new RateLimiter(time);
    // 10 capabilities × 10 calls spend the peer's total soft budget of 100/s...
    for (let c = 0; c < 10; c++) for (let i = 0; i < 10; i++) expect(limiter.check(PEER_A, `experimental.c${c}`).kind).toBe('ok');
    // ...so a fresh capability is refused for the peer as a whole.
    expect(limiter.check(PEER_A, 'experimental.fresh')).toMatchObject({ kind: 'soft', scope: 'peer' });
    // Another peer is unaffected.
    expect(limiter.check(PEER_B, 'experimental.c0').kind).toBe('ok');
  });

  it('the per-peer hard total drops a flood spread over many capabilities', () => {
    const time = new VirtualTime();
    const limiter = new RateLimiter(time, { softPerCap: 2, hardPerCap: 4, softTotal: 3, hardTotal: 6 });
    const verdicts = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((c) => limiter.check(PEER_A, `experimental.${c}`));
    expect(tally(verdicts)).toEqual({ ok: 3, 'soft:peer': 3, hard: 2 });
  });
});

describe('rate limits on inbound calls through the bus', () => {
  it('soft excess is refused with rate_limited and a retry hint; hard excess is dropped unanswered; our own calls are not limited', async () => {
    const t = makeBus({ rateLimits: { softPerCap: 2, hardPerCap: 4, softTotal: 100, hardTotal: 1000 } });
    let served = 0;
    t.bus.register({ name: 'experimental.work', version: '1.0', handler: () => ({ n: ++served }) });
    const ctx = (i: number) => ({ caller: PEER_A, requestId: `req-${i}`, signal: new AbortController().signal });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        await t.bus.handle({ capability: 'experimental.work', version: '1.0', body: {} }, ctx(i));
        outcomes.push('ok');
      } catch (err) {
        if (err instanceof DroppedCall) outcomes.push('dropped');
        else {
          const error = err as HearthError;
          outcomes.push(`${error.code} ${error.retryAfterMs}`);
        }
      }
    }
    expect(outcomes).toEqual(['ok', 'ok', 'rate_limited 500', 'rate_limited 500', 'dropped', 'dropped']);
    expect(served).toBe(2);
    for (let i = 0; i < 5; i++) expect(await t.time.resolve(t.bus.call('experimental.work', '1.0', {}))).toMatchObject({ n: 3 + i });
    const text = t.bus.prometheus();
    expect(text).toContain('hearthnet_rate_limited_total{capability="experimental.work",reason="capability"} 2');
    expect(text).toContain('hearthnet_rate_limited_total{capability="experimental.work",reason="hard"} 2');
    // Soft refusals leave a trace; hard drops do not (they cost nothing, by design).
    const inbound = t.bus.recentTraces(20).filter((tr) => tr.direction === 'in');
    expect(inbound.map((tr) => tr.result)).toEqual(['rate_limited', 'rate_limited', 'ok', 'ok']);
    expect(t.bus.recentTraces(1)[0]).toMatchObject({ from_node: SELF, result: 'ok' });
  });
});
