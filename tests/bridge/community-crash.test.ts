/**
 * A bridge killed mid-sync loses nothing it acknowledged (DESIGN §5): the bridge runs as a child process, a client
 * pushes a large log into it, the process is SIGKILLed part-way, and after a restart every event of every sync
 * message the bridge answered (its `accepted` count) is in the SQLite replica; the client then finishes the sync.
 * Also measures how long the bridge takes to take in N events from a client, and to restart with that replica.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Community, SYNC_CAPABILITY, SYNC_VERSION } from '../../src/lib/community/index.js';
import { generateKeyPair, systemClock, ulidGenerator } from '../../src/lib/core/index.js';
import { syncWith, type SyncReply, type SyncRequest } from '../../src/lib/events/index.js';
import { communityViews } from '../../src/lib/node/index.js';
import { startBridge } from '../../relay/bridge.js';
import { SqliteEventStore } from '../../relay/sqlite-event-store.js';
import { appendMessages, foundCommunity, listHeld, makeInvite, postJson, replicaKeys, type Holder } from './community-fixtures.js';
import { makeTempDir, testConfig, waitFor } from './helpers.js';
import { SocketNode } from './socket-node.js';

const ROOT = resolve(import.meta.dirname, '../..');
const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface ChildBridge {
  child: ChildProcess;
  httpUrl: string;
  nodeId: string;
  exited: Promise<number | null>;
}

/** `node --import tsx relay/main.ts` (one process, so SIGKILL reaches the bridge itself), up once it logs its URL. */
async function spawnBridge(dataDir: string, appDir: string): Promise<ChildBridge> {
  const args = ['--import', 'tsx', 'relay/main.ts', '--port', '0', '--https-port', '0', '--no-mdns', '--log-level', 'info', '--name', 'crash-bridge', '--data-dir', dataDir, '--app-dir', appDir];
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HEARTHNET_')));
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  let stdout = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.resume();
  const lines = () => stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  const started = await waitFor(() => lines().find((entry) => entry.msg === 'bridge started'), 'the bridge to start', 20_000);
  const key = lines().find((entry) => entry.msg === 'device key loaded');
  return { child, httpUrl: started.http, nodeId: key.node_id, exited };
}

const wsOf = (httpUrl: string) => `${httpUrl.replace('http', 'ws')}/signal`;

/** The founder connects, invites the bridge, and waits until the bridge is a member holding the log. */
async function bridgeJoins(founder: Holder, httpUrl: string, bridgeId: string): Promise<SocketNode> {
  const socket = await SocketNode.connect({ url: wsOf(httpUrl), keyPair: founder.keyPair, community: founder.community, displayName: 'founder' });
  cleanup.push(() => socket.close().catch(() => {}));
  const invite = await makeInvite(founder, { invitee: bridgeId });
  expect((await postJson(`${httpUrl}/bridge/community/join`, { invite: invite.blob })).status).toBe(200);
  await waitFor(async () => (await listHeld(httpUrl))[0]?.status === 'member', 'the bridge to join', 15_000);
  return socket;
}

describe('a bridge killed mid-sync', () => {
  it('keeps every event it acknowledged, and the client finishes the sync after the restart', async () => {
    const N = 3000;
    const temp = await makeTempDir();
    cleanup.push(temp.remove);
    const dataDir = resolve(temp.path, 'data');
    const appDir = resolve(temp.path, 'app');
    const firstStart = performance.now();
    let bridge = await spawnBridge(dataDir, appDir);
    const emptyStartMs = performance.now() - firstStart;
    const founder = await foundCommunity('Crash Street');
    const socket = await bridgeJoins(founder, bridge.httpUrl, bridge.nodeId);
    const before = (await listHeld(bridge.httpUrl))[0].events;

    // From here the client pushes and the bridge can only answer: the client stops serving sync, so every event the
    // bridge stores came in a message whose reply tells the client how many were accepted.
    socket.stopServices();
    await appendMessages(founder, N);
    const acknowledged = new Set<string>();
    let accepted = 0;
    let killed = false;
    // Anywhere from before the bridge stores the next message to after it answered: the claim holds for every point.
    const killDelayMs = Math.floor(Math.random() * 40);
    const send = async (request: SyncRequest): Promise<SyncReply> => {
      const call = socket.node.call(bridge.nodeId, SYNC_CAPABILITY, SYNC_VERSION, { input: request }, { timeoutMs: 15_000 });
      if (!killed && accepted >= N / 3 && request.events.length > 0) {
        killed = true;
        setTimeout(() => bridge.child.kill('SIGKILL'), killDelayMs);
      }
      const reply = ((await call) as { output: SyncReply }).output;
      const refused = new Set(reply.rejected.map((r) => r.event_id));
      for (const event of request.events) if (!refused.has(event.event_id)) acknowledged.add(event.event_id);
      accepted += reply.accepted;
      return reply;
    };
    await expect(syncWith(founder.community.log, send)).rejects.toThrow();
    expect(killed).toBe(true);
    expect(await bridge.exited).toBeNull(); // killed by the signal, not exited

    const started = performance.now();
    bridge = await spawnBridge(dataDir, appDir);
    const [held] = await waitFor(async () => {
      const list = await listHeld(bridge.httpUrl);
      return list.length > 0 ? list : null;
    }, 'the replica to reopen');
    const restartMs = performance.now() - started;
    expect(held.status).toBe('member');
    expect(held.events).toBeGreaterThanOrEqual(before + accepted);

    const replica = new Set((await replicaKeys(dataDir, founder.community.communityId)).map((key) => key.slice(key.indexOf(':') + 1)));
    const missing = [...acknowledged].filter((id) => !replica.has(id));
    expect(missing).toEqual([]);
    console.info(
      `[measure] SIGKILL ${killDelayMs} ms into a message, after ${accepted} accepted (${acknowledged.size} acknowledged ids); the replica holds ${replica.size} ` +
        `(${before} before the push); process start to reopened replica ${restartMs.toFixed(0)} ms (first start, empty: ${emptyStartMs.toFixed(0)} ms)`
    );

    // The client comes back and finishes: nothing was lost, and nothing needs sending twice beyond what was unacknowledged.
    const again = await SocketNode.connect({ url: wsOf(bridge.httpUrl), keyPair: founder.keyPair, community: founder.community, displayName: 'founder', services: false });
    cleanup.push(() => again.close().catch(() => {}));
    await waitFor(() => again.knows(bridge.nodeId), 'the bridge node\'s manifest');
    const outcome = await syncWith(founder.community.log, async (request) => ((await again.node.call(bridge.nodeId, SYNC_CAPABILITY, SYNC_VERSION, { input: request })) as { output: SyncReply }).output);
    expect(outcome.sent).toBe(founder.community.log.size - replica.size);
    expect((await listHeld(bridge.httpUrl))[0].events).toBe(founder.community.log.size);
  }, 120_000);
});

describe('measured: intake and restart (in process)', () => {
  it('takes in N=2000 events from a client, and restarts with that replica', async () => {
    const N = 2000;
    const temp = await makeTempDir();
    cleanup.push(temp.remove);
    const config = testConfig(temp.path);
    let bridge = await startBridge(config);
    cleanup.push(() => bridge.close());
    const founder = await foundCommunity('Bench Street');
    const first = await bridgeJoins(founder, bridge.httpUrl, bridge.nodeId);
    await first.close();

    await appendMessages(founder, N); // written while away from the bridge
    const started = performance.now();
    const socket = await SocketNode.connect({ url: wsOf(bridge.httpUrl), keyPair: founder.keyPair, community: founder.community, displayName: 'founder' });
    cleanup.push(() => socket.close().catch(() => {}));
    await waitFor(async () => (await listHeld(bridge.httpUrl))[0].events === founder.community.log.size, `the bridge to hold all ${N} new events`, 60_000, 10);
    const intakeMs = performance.now() - started;
    expect(await replicaKeys(config.dataDir, founder.community.communityId)).toEqual([...founder.community.log.keys()]);
    await socket.close();

    await bridge.close();
    const restartStarted = performance.now();
    bridge = await startBridge(config);
    const restartMs = performance.now() - restartStarted;
    expect((await listHeld(bridge.httpUrl))[0]).toMatchObject({ status: 'member', events: founder.community.log.size });

    // The primitive underneath, in the same run: the same events ingested straight into a fresh SQLite-backed log
    // (signature checks, admission, one commit per 100 events, views), with no socket, relay or sync protocol.
    const rawDir = await makeTempDir();
    cleanup.push(rawDir.remove);
    const store = SqliteEventStore.open(rawDir.path, founder.community.communityId);
    cleanup.push(async () => store.close());
    const raw = await Community.open({ store, keyPair: await generateKeyPair(), communityId: founder.community.communityId, clock: systemClock, nextId: ulidGenerator(systemClock), views: communityViews });
    const events = await founder.community.log.events();
    const rawStarted = performance.now();
    for (let i = 0; i < events.length; i += 100) await raw.ingest(events.slice(i, i + 100));
    const rawMs = performance.now() - rawStarted;
    expect(raw.log.size).toBe(events.length);
    console.info(
      `[measure] intake of ${N} events over the relay socket: ${intakeMs.toFixed(0)} ms (${((N / intakeMs) * 1000).toFixed(0)} events/s); ` +
        `direct ingest of the same ${events.length} events into SQLite: ${rawMs.toFixed(0)} ms (ratio ${(intakeMs / rawMs).toFixed(1)}x); ` +
        `restart with a ${founder.community.log.size}-event replica: ${restartMs.toFixed(0)} ms`
    );
  }, 120_000);
});
