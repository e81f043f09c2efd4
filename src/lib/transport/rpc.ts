/**
 * The rpc layer: calls and streams to peers, and serving theirs, over whichever sessions the directory offers.
 * It routes verified frames (call, response, stream, ack, cancel) to the caller or serving half; manifests are
 * not its business.
 */
import { HearthError, type Blake3Hasher, type Clock, type KeyPair } from '../core/index.js';
import { ulidGenerator } from '../core/index.js';
import type { CallHandler } from './call-handler.js';
import { FrameSigner } from './frame-signer.js';
import type { FrameRejection, LinkFrameObject, StreamEvent } from './frame-types.js';
import { FrameRefused, type SessionPort } from './peer-session.js';
import { RpcClient, type CallOptions, type SessionDirectory, type StreamOptions } from './rpc-client.js';
import { RpcServer } from './rpc-server.js';
import type { Scheduler } from './scheduler.js';

export interface RpcOptions {
  keyPair: KeyPair;
  clock: Clock;
  scheduler: Scheduler;
  communityId: string;
  handler: CallHandler;
  sessions: SessionDirectory;
  /** Request ids; default ULIDs from the clock. */
  nextRequestId?: () => string;
  /** Overrides for tests; default STREAM_ACK_TIMEOUT_SECONDS. */
  ackTimeoutMs?: number;
  /** BLAKE3 for chunk bytes from peers; default the shared hasher of core/blake3.ts. */
  loadHasher?: () => Promise<Blake3Hasher>;
}

export class Rpc {
  private readonly client: RpcClient;
  private readonly server: RpcServer;

  constructor(options: RpcOptions) {
    const signer = new FrameSigner(options.keyPair, options.clock);
    this.client = new RpcClient({
      signer,
      scheduler: options.scheduler,
      communityId: options.communityId,
      sessions: options.sessions,
      nextRequestId: options.nextRequestId ?? ulidGenerator(options.clock),
      loadHasher: options.loadHasher
    });
    this.server = new RpcServer({ signer, scheduler: options.scheduler, handler: options.handler, ackTimeoutMs: options.ackTimeoutMs });
  }

  /** Resolves with the response body; throws HearthError (the peer's signed error, `timeout` or `partition`). */
  call(peer: string, capability: string, version: string, body: unknown, options?: CallOptions): Promise<unknown> {
    return this.client.call(peer, capability, version, body, options);
  }

  /**
   * Events in `seq` order; the last one is `done` (its data is the handler's return value). A terminal `error`
   * throws HearthError. Breaking out of the loop or aborting `signal` sends `cancel`.
   */
  stream(peer: string, capability: string, version: string, body: unknown, options?: StreamOptions): AsyncIterable<StreamEvent> {
    return this.client.stream(peer, capability, version, body, options);
  }

  /**
   * Routes a verified non-manifest frame. False when nothing was waiting for it (a late or unknown id). A binary part
   * nothing can take throws FrameRefused, so the session drops and counts it.
   */
  handleFrame(session: SessionPort, frame: LinkFrameObject): boolean {
    switch (frame.t) {
      case 'bin': {
        const rejection = this.client.onBinaryPart(session, frame);
        if (rejection) throw new FrameRefused(rejection);
        return true;
      }
      case 'call':
        this.server.onCall(session, frame.call);
        return true;
      case 'ack':
        this.server.onAck(session, frame.ack);
        return true;
      case 'cancel':
        this.server.onCancel(session, frame.cancel);
        return true;
      case 'response':
        return this.client.onResponse(session, frame.response);
      case 'stream':
        return this.client.onStreamFrame(session, frame.frame);
      case 'manifest':
        return false;
    }
  }

  /** A refused call still gets a signed answer (P3, P4); other refused frames are only counted by the caller. */
  handleRejected(session: SessionPort, rejection: FrameRejection): void {
    if (rejection.t !== 'call' || rejection.requestId === undefined) return;
    const error = { error: rejection.code, message: rejection.message, ...(rejection.retryAfterMs ? { retry_after_ms: rejection.retryAfterMs } : {}) };
    this.server.refuse(session, rejection.requestId, error);
  }

  sessionClosed(session: SessionPort): void {
    this.client.sessionClosed(session);
    this.server.sessionClosed(session);
  }

  stop(): void {
    this.server.stop();
    this.client.failAll(new HearthError('partition', 'the node stopped'));
  }

  /** Requests in flight either way; for tests and diagnostics. */
  get load(): { calling: number; serving: number } {
    return { calling: this.client.pending, serving: this.server.running };
  }
}
