/**
 * Blob chunks between two peers as binary frames (transport/binary-parts.ts), next to the raw link in the same run:
 *  - raw: the same 64 MiB sent as 48 KiB Uint8Array frames over an in-memory link pair, nothing else;
 *  - rpc stream: 256 chunks of 256 KiB streamed by the transport alone (two Rpc + PeerSession over the same kind of
 *    link): signed JSON frame per chunk, binary parts, window and acks, BLAKE3 of every chunk on arrival;
 *  - node stream: the same through createNode, so the capability bus is in the path on both sides.
 * Median of 3 rounds after a warm-up (the node row: one round of 16 MiB, see the note it prints). Run:
 * `npx tsx bench/chunk-frames.ts`.
 */
import { buildNodeManifest, keyPairFromSeed, loadBlake3Hasher, systemClock, type KeyPair } from '../src/lib/core/index.js';
import { createNode } from '../src/lib/node/index.js';
import {
  BINARY_FRAME_SEND_BYTES,
  createMemoryLinkPair,
  HandlerTable,
  PeerSession,
  ReplayCache,
  Rpc,
  systemScheduler,
  type Link,
  type StreamEvent
} from '../src/lib/transport/index.js';
import { KeyPins } from '../src/lib/core/index.js';
import { printTable } from './table.js';

const MIB = 1024 * 1024;
const CHUNK = 256 * 1024;
const SIZE = 64 * MIB;
const ROUNDS = 3;
const COMMUNITY = 'bench:chunks';

const hasher = await loadBlake3Hasher();
const chunks = Array.from({ length: SIZE / CHUNK }, (_, c) => {
  const bytes = new Uint8Array(CHUNK);
  for (let i = 0; i < CHUNK; i++) bytes[i] = (i * 31 + c * 7) % 251;
  return { bytes, cid: hasher.cid(bytes) };
});

async function median(run: () => Promise<unknown>, rounds = ROUNDS): Promise<number> {
  await run();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const mibPerSecond = (bytes: number, ms: number) => bytes / MIB / (ms / 1000);

async function* chunkEvents(count = chunks.length): AsyncGenerator<StreamEvent> {
  for (let i = 0; i < count; i++) yield { event: 'chunk', data: { i, cid: chunks[i].cid, size_bytes: CHUNK, bytes: chunks[i].bytes } };
}

async function consume(events: AsyncIterable<StreamEvent>): Promise<number> {
  let received = 0;
  for await (const event of events) if (event.event === 'chunk') received += (event.data as { bytes: Uint8Array }).bytes.length;
  return received;
}

const [alice, bob] = await Promise.all([keyPairFromSeed(new Uint8Array(32).fill(1)), keyPairFromSeed(new Uint8Array(32).fill(2))]);

/** The raw primitive: the same bytes, in frames of the size the transport sends, one link, no protocol. */
async function rawLoop(): Promise<void> {
  const pair = createMemoryLinkPair(alice.nodeId, bob.nodeId);
  let received = 0;
  const done = new Promise<void>((resolve) =>
    pair.b.onFrame((frame) => {
      received += (frame as Uint8Array).length;
      if (received >= SIZE) resolve();
    })
  );
  for (const { bytes } of chunks) {
    for (let offset = 0; offset < CHUNK; offset += BINARY_FRAME_SEND_BYTES) await pair.a.send(bytes.subarray(offset, offset + BINARY_FRAME_SEND_BYTES));
  }
  await done;
  pair.close();
}

/** One side of a transport-only pair: an Rpc serving `handlers` over one PeerSession, introduced by its manifest. */
async function rpcEnd(keyPair: KeyPair, link: Link, handlers: HandlerTable): Promise<{ rpc: Rpc; session: PeerSession }> {
  let session!: PeerSession;
  const rpc: Rpc = new Rpc({
    keyPair,
    clock: systemClock,
    scheduler: systemScheduler,
    communityId: COMMUNITY,
    handler: handlers,
    sessions: { sessionFor: () => (session.hasVerifiedManifest ? session : undefined) }
  });
  session = new PeerSession({
    link,
    clock: systemClock,
    pins: new KeyPins(),
    replay: new ReplayCache({ clock: systemClock }),
    host: {
      onFrame: (s, frame) => {
        if (frame.t !== 'manifest') rpc.handleFrame(s, frame);
      },
      onRejected: (_s, rejection) => {
        throw new Error(`bench frame rejected: ${rejection.code} ${rejection.message}`);
      },
      onClosed: (s) => rpc.sessionClosed(s)
    }
  });
  const manifest = await buildNodeManifest(keyPair, { communityId: COMMUNITY, displayName: 'bench', profile: 'spark' }, systemClock);
  await session.send({ t: 'manifest', manifest });
  return { rpc, session };
}

const pair = createMemoryLinkPair(alice.nodeId, bob.nodeId, { id: 'rpc' });
const served = new HandlerTable();
served.register({ name: 'experimental.bench_chunks', version: '1.0', handler: () => chunkEvents() });
const [caller, provider] = await Promise.all([rpcEnd(alice, pair.a, new HandlerTable()), rpcEnd(bob, pair.b, served)]);
while (!caller.session.hasVerifiedManifest || !provider.session.hasVerifiedManifest) await new Promise((resolve) => setTimeout(resolve, 1));

async function rpcStream(): Promise<void> {
  const received = await consume(caller.rpc.stream(bob.nodeId, 'experimental.bench_chunks', '1.0', {}));
  if (received !== SIZE) throw new Error(`rpc stream delivered ${received} bytes`);
}

const rawMs = await median(rawLoop);
const rpcMs = await median(rpcStream);
caller.rpc.stop();
provider.rpc.stop();
pair.close();

// Through createNode: the bus wraps both ends. One round of 16 MiB keeps the run short while the bus sizes each event.
const NODE_CHUNKS = 64;
const nodes = [alice, bob].map((keyPair) =>
  createNode({ keyPair, clock: systemClock, scheduler: systemScheduler, displayName: 'bench', profile: 'spark', communityId: COMMUNITY, probeIntervalMs: 3_600_000 })
);
await Promise.all(nodes.map((node) => node.ready));
nodes[1].register({ name: 'experimental.bench_chunks', version: '1.0', trustRequired: 'guest', handler: () => chunkEvents(NODE_CHUNKS) });
const nodePair = createMemoryLinkPair(alice.nodeId, bob.nodeId, { id: 'nodes' });
nodes[0].addLink(nodePair.a);
nodes[1].addLink(nodePair.b);
while (nodes[0].peers().length === 0 || nodes[1].peers().length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
const nodeMs = await median(() => consume(nodes[0].stream(bob.nodeId, 'experimental.bench_chunks', '1.0', {})), 1);
for (const node of nodes) node.stop();

const nodeBytes = NODE_CHUNKS * CHUNK;
printTable(`Blob chunks over an in-memory link, ${SIZE / MIB} MiB in ${CHUNK / 1024} KiB chunks (${BINARY_FRAME_SEND_BYTES / 1024} KiB frames; BLAKE3: ${hasher.backend})`, ['path', 'ms', 'MiB/s', 'x raw'], [
  ['raw link loop', rawMs, mibPerSecond(SIZE, rawMs), 1],
  ['rpc stream (transport)', rpcMs, mibPerSecond(SIZE, rpcMs), rpcMs / rawMs],
  [`node stream (bus, ${nodeBytes / MIB} MiB)`, nodeMs, mibPerSecond(nodeBytes, nodeMs), mibPerSecond(SIZE, rawMs) / mibPerSecond(nodeBytes, nodeMs)]
]);
