/** M03 §8 integration: real nodes on a simulated mesh, calling each other through their buses. */
import { afterEach, describe, expect, it } from 'vitest';
import { HEALTH_QUARANTINE_SECONDS, HearthError, ULID_PATTERN } from '../../src/lib/core/index.js';
import { entryKey } from '../../src/lib/bus/index.js';
import type { CallContext } from '../../src/lib/transport/index.js';
import { awaitOffer, busMesh, countBy, outcomes } from './bus-fixtures.js';
import type { SimNetwork } from './network.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

let net: SimNetwork;
afterEach(() => net?.stop());

/** Registers `name` on each provider; the handler answers `{ served_by }` after `ms`. Returns calls served per node. */
function provide(providers: number[], name: string, options: { ms?: number; idempotent?: boolean; maxConcurrent?: number; failing?: Set<number> } = {}) {
  const served = new Map<number, number>(providers.map((p) => [p, 0]));
  for (const p of providers) {
    net.nodes[p].register({
      name,
      version: '1.0',
      idempotent: options.idempotent ?? false,
      maxConcurrent: options.maxConcurrent ?? 8,
      handler: async (_body, ctx: CallContext) => {
        served.set(p, served.get(p)! + 1);
        if (options.ms) await net.time.sleep(options.ms, ctx.signal);
        if (options.failing?.has(p)) throw new HearthError('internal_error', `node ${p} is broken`);
        return { served_by: p };
      }
    });
  }
  return served;
}

describe('bus over a simulated mesh (M03 §8 integration)', () => {
  it('two nodes route to each other without naming the provider, once the manifest arrived', async () => {
    net = await busMesh(2, 31);
    const before = await outcomes(net, [net.nodes[0].bus.call('llm.chat', '1.0', { params: { model: 'tiny' } })]);
    expect(before[0]).toMatchObject({ ok: false, error: { code: 'not_found' } });

    net.nodes[1].register({
      name: 'llm.chat',
      version: '1.0',
      params: { model: 'tiny' },
      handler: (body, ctx) => ({ reply: `hello ${(body as { input: { text: string } }).input.text}`, caller: ctx.caller })
    });
    net.nodes[0].register({ name: 'experimental.echo', version: '1.0', handler: (body, ctx) => ({ echo: body, caller: ctx.caller }) });
    // The registration republishes the manifest at once: one link delay, not the 20 s republish period.
    expect(await awaitOffer(net, 0, 'llm.chat', [1])).toBeLessThanOrEqual(20);
    await awaitOffer(net, 1, 'experimental.echo', [0]);

    const reply = await net.time.resolve(net.nodes[0].bus.call('llm.chat', '1.0', { params: { model: 'tiny' }, input: { text: 'there' } }));
    expect(reply).toEqual({ reply: 'hello there', caller: net.nodeId(0) });
    const echo = await net.time.resolve(net.nodes[1].bus.call('experimental.echo', '1.0', { x: 1 }));
    expect(echo).toEqual({ echo: { x: 1 }, caller: net.nodeId(1) });
    // A model nobody offers is not routed anywhere.
    const missing = await outcomes(net, [net.nodes[0].bus.call('llm.chat', '1.0', { params: { model: 'huge' } })]);
    expect(missing[0]).toMatchObject({ ok: false, error: { code: 'not_found' } });

    const ok = net.nodes[0].bus.recentTraces().filter((t) => t.result === 'ok');
    expect(ok.map((t) => `${t.direction} ${t.capability}`)).toEqual(['in experimental.echo', 'out llm.chat']);
    expect(ok[1]).toMatchObject({ from_node: net.nodeId(0), to_node: net.nodeId(1), is_local: false, path: 'memory' });
    expect(ok[0]).toMatchObject({ from_node: net.nodeId(1), to_node: net.nodeId(0), is_local: false, path: 'memory' });
  });

  it('a withdrawn capability leaves the peers\' registries at once, and calls stop going there', async () => {
    net = await busMesh(2, 36);
    const withdraw = net.nodes[1].register({ name: 'experimental.echo', version: '1.0', handler: (body) => body });
    await awaitOffer(net, 0, 'experimental.echo', [1]);
    expect(await net.time.resolve(net.nodes[0].bus.call('experimental.echo', '1.0', { x: 1 }))).toEqual({ x: 1 });
    withdraw();
    expect(await net.time.until(() => net.nodes[0].bus.registry.find('experimental.echo', '1.0').length === 0, 1_000)).toBeLessThanOrEqual(20);
    const [after] = await outcomes(net, [net.nodes[0].bus.call('experimental.echo', '1.0', { x: 2 })]);
    expect(after).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('three nodes load balance: 100 calls, each provider within 30% of even', async () => {
    net = await busMesh(4, 32, { conditions: { delayMs: 5, jitterMs: 4 } });
    const served = provide([1, 2, 3], 'experimental.work', { ms: 20, idempotent: true });
    await awaitOffer(net, 0, 'experimental.work', [1, 2, 3]);
    // Ten waves of ten concurrent calls, a second apart: within every provider's 10/s soft budget.
    const results = [];
    for (let wave = 0; wave < 10; wave++) {
      results.push(...(await outcomes(net, Array.from({ length: 10 }, () => net.nodes[0].bus.call('experimental.work', '1.0', {})))));
      await net.run(1_000 - 50);
    }
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const byProvider = countBy(results, (r) => String((r as { value: { served_by: number } }).value.served_by));
    expect(Object.values(byProvider).reduce((a, b) => a + b, 0)).toBe(100);
    for (const p of [1, 2, 3]) {
      expect(byProvider[p], `provider ${p}: ${JSON.stringify(byProvider)}`).toBeGreaterThanOrEqual((100 / 3) * 0.7);
      expect(byProvider[p], `provider ${p}: ${JSON.stringify(byProvider)}`).toBeLessThanOrEqual((100 / 3) * 1.3);
      expect(served.get(p)).toBe(byProvider[p]);
    }
  });

  it('quarantine after chaos: a failing provider is quarantined, callers see no failures, and it is used again once healed', async () => {
    net = await busMesh(4, 33);
    const failing = new Set([3]);
    const served = provide([1, 2, 3], 'experimental.lookup', { ms: 20, idempotent: true, maxConcurrent: 16, failing });
    await awaitOffer(net, 0, 'experimental.lookup', [1, 2, 3]);
    const caller = net.nodes[0].bus;
    const broken = entryKey(net.nodeId(3), 'experimental.lookup', '1.0');
    const call = () => caller.call('experimental.lookup', '1.0', {});

    // A burst reaches node 3 before any answer says it is broken; failover hides that from every caller.
    const burst = await outcomes(net, Array.from({ length: 15 }, call));
    expect(burst.filter((r) => !r.ok)).toEqual([]);
    expect(served.get(3)).toBe(5);
    const quarantinedAt = net.time.now();
    expect(caller.health.stats(broken)).toMatchObject({ samples: 5, successRate: 0 });
    expect(caller.health.stats(broken).quarantinedUntil).toBeGreaterThan(quarantinedAt);
    expect(caller.capabilities().find((c) => c.key === broken)?.quarantinedUntil).toBeGreaterThan(quarantinedAt);

    await net.run(1_000); // the burst spent the others' 10/s soft budget for this caller
    // Node 3 heals half-way through; still nothing goes to it while quarantined.
    const waves: Awaited<ReturnType<typeof outcomes>> = [];
    for (let s = 0; s < 11; s++) {
      if (s === 5) failing.clear();
      waves.push(...(await outcomes(net, Array.from({ length: 6 }, call))));
      await net.run(5_000);
    }
    expect(waves.filter((r) => !r.ok)).toEqual([]);
    expect(served.get(3)).toBe(5);
    expect(net.time.now() - quarantinedAt).toBeLessThan(HEALTH_QUARANTINE_SECONDS * 1000);

    await net.run(HEALTH_QUARANTINE_SECONDS * 1000 - (net.time.now() - quarantinedAt));
    // The next call is the probe; it succeeds, and node 3 is back in the rotation.
    const probe = await net.time.resolve(call());
    expect(probe).toEqual({ served_by: 3 });
    expect(caller.health.stats(broken)).toMatchObject({ samples: 1, successRate: 1, quarantinedUntil: 0 });
    const after = await outcomes(net, Array.from({ length: 9 }, call));
    expect(after.filter((r) => !r.ok)).toEqual([]);
    expect(countBy(after, (r) => String((r as { value: { served_by: number } }).value.served_by))['3']).toBeGreaterThanOrEqual(2);
  });

  it('streaming call records full trace on caller and provider, under one trace id', async () => {
    net = await busMesh(2, 34);
    net.nodes[1].register({
      name: 'llm.chat',
      version: '1.0',
      handler: async function* () {
        for (const token of ['once', ' upon', ' a', ' time']) {
          await net.time.sleep(15);
          yield { event: 'token', data: { token } };
        }
        return { text: 'once upon a time', meta: { tokens_in: 3, tokens_out: 4 } };
      }
    });
    await awaitOffer(net, 0, 'llm.chat', [1]);
    const started = net.time.now();
    const { events, error } = await net.time.collect(net.nodes[0].bus.stream('llm.chat', '1.0', { input: { prompt: 'tell me' } }));
    expect(error).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['token', 'token', 'token', 'token', 'done']);
    expect(events.at(-1)!.data).toEqual({ text: 'once upon a time', meta: { tokens_in: 3, tokens_out: 4 } });

    const [out] = net.nodes[0].bus.recentTraces(1);
    const served = net.nodes[1].bus.recentTraces(10).find((t) => t.capability === 'llm.chat')!;
    const common = {
      trace_id: expect.stringMatching(ULID_PATTERN),
      capability: 'llm.chat',
      version: '1.0',
      from_node: net.nodeId(0),
      to_node: net.nodeId(1),
      is_local: false,
      result: 'ok',
      tokens_in: 3,
      tokens_out: 4,
      path: 'memory',
      stream: true
    };
    expect(out).toMatchObject({ ...common, direction: 'out' });
    expect(served).toMatchObject({ ...common, direction: 'in' });
    expect(served.trace_id).toBe(out.trace_id);
    expect(Date.parse(out.ts)).toBe(Math.floor(started / 1000) * 1000);
    // The provider's clock starts when the call lands; the caller's includes both link crossings.
    expect(served.ms).toBeGreaterThanOrEqual(60);
    expect(out.ms).toBeGreaterThan(served.ms);
    expect(out.bytes_in).toBe(served.bytes_in);
    expect(out.bytes_in).toBe(JSON.stringify({ input: { prompt: 'tell me' } }).length);
    expect(served.bytes_out).toBeGreaterThan(0);
    expect(out.bytes_out).toBeGreaterThan(served.bytes_out); // the caller also counts the done event
    // Both ends count the call in their metrics.
    expect(net.nodes[0].bus.prometheus()).toContain('hearthnet_requests_total{capability="llm.chat",result="ok"} 1');
    expect(net.nodes[1].bus.prometheus()).toContain('hearthnet_requests_total{capability="llm.chat",result="ok"} 1');
  });

  it('sticky routing preserves session across calls, and moves (losing context) when the provider leaves', async () => {
    net = await busMesh(3, 35);
    const histories = new Map<string, string[]>();
    let slow: number | null = null;
    for (const p of [1, 2]) {
      net.nodes[p].register({
        name: 'llm.chat',
        version: '1.0',
        params: { model: 'tiny' },
        handler: async (body) => {
          const { session, text } = (body as { input: { session: string; text: string } }).input;
          if (p === slow) await net.time.sleep(50);
          const key = `${p} ${session}`;
          const history = [...(histories.get(key) ?? []), text];
          histories.set(key, history);
          return { served_by: p, turn: history.length };
        }
      });
    }
    await awaitOffer(net, 0, 'llm.chat', [1, 2]);
    const bus = net.nodes[0].bus;
    const say = (text: string, sessionId?: string, node?: string) =>
      net.time.resolve(bus.call('llm.chat', '1.0', { params: { model: 'tiny' }, input: { session: sessionId ?? 'none', text } }, { sessionId, node })) as Promise<{ served_by: number; turn: number }>;

    const first = await say('hi', 'conv-1');
    const bound = first.served_by;
    const other = bound === 1 ? 2 : 1;
    // From now on the bound provider is the slower one: the score would send a new call elsewhere, the session stays.
    slow = bound;
    await say('warm up', undefined, net.nodeId(other));
    for (let turn = 2; turn <= 6; turn++) {
      await net.run(1_000); // within each provider's 10/s soft budget for this caller
      expect(await say(`turn ${turn}`, 'conv-1')).toEqual({ served_by: bound, turn });
      expect((await say('unrelated')).served_by).toBe(other);
    }
    expect(bus.router.boundTo('conv-1')).toBe(entryKey(net.nodeId(bound), 'llm.chat', '1.0'));

    // The provider goes away: the session unbinds and the next turn lands elsewhere, without the context.
    net.pair(0, bound).close();
    await net.run(20);
    expect(bus.router.boundTo('conv-1')).toBeUndefined();
    expect(await say('are you there?', 'conv-1')).toEqual({ served_by: other, turn: 1 });
    expect(await say('still?', 'conv-1')).toEqual({ served_by: other, turn: 2 });
  });
});
