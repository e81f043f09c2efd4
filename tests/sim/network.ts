/**
 * A seeded simulated mesh: N real nodes (createNode) over in-memory links, all on one VirtualTime. Every link has
 * its own PRNG stream derived from the network seed, so a run with the same seed and the same steps repeats exactly.
 */
import type { MembershipView, RateLimits } from '../../src/lib/bus/index.js';
import { keyPairFromSeed, type KeyPair } from '../../src/lib/core/index.js';
import { createNode, type HearthNode, type NodeLog } from '../../src/lib/node/index.js';
import { createMemoryLinkPair, deriveSeed, mulberry32, type LinkConditions, type MemoryLinkPair } from '../../src/lib/transport/index.js';
import { VirtualTime } from './virtual-time.js';

export interface SimNetworkOptions {
  size: number;
  seed: number;
  /** Default conditions of every link. */
  conditions?: Partial<LinkConditions>;
  probeIntervalMs?: number;
  communityId?: string;
  log?: NodeLog;
  /** Inbound call budgets of every node; default the X01 numbers. */
  rateLimits?: RateLimits;
  /** Node `index`'s view of who is trusted how far; undefined (the default) is the interim rule: self, admitted peers are members. */
  membership?: (index: number, net: SimNetwork) => MembershipView | undefined;
}

export function seedBytes(seed: number, index: number): Uint8Array {
  const rng = mulberry32(deriveSeed(seed, 'key', index));
  return Uint8Array.from({ length: 32 }, () => Math.floor(rng() * 256));
}

export class SimNetwork {
  readonly time = new VirtualTime();
  readonly nodes: HearthNode[] = [];
  readonly keys: KeyPair[] = [];
  private readonly pairs = new Map<string, MemoryLinkPair>();
  private connections = 0;

  private constructor(private readonly options: SimNetworkOptions) {}

  static async create(options: SimNetworkOptions): Promise<SimNetwork> {
    const net = new SimNetwork(options);
    for (let i = 0; i < options.size; i++) {
      const keyPair = await keyPairFromSeed(seedBytes(options.seed, i));
      net.keys.push(keyPair);
      net.nodes.push(
        createNode({
          keyPair,
          clock: net.time,
          scheduler: net.time,
          displayName: `node ${i}`,
          profile: 'spark',
          communityId: options.communityId ?? 'sim:community',
          probeIntervalMs: options.probeIntervalMs,
          log: options.log,
          rateLimits: options.rateLimits,
          membership: options.membership?.(i, net)
        })
      );
    }
    await Promise.all(net.nodes.map((node) => node.ready));
    return net;
  }

  nodeId(index: number): string {
    return this.keys[index].nodeId;
  }

  /** Opens a fresh link pair between i and j (replacing a closed one). */
  connect(i: number, j: number, conditions: Partial<LinkConditions> = {}): MemoryLinkPair {
    const [a, b] = i < j ? [i, j] : [j, i];
    const id = `sim${++this.connections}:${a}-${b}`;
    const pair = createMemoryLinkPair(this.nodeId(a), this.nodeId(b), {
      id,
      rng: mulberry32(deriveSeed(this.options.seed, 'link', id)),
      scheduler: this.time,
      clock: this.time,
      ...this.options.conditions,
      ...conditions
    });
    this.pairs.set(`${a}-${b}`, pair);
    this.nodes[a].addLink(pair.a);
    this.nodes[b].addLink(pair.b);
    return pair;
  }

  connectAll(): void {
    for (let i = 0; i < this.nodes.length; i++) for (let j = i + 1; j < this.nodes.length; j++) this.connect(i, j);
  }

  pair(i: number, j: number): MemoryLinkPair {
    const pair = this.pairs.get(i < j ? `${i}-${j}` : `${j}-${i}`);
    if (!pair) throw new Error(`no link between ${i} and ${j}`);
    return pair;
  }

  /** Silently loses every frame between the two groups; links stay open, as when a carrier fails unnoticed. */
  partition(groupA: number[], groupB: number[]): void {
    for (const i of groupA) for (const j of groupB) this.pair(i, j).setPartitioned(true);
  }

  heal(): void {
    for (const pair of this.pairs.values()) pair.setPartitioned(false);
  }

  /** The node ids that node `i` currently lists as peers, sorted. */
  peersOf(i: number): string[] {
    return this.nodes[i]
      .peers()
      .map((p) => p.nodeId)
      .sort();
  }

  /** Everyone except `i`, sorted: what a fully connected node should list. */
  othersOf(i: number, group: number[] = this.nodes.map((_, k) => k)): string[] {
    return group
      .filter((k) => k !== i)
      .map((k) => this.nodeId(k))
      .sort();
  }

  run(ms: number): Promise<void> {
    return this.time.advance(ms);
  }

  stop(): void {
    for (const node of this.nodes) node.stop();
  }
}
