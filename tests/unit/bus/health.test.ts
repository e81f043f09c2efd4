import { describe, expect, it } from 'vitest';
import { HEALTH_QUARANTINE_SECONDS, HEALTH_QUARANTINE_THRESHOLD, HEALTH_WINDOW_CALLS } from '../../../src/lib/core/index.js';
import { entryKey, HEALTH_MIN_SAMPLES, HealthTracker } from '../../../src/lib/bus/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';
import { failure, makeBus, offer, PEER_A, PEER_B, servedBy } from './harness.js';

const KEY = 'peer-a experimental.work@1.0';
const QUARANTINE_MS = HEALTH_QUARANTINE_SECONDS * 1000;

function tracker() {
  const time = new VirtualTime();
  const quarantines: string[] = [];
  const health = new HealthTracker({ clock: time, onQuarantine: (key) => quarantines.push(key) });
  return { time, health, quarantines };
}

describe('health (M03 §3.3, §5.7)', () => {
  it('uses the constants: window 100, threshold 0.5, 60 s quarantine, 5 samples at least', () => {
    expect([HEALTH_WINDOW_CALLS, HEALTH_QUARANTINE_THRESHOLD, HEALTH_QUARANTINE_SECONDS, HEALTH_MIN_SAMPLES]).toEqual([100, 0.5, 60, 5]);
  });

  it('health quarantines at threshold but not before HEALTH_MIN_SAMPLES', () => {
    const { time, health, quarantines } = tracker();
    for (let i = 1; i < HEALTH_MIN_SAMPLES; i++) {
      health.record(KEY, false, 10);
      expect(health.isQuarantined(KEY), `after ${i} failures`).toBe(false);
    }
    expect(health.stats(KEY)).toMatchObject({ samples: 4, successRate: 0 });
    health.record(KEY, false, 10);
    expect(health.isQuarantined(KEY)).toBe(true);
    expect(health.stats(KEY).quarantinedUntil).toBe(time.now() + QUARANTINE_MS);
    expect(quarantines).toEqual([KEY]);
  });

  it('health quarantines below the threshold, not at it', () => {
    const { health } = tracker();
    for (let i = 0; i < 5; i++) health.record(KEY, true, 10);
    for (let i = 0; i < 5; i++) health.record(KEY, false, 10);
    expect(health.stats(KEY).successRate).toBe(0.5);
    expect(health.isQuarantined(KEY)).toBe(false);
    health.record(KEY, false, 10);
    expect(health.stats(KEY).successRate).toBeCloseTo(5 / 11);
    expect(health.isQuarantined(KEY)).toBe(true);
  });

  it('health keeps a rolling window of the last HEALTH_WINDOW_CALLS outcomes, with p50 and p99', () => {
    const { health } = tracker();
    for (let i = 0; i < 40; i++) health.record(KEY, false, 1000);
    for (let i = 1; i <= HEALTH_WINDOW_CALLS; i++) health.record(KEY, true, i);
    // The 40 early failures (and their latency) have rolled out; only the last 100 successes count.
    expect(health.stats(KEY)).toMatchObject({ samples: 100, successRate: 1, p50Ms: 51, p99Ms: 100 });
    expect(health.stats('someone else')).toEqual({ samples: 0, successRate: 1, p50Ms: 0, p99Ms: 0, quarantinedUntil: 0, probing: false });
  });

  it('health resets after quarantine window: a successful probe clears the history', async () => {
    const { time, health } = tracker();
    for (let i = 0; i < 5; i++) health.record(KEY, false, 10);
    await time.advance(QUARANTINE_MS - 1);
    expect(health.isQuarantined(KEY)).toBe(true);
    await time.advance(1);
    expect(health.isQuarantined(KEY)).toBe(false);
    expect(health.stats(KEY).probing).toBe(true);
    health.record(KEY, true, 30);
    expect(health.stats(KEY)).toEqual({ samples: 1, successRate: 1, p50Ms: 30, p99Ms: 30, quarantinedUntil: 0, probing: false });
    // A fresh history: one failure does not condemn it again.
    health.record(KEY, false, 10);
    expect(health.isQuarantined(KEY)).toBe(false);
  });

  it('health resets after quarantine window: a failed probe quarantines again at once', async () => {
    const { time, health, quarantines } = tracker();
    for (let i = 0; i < 5; i++) health.record(KEY, false, 10);
    await time.advance(QUARANTINE_MS);
    expect(health.isQuarantined(KEY)).toBe(false);
    health.record(KEY, false, 10);
    expect(health.isQuarantined(KEY)).toBe(true);
    expect(health.stats(KEY).quarantinedUntil).toBe(time.now() + QUARANTINE_MS);
    expect(quarantines).toHaveLength(2);
  });
});

describe('health through the bus (M03 §5.7)', () => {
  const WORK = 'experimental.work';

  it('counts provider failures (timeout, partition, internal_error), not the caller\'s own mistakes or refusals for load', async () => {
    const t = makeBus();
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    const key = entryKey(PEER_A, WORK, '1.0');
    for (const code of ['bad_request', 'schema_mismatch', 'unauthorized', 'capacity_exceeded', 'rate_limited'] as const) {
      t.remote.failsWith(PEER_A, code);
      expect((await failure(t.time, t.bus.call(WORK, '1.0', {}))).code).toBe(code);
    }
    expect(t.bus.health.stats(key).samples).toBe(0);
    for (const code of ['timeout', 'partition', 'internal_error'] as const) {
      t.remote.failsWith(PEER_A, code);
      await failure(t.time, t.bus.call(WORK, '1.0', {}));
    }
    expect(t.bus.health.stats(key)).toMatchObject({ samples: 3, successRate: 0 });
  });

  it('a quarantined provider is probed once its quarantine ends, and used again when the probe succeeds', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_B, 40);
    t.bus.peerManifest(PEER_A, [offer(WORK)]);
    t.bus.peerManifest(PEER_B, [offer(WORK)]);
    t.remote.failsWith(PEER_A, 'internal_error', 10);
    for (let i = 0; i < 5; i++) await failure(t.time, t.bus.call(WORK, '1.0', {}, { node: PEER_A }));
    expect(await servedBy(t, WORK)).toBe(PEER_B);

    // A heals. Until the quarantine ends, nothing is sent to it.
    t.remote.answersAfter(PEER_A, 10);
    const refresh = () => {
      t.bus.peerManifest(PEER_A, [offer(WORK)]);
      t.bus.peerManifest(PEER_B, [offer(WORK)]);
    };
    for (let s = 0; s < 6; s++) {
      await t.time.advance(9_000);
      refresh();
      expect(await servedBy(t, WORK)).toBe(PEER_B);
    }
    await t.time.advance(QUARANTINE_MS);
    refresh();
    // The next call is the probe; it succeeds, history resets, and A's 10 ms beats B's 40 ms again.
    expect(await servedBy(t, WORK)).toBe(PEER_A);
    expect(t.bus.health.stats(entryKey(PEER_A, WORK, '1.0'))).toMatchObject({ samples: 1, successRate: 1, probing: false });
    expect(await servedBy(t, WORK)).toBe(PEER_A);
  });

  it('a failed probe puts the provider straight back in quarantine; an idempotent call fails over', async () => {
    const t = makeBus();
    t.remote.answersAfter(PEER_B, 40);
    t.bus.peerManifest(PEER_A, [offer(WORK, { idempotent: true })]);
    t.bus.peerManifest(PEER_B, [offer(WORK, { idempotent: true })]);
    t.remote.failsWith(PEER_A, 'internal_error', 10);
    for (let i = 0; i < 5; i++) await failure(t.time, t.bus.call(WORK, '1.0', {}, { node: PEER_A }));
    await t.time.advance(QUARANTINE_MS);
    t.bus.peerManifest(PEER_A, [offer(WORK, { idempotent: true })]);
    t.bus.peerManifest(PEER_B, [offer(WORK, { idempotent: true })]);
    const before = t.remote.calls.length;
    expect(await servedBy(t, WORK)).toBe(PEER_B);
    expect(t.remote.served().slice(before)).toEqual([PEER_A, PEER_B]); // probe, then failover
    expect(t.bus.health.stats(entryKey(PEER_A, WORK, '1.0')).quarantinedUntil).toBeGreaterThan(t.time.now());
    expect(await servedBy(t, WORK)).toBe(PEER_B);
    expect(t.remote.served().slice(before + 2)).toEqual([PEER_B]);
  });
});
