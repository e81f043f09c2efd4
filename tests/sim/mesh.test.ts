import { afterEach, describe, expect, it } from 'vitest';
import { HearthError, verifyNodeManifest } from '../../src/lib/core/index.js';
import { SimNetwork } from './network.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

const SEED = 0x5eed;
/** Every link: 10-40 ms one way, frames overtaking each other freely. */
const JITTERY = { delayMs: 10, jitterMs: 30, reorder: true };

let net: SimNetwork;
afterEach(() => net?.stop());

async function eightNodeMesh(probeIntervalMs?: number): Promise<SimNetwork> {
  net = await SimNetwork.create({ size: 8, seed: SEED, conditions: JITTERY, probeIntervalMs });
  net.connectAll();
  await net.run(1_000);
  return net;
}

/** Settles a call under virtual time into 'ok' or its error code; a hang fails the test via the time limit. */
async function outcome(promise: Promise<unknown>, limitMs = 10_000): Promise<string> {
  return net.time.resolve(promise, limitMs).then(
    () => 'ok',
    (err: unknown) => (err instanceof HearthError ? err.code : String(err))
  );
}

describe('8-node mesh over seeded jittery, reordering links', () => {
  it('P1, W6: every node sees all others within a second, each with a verified manifest', async () => {
    await eightNodeMesh();
    for (let i = 0; i < 8; i++) {
      expect(net.peersOf(i)).toEqual(net.othersOf(i));
      for (const peer of net.nodes[i].peers()) {
        const manifest = await verifyNodeManifest(peer.manifest, net.time);
        expect(manifest.node_id).toBe(peer.nodeId);
        expect(peer.displayName).toBe(`node ${net.keys.findIndex((k) => k.nodeId === peer.nodeId)}`);
      }
      expect(Object.values(net.nodes[i].stats()).every((n) => n === 0)).toBe(true);
    }
  });

  it('probes every peer within 5 s, and each round trip is within the bounds the link delays allow', async () => {
    await eightNodeMesh();
    await net.run(5_000);
    for (const node of net.nodes) {
      for (const peer of node.peers()) {
        expect(peer.rttMs).toBeGreaterThanOrEqual(2 * JITTERY.delayMs);
        expect(peer.rttMs).toBeLessThanOrEqual(2 * (JITTERY.delayMs + JITTERY.jitterMs));
      }
    }
  });

  it('P5: streams arrive whole and in order over links that reorder frames', async () => {
    await eightNodeMesh();
    const result = await net.time.resolve(net.nodes[0].pingStream(net.nodeId(5), 100));
    expect(result.frames).toBe(100);
  });

  it('calls over a dropping link fail with timeout, never hang; lossless links keep working', async () => {
    await eightNodeMesh();
    net.pair(0, 1).setConditions({ dropRate: 1 });
    net.pair(2, 3).setConditions({ dropRate: 0.3 });

    const started = net.time.now();
    expect(await outcome(net.nodes[0].ping(net.nodeId(1)))).toBe('timeout');
    expect(net.time.now() - started).toBeLessThanOrEqual(5_000 + 10);

    // Each ping needs two frames through, so about half succeed; the seed fixes which.
    const lossy: string[] = [];
    for (let i = 0; i < 8; i++) lossy.push(await outcome(net.nodes[2].ping(net.nodeId(3))));
    expect(new Set(lossy)).toEqual(new Set(['ok', 'timeout']));
    expect(await outcome(net.nodes[2].pingStream(net.nodeId(3), 200), 60_000)).toBe('timeout');

    const lossless = net.nodes.flatMap((node, i) =>
      net.nodes.map((_, j) => j).filter((j) => j !== i && !([0, 1].includes(i) && [0, 1].includes(j)) && !([2, 3].includes(i) && [2, 3].includes(j))).map((j) => node.ping(net.nodeId(j)))
    );
    expect(lossless).toHaveLength(56 - 4);
    const results = await net.time.resolve(Promise.all(lossless));
    expect(results.every((r) => r.path === 'memory' && r.rttMs <= 80)).toBe(true);
  });

  it('P7: peers behind a dead link are pruned after 90 s of silence; everyone else stays', async () => {
    await eightNodeMesh();
    net.pair(0, 1).setConditions({ dropRate: 1 });
    await net.run(85_000);
    expect(net.peersOf(0)).toContain(net.nodeId(1));
    await net.run(10_000);
    expect(net.peersOf(0)).toEqual(net.othersOf(0).filter((id) => id !== net.nodeId(1)));
    expect(net.peersOf(1)).toEqual(net.othersOf(1).filter((id) => id !== net.nodeId(0)));
    for (let i = 2; i < 8; i++) expect(net.peersOf(i)).toEqual(net.othersOf(i));
  });
});
