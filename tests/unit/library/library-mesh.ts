/**
 * Real library nodes for the LibraryNode tests: createNode over memory links (SimNetwork, one VirtualTime), each
 * with a LibraryNode over its own MemoryChunkStore (counting reads), in-memory name and corpus stores, and the
 * product's zero-download embedder. `openRoom` is the room without a community; `communityMesh` founds a real
 * Community on node 0 (LibraryView among its views), runs the real community services on every node and joins the
 * others by addressed invites, as the composition root does.
 */
import { keyPairFromSeed, ulidGenerator } from '../../../src/lib/core/index.js';
import type { CapabilityRegistration, MembershipView } from '../../../src/lib/bus/index.js';
import { Community, type InviteCredential } from '../../../src/lib/community/index.js';
import { HashedNgramEmbedder } from '../../../src/lib/embed/index.js';
import { MemoryEventStore } from '../../../src/lib/events/index.js';
import { LIBRARY_VIEW_NAME, LibraryNode, type FileMeta, type FileMetaStore, type LibraryCommunity, type LibraryNodeOptions, type LibraryView } from '../../../src/lib/library/index.js';
import { communityViews, startCommunityServices, type CommunityServices } from '../../../src/lib/node/index.js';
import type { CorpusStore, EmbedFn } from '../../../src/lib/rag/index.js';
import { SimNetwork, seedBytes } from '../../sim/network.js';
import { CountingChunkStore } from '../blobs/file-mesh.js';

/** FileMetaStore and CorpusStore in memory; snapshots go through JSON as they would to disk. */
export class MemoryLibraryStore implements FileMetaStore, CorpusStore {
  readonly metas = new Map<string, FileMeta>();
  readonly corpora = new Map<string, string>();
  async all(): Promise<FileMeta[]> {
    return [...this.metas.values()].map((m) => ({ ...m }));
  }
  async put(meta: FileMeta): Promise<void> {
    this.metas.set(meta.cid, { ...meta });
  }
  async delete(cid: string): Promise<void> {
    this.metas.delete(cid);
  }
  async loadAll(): Promise<Record<string, unknown>> {
    return Object.fromEntries([...this.corpora].map(([name, json]) => [name, JSON.parse(json)]));
  }
  async save(name: string, snapshot: unknown): Promise<void> {
    this.corpora.set(name, JSON.stringify(snapshot));
  }
}

const hashed = new HashedNgramEmbedder();
export const embed: EmbedFn = async (texts) => ({ model: hashed.model, vectors: await hashed.embed(texts, new AbortController().signal) });

export interface LibraryPeer {
  index: number;
  id: string;
  library: LibraryNode;
  chunks: CountingChunkStore;
  store: MemoryLibraryStore;
  /** The file.advertise registration as the node offers it (to call its handler as many distinct callers). */
  advertise: CapabilityRegistration;
}

export async function libraryOn(net: SimNetwork, index: number, extra: Partial<LibraryNodeOptions> = {}): Promise<LibraryPeer> {
  const node = net.nodes[index];
  const chunks = new CountingChunkStore();
  const store = new MemoryLibraryStore();
  let advertise: CapabilityRegistration | undefined;
  const library = await LibraryNode.open({
    selfId: net.nodeId(index),
    clock: net.time,
    bus: node.bus,
    register: (registration) => {
      if (registration.name === 'file.advertise') advertise = registration;
      return node.register(registration);
    },
    chunks,
    corpora: store,
    files: store,
    embed,
    community: () => null,
    onlinePeers: () => node.peers().map((p) => p.nodeId),
    ...extra
  });
  return { index, id: net.nodeId(index), library, chunks, store, advertise: advertise! };
}

/** `size` nodes, all linked, no community (the interim rule: every admitted peer is a member). */
export async function openRoom(size: number, seed: number): Promise<{ net: SimNetwork; peers: LibraryPeer[] }> {
  const net = await SimNetwork.create({ size, seed, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000 });
  const peers: LibraryPeer[] = [];
  for (let i = 0; i < size; i++) peers.push(await libraryOn(net, i));
  net.connectAll();
  await net.run(100);
  return { net, peers };
}

export interface CommunityPeer extends LibraryPeer {
  community: Community;
  services: CommunityServices;
}

export interface CommunityMesh {
  net: SimNetwork;
  peers: CommunityPeer[];
  /** Runs until every node holds the same log and its views have applied it. */
  converge(limitMs?: number): Promise<void>;
  stop(): void;
}

function libraryCommunity(community: Community): LibraryCommunity {
  return {
    canWrite: () => community.view.member(community.selfId) !== undefined && community.view.levelOf(community.selfId) !== 'revoked',
    append: (type, data) => community.append(type, data),
    view: () => community.engine.view(LIBRARY_VIEW_NAME) as LibraryView
  };
}

/**
 * Node 0 founds the community (an anchor); nodes 1.. join as members. `replicate` lists the nodes that index every
 * announced document (as the bridge does).
 */
export async function communityMesh(size: number, seed: number, options: { replicate?: number[] } = {}): Promise<CommunityMesh> {
  const rootKey = await keyPairFromSeed(seedBytes(seed, 10_000));
  const communities: Community[] = [];
  const membership = (i: number): MembershipView => ({ levelOf: (id) => communities[i]?.levelOf(id) ?? 'none' });
  const net = await SimNetwork.create({ size, seed, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000, communityId: rootKey.nodeId, membership });
  // Event ids are ULIDs of the clock, which must read whole milliseconds (link delays make virtual time fractional).
  const exact = net.time.now.bind(net.time);
  net.time.now = () => Math.floor(exact());
  const base = (i: number) => ({ keyPair: net.keys[i], clock: net.time, nextId: ulidGenerator(net.time), views: communityViews });
  communities.push(await net.time.resolve(Community.found({ name: 'Lindenstraße', displayName: 'node 0', rootKey }, { ...base(0), storeFor: () => new MemoryEventStore() })));
  for (let i = 1; i < size; i++) communities.push(await Community.open({ ...base(i), store: new MemoryEventStore(), communityId: rootKey.nodeId }));
  const credentials: (InviteCredential | null)[] = communities.map(() => null);
  const peers: CommunityPeer[] = [];
  const unsubscribes: (() => void)[] = [];
  for (let i = 0; i < size; i++) {
    const community = communities[i];
    const services = startCommunityServices({ node: net.nodes[i], community, clock: net.time, scheduler: net.time, credential: () => credentials[i] });
    const peer = await libraryOn(net, i, { community: () => libraryCommunity(community), replicate: options.replicate?.includes(i) ?? false });
    // As the bridge wires it: the log and the peers change what the library knows.
    unsubscribes.push(community.engine.subscribe(() => peer.library.changed()), net.nodes[i].subscribe(() => peer.library.changed()));
    peers.push({ ...peer, community, services });
  }
  net.connectAll();
  await net.run(100);
  for (let i = 1; i < size; i++) {
    const { event } = await net.time.resolve(communities[0].invite({ inviteeNodeId: net.nodeId(i), level: 'member' }));
    credentials[i] = { invite_event_id: event.event_id };
    await net.time.resolve(peers[i].services.sync.syncWith(net.nodeId(0)));
    await net.time.resolve(communities[i].redeem(event.event_id, null, { display_name: `node ${i}` }));
    credentials[i] = null;
  }
  const converge = async (limitMs = 120_000) => {
    await net.time.until(() => new Set(communities.map((c) => c.log.keys().join())).size === 1, limitMs, 100);
    await net.time.resolve(Promise.all(communities.map((c) => c.settled())));
  };
  await converge();
  return {
    net,
    peers,
    converge,
    stop() {
      for (const unsubscribe of unsubscribes) unsubscribe();
      for (const peer of peers) {
        peer.library.stop();
        peer.services.stop();
      }
      net.stop();
    }
  };
}
