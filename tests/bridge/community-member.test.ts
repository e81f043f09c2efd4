/**
 * The bridge as an always-on member (DESIGN §1; PROTOCOL.md B7, B9): it joins a community by invite, appears in the
 * room as a relay-only peer, keeps the log in SQLite, and after every tab has gone and it has restarted, a newcomer
 * gets the whole log from it alone.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type BridgeHandle } from '../../relay/bridge.js';
import { COMMUNITIES_FILE, JOIN_DEADLINE_MS } from '../../relay/community-registry.js';
import type { BridgeConfig } from '../../relay/config.js';
import { appendMessages, foundCommunity, listHeld, makeInvite, openJoiner, postJson, replicaKeys, type Holder } from './community-fixtures.js';
import { makeTempDir, testConfig, waitFor } from './helpers.js';
import { SocketNode } from './socket-node.js';

describe('the bridge as a member node', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let config: BridgeConfig;
  let bridge: BridgeHandle;
  let founder: Holder;
  let founderSocket: SocketNode;
  const open: SocketNode[] = [];
  const wsUrl = () => `${bridge.httpUrl.replace('http', 'ws')}/signal`;
  const bridgePeer = () => ({ node_id: bridge.nodeId, display_name: 'test-bridge', profile: 'bridge', relay_only: true });
  const sameLog = async (holder: Holder) => {
    const replica = await replicaKeys(config.dataDir, holder.community.communityId);
    return replica.join() === holder.community.log.keys().join();
  };

  beforeAll(async () => {
    temp = await makeTempDir();
    config = testConfig(temp.path);
    bridge = await startBridge(config);
    founder = await foundCommunity('Oak Street');
    await appendMessages(founder, 20);
  });
  afterAll(async () => {
    for (const node of open) await node.close().catch(() => {});
    await bridge.close();
    await temp.remove();
  });

  it('B9, B7: joins by an invite addressed to it, shows in the room as relay-only, and ends with the founder\'s log', async () => {
    founderSocket = await SocketNode.connect({ url: wsUrl(), keyPair: founder.keyPair, community: founder.community, displayName: 'founder' });
    open.push(founderSocket);
    expect(founderSocket.welcome!.peers).toEqual([]); // the bridge does not hold this community yet

    const invite = await makeInvite(founder, { invitee: bridge.nodeId });
    const answer = await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: invite.blob });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ community_id: founder.community.communityId, status: 'joining' });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');

    const joined = await waitFor(() => founderSocket.received.find((m) => m.t === 'peer-joined'), 'the bridge node announced');
    expect(joined.peer).toEqual(bridgePeer());
    await waitFor(() => founder.community.view.member(bridge.nodeId), 'the bridge\'s joined event at the founder', 10_000);
    await waitFor(() => sameLog(founder), 'the replica to equal the founder\'s log', 10_000);

    // A member like any other: it serves log sync and the marketplace to the room.
    const advertised = founderSocket.node.peers().find((p) => p.nodeId === bridge.nodeId)!.manifest.capabilities.map((c) => c.name);
    expect(advertised).toEqual(expect.arrayContaining(['community.sync', 'market.list', 'market.search']));

    const [held] = await listHeld(bridge.httpUrl);
    expect(held).toEqual({
      community_id: founder.community.communityId,
      name: 'Oak Street',
      status: 'member',
      events: founder.community.log.size,
      members: 2,
      head_lamport: Math.max(...(await founder.community.log.events()).map((e) => e.lamport))
    });
    // Persisted for a restart, privately (a pending one-scan invite would be a secret).
    const path = join(config.dataDir, COMMUNITIES_FILE);
    const stored = { version: 1, communities: [{ community_id: founder.community.communityId }] }; // joined: no invite kept
    await waitFor(async () => JSON.stringify(JSON.parse(await readFile(path, 'utf8'))) === JSON.stringify(stored), 'the list saved without the used invite');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('B9: joining again answers member; bad invites get contract errors with §5.5 statuses', async () => {
    const again = await makeInvite(founder, { invitee: (await openJoiner(founder.community.communityId)).keyPair.nodeId });
    const forOther = await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: again.blob });
    expect(forOther.status).toBe(401);
    expect(forOther.body).toMatchObject({ error: 'unauthorized', reason: 'invitee_mismatch' });

    const mine = await makeInvite(founder); // one-scan: any holder may use it, the bridge included
    const member = await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: `https://app.example/join#${mine.blob}` });
    expect(member).toMatchObject({ status: 200, body: { community_id: founder.community.communityId, status: 'member' } });

    const garbage = await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: 'ed25519:not-an-invite' });
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({ error: 'bad_request', reason: 'invite_invalid' });
    expect((await postJson(`${bridge.httpUrl}/bridge/community/join`, '{"invite": 42}')).status).toBe(400);
    expect((await postJson(`${bridge.httpUrl}/bridge/community/join`, 'not json')).body).toMatchObject({ error: 'bad_request' });
    const huge = await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: 'x'.repeat(20_000) });
    expect(huge).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    expect((await fetch(`${bridge.httpUrl}/bridge/community/join`)).status).toBe(405);

    // Flip the character that is replaced (keys are random: replacing it with a fixed letter was sometimes no change).
    const at = mine.blob.length - 6;
    const tampered = mine.blob.slice(0, at) + (mine.blob[at] === 'A' ? 'B' : 'A') + mine.blob.slice(at + 1);
    const bad = await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: tampered });
    expect([400, 401]).toContain(bad.status);
  });

  it('B9: answers a CORS preflight from another origin, Private Network Access included', async () => {
    const res = await fetch(`${bridge.httpUrl}/bridge/community/join`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type', 'access-control-request-private-network': 'true' }
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toContain('content-type');
    expect(res.headers.get('access-control-allow-private-network')).toBe('true');
  });

  it('after every client left and the bridge restarted, a newcomer gets the whole log from the bridge alone', async () => {
    const invite = await makeInvite(founder); // one-scan, made while the founder can still hand it to the bridge
    await appendMessages(founder, 5, 'late'); // pushed live to the bridge
    await waitFor(() => sameLog(founder), 'the replica to catch up', 10_000);
    await founderSocket.close();
    open.splice(open.indexOf(founderSocket), 1);

    await bridge.close();
    const started = performance.now();
    bridge = await startBridge(config);
    const restartMs = performance.now() - started;
    expect(await listHeld(bridge.httpUrl)).toMatchObject([{ community_id: founder.community.communityId, status: 'member', events: founder.community.log.size }]);
    console.info(`[measure] restart with a ${founder.community.log.size}-event replica: ${restartMs.toFixed(0)} ms`);

    const newcomer = await openJoiner(founder.community.communityId);
    const credential = await invite.credentialFor(newcomer.keyPair.nodeId);
    const socket = await SocketNode.connect({ url: wsUrl(), keyPair: newcomer.keyPair, community: newcomer.community, credential, displayName: 'newcomer' });
    open.push(socket);
    expect(socket.welcome!.peers).toEqual([bridgePeer()]); // nobody else is online
    await waitFor(() => newcomer.community.view.invite(invite.eventId), 'the invite, synced from the bridge', 10_000);
    await newcomer.community.redeem(invite.eventId, invite.secretSeed, { display_name: 'newcomer' });
    socket.credential = null;

    const founderKeys = founder.community.log.keys();
    const have = new Set(newcomer.community.log.keys());
    expect(founderKeys.filter((key) => !have.has(key))).toEqual([]);
    expect(newcomer.community.view.members().map((m) => m.display_name).sort()).toEqual(['founder', 'newcomer', 'test-bridge']);
    // The newcomer's joined event reaches the replica, so the next device learns of it too.
    await waitFor(() => sameLog(newcomer), 'the newcomer\'s join in the replica', 10_000);
  });
});

describe('a join that outlives a restart', () => {
  it('B9: a bridge restarted while joining keeps the invite (0600) and finishes once a member comes online', async () => {
    const temp = await makeTempDir();
    const config = testConfig(temp.path);
    let bridge = await startBridge(config);
    try {
      const founder = await foundCommunity('Birch Lane');
      const invite = await makeInvite(founder); // one-scan: its secret must survive the restart
      const answer = await postJson(`${bridge.httpUrl}/bridge/community/join`, { invite: invite.blob });
      expect(answer.body).toEqual({ community_id: founder.community.communityId, status: 'joining' });
      const path = join(config.dataDir, COMMUNITIES_FILE);
      const [entry] = JSON.parse(await readFile(path, 'utf8')).communities;
      expect(entry).toEqual({ community_id: founder.community.communityId, invite: invite.blob, join_deadline: expect.any(String) });
      expect(Date.parse(entry.join_deadline) - Date.now()).toBeGreaterThan(JOIN_DEADLINE_MS - 60_000); // given up if not done by then
      expect((await stat(path)).mode & 0o777).toBe(0o600);

      await bridge.close();
      bridge = await startBridge(config);
      expect(await listHeld(bridge.httpUrl)).toEqual([
        { community_id: founder.community.communityId, name: 'Birch Lane', status: 'joining', events: 0, members: 0, head_lamport: 0 }
      ]);
      // While joining the bridge cannot tell members from strangers, so the room stays open (B8 applies to members).
      const socket = await SocketNode.connect({ url: `${bridge.httpUrl.replace('http', 'ws')}/signal`, keyPair: founder.keyPair, community: founder.community });
      try {
        await waitFor(async () => (await listHeld(bridge.httpUrl))[0].status === 'member', 'the join to finish', 10_000);
        await waitFor(async () => JSON.parse(await readFile(path, 'utf8')).communities[0].invite === undefined, 'the used invite forgotten');
      } finally {
        await socket.close();
      }
    } finally {
      await bridge.close();
      await temp.remove();
    }
  });
});
