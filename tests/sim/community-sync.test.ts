/**
 * X02 §9 integration: real signed events through the real gate, views and `community.sync` over a simulated mesh.
 * Posts are `market.post.created` events and the marketplace view is registered, so "same views" covers posts too.
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

async function community(size: number, seed: number): Promise<SimCommunity> {
  sim = await SimCommunity.create(size, seed, { market: true });
  sim.connectAll();
  await sim.net.run(100);
  for (let i = 1; i < size; i++) await sim.join(i);
  await sim.converge();
  return sim;
}

async function post(sim: SimCommunity, i: number, clientId: string): Promise<EventEnvelope> {
  return sim.net.time.resolve(sim.member(i).community.append('market.post.created', postData(clientId)));
}

const keyOf = (event: EventEnvelope): string => eventKey(event.lamport, event.event_id);

function postsOf(sim: SimCommunity, i: number): string[] {
  const state = sim.member(i).community.engine.snapshotState() as { market: { posts: { event_id: string }[] } };
  return state.market.posts.map((p) => p.event_id);
}

function expectSameEverywhere(sim: SimCommunity, written: EventEnvelope[], nodes = sim.running()): void {
  const logs = sim.logs();
  const views = sim.views();
  for (const i of nodes) {
    expect(logs[i], `log of node ${i}`).toEqual(logs[nodes[0]]);
    expect(views[i], `views of node ${i}`).toBe(views[nodes[0]]);
    for (const event of written) expect(sim.member(i).community.log.hasKey(keyOf(event)), `node ${i} lacks ${event.event_id}`).toBe(true);
  }
}

describe('log sync over a simulated mesh (X02 §9, DESIGN §3.8)', () => {
  it('test_two_node_sync_converges: both sides write while apart; one exchange makes logs and views equal', async () => {
    const sim = await community(2, 101);
    // Apart: no periodic rounds and no live pushes, so each side drifts on its own (the handlers still answer).
    for (const i of [0, 1]) sim.member(i).sync.stop();
    const before = sim.member(0).community.log.size;
    const written: EventEnvelope[] = [];
    for (let k = 0; k < 10; k++) written.push(await post(sim, 0, `a${k}`));
    for (let k = 0; k < 7; k++) written.push(await post(sim, 1, `b${k}`));
    expect(sim.member(0).community.log.size).toBe(before + 10);
    expect(sim.member(1).community.log.size).toBe(before + 7);
    await sim.net.run(60_000);
    expect(sim.member(1).community.log.size).toBe(before + 7); // really apart

    const outcome = await sim.net.time.resolve(sim.member(1).sync.syncWith(sim.net.nodeId(0)));
    await sim.settled();
    expect(outcome).toMatchObject({ sent: 7, received: 10, refused: [] });
    expect(sim.member(0).community.log.size).toBe(before + 17);
    expectSameEverywhere(sim, written);
    expect(postsOf(sim, 0)).toHaveLength(17);
  });

  it('test_three_way_partition_then_heal: {0} {1} {2} each write; after heal every node holds every event and the same views', async () => {
    const sim = await community(3, 102);
    const before = sim.member(0).community.log.size;
    sim.partition([[0], [1], [2]]);
    const written: EventEnvelope[] = [];
    // Concurrent writes, interleaved in time, for longer than the peer-prune grace (90 s): peers drop out and return.
    for (let round = 0; round < 6; round++) {
      for (const i of [0, 1, 2]) if (round < 4 + i) written.push(await post(sim, i, `n${i}-r${round}`));
      await sim.net.run(25_000);
    }
    for (const i of [0, 1, 2]) expect(sim.member(i).community.log.size).toBe(before + 4 + i);
    // Each side wrote at the same Lamport values: the logs disagree on every one of them until they merge.
    expect(new Set(written.map((e) => e.lamport)).size).toBeLessThan(written.length);

    sim.heal();
    await sim.converge();
    expect(sim.member(0).community.log.size).toBe(before + 15);
    expect(written).toHaveLength(15);
    expectSameEverywhere(sim, written);
    expect(postsOf(sim, 2)).toHaveLength(15);
  });

  it('test_three_way_partition_then_heal (1+2): the pair syncs while apart from the third, then all three agree', async () => {
    const sim = await community(3, 103);
    const before = sim.member(0).community.log.size;
    sim.partition([[0], [1, 2]]);
    const written: EventEnvelope[] = [];
    for (let k = 0; k < 5; k++) written.push(await post(sim, 0, `lone${k}`), await post(sim, 1, `pair1-${k}`), await post(sim, 2, `pair2-${k}`));
    await sim.converge(120_000, [1, 2]); // partial sync: the pair agrees
    expect(sim.member(1).community.log.size).toBe(before + 10);
    expect(sim.member(0).community.log.size).toBe(before + 5);
    expect(sim.views()[1]).toBe(sim.views()[2]);
    expect(sim.views()[0]).not.toBe(sim.views()[1]);

    sim.heal();
    await sim.converge();
    expect(sim.member(0).community.log.size).toBe(before + 15);
    expectSameEverywhere(sim, written);
  });

  it('a push that lands ahead of the events before it leaves a hole; the next exchange fills it', async () => {
    const sim = await community(3, 104);
    // Nodes 0 and 2 neither push nor run rounds for now (their handlers still answer); node 1 cannot reach node 2.
    for (const i of [0, 2]) sim.member(i).sync.stop();
    sim.partition([[0, 1], [2]]);
    const written: EventEnvelope[] = [];
    for (let k = 0; k < 40; k++) written.push(await post(sim, 0, `early${k}`));
    await sim.net.run(20_000); // anything in flight across the partition times out
    // The link 0-2 comes back and node 0 pushes three new events: node 2 stores them past a gap of 40.
    sim.net.pair(0, 2).setPartitioned(false);
    const late: EventEnvelope[] = [];
    for (let k = 0; k < 3; k++) late.push(await post(sim, 0, `late${k}`));
    sim.member(0).sync.push(late);
    written.push(...late);
    await sim.net.run(1_000);
    const log2 = sim.member(2).community.log;
    expect(late.every((e) => log2.hasKey(keyOf(e)))).toBe(true);
    expect(log2.size).toBe(sim.member(0).community.log.size - 40);
    const rebuilds = sim.member(2).community.engine.rebuildCount;

    sim.heal();
    for (const i of [0, 2]) sim.member(i).sync.start();
    await sim.converge();
    expectSameEverywhere(sim, written);
    // The gap lies in the past of what node 2 had applied: its views replayed instead of applying out of order.
    expect(sim.member(2).community.engine.rebuildCount).toBeGreaterThan(rebuilds);
  });

  // BUG (log-sync.ts, `push`): every write is pushed to every peer as its own `community.sync` call, and the caller's
  // bus allows at most maxConcurrent (8) calls in flight to one peer's capability; a ninth push fails locally with
  // capacity_exceeded and is dropped, so writes 9.. of a burst wait for the next round (up to 30 s). Fix: one push in
  // flight per peer; events written meanwhile queue and go together (within SYNC_MESSAGE_BYTES) when it returns.
  it('S1: a burst of 12 writes reaches a linked peer live, not at the next round', async () => {
    const sim = await community(2, 105);
    const before = sim.member(1).community.log.size;
    await sim.net.time.resolve(Promise.all(Array.from({ length: 12 }, (_, k) => sim.member(0).community.append('market.post.created', postData(`burst${k}`)))));
    await sim.net.run(1_000);
    expect(sim.member(1).community.log.size - before).toBe(12);
  });

  // BUG (log-sync.ts, same cause): pushes sent into a silent partition each hold one of the peer's 8 slots until
  // their 15 s timeout, so right after the heal the exchange meant to repair the partition is refused locally
  // (capacity_exceeded) and the repair waits for a later round. With one push in flight per peer, a slot stays free.
  it('after a silent partition heals, the first exchange is not refused for capacity by pushes lost in it', async () => {
    const sim = await community(2, 106);
    sim.partition([[0], [1]]);
    for (let k = 0; k < 10; k++) await post(sim, 0, `unheard${k}`);
    sim.heal();
    const outcome = await sim.net.time.resolve(sim.member(0).sync.syncWith(sim.net.nodeId(1)));
    expect(sim.member(0).sync.status().get(sim.net.nodeId(1))?.error).toBeUndefined();
    expect(outcome?.sent).toBe(10);
  });
});
