/**
 * Who gets the log, and whose events get into it (PROTOCOL S4, K1), when a node that was never invited sits on a
 * link to members and does not play by the rules: it announces the community in its manifest and answers
 * `community.sync` for anyone (the honest LogSync would refuse callers it does not know as members).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncResponder, type EventEnvelope, type SyncRequest } from '../../src/lib/events/index.js';
import { SimCommunity, postData } from './community-fixtures.js';
import { useOrderedWebCrypto } from './ordered-webcrypto.js';

useOrderedWebCrypto();

const STRANGER = 2;
/** A syntactically valid ULID that names no invite anywhere. */
const NO_SUCH_INVITE = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

let sim: SimCommunity | null = null;
afterEach(() => {
  sim?.stop();
  sim = null;
});

/** Nodes 0 and 1 are members with a post each; node 2 was never invited and answers every sync call. */
async function withStranger(seed: number): Promise<{ sim: SimCommunity; secrets: EventEnvelope[] }> {
  sim = await SimCommunity.create(3, seed, { market: true });
  sim.connectAll();
  await sim.net.run(100);
  await sim.join(1);
  const secrets = [
    await sim.net.time.resolve(sim.member(0).community.append('market.post.created', postData('members-only-0'))),
    await sim.net.time.resolve(sim.member(1).community.append('market.post.created', postData('members-only-1')))
  ];
  await sim.converge(120_000, [0, 1]);
  const stranger = sim.member(STRANGER);
  const registration = stranger.sync.registration();
  sim.withdrawSync(STRANGER);
  const responder = new SyncResponder(stranger.community.log);
  sim.net.nodes[STRANGER].register({ ...registration, handler: async (body) => ({ output: await responder.respond((body as { input: SyncRequest }).input) }) });
  return { sim, secrets };
}

describe('admission of strangers to the log (S4, K1)', () => {
  // BUG (log-sync.ts): a member opens exchanges with, and pushes to, every linked peer that is not revoked — also
  // peers at level "none" with no invite. S4 is enforced only by the answering side, so a stranger that answers
  // receives the whole log within one round (30 s). Expected: members sync with members (and answer invite holders
  // who call them), never push the log to an uninvited node.
  it('S4: members never send the log to a linked node that is neither a member nor holding an invite', async () => {
    const { sim, secrets } = await withStranger(501);
    await sim.net.run(2 * 30_000);
    const log = sim.member(STRANGER).community.log;
    for (const e of secrets) expect(log.hasKey(`${String(e.lamport).padStart(16, '0')}:${e.event_id}`), `the stranger holds ${e.data.client_id}`).toBe(false);
  });

  // BUG (event-gate.ts): K1 admits a `community.member.joined` whose author is its own invitee without checking that
  // the invite it names exists, so any node can make itself a "known author" with a join naming a made-up invite;
  // every later event of its own is then stored on every member and synced everywhere for ever (views ignore them).
  it('K1: a join naming an invite that does not exist does not open the log to its author’s events', async () => {
    const { sim } = await withStranger(502);
    const stranger = sim.member(STRANGER).community;
    const fake = [
      await sim.net.time.resolve(stranger.append('community.member.joined', { invite_event_id: NO_SUCH_INVITE, invitee_node_id: stranger.selfId, node_manifest: {} }))
    ];
    for (let k = 0; k < 5; k++) fake.push(await sim.net.time.resolve(stranger.append('market.post.created', postData(`spam${k}`))));
    await sim.net.run(2 * 30_000);
    for (const i of [0, 1]) {
      const log = sim.member(i).community.log;
      for (const e of fake) expect(log.hasKey(`${String(e.lamport).padStart(16, '0')}:${e.event_id}`), `node ${i} stored the stranger's ${e.event_type}`).toBe(false);
    }
  });

  it('K1, K3: whatever is stored, the views never count the stranger or its posts', async () => {
    const { sim, secrets } = await withStranger(503);
    const stranger = sim.member(STRANGER).community;
    await sim.net.time.resolve(stranger.append('community.member.joined', { invite_event_id: NO_SUCH_INVITE, invitee_node_id: stranger.selfId, node_manifest: {} }));
    await sim.net.time.resolve(stranger.append('market.post.created', postData('spam')));
    await sim.net.run(2 * 30_000);
    for (const i of [0, 1]) {
      expect(sim.member(i).community.view.levelOf(stranger.selfId)).toBe('none');
      const posts = (sim.member(i).community.engine.snapshotState() as { market: { posts: { event_id: string }[] } }).market.posts;
      expect(posts.map((p) => p.event_id).sort()).toEqual(secrets.map((e) => e.event_id).sort());
    }
    expect(sim.views()[1]).toBe(sim.views()[0]);
    // Its own sync calls are refused: it is not a member and presents no invite.
    expect(await sim.syncRefusal(STRANGER, 0)).toMatchObject({ code: 'unauthorized' });
  });
});
