import { describe, expect, it } from 'vitest';
import { TRACE_RING_BUFFER } from '../../../src/lib/core/index.js';
import { BusMetrics, LATENCY_BUCKETS_MS, TraceRing, type CallTrace } from '../../../src/lib/bus/index.js';
import { failure, makeBus, offer, PEER_A, SELF } from './harness.js';

function trace(n: number): CallTrace {
  return {
    ts: '2026-01-01T00:00:00Z',
    trace_id: `t${n}`,
    capability: 'experimental.work',
    version: '1.0',
    from_node: SELF,
    to_node: SELF,
    is_local: true,
    result: 'ok',
    ms: n,
    tokens_in: null,
    tokens_out: null,
    bytes_in: 0,
    bytes_out: 0,
    direction: 'out',
    path: 'local',
    stream: false
  };
}

describe('trace ring (X03 §5.2)', () => {
  it('holds TRACE_RING_BUFFER traces by default', () => {
    expect(new TraceRing().capacity).toBe(TRACE_RING_BUFFER);
    expect(TRACE_RING_BUFFER).toBe(10_000);
  });

  it('keeps the newest `capacity` traces and returns them newest first', () => {
    const ring = new TraceRing(3);
    expect(ring.recent()).toEqual([]);
    ring.push(trace(1));
    ring.push(trace(2));
    expect(ring.recent().map((t) => t.trace_id)).toEqual(['t2', 't1']);
    for (let n = 3; n <= 7; n++) ring.push(trace(n));
    expect(ring.recent().map((t) => t.trace_id)).toEqual(['t7', 't6', 't5']);
    expect(ring.recent(2).map((t) => t.trace_id)).toEqual(['t7', 't6']);
    expect(ring.recent(0)).toEqual([]);
    expect(ring.size).toBe(3);
    expect(ring.total).toBe(7);
  });

  it('tells subscribers of each trace as it lands, until they unsubscribe', () => {
    const ring = new TraceRing(2);
    const seen: string[] = [];
    const off = ring.subscribe((t) => seen.push(t.trace_id));
    ring.push(trace(1));
    ring.push(trace(2));
    off();
    ring.push(trace(3));
    expect(seen).toEqual(['t1', 't2']);
  });

  it('the bus traces every call with the M03 §3.6 fields, ring-limited by traceCapacity; untraced capabilities only count', async () => {
    const t = makeBus({ traceCapacity: 4 });
    t.remote.on(PEER_A, async (req) => {
      await t.time.sleep(25);
      return { answer: 'é', meta: { tokens_in: 7, tokens_out: 11 }, echo: req.body };
    });
    t.bus.peerManifest(PEER_A, [offer('llm.chat')]);
    t.bus.register({ name: 'experimental.probe', version: '1.0', untraced: true, handler: () => ({}) });
    const started = t.time.now();
    const body = { input: { text: 'hi' } };
    await t.time.resolve(t.bus.call('llm.chat', '1.0', body));
    const [first] = t.bus.recentTraces();
    expect(first).toEqual({
      ts: new Date(started).toISOString().replace('.000Z', 'Z'),
      trace_id: 'trace-0001',
      capability: 'llm.chat',
      version: '1.0',
      from_node: SELF,
      to_node: PEER_A,
      is_local: false,
      result: 'ok',
      ms: 25,
      tokens_in: 7,
      tokens_out: 11,
      bytes_in: JSON.stringify(body).length,
      bytes_out: new TextEncoder().encode(JSON.stringify({ answer: 'é', meta: { tokens_in: 7, tokens_out: 11 }, echo: body })).length,
      direction: 'out',
      path: 'memory',
      stream: false
    });
    expect(t.remote.calls[0].requestId).toBe('trace-0001');

    for (let i = 0; i < 3; i++) await t.time.resolve(t.bus.call('experimental.probe', '1.0', {}));
    expect(t.bus.recentTraces()).toHaveLength(1);
    expect(t.bus.metrics.snapshot()['experimental.probe'].count).toBe(3);

    for (let i = 0; i < 5; i++) await failure(t.time, t.bus.call('experimental.nobody', '1.0', {}));
    const recent = t.bus.recentTraces();
    expect(recent).toHaveLength(4);
    expect(recent.every((tr) => tr.capability === 'experimental.nobody' && tr.result === 'not_found' && tr.to_node === '')).toBe(true);
    expect(t.bus.traces.total).toBe(6);
  });
});

describe('metrics (X03 §4.2, §4.3)', () => {
  it('Prometheus text: HELP and TYPE for each family, labelled samples, a cumulative histogram ending in +Inf', async () => {
    const t = makeBus();
    t.bus.register({
      name: 'experimental.work',
      version: '1.0',
      handler: async (body) => {
        await t.time.sleep((body as { ms: number }).ms);
        if ((body as { fail?: boolean }).fail) throw new Error('nope');
        return {};
      }
    });
    t.bus.peerManifest(PEER_A, [offer('llm.chat')]);
    for (const ms of [3, 40, 40, 700]) await t.time.resolve(t.bus.call('experimental.work', '1.0', { ms }));
    await failure(t.time, t.bus.call('experimental.work', '1.0', { ms: 15_000, fail: true }));
    const text = t.bus.prometheus();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    for (const family of ['hearthnet_requests_total counter', 'hearthnet_request_duration_ms histogram', 'hearthnet_rate_limited_total counter', 'hearthnet_capability_health_success_rate gauge']) {
      const [name, type] = family.split(' ');
      expect(lines).toContain(`# TYPE ${name} ${type}`);
      expect(lines.some((l) => l.startsWith(`# HELP ${name} `))).toBe(true);
    }
    // Every sample line: name{label="value",...} number.
    for (const line of lines.filter((l) => !l.startsWith('#'))) expect(line).toMatch(/^[a-z_]+\{([a-z_]+="[^"]*",?)+\} -?[0-9.e+]+$/);
    expect(lines).toContain('hearthnet_requests_total{capability="experimental.work",result="ok"} 4');
    expect(lines).toContain('hearthnet_requests_total{capability="experimental.work",result="internal_error"} 1');
    const bucket = (le: string) => Number(lines.find((l) => l.startsWith(`hearthnet_request_duration_ms_bucket{capability="experimental.work",le="${le}"}`))!.split(' ')[1]);
    expect([bucket('2'), bucket('5'), bucket('50'), bucket('1000'), bucket('10000'), bucket('30000'), bucket('+Inf')]).toEqual([0, 1, 3, 4, 4, 5, 5]);
    const les = [...LATENCY_BUCKETS_MS.map(String), '+Inf'];
    const counts = les.map(bucket);
    expect(counts).toEqual([...counts].sort((a, b) => a - b)); // cumulative
    expect(lines).toContain('hearthnet_request_duration_ms_sum{capability="experimental.work"} 15783');
    expect(lines).toContain('hearthnet_request_duration_ms_count{capability="experimental.work"} 5');
    expect(lines).toContain(`hearthnet_capability_health_success_rate{capability="experimental.work",node="${SELF}"} 0.8`);
    expect(lines).toContain(`hearthnet_capability_health_success_rate{capability="llm.chat",node="${PEER_A}"} 1`);
  });

  it('escapes label values', () => {
    const metrics = new BusMetrics();
    metrics.record('experimental.x', 'ok', 1);
    expect(metrics.prometheus([{ capability: 'experimental.x', node: 'a"b\\c\nd', successRate: 1 }])).toContain('node="a\\"b\\\\c\\nd"');
  });
});
