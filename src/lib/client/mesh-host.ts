/**
 * The tab's half of the transport (DESIGN §1): owns the bridge socket and the RTCPeerConnections, and forwards
 * frames to and from the node worker over one MessagePort. It decides the path to each peer — WebRTC first,
 * the bridge relay when WebRTC cannot connect within RELAY_FALLBACK_MS or drops — and holds no node state.
 */
import { CALL_TIMESTAMP_WINDOW_SECONDS, isWithinClockWindow, verifyPayload } from '../core/index.js';
import { BridgeSocket, type BridgeStatus, type RoomPeer } from '../adapters/browser/bridge-socket.js';
import type { HostToWorker, WorkerToHost } from '../adapters/browser/port-link.js';
import { FRAME_CHANNEL_ID, WebRtcChannel } from '../adapters/browser/webrtc-channel.js';

/** How long WebRTC may take before frames go through the bridge instead. Connects take 0.2-0.7 s on a LAN. */
export const RELAY_FALLBACK_MS = 5000;
const WEBRTC_RETRY_MS = 15000;

/** `localStorage['hearthnet.debug'] = '1'` traces path decisions in the console. */
function debug(...args: unknown[]): void {
  if (globalThis.localStorage?.getItem('hearthnet.debug')) console.debug('[mesh]', ...args);
}

export interface MeshSigner {
  signHello(nonce: string): Promise<Record<string, unknown>>;
  signSignal(to: string, data: unknown): Promise<Record<string, unknown>>;
}

interface PeerState {
  nodeId: string;
  /** Listed by the bridge right now. A peer with live WebRTC stays even when the bridge forgets it. */
  inRoom: boolean;
  /** The bridge's own node (B7): the relay is its only path, so no WebRTC is tried. */
  relayOnly: boolean;
  channel: WebRtcChannel | null;
  session: string | null;
  /** The peer announced the negotiated frame channel in this session's signals (see webrtc-channel.ts). */
  peerFrameChannel: boolean;
  webrtcLinkId: string | null;
  relayLinkId: string | null;
  fallbackTimer: ReturnType<typeof setTimeout> | null;
  retryTimer: ReturnType<typeof setTimeout> | null;
}

export interface MeshHostOptions {
  bridgeUrl: string;
  nodeId: string;
  linkPort: MessagePort;
  signer: MeshSigner;
  onBridgeStatus(status: BridgeStatus, detail?: string): void;
  /** WebRTC can be switched off (e.g. a network that blocks UDP); everything then uses the relay. */
  webrtcEnabled?: boolean;
}

export class MeshHost {
  private readonly peers = new Map<string, PeerState>();
  private readonly linkOwners = new Map<string, { nodeId: string; path: 'webrtc' | 'relay' }>();
  private readonly bridge: BridgeSocket;
  private linkCounter = 0;
  private channelCounter = 0;
  /** False once a data channel transfer failed: this browser cannot, so frame channels stay on this thread. */
  private canTransferChannels = true;

  constructor(private readonly options: MeshHostOptions) {
    options.linkPort.onmessage = (event: MessageEvent<WorkerToHost>) => this.fromWorker(event.data);
    this.bridge = new BridgeSocket(options.bridgeUrl, {
      signHello: (nonce) => options.signer.signHello(nonce),
      onStatus: (status, detail) => {
        if (status === 'closed') for (const nodeId of [...this.peers.keys()]) this.dropRelay(nodeId);
        options.onBridgeStatus(status, detail);
      },
      onRoom: (peers) => this.syncRoom(peers),
      onPeerJoined: (peer) => this.addPeer(peer),
      onPeerLeft: (nodeId) => this.leftRoom(nodeId),
      onSignal: (from, signal) => void this.handleSignal(from, signal),
      onRelay: (from, frame) => this.handleRelay(from, frame),
      onError: (code, message) => console.warn(`bridge: ${code}: ${message}`)
    });
  }

  start(): void {
    this.bridge.connect();
  }

  stop(): void {
    this.bridge.stop();
    for (const nodeId of [...this.peers.keys()]) this.removePeer(nodeId);
  }

  private get webrtcEnabled(): boolean {
    return this.options.webrtcEnabled !== false && typeof RTCPeerConnection !== 'undefined';
  }

  private toWorker(message: HostToWorker, transfer: Transferable[] = []): void {
    this.options.linkPort.postMessage(message, transfer);
  }

  private syncRoom(peers: RoomPeer[]): void {
    debug('room', peers.map((p) => p.node_id));
    const present = new Set(peers.map((p) => p.node_id));
    for (const nodeId of [...this.peers.keys()]) if (!present.has(nodeId)) this.leftRoom(nodeId);
    for (const peer of peers) this.addPeer(peer);
  }

  private addPeer(peer: RoomPeer): void {
    if (peer.node_id === this.options.nodeId) return;
    const known = this.peers.get(peer.node_id);
    if (known) {
      known.inRoom = true;
      // Listed again after the bridge socket came back: the relay link it lost then is reopened at once.
      if (known.relayOnly) this.openRelay(known);
      return;
    }
    debug('peer joined', peer.node_id, peer.relay_only ? '(relay only)' : '');
    const state: PeerState = {
      nodeId: peer.node_id,
      inRoom: true,
      relayOnly: peer.relay_only === true,
      channel: null,
      session: null,
      peerFrameChannel: false,
      webrtcLinkId: null,
      relayLinkId: null,
      fallbackTimer: null,
      retryTimer: null
    };
    this.peers.set(peer.node_id, state);
    if (state.relayOnly) return this.openRelay(state);
    this.armFallback(state);
    // One side offers, so two tabs never glare: the smaller NodeID initiates.
    if (this.webrtcEnabled && this.options.nodeId < peer.node_id) this.startWebRtc(state, crypto.randomUUID());
  }

  /** The bridge no longer lists the peer: its relay path is gone, but a working data channel keeps the peer. */
  private leftRoom(nodeId: string): void {
    const state = this.peers.get(nodeId);
    if (!state) return;
    state.inRoom = false;
    if (state.webrtcLinkId) this.dropRelay(nodeId);
    else this.removePeer(nodeId);
  }

  private removePeer(nodeId: string): void {
    const state = this.peers.get(nodeId);
    if (!state) return;
    this.peers.delete(nodeId);
    if (state.fallbackTimer) clearTimeout(state.fallbackTimer);
    if (state.retryTimer) clearTimeout(state.retryTimer);
    state.channel?.destroy();
    this.closeLink(state.webrtcLinkId);
    this.closeLink(state.relayLinkId);
  }

  private armFallback(state: PeerState): void {
    if (state.fallbackTimer) clearTimeout(state.fallbackTimer);
    state.fallbackTimer = setTimeout(() => {
      state.fallbackTimer = null;
      if (!state.webrtcLinkId && this.peers.get(state.nodeId) === state) this.openRelay(state);
    }, this.webrtcEnabled ? RELAY_FALLBACK_MS : 0);
  }

  /**
   * A new connection attempt. Its negotiated frame channel moves into the node worker now, in the task that created
   * it (the only time a data channel can be transferred), so that frames skip this thread; where the browser cannot
   * transfer one, it stays here.
   */
  private startWebRtc(state: PeerState, session: string, peerFrameChannel = false): void {
    state.channel?.destroy();
    state.session = session;
    state.peerFrameChannel = peerFrameChannel;
    const initiator = this.options.nodeId < state.nodeId;
    let channelId: string | null = null;
    let channelLinked = false;
    const channel: WebRtcChannel = new WebRtcChannel(initiator, {
      // Every signal announces the frame channel; with a peer that never does, frames stay on simple-peer's channel.
      onSignal: (data) =>
        void this.sendSignal(state.nodeId, channel.hasFrameChannel ? { session, signal: data, frame_channel: FRAME_CHANNEL_ID } : { session, signal: data }),
      onConnect: () => {
        const useFrameChannel = state.peerFrameChannel && channel.hasFrameChannel;
        const inWorker = useFrameChannel && channelId !== null;
        debug('webrtc connected', state.nodeId, useFrameChannel ? 'frame channel' : "simple-peer's channel", inWorker ? 'in the worker' : 'via this thread');
        if (state.channel !== channel) return;
        channel.useFrameChannel(useFrameChannel);
        if (channelId !== null && !inWorker) this.toWorker({ type: 'channel-discard', channelId });
        channelLinked = inWorker;
        state.webrtcLinkId = this.openLink(state.nodeId, 'webrtc', inWorker ? channelId! : undefined);
        // WebRTC is up: the relay link is no longer needed.
        this.closeLink(state.relayLinkId);
        state.relayLinkId = null;
      },
      onFrame: (frame) => {
        if (state.channel === channel && state.webrtcLinkId) this.deliver(state.webrtcLinkId, frame);
      },
      onClose: (reason) => {
        debug('webrtc closed', state.nodeId, reason);
        // A transferred channel no link took: the worker lets it go (it would also see it close with the connection).
        if (channelId !== null && !channelLinked) this.toWorker({ type: 'channel-discard', channelId });
        if (state.channel !== channel) return;
        state.channel = null;
        this.closeLink(state.webrtcLinkId);
        state.webrtcLinkId = null;
        if (this.peers.get(state.nodeId) !== state) return;
        if (!state.inRoom) return this.removePeer(state.nodeId);
        this.openRelay(state);
        if (initiator && this.webrtcEnabled) {
          state.retryTimer = setTimeout(() => {
            state.retryTimer = null;
            if (this.peers.get(state.nodeId) === state && !state.channel) this.startWebRtc(state, crypto.randomUUID());
          }, WEBRTC_RETRY_MS);
        }
      }
    });
    const frameChannel = channel.transferableFrameChannel;
    if (frameChannel && this.canTransferChannels) {
      const id = `dc-${++this.channelCounter}`;
      try {
        this.toWorker({ type: 'link-channel', channelId: id, channel: frameChannel }, [frameChannel as unknown as Transferable]);
        channel.frameChannelTransferred();
        channelId = id;
      } catch (err) {
        debug('data channels cannot move to the worker here; frames go through this thread', err);
        this.canTransferChannels = false;
      }
    }
    if (channelId === null) channel.keepFrameChannel();
    state.channel = channel;
  }

  private async sendSignal(to: string, data: unknown): Promise<void> {
    const signal = await this.options.signer.signSignal(to, data);
    this.bridge.sendSignal(to, signal);
  }

  /** Signals come through the untrusted bridge: only ones signed by the claimed peer, for us, and fresh are used. */
  private async handleSignal(from: string, signal: Record<string, unknown>): Promise<void> {
    const state = this.peers.get(from);
    debug('signal from', from, state ? 'known' : 'unknown');
    if (!state || state.relayOnly || !this.webrtcEnabled) return;
    if (signal.from !== from || signal.to !== this.options.nodeId) return;
    if (!isWithinClockWindow(signal.timestamp, Date.now(), CALL_TIMESTAMP_WINDOW_SECONDS)) return;
    if (!(await verifyPayload(signal, from))) return;
    const data = signal.data as { session?: unknown; signal?: { type?: string }; frame_channel?: unknown } | undefined;
    if (!data || typeof data.session !== 'string' || !data.signal) return;
    const peerFrameChannel = data.frame_channel === FRAME_CHANNEL_ID;
    if (data.signal.type === 'offer' && data.session !== state.session) this.startWebRtc(state, data.session, peerFrameChannel);
    if (data.session !== state.session) return;
    // Decided by the offer (answerer) or the answer (initiator), both before the connection is up.
    if (data.signal.type === 'offer' || data.signal.type === 'answer') state.peerFrameChannel = peerFrameChannel;
    state.channel?.signal(data.signal);
  }

  private openRelay(state: PeerState): void {
    if (state.relayLinkId || state.webrtcLinkId || this.bridge.status !== 'open') return;
    state.relayLinkId = this.openLink(state.nodeId, 'relay');
  }

  private dropRelay(nodeId: string): void {
    const state = this.peers.get(nodeId);
    if (!state) return;
    this.closeLink(state.relayLinkId);
    state.relayLinkId = null;
  }

  private handleRelay(from: string, frame: string | ArrayBuffer): void {
    const state = this.peers.get(from);
    if (!state) return;
    // The other side fell back to the relay: follow it so both ends use one path.
    if (!state.relayLinkId && !state.webrtcLinkId) state.relayLinkId = this.openLink(from, 'relay');
    const linkId = state.relayLinkId ?? state.webrtcLinkId;
    if (linkId) this.deliver(linkId, frame);
  }

  /** With `channelId`, the worker's transferred frame channel carries the link: its frames never come through here. */
  private openLink(nodeId: string, path: 'webrtc' | 'relay', channelId?: string): string {
    const linkId = `${path}-${++this.linkCounter}`;
    debug('link open', linkId, nodeId, channelId ?? '');
    this.linkOwners.set(linkId, { nodeId, path });
    this.toWorker(channelId === undefined ? { type: 'link-open', linkId, remoteNodeId: nodeId, path } : { type: 'link-open', linkId, remoteNodeId: nodeId, path, channelId });
    return linkId;
  }

  private closeLink(linkId: string | null): void {
    if (!linkId || !this.linkOwners.delete(linkId)) return;
    this.toWorker({ type: 'link-close', linkId });
  }

  private deliver(linkId: string, frame: string | ArrayBuffer): void {
    if (typeof frame === 'string') this.toWorker({ type: 'link-frame', linkId, frame });
    else this.toWorker({ type: 'link-frame', linkId, frame }, [frame]);
  }

  private fromWorker(message: WorkerToHost): void {
    const owner = this.linkOwners.get(message.linkId);
    if (!owner) return;
    const state = this.peers.get(owner.nodeId);
    if (message.type === 'link-close') {
      this.linkOwners.delete(message.linkId);
      if (state && owner.path === 'webrtc' && state.webrtcLinkId === message.linkId) state.channel?.destroy();
      if (state && owner.path === 'relay' && state.relayLinkId === message.linkId) state.relayLinkId = null;
      return;
    }
    if (!state) return;
    if (owner.path === 'webrtc') state.channel?.send(message.frame);
    else this.bridge.sendRelay(owner.nodeId, message.frame);
  }
}
