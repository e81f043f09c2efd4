/**
 * Joins are what a stranger can cost the bridge: anyone can sign an invite addressed to its public NodeID for a
 * community that does not exist. At most MAX_JOINING are pending at once, each is given up after JOIN_DEADLINE_MS
 * (also across a restart), and a pending join keeps its first invite (PROTOCOL.md B9, relay/README.md).
 */
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeInvite, signInvite } from '../../src/lib/community/index.js';
import { generateKeyPair, rfc3339, systemClock, ulidGenerator } from '../../src/lib/core/index.js';
import { startBridge, type BridgeHandle, type StartBridgeOptions } from '../../relay/bridge.js';
import { COMMUNITIES_DIR, COMMUNITIES_FILE, JOIN_DEADLINE_MS, MAX_JOINING } from '../../relay/community-registry.js';
import type { BridgeConfig } from '../../relay/config.js';
import { eventStorePath } from '../../relay/sqlite-event-store.js';
import { foundCommunity, listHeld, makeInvite, postJson } from './community-fixtures.js';
import { joinAs, makeTempDir, testConfig, waitFor } from './helpers.js';
import { SocketNode } from './socket-node.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function tempConfig(): Promise<BridgeConfig> {
  const temp = await makeTempDir();
  cleanup.push(temp.remove);
  return testConfig(temp.path);
}

async function start(config: BridgeConfig, options: StartBridgeOptions = {}): Promise<BridgeHandle> {
  const bridge = await startBridge(config, options);
  cleanup.push(() => bridge.close());
  return bridge;
}

const joinUrl = (bridge: BridgeHandle) => `${bridge.httpUrl}/bridge/community/join`;
const stored = async (config: BridgeConfig) => JSON.parse(await readFile(join(config.dataDir, COMMUNITIES_FILE), 'utf8')).communities as Record<string, string>[];
const replicaExists = (config: BridgeConfig, communityId: string) =>
  access(eventStorePath(join(config.dataDir, COMMUNITIES_DIR), communityId)).then(
    () => true,
    () => false
  );

/** An invite nobody in `communityId` wrote: signed by a stranger, addressed to the bridge, for an event that does not exist. */
async function forgedInvite(communityId: string, bridgeNodeId: string): Promise<string> {
  const stranger = await generateKeyPair();
  const invite = await signInvite(
    {
      community_id: communityId,
      community_name: 'Totally Real',
      invitee_node_id: bridgeNodeId,
      initial_level: 'member',
      expires_at: rfc3339(Date.now() + 7 * 24 * 3600_000),
      invite_event_id: ulidGenerator(systemClock)(),
      bootstrap: []
    },
    stranger
  );
  return encodeInvite(invite);
}

describe('bounded joins', () => {
  it(`at most ${MAX_JOINING} communities join at once; the next gets capacity_exceeded (429) with a message`, async () => {
    const bridge = await start(await tempConfig());
    for (let i = 0; i < MAX_JOINING; i++) {
      const made = (await generateKeyPair()).nodeId; // a made-up community
      const answer = await postJson(joinUrl(bridge), { invite: await forgedInvite(made, bridge.nodeId) });
      expect(answer).toMatchObject({ status: 200, body: { status: 'joining' } });
    }
    const refused = await postJson(joinUrl(bridge), { invite: await forgedInvite((await generateKeyPair()).nodeId, bridge.nodeId) });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'capacity_exceeded', message: expect.stringMatching(new RegExp(`already joining ${MAX_JOINING} communities`)) });
    expect(refused.body.retry_after_ms).toBeGreaterThan(JOIN_DEADLINE_MS - 60_000);
    expect(await listHeld(bridge.httpUrl)).toHaveLength(MAX_JOINING);
  });

  it('a join not finished by its deadline is dropped: replica deleted, entry forgotten, the room told the node left', async () => {
    const config = await tempConfig();
    const bridge = await start(config, { timing: { joinDeadlineMs: 400 } });
    const community = (await generateKeyPair()).nodeId;
    const watcher = await joinAs(`${bridge.httpUrl.replace('http', 'ws')}/signal`, { community });
    cleanup.push(async () => watcher.close());

    expect((await postJson(joinUrl(bridge), { invite: await forgedInvite(community, bridge.nodeId) })).body.status).toBe('joining');
    expect(await replicaExists(config, community)).toBe(true);
    await watcher.next((m) => m.t === 'peer-joined' && m.peer.node_id === bridge.nodeId, 'the bridge node in the room');

    await waitFor(async () => (await listHeld(bridge.httpUrl)).length === 0, 'the join to be given up');
    await waitFor(async () => (await stored(config)).length === 0, 'the entry gone from communities.json');
    expect(await replicaExists(config, community)).toBe(false);
    await watcher.next((m) => m.t === 'peer-left' && m.node_id === bridge.nodeId, 'peer-left for the bridge node');
    // The slot is free again.
    expect((await postJson(joinUrl(bridge), { invite: await forgedInvite(community, bridge.nodeId) })).status).toBe(200);
  });

  it('a join that finishes in time is kept past the deadline', async () => {
    const config = await tempConfig();
    const bridge = await start(config, { timing: { joinDeadlineMs: 1500 } });
    const founder = await foundCommunity('Rowan Way');
    const socket = await SocketNode.connect({ url: `${bridge.httpUrl.replace('http', 'ws')}/signal`, keyPair: founder.keyPair, community: founder.community, displayName: 'founder' });
    cleanup.push(() => socket.close().catch(() => {}));
    const invite = await makeInvite(founder, { invitee: bridge.nodeId });
    expect((await postJson(joinUrl(bridge), { invite: invite.blob })).status).toBe(200);
    await waitFor(async () => (await listHeld(bridge.httpUrl))[0]?.status === 'member', 'the bridge to become a member');
    await new Promise((resolve) => setTimeout(resolve, 1700));
    expect(await listHeld(bridge.httpUrl)).toMatchObject([{ community_id: founder.community.communityId, status: 'member' }]);
    expect(await stored(config)).toEqual([{ community_id: founder.community.communityId }]);
  });

  it('at restart, a join whose deadline passed is dropped and its replica deleted; one listed without a deadline gets one', async () => {
    const config = await tempConfig();
    let bridge = await startBridge(config);
    const late = await foundCommunity('Late Lane');
    expect((await postJson(joinUrl(bridge), { invite: (await makeInvite(late)).blob })).body.status).toBe('joining');
    await bridge.close();

    // Restarted within the deadline: still joining, same deadline.
    const [entry] = await stored(config);
    bridge = await startBridge(config);
    expect(await listHeld(bridge.httpUrl)).toMatchObject([{ community_id: late.community.communityId, status: 'joining' }]);
    expect((await stored(config))[0].join_deadline).toBe(entry.join_deadline);
    await bridge.close();

    // A list from before deadlines existed: the pending join is given one from now, and it is saved.
    await writeFile(join(config.dataDir, COMMUNITIES_FILE), JSON.stringify({ version: 1, communities: [{ community_id: entry.community_id, invite: entry.invite }] }));
    bridge = await startBridge(config);
    const dated = (await stored(config))[0].join_deadline;
    expect(Date.parse(dated) - Date.now()).toBeGreaterThan(JOIN_DEADLINE_MS - 60_000);
    await bridge.close();

    // Restarted after the deadline (the invite itself is good for a day): dropped, nothing left behind.
    const later = { now: () => Date.now() + JOIN_DEADLINE_MS + 60_000 };
    bridge = await start(config, { clock: later });
    expect(await listHeld(bridge.httpUrl)).toEqual([]);
    expect(await stored(config)).toEqual([]);
    expect(await replicaExists(config, late.community.communityId)).toBe(false);
  });

  it('a pending join keeps its first invite: another for the same community is refused (bad_request)', async () => {
    const config = await tempConfig();
    const bridge = await start(config);
    const founder = await foundCommunity('Hazel Row');
    const genuine = await makeInvite(founder, { invitee: bridge.nodeId });
    expect((await postJson(joinUrl(bridge), { invite: genuine.blob })).body.status).toBe('joining');

    const forged = await postJson(joinUrl(bridge), { invite: await forgedInvite(founder.community.communityId, bridge.nodeId) });
    expect(forged.status).toBe(400);
    expect(forged.body).toMatchObject({ error: 'bad_request', reason: 'already_joining', message: expect.stringMatching(/already joining with another invite/) });
    expect((await stored(config)).map((c) => c.invite)).toEqual([genuine.blob]);
    // The same invite again is fine (an app retrying).
    expect(await postJson(joinUrl(bridge), { invite: genuine.blob })).toMatchObject({ status: 200, body: { status: 'joining' } });

    // And the genuine invite still does its job once a member is online.
    const socket = await SocketNode.connect({ url: `${bridge.httpUrl.replace('http', 'ws')}/signal`, keyPair: founder.keyPair, community: founder.community, displayName: 'founder' });
    cleanup.push(() => socket.close().catch(() => {}));
    await waitFor(async () => (await listHeld(bridge.httpUrl))[0]?.status === 'member', 'the join to finish', 10_000);
  });

  it('a pending invite that has expired is replaced by a new one (the join keeps its deadline)', async () => {
    const config = await tempConfig();
    let offset = 0;
    const bridge = await start(config, { clock: { now: () => Date.now() + offset } });
    const founder = await foundCommunity('Alder Close');
    const short = await makeInvite(founder, { invitee: bridge.nodeId, ttlSeconds: 60 });
    expect((await postJson(joinUrl(bridge), { invite: short.blob })).body.status).toBe('joining');
    const [before] = await stored(config);

    offset = 61_000 + 1000; // the first invite is now past its expiry (whole seconds)
    const fresh = await makeInvite(founder, { invitee: bridge.nodeId });
    expect(await postJson(joinUrl(bridge), { invite: fresh.blob })).toMatchObject({ status: 200, body: { status: 'joining' } });
    const [after] = await stored(config);
    expect(after).toEqual({ community_id: founder.community.communityId, invite: fresh.blob, join_deadline: before.join_deadline });
  });
});
