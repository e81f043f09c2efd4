/**
 * The capability bus in Node, each figure next to the raw thing it wraps, in the same run:
 *  - local short-circuit: `bus.call` of a capability this node offers vs calling its handler directly;
 *  - calls/s through one bus (local, sequential and 64 in flight);
 *  - remote: a routed `bus.call` to a peer vs a direct rpc call to it (signed both ways) vs an unsigned JSON echo
 *    over the same in-memory link (the raw link).
 * Run: `npx tsx bench/bus.ts`. The provider's rate budget is lifted: at X01's 10 calls/s it would refuse the bench.
 */
import { keyPairFromSeed, systemClock, type KeyPair } from '../src/lib/core/index.js';
import { createNode, echoCapability, type HearthNode } from '../src/lib/node/index.js';
import { createMemoryLinkPair, systemScheduler, type LinkFrame } from '../src/lib/transport/index.js';
import { printTable } from './table.js';

const UNLIMITED = { softPerCap: 1e9, hardPerCap: 1e9, softTotal: 1e9, hardTotal: 1e9 };

interface Stats { p50: number; p90: number; mean: number }
function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p90: at(0.9), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function timeEach(rounds: number, fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(200, rounds); i++) await fn(); // warm-up: JIT, ajv, key caches
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

async function throughput(inFlight: number, ms: number, fn: () => Promise<unknown>): Promise<number> {
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) {
        await fn();
        done++;
      }
    })
  );
  return (done * 1000) / ms;
}

async function makeNode(index: number): Promise<{ node: HearthNode; keyPair: KeyPair }> {
  const keyPair = await keyPairFromSeed(new Uint8Array(32).fill(index + 1));
  const node = createNode({ keyPair, clock: systemClock, scheduler: systemScheduler, displayName: `bench ${index}`, profile: 'spark', communityId: 'bench', rateLimits: UNLIMITED, probeIntervalMs: 3_600_000 });
  await node.ready;
  return { node, keyPair };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

const caller = await makeNode(0);
const provider = await makeNode(1);
const pair = createMemoryLinkPair(caller.keyPair.nodeId, provider.keyPair.nodeId);
caller.node.addLink(pair.a);
provider.node.addLink(pair.b);
provider.node.register(echoCapability(systemClock, systemScheduler, provider.keyPair.nodeId));
await until(() => caller.node.bus.capabilities().some((c) => c.name === 'experimental.echo' && !c.isLocal));

// Local short-circuit: the same echo handler, called directly and through the bus.
const local = { ...echoCapability(systemClock, systemScheduler, caller.keyPair.nodeId), name: 'experimental.bench_local', maxConcurrent: 128 };
caller.node.register(local);
const body = { input: { text: 'x'.repeat(64) } };
const ctx = { caller: caller.keyPair.nodeId, requestId: 'bench', signal: new AbortController().signal };
const LOCAL_ROUNDS = 20_000;
const direct = stats(await timeEach(LOCAL_ROUNDS, async () => local.handler(body, ctx)));
const viaBus = stats(await timeEach(LOCAL_ROUNDS, () => caller.node.bus.call('experimental.bench_local', '1.0', body)));
printTable(
  `Local short-circuit, ${LOCAL_ROUNDS.toLocaleString('en-US')} sequential calls (µs per call)`,
  ['path', 'p50 µs', 'p90 µs', 'mean µs', 'ratio (mean)'],
  [
    ['handler called directly', direct.p50 * 1000, direct.p90 * 1000, direct.mean * 1000, 1],
    ['bus.call (local provider)', viaBus.p50 * 1000, viaBus.p90 * 1000, viaBus.mean * 1000, viaBus.mean / direct.mean]
  ]
);

const localRate1 = await throughput(1, 2000, () => caller.node.bus.call('experimental.bench_local', '1.0', body));
const localRate64 = await throughput(64, 2000, () => caller.node.bus.call('experimental.bench_local', '1.0', body));
const remoteRate1 = await throughput(1, 2000, () => caller.node.bus.call('experimental.echo', '1.0', body));
const remoteRate16 = await throughput(16, 3000, () => caller.node.bus.call('experimental.echo', '1.0', body));
printTable('Calls/s through one bus (2-3 s each)', ['provider', 'in flight', 'calls/s'], [
  ['local', '1', localRate1],
  ['local', '64', localRate64],
  ['peer over in-memory link (signed)', '1', remoteRate1],
  ['peer over in-memory link (signed)', '16', remoteRate16]
]);

// Remote: the raw link (an unsigned JSON echo over a second in-memory pair), a direct rpc call, a routed bus call.
const rawPair = createMemoryLinkPair('raw-a', 'raw-b', { id: 'raw' });
rawPair.b.onFrame((frame) => void rawPair.b.send(frame));
let pendingEcho: (() => void) | null = null;
rawPair.a.onFrame(() => pendingEcho?.());
const rawEcho = (frame: LinkFrame) =>
  new Promise<void>((resolve) => {
    pendingEcho = resolve;
    void rawPair.a.send(frame);
  });
const REMOTE_ROUNDS = 3000;
const rows: (string | number)[][] = [];
for (const size of [64, 1024, 4000]) {
  const sized = { input: { text: 'x'.repeat(size) } };
  const json = JSON.stringify(sized);
  const raw = stats(await timeEach(REMOTE_ROUNDS, () => rawEcho(json)));
  const rpc = stats(await timeEach(REMOTE_ROUNDS, () => caller.node.call(provider.keyPair.nodeId, 'experimental.echo', '1.0', sized)));
  const bus = stats(await timeEach(REMOTE_ROUNDS, () => caller.node.bus.call('experimental.echo', '1.0', sized)));
  rows.push([`${size} B`, raw.p50 * 1000, rpc.p50 * 1000, bus.p50 * 1000, bus.p50 / rpc.p50, bus.p50 / raw.p50]);
}
printTable(
  `Remote call over an in-memory link, ${REMOTE_ROUNDS.toLocaleString('en-US')} sequential calls (p50 µs)`,
  ['payload', 'raw link echo', 'rpc call (signed)', 'bus.call (routed)', 'bus / rpc', 'bus / raw'],
  rows
);

caller.node.stop();
provider.node.stop();
