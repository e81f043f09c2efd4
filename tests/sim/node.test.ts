import { afterEach, describe, expect, it } from 'vitest';
import { parseRfc3339, verifyNodeManifest } from '../../src/lib/core/index.js';
import { createMemoryLinkPair } from '../../src/lib/transport/index.js';
import { SimNetwork } from './network.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

let net: SimNetwork;
afterEach(() => net?.stop());

async function mesh(size: number, probeIntervalMs?: number): Promise<SimNetwork> {
  net = await SimNetwork.create({ size, seed: 21, conditions: { delayMs: 5 }, probeIntervalMs });
  net.connectAll();
  await net.run(50);
  return net;
}

describe('createNode', () => {
  it('P1: setDisplayName re-publishes the manifest to every link at once', async () => {
    await mesh(3, 3_600_000);
    await net.time.resolve(net.nodes[0].setDisplayName('Zed'));
    await net.run(20);
    for (const i of [1, 2]) expect(net.nodes[i].peers().find((p) => p.nodeId === net.nodeId(0))?.displayName).toBe('Zed');
    expect(net.nodes[0].identity()).toMatchObject({ displayName: 'Zed', nodeId: net.nodeId(0), profile: 'spark', communityId: 'sim:community' });
  });

  it('refuses an empty or over-long display name with bad_request', async () => {
    await mesh(1);
    await expect(net.nodes[0].setDisplayName('  ')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(net.nodes[0].setDisplayName('x'.repeat(65))).rejects.toMatchObject({ code: 'bad_request' });
    expect(net.nodes[0].identity().displayName).toBe('node 0');
  });

  it('P1, W6: republishes every 20 s, so peers always hold an unexpired manifest', async () => {
    await mesh(2, 3_600_000);
    const issued: string[] = [];
    for (let step = 0; step < 6; step++) {
      await net.run(10_000);
      const [peer] = net.nodes[1].peers();
      expect(parseRfc3339(peer.manifest.expires_at)).toBeGreaterThanOrEqual(net.time.now());
      await expect(verifyNodeManifest(peer.manifest, net.time)).resolves.toBeTruthy();
      issued.push(peer.manifest.issued_at);
    }
    // Sampled at 10, 20, ... 60 s: issued at 0, 20, 40 and 60 s.
    expect([...new Set(issued)]).toEqual(['2026-01-01T00:00:00Z', '2026-01-01T00:00:20Z', '2026-01-01T00:00:40Z', '2026-01-01T00:01:00Z']);
    expect(net.nodes[1].peers()[0].manifest.uptime_seconds).toBe(60);
  });

  it('probes every peer every 5 s and records RTT and last-seen time', async () => {
    await mesh(3);
    await net.run(5_000);
    for (const node of net.nodes) {
      for (const peer of node.peers()) {
        expect(peer.rttMs).toBe(10);
        expect(net.time.now() - peer.lastSeenMs).toBeLessThan(100);
      }
    }
  });

  it('P7: keeps a peer while another link to it is open, preferring the better path', async () => {
    await mesh(2, 3_600_000);
    const relay = createMemoryLinkPair(net.nodeId(0), net.nodeId(1), { id: 'relay', path: 'relay', scheduler: net.time, clock: net.time, delayMs: 20 });
    net.nodes[0].addLink(relay.a);
    net.nodes[1].addLink(relay.b);
    await net.run(100);
    expect(net.nodes[0].peers()[0]).toMatchObject({ path: 'relay', links: [{ path: 'memory' }, { path: 'relay' }] });
    expect(await net.time.resolve(net.nodes[0].ping(net.nodeId(1)))).toEqual({ rttMs: 40, path: 'relay' });
    relay.close();
    await net.run(10);
    expect(net.nodes[0].peers()[0]).toMatchObject({ path: 'memory', links: [{ path: 'memory' }] });
    expect(await net.time.resolve(net.nodes[0].ping(net.nodeId(1)))).toEqual({ rttMs: 10, path: 'memory' });
    net.pair(0, 1).close();
    await net.run(10);
    expect(net.nodes[0].peers()).toEqual([]);
  });

  it('refuses a link to itself and ignores a link added twice', async () => {
    await mesh(2, 3_600_000);
    const self = createMemoryLinkPair(net.nodeId(0), net.nodeId(0), { id: 'self' });
    net.nodes[0].addLink(self.a);
    expect(self.a.closed).toBe(true);
    net.nodes[0].addLink(net.pair(0, 1).a);
    await net.run(100);
    expect(net.nodes[0].peers()).toHaveLength(1);
    expect(net.nodes[1].stats()).toMatchObject({ bad_request: 0, invalid_signature: 0 });
  });

  it('P7: stop() closes every link, so peers drop the node at once', async () => {
    await mesh(3, 3_600_000);
    net.nodes[0].stop();
    await net.run(10);
    expect(net.nodes[0].peers()).toEqual([]);
    for (const i of [1, 2]) expect(net.peersOf(i)).toEqual([net.nodeId(1 === i ? 2 : 1)]);
    await expect(net.nodes[0].call(net.nodeId(1), 'experimental.ping', '1.0', { input: {} })).rejects.toMatchObject({ code: 'partition' });
  });

  it('emits added, updated and removed events to subscribers, and unsubscribes', async () => {
    net = await SimNetwork.create({ size: 2, seed: 22, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000 });
    const events: string[] = [];
    const unsubscribe = net.nodes[0].subscribe((e) => events.push(`${e.kind} ${e.peer.displayName}`));
    net.connectAll();
    await net.run(100);
    await net.time.resolve(net.nodes[1].setDisplayName('Bea'));
    await net.run(100);
    net.pair(0, 1).close();
    await net.run(10);
    unsubscribe();
    net.connect(0, 1);
    await net.run(100);
    expect(events).toEqual(['added node 1', 'updated Bea', 'removed Bea']);
  });
});
