/**
 * Caller side of the rpc layer. `call` resolves with the peer's body (or the `done` data of a stream it did not
 * ask to see); `stream` yields events in order and ends after the one terminal. Neither can hang: a unary call has
 * a deadline, a stream an idle timeout, and a closed link fails everything that went out on it with `partition`.
 */
import { HearthError, loadBlake3Hasher, RPC_DEFAULT_TIMEOUT_SECONDS, STREAM_ACK_INTERVAL_FRAMES, type Blake3Hasher } from '../core/index.js';
import { Exchange, lazyHasher, type HasherSource } from './exchange.js';
import { RESPONSE_PART_EVENT, ResponseAssembler } from './response-parts.js';
import type { FrameSigner } from './frame-signer.js';
import type { ResponseEnvelope } from '../core/index.js';
import type { BinaryPartFrame, FrameRejection, StreamEvent, StreamFrameObject } from './frame-types.js';
import type { SessionPort } from './peer-session.js';
import type { Scheduler } from './scheduler.js';

export interface SessionDirectory {
  /** The open session to use for calls to `nodeId` (the preferred path), if any. */
  sessionFor(nodeId: string): SessionPort | undefined;
}

export interface CallOptions {
  /** Whole-call deadline; default RPC_DEFAULT_TIMEOUT_SECONDS. */
  timeoutMs?: number;
  /** Aborting sends `cancel` and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The request id to sign (a ULID, fresh per call); default a new one. Lets the bus use it as the trace id. */
  requestId?: string;
}

export interface StreamOptions {
  /** Aborting sends `cancel` and makes the iteration throw the signal's reason. */
  signal?: AbortSignal;
  /** Longest wait for the next frame while the consumer is waiting; default RPC_DEFAULT_TIMEOUT_SECONDS. */
  idleTimeoutMs?: number;
  /** As for CallOptions. */
  requestId?: string;
}

export interface RpcClientOptions {
  signer: FrameSigner;
  scheduler: Scheduler;
  communityId: string;
  sessions: SessionDirectory;
  nextRequestId: () => string;
  /** BLAKE3 for chunk bytes from peers; default the shared hash-wasm hasher (noble where WebAssembly is blocked). */
  loadHasher?: () => Promise<Blake3Hasher>;
}

export class RpcClient {
  private readonly exchanges = new Map<string, Exchange>();
  private readonly hasher: HasherSource;

  constructor(private readonly options: RpcClientOptions) {
    this.hasher = lazyHasher(options.loadHasher ?? loadBlake3Hasher);
  }

  async call(peer: string, capability: string, version: string, body: unknown, options: CallOptions = {}): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? RPC_DEFAULT_TIMEOUT_SECONDS * 1000;
    const { signal } = options;
    signal?.throwIfAborted();
    const { session, exchange } = this.open(peer, options.requestId);
    const { scheduler } = this.options;
    const deadline = scheduler.setTimeout(() => {
      exchange.fail(new HearthError('timeout', `${capability}@${version} on ${peer} gave no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = () => exchange.fail(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    void this.transmit(session, exchange, capability, version, body);
    let consumed = 0;
    const parts = new ResponseAssembler();
    try {
      for (;;) {
        const event = await exchange.next();
        if (event === null || event.event === 'done') return parts.finish(event?.data);
        if (event.event === RESPONSE_PART_EVENT) parts.add(event.data); // an answer too large for one frame (P13)
        // The handler chose to stream; a unary caller still acks so the provider is not left blocked.
        if (++consumed % STREAM_ACK_INTERVAL_FRAMES === 0) this.sendQuietly(session, () => this.options.signer.ack(exchange.requestId, consumed));
      }
    } finally {
      scheduler.clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      this.close(session, exchange);
    }
  }

  stream(peer: string, capability: string, version: string, body: unknown, options: StreamOptions = {}): AsyncIterable<StreamEvent> {
    return this.streamEvents(peer, capability, version, body, options);
  }

  /** A response from the peer; false when no pending request matches (late, or not ours). */
  onResponse(session: SessionPort, response: ResponseEnvelope): boolean {
    const exchange = this.exchanges.get(response.request_id);
    if (!exchange || exchange.peer !== session.remoteNodeId) return false;
    exchange.onResponse(response);
    return true;
  }

  onStreamFrame(session: SessionPort, frame: StreamFrameObject): boolean {
    const exchange = this.exchanges.get(frame.request_id);
    if (!exchange || exchange.peer !== session.remoteNodeId) return false;
    exchange.onStreamFrame(frame);
    return true;
  }

  /**
   * Chunk bytes from the peer. Returns why the part was dropped (unknown request or seq, overlap, overrun), so the
   * session counts it; null when it was taken.
   */
  onBinaryPart(session: SessionPort, part: BinaryPartFrame): FrameRejection | null {
    const exchange = this.exchanges.get(part.requestId);
    if (!exchange || exchange.peer !== session.remoteNodeId) {
      return { code: 'not_found', message: `binary part for ${part.requestId}, which is no request of ours to this peer`, t: 'bin' };
    }
    return exchange.onBinaryPart(part);
  }

  sessionClosed(session: SessionPort): void {
    for (const exchange of this.exchanges.values()) {
      if (exchange.linkId === session.linkId) exchange.fail(new HearthError('partition', `link to ${exchange.peer} closed`));
    }
  }

  /** Fails every pending request; used when the node stops. */
  failAll(error: HearthError): void {
    for (const exchange of this.exchanges.values()) exchange.fail(error);
  }

  get pending(): number {
    return this.exchanges.size;
  }

  private async *streamEvents(
    peer: string,
    capability: string,
    version: string,
    body: unknown,
    options: StreamOptions
  ): AsyncGenerator<StreamEvent, void, undefined> {
    const { signal } = options;
    const idleTimeoutMs = options.idleTimeoutMs ?? RPC_DEFAULT_TIMEOUT_SECONDS * 1000;
    signal?.throwIfAborted();
    const { session, exchange } = this.open(peer, options.requestId);
    const onAbort = () => exchange.fail(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    void this.transmit(session, exchange, capability, version, body);
    let consumed = 0;
    const parts = new ResponseAssembler();
    try {
      for (;;) {
        const event = await this.nextWithin(exchange, idleTimeoutMs);
        if (event === null) return;
        if (event.event === 'done') {
          // A unary answer too large for one frame arrives in parts (P13): streamed callers see it as `done`, as a
          // local call would give it, never the parts.
          yield parts.count > 0 ? { event: 'done', data: parts.finish(event.data) } : event;
          return;
        }
        if (++consumed % STREAM_ACK_INTERVAL_FRAMES === 0) this.sendQuietly(session, () => this.options.signer.ack(exchange.requestId, consumed));
        if (event.event === RESPONSE_PART_EVENT) parts.add(event.data);
        else yield event;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.close(session, exchange);
    }
  }

  private async nextWithin(exchange: Exchange, idleTimeoutMs: number): Promise<StreamEvent | null> {
    if (exchange.hasQueued) return exchange.next();
    const { scheduler } = this.options;
    const timer = scheduler.setTimeout(() => {
      exchange.fail(new HearthError('timeout', `no stream frame from ${exchange.peer} within ${idleTimeoutMs} ms`));
    }, idleTimeoutMs);
    try {
      return await exchange.next();
    } finally {
      scheduler.clearTimeout(timer);
    }
  }

  private open(peer: string, requestId?: string): { session: SessionPort; exchange: Exchange } {
    const session = this.options.sessions.sessionFor(peer);
    if (!session) throw new HearthError('partition', `no open link to ${peer}`);
    const id = requestId ?? this.options.nextRequestId();
    if (this.exchanges.has(id)) throw new HearthError('bad_request', `request id ${id} is already in flight`);
    const exchange = new Exchange(id, peer, session.linkId, this.hasher);
    this.exchanges.set(exchange.requestId, exchange);
    return { session, exchange };
  }

  private async transmit(session: SessionPort, exchange: Exchange, capability: string, version: string, body: unknown): Promise<void> {
    try {
      const { signer, communityId } = this.options;
      const frame = await signer.call({ capability, version, requestId: exchange.requestId, community: communityId, body });
      if (exchange.finished) return;
      exchange.callSent = true;
      await session.send(frame);
    } catch (err) {
      exchange.callSent = false; // refused before reaching the link (oversized, unsignable) or the link is gone
      exchange.fail(HearthError.from(err));
    }
  }

  /** Forgets the exchange; if the peer may still be working on it (we stopped first), tells it to stop. */
  private close(session: SessionPort, exchange: Exchange): void {
    this.exchanges.delete(exchange.requestId);
    if (exchange.callSent && !exchange.peerFinished && !session.closed) this.sendQuietly(session, () => this.options.signer.cancel(exchange.requestId));
  }

  /** Acks and cancels are best effort: if the link is gone, the close path already failed everything. */
  private sendQuietly(session: SessionPort, build: () => Promise<Parameters<SessionPort['send']>[0]>): void {
    void build()
      .then((frame) => session.send(frame))
      .catch(() => {});
  }
}
