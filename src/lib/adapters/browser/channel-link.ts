/**
 * Worker side of a WebRTC link whose frame channel was transferred into the worker (transferable RTCDataChannel:
 * Chromium, Safari). Frames then go straight between the data channel and the node, without two MessagePort hops
 * through the tab's main thread per direction; the main thread still owns the RTCPeerConnection and decides paths.
 *
 * The channel arrives before the link exists (it must be transferred in the task that created it): a
 * FrameChannel holds it, and keeps what the peer sends before the main thread opens the link, within bounds.
 */
import { MAX_QUEUED_INBOUND_FRAMES } from '../../transport/peer-session.js';
import type { Link, LinkFrame, LinkPath } from '../../transport/link.js';
import type { WorkerToHost } from './port-link.js';

/** Above this many buffered bytes, frames wait in our queue and go out on `bufferedamountlow` (as on the main thread). */
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;
/** Frames the peer may send before our side opens the link; more are dropped (the peer is flooding). */
const MAX_EARLY_BYTES = 8 * 1024 * 1024;

function byteLength(frame: string | ArrayBuffer): number {
  // An upper bound is enough here: UTF-16 units never take more than 3 UTF-8 bytes.
  return typeof frame === 'string' ? frame.length * 3 : frame.byteLength;
}

/**
 * The frame's bytes as an ArrayBuffer of their own. A frame handed to a link is the link's (Link.send), and encoded
 * frames own their buffer, so that buffer goes as it is: a copy per 48 KiB binary part was a tenth of a sender's CPU.
 */
export function wholeBuffer(frame: Uint8Array): ArrayBuffer {
  const whole = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer;
  return whole ? (frame.buffer as ArrayBuffer) : (frame.slice().buffer as ArrayBuffer);
}

/** A transferred data channel waiting for, then carrying, one link. */
export class FrameChannel {
  private early: (string | ArrayBuffer)[] = [];
  private earlyBytes = 0;
  private onFrame: ((frame: string | ArrayBuffer) => void) | null = null;
  private onClose: (() => void) | null = null;
  private readonly queue: (string | ArrayBuffer)[] = [];
  private isClosed = false;

  constructor(
    readonly channel: RTCDataChannel,
    /** Called once when the channel closes or fails, bound or not. */
    private readonly onGone: () => void
  ) {
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    channel.addEventListener('message', (event: MessageEvent<string | ArrayBuffer>) => this.receive(event.data));
    channel.addEventListener('open', () => this.drain());
    channel.addEventListener('bufferedamountlow', () => this.drain());
    channel.addEventListener('close', () => this.gone());
    channel.addEventListener('error', () => this.gone());
    if (channel.readyState === 'closing' || channel.readyState === 'closed') queueMicrotask(() => this.gone());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Starts delivering: first what arrived early, in order, then each frame as it comes. */
  attach(onFrame: (frame: string | ArrayBuffer) => void, onClose: () => void): void {
    this.onFrame = onFrame;
    this.onClose = onClose;
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    for (const frame of early) {
      if (this.isClosed) return;
      onFrame(frame);
    }
    if (this.isClosed) onClose();
  }

  /** Queues the frame; it is on the wire unless the channel's buffer is above the high-water mark. */
  send(frame: string | ArrayBuffer): void {
    if (this.isClosed) throw new Error('data channel is closed');
    this.queue.push(frame);
    this.drain();
  }

  close(): void {
    try {
      this.channel.close();
    } catch {
      /* already closed */
    }
    this.gone();
  }

  private receive(frame: string | ArrayBuffer): void {
    if (this.isClosed) return;
    if (this.onFrame) {
      this.onFrame(frame);
      return;
    }
    const bytes = byteLength(frame);
    if (this.early.length >= MAX_QUEUED_INBOUND_FRAMES || this.earlyBytes + bytes > MAX_EARLY_BYTES) return;
    this.early.push(frame);
    this.earlyBytes += bytes;
  }

  private drain(): void {
    const { channel } = this;
    if (this.isClosed || channel.readyState !== 'open') return;
    try {
      while (this.queue.length > 0) {
        if (channel.bufferedAmount > HIGH_WATER_BYTES) return; // resumes on bufferedamountlow
        const frame = this.queue.shift()!;
        if (typeof frame === 'string') channel.send(frame);
        else channel.send(frame);
      }
    } catch {
      this.close();
    }
  }

  private gone(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.length = 0;
    this.early = [];
    this.onGone();
    this.onClose?.();
  }
}

/** The Link the node uses for a WebRTC path whose frame channel lives in this worker. */
export class ChannelLink implements Link {
  private readonly frameListeners: ((frame: LinkFrame) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];
  closed = false;

  constructor(
    readonly id: string,
    readonly remoteNodeId: string,
    readonly path: LinkPath,
    private readonly carrier: FrameChannel,
    private readonly post: (message: WorkerToHost) => void
  ) {}

  /** Begins delivery (call after the node attached its listeners); a closed channel closes the link. */
  start(): void {
    this.carrier.attach(
      (frame) => {
        if (this.closed) return;
        const value = typeof frame === 'string' ? frame : new Uint8Array(frame);
        for (const listener of this.frameListeners) listener(value);
      },
      () => {
        // The channel closed under us (the peer left, or it failed): the main thread drops the connection and
        // falls back to the relay, as when the data channel closes there.
        if (this.closed) return;
        this.post({ type: 'link-close', linkId: this.id });
        this.markClosed();
      }
    );
  }

  async send(frame: LinkFrame): Promise<void> {
    if (this.closed) throw new Error(`link ${this.id} is closed`);
    this.carrier.send(typeof frame === 'string' ? frame : wholeBuffer(frame));
  }

  onFrame(listener: (frame: LinkFrame) => void): void {
    this.frameListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** The host closed the link (or the channel went away). */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.carrier.close();
    for (const listener of this.closeListeners) listener();
  }

  close(): void {
    if (this.closed) return;
    this.post({ type: 'link-close', linkId: this.id });
    this.markClosed();
  }
}
