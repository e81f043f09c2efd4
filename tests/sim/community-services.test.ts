/** The community services as a node runs them (startCommunityServices), not LogSync wired by hand. */
import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, ulidGenerator } from '../../src/lib/core/index.js';
import { Community } from '../../src/lib/community/index.js';
import { EventLog, MemoryEventStore, SyncResponder, type SyncRequest } from '../../src/lib/events/index.js';
import { communityViews, startCommunityServices } from '../../src/lib/node/index.js';
import { SimNetwork, seedBytes } from './network.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

describe('community services on a node (S4)', () => {
  it('a linked node that claims the community and asks for everything, without an invite, is never sent the log (2 min of gossip)', async () => {
    const rootKey = await keyPairFromSeed(seedBytes(5, 10_000));
    let communities: Community[] = [];
    const net = await SimNetwork.create({
      size: 2,
      seed: 5,
      conditions: { delayMs: 5 },
      probeIntervalMs: 3_600_000,
      communityId: rootKey.nodeId,
      membership: (i) => ({ levelOf: (id) => communities[i]?.levelOf(id) ?? 'none' })
    });
    const options = (i: number) => ({ keyPair: net.keys[i], clock: net.time, nextId: ulidGenerator(net.time), views: communityViews });
    const founder = await net.time.resolve(Community.found({ name: 'S4', displayName: 'f', rootKey }, { ...options(0), storeFor: () => new MemoryEventStore() }));
    await net.time.resolve(founder.append('market.post.created', { client_id: 'private', category: 'info', title: 'members only' }));
    communities = [founder];
    const services = startCommunityServices({ node: net.nodes[0], community: founder, clock: net.time, scheduler: net.time });
    // The stranger skips every check and asks for everything it is offered.
    const loot = await EventLog.open({ ...options(1), store: new MemoryEventStore(), communityId: rootKey.nodeId });
    const responder = new SyncResponder(loot);
    net.nodes[1].register({
      name: 'community.sync',
      version: '1.0',
      trustRequired: 'guest',
      handler: async (body) => ({ output: await responder.respond((body as { input: SyncRequest }).input) })
    });
    net.connectAll();
    await net.run(120_000);
    expect(loot.size).toBe(0);
    services.stop();
    net.stop();
  });
});
