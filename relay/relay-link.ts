/**
 * The Link port (src/lib/transport/link.ts) between the bridge's own node and one client, over that client's
 * `/signal` socket: frames the node sends go out as `{t:"relay", from, frame}` (B4, as if relayed from a peer; a
 * binary frame as base64 with `bin: true`), and frames the client relays to the bridge's NodeID arrive through
 * `deliver`. Path `relay`, like every bridge hop.
 */
import type { Link, LinkFrame } from '../src/lib/transport/index.js';
import { relayMessage, type RelayedFrame } from './messages.js';
import type { RelayCarrier, SlowReaderReason } from './room-node.js';

/**
 * Past this much unsent data on the client's socket, sends wait. Well under the 8 MiB at which the socket drops
 * messages (client-connection.ts): the Link port promises reliable delivery, so the node must slow down instead.
 */
export const RELAY_LINK_HIGH_WATER_BYTES = 1024 * 1024;
/**
 * What may wait behind the high-water mark, per link: frames, and their bytes, whichever is reached first. Past it
 * the client is dropped (it reconnects and syncs again), so a client that stops reading cannot make the bridge
 * hold memory without bound; nothing is lost that the bridge acknowledged, since its own log is durable.
 */
export const RELAY_LINK_MAX_QUEUED_FRAMES = 256;
export const RELAY_LINK_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** A socket that stays above the high-water mark this long while frames wait is not being read: dropped too. */
export const RELAY_LINK_STALL_MS = 30_000;
/** ws has no per-socket drain event, so a waiting send looks again this often. */
const DRAIN_POLL_MS = 5;

export interface RelayLinkLimits {
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  stallMs: number;
}

const DEFAULT_LIMITS: RelayLinkLimits = { maxQueuedFrames: RELAY_LINK_MAX_QUEUED_FRAMES, maxQueuedBytes: RELAY_LINK_MAX_QUEUED_BYTES, stallMs: RELAY_LINK_STALL_MS };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RelayLink implements Link {
  readonly path = 'relay' as const;
  closed = false;
  private readonly frameListeners: ((frame: LinkFrame) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];
  private readonly limits: RelayLinkLimits;
  /** Sends go out one after another, so a send that waited for the buffer never lets a later one overtake it. */
  private tail: Promise<void> = Promise.resolve();
  /** Frames (and their bytes on the socket) given to `send` and not yet handed to the socket. */
  private queuedFrames = 0;
  private queuedBytes = 0;
  /** When a waiting send first found the socket above high water (performance.now()); null while it drains. */
  private stalledSince: number | null = null;

  constructor(
    readonly id: string,
    private readonly carrier: RelayCarrier,
    /** The bridge node's NodeID, the `from` of every relayed frame. */
    private readonly selfId: string,
    limits: Partial<RelayLinkLimits> = {}
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  get remoteNodeId(): string {
    return this.carrier.nodeId;
  }

  /** Frames waiting for the socket to drain (for tests and logs). */
  get queued(): { frames: number; bytes: number } {
    return { frames: this.queuedFrames, bytes: this.queuedBytes };
  }

  send(frame: LinkFrame): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`link ${this.id} is closed`));
    // The bridge socket carries JSON text (B5): a binary frame (a chunk part) crosses as base64.
    const relayed: RelayedFrame = typeof frame === 'string' ? { frame } : { frame: Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64'), bin: true };
    // Nothing waiting and room in the socket: out at once (a burst fills the socket up to high water, then queues).
    if (this.queuedFrames === 0 && this.carrier.bufferedBytes <= RELAY_LINK_HIGH_WATER_BYTES) {
      try {
        this.write(relayed);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const bytes = Buffer.byteLength(relayed.frame, 'utf8');
    const { maxQueuedFrames, maxQueuedBytes } = this.limits;
    if (this.queuedFrames + 1 > maxQueuedFrames || this.queuedBytes + bytes > maxQueuedBytes) {
      this.giveUp('relay_link_overflow', `over ${maxQueuedFrames} frames or ${maxQueuedBytes} bytes waiting for a client that does not read`);
      return Promise.reject(new Error(`link ${this.id}: the client is not reading; link closed`));
    }
    this.queuedFrames += 1;
    this.queuedBytes += bytes;
    const run = this.tail
      .then(() => this.sendWhenDrained(relayed))
      .finally(() => {
        this.queuedFrames -= 1;
        this.queuedBytes -= bytes;
      });
    this.tail = run.catch(() => {});
    return run;
  }

  private async sendWhenDrained(frame: RelayedFrame): Promise<void> {
    while (!this.closed && this.carrier.open && this.carrier.bufferedBytes > RELAY_LINK_HIGH_WATER_BYTES) {
      const now = performance.now();
      this.stalledSince ??= now;
      if (now - this.stalledSince > this.limits.stallMs) {
        this.giveUp('relay_link_stalled', `the client read nothing for ${Math.round(this.limits.stallMs / 1000)} s with over ${RELAY_LINK_HIGH_WATER_BYTES} bytes unsent`);
        break;
      }
      await sleep(DRAIN_POLL_MS);
    }
    this.stalledSince = null;
    if (this.closed) throw new Error(`link ${this.id} is closed`);
    this.write(frame);
  }

  private write(frame: RelayedFrame): void {
    if (!this.carrier.send(relayMessage(this.selfId, frame))) {
      this.close(); // the socket is gone or hopelessly behind: either way this link can no longer keep its promise
      throw new Error(`link ${this.id}: the client socket did not take the frame`);
    }
  }

  /** Closes the link (its waiting sends fail at once, freeing their frames) and has the client's socket closed. */
  private giveUp(reason: SlowReaderReason, message: string): void {
    if (this.closed) return;
    this.close();
    this.carrier.dropSlowReader(reason, message);
  }

  onFrame(listener: (frame: LinkFrame) => void): void {
    this.frameListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** A frame the client relayed to the bridge's node: text, or a binary frame's bytes. */
  deliver(frame: LinkFrame): void {
    if (this.closed) return;
    for (const listener of this.frameListeners) listener(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners) listener();
  }
}
