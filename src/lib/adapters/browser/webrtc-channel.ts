/**
 * One WebRTC connection to one peer, via simple-peer's prebuilt bundle (no Node shims needed in Vite).
 *
 * Frames travel on one of two data channels:
 * - the frame channel: a negotiated channel (`FRAME_CHANNEL_ID`, no in-band setup) created with the connection.
 *   Where the browser can transfer data channels, the host moves it into the node worker at once, and frames never
 *   touch this thread; elsewhere it stays here and frames are forwarded as below.
 * - simple-peer's own channel, for peers that do not announce the frame channel (older versions).
 * The host picks one when the connection is up (`useFrameChannel`), from what both sides announced in signalling.
 *
 * simple-peer's send() has no backpressure (TESTING.md): frames queue here while the channel's buffer is above a
 * high-water mark and drain on `bufferedamountlow`. Frames are read from the RTCDataChannel itself (text stays text,
 * binary stays binary); simple-peer's own stream handling of messages is switched off, since nothing reads it and it
 * cost a Buffer copy and a timer task per message.
 */
import SimplePeer from 'simple-peer/simplepeer.min.js';

const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;
/**
 * A peer whose tab crashed or lost the network sends no close; ICE reports 'disconnected' within seconds (consent
 * checks stop being answered). simple-peer only gives up on 'failed', ~30 s later; we give the link this long to
 * recover first.
 */
const DISCONNECTED_GRACE_MS = 4000;
/** SCTP stream id of the negotiated frame channel; both sides create it, neither announces it in-band. */
export const FRAME_CHANNEL_ID = 1000;
export const FRAME_CHANNEL_LABEL = 'hearthnet-frames';
/** Frames a peer may send before our 'connect'; beyond this they are dropped. */
const MAX_EARLY_FRAMES = 256;

export interface WebRtcChannelEvents {
  onSignal(data: unknown): void;
  onConnect(): void;
  onFrame(frame: string | ArrayBuffer): void;
  onClose(reason: string): void;
}

interface SimplePeerInstance {
  signal(data: unknown): void;
  send(data: string | ArrayBuffer | Uint8Array): void;
  destroy(): void;
  on(event: string, listener: (...args: never[]) => void): void;
  _channel?: RTCDataChannel;
  _pc?: RTCPeerConnection;
  _onChannelMessage?: (event: MessageEvent) => void;
  connected: boolean;
}

export class WebRtcChannel {
  private readonly peer: SimplePeerInstance;
  private readonly queue: (string | ArrayBuffer)[] = [];
  /** Frames the far side sent before our 'connect' fired (it may be ready first), by channel; kept until then. */
  private readonly early: { channel: RTCDataChannel; frame: string | ArrayBuffer }[] = [];
  /** The channel frames go out and come in on here; null until connected, or when the worker holds it. */
  private carrier: RTCDataChannel | null = null;
  /** The negotiated frame channel while this thread may still use it (not transferred). */
  private frameChannel: RTCDataChannel | null;
  /** This connection has a frame channel (here or in the worker): we announce it, and use it if the peer does too. */
  readonly hasFrameChannel: boolean;
  private frameChannelKept = false;
  private draining = false;
  private closed = false;
  connected = false;

  constructor(initiator: boolean, private readonly events: WebRtcChannelEvents) {
    // No ICE servers: a LAN mesh must not reach for public STUN servers (offline means offline).
    const Peer = SimplePeer as unknown as new (options: Record<string, unknown>) => SimplePeerInstance;
    this.peer = new Peer({ initiator, trickle: true, config: { iceServers: [] }, channelConfig: { ordered: true } });
    // Nothing reads simple-peer's stream: its per-message Buffer copy and nextTick (a setTimeout) are pure cost.
    this.peer._onChannelMessage = () => {};
    this.frameChannel = this.peer._pc?.createDataChannel(FRAME_CHANNEL_LABEL, { negotiated: true, id: FRAME_CHANNEL_ID, ordered: true }) ?? null;
    this.hasFrameChannel = this.frameChannel !== null;
    this.peer.on('signal', (data: never) => events.onSignal(data));
    this.peer.on('connect', () => {
      this.connected = true;
      events.onConnect();
      // The host chose the carrier in onConnect; what else arrived early was for a channel we do not use.
      for (const { channel, frame } of this.early.splice(0)) if (channel === this.carrier && !this.closed) events.onFrame(frame);
    });
    this.watchIce();
    // The initiator's channel exists now; the answerer's arrives with 'datachannel', before any message.
    if (this.peer._channel) this.listen(this.peer._channel);
    else this.peer._pc?.addEventListener('datachannel', (event) => event.channel.label !== FRAME_CHANNEL_LABEL && this.listen(event.channel));
    this.peer.on('close', () => this.finish('closed'));
    this.peer.on('error', (err: never) => this.finish(String((err as unknown as Error)?.message ?? err)));
  }

  /**
   * The negotiated frame channel, for the host to transfer to the worker. It must be transferred in the task that
   * created this object; afterwards (or if the transfer failed) call `keepFrameChannel`.
   */
  get transferableFrameChannel(): RTCDataChannel | null {
    return this.frameChannelKept ? null : this.frameChannel;
  }

  /** The frame channel now belongs to another thread: this side never touches it again. */
  frameChannelTransferred(): void {
    this.frameChannel = null;
  }

  /** The frame channel could not be transferred: if it is used, this thread carries its frames. */
  keepFrameChannel(): void {
    if (!this.frameChannel || this.frameChannelKept) return;
    this.frameChannelKept = true;
    this.listen(this.frameChannel);
  }

  /**
   * Picks the carrier, from onConnect: the frame channel when both sides announced it (null here if the worker holds
   * it), else simple-peer's channel.
   */
  useFrameChannel(use: boolean): void {
    if (use && !this.hasFrameChannel) throw new Error('this connection has no frame channel');
    this.carrier = use ? this.frameChannel : (this.peer._channel ?? null);
    if (this.carrier) {
      this.carrier.bufferedAmountLowThreshold = LOW_WATER_BYTES;
      this.carrier.addEventListener('bufferedamountlow', () => this.drain());
      this.carrier.addEventListener('open', () => this.drain());
    }
    if (use && this.frameChannel && this.frameChannelKept) {
      this.frameChannel.addEventListener('close', () => this.finish('frame channel closed'));
    }
  }

  private listen(channel: RTCDataChannel): void {
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('message', (event: MessageEvent<string | ArrayBuffer>) => {
      if (this.closed) return;
      if (this.connected) {
        if (channel === this.carrier) this.events.onFrame(event.data);
      } else if (this.early.length < MAX_EARLY_FRAMES) {
        this.early.push({ channel, frame: event.data });
      }
    });
  }

  private watchIce(): void {
    const pc = this.peer._pc;
    if (!pc) return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    pc.addEventListener('iceconnectionstatechange', () => {
      const state = pc.iceConnectionState;
      if (state === 'disconnected' && !timer) {
        timer = setTimeout(() => this.finish('ICE disconnected'), DISCONNECTED_GRACE_MS);
      } else if (state !== 'disconnected' && timer) {
        clearTimeout(timer);
        timer = null;
      }
      if (state === 'failed' || state === 'closed') this.finish(`ICE ${state}`);
    });
  }

  signal(data: unknown): void {
    if (!this.closed) this.peer.signal(data);
  }

  send(frame: string | ArrayBuffer): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.drain();
  }

  destroy(): void {
    this.finish('destroyed');
  }

  private drain(): void {
    const channel = this.carrier;
    if (this.draining || !this.connected || !channel || channel.readyState !== 'open') return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        if (channel.bufferedAmount > HIGH_WATER_BYTES) return; // resumes on bufferedamountlow
        const frame = this.queue.shift()!;
        if (typeof frame === 'string') channel.send(frame);
        else channel.send(frame);
      }
    } catch (err) {
      this.finish(String(err));
    } finally {
      this.draining = false;
    }
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    this.queue.length = 0;
    this.early.length = 0;
    try {
      this.peer.destroy();
    } catch {
      /* already gone */
    }
    this.events.onClose(reason);
  }
}
