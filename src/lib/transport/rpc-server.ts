/**
 * Serving side of the rpc layer: runs admitted calls through the CallHandler port and answers with signed
 * responses or streams. Refusals (P1, P3, P4, P6) are signed error responses too, so a caller can tell a refusal
 * from a forgery. Every running handler has an AbortController fired on cancel, link close or stop.
 */
import { HearthError, type CallEnvelope, type WireError } from '../core/index.js';
import { abortError, untilAborted } from './abort.js';
import { DroppedCall, isAsyncIterable, type CallHandler } from './call-handler.js';
import type { FrameSigner } from './frame-signer.js';
import type { AckObject, CancelObject } from './frame-types.js';
import type { SessionPort } from './peer-session.js';
import type { Scheduler } from './scheduler.js';
import { SendWindow } from './send-window.js';
import { pumpStream } from './stream-pump.js';
import { oversizedJson, responseParts } from './response-parts.js';
import { clampWireError, toWireError } from './wire-error.js';

export interface RpcServerOptions {
  signer: FrameSigner;
  scheduler: Scheduler;
  handler: CallHandler;
  /** Overrides for tests; default STREAM_ACK_TIMEOUT_SECONDS. */
  ackTimeoutMs?: number;
}

interface ServedCall {
  session: SessionPort;
  controller: AbortController;
  window: SendWindow | null;
}

export class RpcServer {
  /** Keyed by caller and request id: ids are only unique per sender. */
  private readonly active = new Map<string, ServedCall>();

  constructor(private readonly options: RpcServerOptions) {}

  /** The call already passed the session's gate, P1 included. */
  onCall(session: SessionPort, call: CallEnvelope): void {
    const key = `${call.from} ${call.request_id}`;
    if (this.active.has(key)) return; // the replay cache refuses repeats; this only guards our own map
    const served: ServedCall = { session, controller: new AbortController(), window: null };
    this.active.set(key, served);
    void this.serve(call, served).finally(() => this.active.delete(key));
  }

  onAck(session: SessionPort, ack: AckObject): void {
    const served = this.active.get(`${ack.from} ${ack.request_id}`);
    if (served?.session === session) served.window?.ack(ack.upto);
  }

  onCancel(session: SessionPort, cancel: CancelObject): void {
    const served = this.active.get(`${cancel.from} ${cancel.request_id}`);
    if (served?.session === session) served.controller.abort(abortError('the caller cancelled'));
  }

  sessionClosed(session: SessionPort): void {
    for (const served of this.active.values()) {
      if (served.session === session) served.controller.abort(new HearthError('partition', 'the link to the caller closed'));
    }
  }

  stop(): void {
    for (const served of this.active.values()) served.controller.abort(abortError('the node stopped'));
  }

  /** Sends a signed error response for a call we will not serve. */
  refuse(session: SessionPort, requestId: string, error: WireError): void {
    void this.options.signer
      .errorResponse(requestId, clampWireError(error))
      .then((frame) => session.send(frame))
      .catch(() => {});
  }

  get running(): number {
    return this.active.size;
  }

  private async serve(call: CallEnvelope, served: ServedCall): Promise<void> {
    const { signer, handler, scheduler } = this.options;
    const { session, controller } = served;
    const { signal } = controller;
    const ctx = { caller: call.from, requestId: call.request_id, signal };
    let result: unknown;
    try {
      const pending = Promise.resolve().then(() => handler.handle({ capability: call.capability, version: call.version, body: call.body }, ctx));
      result = await untilAborted(pending, signal);
    } catch (err) {
      if (!signal.aborted && !(err instanceof DroppedCall)) this.refuse(session, call.request_id, toWireError(err));
      return;
    }
    if (signal.aborted) return;
    if (isAsyncIterable(result)) {
      served.window = new SendWindow({ scheduler, ackTimeoutMs: this.options.ackTimeoutMs });
      await pumpStream({ events: result, requestId: call.request_id, session, signer, window: served.window, controller });
      return;
    }
    try {
      // Too large for one frame: sent as signed parts the caller joins (response-parts.ts, P13).
      const json = oversizedJson(result);
      if (json !== null) {
        served.window = new SendWindow({ scheduler, ackTimeoutMs: this.options.ackTimeoutMs });
        await pumpStream({ events: responseParts(json), requestId: call.request_id, session, signer, window: served.window, controller });
        return;
      }
      const frame = await signer.response(call.request_id, result ?? null).catch((err: unknown) => {
        throw new HearthError('internal_error', HearthError.from(err).message);
      });
      await session.send(frame);
    } catch (err) {
      // Unsignable or oversized result: still answer, so the caller does not wait for its deadline.
      this.refuse(session, call.request_id, { error: 'internal_error', message: HearthError.from(err).message });
    }
  }
}
