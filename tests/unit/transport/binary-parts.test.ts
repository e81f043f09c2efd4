/**
 * The pure parts of binary chunk frames: the header (binary-parts.ts), the caller's assembly and its bounds
 * (chunk-assembly.ts), and an Exchange that holds a chunk event back until its bytes are in and verified.
 */
import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode, HearthError, KeyPins, MAX_FRAME_BYTES, nobleBlake3Hasher, type Blake3Hasher } from '../../../src/lib/core/index.js';
import {
  BINARY_FRAME_SEND_BYTES,
  BINARY_HEADER_BYTES,
  binaryPartsOf,
  ChunkAssembly,
  chunkDataForJson,
  decodeBinaryPart,
  decodeFrame,
  encodeBinaryPart,
  Exchange,
  MAX_HELD_CHUNK_BYTES_PER_EXCHANGE,
  MAX_QUEUED_INBOUND_BINARY_BYTES,
  MAX_QUEUED_INBOUND_FRAMES,
  PeerSession,
  readChunkAnnouncement,
  ReplayCache,
  splitChunkData,
  type BinaryPartFrame,
  type StreamFrameObject
} from '../../../src/lib/transport/index.js';
import { ManualClock, requestId, testKey } from './fixtures.js';

const hasher = nobleBlake3Hasher();
const CHUNK = 256 * 1024;
const ID = '01JGZ0000000000000000000AB';

function bytesOf(size: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

describe('binary part header', () => {
  it('is version, request id, seq and offset (big-endian), then the payload', () => {
    const raw = encodeBinaryPart({ t: 'bin', requestId: ID, seq: 258, offset: 65537, bytes: new Uint8Array([9, 8, 7]) });
    expect(raw.length).toBe(BINARY_HEADER_BYTES + 3);
    expect(raw[0]).toBe(1);
    expect(new TextDecoder().decode(raw.subarray(1, 27))).toBe(ID);
    expect([...raw.subarray(27, 35)]).toEqual([0, 0, 1, 2, 0, 1, 0, 1]);
    expect([...raw.subarray(35)]).toEqual([9, 8, 7]);
    expect(decodeBinaryPart(raw)).toEqual({ ok: true, part: { t: 'bin', requestId: ID, seq: 258, offset: 65537, bytes: new Uint8Array([9, 8, 7]) } });
  });

  it('decodes a part that sits at an offset inside a larger buffer', () => {
    const raw = encodeBinaryPart({ t: 'bin', requestId: ID, seq: 3, offset: 10, bytes: new Uint8Array([5]) });
    const padded = new Uint8Array(raw.length + 5);
    padded.set(raw, 5);
    expect(decodeBinaryPart(padded.subarray(5))).toMatchObject({ ok: true, part: { seq: 3, offset: 10 } });
  });

  it('refuses headers a peer got wrong, each with a message', () => {
    const good = encodeBinaryPart({ t: 'bin', requestId: ID, seq: 1, offset: 0, bytes: new Uint8Array(4) });
    const variant = (edit: (raw: Uint8Array) => void) => {
      const copy = good.slice();
      edit(copy);
      return decodeBinaryPart(copy);
    };
    expect(decodeBinaryPart(good.subarray(0, BINARY_HEADER_BYTES))).toMatchObject({ ok: false, message: expect.stringMatching(/no payload/) });
    expect(variant((r) => (r[0] = 7))).toMatchObject({ ok: false, message: expect.stringMatching(/version 7/) });
    expect(variant((r) => (r[5] = 'I'.charCodeAt(0)))).toMatchObject({ ok: false, message: expect.stringMatching(/not a ULID/) });
    expect(variant((r) => (r[5] = 200))).toMatchObject({ ok: false });
    expect(variant((r) => r.fill(0, 27, 31))).toMatchObject({ ok: false, message: expect.stringMatching(/seq 0/) });
    expect(variant((r) => new DataView(r.buffer).setUint32(31, CHUNK - 2))).toMatchObject({ ok: false, message: expect.stringMatching(/beyond any chunk/) });
  });

  it('decodeFrame admits a well-formed part and refuses an oversize binary frame before reading it', async () => {
    const context = { remoteNodeId: (await testKey(1)).nodeId, clock: new ManualClock() };
    const raw = encodeBinaryPart({ t: 'bin', requestId: ID, seq: 1, offset: 0, bytes: new Uint8Array(MAX_FRAME_BYTES - BINARY_HEADER_BYTES) });
    expect(await decodeFrame(raw, context)).toMatchObject({ ok: true, frame: { t: 'bin', requestId: ID, seq: 1, offset: 0 } });
    const over = new Uint8Array(MAX_FRAME_BYTES + 1);
    over.set(raw);
    expect(await decodeFrame(over, context)).toMatchObject({ ok: false, rejection: { code: 'bad_request', message: expect.stringMatching(/exceeds 65536/) } });
  });

  it('encoding refuses a part over MAX_FRAME_BYTES or with a bad request id', () => {
    expect(() => encodeBinaryPart({ t: 'bin', requestId: ID, seq: 1, offset: 0, bytes: new Uint8Array(MAX_FRAME_BYTES) })).toThrow(HearthError);
    expect(() => encodeBinaryPart({ t: 'bin', requestId: 'short', seq: 1, offset: 0, bytes: new Uint8Array(1) })).toThrow(/not a ULID/);
  });
});

describe('provider side: splitting a chunk event', () => {
  it('signs the data without bytes, with size_bytes and binary_parts; parts are 48 KiB frames covering the bytes', () => {
    const bytes = bytesOf(CHUNK);
    const cid = hasher.cid(bytes);
    const split = splitChunkData({ i: 4, cid, bytes });
    expect(split!.data).toEqual({ i: 4, cid, size_bytes: CHUNK, binary_parts: 6 });
    const parts = binaryPartsOf(ID, 9, split!.bytes);
    expect(parts).toHaveLength(6);
    expect(parts.map((p) => encodeBinaryPart(p).length).slice(0, 5)).toEqual(Array(5).fill(BINARY_FRAME_SEND_BYTES));
    expect(parts.reduce((n, p) => n + p.bytes.length, 0)).toBe(CHUNK);
    expect(parts.map((p) => p.offset)).toEqual(parts.map((_, k) => k * (BINARY_FRAME_SEND_BYTES - BINARY_HEADER_BYTES)));
  });

  it('leaves other data alone and refuses bytes without a cid or over 256 KiB', () => {
    expect(splitChunkData({ text: 'hi' })).toBeNull();
    expect(splitChunkData('bytes')).toBeNull();
    expect(splitChunkData({ bytes: [1, 2] })).toBeNull();
    expect(() => splitChunkData({ bytes: new Uint8Array(1) })).toThrow(/without their cid/);
    expect(() => splitChunkData({ bytes: new Uint8Array(CHUNK + 1), cid: hasher.cid(new Uint8Array(0)) })).toThrow(/at most 262144/);
  });

  it('chunkDataForJson gives the contract §4.7 shape where events leave as JSON', () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 251]);
    const cid = hasher.cid(bytes);
    expect(chunkDataForJson({ i: 0, cid, size_bytes: 5, bytes })).toEqual({ i: 0, cid, size_bytes: 5, data_b64: 'AAEC+vs=' });
    expect(chunkDataForJson({ tokens: 3 })).toEqual({ tokens: 3 });
    expect(base64Decode(base64Encode(bytes))).toEqual(bytes);
    expect(() => base64Decode('AAEC+vs')).toThrow();
    expect(() => base64Decode('AAE=C+vs')).toThrow();
  });
});

describe('caller side: announcements and assembly', () => {
  it('reads what a signed frame promises, and names what is inconsistent', () => {
    const cid = hasher.cid(new Uint8Array(0));
    expect(readChunkAnnouncement({ text: 'x' })).toBeNull();
    expect(readChunkAnnouncement({ cid, size_bytes: CHUNK, binary_parts: 6 })).toEqual({ cid, sizeBytes: CHUNK, parts: 6 });
    expect(readChunkAnnouncement({ cid, size_bytes: 0, binary_parts: 0 })).toEqual({ cid, sizeBytes: 0, parts: 0 });
    expect(readChunkAnnouncement({ size_bytes: 10, binary_parts: 1 })).toMatch(/cid/);
    expect(readChunkAnnouncement({ cid, size_bytes: CHUNK + 1, binary_parts: 6 })).toMatch(/size_bytes/);
    expect(readChunkAnnouncement({ cid, size_bytes: CHUNK, binary_parts: 3 })).toMatch(/binary_parts must be an integer 5\.\.64/);
    expect(readChunkAnnouncement({ cid, size_bytes: 10, binary_parts: 11 })).toMatch(/binary_parts/);
    expect(readChunkAnnouncement({ cid, size_bytes: 0, binary_parts: 1 })).toMatch(/binary_parts/);
  });

  it(`holds at most ${MAX_HELD_CHUNK_BYTES_PER_EXCHANGE / 1024} KiB per exchange until the consumer takes chunks`, () => {
    const assembly = new ChunkAssembly();
    const cid = hasher.cid(new Uint8Array(0));
    for (let seq = 1; seq <= 17; seq++) expect(assembly.announce(seq, { cid, sizeBytes: CHUNK, parts: 6 })).toBe(true);
    expect(assembly.held).toBe(MAX_HELD_CHUNK_BYTES_PER_EXCHANGE);
    expect(assembly.announce(18, { cid, sizeBytes: 1, parts: 1 })).toBe(false);
    assembly.release(CHUNK);
    expect(assembly.announce(18, { cid, sizeBytes: 1, parts: 1 })).toBe(true);
  });
});

/** Hand-made stream frames: an Exchange does not check signatures (the session did). */
function frame(seq: number, event: string, data: unknown): StreamFrameObject {
  return { request_id: ID, from: 'ed25519:peer', seq, event, data, timestamp: '2026-01-01T00:00:00Z', signature: 'ed25519:x' };
}

function partsFor(seq: number, bytes: Uint8Array): BinaryPartFrame[] {
  return binaryPartsOf(ID, seq, bytes);
}

async function drain(exchange: Exchange): Promise<{ events: { event: string; data: unknown }[]; error: unknown }> {
  const events: { event: string; data: unknown }[] = [];
  try {
    for (let e = await exchange.next(); e; e = await exchange.next()) events.push(e);
    return { events, error: null };
  } catch (error) {
    return { events, error };
  }
}

describe('an exchange with chunk frames', () => {
  it('holds a chunk event, and everything after it, until its bytes are in; then delivers in seq order', async () => {
    const exchange = new Exchange(ID, 'ed25519:peer', 'l', () => hasher);
    const bytes = bytesOf(100_000);
    const cid = hasher.cid(bytes);
    exchange.onStreamFrame(frame(1, 'manifest', { n: 1 }));
    exchange.onStreamFrame(frame(2, 'chunk', { i: 0, cid, size_bytes: bytes.length, binary_parts: 3 }));
    exchange.onStreamFrame(frame(3, 'done', { chunks: 1 }));
    const parts = partsFor(2, bytes);
    expect(parts).toHaveLength(3);
    expect(exchange.onBinaryPart(parts[2])).toBeNull(); // any order within the chunk
    expect(exchange.onBinaryPart(parts[0])).toBeNull();
    expect(await exchange.next()).toEqual({ event: 'manifest', data: { n: 1 } });
    expect(exchange.hasQueued).toBe(false);
    expect(exchange.onBinaryPart(parts[1])).toBeNull();
    const { events, error } = await drain(exchange);
    expect(error).toBeNull();
    expect(events).toEqual([
      { event: 'chunk', data: { i: 0, cid, size_bytes: bytes.length, bytes } },
      { event: 'done', data: { chunks: 1 } }
    ]);
  });

  it('waits for a hasher that is still loading', async () => {
    let resolveHasher!: (h: Blake3Hasher) => void;
    const loading = new Promise<Blake3Hasher>((resolve) => (resolveHasher = resolve));
    const exchange = new Exchange(ID, 'ed25519:peer', 'l', () => loading);
    const bytes = bytesOf(10);
    exchange.onStreamFrame(frame(1, 'chunk', { cid: hasher.cid(bytes), size_bytes: 10, binary_parts: 1 }));
    exchange.onBinaryPart(partsFor(1, bytes)[0]);
    exchange.onStreamFrame(frame(2, 'done', {}));
    await Promise.resolve();
    expect(exchange.hasQueued).toBe(false);
    resolveHasher(hasher);
    const { events } = await drain(exchange);
    expect(events.map((e) => e.event)).toEqual(['chunk', 'done']);
  });

  it('bytes that do not hash to the cid fail the exchange with bad_request naming the cid, after earlier events', async () => {
    const exchange = new Exchange(ID, 'ed25519:peer', 'l', () => hasher);
    const bytes = bytesOf(1000);
    const cid = hasher.cid(bytes);
    exchange.onStreamFrame(frame(1, 'token', 'a'));
    exchange.onStreamFrame(frame(2, 'chunk', { cid, size_bytes: 1000, binary_parts: 1 }));
    const forged = bytes.slice();
    forged[999] ^= 1;
    exchange.onBinaryPart(partsFor(2, forged)[0]);
    const { events, error } = await drain(exchange);
    expect(events).toEqual([{ event: 'token', data: 'a' }]);
    expect(error).toBeInstanceOf(HearthError);
    expect(error).toMatchObject({ code: 'bad_request', message: expect.stringContaining(`chunk ${cid} from ed25519:peer: bytes do not match`) });
    expect(exchange.onBinaryPart(partsFor(2, bytes)[0])).toMatchObject({ code: 'not_found' });
  });

  it('a signed frame with an inconsistent announcement fails the exchange; a duplicate chunk frame is ignored', async () => {
    const exchange = new Exchange(ID, 'ed25519:peer', 'l', () => hasher);
    const bytes = bytesOf(10);
    const cid = hasher.cid(bytes);
    exchange.onStreamFrame(frame(1, 'chunk', { cid, size_bytes: 10, binary_parts: 1 }));
    exchange.onStreamFrame(frame(1, 'chunk', { cid, size_bytes: 10, binary_parts: 1, extra: true }));
    exchange.onStreamFrame(frame(1, 'token', 'replacing the chunk'));
    exchange.onBinaryPart(partsFor(1, bytes)[0]);
    exchange.onStreamFrame(frame(2, 'chunk', { cid, size_bytes: 10 * CHUNK, binary_parts: 1 }));
    const { events, error } = await drain(exchange);
    expect(events).toEqual([{ event: 'chunk', data: { cid, size_bytes: 10, bytes } }]);
    expect(error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/stream frame 2 from ed25519:peer: size_bytes/) });
  });

  it('without a hasher (a misconfigured node) chunk bytes fail the exchange instead of passing unverified', async () => {
    const exchange = new Exchange(ID, 'ed25519:peer', 'l');
    exchange.onStreamFrame(frame(1, 'chunk', { cid: hasher.cid(new Uint8Array(0)), size_bytes: 0, binary_parts: 0 }));
    expect((await drain(exchange)).error).toMatchObject({ code: 'internal_error' });
  });

  it('request ids from the fixtures fit the binary header', () => {
    const id = requestId();
    expect(decodeBinaryPart(encodeBinaryPart({ t: 'bin', requestId: id, seq: 1, offset: 0, bytes: new Uint8Array(1) }))).toMatchObject({ ok: true, part: { requestId: id } });
  });
});

describe('the inbound queue of a session', () => {
  it('bounds binary parts by bytes, not by the 256-frame bound of signed frames', async () => {
    const listeners: ((frame: string | Uint8Array) => void)[] = [];
    const link = {
      id: 'fake',
      remoteNodeId: (await testKey(2)).nodeId,
      path: 'memory' as const,
      closed: false,
      send: async () => {},
      onFrame: (listener: (frame: string | Uint8Array) => void) => listeners.push(listener),
      onClose: () => {},
      close: () => {}
    };
    const rejected: string[] = [];
    const seen: string[] = [];
    const clock = new ManualClock();
    new PeerSession({
      link,
      clock,
      pins: new KeyPins(),
      replay: new ReplayCache({ clock }),
      host: { onFrame: (_s, frame) => seen.push(frame.t), onRejected: (_s, r) => rejected.push(r.code), onClosed: () => {} }
    });
    const deliver = (frame: string | Uint8Array) => listeners.forEach((l) => l(frame));
    // All at once, as a burst off a data channel: 300 text frames, then 200 parts (6.4 MiB), then 11 MiB more.
    for (let i = 0; i < 300; i++) deliver('not json');
    const part = encodeBinaryPart({ t: 'bin', requestId: ID, seq: 1, offset: 0, bytes: new Uint8Array(32 * 1024) });
    for (let i = 0; i < 200; i++) deliver(part);
    const big = encodeBinaryPart({ t: 'bin', requestId: ID, seq: 1, offset: 0, bytes: new Uint8Array(MAX_FRAME_BYTES - BINARY_HEADER_BYTES) });
    for (let i = 0; i < 170; i++) deliver(big);
    // The first text frame is taken for verification at once; 256 wait behind it. Every small part fits.
    const textDropped = 300 - 1 - MAX_QUEUED_INBOUND_FRAMES;
    const bigQueued = Math.floor((MAX_QUEUED_INBOUND_BINARY_BYTES - 200 * part.length) / big.length);
    expect(rejected.filter((c) => c === 'rate_limited').length).toBe(textDropped + (170 - bigQueued));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.filter((t) => t === 'bin').length).toBe(200 + bigQueued);
  });
});
