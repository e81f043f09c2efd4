/**
 * One PeerSession per link. It admits inbound frames one at a time, in arrival order, so a manifest is always
 * verified before the call that follows it on the same link, and it refuses calls until one has (P1). It also
 * encodes and sends our frames. What a verified frame means is the host's business (registry, rpc); the session
 * only knows the link.
 */
import { HearthError, type Clock, type KeyPins } from '../core/index.js';
import { encodeBinaryPart } from './binary-parts.js';
import { encodeFrame } from './frames.js';
import type { FrameRejection, LinkFrameObject } from './frame-types.js';
import { admitFrame } from './inbound-gate.js';
import type { Link, LinkFrame, LinkPath } from './link.js';
import type { ReplayCache } from './replay-cache.js';

/** Inbound frames waiting for verification. A peer that floods faster than we verify loses the excess. */
export const MAX_QUEUED_INBOUND_FRAMES = 256;
/**
 * Binary parts waiting among them are bounded by bytes instead: a full window of chunks is 16 signed frames and 96
 * parts, so counting parts as frames would let two streams at full speed crowd out a third. 16 MiB is four such windows.
 */
export const MAX_QUEUED_INBOUND_BINARY_BYTES = 16 * 1024 * 1024;

/**
 * Thrown by a SessionHost's onFrame to drop a frame that passed the gate but that nothing can take (a binary part for
 * no pending chunk): the session reports it through onRejected with its code, so it is counted like any refusal.
 */
export class FrameRefused extends Error {
  constructor(readonly rejection: FrameRejection) {
    super(rejection.message);
    this.name = 'FrameRefused';
  }
}

export interface SessionHost {
  onFrame(session: PeerSession, frame: LinkFrameObject): void;
  onRejected(session: PeerSession, rejection: FrameRejection): void;
  onClosed(session: PeerSession): void;
}

export interface PeerSessionOptions {
  link: Link;
  clock: Clock;
  pins: KeyPins;
  replay: ReplayCache;
  host: SessionHost;
}

/** What the rpc layer needs from a session; small so tests can fake it. */
export interface SessionPort {
  readonly remoteNodeId: string;
  readonly linkId: string;
  readonly path: LinkPath;
  readonly hasVerifiedManifest: boolean;
  readonly closed: boolean;
  /** JSON frames go as text, binary parts as bytes. */
  send(frame: LinkFrameObject): Promise<void>;
}

export class PeerSession implements SessionPort {
  readonly link: Link;
  private readonly options: PeerSessionOptions;
  private readonly inbound: LinkFrame[] = [];
  private queuedText = 0;
  private queuedBinaryBytes = 0;
  private draining = false;
  private manifestVerified = false;
  private isClosed = false;

  constructor(options: PeerSessionOptions) {
    this.options = options;
    this.link = options.link;
    this.link.onFrame((frame) => this.receive(frame));
    this.link.onClose(() => this.markClosed());
    if (this.link.closed) queueMicrotask(() => this.markClosed());
  }

  get remoteNodeId(): string {
    return this.link.remoteNodeId;
  }

  get linkId(): string {
    return this.link.id;
  }

  get path(): LinkPath {
    return this.link.path;
  }

  /** P1: nothing is served on this link until the peer's manifest verified here. */
  get hasVerifiedManifest(): boolean {
    return this.manifestVerified;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Encodes and hands the frame to the link. Throws bad_request for an oversized frame, partition when closed. */
  async send(frame: LinkFrameObject): Promise<void> {
    const encoded = frame.t === 'bin' ? encodeBinaryPart(frame) : encodeFrame(frame);
    if (this.isClosed) throw new HearthError('partition', `link ${this.link.id} is closed`);
    try {
      await this.link.send(encoded);
    } catch (err) {
      throw new HearthError('partition', `link ${this.link.id} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  close(): void {
    this.link.close();
    this.markClosed();
  }

  private receive(raw: LinkFrame): void {
    if (this.isClosed) return;
    const full = typeof raw === 'string' ? this.queuedText >= MAX_QUEUED_INBOUND_FRAMES : this.queuedBinaryBytes + raw.byteLength > MAX_QUEUED_INBOUND_BINARY_BYTES;
    if (full) {
      this.options.host.onRejected(this, { code: 'rate_limited', message: 'inbound queue full; frame dropped' });
      return;
    }
    this.count(raw, 1);
    this.inbound.push(raw);
    if (!this.draining) void this.drain();
  }

  private count(raw: LinkFrame, sign: 1 | -1): void {
    if (typeof raw === 'string') this.queuedText += sign;
    else this.queuedBinaryBytes += sign * raw.byteLength;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let raw = this.inbound.shift(); raw !== undefined && !this.isClosed; raw = this.inbound.shift()) {
        this.count(raw, -1);
        const { link, clock, pins, replay, host } = this.options;
        const result = await admitFrame(raw, { remoteNodeId: link.remoteNodeId, clock, pins, replay });
        if (this.isClosed) break;
        if (!result.ok) {
          host.onRejected(this, result.rejection);
          continue;
        }
        const { frame } = result;
        if (frame.t === 'manifest') this.manifestVerified = true;
        if (frame.t === 'call' && !this.manifestVerified) {
          const message = 'no verified manifest on this link yet';
          host.onRejected(this, { code: 'unauthorized', message, t: 'call', requestId: frame.call.request_id });
          continue;
        }
        try {
          host.onFrame(this, frame);
        } catch (err) {
          if (err instanceof FrameRefused) host.onRejected(this, err.rejection);
          // A bug on our side that a peer's frame triggered: count it, keep the link alive.
          else host.onRejected(this, { code: 'internal_error', message: HearthError.from(err).message, t: frame.t });
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.inbound.length = 0;
    this.queuedText = 0;
    this.queuedBinaryBytes = 0;
    this.options.host.onClosed(this);
  }
}
