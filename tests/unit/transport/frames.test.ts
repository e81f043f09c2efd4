import { beforeAll, describe, expect, it } from 'vitest';
import { base64UrlDecode, base64UrlEncode, KeyPins, MAX_FRAME_BYTES, rfc3339, type KeyPair } from '../../../src/lib/core/index.js';
import {
  admitFrame,
  decodeFrame,
  encodeFrame,
  FrameSigner,
  ReplayCache,
  utf8ByteLength,
  type AdmitResult,
  type PeerFrame
} from '../../../src/lib/transport/index.js';
import { callFrame, ManualClock, manifestFrame, requestId, testKey, T0 } from './fixtures.js';

let alice: KeyPair;
let bob: KeyPair;
let clock: ManualClock;
let signer: FrameSigner;

beforeAll(async () => {
  alice = await testKey(1);
  bob = await testKey(2);
});

function fresh(): void {
  clock = new ManualClock();
  signer = new FrameSigner(alice, clock);
}

/** Decodes as Bob would on his link to Alice. */
function decodeFromAlice(raw: string | Uint8Array): Promise<AdmitResult> {
  return decodeFrame(raw, { remoteNodeId: alice.nodeId, clock });
}

function rejection(result: AdmitResult) {
  if (result.ok) throw new Error(`expected a rejection, got a ${result.frame.t} frame`);
  return result.rejection;
}

describe('peer frames: encode and decode (P)', () => {
  it('round-trips every frame type with its signature intact', async () => {
    fresh();
    const id = requestId();
    const frames: PeerFrame[] = [
      await manifestFrame(alice, clock),
      await callFrame(signer, { input: { payload: 'héllo' } }, id),
      await signer.response(id, { output: { payload: 'héllo' } }),
      await signer.errorResponse(id, { error: 'not_found', message: 'nope' }),
      await signer.stream(id, 1, 'progress', { current: 1, total: 2, stage: 'pong' }),
      await signer.stream(id, 2, 'error', { error: 'timeout', message: 'slow' }),
      await signer.ack(id, 8),
      await signer.cancel(id)
    ];
    for (const frame of frames) {
      const result = await decodeFromAlice(encodeFrame(frame));
      expect(result).toEqual({ ok: true, frame });
    }
  });

  it('P: refuses a frame over MAX_FRAME_BYTES before parsing it', async () => {
    fresh();
    const huge = JSON.stringify({ t: 'call', pad: 'x'.repeat(MAX_FRAME_BYTES) });
    expect(rejection(await decodeFromAlice(huge))).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/exceeds 65536/) });
    // Multi-byte characters count as bytes, not UTF-16 units.
    const wide = '"' + 'é'.repeat(MAX_FRAME_BYTES / 2) + '"';
    expect(utf8ByteLength(wide)).toBeGreaterThan(MAX_FRAME_BYTES);
    expect(rejection(await decodeFromAlice(wide)).code).toBe('bad_request');
  });

  it('P: refuses text that is not JSON, or JSON that is not an object', async () => {
    fresh();
    expect(rejection(await decodeFromAlice('{"t":"call",'))).toMatchObject({ code: 'bad_request', message: 'frame is not valid JSON' });
    expect(rejection(await decodeFromAlice('[1,2]')).code).toBe('bad_request');
    expect(rejection(await decodeFromAlice('null')).code).toBe('bad_request');
  });

  it('P: a binary frame is a chunk part; one too short for its header is refused bad_request', async () => {
    fresh();
    expect(rejection(await decodeFromAlice(new Uint8Array([1, 2, 3])))).toMatchObject({ code: 'bad_request', t: 'bin' });
  });

  it('P: refuses bad shapes with a message naming the field', async () => {
    fresh();
    const call = (await callFrame(signer)) as Extract<PeerFrame, { t: 'call' }>;
    const cases: [unknown, RegExp][] = [
      [{ t: 'gossip' }, /unknown frame type/],
      [{ ...call, extra: 1 }, /additional properties/],
      [{ t: 'call', call: { ...call.call, request_id: 'not-a-ulid' } }, /request_id/],
      [{ t: 'call', call: { ...call.call, body: undefined } }, /body/],
      [{ t: 'ack', ack: { request_id: requestId(), from: alice.nodeId, upto: -1, timestamp: rfc3339(T0), signature: call.call.signature } }, /upto/],
      [{ t: 'stream', frame: { request_id: requestId(), from: alice.nodeId, seq: 0, event: 'token', data: {}, timestamp: rfc3339(T0), signature: call.call.signature } }, /seq/],
      [{ t: 'stream', frame: { request_id: requestId(), from: alice.nodeId, seq: 1, event: 'error', data: { error: 'oops' }, timestamp: rfc3339(T0), signature: call.call.signature } }, /error/]
    ];
    for (const [value, message] of cases) {
      const r = rejection(await decodeFromAlice(JSON.stringify(value)));
      expect(r.code).toBe('bad_request');
      expect(r.message).toMatch(message);
    }
  });

  it('P2: refuses a correctly signed object whose `from` is not the link peer, with invalid_signature', async () => {
    fresh();
    const fromBob = await callFrame(new FrameSigner(bob, clock));
    const r = rejection(await decodeFromAlice(encodeFrame(fromBob)));
    expect(r).toMatchObject({ code: 'invalid_signature', t: 'call' });
    expect(r.requestId).toBe((fromBob as Extract<PeerFrame, { t: 'call' }>).call.request_id);
    // The same for a manifest, whose sender is node_id.
    expect(rejection(await decodeFromAlice(encodeFrame(await manifestFrame(bob, clock)))).code).toBe('invalid_signature');
  });

  it('P: refuses a forged or altered signature with invalid_signature', async () => {
    fresh();
    const call = (await callFrame(signer, { input: { payload: 'a' } })) as Extract<PeerFrame, { t: 'call' }>;
    const altered = { t: 'call', call: { ...call.call, body: { input: { payload: 'b' } } } };
    expect(rejection(await decodeFromAlice(JSON.stringify(altered))).code).toBe('invalid_signature');
    const sig = base64UrlDecode(call.call.signature.slice('ed25519:'.length));
    sig[5] ^= 1;
    const flipped = { t: 'call', call: { ...call.call, signature: 'ed25519:' + base64UrlEncode(sig) } };
    expect(rejection(await decodeFromAlice(JSON.stringify(flipped))).code).toBe('invalid_signature');
    for (const build of [() => signer.ack(requestId(), 8), () => signer.cancel(requestId()), () => signer.response(requestId(), 1)]) {
      const frame = (await build()) as unknown as Record<string, Record<string, unknown>>;
      const key = Object.keys(frame).find((k) => k !== 't')!;
      frame[key].timestamp = rfc3339(T0 + 1000);
      expect(rejection(await decodeFromAlice(JSON.stringify(frame))).code).toBe('invalid_signature');
    }
  });

  it('W6: refuses a manifest past expires_at with expired', async () => {
    fresh();
    const frame = encodeFrame(await manifestFrame(alice, clock));
    clock.ms = T0 + 30_000;
    expect((await decodeFromAlice(frame)).ok).toBe(true);
    clock.ms = T0 + 31_000;
    expect(rejection(await decodeFromAlice(frame))).toMatchObject({ code: 'expired', t: 'manifest' });
  });

  it('W6: refuses a manifest whose short id is pinned to another key, with invalid_signature', async () => {
    fresh();
    // A second key with the same short id (same first 10 bytes) stands in for one ground by an attacker.
    const impostor = 'ed25519:' + base64UrlEncode(Uint8Array.from([...alice.publicKey.slice(0, 10), ...new Uint8Array(22).fill(9)]));
    const pins = new KeyPins();
    pins.pin(impostor);
    expect(() => pins.check(alice.nodeId)).toThrow(/differs from the first-seen key/);
    const frame = encodeFrame(await manifestFrame(alice, clock));
    const r = rejection(await decodeFrame(frame, { remoteNodeId: alice.nodeId, clock, pins }));
    expect(r).toMatchObject({ code: 'invalid_signature', message: expect.stringMatching(/first-seen key/) });
    // With fresh pins Alice's key is pinned on first sight, and the impostor is then refused.
    const first = new KeyPins();
    expect((await decodeFrame(frame, { remoteNodeId: alice.nodeId, clock, pins: first })).ok).toBe(true);
    expect(() => first.check(impostor)).toThrow(expect.objectContaining({ code: 'invalid_signature' }));
  });

  it('refuses to encode a frame over the limit instead of sending it', async () => {
    fresh();
    const big = await signer.response(requestId(), 'x'.repeat(MAX_FRAME_BYTES));
    expect(() => encodeFrame(big)).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });

  it('never throws on hostile input', async () => {
    fresh();
    const inputs = ['', ' ', '{}', '{"t":null}', '{"t":"manifest","manifest":[]}', '{"t":"call","call":{"from":{}}}', '\u0000', '{"__proto__":{"t":"call"}}'];
    for (const raw of inputs) expect((await decodeFromAlice(raw)).ok).toBe(false);
    // Nesting deep enough to overflow a recursive serialiser still fits in one frame.
    const call = (await callFrame(signer)) as Extract<PeerFrame, { t: 'call' }>;
    const deep = JSON.stringify({ t: 'call', call: { ...call.call, body: 0 } }).replace('"body":0', '"body":' + '['.repeat(30_000) + ']'.repeat(30_000));
    expect(rejection(await decodeFromAlice(deep)).code).toBe('invalid_signature');
  });
});

describe('call admission: timestamp window and replays (P3, P4)', () => {
  function admit(raw: string, replay: ReplayCache): Promise<AdmitResult> {
    return admitFrame(raw, { remoteNodeId: alice.nodeId, clock, replay });
  }

  it('P3: refuses a call more than 60 s from our clock with expired, either direction', async () => {
    fresh();
    const replay = new ReplayCache({ clock });
    const call = encodeFrame(await callFrame(signer));
    clock.ms = T0 + 60_000;
    expect((await admit(call, replay)).ok).toBe(true);
    const stale = encodeFrame(await callFrame(signer));
    clock.ms = T0 + 121_000;
    expect(rejection(await admit(stale, replay))).toMatchObject({ code: 'expired', t: 'call' });
    clock.ms = T0 - 61_000;
    const early = encodeFrame(await callFrame(signer));
    clock.ms = T0 - 122_000;
    expect(rejection(await admit(early, replay)).code).toBe('expired');
  });

  it('P4: refuses a replayed request_id with bad_request "replayed request_id"', async () => {
    fresh();
    const replay = new ReplayCache({ clock });
    const call = encodeFrame(await callFrame(signer));
    expect((await admit(call, replay)).ok).toBe(true);
    const r = rejection(await admit(call, replay));
    expect(r).toEqual({ code: 'bad_request', message: 'replayed request_id', t: 'call', requestId: JSON.parse(call).call.request_id });
    // Once the window has passed, the timestamp check refuses it instead: it can never run twice.
    clock.ms = T0 + 61_000;
    expect(rejection(await admit(call, replay)).code).toBe('expired');
  });

  it('P4: the same request_id from a different sender is not a replay', async () => {
    fresh();
    const replay = new ReplayCache({ clock });
    const id = requestId();
    expect((await admit(encodeFrame(await callFrame(signer, {}, id)), replay)).ok).toBe(true);
    const fromBob = encodeFrame(await callFrame(new FrameSigner(bob, clock), {}, id));
    expect((await admitFrame(fromBob, { remoteNodeId: bob.nodeId, clock, replay })).ok).toBe(true);
  });

  it('P4: a call that failed its signature check does not burn its request_id', async () => {
    fresh();
    const replay = new ReplayCache({ clock });
    const call = (await callFrame(signer)) as Extract<PeerFrame, { t: 'call' }>;
    const forged = JSON.stringify({ t: 'call', call: { ...call.call, body: { evil: true } } });
    expect(rejection(await admit(forged, replay)).code).toBe('invalid_signature');
    expect((await admit(encodeFrame(call), replay)).ok).toBe(true);
  });
});
