/**
 * The tab's WebSocket to the bridge (PROTOCOL B1–B5): admission by signing the bridge's challenge, room
 * membership, signalling and relay. Reconnects with capped exponential backoff. The bridge is untrusted: signals
 * are verified by the receiver (mesh-host), relayed frames by the node (P2).
 */
import { base64Decode, base64Encode, RECONNECT_BACKOFF_CAP_SECONDS } from '../../core/index.js';

export interface RoomPeer {
  node_id: string;
  display_name?: string;
  profile?: string;
  /** The bridge's own member node (PROTOCOL B7): reachable through the bridge socket only, never by WebRTC. */
  relay_only?: boolean;
}

/** Close code the bridge uses when a newer session with the same NodeID replaced this one (relay/README.md). */
const SESSION_REPLACED = 4000;
/** The bridge's default budget (relay/README.md), used until its welcome states the real one. */
const DEFAULT_MESSAGES_PER_SECOND = 400;
/** Pace to this share of the budget: the bridge counts in its own one-second windows, which ours do not line up with. */
const BUDGET_SHARE = 0.8;

export type BridgeStatus = 'connecting' | 'open' | 'closed';

export interface BridgeSocketHandlers {
  signHello(nonce: string): Promise<Record<string, unknown>>;
  onStatus(status: BridgeStatus, detail?: string): void;
  onRoom(peers: RoomPeer[]): void;
  onPeerJoined(peer: RoomPeer): void;
  onPeerLeft(nodeId: string): void;
  onSignal(from: string, signal: Record<string, unknown>): void;
  /** A relayed peer frame: text, or a binary frame (a blob chunk part, base64 on the socket) as its bytes. */
  onRelay(from: string, frame: string | ArrayBuffer): void;
  onError(code: string, message: string): void;
}

export class BridgeSocket {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * Messages waiting for budget. The bridge drops what exceeds its per-client budget (B5), and a relayed blob chunk
   * is seven messages, so a relayed download would lose parts and stall; instead the socket paces itself. Bounded in
   * practice by the stream window (at most 17 chunks in flight per stream).
   */
  private readonly paced: string[] = [];
  private pacingTimer: ReturnType<typeof setTimeout> | null = null;
  private perSecond = DEFAULT_MESSAGES_PER_SECOND * BUDGET_SHARE;
  private windowStart = 0;
  private sentInWindow = 0;
  status: BridgeStatus = 'closed';

  constructor(
    private readonly url: string,
    private readonly handlers: BridgeSocketHandlers
  ) {}

  connect(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.dropPaced();
    this.socket?.close();
  }

  /**
   * Forgets what waits for budget: it was meant for the session that ended. Sent on a reconnected socket it would
   * arrive before that session's welcome; peers' frames are healed by their own retries and the next sync.
   */
  private dropPaced(): void {
    this.paced.length = 0;
    if (this.pacingTimer) clearTimeout(this.pacingTimer);
    this.pacingTimer = null;
  }

  sendSignal(to: string, signal: Record<string, unknown>): boolean {
    return this.send({ t: 'signal', to, signal });
  }

  /** Text goes as it is; a binary frame as base64 with `bin: true`, since the socket carries JSON text (B4). */
  sendRelay(to: string, frame: string | ArrayBuffer | Uint8Array): boolean {
    if (typeof frame === 'string') return this.send({ t: 'relay', to, frame });
    const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
    return this.send({ t: 'relay', to, frame: base64Encode(bytes), bin: true });
  }

  private send(message: unknown): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN || this.status !== 'open') return false;
    this.paced.push(JSON.stringify(message));
    this.drain();
    return true;
  }

  /** Sends what the budget allows now, in order, and comes back when the next window opens. */
  private drain(): void {
    if (this.pacingTimer) return;
    const socket = this.socket;
    while (this.paced.length > 0) {
      if (socket?.readyState !== WebSocket.OPEN) {
        this.paced.length = 0; // the connection is gone; peers' frames are healed by their own retries
        return;
      }
      const now = Date.now();
      if (now - this.windowStart >= 1000) {
        this.windowStart = now;
        this.sentInWindow = 0;
      }
      if (this.sentInWindow >= this.perSecond) {
        this.pacingTimer = setTimeout(() => {
          this.pacingTimer = null;
          this.drain();
        }, this.windowStart + 1000 - now);
        return;
      }
      this.sentInWindow++;
      socket.send(this.paced.shift()!);
    }
  }

  private setStatus(status: BridgeStatus, detail?: string): void {
    this.status = status;
    this.handlers.onStatus(status, detail);
  }

  private open(): void {
    this.setStatus('connecting');
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url);
    } catch (err) {
      this.setStatus('closed', String(err));
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onmessage = (event) => void this.handle(socket, event.data);
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.dropPaced();
      if (event.code === SESSION_REPLACED) {
        // Another session with this key took our place (the same identity opened elsewhere): fighting back would
        // make the two replace each other forever.
        this.setStatus('closed', 'This identity connected to the bridge from somewhere else.');
        return;
      }
      this.setStatus('closed');
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const capMs = RECONNECT_BACKOFF_CAP_SECONDS * 1000;
    const delay = Math.min(capMs, 500 * 2 ** this.attempt++) * (0.75 + Math.random() * 0.5);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private async handle(socket: WebSocket, data: unknown): Promise<void> {
    if (typeof data !== 'string') return;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    if (!message || typeof message !== 'object') return;
    switch (message.t) {
      case 'challenge': {
        const hello = await this.handlers.signHello(String(message.nonce));
        socket.send(JSON.stringify({ t: 'hello', hello }));
        break;
      }
      case 'welcome': {
        const budget = (message.limits as { messages_per_second?: unknown } | undefined)?.messages_per_second;
        if (typeof budget === 'number' && Number.isFinite(budget) && budget >= 1) this.perSecond = Math.max(1, Math.floor(budget * BUDGET_SHARE));
        this.attempt = 0;
        this.setStatus('open');
        this.handlers.onRoom(Array.isArray(message.peers) ? (message.peers as RoomPeer[]) : []);
        break;
      }
      case 'peer-joined':
        if (message.peer && typeof message.peer === 'object') this.handlers.onPeerJoined(message.peer as RoomPeer);
        break;
      case 'peer-left':
        if (typeof message.node_id === 'string') this.handlers.onPeerLeft(message.node_id);
        break;
      case 'signal':
        if (typeof message.from === 'string' && message.signal && typeof message.signal === 'object') {
          this.handlers.onSignal(message.from, message.signal as Record<string, unknown>);
        }
        break;
      case 'relay':
        if (typeof message.from !== 'string' || typeof message.frame !== 'string') break;
        if (message.bin !== true) {
          this.handlers.onRelay(message.from, message.frame);
          break;
        }
        try {
          this.handlers.onRelay(message.from, base64Decode(message.frame).buffer as ArrayBuffer);
        } catch {
          // Not base64: the bridge is untrusted, and a frame it mangled is one the node would refuse anyway.
        }
        break;
      case 'error': {
        const error = (message.error ?? {}) as { error?: string; message?: string };
        this.handlers.onError(String(error.error ?? 'internal_error'), String(error.message ?? ''));
        break;
      }
    }
  }
}
