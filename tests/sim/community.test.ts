import { describe, expect, it } from 'vitest';
import { SimCommunity } from './community-fixtures.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

// Crypto completions in start order, so virtual time never runs ahead of a signature (a run repeats exactly).
useOrderedWebCrypto();

describe('communities over a simulated mesh (X02 §9, M13 §8)', () => {
  it('a founder invites two nodes; they sync, join, and every node holds the same log and membership', async () => {
    const sim = await SimCommunity.create(3, 1);
    sim.net.connectAll();
    await sim.net.run(100);
    await sim.join(1);
    await sim.join(2);
    await sim.converge();
    const views = sim.views();
    expect(new Set(views).size).toBe(1);
    const members = sim.member(2).community.view.members();
    expect(members.map((m) => m.level).sort()).toEqual(['anchor', 'member', 'member']);
    sim.net.stop();
  });
});

describe('community.heads@1.0 (contract §7.6, kept for compatibility)', () => {
  it('reports the highest Lamport value per event type to members, and refuses strangers', async () => {
    const sim = await SimCommunity.create(3, 2);
    sim.net.connectAll();
    await sim.net.run(100);
    await sim.join(1);
    const post = await sim.net.time.resolve(sim.member(0).community.append('market.post.created', { client_id: 'a', category: 'info', title: 'x' }));
    await sim.converge(120_000, [0, 1]); // node 2 stays a stranger
    const heads = (await sim.net.time.resolve(sim.net.nodes[1].bus.call('community.heads', '1.0', { input: {} }, { node: sim.net.nodeId(0) }))) as {
      output: { community_id: string; head: number; heads_by_type: Record<string, number> };
    };
    expect(heads.output.community_id).toBe(sim.communityId);
    const stored = await sim.member(0).community.log.events();
    expect(heads.output.head).toBe(stored[stored.length - 1].lamport); // the highest stored, not the clock (which runs ahead)
    expect(heads.output.heads_by_type['market.post.created']).toBe(post.lamport);
    expect(heads.output.heads_by_type['community.created']).toBe(1);
    const stranger = sim.net.time.resolve(sim.net.nodes[2].bus.call('community.heads', '1.0', { input: {} }, { node: sim.net.nodeId(0) }));
    await expect(stranger).rejects.toMatchObject({ code: 'unauthorized' });
    sim.net.stop();
  });
});
