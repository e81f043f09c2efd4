/**
 * Shape checks for every inbound wire object, compiled once with ajv. A frame is shape-checked before its
 * signature is verified and before it touches state; the message names the first offending field.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { NODE_PROFILES, STABILITIES } from './constants.js';
import { ERROR_CODES } from './errors.js';

const nodeId = { type: 'string', pattern: '^ed25519:[A-Za-z0-9_-]{43}$' };
const signature = { type: 'string', pattern: '^ed25519:[A-Za-z0-9_-]{86}$' };
const timestamp = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$' };
const ulid = { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' };
const capabilityName = { type: 'string', pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$', maxLength: 128 };
const version = { type: 'string', pattern: '^\\d+\\.\\d+$' };

const capabilitySpec = {
  type: 'object',
  required: ['name', 'version', 'stability', 'schema_hash', 'params', 'max_concurrent'],
  properties: {
    name: capabilityName,
    version,
    stability: { enum: [...STABILITIES] },
    schema_hash: { type: 'string', pattern: '^blake3:[0-9a-f]{64}$' },
    params: { type: 'object' },
    max_concurrent: { type: 'integer', minimum: 1 }
  }
};

export const WIRE_SCHEMAS = {
  nodeManifest: {
    type: 'object',
    required: [
      'version', 'contract_version', 'node_id', 'display_name', 'community_id', 'profile', 'endpoints',
      'hardware', 'capabilities', 'uptime_seconds', 'load', 'issued_at', 'expires_at', 'signature'
    ],
    properties: {
      version: { const: 1 },
      contract_version: { type: 'string' },
      node_id: nodeId,
      display_name: { type: 'string', maxLength: 64 },
      community_id: { type: 'string', maxLength: 128 },
      profile: { enum: [...NODE_PROFILES] },
      endpoints: {
        type: 'array',
        maxItems: 16,
        items: {
          type: 'object',
          required: ['transport', 'host', 'port'],
          properties: { transport: { type: 'string' }, host: { type: 'string' }, port: { type: 'integer', minimum: 0, maximum: 65535 } }
        }
      },
      hardware: { type: 'object' },
      capabilities: { type: 'array', maxItems: 256, items: capabilitySpec },
      uptime_seconds: { type: 'integer', minimum: 0 },
      load: { type: 'object', additionalProperties: { type: 'number' } },
      issued_at: timestamp,
      expires_at: timestamp,
      signature
    }
  },
  callEnvelope: {
    type: 'object',
    additionalProperties: false,
    required: ['capability', 'version', 'request_id', 'from', 'community', 'timestamp', 'body', 'signature'],
    properties: {
      capability: capabilityName,
      version,
      request_id: ulid,
      from: nodeId,
      community: { type: 'string', maxLength: 128 },
      timestamp,
      body: {},
      signature
    }
  },
  /** Contract §7.1; which event types exist is the events layer's business (it checks the list). */
  eventEnvelope: {
    type: 'object',
    additionalProperties: false,
    required: ['schema_version', 'event_id', 'lamport', 'wall_clock', 'community_id', 'author', 'event_type', 'data', 'signature'],
    properties: {
      schema_version: { const: 1 },
      event_id: ulid,
      lamport: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
      wall_clock: timestamp,
      community_id: { type: 'string', minLength: 1, maxLength: 128 },
      author: nodeId,
      event_type: { type: 'string', pattern: '^[a-z]+(\\.[a-z_]+)+$', maxLength: 64 },
      data: { type: 'object' },
      signature
    }
  },
  responseEnvelope: {
    type: 'object',
    additionalProperties: false,
    required: ['request_id', 'from', 'timestamp', 'signature'],
    oneOf: [{ required: ['body'] }, { required: ['error'] }],
    properties: {
      request_id: ulid,
      from: nodeId,
      timestamp,
      body: {},
      error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: { enum: [...ERROR_CODES] },
          message: { type: 'string', maxLength: 4096 },
          retry_after_ms: { type: 'integer', minimum: 0 }
        }
      },
      signature
    }
  }
} as const;

export type WireSchemaName = keyof typeof WIRE_SCHEMAS;

let compiled: Map<string, ValidateFunction> | null = null;

function validatorFor(name: WireSchemaName): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false });
    compiled = new Map(Object.entries(WIRE_SCHEMAS).map(([key, schema]) => [key, ajv.compile(schema)]));
  }
  return compiled.get(name)!;
}

/** null when `value` has the shape of `name`, else a short human message naming the field. */
export function checkShape(name: WireSchemaName, value: unknown): string | null {
  const validate = validatorFor(name);
  if (validate(value)) return null;
  const err = validate.errors?.[0];
  if (!err) return 'invalid';
  const where = err.instancePath || '(root)';
  return `${where} ${err.message ?? 'is invalid'}`;
}
