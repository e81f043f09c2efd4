/**
 * Builds our outbound signed frames. Every object is stamped with our NodeID and the clock's time and signed over
 * its canonical JSON (W2); a body that canonical JSON refuses (NaN, undefined, huge integers) fails here, before
 * anything is sent.
 */
import { HearthError, rfc3339, signPayload, type CallEnvelope, type Clock, type KeyPair, type ResponseEnvelope, type WireError } from '../core/index.js';
import type { AckFrame, CallFrame, CancelFrame, ManifestFrame, ResponseFrame, StreamFrame, StreamFrameObject } from './frame-types.js';
import type { NodeManifest } from '../core/index.js';

export interface CallRequest {
  capability: string;
  version: string;
  requestId: string;
  community: string;
  body: unknown;
}

export class FrameSigner {
  constructor(
    private readonly keyPair: KeyPair,
    private readonly clock: Clock
  ) {}

  get nodeId(): string {
    return this.keyPair.nodeId;
  }

  private stamp(): { from: string; timestamp: string } {
    return { from: this.keyPair.nodeId, timestamp: rfc3339(this.clock.now()) };
  }

  private async sign<T extends Record<string, unknown>>(payload: T, what: string): Promise<T & { signature: string }> {
    try {
      return await signPayload(payload, this.keyPair);
    } catch (err) {
      // Canonical JSON refused a value: the caller's (or handler's) data is not portable JSON.
      throw new HearthError('bad_request', `${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  manifest(manifest: NodeManifest): ManifestFrame {
    return { t: 'manifest', manifest };
  }

  async call(request: CallRequest): Promise<CallFrame> {
    const { from, timestamp } = this.stamp();
    const unsigned = {
      capability: request.capability,
      version: request.version,
      request_id: request.requestId,
      from,
      community: request.community,
      timestamp,
      body: request.body
    };
    return { t: 'call', call: (await this.sign(unsigned, 'call body')) as CallEnvelope };
  }

  async response(requestId: string, body: unknown): Promise<ResponseFrame> {
    const signed = await this.sign({ request_id: requestId, ...this.stamp(), body }, 'response body');
    return { t: 'response', response: signed as ResponseEnvelope };
  }

  async errorResponse(requestId: string, error: WireError): Promise<ResponseFrame> {
    const signed = await this.sign({ request_id: requestId, ...this.stamp(), error: { ...error } }, 'error body');
    return { t: 'response', response: signed as ResponseEnvelope };
  }

  async stream(requestId: string, seq: number, event: string, data: unknown): Promise<StreamFrame> {
    const signed = await this.sign({ request_id: requestId, ...this.stamp(), seq, event, data }, `stream ${event} data`);
    return { t: 'stream', frame: signed as StreamFrameObject };
  }

  async ack(requestId: string, upto: number): Promise<AckFrame> {
    return { t: 'ack', ack: await this.sign({ request_id: requestId, ...this.stamp(), upto }, 'ack') };
  }

  async cancel(requestId: string): Promise<CancelFrame> {
    return { t: 'cancel', cancel: await this.sign({ request_id: requestId, ...this.stamp() }, 'cancel') };
  }
}
