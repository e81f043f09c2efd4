import { afterEach, describe, expect, it } from 'vitest';
import { PEER_PRUNE_AFTER_SECONDS, PEER_PRUNE_AFTER_SECONDS_OFFLINE } from '../../src/lib/core/index.js';
import { MANIFEST_REPUBLISH_INTERVAL_MS, PRUNE_CHECK_INTERVAL_MS } from '../../src/lib/node/index.js';
import { SimNetwork } from './network.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

const LEFT = [0, 1, 2, 3];
const RIGHT = [4, 5, 6, 7];
const ALL = [...LEFT, ...RIGHT];

let net: SimNetwork;
afterEach(() => net?.stop());

async function splitMesh(seed: number): Promise<SimNetwork> {
  net = await SimNetwork.create({ size: 8, seed, conditions: { delayMs: 10, jitterMs: 30, reorder: true } });
  net.connectAll();
  await net.run(1_000);
  return net;
}

function seesExactly(group: number[]): boolean {
  return group.every((i) => JSON.stringify(net.peersOf(i)) === JSON.stringify(net.othersOf(i, group)));
}

function everyoneSeesEveryone(): boolean {
  return ALL.every((i) => JSON.stringify(net.peersOf(i)) === JSON.stringify(net.othersOf(i)));
}

describe('partition and heal (P7)', () => {
  it('P7: a partition prunes the far side after 90 s; a heal restores everyone within one republish', async () => {
    await splitMesh(7);
    expect(everyoneSeesEveryone()).toBe(true);
    const splitAt = net.time.now();
    net.partition(LEFT, RIGHT);

    await net.run(PEER_PRUNE_AFTER_SECONDS * 1000 - 5_000);
    expect(everyoneSeesEveryone()).toBe(true);
    const pruneTook = (await net.time.until(() => seesExactly(LEFT) && seesExactly(RIGHT), 20_000, 100)) + PEER_PRUNE_AFTER_SECONDS * 1000 - 5_000;
    expect(pruneTook).toBeGreaterThan(PEER_PRUNE_AFTER_SECONDS * 1000 - 1_000); // last frames crossed just before the split
    expect(pruneTook).toBeLessThanOrEqual(PEER_PRUNE_AFTER_SECONDS * 1000 + PRUNE_CHECK_INTERVAL_MS);

    net.heal();
    const healTook = await net.time.until(everyoneSeesEveryone, 30_000, 100);
    expect(healTook).toBeLessThanOrEqual(MANIFEST_REPUBLISH_INTERVAL_MS + 100);
    const results = await net.time.resolve(Promise.all(RIGHT.map((j) => net.nodes[0].ping(net.nodeId(j)))));
    expect(results.every((r) => r.rttMs >= 20 && r.rttMs <= 80)).toBe(true);
    expect(net.time.now() - splitAt).toBeLessThan(150_000);
  });

  it('P7: in emergency mode the far side is pruned after 30 s instead', async () => {
    await splitMesh(8);
    for (const node of net.nodes) node.setEmergency(true);
    net.partition(LEFT, RIGHT);
    await net.run(PEER_PRUNE_AFTER_SECONDS_OFFLINE * 1000 - 5_000);
    expect(everyoneSeesEveryone()).toBe(true);
    await net.run(5_000 + PRUNE_CHECK_INTERVAL_MS + 1_000);
    expect(seesExactly(LEFT) && seesExactly(RIGHT)).toBe(true);
    net.heal();
    await net.time.until(everyoneSeesEveryone, MANIFEST_REPUBLISH_INTERVAL_MS + 100, 100);
  });

  it('P7: leaving emergency mode goes back to the 90 s grace', async () => {
    await splitMesh(9);
    for (const node of net.nodes) node.setEmergency(true);
    for (const node of net.nodes) node.setEmergency(false);
    net.partition(LEFT, RIGHT);
    await net.run(60_000);
    expect(everyoneSeesEveryone()).toBe(true);
  });
});
