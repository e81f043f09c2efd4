/**
 * Real nodes (createNode over memory links, one VirtualTime) each running the file service over its own in-memory
 * blob store, for the file.* tests. Stores count their reads, so a test can see what a server read.
 */
import { expect } from 'vitest';
import type { MembershipView } from '../../../src/lib/bus/index.js';
import { BlobStore, MemoryChunkStore, fileCapabilities, type FileServiceOptions } from '../../../src/lib/blobs/index.js';
import type { StreamEvent } from '../../../src/lib/transport/index.js';
import { SimNetwork } from '../../sim/network.js';

/** A MemoryChunkStore that records every read. */
export class CountingChunkStore extends MemoryChunkStore {
  readonly gets: string[] = [];
  override async get(cid: string): Promise<Uint8Array | undefined> {
    this.gets.push(cid);
    return super.get(cid);
  }
}

export interface FileNode {
  index: number;
  id: string;
  store: BlobStore;
  chunks: CountingChunkStore;
  /** What file.advertise handed to onAdvertise. */
  advertised: { from: string; cids: readonly string[] }[];
}

export interface FileMeshOptions {
  size: number;
  /** Node i's view of callers; default the interim rule (admitted peers are members). */
  membership?: (index: number, net: SimNetwork) => MembershipView | undefined;
  capacityBytes?: (index: number) => number | undefined;
  /** Nodes that do not run the file service (a test registers its own file.read there). */
  without?: number[];
}

export async function fileMesh(options: FileMeshOptions): Promise<{ net: SimNetwork; nodes: FileNode[] }> {
  const net = await SimNetwork.create({ size: options.size, seed: 31, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000, membership: options.membership });
  const nodes: FileNode[] = [];
  for (let index = 0; index < options.size; index++) {
    const chunks = new CountingChunkStore();
    const store = await BlobStore.open(chunks);
    const node: FileNode = { index, id: net.nodeId(index), store, chunks, advertised: [] };
    nodes.push(node);
    if (options.without?.includes(index)) continue;
    const service: FileServiceOptions = {
      store,
      clock: net.time,
      selfId: node.id,
      bus: net.nodes[index].bus,
      capacityBytes: options.capacityBytes?.(index),
      onAdvertise: (from, cids) => node.advertised.push({ from, cids })
    };
    for (const registration of fileCapabilities(service)) net.nodes[index].register(registration);
  }
  net.connectAll();
  await net.run(100);
  return { net, nodes };
}

/** A level for everyone but ourselves: how a community would rank its members. */
export const everyoneIs = (level: 'member' | 'trusted') => (index: number, net: SimNetwork): MembershipView => ({
  levelOf: (nodeId) => (nodeId === net.nodeId(index) ? 'self' : level)
});

export const readBody = (cid: unknown, extra: Record<string, unknown> = {}) => ({ params: {}, input: { cid, ...extra } });

export const same = (a: Uint8Array, b: Uint8Array) => expect(a.length === b.length && Buffer.compare(a, b) === 0).toBe(true);

/** The bytes the chunk events carried, in order, joined. */
export function joined(events: StreamEvent[]): Uint8Array {
  const parts = events.filter((e) => e.event === 'chunk').map((e) => (e.data as { bytes: Uint8Array }).bytes);
  return Buffer.concat(parts);
}
