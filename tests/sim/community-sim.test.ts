/**
 * The seeded many-node simulation (X02 §9, DESIGN §3.8, STYLE §8): 5–6 nodes, and a schedule drawn from the seed of
 * appends on random members, joins (addressed invites) and promotions, partitions into 2–3 groups, heals, link
 * delay/jitter/reordering/loss, crashes (sometimes mid-write) and restarts over the surviving store. At the end
 * everything restarts and heals, the last outsiders join, and every node must hold the same log, the same views, and
 * every append that returned — wherever and whenever it was written. A failure names its seed; `SIM_SEEDS=1-200`
 * (or `SIM_SEEDS=17`) runs other seeds, `SIM_TRACE=1` prints each schedule. 500 seeds (25–524) passed when written; 200 (25–224) after the S1/S4/K1 fixes.
 */
import { describe, expect, it } from 'vitest';
import { eventKey, type EventEnvelope } from '../../src/lib/events/index.js';
import { deriveSeed, mulberry32, type Rng } from '../../src/lib/transport/index.js';
import { SimCommunity, postData } from './community-fixtures.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

const STEPS = 40;

function seeds(): number[] {
  const spec = process.env.SIM_SEEDS;
  if (!spec) return Array.from({ length: 24 }, (_, k) => k + 1);
  const [from, to] = spec.split('-').map(Number);
  return Array.from({ length: (to ?? from) - from + 1 }, (_, k) => from + k);
}

const pick = <T>(rng: Rng, from: readonly T[]): T => from[Math.floor(rng() * from.length)];

/** Splits nodes 0..n-1 into `count` non-empty groups at random. */
function randomGroups(rng: Rng, n: number, count: number): number[][] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const groups: number[][] = Array.from({ length: count }, () => []);
  order.forEach((node, k) => groups[k < count ? k : Math.floor(rng() * count)].push(node));
  return groups.map((g) => g.sort((a, b) => a - b));
}

interface Report {
  trace: string[];
  acknowledged: EventEnvelope[];
}

/**
 * Invites node i from `inviter` and lets it read the log and redeem; why not, when the network got in the way.
 * `attempts` > 1 retries the read every 30 s, as a joining device would (the bus may still hold the inviter's
 * `community.sync` in quarantine after calls failed across a partition: HEALTH_QUARANTINE_SECONDS).
 */
async function tryJoin(sim: SimCommunity, i: number, inviter: number, attempts = 1): Promise<string | null> {
  const { event } = await sim.net.time.resolve(sim.member(inviter).community.invite({ inviteeNodeId: sim.net.nodeId(i) }));
  const joiner = sim.member(i);
  joiner.setCredential({ invite_event_id: event.event_id });
  for (let attempt = 1; ; attempt++) {
    await sim.net.time.resolve(joiner.sync.syncWith(sim.net.nodeId(inviter)), 120_000);
    const problem = joiner.community.redeemProblem(event.event_id);
    if (!problem) break;
    if (attempt >= attempts) return `${problem.code}: ${problem.message}; sync: ${joiner.sync.status().get(sim.net.nodeId(inviter))?.error}`;
    await sim.net.run(30_000);
  }
  await sim.net.time.resolve(joiner.community.redeem(event.event_id, null, { display_name: `node ${i}` }));
  return null;
}

const isMember = (sim: SimCommunity, i: number) => sim.member(i).community.view.member(sim.net.nodeId(i)) !== undefined;

async function simulate(seed: number): Promise<Report> {
  const rng = mulberry32(deriveSeed(seed, 'schedule'));
  const n = 5 + Math.floor(rng() * 2);
  const sim = await SimCommunity.create(n, seed, { market: true, conditions: { delayMs: 5 } });
  const trace: string[] = [`n=${n}`];
  const start = sim.net.time.now();
  const note = (line: string) => trace.push(`${Math.round((sim.net.time.now() - start) / 100) / 10}s ${line}`);
  const acknowledged: EventEnvelope[] = [];
  let posts = 0;
  try {
    sim.connectAll();
    await sim.net.run(100);
    // Nodes 1 and 2 join now; the rest join during the schedule, whatever the network is doing then.
    for (const i of [1, 2]) await sim.join(i);

    for (let step = 0; step < STEPS; step++) {
      const running = sim.running();
      const down = Array.from({ length: n }, (_, i) => i).filter((i) => !running.includes(i));
      const members = running.filter((i) => isMember(sim, i));
      const outsiders = running.filter((i) => !isMember(sim, i));
      const roll = rng();
      if (roll < 0.4 && members.length > 0) {
        const i = pick(rng, members);
        const event = await sim.net.time.resolve(sim.member(i).community.append('market.post.created', postData(`p${posts++}`)));
        acknowledged.push(event);
        note(`append on ${i} -> ${event.lamport}`);
      } else if (roll < 0.46 && outsiders.length > 0 && members.length > 0) {
        const [i, inviter] = [pick(rng, outsiders), pick(rng, members)];
        const problem = await tryJoin(sim, i, inviter);
        note(`join ${i} invited by ${inviter}: ${problem ?? 'joined'}`);
      } else if (roll < 0.49 && sim.members[0] && members.length > 1) {
        const target = pick(rng, members.filter((i) => i !== 0));
        if (sim.member(0).community.view.member(sim.net.nodeId(target))?.level === 'member') {
          const event = await sim.net.time.resolve(sim.member(0).community.promote(sim.net.nodeId(target), 'trusted'));
          acknowledged.push(event);
          note(`promote ${target}`);
        }
      } else if (roll < 0.57) {
        const groups = randomGroups(rng, n, 2 + Math.floor(rng() * 2));
        sim.partition(groups);
        note(`partition ${JSON.stringify(groups)}`);
      } else if (roll < 0.64) {
        sim.heal();
        note('heal');
      } else if (roll < 0.71) {
        const conditions = { delayMs: 1 + Math.floor(rng() * 40), jitterMs: Math.floor(rng() * 120), reorder: rng() < 0.5, dropRate: rng() < 0.5 ? 0 : rng() * 0.05 };
        sim.setConditions(conditions);
        note(`conditions ${JSON.stringify(conditions)}`);
      } else if (roll < 0.77 && running.length > 2) {
        const i = pick(rng, running);
        // Sometimes the process dies with a write under way: that write was never acknowledged and may be lost.
        const midWrite = rng() < 0.5 && isMember(sim, i);
        if (midWrite) sim.member(i).community.append('market.post.created', postData(`p${posts++}`)).catch(() => {});
        const stored = sim.member(i).community.log.size;
        sim.crash(i);
        note(`crash ${i}${midWrite ? ' during a write' : ''}`);
        expect(await sim.disk(i).count(), `seed ${seed}: node ${i}'s store after its crash`).toBeGreaterThanOrEqual(stored);
      } else if (roll < 0.85 && down.length > 0) {
        const i = pick(rng, down);
        const member = await sim.restart(i);
        note(`restart ${i}`);
        // Everything node i acknowledged before it crashed is still there.
        const mine = acknowledged.filter((e) => e.author === sim.net.nodeId(i));
        for (const e of mine) expect(member.community.log.hasKey(eventKey(e.lamport, e.event_id)), `seed ${seed}: node ${i} lost ${e.event_id} in a crash`).toBe(true);
      } else {
        await sim.net.run(1_000 + Math.floor(rng() * 40_000));
        note('wait');
      }
      await sim.net.run(Math.floor(rng() * 3_000));
    }

    for (let i = 0; i < n; i++) if (!sim.members[i]) await sim.restart(i);
    sim.heal();
    sim.setConditions({ dropRate: 0 });
    note('restart all, heal');
    await sim.net.run(25_000); // peers pruned during a long partition come back with their next manifest (20 s)
    for (let i = 1; i < n; i++) {
      if (isMember(sim, i)) continue;
      expect(await tryJoin(sim, i, 0, 5), `seed ${seed}: node ${i} joins once the network is whole`).toBeNull();
      note(`join ${i}`);
    }
    const took = await sim.converge(600_000).catch((err: unknown) => {
      throw new Error(`seed ${seed}: ${String(err)}\n${trace.join('\n')}\n${sim.diagnose()}`);
    });
    note(`converged after ${took} ms`);

    const logs = sim.logs();
    const views = sim.views();
    for (let i = 1; i < n; i++) {
      expect(logs[i], `seed ${seed}: log of node ${i} differs from node 0's`).toEqual(logs[0]);
      expect(views[i], `seed ${seed}: views of node ${i} differ from node 0's`).toBe(views[0]);
    }
    const everywhere = new Set(logs[0]);
    for (const e of acknowledged) expect(everywhere.has(eventKey(e.lamport, e.event_id)), `seed ${seed}: acknowledged ${e.event_id} by ${e.author} is missing`).toBe(true);
    const state = JSON.parse(views[0]) as { market: { posts: unknown[] }; community: { members: unknown[] } };
    const acknowledgedPosts = acknowledged.filter((e) => e.event_type === 'market.post.created').length;
    expect(state.market.posts.length, `seed ${seed}: every acknowledged post counts`).toBeGreaterThanOrEqual(acknowledgedPosts);
    expect(state.community.members.length, `seed ${seed}: members`).toBe(n);
    return { trace, acknowledged };
  } catch (err) {
    // Whatever failed (an assertion, a timeout of virtual time), the message names the seed that reproduces it.
    if (err instanceof Error && !err.message.includes(`seed ${seed}`)) err.message = `seed ${seed}: ${err.message}\n${trace.join('\n')}`;
    throw err;
  } finally {
    sim.stop();
  }
}

describe('seeded community simulation (X02 §9, DESIGN §3.8)', () => {
  it.each(seeds())('seed %i: appends, partitions, link trouble and crashes, then heal: one log, one view, nothing acknowledged lost', async (seed) => {
    const report = await simulate(seed);
    if (process.env.SIM_TRACE) console.log(`seed ${seed}\n${report.trace.join('\n')}`);
    expect(report.acknowledged.length, `seed ${seed}`).toBeGreaterThan(0);
  });

  it('the same seed runs the same schedule to the same log', async () => {
    const [a, b] = [await simulate(7), await simulate(7)];
    expect(b.trace).toEqual(a.trace);
    expect(b.acknowledged.map((e) => e.event_id)).toEqual(a.acknowledged.map((e) => e.event_id));
  });

  // BUG (outside communities: core/ulid.ts with transport/memory-link.ts): link jitter delivers frames at fractional
  // virtual milliseconds, and ulidGenerator passes clock.now() to `ulid`, which throws ENC_TIME_MALFORMED for a
  // non-integer time. Every call made from a frame's arrival then fails — here each round of a sync exchange after
  // the first — so a node that is behind never catches up. The fixture reads whole milliseconds to run the
  // simulation at all (`wholeMilliseconds`). Fix: `next(Math.floor(clock.now()))` in ulidGenerator (a Clock may be
  // fractional, e.g. performance.now()-based), and/or whole-millisecond arrival times in the memory link.
  it('with link jitter and the raw virtual clock, a multi-round exchange completes', async () => {
    const sim = await SimCommunity.create(2, 601, { market: true, wholeMilliseconds: false });
    try {
      sim.connectAll();
      await sim.net.run(100);
      await sim.join(1);
      for (const i of [0, 1]) sim.member(i).sync.stop();
      for (let k = 0; k < 100; k++) await sim.net.time.resolve(sim.member(0).community.append('market.post.created', postData(`j${k}`)));
      sim.setConditions({ jitterMs: 50 });
      const outcome = await sim.net.time.resolve(sim.member(1).sync.syncWith(sim.net.nodeId(0)));
      expect(sim.member(1).sync.status().get(sim.net.nodeId(0))?.error).toBeUndefined();
      expect(outcome?.received).toBe(100);
    } finally {
      sim.stop();
    }
  });
});
