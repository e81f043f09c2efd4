import { describe, expect, it } from 'vitest';
import { SimCommunity } from './community-fixtures.js';

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
