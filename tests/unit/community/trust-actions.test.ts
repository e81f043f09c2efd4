/** K3/K4 rules a reviewer showed could be abused: forged co-signatures, replayed intents, backdated joins. */
import { describe, expect, it } from 'vitest';
import { keyPairFromSeed, ulidGenerator, type KeyPair } from '../../../src/lib/core/index.js';
import { Community } from '../../../src/lib/community/index.js';
import { MemoryEventStore } from '../../../src/lib/events/index.js';
import { VirtualTime } from '../../sim/virtual-time.js';

async function community(size: number, policy = { min_signatures_to_demote: 2, min_signatures_to_revoke: 2 }) {
  const time = new VirtualTime();
  const keys: KeyPair[] = [];
  for (let i = 0; i < size; i++) keys.push(await keyPairFromSeed(new Uint8Array(32).fill(i + 1)));
  const rootKey = await keyPairFromSeed(new Uint8Array(32).fill(99));
  const store = new MemoryEventStore();
  const founder = await Community.found({ name: 'K', displayName: 'f', policy, rootKey }, { keyPair: keys[0], clock: time, nextId: ulidGenerator(time), storeFor: () => store });
  const others: Community[] = [];
  for (const key of keys.slice(1)) {
    const c = await Community.open({ store: new MemoryEventStore(), keyPair: key, communityId: founder.communityId, clock: time, nextId: ulidGenerator(time) });
    const invite = await founder.invite({ inviteeNodeId: key.nodeId });
    await c.ingest(await founder.log.events());
    const joined = await c.redeem(invite.event.event_id, null, { display_name: key.shortId });
    await founder.ingest([joined]);
    others.push(c);
  }
  for (const c of others) await c.ingest(await founder.log.events());
  return { time, keys, founder, others };
}

describe('trust actions (K3, K4)', () => {
  it('a co-signature that does not verify is refused before anything is written', async () => {
    const { founder, others, keys } = await community(3);
    await founder.promote(keys[1].nodeId, 'trusted');
    const intent = founder.trustIntent('community.member.revoked', keys[2].nodeId, { reason: 'other' });
    const forged = { node_id: keys[1].nodeId, signature: (await others[0].coSign('community.member.revoked', { ...intent, reason: 'inactive' })).signature };
    const before = founder.log.size;
    await expect(founder.commitTrustAction('community.member.revoked', intent, [forged])).rejects.toMatchObject({ code: 'invalid_signature' });
    expect(founder.log.size).toBe(before);
    expect(founder.view.levelOf(keys[2].nodeId)).toBe('member');
  });

  it('a co-signed intent takes effect once: writing the same event data again changes nothing', async () => {
    const { founder, others, keys } = await community(3);
    await founder.promote(keys[1].nodeId, 'trusted');
    await founder.promote(keys[2].nodeId, 'trusted');
    await others[0].ingest(await founder.log.events());
    const intent = founder.trustIntent('community.member.demoted', keys[2].nodeId, { newLevel: 'member' });
    const coSigner = await others[0].coSign('community.member.demoted', intent);
    await founder.commitTrustAction('community.member.demoted', intent, [coSigner]);
    expect(founder.view.levelOf(keys[2].nodeId)).toBe('member');
    await founder.promote(keys[2].nodeId, 'trusted');
    // The anchor replays the old co-signed demotion without asking again: the view ignores it.
    await founder.append('community.member.demoted', { ...intent, co_signers: [coSigner] });
    expect(founder.view.levelOf(keys[2].nodeId)).toBe('trusted');
  });

  it('a join claiming to be older than its invite is ignored', async () => {
    const { founder, time, keys } = await community(1);
    const late = await keyPairFromSeed(new Uint8Array(32).fill(50));
    await time.advance(60_000);
    const invite = await founder.invite({ inviteeNodeId: late.nodeId });
    const { signEvent } = await import('../../../src/lib/events/index.js');
    const backdated = await signEvent(late, {
      eventId: ulidGenerator(time)(),
      lamport: founder.log.head + 1,
      wallClockMs: time.now() - 30_000,
      communityId: founder.communityId,
      eventType: 'community.member.joined',
      data: { invite_event_id: invite.event.event_id, invitee_node_id: late.nodeId, node_manifest: {} }
    });
    await founder.ingest([backdated]);
    expect(founder.view.levelOf(late.nodeId)).toBe('none');
    expect(keys).toHaveLength(1);
  });
});
