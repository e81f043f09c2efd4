import { describe, expect, it } from 'vitest';
import { ChannelLink, FrameChannel } from '../../../src/lib/adapters/browser/channel-link.js';
import type { WorkerToHost } from '../../../src/lib/adapters/browser/port-link.js';
import { MAX_QUEUED_INBOUND_FRAMES, type LinkFrame } from '../../../src/lib/transport/index.js';

const B = 'ed25519:' + 'B'.repeat(43);

/** Enough of RTCDataChannel for the worker side: state, buffer accounting and the events it listens to. */
class FakeDataChannel extends EventTarget {
  readyState: RTCDataChannelState = 'connecting';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'blob';
  readonly sent: (string | ArrayBuffer)[] = [];

  send(data: string | ArrayBuffer): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError');
    this.sent.push(data);
  }

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.dispatchEvent(new Event('close'));
  }

  open(): void {
    this.readyState = 'open';
    this.dispatchEvent(new Event('open'));
  }

  receive(data: string | ArrayBuffer): void {
    this.dispatchEvent(new MessageEvent('message', { data }));
  }
}

function setup() {
  const dc = new FakeDataChannel();
  let gone = 0;
  const carrier = new FrameChannel(dc as unknown as RTCDataChannel, () => gone++);
  const posted: WorkerToHost[] = [];
  const link = new ChannelLink('webrtc-1', B, 'webrtc', carrier, (m) => posted.push(m));
  const frames: LinkFrame[] = [];
  let closes = 0;
  link.onFrame((f) => frames.push(f));
  link.onClose(() => closes++);
  return { dc, carrier, link, posted, frames, closes: () => closes, gone: () => gone };
}

describe('a data channel moved into the worker', () => {
  it('keeps what the peer sent before the link opened and delivers it first, in order', () => {
    const { dc, link, frames } = setup();
    dc.open();
    dc.receive('one');
    dc.receive('two');
    expect(frames).toEqual([]);
    link.start();
    dc.receive('three');
    expect(frames).toEqual(['one', 'two', 'three']);
    expect(dc.binaryType).toBe('arraybuffer');
  });

  it('delivers binary messages as bytes', () => {
    const { dc, link, frames } = setup();
    link.start();
    dc.receive(new Uint8Array([1, 2, 3]).buffer);
    expect(frames[0]).toBeInstanceOf(Uint8Array);
    expect([...(frames[0] as Uint8Array)]).toEqual([1, 2, 3]);
  });

  it('bounds what it keeps before the link opens', () => {
    const { dc, link, frames } = setup();
    for (let i = 0; i < MAX_QUEUED_INBOUND_FRAMES + 50; i++) dc.receive(String(i));
    dc.receive('x'.repeat(9 * 1024 * 1024)); // over the byte bound on its own
    link.start();
    expect(frames.length).toBe(MAX_QUEUED_INBOUND_FRAMES);
    expect(frames[0]).toBe('0');
  });

  it('holds frames until the channel opens, then sends them in order', async () => {
    const { dc, link } = setup();
    link.start();
    await link.send('a');
    await link.send('b');
    expect(dc.sent).toEqual([]);
    dc.open();
    expect(dc.sent).toEqual(['a', 'b']);
    await link.send('c');
    expect(dc.sent).toEqual(['a', 'b', 'c']);
  });

  it('sends a binary frame that owns its buffer as that buffer, and copies one that is a view into a larger one', async () => {
    const { dc, link } = setup();
    link.start();
    dc.open();
    const whole = new Uint8Array([1, 2, 3]);
    await link.send(whole);
    expect(dc.sent[0]).toBe(whole.buffer);
    const view = new Uint8Array([9, 4, 5, 9]).subarray(1, 3);
    await link.send(view);
    expect(new Uint8Array(dc.sent[1] as ArrayBuffer)).toEqual(new Uint8Array([4, 5]));
    expect(dc.sent[1]).not.toBe(view.buffer);
  });

  it('queues above the high-water mark and drains on bufferedamountlow', async () => {
    const { dc, link } = setup();
    dc.open();
    link.start();
    dc.bufferedAmount = 2 * 1024 * 1024;
    await link.send('late');
    expect(dc.sent).toEqual([]);
    dc.bufferedAmount = 0;
    dc.dispatchEvent(new Event('bufferedamountlow'));
    expect(dc.sent).toEqual(['late']);
  });

  it('a channel that closes closes the link and tells the main thread, once', async () => {
    const { dc, link, posted, closes, gone } = setup();
    dc.open();
    link.start();
    dc.close();
    expect(link.closed).toBe(true);
    expect(closes()).toBe(1);
    expect(gone()).toBe(1);
    expect(posted).toEqual([{ type: 'link-close', linkId: 'webrtc-1' }]);
    await expect(link.send('x')).rejects.toThrow(/closed/);
  });

  it('a link closed by the main thread closes its channel without echoing the close', () => {
    const { dc, link, posted, closes } = setup();
    dc.open();
    link.start();
    link.markClosed();
    expect(dc.readyState).toBe('closed');
    expect(closes()).toBe(1);
    expect(posted).toEqual([]);
  });

  it('a link the node closes tells the main thread and closes its channel', () => {
    const { dc, link, posted } = setup();
    dc.open();
    link.start();
    link.close();
    expect(dc.readyState).toBe('closed');
    expect(posted).toEqual([{ type: 'link-close', linkId: 'webrtc-1' }]);
  });

  it('a channel that closed before the link opened closes the link as soon as it starts', () => {
    const { dc, link, posted, closes } = setup();
    dc.close();
    link.start();
    expect(link.closed).toBe(true);
    expect(closes()).toBe(1);
    expect(posted).toEqual([{ type: 'link-close', linkId: 'webrtc-1' }]);
  });
});
