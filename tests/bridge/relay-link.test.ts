/**
 * The Link between the bridge's node and one client (relay-link.ts) waits while the client's socket is over the
 * high-water mark, but not without bound: past 256 frames or 4 MiB waiting, or 30 s without the socket draining,
 * it gives the client up (counted, socket closed 1013) instead of holding memory for a client that does not read.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { generateKeyPair, systemClock } from '../../src/lib/core/index.js';
import { CLOSE_TRY_AGAIN_LATER, ClientConnection, type SignallingContext } from '../../relay/client-connection.js';
import { BridgeCounters } from '../../relay/counters.js';
import { silentLogger } from '../../relay/logger.js';
import {
  RELAY_LINK_HIGH_WATER_BYTES,
  RELAY_LINK_MAX_QUEUED_BYTES,
  RELAY_LINK_MAX_QUEUED_FRAMES,
  RELAY_LINK_STALL_MS,
  RelayLink
} from '../../relay/relay-link.js';
import type { RelayCarrier, SlowReaderReason } from '../../relay/room-node.js';
import { Rooms } from '../../relay/rooms.js';

/** A client socket whose unsent bytes stay where the test puts them. */
class FakeCarrier implements RelayCarrier {
  readonly nodeId = 'ed25519:client';
  open = true;
  bufferedBytes = 0;
  readonly sent: { t: string; from: string; frame: string }[] = [];
  readonly dropped: { reason: SlowReaderReason; message: string }[] = [];

  send(message: object): boolean {
    if (!this.open) return false;
    this.sent.push(message as FakeCarrier['sent'][number]);
    return true;
  }

  dropSlowReader(reason: SlowReaderReason, message: string): void {
    this.dropped.push({ reason, message });
    this.open = false;
  }
}

const SELF = 'ed25519:bridge';
const settle = (promises: Promise<void>[]) => Promise.allSettled(promises);

describe('the relay link to a client that does not read', () => {
  it('sends at once while the socket is under high water, and in order once it drains', async () => {
    const carrier = new FakeCarrier();
    const link = new RelayLink('l1', carrier, SELF);
    await link.send('a');
    expect(carrier.sent).toEqual([{ t: 'relay', from: SELF, frame: 'a' }]);

    carrier.bufferedBytes = RELAY_LINK_HIGH_WATER_BYTES + 1;
    const waiting = ['b', 'c', 'd'].map((frame) => link.send(frame));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(carrier.sent).toHaveLength(1);
    expect(link.queued.frames).toBe(3);
    carrier.bufferedBytes = 0;
    await Promise.all(waiting);
    expect(carrier.sent.map((m) => m.frame)).toEqual(['a', 'b', 'c', 'd']);
    expect(link.queued).toEqual({ frames: 0, bytes: 0 });
    expect(carrier.dropped).toEqual([]);
    expect(link.closed).toBe(false);
  });

  it(`past ${RELAY_LINK_MAX_QUEUED_FRAMES} waiting frames the link closes, every waiting send fails, and the client is dropped`, async () => {
    const carrier = new FakeCarrier();
    carrier.bufferedBytes = RELAY_LINK_HIGH_WATER_BYTES * 2; // and it stays there
    const link = new RelayLink('l2', carrier, SELF);
    let closed = 0;
    link.onClose(() => closed++);
    const waiting = Array.from({ length: RELAY_LINK_MAX_QUEUED_FRAMES }, (_, i) => link.send(`frame ${i}`));
    expect(link.queued.frames).toBe(RELAY_LINK_MAX_QUEUED_FRAMES);
    expect(link.closed).toBe(false);

    await expect(link.send('one too many')).rejects.toThrow(/not reading/);
    expect(link.closed).toBe(true);
    expect(closed).toBe(1);
    expect(carrier.dropped).toEqual([{ reason: 'relay_link_overflow', message: expect.stringMatching(/256 frames/) }]);
    const outcomes = await settle(waiting);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(link.queued).toEqual({ frames: 0, bytes: 0 }); // nothing held any more
    expect(carrier.sent).toEqual([]);
    await expect(link.send('after')).rejects.toThrow(/closed/);
  });

  it(`past ${RELAY_LINK_MAX_QUEUED_BYTES / 1024 / 1024} MiB waiting the link closes, before the frame count is reached`, async () => {
    const carrier = new FakeCarrier();
    carrier.bufferedBytes = RELAY_LINK_HIGH_WATER_BYTES * 2;
    const link = new RelayLink('l3', carrier, SELF);
    const frame = 'x'.repeat(64 * 1024);
    const fit = RELAY_LINK_MAX_QUEUED_BYTES / frame.length;
    const waiting = Array.from({ length: fit }, () => link.send(frame));
    expect(link.queued).toEqual({ frames: fit, bytes: RELAY_LINK_MAX_QUEUED_BYTES });
    await expect(link.send('y')).rejects.toThrow(/not reading/);
    expect(carrier.dropped.map((d) => d.reason)).toEqual(['relay_link_overflow']);
    await settle(waiting);
    expect(link.queued.bytes).toBe(0);
  });

  it('a socket that stays over high water while a frame waits is given up after the stall limit', async () => {
    expect(RELAY_LINK_STALL_MS).toBe(30_000);
    const carrier = new FakeCarrier();
    carrier.bufferedBytes = RELAY_LINK_HIGH_WATER_BYTES + 1;
    const link = new RelayLink('l4', carrier, SELF, { stallMs: 150 });
    const started = performance.now();
    await expect(link.send('stuck')).rejects.toThrow(/closed/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(link.closed).toBe(true);
    expect(carrier.dropped).toEqual([{ reason: 'relay_link_stalled', message: expect.stringMatching(/read nothing/) }]);
  });

  it('a socket that drains now and then is not a stall', async () => {
    const carrier = new FakeCarrier();
    const link = new RelayLink('l5', carrier, SELF, { stallMs: 100 });
    for (let round = 0; round < 4; round++) {
      carrier.bufferedBytes = RELAY_LINK_HIGH_WATER_BYTES + 1;
      const waiting = link.send(`round ${round}`);
      await new Promise((resolve) => setTimeout(resolve, 60));
      carrier.bufferedBytes = 0;
      await waiting;
    }
    expect(carrier.dropped).toEqual([]);
    expect(carrier.sent).toHaveLength(4);
  });
});

/** Just enough of a ws socket for one ClientConnection. */
class FakeSocket extends EventEmitter {
  readyState = 1; // OPEN
  bufferedAmount = 0;
  readonly sent: Record<string, any>[] = [];
  closedWith: number | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code: number): void {
    this.closedWith = code;
    this.readyState = 2; // CLOSING
  }
  ping(): void {}
  terminate(): void {}
}

describe('the client connection when its relay link gives up', () => {
  it('counts relay_link_overflow / relay_link_stalled (once) and closes the socket with 1013 so the client reconnects', async () => {
    const counters = new BridgeCounters();
    const ctx: SignallingContext = {
      bridge: { node_id: (await generateKeyPair()).nodeId, name: 'test', version: '0' },
      rooms: new Rooms<ClientConnection>(),
      counters,
      logger: silentLogger(),
      clock: systemClock,
      maxMessageBytes: 131_072,
      messagesPerSecond: 400,
      helloTimeoutMs: 10_000
    };
    for (const reason of ['relay_link_overflow', 'relay_link_stalled'] as const) {
      const ws = new FakeSocket();
      const connection = new ClientConnection(ws as unknown as WebSocket, ctx, '127.0.0.1:1');
      connection.dropSlowReader(reason, 'the client is not reading');
      connection.dropSlowReader(reason, 'twice'); // once closed, nothing more
      expect(ws.closedWith).toBe(CLOSE_TRY_AGAIN_LATER);
      expect(ws.sent.at(-1)).toEqual({ t: 'error', error: { error: 'capacity_exceeded', message: expect.stringMatching(/not reading; reconnect/) } });
      ws.emit('close', CLOSE_TRY_AGAIN_LATER); // clears the hello timer
    }
    expect(counters.rejectionsSnapshot()).toMatchObject({ relay_link_overflow: 1, relay_link_stalled: 1 });
  });
});
