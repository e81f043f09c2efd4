import { afterEach, describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/index.js';
import { parsePingBody, PING_PAYLOAD_MAX_BYTES } from '../../../src/lib/node/index.js';
import { SimNetwork } from '../../sim/network.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';

useOrderedWebCrypto();

let net: SimNetwork;
afterEach(() => net?.stop());

async function twoNodes(delayMs = 5): Promise<SimNetwork> {
  net = await SimNetwork.create({ size: 2, seed: 13, conditions: { delayMs }, probeIntervalMs: 3_600_000 });
  net.connectAll();
  await net.run(50);
  return net;
}

describe('experimental.ping@1.0', () => {
  it('P6: validates the body with plain messages', () => {
    const bad = (body: unknown) => {
      try {
        parsePingBody(body);
      } catch (err) {
        return [(err as HearthError).code, (err as HearthError).message];
      }
      return null;
    };
    expect(parsePingBody({ input: {} })).toEqual({ payload: '' });
    expect(parsePingBody({ input: { payload: 'hi', count: 3 } })).toEqual({ payload: 'hi', count: 3 });
    expect(parsePingBody({ input: { payload: 'é'.repeat(PING_PAYLOAD_MAX_BYTES / 2) } }).payload).toHaveLength(PING_PAYLOAD_MAX_BYTES / 2);
    expect(bad(null)).toEqual(['bad_request', 'ping: body.input must be an object']);
    expect(bad({ input: [] })?.[0]).toBe('bad_request');
    expect(bad({ input: { payload: 5 } })?.[1]).toBe('ping: input.payload must be a string');
    expect(bad({ input: { payload: 'é'.repeat(PING_PAYLOAD_MAX_BYTES / 2 + 1) } })?.[1]).toMatch(/over 16384 bytes/);
    for (const count of [0, 1001, 2.5, '3']) expect(bad({ input: { count } })?.[1]).toMatch(/count must be an integer from 1 to 1000/);
  });

  it('answers a unary ping with the payload, when it was served, and how long it took', async () => {
    await twoNodes();
    const result = await net.time.resolve(net.nodes[0].call(net.nodeId(1), 'experimental.ping', '1.0', { input: { payload: 'marco' } }));
    expect(result).toEqual({ output: { payload: 'marco', served_at: '2026-01-01T00:00:00Z' }, meta: { ms: 0 } });
  });

  it('node.ping measures the round trip, names the path and records it on the peer', async () => {
    await twoNodes(7);
    const updates: (number | null)[] = [];
    net.nodes[0].subscribe((e) => updates.push(e.peer.rttMs));
    const result = await net.time.resolve(net.nodes[0].ping(net.nodeId(1), 'x'.repeat(PING_PAYLOAD_MAX_BYTES)));
    expect(result).toEqual({ rttMs: 14, path: 'memory' });
    expect(net.nodes[0].peers()[0].rttMs).toBe(14);
    expect(updates).toEqual([14]);
  });

  it('node.pingStream receives every frame through the window, at the pace the window allows', async () => {
    await twoNodes();
    const result = await net.time.resolve(net.nodes[0].pingStream(net.nodeId(1), 1000));
    expect(result.frames).toBe(1000);
    // Window 16, ack every 8, 10 ms round trip: between 8 and 16 frames per round trip once the pipe is full.
    expect(result.ms).toBeGreaterThan((1000 / 16) * 10);
    expect(result.ms).toBeLessThan((1000 / 8) * 10 + 50);
  });

  it('node.pingStream refuses a count out of range with the peer\'s schema_mismatch', async () => {
    await twoNodes();
    await expect(net.time.resolve(net.nodes[0].pingStream(net.nodeId(1), 1001))).rejects.toMatchObject({
      code: 'schema_mismatch',
      message: expect.stringMatching(/count must be <= 1000/)
    });
  });
});
