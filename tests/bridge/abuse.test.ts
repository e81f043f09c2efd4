/** B5: garbage, floods, slow readers and dead sockets cost the offender only; everyone else keeps talking. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateKeyPair, type Clock } from '../../src/lib/core/index.js';
import { getJson, joinAs, signedHello, startTestBridge, TestClient, waitFor, type TestBridge } from './helpers.js';

/** A clock the test moves by hand, so "one second" of rate limiting is exact however slow the machine is. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.now();
  return { now: () => now, advance: (ms) => (now += ms) };
}

describe('B5 garbage and floods', () => {
  const clock = manualClock();
  let bridge: TestBridge;
  let alice: TestClient;
  let bob: TestClient;

  beforeAll(async () => {
    bridge = await startTestBridge([], { clock });
    alice = await joinAs(bridge.wsUrl, { community: 'street' });
    bob = await joinAs(bridge.wsUrl, { community: 'street' });
  });
  afterAll(() => bridge.close());

  const health = () => getJson(`${bridge.handle.httpUrl}/health`);

  it('B5: answers each kind of garbage with a typed error, counts it, and keeps the session', async () => {
    const mallory = await joinAs(bridge.wsUrl, { community: 'street' });
    clock.advance(1000); // a fresh budget window for this test
    const cases: [string, () => void, string][] = [
      ['not JSON', () => mallory.send('{"t":'), 'bad_json'],
      ['JSON but not an object', () => mallory.send('[1,2]'), 'bad_shape'],
      ['t not a string', () => mallory.send({ t: 7 }), 'bad_shape'],
      ['unknown t', () => mallory.send({ t: 'takeover' }), 'unknown_type'],
      ['binary', () => mallory.ws.send(Buffer.from([1, 2, 3]), { binary: true }), 'binary'],
      ['over 128 KiB', () => mallory.send({ t: 'relay', to: alice.keyPair!.nodeId, frame: 'x'.repeat(131_072) }), 'oversize'],
      ['relay without frame', () => mallory.send({ t: 'relay', to: alice.keyPair!.nodeId }), 'bad_shape'],
      ['relay to a short id', () => mallory.send({ t: 'relay', to: alice.keyPair!.shortId, frame: '' }), 'bad_shape']
    ];
    for (const [what, send, reason] of cases) {
      const before = (await health()).counters[reason];
      const errorsBefore = mallory.errors('bad_request').length;
      send();
      await waitFor(() => mallory.errors('bad_request').length > errorsBefore, `error for ${what}`);
      expect((await health()).counters[reason], what).toBe(before + 1);
    }
    expect(mallory.closeCode).toBeNull();
    mallory.send({ t: 'relay', to: alice.keyPair!.nodeId, frame: 'still here' });
    await alice.next((m) => m.t === 'relay' && m.frame === 'still here', 'relay after garbage');
    mallory.close();
  });

  it('B5: a message far over the limit closes only that socket (1009) without buffering it', async () => {
    const mallory = await joinAs(bridge.wsUrl, { community: 'street' });
    mallory.send('x'.repeat(300_000));
    expect(await mallory.waitClosed()).toBe(1009);
    await waitFor(async () => (await health()).counters.oversize_closed === 1, 'oversize_closed counted');
    bob.send({ t: 'relay', to: alice.keyPair!.nodeId, frame: 'after the giant' });
    await alice.next((m) => m.frame === 'after the giant', 'relay after giant');
  });

  it('B5: a flood of 2000 messages is cut to 400 a second, reported once, while a neighbour relay still flows', async () => {
    const flooder = await joinAs(bridge.wsUrl, { community: 'street' });
    clock.advance(1000);
    const before = (await health()).counters;
    for (let i = 0; i < 2000; i++) flooder.send(i % 2 === 0 ? 'garbage' : { t: 'nope' });
    for (let i = 0; i < 50; i++) bob.send({ t: 'relay', to: alice.keyPair!.nodeId, frame: `during-flood-${i}` });

    await waitFor(() => alice.received.filter((m) => String(m.frame).startsWith('during-flood-')).length === 50, 'all 50 neighbour frames');
    await waitFor(async () => {
      const c = (await health()).counters;
      return c.rate_limited - before.rate_limited === 1600 && c.bad_json + c.unknown_type - before.bad_json - before.unknown_type === 400;
    }, '2000 messages accounted for');
    await waitFor(() => flooder.errors('bad_request').length === 400, '400 typed errors');
    const limited = flooder.errors('rate_limited');
    expect(limited).toHaveLength(1); // at most one report per second
    expect(limited[0].error.retry_after_ms).toBeGreaterThanOrEqual(0);

    // Next second: a fresh budget, and one more report at most.
    clock.advance(1000);
    for (let i = 0; i < 450; i++) flooder.send({ t: 'nope' });
    await waitFor(() => flooder.errors('bad_request').length === 800, 'next window budget');
    await waitFor(() => flooder.errors('rate_limited').length === 2, 'second report');
    expect(flooder.closeCode).toBeNull();
    expect((await health()).status).toBe('ok');
    flooder.close();
  });
});

describe('B5 limits on clients, slow readers and dead sockets', () => {
  it('refuses clients beyond limits.max_clients with capacity_exceeded', async () => {
    const bridge = await startTestBridge(['--max-clients', '2']);
    try {
      const a = await TestClient.connect(bridge.wsUrl);
      const b = await TestClient.connect(bridge.wsUrl);
      const c = await TestClient.connect(bridge.wsUrl);
      expect(await c.waitClosed()).toBe(1008);
      expect(c.errors('capacity_exceeded')).toHaveLength(1);
      expect(c.ofType('challenge')).toEqual([]);
      expect((await getJson(`${bridge.handle.httpUrl}/health`)).counters.too_many_clients).toBe(1);
      a.close();
      await a.waitClosed();
      await waitFor(async () => (await getJson(`${bridge.handle.httpUrl}/health`)).sockets === 1, 'a slot to free up');
      const d = await TestClient.connect(bridge.wsUrl);
      await d.challenge();
      b.close();
      d.close();
    } finally {
      await bridge.close();
    }
  });

  it('terminates sockets that stop answering pings and keeps live ones', async () => {
    const bridge = await startTestBridge([], { timing: { heartbeatIntervalMs: 100 } });
    try {
      const live = await joinAs(bridge.wsUrl, { community: 'h' });
      let pings = 0;
      live.ws.on('ping', () => pings++);
      const keyPair = await generateKeyPair();
      const dead = await TestClient.connect(bridge.wsUrl, keyPair, { autoPong: false });
      const { nonce } = await dead.challenge();
      dead.send({ t: 'hello', hello: await signedHello(keyPair, nonce, { community: 'h' }) });
      await dead.next((m) => m.t === 'welcome', 'welcome');
      expect(await dead.waitClosed()).toBe(1006);
      await live.next((m) => m.t === 'peer-left', 'peer-left for the dead socket');
      await waitFor(() => pings >= 3, 'live client pinged repeatedly');
      expect(live.closeCode).toBeNull();
      expect((await getJson(`${bridge.handle.httpUrl}/health`)).counters.dead_socket).toBe(1);
      live.close();
    } finally {
      await bridge.close();
    }
  });

  it('drops frames to a peer that stops reading instead of queueing without bound', async () => {
    const bridge = await startTestBridge(['--messages-per-second', '100000']);
    try {
      const reader = await joinAs(bridge.wsUrl, { community: 's' });
      const writer = await joinAs(bridge.wsUrl, { community: 's' });
      (reader.ws as WebSocket & { _socket: { pause(): void } })._socket.pause();
      const frame = 'y'.repeat(60_000);
      for (let round = 0; round < 20 && writer.errors('capacity_exceeded').length === 0; round++) {
        for (let i = 0; i < 100; i++) writer.send({ t: 'relay', to: reader.keyPair!.nodeId, frame });
        await waitFor(async () => (await getJson(`${bridge.handle.httpUrl}/health`)).traffic.relays_forwarded + writer.errors().length >= (round + 1) * 100, 'round handled', 10_000);
      }
      expect(writer.errors('capacity_exceeded').length).toBeGreaterThan(0);
      expect((await getJson(`${bridge.handle.httpUrl}/health`)).counters.target_busy).toBeGreaterThan(0);
      reader.close();
      writer.close();
    } finally {
      await bridge.close();
    }
  });
});
