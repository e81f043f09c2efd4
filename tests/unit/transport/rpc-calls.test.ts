import { afterEach, describe, expect, it } from 'vitest';
import { HearthError, verifyPayload } from '../../../src/lib/core/index.js';
import { SimNetwork } from '../../sim/network.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';
import { callFrame } from './fixtures.js';
import { nodeUnderTest, RawPeer } from './raw-peer.js';
import { VirtualTime } from '../../sim/virtual-time.js';

useOrderedWebCrypto();

let net: SimNetwork;

async function twoNodes(): Promise<SimNetwork> {
  net = await SimNetwork.create({ size: 2, seed: 11, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000 });
  net.connectAll();
  await net.run(50);
  return net;
}

/** Runs virtual time until the promise settles; returns the HearthError it rejected with. */
async function failure(promise: Promise<unknown>): Promise<HearthError> {
  const error = await net.time.resolve(promise).then(
    () => null,
    (err: unknown) => err
  );
  if (!(error instanceof HearthError)) throw new Error(`expected a HearthError, got ${String(error)}`);
  return error;
}

afterEach(() => net?.stop());

describe('rpc: unary calls', () => {
  it('returns the handler value as the response body', async () => {
    await twoNodes();
    net.nodes[1].register({ name: 'experimental.test_echo', version: '1.2', handler: (body, ctx) => ({ body, caller: ctx.caller }) });
    const result = await net.time.resolve(net.nodes[0].call(net.nodeId(1), 'experimental.test_echo', '1.0', { hi: 1 }));
    expect(result).toEqual({ body: { hi: 1 }, caller: net.nodeId(0) });
  });

  it('P6: an unknown capability is refused with not_found', async () => {
    await twoNodes();
    const error = await failure(net.nodes[0].call(net.nodeId(1), 'nothing.here', '1.0', {}));
    expect(error.code).toBe('not_found');
  });

  it('a major version we do not offer is refused with schema_mismatch naming what we have', async () => {
    await twoNodes();
    const error = await failure(net.nodes[0].call(net.nodeId(1), 'experimental.ping', '2.0', { input: {} }));
    expect(error.code).toBe('schema_mismatch');
    expect(error.extra.alt_capabilities).toEqual(['experimental.ping@1.0']);
    // A newer minor than offered is a mismatch too (contract §2.1: same major, minor at least the asked one).
    expect((await failure(net.nodes[0].call(net.nodeId(1), 'experimental.ping', '1.1', { input: {} }))).code).toBe('schema_mismatch');
  });

  it('P6: a body outside the request schema is refused with schema_mismatch, naming the field and the expected hash', async () => {
    await twoNodes();
    const error = await failure(net.nodes[0].call(net.nodeId(1), 'experimental.ping', '1.0', { input: 'nope' }));
    expect(error).toMatchObject({ code: 'schema_mismatch', message: 'experimental.ping@1.0: request /input must be object' });
    expect(error.extra.schema_hash_expected).toMatch(/^blake3:[0-9a-f]{64}$/);
  });

  it('P6: a body that fits the schema but not the handler is refused with the handler\'s bad_request', async () => {
    await twoNodes();
    const error = await failure(net.nodes[0].call(net.nodeId(1), 'experimental.ping', '1.0', { input: { payload: 'é'.repeat(9000) } }));
    expect(error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/over 16384 bytes/) });
  });

  it('P6: a handler that throws gives internal_error with its message and never a stack', async () => {
    await twoNodes();
    net.nodes[1].register({
      name: 'experimental.test_crash',
      version: '1.0',
      handler: () => {
        throw new TypeError('cannot read properties of undefined');
      }
    });
    const error = await failure(net.nodes[0].call(net.nodeId(1), 'experimental.test_crash', '1.0', {}));
    expect(error.code).toBe('internal_error');
    expect(error.message).toBe('cannot read properties of undefined');
    expect(error.message).not.toMatch(/\bat\b|\.ts/);
  });

  it('a HearthError thrown by a handler keeps its code and retry hint', async () => {
    await twoNodes();
    net.nodes[1].register({
      name: 'experimental.test_busy',
      version: '1.0',
      handler: () => {
        // (Not capacity_exceeded: the bus keeps that code for its own refusals, C7.)
        throw new HearthError('partition', 'busy', { retryAfterMs: 2000 });
      }
    });
    const error = await failure(net.nodes[0].call(net.nodeId(1), 'experimental.test_busy', '1.0', {}));
    expect(error).toMatchObject({ code: 'partition', message: 'busy', retryAfterMs: 2000 });
  });

  it('an error too long or too precise for the wire schema is clamped, not lost', async () => {
    await twoNodes();
    net.nodes[1].register({
      name: 'experimental.test_verbose',
      version: '1.0',
      handler: () => {
        throw new HearthError('timeout', 'slow down '.repeat(1000), { retryAfterMs: 1.5 });
      }
    });
    const error = await failure(net.nodes[0].call(net.nodeId(1), 'experimental.test_verbose', '1.0', {}));
    expect(error).toMatchObject({ code: 'timeout', retryAfterMs: 2 });
    expect(error.message.length).toBeLessThanOrEqual(4096);
  });

  it('a result that is not portable JSON is answered with internal_error, not silence', async () => {
    await twoNodes();
    net.nodes[1].register({ name: 'experimental.test_nan', version: '1.0', handler: () => ({ value: Number.NaN }) });
    expect((await failure(net.nodes[0].call(net.nodeId(1), 'experimental.test_nan', '1.0', {}))).code).toBe('internal_error');
  });

  it('a body we cannot sign fails locally with bad_request before anything is sent', async () => {
    await twoNodes();
    expect((await failure(net.nodes[0].call(net.nodeId(1), 'experimental.ping', '1.0', { input: { payload: undefined } }))).code).toBe('bad_request');
  });

  it('fails with timeout at the deadline, and the provider is told to stop', async () => {
    await twoNodes();
    let stoppedAt = 0;
    net.nodes[1].register({
      name: 'experimental.test_slow',
      version: '1.0',
      handler: async (_body, ctx) => {
        await net.time.sleep(60_000, ctx.signal).catch(() => (stoppedAt = net.time.now()));
        return 'late';
      }
    });
    const started = net.time.now();
    const error = await failure(net.nodes[0].call(net.nodeId(1), 'experimental.test_slow', '1.0', {}, { timeoutMs: 1_000 }));
    expect(error.code).toBe('timeout');
    expect(net.time.now() - started).toBeLessThan(1_000 + 20);
    await net.run(100);
    expect(stoppedAt).toBeGreaterThan(started);
    expect(stoppedAt - started).toBeLessThanOrEqual(1_000 + 200);
  });

  it('fails with partition when the link closes mid-call, and the handler is stopped', async () => {
    await twoNodes();
    let aborted = false;
    net.nodes[1].register({
      name: 'experimental.test_slow',
      version: '1.0',
      handler: (_body, ctx) => net.time.sleep(60_000, ctx.signal).catch(() => (aborted = true))
    });
    const call = net.nodes[0].call(net.nodeId(1), 'experimental.test_slow', '1.0', {});
    await net.run(100);
    net.pair(0, 1).close();
    expect((await failure(call)).code).toBe('partition');
    expect(aborted).toBe(true);
  });

  it('fails with partition at once when there is no link to the peer', async () => {
    await twoNodes();
    const error = await failure(net.nodes[0].call('ed25519:' + 'Q'.repeat(43), 'experimental.ping', '1.0', { input: {} }));
    expect(error.code).toBe('partition');
  });
});

describe('rpc: responses on the wire', () => {
  it('signs every response, success and error alike, with the serving node key', async () => {
    const time = new VirtualTime();
    const { node, keyPair } = await nodeUnderTest(time);
    const peer = await RawPeer.connect(node, time);
    await peer.introduce();
    const ok = await callFrame(peer.signer, { input: { payload: 'x' } });
    const bad = await callFrame(peer.signer, { input: 42 });
    await peer.send(ok);
    await peer.send(bad);
    await time.advance(100);
    const [good, refused] = [ok, bad].map((f) => peer.responseTo((f as { call: { request_id: string } }).call.request_id)!);
    expect(good.body).toMatchObject({ output: { payload: 'x' } });
    expect(refused.error).toMatchObject({ error: 'schema_mismatch' });
    for (const response of [good, refused]) {
      expect(response.from).toBe(keyPair.nodeId);
      expect(await verifyPayload(response, keyPair.nodeId)).toBe(true);
    }
    node.stop();
  });
});
