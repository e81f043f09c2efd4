import { describe, expect, it } from 'vitest';
import { HearthError } from '../../src/lib/core/index.js';
import { SimNetwork } from './network.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

/**
 * A busy little scenario (jitter, reordering, drops, a partition, pings and a stream) reduced to a trace of what
 * every node observed and when. Same seed, same trace: the simulation has no hidden source of nondeterminism.
 */
async function trace(seed: number): Promise<string[]> {
  const net = await SimNetwork.create({ size: 4, seed, conditions: { delayMs: 5, jitterMs: 40, reorder: true, dropRate: 0.1 } });
  const lines: string[] = [];
  net.nodes.forEach((node, i) =>
    node.subscribe((e) => lines.push(`${net.time.now()} n${i} ${e.kind} ${e.peer.displayName} rtt=${e.peer.rttMs}`))
  );
  const settle = async (what: string, promise: Promise<unknown>) => {
    const result = await net.time.resolve(promise, 60_000).then(
      (value) => JSON.stringify(value),
      (err: unknown) => (err instanceof HearthError ? err.code : String(err))
    );
    lines.push(`${net.time.now()} ${what} -> ${result}`);
  };
  net.connectAll();
  await net.run(12_000);
  await settle('stream 0->2', net.nodes[0].pingStream(net.nodeId(2), 40));
  net.partition([0, 1], [2, 3]);
  await settle('ping 1->3', net.nodes[1].ping(net.nodeId(3)));
  await net.run(10_000);
  net.heal();
  await net.run(25_000);
  await settle('ping 3->0', net.nodes[3].ping(net.nodeId(0)));
  net.nodes.forEach((node, i) => lines.push(`n${i} stats ${JSON.stringify(node.stats())}`));
  net.stop();
  return lines;
}

describe('simulation determinism', () => {
  it('the same seed replays the same trace, event for event; another seed does not', async () => {
    const first = await trace(1234);
    if (process.env.PRINT_TRACE) console.log(first.join('\n'));
    expect(first.length).toBeGreaterThan(30);
    expect(await trace(1234)).toEqual(first);
    expect(await trace(4321)).not.toEqual(first);
  });
});
