/**
 * Blob chunk bytes between peers (DESIGN §3.5, binary-parts.ts): a handler yields `{bytes, cid}`, the bytes cross the
 * link as binary frames of at most 64 KiB, and the caller gets them back only after BLAKE3 matched the signed cid.
 * A hostile provider is a raw peer that writes frames to the link by hand.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HearthError, MAX_FRAME_BYTES, nobleBlake3Hasher } from '../../../src/lib/core/index.js';
import {
  BINARY_FRAME_SEND_BYTES,
  deriveSeed,
  encodeBinaryPart,
  mulberry32,
  type LinkFrame,
  type StreamEvent
} from '../../../src/lib/transport/index.js';
import { SimNetwork } from '../../sim/network.js';
import { useOrderedWebCrypto } from '../../sim/ordered-webcrypto.js';
import { VirtualTime } from '../../sim/virtual-time.js';
import { nodeUnderTest, RawPeer } from './raw-peer.js';

useOrderedWebCrypto();

const CHUNK = 256 * 1024;
const hasher = nobleBlake3Hasher();

function randomBytes(size: number, seed: number): Uint8Array {
  const rng = mulberry32(deriveSeed(seed, 'bytes', size));
  return Uint8Array.from({ length: size }, () => Math.floor(rng() * 256));
}

function chunkEvent(i: number, bytes: Uint8Array): StreamEvent {
  return { event: 'chunk', data: { i, cid: hasher.cid(bytes), size_bytes: bytes.length, bytes } };
}

let net: SimNetwork | undefined;
afterEach(() => {
  net?.stop();
  net = undefined;
});

async function twoNodes(): Promise<SimNetwork> {
  net = await SimNetwork.create({ size: 2, seed: 21, conditions: { delayMs: 5 }, probeIntervalMs: 3_600_000 });
  net.connectAll();
  await net.run(50);
  return net;
}

describe('binary chunk frames between two nodes', () => {
  it('three 256 KiB chunks arrive byte-identical, as binary frames of at most 64 KiB, after their signed frames', async () => {
    const net = await twoNodes();
    const chunks = [0, 1, 2].map((i) => randomBytes(CHUNK, 100 + i));
    net.nodes[1].register({
      name: 'experimental.test_chunks',
      version: '1.0',
      handler: async function* () {
        for (const [i, bytes] of chunks.entries()) yield chunkEvent(i, bytes);
        return { chunks: chunks.length };
      }
    });
    const wire: LinkFrame[] = [];
    net.pair(0, 1).a.onFrame((frame) => wire.push(frame));

    const { events, error } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_chunks', '1.0', {}));
    expect(error).toBeNull();
    expect(events).toHaveLength(4);
    for (const [i, bytes] of chunks.entries()) {
      const data = events[i].data as Record<string, unknown>;
      expect(events[i].event).toBe('chunk');
      expect(data).toEqual({ i, cid: hasher.cid(bytes), size_bytes: CHUNK, bytes });
      expect(data.bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.compare(Buffer.from(data.bytes as Uint8Array), Buffer.from(bytes))).toBe(0);
    }
    expect(events[3]).toEqual({ event: 'done', data: { chunks: 3 } });

    // On the wire: per chunk one signed JSON frame without the bytes, then its binary parts; no base64 anywhere.
    const binary = wire.filter((f): f is Uint8Array => typeof f !== 'string');
    const text = wire.filter((f): f is string => typeof f === 'string');
    expect(binary.length).toBe(3 * Math.ceil(CHUNK / (BINARY_FRAME_SEND_BYTES - 35)));
    expect(Math.max(...binary.map((f) => f.length))).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(binary.reduce((n, f) => n + f.length - 35, 0)).toBe(3 * CHUNK);
    expect(Math.max(...text.map((f) => f.length))).toBeLessThan(2048);
    const firstChunkFrame = wire.findIndex((f) => typeof f === 'string' && f.includes('"binary_parts"'));
    expect(typeof wire[firstChunkFrame + 1]).not.toBe('string');
  });

  it('an empty chunk arrives as empty bytes with no binary frames', async () => {
    const net = await twoNodes();
    net.nodes[1].register({
      name: 'experimental.test_empty',
      version: '1.0',
      handler: async function* () {
        yield chunkEvent(0, new Uint8Array(0));
      }
    });
    const { events, error } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_empty', '1.0', {}));
    expect(error).toBeNull();
    expect(events[0].data).toEqual({ i: 0, cid: hasher.cid(new Uint8Array(0)), size_bytes: 0, bytes: new Uint8Array(0) });
  });

  it('many chunks keep the window: a 24-chunk stream completes with every byte in order', async () => {
    const net = await twoNodes();
    const chunks = Array.from({ length: 24 }, (_, i) => randomBytes(1000 + i * 2000, 300 + i));
    net.nodes[1].register({
      name: 'experimental.test_many',
      version: '1.0',
      handler: async function* () {
        for (const [i, bytes] of chunks.entries()) yield chunkEvent(i, bytes);
      }
    });
    const { events, error } = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_many', '1.0', {}));
    expect(error).toBeNull();
    expect(events.slice(0, 24).map((e) => (e.data as { bytes: Uint8Array }).bytes)).toEqual(chunks);
  });

  it('a unary call whose handler returns bytes fails at once with a clear error instead of hanging', async () => {
    const net = await twoNodes();
    net.nodes[1].register({ name: 'experimental.test_unary_bytes', version: '1.0', handler: () => ({ output: { bytes: new Uint8Array(10) } }) });
    const started = net.time.now();
    const error = await net.time.resolve(net.nodes[0].call(net.nodeId(1), 'experimental.test_unary_bytes', '1.0', {})).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HearthError);
    expect(error).toMatchObject({ code: 'internal_error' });
    expect((error as Error).message).toMatch(/binary/);
    expect(net.time.now() - started).toBeLessThan(1000);
  });

  it('a handler that yields bytes without a cid, or over 256 KiB, ends its stream with internal_error', async () => {
    const net = await twoNodes();
    net.nodes[1].register({
      name: 'experimental.test_no_cid',
      version: '1.0',
      handler: async function* () {
        yield { event: 'chunk', data: { bytes: new Uint8Array(4) } };
      }
    });
    net.nodes[1].register({
      name: 'experimental.test_too_big',
      version: '1.0',
      handler: async function* () {
        yield chunkEvent(0, new Uint8Array(CHUNK + 1));
      }
    });
    const noCid = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_no_cid', '1.0', {}));
    expect(noCid.error).toMatchObject({ code: 'internal_error', message: expect.stringMatching(/without their cid/) });
    const tooBig = await net.time.collect(net.nodes[0].stream(net.nodeId(1), 'experimental.test_too_big', '1.0', {}));
    expect(tooBig.error).toMatchObject({ code: 'internal_error', message: expect.stringMatching(/at most 262144/) });
  });
});

/** A provider under the test's hand: it answers the node's calls with frames it signs and writes itself. */
async function hostileProvider() {
  const time = new VirtualTime();
  const { node } = await nodeUnderTest(time, 3);
  const peer = await RawPeer.connect(node, time, 11);
  await peer.introduce();
  await time.advance(50);
  const callsSeen = () => peer.framesOf('call').map((f) => f.call);
  /** Starts a stream from the node to the raw peer; resolves with its request id once the call is on our side. */
  async function open(capability: string) {
    const before = callsSeen().length;
    const result = time.collect(node.stream(peer.nodeId, capability, '1.0', {}));
    await time.until(() => callsSeen().length > before, 1000, 5);
    return { requestId: callsSeen()[before].request_id, result };
  }
  async function sendChunk(requestId: string, seq: number, bytes: Uint8Array, options: { cid?: string; tamper?: boolean } = {}) {
    const payload = BINARY_FRAME_SEND_BYTES - 35;
    const parts = Math.ceil(bytes.length / payload);
    const cid = options.cid ?? hasher.cid(bytes);
    await peer.send(await peer.signer.stream(requestId, seq, 'chunk', { i: seq - 1, cid, size_bytes: bytes.length, binary_parts: parts }));
    for (let offset = 0; offset < bytes.length; offset += payload) {
      const slice = bytes.slice(offset, offset + payload);
      if (options.tamper && offset === 0) slice[7] ^= 0xff;
      await peer.pair.b.send(encodeBinaryPart({ t: 'bin', requestId, seq, offset, bytes: slice }));
    }
  }
  const done = async (requestId: string, seq: number) => peer.send(await peer.signer.stream(requestId, seq, 'done', {}));
  return { time, node, peer, open, sendChunk, done };
}

describe('binary chunk frames from an untrusted provider', () => {
  it('tampered bytes fail that stream with bad_request naming the cid; another stream on the link completes', async () => {
    const { node, open, sendChunk, done } = await hostileProvider();
    const good = await open('experimental.good');
    const bad = await open('experimental.bad');
    const bytes = randomBytes(CHUNK, 7);
    await sendChunk(bad.requestId, 1, bytes, { tamper: true });
    await sendChunk(good.requestId, 1, bytes);
    await done(good.requestId, 2);

    const badResult = await bad.result;
    expect(badResult.events).toEqual([]);
    expect(badResult.error).toBeInstanceOf(HearthError);
    expect(badResult.error).toMatchObject({ code: 'bad_request' });
    expect((badResult.error as Error).message).toContain(hasher.cid(bytes));
    expect((badResult.error as Error).message).toContain('bytes do not match');

    const goodResult = await good.result;
    expect(goodResult.error).toBeNull();
    expect((goodResult.events[0].data as { bytes: Uint8Array }).bytes).toEqual(bytes);
    expect(node.stats().bad_request).toBe(0); // a mismatch fails the exchange; no frame was malformed
    node.stop();
  });

  it('a binary frame for an unknown request, or for a seq that announced no bytes, is dropped and counted not_found', async () => {
    const { node, peer, open, sendChunk, done } = await hostileProvider();
    await peer.pair.b.send(encodeBinaryPart({ t: 'bin', requestId: '01JGZ0000000000000000000ZZ', seq: 1, offset: 0, bytes: new Uint8Array(10) }));
    const stream = await open('experimental.good');
    await peer.send(await peer.signer.stream(stream.requestId, 1, 'token', { text: 'hi' }));
    await peer.pair.b.send(encodeBinaryPart({ t: 'bin', requestId: stream.requestId, seq: 1, offset: 0, bytes: new Uint8Array(10) }));
    await sendChunk(stream.requestId, 2, randomBytes(1000, 3));
    await done(stream.requestId, 3);
    const { events, error } = await stream.result;
    expect(error).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['token', 'chunk', 'done']);
    expect(node.stats().not_found).toBe(2);
    node.stop();
  });

  it('overlapping, overrunning and surplus parts are dropped and counted bad_request; the chunk still completes', async () => {
    const { time, node, peer, open } = await hostileProvider();
    const stream = await open('experimental.good');
    const bytes = randomBytes(100, 5);
    const part = (offset: number, slice: Uint8Array) => peer.pair.b.send(encodeBinaryPart({ t: 'bin', requestId: stream.requestId, seq: 1, offset, bytes: slice }));
    await peer.send(await peer.signer.stream(stream.requestId, 1, 'chunk', { cid: hasher.cid(bytes), size_bytes: 100, binary_parts: 2 }));
    await part(0, bytes.subarray(0, 60));
    await part(50, bytes.subarray(50, 70)); // overlaps 0..60
    await part(60, new Uint8Array(41)); // runs past 100
    await part(60, bytes.subarray(60));
    await time.advance(50);
    await peer.send(await peer.signer.stream(stream.requestId, 2, 'done', {}));
    const { events, error } = await stream.result;
    expect(error).toBeNull();
    expect((events[0].data as { bytes: Uint8Array }).bytes).toEqual(bytes);
    expect(node.stats().bad_request).toBe(2);
    node.stop();
  });

  it('an oversize or malformed binary frame is refused bad_request before it reaches any exchange', async () => {
    const { time, node, peer } = await hostileProvider();
    await peer.pair.b.send(new Uint8Array(MAX_FRAME_BYTES + 1));
    await peer.pair.b.send(new Uint8Array([1, 2, 3]));
    const wrongVersion = encodeBinaryPart({ t: 'bin', requestId: '01JGZ0000000000000000000ZZ', seq: 1, offset: 0, bytes: new Uint8Array(4) });
    wrongVersion[0] = 2;
    await peer.pair.b.send(wrongVersion);
    await time.advance(50);
    expect(node.stats()).toMatchObject({ bad_request: 3, not_found: 0 });
    node.stop();
  });

  it('bounded buffering: a provider that ignores the window with chunk bytes fails the stream; memory stays bounded', async () => {
    const { time, node, peer } = await hostileProvider();
    const before = peer.framesOf('call').length;
    const iterator = node.stream(peer.nodeId, 'experimental.flood', '1.0', {})[Symbol.asyncIterator]();
    const first = iterator.next();
    await time.until(() => peer.framesOf('call').length > before, 1000, 5);
    const requestId = peer.framesOf('call')[before].call.request_id;
    const bytes = randomBytes(CHUNK, 9);
    const cid = hasher.cid(bytes);
    const payload = BINARY_FRAME_SEND_BYTES - 35;
    // 20 full chunks, never waiting for an ack: past the 16-frame window, and the consumer reads only one.
    for (let seq = 1; seq <= 20; seq++) {
      await peer.send(await peer.signer.stream(requestId, seq, 'chunk', { cid, size_bytes: CHUNK, binary_parts: Math.ceil(CHUNK / payload) }));
      for (let offset = 0; offset < CHUNK; offset += payload) {
        await peer.pair.b.send(encodeBinaryPart({ t: 'bin', requestId, seq, offset, bytes: bytes.subarray(offset, offset + payload) }));
      }
      await time.advance(10);
    }
    expect((await time.resolve(first)).done).toBe(false);
    let delivered = 1;
    let failure: unknown = null;
    try {
      for (;;) {
        const step = await time.resolve(iterator.next());
        if (step.done) break;
        delivered++;
      }
    } catch (err) {
      failure = err;
    }
    expect(failure).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/more chunk bytes than the stream window allows/) });
    // What the consumer took, plus at most a window and one of whole chunks held for it: never the whole flood.
    expect(delivered).toBeLessThanOrEqual(1 + 17);
    // The cancel went out: the exchange is gone.
    await time.advance(50);
    expect(peer.framesOf('cancel').map((f) => f.cancel.request_id)).toContain(requestId);
    node.stop();
  });
});
