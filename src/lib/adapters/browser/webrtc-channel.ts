/**
 * One WebRTC data channel to one peer, via simple-peer's prebuilt bundle (no Node shims needed in Vite).
 * simple-peer's send() has no backpressure (TESTING.md): frames queue here while the channel's buffer is above
 * a high-water mark and drain on `bufferedamountlow`. Its 'data' event turns text messages into bytes (it is a
 * Node stream), so frames are read from the RTCDataChannel itself, where text stays text and binary stays binary.
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
  connected: boolean;
}

export class WebRtcChannel {
  private readonly peer: SimplePeerInstance;
  private readonly queue: (string | ArrayBuffer)[] = [];
  /** Frames the far side sent before our 'connect' fired (it may be ready first); delivered right after it. */
  private readonly early: (string | ArrayBuffer)[] = [];
  private draining = false;
  private closed = false;
  connected = false;

  constructor(initiator: boolean, private readonly events: WebRtcChannelEvents) {
    // No ICE servers: a LAN mesh must not reach for public STUN servers (offline means offline).
    const Peer = SimplePeer as unknown as new (options: Record<string, unknown>) => SimplePeerInstance;
    this.peer = new Peer({ initiator, trickle: true, config: { iceServers: [] }, channelConfig: { ordered: true } });
    this.peer.on('signal', (data: never) => events.onSignal(data));
    this.peer.on('connect', () => {
      this.connected = true;
      const channel = this.peer._channel;
      if (channel) {
        channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
        channel.addEventListener('bufferedamountlow', () => this.drain());
      }
      events.onConnect();
      for (const frame of this.early.splice(0)) events.onFrame(frame);
    });
    this.watchIce();
    // Keep simple-peer's stream flowing so it does not buffer; the frames themselves come from the channel.
    this.peer.on('data', () => {});
    const listen = (channel: RTCDataChannel) => {
      channel.binaryType = 'arraybuffer';
      channel.addEventListener('message', (event: MessageEvent<string | ArrayBuffer>) => {
        if (this.closed) return;
        if (this.connected) events.onFrame(event.data);
        else this.early.push(event.data);
      });
    };
    // The initiator's channel exists now; the answerer's arrives with 'datachannel', before any message.
    if (this.peer._channel) listen(this.peer._channel);
    else this.peer._pc?.addEventListener('datachannel', (event) => listen(event.channel));
    this.peer.on('close', () => this.finish('closed'));
    this.peer.on('error', (err: never) => this.finish(String((err as unknown as Error)?.message ?? err)));
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
    if (this.draining || !this.connected) return;
    this.draining = true;
    try {
      const channel = this.peer._channel;
      while (this.queue.length > 0 && !this.closed) {
        if (channel && channel.bufferedAmount > HIGH_WATER_BYTES) return; // resumes on bufferedamountlow
        const frame = this.queue.shift()!;
        this.peer.send(typeof frame === 'string' ? frame : new Uint8Array(frame));
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
    try {
      this.peer.destroy();
    } catch {
      /* already gone */
    }
    this.events.onClose(reason);
  }
}
