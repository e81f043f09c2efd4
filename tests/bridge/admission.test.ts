/** B1: challenge, signed hello, and everything that must be refused before admission. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, isFullNodeId, rfc3339, signPayload, type KeyPair } from '../../src/lib/core/index.js';
import { getJson, signedHello, startTestBridge, TestClient, type TestBridge } from './helpers.js';

describe('B1 admission', () => {
  let bridge: TestBridge;
  let alice: KeyPair;
  let mallory: KeyPair;

  beforeAll(async () => {
    bridge = await startTestBridge();
    alice = await generateKeyPair();
    mallory = await generateKeyPair();
  });
  afterAll(() => bridge.close());

  const counters = async () => (await getJson(`${bridge.handle.httpUrl}/health`)).counters;

  it('B1: sends a challenge with a fresh 32-byte base64url nonce and the bridge identity', async () => {
    const a = await TestClient.connect(bridge.wsUrl);
    const b = await TestClient.connect(bridge.wsUrl);
    const [ca, cb] = [await a.challenge(), await b.challenge()];
    expect(ca.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ca.nonce).not.toBe(cb.nonce);
    expect(ca.bridge).toEqual({ node_id: bridge.handle.nodeId, name: 'test-bridge', version: '0.1.0' });
    expect(isFullNodeId(ca.bridge.node_id)).toBe(true);
    a.close();
    b.close();
  });

  it('B1/B2: admits a hello signed by the device key and answers welcome', async () => {
    const client = await TestClient.connect(bridge.wsUrl, alice);
    const { nonce } = await client.challenge();
    client.send({ t: 'hello', hello: await signedHello(alice, nonce) });
    const welcome = await client.next((m) => m.t === 'welcome', 'welcome');
    expect(welcome).toEqual({ t: 'welcome', peers: [], limits: { messages_per_second: 400 } });
    expect((await getJson(`${bridge.handle.httpUrl}/health`)).clients).toBe(1);
    client.close();
    await client.waitClosed();
  });

  /** Sends `hello` and expects one typed error followed by the bridge closing the socket. */
  async function expectRefused(makeHello: (nonce: string) => Promise<unknown>, code: string): Promise<void> {
    const client = await TestClient.connect(bridge.wsUrl, alice);
    const { nonce } = await client.challenge();
    client.send({ t: 'hello', hello: await makeHello(nonce) });
    const error = await client.next((m) => m.t === 'error', `${code} error`);
    expect(error.error.error).toBe(code);
    expect(typeof error.error.message).toBe('string');
    expect(await client.waitClosed()).toBe(1008);
    expect(client.ofType('welcome')).toEqual([]);
  }

  it('B1: wrong nonce → bad_request, then close', async () => {
    const before = (await counters()).wrong_nonce;
    await expectRefused(async () => signedHello(alice, 'A'.repeat(43)), 'bad_request');
    expect((await counters()).wrong_nonce).toBe(before + 1);
  });

  it('B1: timestamp more than 60 s old or ahead → expired, then close', async () => {
    await expectRefused(async (nonce) => signedHello(alice, nonce, { timestamp: rfc3339(Date.now() - 61_000) }), 'expired');
    await expectRefused(async (nonce) => signedHello(alice, nonce, { timestamp: rfc3339(Date.now() + 90_000) }), 'expired');
  });

  it('B1: a hello signed by another key (forged) → invalid_signature, then close', async () => {
    await expectRefused(async (nonce) => {
      const forged = await signedHello(mallory, nonce);
      return { ...forged, node_id: alice.nodeId }; // claims alice, signed by mallory
    }, 'invalid_signature');
  });

  it('B1: a hello altered after signing → invalid_signature', async () => {
    await expectRefused(async (nonce) => ({ ...(await signedHello(alice, nonce)), community: 'other' }), 'invalid_signature');
  });

  it('B1: an unsigned hello → invalid_signature, then close', async () => {
    await expectRefused(async (nonce) => {
      const { signature: _dropped, ...unsigned } = await signedHello(alice, nonce);
      return unsigned;
    }, 'invalid_signature');
  });

  it('B1: a hello of the wrong shape → bad_request, then close', async () => {
    await expectRefused(async (nonce) => signedHello(alice, nonce, { profile: 'superuser' }), 'bad_request');
    await expectRefused(async (nonce) => ({ ...(await signedHello(alice, nonce)), node_id: alice.shortId }), 'bad_request');
    await expectRefused(async () => 'hello', 'bad_request');
  });

  it('B1: nothing but hello before admission (unauthorized); hello still works afterwards', async () => {
    const client = await TestClient.connect(bridge.wsUrl, alice);
    const { nonce } = await client.challenge();
    client.send({ t: 'relay', to: mallory.nodeId, frame: '{}' });
    client.send({ t: 'signal', to: mallory.nodeId, signal: await signPayload({ from: alice.nodeId, to: mallory.nodeId, timestamp: rfc3339(Date.now()), data: {} }, alice) });
    await client.next((m) => m.t === 'error' && m.error.error === 'unauthorized', 'unauthorized');
    client.send({ t: 'hello', hello: await signedHello(alice, nonce) });
    await client.next((m) => m.t === 'welcome', 'welcome after unauthorized');
    expect(client.errors('unauthorized')).toHaveLength(2);
    client.close();
  });

  it('B1: a client that never says hello is closed after the hello timeout', async () => {
    const quick = await startTestBridge([], { timing: { helloTimeoutMs: 200 } });
    try {
      const client = await TestClient.connect(quick.wsUrl);
      await client.challenge();
      expect(await client.waitClosed()).toBe(1008);
      expect(client.errors('timeout')).toHaveLength(1);
      expect((await getJson(`${quick.handle.httpUrl}/health`)).counters.hello_timeout).toBe(1);
    } finally {
      await quick.close();
    }
  });

  it('B1: a second hello after admission is refused but the session stays', async () => {
    const client = await TestClient.connect(bridge.wsUrl, alice);
    const { nonce } = await client.challenge();
    const hello = await signedHello(alice, nonce);
    client.send({ t: 'hello', hello });
    client.send({ t: 'hello', hello }); // pipelined right behind the first: handled in order
    await client.next((m) => m.t === 'error', 'already admitted');
    expect(client.received.map((m) => m.t)).toEqual(['challenge', 'welcome', 'error']);
    expect(client.closeCode).toBeNull();
    client.close();
  });
});
