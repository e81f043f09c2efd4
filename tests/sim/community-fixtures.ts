/**
 * Simulated communities: real nodes on a seeded in-memory mesh, each holding the community's log in memory with
 * the real gate, views and gossip sync. Node 0 founds the community; the others join by addressed invites.
 *
 * Event ids come from a seeded ULID source (not crypto), so two events at one Lamport value in one millisecond sort
 * the same way on every run. A crash drops a node's Community and LogSync and closes its links; its store, like
 * IndexedDB, survives, and a restart reopens the community over it.
 */
import { monotonicFactory } from 'ulid';
import type { MembershipView } from '../../src/lib/bus/index.js';
import { HearthError, keyPairFromSeed, type Clock, type UlidGenerator } from '../../src/lib/core/index.js';
import { Community, LogSync, SYNC_CAPABILITY, SYNC_VERSION, type CommunityPolicy, type InviteCredential } from '../../src/lib/community/index.js';
import { MemoryEventStore, type EventEnvelope, type EventStore, type MaterialisedView, type Ordered } from '../../src/lib/events/index.js';
import { MarketView } from '../../src/lib/market/index.js';
import { deriveSeed, mulberry32, type LinkConditions } from '../../src/lib/transport/index.js';
import { syncPeersOf } from '../../src/lib/node/index.js';
import { SimNetwork, seedBytes, type SimNetworkOptions } from './network.js';

export interface SimMember {
  community: Community;
  sync: LogSync;
  /** This incarnation's handle on the node's durable store (dead after a crash). */
  store: EventStore;
  /** The invite this node presents while it is not a member. */
  setCredential(credential: InviteCredential | null): void;
}

interface Running extends SimMember {
  store: CrashableStore;
  withdraw(): void;
}

export interface SimCommunityOptions extends Partial<SimNetworkOptions> {
  policy?: Partial<CommunityPolicy>;
  /** Registers the marketplace view after the membership view, so snapshots compare posts too. */
  market?: boolean;
  /**
   * Nodes read whole milliseconds, as from Date.now() (default true). Link jitter makes virtual time fractional, and
   * core's ulidGenerator throws ENC_TIME_MALFORMED on a fractional time (see community-sim.test.ts).
   */
  wholeMilliseconds?: boolean;
}

/** A store handle that stops working when its process "crashes"; what it wrote stays on the disk it wraps. */
class CrashableStore implements EventStore {
  private dead = false;
  constructor(readonly disk: MemoryEventStore) {}
  kill(): void {
    this.dead = true;
  }
  private alive(): void {
    if (this.dead) throw new Error('this process crashed');
  }
  async put(events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
    this.alive();
    return this.disk.put(events);
  }
  async get(eventId: string): Promise<EventEnvelope | undefined> {
    this.alive();
    return this.disk.get(eventId);
  }
  async all(): Promise<EventEnvelope[]> {
    this.alive();
    return this.disk.all();
  }
  async after(position: Ordered): Promise<EventEnvelope[]> {
    this.alive();
    return this.disk.after(position);
  }
  async head(): Promise<number> {
    this.alive();
    return this.disk.head();
  }
  async count(): Promise<number> {
    this.alive();
    return this.disk.count();
  }
}

/** ULIDs from a seeded PRNG: same seed, same ids. */
export function seededIds(clock: Clock, seed: number, ...labels: (string | number)[]): UlidGenerator {
  const next = monotonicFactory(mulberry32(deriveSeed(seed, 'ulid', ...labels)));
  return () => next(clock.now());
}

/** A valid marketplace post (M06), so MarketView counts it. */
export function postData(clientId: string, title = clientId): Record<string, unknown> {
  return { client_id: clientId, category: 'offer', title, body: '', tags: [], location: null, ttl_seconds: 30 * 24 * 3600 };
}

export class SimCommunity {
  readonly members: (SimMember | null)[] = [];
  private readonly disks: MemoryEventStore[] = [];
  private readonly incarnations: number[] = [];
  private groups: number[][] | null = null;
  private conditions: Partial<LinkConditions> = {};

  private constructor(
    readonly net: SimNetwork,
    readonly communityId: string,
    private readonly seed: number,
    private readonly serviceViews: ((community: Community) => MaterialisedView[]) | undefined
  ) {}

  static async create(size: number, seed: number, options: SimCommunityOptions = {}): Promise<SimCommunity> {
    const rootKey = await keyPairFromSeed(seedBytes(seed, 10_000));
    let sim: SimCommunity | null = null;
    const membership = (i: number): MembershipView => ({ levelOf: (id) => sim?.members[i]?.community.levelOf(id) ?? 'none' });
    const { policy, market, wholeMilliseconds = true, ...netOptions } = options;
    const net = await SimNetwork.create({ size, seed, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000, communityId: rootKey.nodeId, membership, ...netOptions });
    if (wholeMilliseconds) {
      const exact = net.time.now.bind(net.time);
      net.time.now = () => Math.floor(exact());
    }
    const views = market ? (community: Community) => [new MarketView(community.view)] : undefined;
    sim = new SimCommunity(net, rootKey.nodeId, seed, views);
    for (let i = 0; i < size; i++) {
      sim.disks.push(new MemoryEventStore());
      sim.incarnations.push(0);
    }
    const founderStore = new CrashableStore(sim.disks[0]);
    const founder = await Community.found(
      { name: 'Sim', displayName: 'node 0', policy, rootKey },
      { keyPair: net.keys[0], clock: net.time, nextId: sim.idsFor(0), storeFor: () => founderStore, views }
    );
    sim.members.push(sim.attach(0, founder, founderStore));
    for (let i = 1; i < size; i++) sim.members.push(await sim.openMember(i));
    return sim;
  }

  private idsFor(i: number): UlidGenerator {
    return seededIds(this.net.time, this.seed, i, this.incarnations[i]);
  }

  /** Opens node i's copy of the community over its durable store and starts its sync. */
  private async openMember(i: number): Promise<SimMember> {
    const store = new CrashableStore(this.disks[i]);
    const community = await Community.open({ store, keyPair: this.net.keys[i], communityId: this.communityId, clock: this.net.time, nextId: this.idsFor(i), views: this.serviceViews });
    return this.attach(i, community, store);
  }

  private attach(i: number, community: Community, store: CrashableStore): Running {
    const node = this.net.nodes[i];
    let credential: InviteCredential | null = null;
    const sync = new LogSync({
      community,
      bus: node.bus,
      clock: this.net.time,
      scheduler: this.net.time,
      peers: () => syncPeersOf(node, community),
      credential: () => credential
    });
    const withdrawSync = node.register(sync.registration());
    const withdrawHeads = node.register(sync.headsRegistration());
    const withdraw = () => {
      withdrawSync();
      withdrawHeads();
    };
    sync.start();
    return { community, sync, store, withdraw, setCredential: (c) => (credential = c) };
  }

  member(i: number): SimMember {
    const member = this.members[i];
    if (!member) throw new Error(`node ${i} is not running`);
    return member;
  }

  /** Stops node i's LogSync and withdraws its `community.sync` (the community stays open), e.g. to put another in. */
  withdrawSync(i: number): void {
    const member = this.members[i] as Running | null;
    if (!member) throw new Error(`node ${i} is not running`);
    member.sync.stop();
    member.withdraw();
  }

  /** Indices of the nodes whose community is open. */
  running(): number[] {
    return this.members.flatMap((m, i) => (m ? [i] : []));
  }

  /** Node `inviter` invites node i by its NodeID; node i syncs with the inviter, then redeems. */
  async join(i: number, inviter = 0, level: 'member' | 'trusted' = 'member'): Promise<void> {
    const { event } = await this.net.time.resolve(this.member(inviter).community.invite({ inviteeNodeId: this.net.nodeId(i), level }));
    const joiner = this.member(i);
    joiner.setCredential({ invite_event_id: event.event_id });
    await this.net.time.resolve(joiner.sync.syncWith(this.net.nodeId(inviter)));
    await this.net.time.resolve(joiner.community.redeem(event.event_id, null, { display_name: `node ${i}` }));
  }

  /**
   * The process of node i dies: its sync stops, its capability goes, its links close, its store handle dies (an
   * unfinished write is lost). What the store had acknowledged stays on disk.
   */
  crash(i: number): void {
    const member = this.members[i] as Running | null;
    if (!member) throw new Error(`node ${i} is not running`);
    member.sync.stop();
    member.withdraw();
    member.store.kill();
    this.members[i] = null;
    for (let j = 0; j < this.members.length; j++) if (j !== i && this.hasPair(i, j)) this.net.pair(i, j).close();
  }

  /** Node i starts again over the store it left behind, with fresh links to every running node. */
  async restart(i: number): Promise<SimMember> {
    if (this.members[i]) throw new Error(`node ${i} is running`);
    this.incarnations[i]++;
    const member = await this.openMember(i);
    this.members[i] = member;
    for (const j of this.running()) if (j !== i) this.link(i, j);
    return member;
  }

  /** What node i's store holds, whether or not it is running. */
  disk(i: number): MemoryEventStore {
    return this.disks[i];
  }

  /** Links every pair of nodes (the conditions and partition in force apply). */
  connectAll(): void {
    for (let i = 0; i < this.members.length; i++) for (let j = i + 1; j < this.members.length; j++) this.link(i, j);
  }

  private link(i: number, j: number): void {
    const pair = this.net.connect(i, j, this.conditions);
    if (this.groups && this.groupOf(i) !== this.groupOf(j)) pair.setPartitioned(true);
  }

  private hasPair(i: number, j: number): boolean {
    try {
      this.net.pair(i, j);
      return true;
    } catch {
      return false;
    }
  }

  private groupOf(i: number): number {
    return this.groups!.findIndex((g) => g.includes(i));
  }

  /** Frames between different groups are lost (links stay open) until heal(); every node must be in a group. */
  partition(groups: number[][]): void {
    this.net.heal();
    this.groups = groups.map((g) => [...g]);
    for (let a = 0; a < groups.length; a++) for (let b = a + 1; b < groups.length; b++) this.net.partition(groups[a], groups[b]);
  }

  heal(): void {
    this.groups = null;
    this.net.heal();
  }

  /** New conditions on every link, now and for links opened later. */
  setConditions(conditions: Partial<LinkConditions>): void {
    this.conditions = { ...this.conditions, ...conditions };
    for (let i = 0; i < this.members.length; i++) for (let j = i + 1; j < this.members.length; j++) if (this.hasPair(i, j)) this.net.pair(i, j).setConditions(conditions);
  }

  /** Running nodes' replay keys, in replay order (`[]` for a node that is down). */
  logs(): string[][] {
    return this.members.map((m) => (m ? m.community.log.keys().slice() : []));
  }

  /** Running nodes' view snapshots as JSON (`''` for a node that is down). */
  views(): string[] {
    return this.members.map((m) => (m ? JSON.stringify(m.community.engine.snapshotState()) : ''));
  }

  /** Waits until every running node's views have applied everything its log stored. */
  async settled(): Promise<void> {
    await this.net.time.resolve(Promise.all(this.running().map((i) => this.member(i).community.settled())));
  }

  /** Runs full sync rounds until the running nodes in `among` hold the same log (or the limit passes). */
  async converge(limitMs = 120_000, among: number[] = this.running()): Promise<number> {
    const took = await this.net.time.until(() => {
      const logs = this.logs().filter((_, i) => among.includes(i) && this.members[i]).map((l) => l.join());
      return logs.every((l) => l === logs[0]);
    }, limitMs, 1_000);
    await this.settled();
    return took;
  }

  /** One line per node (log size, peers it lists, last sync result per peer): for failure messages. */
  diagnose(): string {
    const short = (id: string) => String(this.net.keys.findIndex((k) => k.nodeId === id));
    return this.members
      .map((m, i) => {
        if (!m) return `node ${i}: down`;
        const peers = this.net.nodes[i].peers().map((p) => short(p.nodeId)).join(',');
        const status = [...m.sync.status()].map(([peer, s]) => `${short(peer)}:${s.ok ? `ok+${s.received}/${s.sent}` : s.error}@${Math.round((this.net.time.now() - s.at) / 1000)}s ago`);
        return `node ${i}: ${m.community.log.size} events, peers [${peers}], sync ${status.join(' | ')}`;
      })
      .join('\n');
  }

  /**
   * One raw sync call from node `from` to node `to`, as LogSync would send it; resolves with the refusal
   * (`code`, `reason`) or null when the peer answered.
   */
  async syncRefusal(from: number, to: number, invite?: InviteCredential): Promise<{ code: string; reason: string | undefined } | null> {
    const input = { items: [], want: [], events: [], ...(invite ? { invite } : {}) };
    const call = this.net.nodes[from].bus.call(SYNC_CAPABILITY, SYNC_VERSION, { input }, { node: this.net.nodeId(to), timeoutMs: 15_000 });
    return this.net.time.resolve(
      call.then(
        () => null,
        (err: unknown) => {
          const error = HearthError.from(err);
          return { code: error.code, reason: error.extra.reason as string | undefined };
        }
      )
    );
  }

  stop(): void {
    for (const i of this.running()) (this.members[i] as Running).sync.stop();
    this.net.stop();
  }
}
