/**
 * The Link port (src/lib/transport/link.ts) between the bridge's own node and one client, over that client's
 * `/signal` socket: frames the node sends go out as `{t:"relay", from, frame}` (B4, as if relayed from a peer), and
 * frames the client relays to the bridge's NodeID arrive through `deliver`. Path `relay`, like every bridge hop.
 */
import type { Link, LinkFrame } from '../src/lib/transport/index.js';
import { relayMessage } from './messages.js';
import type { RelayCarrier } from './room-node.js';

/**
 * Past this much unsent data on the client's socket, sends wait. Well under the 8 MiB at which the socket drops
 * messages (client-connection.ts): the Link port promises reliable delivery, so the node must slow down instead.
 */
export const RELAY_LINK_HIGH_WATER_BYTES = 1024 * 1024;
/** ws has no per-socket drain event, so a waiting send looks again this often. */
const DRAIN_POLL_MS = 5;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RelayLink implements Link {
  readonly path = 'relay' as const;
  closed = false;
  private readonly frameListeners: ((frame: LinkFrame) => void)[] = [];
  private readonly closeListeners: (() => void)[] = [];
  /** Sends go out one after another, so a send that waited for the buffer never lets a later one overtake it. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly carrier: RelayCarrier,
    /** The bridge node's NodeID, the `from` of every relayed frame. */
    private readonly selfId: string
  ) {}

  get remoteNodeId(): string {
    return this.carrier.nodeId;
  }

  send(frame: LinkFrame): Promise<void> {
    // The bridge socket carries JSON text only (B5); nothing on the bridge node sends binary frames yet.
    if (typeof frame !== 'string') return Promise.reject(new Error('binary frames cannot cross the bridge socket'));
    const run = this.tail.then(() => this.sendNow(frame));
    this.tail = run.catch(() => {});
    return run;
  }

  private async sendNow(frame: string): Promise<void> {
    while (!this.closed && this.carrier.open && this.carrier.bufferedBytes > RELAY_LINK_HIGH_WATER_BYTES) await sleep(DRAIN_POLL_MS);
    if (this.closed) throw new Error(`link ${this.id} is closed`);
    if (!this.carrier.send(relayMessage(this.selfId, frame))) {
      this.close(); // the socket is gone or hopelessly behind: either way this link can no longer keep its promise
      throw new Error(`link ${this.id}: the client socket did not take the frame`);
    }
  }

  onFrame(listener: (frame: LinkFrame) => void): void {
    this.frameListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** A frame the client relayed to the bridge's node. */
  deliver(frame: string): void {
    if (this.closed) return;
    for (const listener of this.frameListeners) listener(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners) listener();
  }
}
