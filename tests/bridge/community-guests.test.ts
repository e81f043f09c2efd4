/**
 * B8 guests: a non-member is let into a guarded room on an invite until the invite expires, even an invite another
 * node already used (a device whose join lost must be able to sync and learn it lost). At the invite's expires_at
 * the bridge checks the room again and drops guests that are still not members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foundCommunity, listHeld, makeInvite, openJoiner, postJson, type Holder } from './community-fixtures.js';
import { getJson, startTestBridge, waitFor, type TestBridge } from './helpers.js';
import { SocketNode } from './socket-node.js';

/** The founder's clock, moved back while it writes an invite so that the 60 s minimum TTL ends a few seconds from now. */
const founderClock = { offset: 0, now: () => Date.now() + founderClock.offset };
const GUEST_SECONDS = 5;

describe('B8 guests admitted on an invite', () => {
  let bridge: TestBridge;
  let founder: Holder;
  const sockets: SocketNode[] = [];
  const counters = async () => (await getJson(`${bridge.handle.httpUrl}/health`)).counters;
  const bridgeLogSize = async () => (await listHeld(bridge.handle.httpUrl))[0].events;

  beforeAll(async () => {
    bridge = await startTestBridge();
    founder = await foundCommunity('Ash Court', {}, founderClock);
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

  it('B8: the holder of an invite another node used is admitted until it expires, then dropped; the member stays', async () => {
    founderClock.offset = -(60 - GUEST_SECONDS) * 1000;
    const oneScan = await makeInvite(founder, { ttlSeconds: 60 });
    founderClock.offset = 0;
    const expiresMs = Date.parse(founder.community.view.invite(oneScan.eventId)!.expires_at);
    expect(expiresMs - Date.now()).toBeGreaterThan(2000);

    // Device A redeems the one-scan invite (synced directly from the founder); its join reaches the bridge.
    const winner = await openJoiner(founder.community.communityId);
    await winner.community.ingest(await founder.community.log.events());
    await winner.community.redeem(oneScan.eventId, oneScan.secretSeed, { display_name: 'winner' });
    await founder.community.ingest(await winner.community.log.events());
    sockets[0].services!.sync.syncAll(); // events taken in (not written) by the founder go out at the next round: now
    await waitFor(async () => (await bridgeLogSize()) === founder.community.log.size, 'the invite and the join at the bridge');
    expect((await listHeld(bridge.handle.httpUrl))[0].members).toBe(3);
    const winnerSocket = await SocketNode.connect({ url: bridge.wsUrl, keyPair: winner.keyPair, community: winner.community, displayName: 'winner', services: false });
    sockets.push(winnerSocket);

    // Device B scanned the same QR and lost the race: still admitted, so it can sync and see that it lost.
    const loser = await openJoiner(founder.community.communityId);
    const before = await counters();
    const loserSocket = await SocketNode.connect({
      url: bridge.wsUrl,
      keyPair: loser.keyPair,
      community: loser.community,
      credential: await oneScan.credentialFor(loser.keyPair.nodeId),
      displayName: 'loser'
    });
    sockets.push(loserSocket);
    expect(loserSocket.welcome!.peers.map((p: { node_id: string }) => p.node_id)).toContain(bridge.handle.nodeId);
    await waitFor(() => loser.community.view.invite(oneScan.eventId)?.redeemed_by === winner.keyPair.nodeId, 'the loser to learn the invite was used', 5000);
    expect(loserSocket.closeCode).toBeNull();

    // At expires_at the room is checked again: the guest, still not a member, is dropped; members stay.
    await waitFor(() => loserSocket.closeCode, 'the guest to be dropped at the invite expiry', (GUEST_SECONDS + 5) * 1000);
    expect(Date.now()).toBeGreaterThan(expiresMs);
    expect(loserSocket.closeCode).toBe(1008);
    expect(loserSocket.errors()).toEqual([{ error: 'expired', message: expect.stringMatching(/that invite expired at/) }]);
    expect((await counters()).dropped_not_member).toBe(before.dropped_not_member + 1);
    expect(winnerSocket.closeCode).toBeNull();
    expect(sockets[0].closeCode).toBeNull();
  });
});
