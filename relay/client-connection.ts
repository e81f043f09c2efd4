/**
 * One client socket on `/signal`, from challenge to close (B1-B5). Every message is rate-checked and parsed on
 * arrival, then handled in arrival order on a per-connection promise chain: signature checks are async, and a
 * client may pipeline messages right behind its hello, so order must not depend on how long a check takes.
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { shortOf, verifyPayload, type Clock } from '../src/lib/core/index.js';
import { checkHello, newNonce } from './admission.js';
import type { BridgeCounters, RejectionReason } from './counters.js';
import {
  challengeMessage,
  errorMessage,
  parseClientMessage,
  peerJoinedMessage,
  peerLeftMessage,
  relayedLinkFrame,
  relayMessage,
  signalMessage,
  welcomeMessage,
  type ClientMessage,
  type Hello,
  type PeerInfo,
  type RelayedFrame,
  type Rejection,
  type SignedSignal
} from './messages.js';
import { MessageBudget } from './rate-limit.js';
import type { HeldCommunities, RelayCarrier, RoomNode, SlowReaderReason } from './room-node.js';
import type { RoomMember, Rooms } from './rooms.js';

/** Close codes: 1008 policy violation (refused admission), 4000 replaced by a newer session of the same NodeID. */
export const CLOSE_POLICY = 1008;
export const CLOSE_REPLACED = 4000;
export const CLOSE_GOING_AWAY = 1001;
/** 1013 Try Again Later: the client read too slowly for the bridge's node to keep its link (relay-link.ts). */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** Past this much unsent data to one socket, more is dropped rather than queued without bound. */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface SignallingContext {
  bridge: { node_id: string; name: string; version: string };
  rooms: Rooms<ClientConnection>;
  counters: BridgeCounters;
  logger: Logger;
  clock: Clock;
  maxMessageBytes: number;
  messagesPerSecond: number;
  helloTimeoutMs: number;
  /** The bridge's own member nodes, by community (B7, B8); absent when the bridge holds no logs. */
  held?: HeldCommunities;
}

type Phase = 'challenged' | 'admitted' | 'closed';

export class ClientConnection implements RoomMember, RelayCarrier {
  private phase: Phase = 'challenged';
  private readonly nonce = newNonce();
  private readonly budget: MessageBudget;
  private readonly helloTimer: NodeJS.Timeout;
  private queue: Promise<void> = Promise.resolve();
  private hello: Hello | null = null;
  /** Cleared by each heartbeat ping, set by the pong. */
  alive = true;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: SignallingContext,
    private readonly remoteAddress: string
  ) {
    this.budget = new MessageBudget(ctx.messagesPerSecond);
    ctx.counters.count('connected');
    this.send(challengeMessage(this.nonce, ctx.bridge));
    this.helloTimer = setTimeout(() => this.onHelloTimeout(), ctx.helloTimeoutMs);
    ws.on('message', (data, isBinary) => {
      try {
        this.onMessage(data, isBinary);
      } catch (err) {
        this.onHandlerError(err); // never let one message take down the process
      }
    });
    ws.on('pong', () => (this.alive = true));
    ws.on('error', (err) => this.onSocketError(err));
    ws.on('close', () => this.onClose());
  }

  get nodeId(): string {
    return this.hello?.node_id ?? '';
  }

  get community(): string {
    return this.hello?.community ?? '';
  }

  get peerInfo(): PeerInfo {
    const h = this.hello!;
    return { node_id: h.node_id, display_name: h.display_name, profile: h.profile };
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** The invite the hello showed, if any (B8): rooms are checked again when membership changes. */
  get helloInvite(): Hello['invite'] {
    return this.hello?.invite;
  }

  /** The bridge's member node in this session's room, if the bridge holds the community. */
  private get roomNode(): RoomNode | undefined {
    return this.ctx.held?.get(this.community);
  }

  /** Sends one JSON message; false if the socket is closed or so backed up that the message was dropped. */
  send(message: object): boolean {
    if (this.ws.readyState !== WebSocket.OPEN || this.ws.bufferedAmount > MAX_BUFFERED_BYTES) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  ping(): void {
    this.alive = false;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  terminate(): void {
    this.ws.terminate();
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
  }

  private get log(): Logger {
    return this.ctx.logger;
  }

  /**
   * Closes an admitted session that no longer passes its room's check (B8: revoked while connected). Counted under
   * `dropped_*`, so refused hellos and dropped sessions can be told apart.
   */
  expel(rejection: Rejection): void {
    if (this.phase !== 'admitted') return;
    const reason = rejection.code === 'revoked' ? 'dropped_revoked' : 'dropped_not_member';
    this.roomNode?.detach(this);
    this.refuse({ ...rejection, reason }, { close: true });
  }

  /**
   * The bridge's node could not keep its relay link to this client (relay-link.ts): the client is not reading. The
   * socket is closed with 1013, so the client reconnects and syncs again; its link's waiting frames are already freed.
   */
  dropSlowReader(reason: SlowReaderReason, message: string): void {
    if (this.phase === 'closed') return;
    this.log.warn({ reason, remote: this.remoteAddress, node: this.hello ? shortOf(this.nodeId) : undefined, buffered: this.ws.bufferedAmount }, 'dropping a client that does not read');
    this.refuse({ code: 'capacity_exceeded', reason, message: `${message}; reconnect to sync again` }, { close: true, closeCode: CLOSE_TRY_AGAIN_LATER });
  }

  private refuse(rejection: Rejection, options: { close?: boolean; closeCode?: number; retryAfterMs?: number } = {}): void {
    this.ctx.counters.reject(rejection.reason);
    this.log.debug({ reason: rejection.reason, code: rejection.code, remote: this.remoteAddress, node: this.hello ? shortOf(this.nodeId) : undefined }, rejection.message);
    this.send(errorMessage(rejection.code, rejection.message, options.retryAfterMs));
    if (options.close) {
      this.phase = 'closed';
      this.close(options.closeCode ?? CLOSE_POLICY, rejection.reason);
    }
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    const nowMs = this.ctx.clock.now();
    if (!this.budget.take(nowMs)) {
      this.ctx.counters.reject('rate_limited');
      if (this.budget.shouldReport(nowMs)) {
        this.log.warn({ remote: this.remoteAddress, node: this.hello ? shortOf(this.nodeId) : undefined }, 'client over its message budget; dropping');
        this.send(errorMessage('rate_limited', `more than ${this.ctx.messagesPerSecond} messages in one second`, this.budget.retryAfterMs(nowMs)));
      }
      return;
    }
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const parsed = parseClientMessage(bytes, isBinary, this.ctx.maxMessageBytes);
    this.queue = this.queue
      .then(() => {
        if (this.phase === 'closed') return;
        if (!parsed.ok) return this.refuse(parsed.rejection, { close: this.phase === 'challenged' && parsed.t === 'hello' });
        return this.dispatch(parsed.message);
      })
      .catch((err: unknown) => this.onHandlerError(err));
  }

  /** A bug in a handler must cost this one message, never the process or other clients. */
  private onHandlerError(err: unknown): void {
    this.log.error({ err, remote: this.remoteAddress }, 'signalling handler failed');
    this.send(errorMessage('internal_error', 'the bridge failed to handle this message'));
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    if (this.phase === 'challenged') {
      if (message.t !== 'hello') return this.refuse({ code: 'unauthorized', reason: 'unauthorized', message: 'send hello first' });
      return this.admit(message.hello);
    }
    switch (message.t) {
      case 'hello':
        return this.refuse({ code: 'bad_request', reason: 'already_admitted', message: 'already admitted; hello is sent once' });
      case 'signal':
        return this.forwardSignal(message.to, message.signal);
      case 'relay':
        return this.forwardRelay(message.to, message);
    }
  }

  private async admit(hello: Hello): Promise<void> {
    const rejection = await checkHello(hello, { nonce: this.nonce, nowMs: this.ctx.clock.now() });
    if (this.phase === 'closed') return;
    if (rejection) return this.refuse(rejection, { close: true });
    // B8: a room whose community the bridge is a member of admits members and invite holders only.
    const guard = this.ctx.held?.get(hello.community);
    const refusal = guard?.gated ? await guard.admission(hello, this.ctx.clock.now()) : null;
    if ((this.phase as Phase) === 'closed') return; // the socket closed while the log was consulted
    if (refusal) return this.refuse(refusal, { close: true });
    clearTimeout(this.helloTimer);
    this.hello = hello;
    this.phase = 'admitted';
    const { rooms, counters } = this.ctx;
    const replaced = rooms.admit(this);
    counters.count('admitted');
    const node = this.roomNode;
    if (replaced) {
      counters.count('replaced');
      replaced.phase = 'closed';
      node?.detach(replaced);
      replaced.close(CLOSE_REPLACED, 'replaced by a newer session');
      replaced.announceDeparture();
    }
    // B7: the bridge's own node is listed like a peer; it links to us once the welcome is on its way.
    this.send(welcomeMessage([...rooms.roommates(this).map((s) => s.peerInfo), ...(node ? [node.peerInfo] : [])], this.ctx.messagesPerSecond));
    for (const mate of rooms.roommates(this)) mate.send(peerJoinedMessage(this.peerInfo));
    node?.attach(this);
    this.log.info(
      { node: shortOf(this.nodeId), community: this.community, display_name: hello.display_name, profile: hello.profile, remote: this.remoteAddress, replaced: Boolean(replaced) },
      'client admitted'
    );
  }

  /** Tells the room this session is gone. Call after it left `rooms` (or was replaced there). */
  private announceDeparture(): void {
    this.ctx.counters.count('left');
    for (const mate of this.ctx.rooms.roommates(this)) {
      if (mate.nodeId !== this.nodeId) mate.send(peerLeftMessage(this.nodeId));
    }
  }

  /** The target in this session's room, or a not_found reply. */
  private target(to: string): ClientConnection | null {
    const found = to === this.nodeId ? undefined : this.ctx.rooms.find(this.community, to);
    if (!found) this.refuse({ code: 'not_found', reason: 'not_found', message: `${shortOf(to)} is not in this room` });
    return found ?? null;
  }

  private deliver(target: ClientConnection, message: object, reason: string): void {
    if (target.send(message)) return;
    if (!target.open) {
      // The target's socket is closing: it is leaving, not slow; peer-left follows.
      this.refuse({ code: 'not_found', reason: 'target_leaving', message: `${shortOf(target.nodeId)} is leaving; ${reason} dropped` });
      return;
    }
    this.refuse({ code: 'capacity_exceeded', reason: 'target_busy', message: `${shortOf(target.nodeId)} is not reading; ${reason} dropped` });
  }

  private async forwardSignal(to: string, signal: SignedSignal): Promise<void> {
    if (signal.from !== this.nodeId) {
      return this.refuse({ code: 'invalid_signature', reason: 'spoofed_from', message: 'signal.from must be your own NodeID' });
    }
    if (signal.to !== to) return this.refuse({ code: 'bad_request', reason: 'bad_shape', message: 'signal.to must equal to' });
    if (!this.target(to)) return;
    if (!(await verifyPayload(signal, this.nodeId))) {
      return this.refuse({ code: 'invalid_signature', reason: 'invalid_signature', message: 'signal signature does not verify' });
    }
    // The target may have left while the signature was checked.
    const target = this.phase === 'admitted' ? this.target(to) : null;
    if (!target) return;
    this.deliver(target, signalMessage(this.nodeId, signal), 'signal');
    this.ctx.counters.count('signals_forwarded');
  }

  /** A binary frame stays base64 between two clients; only the bridge's own node gets its bytes. */
  private forwardRelay(to: string, relayed: RelayedFrame): void {
    const node = to === this.ctx.bridge.node_id ? this.roomNode : undefined;
    if (node) {
      node.deliver(this, relayedLinkFrame(relayed));
      this.ctx.counters.count('relays_to_member');
      return;
    }
    const target = this.target(to);
    if (!target) return;
    this.deliver(target, relayMessage(this.nodeId, relayed), 'frame');
    this.ctx.counters.count('relays_forwarded');
  }

  private onHelloTimeout(): void {
    if (this.phase !== 'challenged') return;
    this.refuse({ code: 'timeout', reason: 'hello_timeout', message: `no hello within ${this.ctx.helloTimeoutMs / 1000} s` }, { close: true });
  }

  private onSocketError(err: Error & { code?: string }): void {
    const reason: RejectionReason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'oversize_closed' : 'socket_error';
    this.ctx.counters.reject(reason);
    this.log.debug({ reason, remote: this.remoteAddress, err: err.message }, 'client socket error');
  }

  private onClose(): void {
    clearTimeout(this.helloTimer);
    const wasAdmitted = this.hello !== null;
    this.phase = 'closed';
    if (wasAdmitted) this.roomNode?.detach(this);
    if (wasAdmitted && this.ctx.rooms.remove(this)) {
      this.announceDeparture();
      this.log.info({ node: shortOf(this.nodeId), community: this.community, remote: this.remoteAddress }, 'client left');
    }
  }
}
