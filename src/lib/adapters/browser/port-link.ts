/**
 * Worker side of a link whose real carrier (a WebRTC data channel or the bridge socket) lives in the tab's main
 * thread: browsers give RTCPeerConnection to windows only (DESIGN §1). Frames cross on one MessagePort; binary
 * frames travel as transferred ArrayBuffers. (A WebRTC link whose data channel could be transferred to the worker
 * uses ChannelLink instead: channel-link.ts.)
 */
import type { Link, LinkFrame, LinkPath } from '../../transport/link.js';
import { wholeBuffer } from './channel-link.js';

/**
 * Messages on the link port, main thread → worker. `link-channel` transfers a WebRTC frame channel into the worker
 * (where the browser can transfer data channels); a later `link-open` naming its `channelId` makes it the link's
 * carrier, and frames of that link no longer cross this port. `channel-discard` drops one that will not be used.
 */
export type HostToWorker =
  | { type: 'link-open'; linkId: string; remoteNodeId: string; path: LinkPath; channelId?: string }
  | { type: 'link-frame'; linkId: string; frame: string | ArrayBuffer }
  | { type: 'link-close'; linkId: string }
  | { type: 'link-channel'; channelId: string; channel: RTCDataChannel }
  | { type: 'channel-discard'; channelId: string };

/** Messages on the link port, worker → main thread. */
export type WorkerToHost = { type: 'link-send'; linkId: string; frame: string | ArrayBuffer } | { type: 'link-close'; linkId: string };

export class PortLink implements Link {
  private readonly frameListeners: ((frame: LinkFrame) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];
  closed = false;

  constructor(
    readonly id: string,
    readonly remoteNodeId: string,
    readonly path: LinkPath,
    private readonly post: (message: WorkerToHost, transfer?: Transferable[]) => void
  ) {}

  async send(frame: LinkFrame): Promise<void> {
    if (this.closed) throw new Error(`link ${this.id} is closed`);
    if (typeof frame === 'string') {
      this.post({ type: 'link-send', linkId: this.id, frame });
    } else {
      // Transferred, not copied, when the frame owns its buffer (it is the link's now: Link.send).
      const buffer = wholeBuffer(frame);
      this.post({ type: 'link-send', linkId: this.id, frame: buffer }, [buffer]);
    }
  }

  onFrame(listener: (frame: LinkFrame) => void): void {
    this.frameListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** Called by the worker when the host delivers a frame. */
  deliver(frame: string | ArrayBuffer): void {
    if (this.closed) return;
    const value = typeof frame === 'string' ? frame : new Uint8Array(frame);
    for (const listener of this.frameListeners) listener(value);
  }

  /** Host reported the carrier closed. */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners) listener();
  }

  close(): void {
    if (this.closed) return;
    this.post({ type: 'link-close', linkId: this.id });
    this.markClosed();
  }
}
