/** B2-B4: rooms per community, session replacement, signed signal forwarding and opaque relay forwarding. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, MAX_FRAME_BYTES, rfc3339, signPayload, verifyPayload } from '../../src/lib/core/index.js';
import { getJson, joinAs, signedHello, signedSignal, startTestBridge, TestClient, waitFor, type TestBridge } from './helpers.js';

describe('B2 rooms', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await startTestBridge();
  });
  afterAll(() => bridge.close());

  it('B2: welcome lists the room; peer-joined and peer-left reach only the same community', async () => {
    const alice = await joinAs(bridge.wsUrl, { community: 'oak-street', display_name: 'Alice' });
    const outsider = await joinAs(bridge.wsUrl, { community: 'elm-street' });
    const bob = await joinAs(bridge.wsUrl, { community: 'oak-street', display_name: 'Bob' });

    const bobWelcome = bob.ofType('welcome')[0];
    expect(bobWelcome.peers).toEqual([{ node_id: alice.keyPair!.nodeId, display_name: 'Alice', profile: 'spark' }]);
    const joined = await alice.next((m) => m.t === 'peer-joined', 'peer-joined');
    expect(joined.peer).toEqual({ node_id: bob.keyPair!.nodeId, display_name: 'Bob', profile: 'spark' });
    expect(outsider.ofType('welcome')[0].peers).toEqual([]);

    const health = await getJson(`${bridge.handle.httpUrl}/health`);
    expect(health).toMatchObject({ clients: 3, rooms: 2 });

    bob.close();
    const left = await alice.next((m) => m.t === 'peer-left', 'peer-left');
    expect(left).toEqual({ t: 'peer-left', node_id: bob.keyPair!.nodeId });
    // The outsider never heard of Bob at all.
    expect(outsider.received.map((m) => m.t)).toEqual(['challenge', 'welcome']);
    alice.close();
    outsider.close();
    await waitFor(async () => (await getJson(`${bridge.handle.httpUrl}/health`)).clients === 0, 'room to empty');
  });

  it('B2: a second session with the same NodeID replaces the first', async () => {
    const keyPair = await generateKeyPair();
    const watcher = await joinAs(bridge.wsUrl, { community: 'replace' });
    const first = await joinAs(bridge.wsUrl, { community: 'replace', keyPair });
    await watcher.next((m) => m.t === 'peer-joined', 'first joined');

    const second = await joinAs(bridge.wsUrl, { community: 'replace', keyPair });
    expect(await first.waitClosed()).toBe(4000);
    expect(second.ofType('welcome')[0].peers).toEqual([expect.objectContaining({ node_id: watcher.keyPair!.nodeId })]);
    await waitFor(() => watcher.ofType('peer-joined').length === 2, 'second peer-joined');
    // The watcher sees the old session leave before the new one joins, and only once.
    expect(watcher.received.slice(2).map((m) => m.t)).toEqual(['peer-joined', 'peer-left', 'peer-joined']);

    // The replaced socket's late close must not announce the live session as gone.
    const frame = JSON.stringify({ t: 'manifest' });
    watcher.send({ t: 'relay', to: keyPair.nodeId, frame });
    await second.next((m) => m.t === 'relay', 'relay to the new session');
    expect(watcher.ofType('peer-left')).toHaveLength(1);
    const health = await getJson(`${bridge.handle.httpUrl}/health`);
    expect(health.traffic.replaced).toBeGreaterThanOrEqual(1);
    watcher.close();
    second.close();
  });
});

describe('B3 signal and B4 relay forwarding', () => {
  let bridge: TestBridge;
  let alice: TestClient;
  let bob: TestClient;
  let carol: TestClient; // another community

  beforeAll(async () => {
    bridge = await startTestBridge();
    alice = await joinAs(bridge.wsUrl, { community: 'c1' });
    bob = await joinAs(bridge.wsUrl, { community: 'c1' });
    carol = await joinAs(bridge.wsUrl, { community: 'c2' });
  });
  afterAll(() => bridge.close());

  const errorAfter = async (client: TestClient, send: () => void, what: string) => {
    const seen = client.ofType('error').length;
    send();
    await waitFor(() => client.ofType('error').length > seen, what);
    return client.ofType('error')[seen];
  };

  it('B3: forwards a signed signal as {t, from, signal}; the receiver can verify it', async () => {
    const signal = await signedSignal(alice.keyPair!, bob.keyPair!.nodeId);
    alice.send({ t: 'signal', to: bob.keyPair!.nodeId, signal });
    const got = await bob.next((m) => m.t === 'signal', 'signal');
    expect(got).toEqual({ t: 'signal', from: alice.keyPair!.nodeId, signal });
    expect(await verifyPayload(got.signal, got.from)).toBe(true);
  });

  it('B3: refuses a signal whose from is not the sender (spoofed) with invalid_signature', async () => {
    // Alice claims to be Bob; the signature is even valid (hers), but `from` is not her session's NodeID.
    const spoof = await signPayload({ from: bob.keyPair!.nodeId, to: bob.keyPair!.nodeId, timestamp: rfc3339(Date.now()), data: {} }, alice.keyPair!);
    const error = await errorAfter(alice, () => alice.send({ t: 'signal', to: bob.keyPair!.nodeId, signal: spoof }), 'spoof refusal');
    expect(error.error.error).toBe('invalid_signature');
    expect((await getJson(`${bridge.handle.httpUrl}/health`)).counters.spoofed_from).toBeGreaterThanOrEqual(1);
  });

  it('B3: refuses a forged or unsigned signal with invalid_signature', async () => {
    const mallory = await generateKeyPair();
    const forged = await signPayload({ from: alice.keyPair!.nodeId, to: bob.keyPair!.nodeId, timestamp: rfc3339(Date.now()), data: { x: 1 } }, mallory);
    let error = await errorAfter(alice, () => alice.send({ t: 'signal', to: bob.keyPair!.nodeId, signal: forged }), 'forged refusal');
    expect(error.error.error).toBe('invalid_signature');
    const { signature: _s, ...unsigned } = forged;
    error = await errorAfter(alice, () => alice.send({ t: 'signal', to: bob.keyPair!.nodeId, signal: unsigned }), 'unsigned refusal');
    expect(error.error.error).toBe('invalid_signature');
    const tampered = { ...(await signedSignal(alice.keyPair!, bob.keyPair!.nodeId)), data: { type: 'offer', sdp: 'evil' } };
    error = await errorAfter(alice, () => alice.send({ t: 'signal', to: bob.keyPair!.nodeId, signal: tampered }), 'tampered refusal');
    expect(error.error.error).toBe('invalid_signature');
    expect(bob.ofType('signal')).toHaveLength(1); // only the genuine one from the first test
  });

  it('B3: refuses a signal whose inner to differs from the outer to', async () => {
    const signal = await signedSignal(alice.keyPair!, carol.keyPair!.nodeId);
    const error = await errorAfter(alice, () => alice.send({ t: 'signal', to: bob.keyPair!.nodeId, signal }), 'to mismatch');
    expect(error.error.error).toBe('bad_request');
  });

  it('B3/B4: a target in another community or not connected is not_found', async () => {
    const signal = await signedSignal(alice.keyPair!, carol.keyPair!.nodeId);
    let error = await errorAfter(alice, () => alice.send({ t: 'signal', to: carol.keyPair!.nodeId, signal }), 'cross-room signal');
    expect(error.error.error).toBe('not_found');
    error = await errorAfter(alice, () => alice.send({ t: 'relay', to: carol.keyPair!.nodeId, frame: '{}' }), 'cross-room relay');
    expect(error.error.error).toBe('not_found');
    const ghost = await generateKeyPair();
    error = await errorAfter(alice, () => alice.send({ t: 'relay', to: ghost.nodeId, frame: '{}' }), 'unknown target');
    expect(error.error.error).toBe('not_found');
    expect(carol.ofType('signal').concat(carol.ofType('relay'))).toEqual([]);
  });

  it('B4: forwards an opaque frame as {t, from, frame}, byte for byte, up to 64 KiB', async () => {
    const frame = JSON.stringify({ t: 'call', call: { body: 'ü'.repeat(100) } });
    bob.send({ t: 'relay', to: alice.keyPair!.nodeId, frame });
    expect(await alice.next((m) => m.t === 'relay', 'relay')).toEqual({ t: 'relay', from: bob.keyPair!.nodeId, frame });

    const biggest = 'x'.repeat(MAX_FRAME_BYTES);
    bob.send({ t: 'relay', to: alice.keyPair!.nodeId, frame: biggest });
    await waitFor(() => alice.ofType('relay').find((m) => m.frame === biggest), 'a 64 KiB frame');

    const error = await errorAfter(bob, () => bob.send({ t: 'relay', to: alice.keyPair!.nodeId, frame: `${biggest}x` }), 'frame too large');
    expect(error.error.error).toBe('bad_request');
    expect(alice.ofType('relay')).toHaveLength(2);
    expect((await getJson(`${bridge.handle.httpUrl}/health`)).traffic.relays_forwarded).toBe(2);
  });

  it('B4: frames from one sender arrive in the order sent, even interleaved with signals', async () => {
    const before = alice.ofType('relay').length;
    const signal = await signedSignal(bob.keyPair!, alice.keyPair!.nodeId, { candidate: 'c' });
    for (let i = 0; i < 20; i++) {
      bob.send({ t: 'relay', to: alice.keyPair!.nodeId, frame: String(i) });
      if (i === 5) bob.send({ t: 'signal', to: alice.keyPair!.nodeId, signal });
    }
    await waitFor(() => alice.ofType('relay').length === before + 20, '20 frames');
    const order = alice.received.filter((m) => m.t === 'relay' || m.t === 'signal').slice(-21).map((m) => (m.t === 'signal' ? 'S' : m.frame));
    expect(order).toEqual(['0', '1', '2', '3', '4', '5', 'S', ...Array.from({ length: 14 }, (_, i) => String(i + 6))]);
  });

  it('accepts the hello of a new client while others talk (sanity: no cross-talk in welcome)', async () => {
    const dave = await TestClient.connect(bridge.wsUrl);
    const { nonce } = await dave.challenge();
    const keyPair = await generateKeyPair();
    dave.send({ t: 'hello', hello: await signedHello(keyPair, nonce, { community: 'c2' }) });
    const welcome = await dave.next((m) => m.t === 'welcome', 'welcome');
    expect(welcome.peers.map((p: { node_id: string }) => p.node_id)).toEqual([carol.keyPair!.nodeId]);
    dave.close();
  });
});
