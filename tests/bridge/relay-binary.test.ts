/**
 * B4 with binary frames: a blob chunk part crosses the bridge socket as `{t:"relay", to, frame, bin: true}` with the
 * frame in standard base64. The bridge checks the base64 and the decoded size (64 KiB) but never opens the frame;
 * between clients it forwards the text as it came, to its own node it hands the bytes (relay-link.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Encode, MAX_FRAME_BYTES, nobleBlake3Hasher } from '../../src/lib/core/index.js';
import type { LinkFrame } from '../../src/lib/transport/index.js';
import { parseClientMessage, relayedLinkFrame, relayMessage } from '../../relay/messages.js';
import { RelayLink } from '../../relay/relay-link.js';
import type { RelayCarrier } from '../../relay/room-node.js';
import { foundCommunity, openJoiner } from './community-fixtures.js';
import { getJson, joinAs, startTestBridge, waitFor, type TestBridge } from './helpers.js';
import { SocketNode } from './socket-node.js';

const TO = 'ed25519:' + 'A'.repeat(43);
const parse = (message: unknown, max = 131_072) => parseClientMessage(Buffer.from(JSON.stringify(message)), false, max);

function bytesOf(size: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 131 + seed * 17 + (i >> 9)) & 0xff);
}

describe('relay messages with binary frames', () => {
  it('accepts a bin frame of 1..64 KiB decoded bytes, and keeps it base64 for forwarding', () => {
    const frame = base64Encode(bytesOf(MAX_FRAME_BYTES));
    const parsed = parse({ t: 'relay', to: TO, frame, bin: true });
    expect(parsed).toEqual({ ok: true, message: { t: 'relay', to: TO, frame, bin: true } });
    expect(relayMessage('ed25519:from', { frame, bin: true })).toEqual({ t: 'relay', from: 'ed25519:from', frame, bin: true });
    expect(relayMessage('ed25519:from', { frame: '{}' })).toEqual({ t: 'relay', from: 'ed25519:from', frame: '{}' });
    expect(relayedLinkFrame({ frame, bin: true })).toEqual(bytesOf(MAX_FRAME_BYTES));
    expect(relayedLinkFrame({ frame: '{}' })).toBe('{}');
  });

  it('refuses a bin frame over 64 KiB decoded (frame_too_large), not base64, empty, or a bin flag that is not true', () => {
    const rejection = (message: unknown) => {
      const parsed = parse(message);
      return parsed.ok ? null : parsed.rejection;
    };
    expect(rejection({ t: 'relay', to: TO, frame: base64Encode(new Uint8Array(MAX_FRAME_BYTES + 1)), bin: true })).toMatchObject({
      code: 'bad_request',
      reason: 'frame_too_large',
      message: `binary frame is ${MAX_FRAME_BYTES + 1} bytes; the limit is ${MAX_FRAME_BYTES}`
    });
    expect(rejection({ t: 'relay', to: TO, frame: 'not base64!', bin: true })).toMatchObject({ reason: 'bad_shape' });
    expect(rejection({ t: 'relay', to: TO, frame: 'AAE', bin: true })).toMatchObject({ reason: 'bad_shape' });
    expect(rejection({ t: 'relay', to: TO, frame: 'AA=A', bin: true })).toMatchObject({ reason: 'bad_shape' });
    expect(rejection({ t: 'relay', to: TO, frame: '', bin: true })).toMatchObject({ reason: 'bad_shape' });
    expect(rejection({ t: 'relay', to: TO, frame: 'AAEC', bin: 'yes' })).toMatchObject({ reason: 'bad_shape', message: 'bin must be true or absent' });
    expect(rejection({ t: 'relay', to: TO, frame: [1, 2], bin: true })).toMatchObject({ reason: 'bad_shape' });
    // A 48 KiB part, as nodes send them, fits even the smallest socket message limit a bridge accepts.
    expect(parse({ t: 'relay', to: TO, frame: base64Encode(new Uint8Array(48 * 1024)), bin: true }, 66_560).ok).toBe(true);
  });
});

class FakeCarrier implements RelayCarrier {
  readonly nodeId = 'ed25519:client';
  open = true;
  bufferedBytes = 0;
  readonly sent: Record<string, unknown>[] = [];
  send(message: object): boolean {
    this.sent.push(message as Record<string, unknown>);
    return true;
  }
  dropSlowReader(): void {
    this.open = false;
  }
}

describe("the relay link of the bridge's node", () => {
  it('round-trips a binary frame: out as base64 with bin, in as bytes; text frames are unchanged', async () => {
    const carrier = new FakeCarrier();
    const link = new RelayLink('l1', carrier, 'ed25519:bridge');
    const received: LinkFrame[] = [];
    link.onFrame((frame) => received.push(frame));
    const bytes = bytesOf(48 * 1024, 3);
    await link.send(bytes.subarray(1024)); // a view: only its own bytes go out
    await link.send('{"t":"ack"}');
    expect(carrier.sent).toEqual([
      { t: 'relay', from: 'ed25519:bridge', frame: base64Encode(bytes.subarray(1024)), bin: true },
      { t: 'relay', from: 'ed25519:bridge', frame: '{"t":"ack"}' }
    ]);
    const back = relayedLinkFrame(carrier.sent[0] as { frame: string; bin: true });
    link.deliver(back);
    link.deliver('{"t":"ack"}');
    expect(received).toEqual([bytes.subarray(1024), '{"t":"ack"}']);
  });
});

describe('binary frames through a running bridge', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await startTestBridge();
  });
  afterAll(() => bridge.close());

  it('B4: forwards a bin frame between clients as it came, and refuses an oversize one with bad_request', async () => {
    const alice = await joinAs(bridge.wsUrl, { community: 'bin-street' });
    const bob = await joinAs(bridge.wsUrl, { community: 'bin-street' });
    const frame = base64Encode(bytesOf(MAX_FRAME_BYTES, 5));
    bob.send({ t: 'relay', to: alice.keyPair!.nodeId, frame, bin: true });
    expect(await alice.next((m) => m.t === 'relay', 'bin relay')).toEqual({ t: 'relay', from: bob.keyPair!.nodeId, frame, bin: true });

    bob.send({ t: 'relay', to: alice.keyPair!.nodeId, frame: base64Encode(new Uint8Array(MAX_FRAME_BYTES + 3)), bin: true });
    const error = await bob.next((m) => m.t === 'error', 'frame too large');
    expect(error.error).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/binary frame is 65539 bytes/) });
    expect(alice.ofType('relay')).toHaveLength(1);
    expect((await getJson(`${bridge.handle.httpUrl}/health`)).counters.frame_too_large).toBeGreaterThanOrEqual(1);
    alice.close();
    bob.close();
  });

  it('two nodes stream three 256 KiB chunks to each other over the relay, byte-identical and verified', async () => {
    const founder = await foundCommunity('Binary Street');
    const joiner = await openJoiner(founder.community.communityId);
    const provider = await SocketNode.connect({ url: bridge.wsUrl, keyPair: founder.keyPair, community: founder.community, services: false });
    const caller = await SocketNode.connect({ url: bridge.wsUrl, keyPair: joiner.keyPair, community: joiner.community, services: false });
    try {
      const hasher = nobleBlake3Hasher();
      const chunks = [1, 2, 3].map((seed) => bytesOf(256 * 1024, seed));
      provider.node.register({
        name: 'experimental.test_relay_chunks',
        version: '1.0',
        trustRequired: 'guest',
        handler: async function* () {
          for (const [i, bytes] of chunks.entries()) yield { event: 'chunk', data: { i, cid: hasher.cid(bytes), size_bytes: bytes.length, bytes } };
        }
      });
      await waitFor(() => caller.knows(provider.nodeId) && provider.knows(caller.nodeId), 'both nodes to know each other');
      const events = [];
      for await (const event of caller.node.stream(provider.nodeId, 'experimental.test_relay_chunks', '1.0', {})) events.push(event);
      expect(events.map((e) => e.event)).toEqual(['chunk', 'chunk', 'chunk', 'done']);
      for (const [i, bytes] of chunks.entries()) {
        const data = events[i].data as { bytes: Uint8Array; cid: string };
        expect(data.cid).toBe(hasher.cid(bytes));
        expect(Buffer.compare(Buffer.from(data.bytes), Buffer.from(bytes))).toBe(0);
      }
      expect(caller.node.stats().bad_request).toBe(0);
    } finally {
      await caller.close();
      await provider.close();
    }
  });
});
