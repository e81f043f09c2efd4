import { afterEach, describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/index.js';
import type { CallContext, StreamEvent } from '../../../src/lib/transport/index.js';
import { SimNetwork } from '../../sim/network.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';

useOrderedWebCrypto();

let net: SimNetwork;
afterEach(() => net?.stop());

async function twoNodes(): Promise<SimNetwork> {
  net = await SimNetwork.create({ size: 2, seed: 12, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000 });
  net.connectAll();
  await net.run(50);
  return net;
}


/** A provider that streams tokens every 10 ms until stopped, recording when it stopped. */
function endlessTokens(record: { stoppedAt?: number }) {
  return async function* (_body: unknown, ctx: CallContext) {
    try {
      for (let i = 1; ; i++) {
        yield { event: 'token', data: { i } };
        await net.time.sleep(10, ctx.signal);
      }
    } finally {
      record.stoppedAt = net.time.now();
    }
  };
}

describe('rpc: streams', () => {
  it('P5: yields events in seq order and ends with done carrying the handler return value', async () => {
    await twoNodes();
    net.nodes[1].register({
      name: 'experimental.test_count',
      version: '1.0',
      handler: async function* () {
        for (let i = 1; i <= 40; i++) yield { event: 'chunk', data: { i } };
        return { total: 40 };
      }
    });
    const { events, error } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_count', '1.0', {}));
    expect(error).toBeNull();
    expect(events.slice(0, 40).map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(events.slice(40)).toEqual([{ event: 'done', data: { total: 40 } }]);
  });

  it('P5: done data defaults to {} when the handler returns nothing', async () => {
    await twoNodes();
    net.nodes[1].register({ name: 'experimental.test_one', version: '1.0', handler: async function* () { yield { event: 'token', data: 'a' }; } });
    const { events } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_one', '1.0', {}));
    expect(events).toEqual([{ event: 'token', data: 'a' }, { event: 'done', data: {} }]);
  });

  it('P5: an error terminal throws the HearthError after the events before it', async () => {
    await twoNodes();
    net.nodes[1].register({
      name: 'experimental.test_fail',
      version: '1.0',
      handler: async function* () {
        yield { event: 'token', data: 1 };
        yield { event: 'token', data: 2 };
        throw new HearthError('capacity_exceeded', 'model unloaded');
      }
    });
    const { events, error } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_fail', '1.0', {}));
    expect(events.map((e) => e.data)).toEqual([1, 2]);
    expect(error).toMatchObject({ code: 'capacity_exceeded', message: 'model unloaded' });
  });

  it('P5: a handler that yields a terminal event itself ends with internal_error', async () => {
    await twoNodes();
    net.nodes[1].register({ name: 'experimental.test_rude', version: '1.0', handler: async function* () { yield { event: 'done', data: {} }; } });
    const { error } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_rude', '1.0', {}));
    expect(error).toMatchObject({ code: 'internal_error' });
  });

  it('P5: breaking out of the loop sends cancel and stops the handler within 200 ms', async () => {
    await twoNodes();
    const record: { stoppedAt?: number } = {};
    net.nodes[1].register({ name: 'experimental.test_endless', version: '1.0', handler: endlessTokens(record) });
    const { events, error, at } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_endless', '1.0', {}), 3);
    expect(error).toBeNull();
    expect(events).toHaveLength(3);
    await net.run(1_000);
    expect(record.stoppedAt! - at).toBeLessThanOrEqual(200);
    expect(net.nodes[0].stats()).toMatchObject({ internal_error: 0 });
  });

  it('P5: aborting the signal throws its reason and stops the handler within 200 ms', async () => {
    await twoNodes();
    const record: { stoppedAt?: number } = {};
    net.nodes[1].register({ name: 'experimental.test_endless', version: '1.0', handler: endlessTokens(record) });
    const controller = new AbortController();
    net.time.setTimeout(() => controller.abort(new Error('user closed the tab')), 55);
    const { events, error, at } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_endless', '1.0', {}, { signal: controller.signal }));
    expect((error as Error).message).toBe('user closed the tab');
    expect(events.length).toBeGreaterThan(2);
    await net.run(1_000);
    expect(record.stoppedAt! - at).toBeLessThanOrEqual(200);
  });

  it('P5: a closed link ends the stream with partition and stops the handler within 200 ms', async () => {
    await twoNodes();
    const record: { stoppedAt?: number } = {};
    net.nodes[1].register({ name: 'experimental.test_endless', version: '1.0', handler: endlessTokens(record) });
    let closedAt = 0;
    net.time.setTimeout(() => {
      closedAt = net.time.now();
      net.pair(0, 1).close();
    }, 55);
    const { error } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_endless', '1.0', {}));
    expect(error).toMatchObject({ code: 'partition' });
    expect(record.stoppedAt! - closedAt).toBeLessThanOrEqual(200);
  });

  it('ends with timeout when no frame comes within the idle timeout, and cancels the provider', async () => {
    await twoNodes();
    let aborted = false;
    net.nodes[1].register({
      name: 'experimental.test_stall',
      version: '1.0',
      handler: async function* (_body: unknown, ctx: CallContext) {
        yield { event: 'token', data: 1 };
        await net.time.sleep(600_000, ctx.signal).catch((err) => {
          aborted = true;
          throw err;
        });
      }
    });
    const started = net.time.now();
    const { events, error, at } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_stall', '1.0', {}, { idleTimeoutMs: 1_000 }));
    expect(events).toHaveLength(1);
    expect(error).toMatchObject({ code: 'timeout' });
    expect(at - started).toBeLessThan(1_100);
    await net.run(100);
    expect(aborted).toBe(true);
  });

  it('a unary call to a streaming handler resolves with the done data', async () => {
    await twoNodes();
    const result = await net.time.resolve(net.nodes[0].call(net.nodeId(1), 'experimental.ping', '1.0', { input: { count: 40 } }));
    expect(result).toEqual({ count: 40 });
  });

  it('leaves nothing pending on either side after streams end every way', async () => {
    await twoNodes();
    const record: { stoppedAt?: number } = {};
    net.nodes[1].register({ name: 'experimental.test_endless', version: '1.0', handler: endlessTokens(record) });
    await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_endless', '1.0', {}), 2);
    await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.ping', '1.0', { input: { count: 50 } }));
    await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'nothing.here', '1.0', {}));
    await net.run(1_000);
    // Only the nodes' own intervals remain: republish, prune, bus sweep, probe.
    expect(net.time.pendingTimers).toBe(2 * 4);
  });
});
