/** The bus over a simulated mesh when things go wrong: callers leaving, full providers, partitions, trust, floods. */
import { afterEach, describe, expect, it } from 'vitest';
import { HearthError } from '../../src/lib/core/index.js';
import { entryKey, type CallerLevel } from '../../src/lib/bus/index.js';
import type { CallContext } from '../../src/lib/transport/index.js';
import { awaitOffer, busMesh, countBy, outcomes } from './bus-fixtures.js';
import type { SimNetwork } from './network.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

let net: SimNetwork;
afterEach(() => net?.stop());

function servedBy(outcome: { ok: boolean; value?: unknown }): number {
  return (outcome.value as { served_by: number }).served_by;
}

describe('bus failure handling over a simulated mesh', () => {
  it('the caller going away (break out of bus.stream) cancels the provider\'s handler within 200 ms', async () => {
    net = await busMesh(2, 41);
    const record: { stoppedAt?: number; aborted?: boolean } = {};
    net.nodes[1].register({
      name: 'llm.chat',
      version: '1.0',
      handler: async function* (_body: unknown, ctx: CallContext) {
        try {
          for (let i = 1; ; i++) {
            yield { event: 'token', data: { i } };
            await net.time.sleep(10, ctx.signal);
          }
        } finally {
          record.stoppedAt = net.time.now();
          record.aborted = ctx.signal.aborted;
        }
      }
    });
    await awaitOffer(net, 0, 'llm.chat', [1]);
    const { events, error, at } = await net.time.collect(net.nodes[0].bus.stream('llm.chat', '1.0', {}), 3);
    expect(error).toBeNull();
    expect(events).toHaveLength(3);
    await net.run(1_000);
    expect(record.aborted).toBe(true);
    expect(record.stoppedAt! - at).toBeLessThanOrEqual(200);
    // Both ends account for it: no slot held, and the traces say cancelled.
    const provider = net.nodes[1].bus.registry.get(entryKey(net.nodeId(1), 'llm.chat', '1.0'))!;
    expect(provider.inFlight).toBe(0);
    expect(net.nodes[1].bus.recentTraces(5).find((t) => t.capability === 'llm.chat')).toMatchObject({ direction: 'in', result: 'cancelled', stream: true });
    expect(net.nodes[0].bus.recentTraces(1)[0]).toMatchObject({ direction: 'out', result: 'cancelled' });
    expect(net.nodes[0].bus.registry.get(entryKey(net.nodeId(1), 'llm.chat', '1.0'))!.inFlight).toBe(0);
  });

  it('aborting the caller\'s signal cancels a unary call on the provider within 200 ms', async () => {
    net = await busMesh(2, 42);
    const record: { stoppedAt?: number } = {};
    net.nodes[1].register({
      name: 'experimental.slow',
      version: '1.0',
      handler: async (_body, ctx) => {
        await net.time.sleep(20_000, ctx.signal).catch((err: unknown) => {
          record.stoppedAt = net.time.now();
          throw err;
        });
        return {};
      }
    });
    await awaitOffer(net, 0, 'experimental.slow', [1]);
    const controller = new AbortController();
    let abortedAt = 0;
    net.time.setTimeout(() => {
      abortedAt = net.time.now();
      controller.abort(new Error('user closed the tab'));
    }, 100);
    const [outcome] = await outcomes(net, [net.nodes[0].bus.call('experimental.slow', '1.0', {}, { signal: controller.signal })]);
    expect(outcome.ok).toBe(false);
    await net.run(1_000);
    expect(record.stoppedAt! - abortedAt).toBeLessThanOrEqual(200);
  });

  it('capacity_exceeded with retry_after_ms when the only provider is at max_concurrent; failover when another exists', async () => {
    net = await busMesh(4, 43);
    for (const p of [1, 3]) {
      net.nodes[p].register({
        name: 'experimental.render',
        version: '1.0',
        maxConcurrent: 1,
        handler: async () => {
          await net.time.sleep(500);
          return { served_by: p };
        }
      });
    }
    await awaitOffer(net, 0, 'experimental.render', [1, 3]);
    await awaitOffer(net, 2, 'experimental.render', [1, 3]);
    // Two callers at once: both pick the same first provider; the one refused fails over to the other.
    const both = await outcomes(net, [net.nodes[0].bus.call('experimental.render', '1.0', {}), net.nodes[2].bus.call('experimental.render', '1.0', {})]);
    expect(both.every((o) => o.ok)).toBe(true);
    expect(new Set(both.map(servedBy))).toEqual(new Set([1, 3]));
    const refusedAt = net.nodes.flatMap((n) => n.bus.recentTraces(20)).filter((t) => t.result === 'capacity_exceeded');
    expect(refusedAt.map((t) => t.direction).sort()).toEqual(['in', 'out']); // refused by a provider, seen by a caller

    // With one provider left, the refused caller sees capacity_exceeded and when to come back.
    net.pair(0, 3).close();
    net.pair(2, 3).close();
    await net.run(20);
    const [a, b] = await outcomes(net, [net.nodes[0].bus.call('experimental.render', '1.0', {}), net.nodes[2].bus.call('experimental.render', '1.0', {})]);
    const [served, refused] = a.ok ? [a, b] : [b, a];
    expect(served).toMatchObject({ ok: true, value: { served_by: 1 } });
    expect(refused.ok).toBe(false);
    const error = (refused as { error: HearthError }).error;
    expect(error.code).toBe('capacity_exceeded');
    expect(error.retryAfterMs).toBeGreaterThan(0);
    // Honouring the hint works.
    await net.run(error.retryAfterMs!);
    expect(await net.time.resolve(net.nodes[2].bus.call('experimental.render', '1.0', {}))).toEqual({ served_by: 1 });
  });

  it('a caller never sends more concurrent calls to a provider than its max_concurrent', async () => {
    net = await busMesh(2, 44);
    let running = 0;
    let peak = 0;
    net.nodes[1].register({
      name: 'experimental.render',
      version: '1.0',
      maxConcurrent: 2,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await net.time.sleep(100);
        running--;
        return { ok: true };
      }
    });
    await awaitOffer(net, 0, 'experimental.render', [1]);
    const results = await outcomes(net, Array.from({ length: 4 }, () => net.nodes[0].bus.call('experimental.render', '1.0', {})));
    expect(countBy(results, (r) => (r.ok ? 'ok' : r.error.code))).toEqual({ ok: 2, capacity_exceeded: 2 });
    expect(peak).toBe(2);
    expect(net.nodes[1].bus.recentTraces(10).filter((t) => t.result === 'capacity_exceeded')).toEqual([]); // refused before sending
  });

  it('partition: an idempotent call fails over to another provider; a non-idempotent one does not', async () => {
    net = await busMesh(3, 45);
    const ran = { lookup: [0, 0, 0], append: [0, 0, 0] };
    for (const p of [1, 2]) {
      for (const [name, idempotent] of [['experimental.lookup', true], ['experimental.append', false]] as const) {
        net.nodes[p].register({
          name,
          version: '1.0',
          idempotent,
          handler: () => {
            ran[name === 'experimental.lookup' ? 'lookup' : 'append'][p]++;
            return { served_by: p };
          }
        });
      }
    }
    await awaitOffer(net, 0, 'experimental.lookup', [1, 2]);
    await awaitOffer(net, 0, 'experimental.append', [1, 2]);
    const bus = net.nodes[0].bus;
    const first = Number(bus.router.route({ name: 'experimental.lookup', versionReq: '1.0', params: {} }).nodeId === net.nodeId(1) ? 1 : 2);
    const second = first === 1 ? 2 : 1;
    net.partition([0], [first]);

    const started = net.time.now();
    const [append] = await outcomes(net, [bus.call('experimental.append', '1.0', {}, { timeoutMs: 2_000 })]);
    expect(append).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(net.time.now() - started).toBeLessThan(2_100);
    expect(ran.append).toEqual([0, 0, 0]);

    const lookupStarted = net.time.now();
    const lookup = await net.time.resolve(bus.call('experimental.lookup', '1.0', {}, { timeoutMs: 2_000 }));
    expect(lookup).toEqual({ served_by: second });
    expect(net.time.now() - lookupStarted).toBeGreaterThanOrEqual(2_000);
    expect(ran.lookup).toEqual([0, 0, 0].map((_, i) => (i === second ? 1 : 0)));
    expect(
      bus
        .recentTraces(2)
        .map((t) => `${t.to_node === net.nodeId(first) ? 'first' : 'second'} ${t.result}`)
    ).toEqual(['second ok', 'first timeout']);
  });

  it('trust: trust_required "trusted" refuses a member peer with unauthorized, serves a trusted peer and the node itself', async () => {
    net = await busMesh(3, 46, {
      membership: (i, n) =>
        i === 1
          ? { levelOf: (id: string): CallerLevel => (id === n.nodeId(1) ? 'self' : id === n.nodeId(2) ? 'trusted' : id === n.nodeId(0) ? 'member' : 'none') }
          : undefined
    });
    let ran = 0;
    net.nodes[1].register({ name: 'community.revoke', version: '1.0', trustRequired: 'trusted', handler: (_body, ctx) => ({ ran: ++ran, caller: ctx.caller }) });
    await awaitOffer(net, 0, 'community.revoke', [1]);
    await awaitOffer(net, 2, 'community.revoke', [1]);
    // The manifest says what it takes, so a caller can tell before asking.
    expect(net.nodes[0].bus.registry.get(entryKey(net.nodeId(1), 'community.revoke', '1.0'))!.trustRequired).toBe('trusted');

    const [member] = await outcomes(net, [net.nodes[0].bus.call('community.revoke', '1.0', {})]);
    expect(member).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(ran).toBe(0);
    expect(await net.time.resolve(net.nodes[2].bus.call('community.revoke', '1.0', {}))).toEqual({ ran: 1, caller: net.nodeId(2) });
    expect(await net.time.resolve(net.nodes[1].bus.call('community.revoke', '1.0', {}))).toEqual({ ran: 2, caller: net.nodeId(1) });
    // Refusals are not the provider's ill health.
    expect(net.nodes[0].bus.health.stats(entryKey(net.nodeId(1), 'community.revoke', '1.0')).samples).toBe(0);
  });

  it('a peer flooding past the hard limit gets no answers for the excess (timeouts); the soft excess gets rate_limited', async () => {
    net = await busMesh(2, 47);
    let served = 0;
    net.nodes[1].register({ name: 'experimental.cheap', version: '1.0', maxConcurrent: 1024, handler: () => ({ n: ++served }) });
    await awaitOffer(net, 0, 'experimental.cheap', [1]);
    const flood = await outcomes(
      net,
      Array.from({ length: 120 }, () => net.nodes[0].bus.call('experimental.cheap', '1.0', {}, { timeoutMs: 2_000 })),
      5_000
    );
    // X01 §7 defaults: 10/s served, up to 100/s told to back off, anything past that dropped unanswered.
    expect(countBy(flood, (r) => (r.ok ? 'ok' : r.error.code))).toEqual({ ok: 10, rate_limited: 90, timeout: 20 });
    expect(served).toBe(10);
    const limited = flood.filter((r) => !r.ok && r.error.code === 'rate_limited').map((r) => (r as { error: HearthError }).error);
    expect(limited.every((e) => e.retryAfterMs! > 0 && e.retryAfterMs! <= 100)).toBe(true);
    const metrics = net.nodes[1].bus.prometheus();
    expect(metrics).toContain('hearthnet_rate_limited_total{capability="experimental.cheap",reason="capability"} 90');
    expect(metrics).toContain('hearthnet_rate_limited_total{capability="experimental.cheap",reason="hard"} 20');
    // The budget refills: a caller that slows down is served again. (Straight to the node: the flooder's own bus
    // counted the dropped calls as timeouts against the provider's health.)
    await net.run(1_000);
    expect(await net.time.resolve(net.nodes[0].call(net.nodeId(1), 'experimental.cheap', '1.0', {}))).toEqual({ n: 11 });
  });
});
