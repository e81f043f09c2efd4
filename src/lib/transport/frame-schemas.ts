/**
 * Shapes of the outer peer frames, one validator per `t`. The call, response and manifest objects reuse the core
 * schemas; stream, ack and cancel objects are defined here. Compiled on first use, never at import.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { ERROR_CODES, WIRE_SCHEMAS } from '../core/index.js';
import type { FrameType } from './frame-types.js';

const nodeId = { type: 'string', pattern: '^ed25519:[A-Za-z0-9_-]{43}$' };
const signature = { type: 'string', pattern: '^ed25519:[A-Za-z0-9_-]{86}$' };
const timestamp = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$' };
const requestId = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' };
const sequence = { type: 'integer', minimum: 1, maximum: 2 ** 31 };

export const STREAM_EVENT_PATTERN = '^[a-z][a-z0-9_]{0,31}$';

const streamObject = {
  type: 'object',
  additionalProperties: false,
  required: ['request_id', 'from', 'seq', 'event', 'data', 'timestamp', 'signature'],
  properties: {
    request_id: requestId,
    from: nodeId,
    seq: sequence,
    event: { type: 'string', pattern: STREAM_EVENT_PATTERN },
    data: {},
    timestamp,
    signature
  },
  // A terminal error frame carries a contract §5.4 error body, so the caller can rebuild the HearthError.
  if: { properties: { event: { const: 'error' } } },
  then: {
    properties: {
      data: {
        type: 'object',
        required: ['error'],
        properties: { error: { enum: [...ERROR_CODES] }, message: { type: 'string', maxLength: 4096 } }
      }
    }
  }
};

const ackObject = {
  type: 'object',
  additionalProperties: false,
  required: ['request_id', 'from', 'upto', 'timestamp', 'signature'],
  properties: { request_id: requestId, from: nodeId, upto: { type: 'integer', minimum: 0, maximum: 2 ** 31 }, timestamp, signature }
};

const cancelObject = {
  type: 'object',
  additionalProperties: false,
  required: ['request_id', 'from', 'timestamp', 'signature'],
  properties: { request_id: requestId, from: nodeId, timestamp, signature }
};

function outer(t: FrameType, field: string, inner: object): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['t', field],
    properties: { t: { const: t }, [field]: inner }
  };
}

export const FRAME_SCHEMAS: Record<FrameType, object> = {
  manifest: outer('manifest', 'manifest', WIRE_SCHEMAS.nodeManifest),
  call: outer('call', 'call', WIRE_SCHEMAS.callEnvelope),
  response: outer('response', 'response', WIRE_SCHEMAS.responseEnvelope),
  stream: outer('stream', 'frame', streamObject),
  ack: outer('ack', 'ack', ackObject),
  cancel: outer('cancel', 'cancel', cancelObject)
};

let validators: Map<FrameType, ValidateFunction> | null = null;

/** null when `value` is a well-formed frame of type `t`, else a short message naming the first bad field. */
export function checkFrameShape(t: FrameType, value: unknown): string | null {
  if (!validators) {
    const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false });
    validators = new Map(Object.entries(FRAME_SCHEMAS).map(([key, schema]) => [key as FrameType, ajv.compile(schema)]));
  }
  const validate = validators.get(t)!;
  if (validate(value)) return null;
  const err = validate.errors?.[0];
  if (!err) return 'invalid';
  return `${err.instancePath || '(root)'} ${err.message ?? 'is invalid'}`;
}
