/**
 * Revocation over the mesh (PROTOCOL K1, K4, K5, S4): a revoked node is refused by every peer's `community.sync`,
 * its later posts change no one's views, its earlier posts stay; across a partition, the replay order decides, the
 * same way on every node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventKey, type EventEnvelope } from '../../src/lib/events/index.js';
import { SimCommunity, postData } from './community-fixtures.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

let sim: SimCommunity | null = null;
afterEach(() => {
  sim?.stop();
  sim = null;
});

const keyOf = (event: EventEnvelope): string => eventKey(event.lamport, event.event_id);

async function community(size: number, seed: number): Promise<SimCommunity> {
  sim = await SimCommunity.create(size, seed, { market: true, policy: { min_signatures_to_revoke: 1 } });
  sim.connectAll();
  await sim.net.run(100);
  for (let i = 1; i < size; i++) await sim.join(i);
  await sim.converge();
  return sim;
}

function post(sim: SimCommunity, i: number, clientId: string): Promise<EventEnvelope> {
  return sim.net.time.resolve(sim.member(i).community.append('market.post.created', postData(clientId)));
}

async function revoke(sim: SimCommunity, by: number, target: number): Promise<EventEnvelope> {
  const community = sim.member(by).community;
  const intent = community.trustIntent('community.member.revoked', sim.net.nodeId(target), { reason: 'other' });
  return sim.net.time.resolve(community.commitTrustAction('community.member.revoked', intent, []));
}

/** The event ids of the posts node i's marketplace view counts. */
function postIds(sim: SimCommunity, i: number): string[] {
  const state = sim.member(i).community.engine.snapshotState() as { market: { posts: { event_id: string }[] } };
  return state.market.posts.map((p) => p.event_id).sort();
}

describe('revocation over the mesh (K1, K5, S4)', () => {
  it('a revoked node is refused by every peer; its new posts reach no one; its earlier posts remain', async () => {
    const sim = await community(4, 201);
    const before = [await post(sim, 2, 'before-1'), await post(sim, 2, 'before-2')];
    await sim.converge();
    const revocation = await revoke(sim, 0, 2);
    await sim.converge();
    for (const i of [0, 1, 2, 3]) expect(sim.member(i).community.view.levelOf(sim.net.nodeId(2)), `node ${i}`).toBe('revoked');

    // S4/K5: every peer refuses node 2's sync, whatever it presents.
    for (const peer of [0, 1, 3]) expect(await sim.syncRefusal(2, peer), `peer ${peer}`).toMatchObject({ code: 'revoked' });
    expect(await sim.net.time.resolve(sim.member(2).sync.syncWith(sim.net.nodeId(1)))).toBeNull();
    expect(sim.member(2).sync.status().get(sim.net.nodeId(1))?.error).toMatch(/^revoked:/);

    // It can still write to its own log (K1 never removes anything), and pushes it at once; nobody takes it.
    const after = await post(sim, 2, 'after');
    expect(after.lamport).toBeGreaterThan(revocation.lamport);
    await sim.net.run(3 * 30_000);
    for (const i of [0, 1, 3]) {
      expect(sim.member(i).community.log.hasKey(keyOf(after)), `node ${i} stored the post`).toBe(false);
      expect(postIds(sim, i), `node ${i}`).toEqual(before.map((e) => e.event_id).sort());
    }
    const views = sim.views();
    expect(views[1]).toBe(views[0]);
    expect(views[3]).toBe(views[0]);
  });

  it('node 2 posts on one side of a partition while it is revoked on the other; after heal all agree, later posts ignored', async () => {
    const sim = await community(4, 202);
    const early = await post(sim, 2, 'early');
    await sim.converge();
    sim.partition([[0, 1], [2, 3]]);

    // Side B runs ahead in Lamport: node 2's last posts sort after the revocation, whatever the ties.
    const sideB: EventEnvelope[] = [];
    for (let k = 0; k < 6; k++) {
      sideB.push(await post(sim, 2, `b2-${k}`));
      if (k % 2 === 0) sideB.push(await post(sim, 3, `b3-${k}`));
    }
    const revocation = await revoke(sim, 0, 2);
    const sideA = [await post(sim, 1, 'a1-0'), await post(sim, 0, 'a0-0')];
    await sim.net.run(60_000);
    expect(sim.member(3).community.view.levelOf(sim.net.nodeId(2))).toBe('member'); // side B has not heard

    sim.heal();
    // Node 2 is cut off once its peers learn of the revocation, so it may never catch up: the others must agree.
    const others = [0, 1, 3];
    await sim.converge(180_000, others);
    const views = sim.views();
    for (const i of others) expect(views[i], `views of node ${i}`).toBe(views[0]);
    for (const i of others) expect(sim.member(i).community.view.levelOf(sim.net.nodeId(2)), `node ${i}`).toBe('revoked');

    // Every event written on either side is stored everywhere (K1: revocation removes nothing) ...
    for (const i of others) for (const e of [early, revocation, ...sideA, ...sideB]) expect(sim.member(i).community.log.hasKey(keyOf(e)), `node ${i}`).toBe(true);
    // ... and the posts count exactly when their author was a member at their place in replay order.
    const byNode2 = sideB.filter((e) => e.author === sim.net.nodeId(2));
    const ignored = byNode2.filter((e) => keyOf(e) > keyOf(revocation));
    expect(ignored.length).toBeGreaterThan(0);
    const counted = [early, ...sideA, ...sideB.filter((e) => !ignored.includes(e))].map((e) => e.event_id).sort();
    for (const i of others) expect(postIds(sim, i), `node ${i}`).toEqual(counted);

    expect(await sim.syncRefusal(2, 3)).toMatchObject({ code: 'revoked' });
  });
});
