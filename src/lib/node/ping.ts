/**
 * `experimental.ping@1.0`: the smallest capability that exercises the whole path. Unary: echoes `payload` with
 * the time it was served. Streaming (when `input.count` is given): `count` progress frames, then `done {count}`,
 * which is how we test flow control end to end.
 */
import { HearthError, rfc3339, type Clock } from '../core/index.js';
import type { CapabilityRegistration } from '../bus/index.js';
import { utf8ByteLength, type CallContext, type StreamEvent } from '../transport/index.js';

export const PING_CAPABILITY = 'experimental.ping';
export const PING_VERSION = '1.0';
export const PING_PAYLOAD_MAX_BYTES = 16 * 1024;
export const PING_STREAM_MAX_COUNT = 1000;

export interface PingInput {
  payload: string;
  count?: number;
}

/** Checks the request body; throws bad_request naming the problem (P6). */
export function parsePingBody(body: unknown): PingInput {
  const input = (body as { input?: unknown } | null)?.input;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new HearthError('bad_request', 'ping: body.input must be an object');
  const { payload = '', count } = input as { payload?: unknown; count?: unknown };
  if (typeof payload !== 'string') throw new HearthError('bad_request', 'ping: input.payload must be a string');
  if (utf8ByteLength(payload) > PING_PAYLOAD_MAX_BYTES) {
    throw new HearthError('bad_request', `ping: input.payload is over ${PING_PAYLOAD_MAX_BYTES} bytes`);
  }
  if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > PING_STREAM_MAX_COUNT)) {
    throw new HearthError('bad_request', `ping: input.count must be an integer from 1 to ${PING_STREAM_MAX_COUNT}`);
  }
  return count === undefined ? { payload } : { payload, count };
}

async function* pongs(count: number, signal: AbortSignal): AsyncGenerator<StreamEvent, { count: number }, undefined> {
  for (let current = 1; current <= count; current++) {
    if (signal.aborted) return { count: current - 1 };
    yield { event: 'progress', data: { current, total: count, stage: 'pong' } };
  }
  return { count };
}

/** The request, response and stream-frame schemas; the handler still checks the byte size (schemas count characters). */
export const PING_SCHEMAS = {
  requestSchema: {
    type: 'object',
    required: ['input'],
    properties: {
      input: {
        type: 'object',
        properties: {
          payload: { type: 'string', maxLength: PING_PAYLOAD_MAX_BYTES },
          count: { type: 'integer', minimum: 1, maximum: PING_STREAM_MAX_COUNT }
        }
      }
    }
  },
  responseSchema: {
    type: 'object',
    required: ['output'],
    properties: {
      output: { type: 'object', required: ['payload', 'served_at'], properties: { payload: { type: 'string' }, served_at: { type: 'string' } } },
      meta: { type: 'object' }
    }
  },
  streamSchema: {
    type: 'object',
    required: ['event', 'data'],
    properties: { event: { const: 'progress' }, data: { type: 'object', required: ['current', 'total'] } }
  }
};

export function pingCapability(clock: Clock): CapabilityRegistration {
  return {
    name: PING_CAPABILITY,
    version: PING_VERSION,
    ...PING_SCHEMAS,
    idempotent: true,
    maxConcurrent: 32,
    timeoutSeconds: 30,
    // Every node probes every peer each 5 s: traced, those would crowd real calls out of the ring.
    untraced: true,
    handler: (body: unknown, ctx: CallContext) => {
      const started = clock.now();
      const input = parsePingBody(body);
      if (input.count !== undefined) return pongs(input.count, ctx.signal);
      const servedAt = clock.now();
      return { output: { payload: input.payload, served_at: rfc3339(servedAt) }, meta: { ms: servedAt - started } };
    }
  };
}
