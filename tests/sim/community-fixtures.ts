/**
 * Simulated communities: real nodes on a seeded in-memory mesh, each holding the community's log in memory with
 * the real gate, views and gossip sync. Node 0 founds the community; the others join by addressed invites.
 */
import type { MembershipView } from '../../src/lib/bus/index.js';
import { keyPairFromSeed, ulidGenerator } from '../../src/lib/core/index.js';
import { Community, LogSync, type CommunityPolicy } from '../../src/lib/community/index.js';
import { MemoryEventStore, type EventStore } from '../../src/lib/events/index.js';
import { SimNetwork, seedBytes, type SimNetworkOptions } from './network.js';

export interface SimMember {
  community: Community;
  sync: LogSync;
  store: EventStore;
}

export class SimCommunity {
  readonly members: (SimMember | null)[] = [];

  private constructor(
    readonly net: SimNetwork,
    readonly communityId: string
  ) {}

  static async create(size: number, seed: number, options: Partial<SimNetworkOptions> & { policy?: Partial<CommunityPolicy> } = {}): Promise<SimCommunity> {
    const rootKey = await keyPairFromSeed(seedBytes(seed, 10_000));
    let sim: SimCommunity | null = null;
    const membership = (i: number): MembershipView => ({ levelOf: (id) => sim?.members[i]?.community.levelOf(id) ?? 'none' });
    const net = await SimNetwork.create({ size, seed, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000, communityId: rootKey.nodeId, membership, ...options });
    sim = new SimCommunity(net, rootKey.nodeId);
    const founderStore = new MemoryEventStore();
    const founder = await Community.found(
      { name: 'Sim', displayName: 'node 0', policy: options.policy, rootKey },
      { keyPair: net.keys[0], clock: net.time, nextId: ulidGenerator(net.time), storeFor: () => founderStore }
    );
    sim.members.push(sim.attach(0, founder, founderStore));
    for (let i = 1; i < size; i++) sim.members.push(await sim.openMember(i, new MemoryEventStore()));
    return sim;
  }

  /** Opens node i's copy of the community over `store` and starts its sync. */
  async openMember(i: number, store: EventStore): Promise<SimMember> {
    const community = await Community.open({ store, keyPair: this.net.keys[i], communityId: this.communityId, clock: this.net.time, nextId: ulidGenerator(this.net.time) });
    return this.attach(i, community, store);
  }

  private attach(i: number, community: Community, store: EventStore): SimMember {
    const node = this.net.nodes[i];
    let credential: { invite_event_id: string } | null = null;
    const sync = new LogSync({
      community,
      bus: node.bus,
      clock: this.net.time,
      scheduler: this.net.time,
      peers: () => node.peers().map((p) => p.nodeId).filter((id) => community.levelOf(id) !== 'revoked'),
      credential: () => credential
    });
    const member = { community, sync, store, setCredential: (c: { invite_event_id: string }) => (credential = c) };
    node.register(sync.registration());
    sync.start();
    return member;
  }

  member(i: number): SimMember {
    const member = this.members[i];
    if (!member) throw new Error(`node ${i} is not running`);
    return member;
  }

  /** Node `inviter` invites node i by its NodeID; node i syncs with the inviter, then redeems. */
  async join(i: number, inviter = 0, level: 'member' | 'trusted' = 'member'): Promise<void> {
    const { event } = await this.net.time.resolve(this.member(inviter).community.invite({ inviteeNodeId: this.net.nodeId(i), level }));
    const joiner = this.member(i) as SimMember & { setCredential(c: { invite_event_id: string }): void };
    joiner.setCredential({ invite_event_id: event.event_id });
    await this.net.time.resolve(joiner.sync.syncWith(this.net.nodeId(inviter)));
    await this.net.time.resolve(joiner.community.redeem(event.event_id, null, { display_name: `node ${i}` }));
  }

  /** Everyone's event ids, in replay order. */
  logs(): string[][] {
    return this.members.map((m) => (m ? m.community.log.keys().slice() : []));
  }

  views(): string[] {
    return this.members.map((m) => (m ? JSON.stringify(m.community.engine.snapshotState()) : ''));
  }

  /** Runs full sync rounds until every running member holds the same log (or the limit passes). */
  async converge(limitMs = 120_000): Promise<number> {
    return this.net.time.until(() => {
      const logs = this.logs().filter((_, i) => this.members[i]).map((l) => l.join());
      return logs.every((l) => l === logs[0]);
    }, limitMs, 1_000);
  }
}
