/**
 * B8 (DESIGN §3.12): in the room of a community the bridge is a member of, only members and invite holders are
 * admitted; a revoked member is refused, and dropped at once when revoked while connected. Other rooms stay open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, systemClock, ulidGenerator } from '../../src/lib/core/index.js';
import { foundCommunity, listHeld, makeInvite, openJoiner, postJson, type Holder } from './community-fixtures.js';
import { getJson, joinAs, signedHello, startTestBridge, TestClient, waitFor, type TestBridge } from './helpers.js';
import { SocketNode } from './socket-node.js';

describe('B8 rooms the bridge holds as a member', () => {
  let bridge: TestBridge;
  let founder: Holder;
  const sockets: SocketNode[] = [];
  const counters = async () => (await getJson(`${bridge.handle.httpUrl}/health`)).counters;

  /** A raw hello to the community's room; resolves with the client once the bridge answered or closed. */
  async function helloWith(fields: Record<string, unknown>, keyPair?: Awaited<ReturnType<typeof generateKeyPair>>): Promise<TestClient> {
    const kp = keyPair ?? (await generateKeyPair());
    const client = await TestClient.connect(bridge.wsUrl, kp);
    const { nonce } = await client.challenge();
    client.send({ t: 'hello', hello: await signedHello(kp, nonce, { community: founder.community.communityId, ...fields }) });
    await client.next((m) => m.t === 'welcome' || m.t === 'error', 'an answer to hello');
    return client;
  }

  /** A member that joined by an invite addressed to it, through the bridge's room, and is still connected. */
  async function joinMember(name: string): Promise<{ holder: Holder; socket: SocketNode; inviteEventId: string }> {
    const holder = await openJoiner(founder.community.communityId);
    const invite = await makeInvite(founder, { invitee: holder.keyPair.nodeId });
    // The founder pushes the invite to the bridge; the newcomer's hello is checked against the bridge's copy.
    await waitFor(async () => (await listHeld(bridge.handle.httpUrl))[0].events === founder.community.log.size, 'the invite at the bridge');
    const socket = await SocketNode.connect({ url: bridge.wsUrl, keyPair: holder.keyPair, community: holder.community, credential: await invite.credentialFor(holder.keyPair.nodeId), displayName: name });
    sockets.push(socket);
    await waitFor(() => holder.community.view.invite(invite.eventId), 'the invite synced');
    await holder.community.redeem(invite.eventId, null, { display_name: name });
    socket.credential = null;
    await waitFor(() => founder.community.view.member(holder.keyPair.nodeId), 'the join at the founder');
    await waitFor(async () => (await listHeld(bridge.handle.httpUrl))[0].members === founder.community.view.members().length, 'the join at the bridge');
    return { holder, socket, inviteEventId: invite.eventId };
  }

  beforeAll(async () => {
    bridge = await startTestBridge();
    // One trusted signature revokes, so the founder alone can do it in a test.
    founder = await foundCommunity('Elm Street', { min_signatures_to_revoke: 1 });
    const socket = await SocketNode.connect({ url: bridge.wsUrl, keyPair: founder.keyPair, community: founder.community, displayName: 'founder' });
    sockets.push(socket);
    const invite = await makeInvite(founder, { invitee: bridge.handle.nodeId });
    expect((await postJson(`${bridge.handle.httpUrl}/bridge/community/join`, { invite: invite.blob })).status).toBe(200);
    await waitFor(async () => (await listHeld(bridge.handle.httpUrl))[0]?.status === 'member', 'the bridge to become a member', 10_000);
  });
  afterAll(async () => {
    for (const socket of sockets) await socket.close().catch(() => {});
    await bridge.close();
  });

  it('B8: a non-member that shows no invite is refused (unauthorized, close 1008) and counted', async () => {
    const client = await helloWith({});
    expect(client.errors('unauthorized')[0].error.message).toMatch(/redeem an invite/);
    expect(await client.waitClosed()).toBe(1008);
    expect((await counters()).not_member).toBe(1);
    // The founder, a member, is still in the room and was never told about the stranger.
    expect(sockets[0].received.filter((m) => m.t === 'peer-joined').map((m) => m.peer.node_id)).toEqual([bridge.handle.nodeId]);
  });

  it('B8: an invite the bridge cannot accept is refused: unknown, or a one-scan invite without its proof', async () => {
    const unknown = await helloWith({ invite: { invite_event_id: ulidGenerator(systemClock)() } });
    expect(unknown.errors('not_found')[0].error.message).toMatch(/does not know that invite/);
    expect(await unknown.waitClosed()).toBe(1008);

    const oneScan = await makeInvite(founder);
    await waitFor(async () => (await listHeld(bridge.handle.httpUrl))[0].events === founder.community.log.size, 'the invite at the bridge');
    const unproven = await helloWith({ invite: { invite_event_id: oneScan.eventId } });
    expect(unproven.errors('unauthorized')[0].error.message).toMatch(/proof does not verify/);
    const forged = await helloWith({ invite: { invite_event_id: oneScan.eventId, proof: await oneScan.credentialFor((await generateKeyPair()).nodeId).then((c) => c.proof) } });
    expect(forged.errors('unauthorized')).toHaveLength(1);
    expect((await counters()).invite_refused).toBe(3);

    // With the proof made for its own NodeID, the same invite admits.
    const kp = await generateKeyPair();
    const proven = await helloWith({ invite: await oneScan.credentialFor(kp.nodeId) }, kp);
    expect(proven.ofType('welcome')[0].peers.map((p: { node_id: string }) => p.node_id)).toContain(bridge.handle.nodeId);
    proven.close();
  });

  it('B8: hello.invite is shape-checked and covered by the hello signature', async () => {
    const bad = await helloWith({ invite: { invite_event_id: 'not-a-ulid' } });
    expect(bad.errors('bad_request')[0].error.message).toMatch(/hello\.invite\.invite_event_id/);
    const extra = await helloWith({ invite: { invite_event_id: ulidGenerator(systemClock)(), secret: 'x' } });
    expect(extra.errors('bad_request')[0].error.message).toMatch(/unknown fields/);

    const invite = await makeInvite(founder, { invitee: (await generateKeyPair()).nodeId });
    const kp = await generateKeyPair();
    const client = await TestClient.connect(bridge.wsUrl, kp);
    const { nonce } = await client.challenge();
    const hello = await signedHello(kp, nonce, { community: founder.community.communityId });
    client.send({ t: 'hello', hello: { ...hello, invite: { invite_event_id: invite.eventId } } }); // added after signing
    expect((await client.next((m) => m.t === 'error', 'refusal')).error.error).toBe('invalid_signature');
  });

  it('B8: rooms of communities the bridge does not hold stay open to anyone', async () => {
    const client = await joinAs(bridge.wsUrl, { community: 'open-room' });
    expect(client.ofType('welcome')[0].peers).toEqual([]);
    client.close();
  });

  it('B8: a member revoked while connected is dropped at once, and its next hello is refused (revoked)', async () => {
    const { holder, socket, inviteEventId } = await joinMember('Mallory');
    const before = await counters();
    const intent = founder.community.trustIntent('community.member.revoked', holder.keyPair.nodeId, { reason: 'spam' });
    await founder.community.commitTrustAction('community.member.revoked', intent, []);

    await waitFor(() => socket.closeCode, 'the revoked member\'s socket to close', 10_000);
    expect(socket.closeCode).toBe(1008);
    expect(socket.errors().map((e) => e.error)).toEqual(['revoked']);
    expect((await counters()).dropped_revoked).toBe(before.dropped_revoked + 1);
    // The room hears that the member left; the founder stays.
    await waitFor(() => sockets[0].received.some((m) => m.t === 'peer-left' && m.node_id === holder.keyPair.nodeId), 'peer-left at the founder');
    expect(sockets[0].closeCode).toBeNull();

    const again = await helloWith({}, holder.keyPair);
    expect(again.errors('revoked')[0].error.message).toMatch(/removed from the community/);
    expect(await again.waitClosed()).toBe(1008);
    expect((await counters()).revoked).toBe(before.revoked + 1);
    // Also with an invite in hand: a revoked NodeID cannot come back through the room.
    const stale = await helloWith({ invite: { invite_event_id: inviteEventId } }, holder.keyPair);
    expect(stale.errors('revoked')).toHaveLength(1);
  });
});
