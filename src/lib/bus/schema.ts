/**
 * JSON Schema checks for calls (M03 §3.4) and the schema hash of contract §11. Validators are compiled once per
 * schema hash; a mismatch names the first offending field and carries the hash the provider expects, so a caller
 * on another version can tell "upgrade" from "typo".
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { CID_PREFIX, HearthError, canonicalJson, utf8Encode } from '../core/index.js';
import type { CapabilityDescriptor, JsonSchema } from './capability.js';

export class RegistrationError extends Error {
  constructor(
    readonly code: 'schema_invalid' | 'namespace_violation' | 'duplicate' | 'bad_descriptor',
    message: string
  ) {
    super(message);
    this.name = 'RegistrationError';
  }
}

/**
 * Contract §11, computed synchronously so registering is synchronous: the input is a few hundred bytes, where
 * noble's BLAKE3 costs microseconds; core's `schemaHash` (hash-wasm) gives the same answer, and a test pins that.
 */
export function schemaHashOf(descriptor: Pick<CapabilityDescriptor, 'name' | 'version' | 'requestSchema' | 'responseSchema' | 'streamSchema'>): string {
  const parts = {
    name: descriptor.name,
    version: descriptor.version,
    request_schema: descriptor.requestSchema ?? null,
    response_schema: descriptor.responseSchema ?? null,
    stream_schema: descriptor.streamSchema ?? null
  };
  return CID_PREFIX + bytesToHex(blake3(utf8Encode(canonicalJson(parts))));
}

type Part = 'request' | 'response' | 'stream frame';

interface CompiledSchemas {
  request: ValidateFunction;
  response: ValidateFunction | null;
  stream: ValidateFunction | null;
}

function describe(error: ErrorObject | undefined): string {
  if (!error) return 'is invalid';
  const where = error.instancePath || '(root)';
  const allowed = error.keyword === 'enum' ? `: ${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)}` : '';
  const extra = error.keyword === 'additionalProperties' ? ` (${(error.params as { additionalProperty?: string }).additionalProperty})` : '';
  return `${where} ${error.message ?? 'is invalid'}${allowed}${extra}`;
}

export class SchemaValidator {
  // strict: false — schemas are data written by services (and one day other implementations); unknown
  // annotation keywords are tolerated, while a schema that cannot compile is still refused at registration.
  private readonly ajv = new Ajv({ allErrors: false, strict: false });
  private readonly byHash = new Map<string, CompiledSchemas>();

  /** Compiles the descriptor's schemas; throws RegistrationError('schema_invalid') naming the broken one. */
  prepare(descriptor: CapabilityDescriptor, hash: string): void {
    if (this.byHash.has(hash)) return;
    const compile = (part: string, schema: JsonSchema | null): ValidateFunction | null => {
      if (schema === null) return null;
      if (typeof schema !== 'object' || Array.isArray(schema)) {
        throw new RegistrationError('schema_invalid', `${descriptor.name}@${descriptor.version}: ${part} schema must be a JSON Schema object`);
      }
      try {
        return this.ajv.compile(schema);
      } catch (err) {
        throw new RegistrationError('schema_invalid', `${descriptor.name}@${descriptor.version}: ${part} schema is not valid JSON Schema: ${(err as Error).message}`);
      }
    };
    this.byHash.set(hash, {
      request: compile('request', descriptor.requestSchema)!,
      response: compile('response', descriptor.responseSchema),
      stream: compile('stream', descriptor.streamSchema)
    });
  }

  /** Throws schema_mismatch (with `schema_hash_expected`) when `value` does not fit. */
  check(hash: string, label: string, part: Part, value: unknown): void {
    const compiled = this.byHash.get(hash);
    if (!compiled) throw new HearthError('internal_error', `${label}: schemas were never compiled`);
    const validate = part === 'request' ? compiled.request : part === 'response' ? compiled.response : compiled.stream;
    if (!validate || validate(value)) return;
    const code = part === 'request' ? 'schema_mismatch' : 'internal_error';
    // A provider whose own output breaks its schema is a provider bug, not the caller's.
    throw new HearthError(code, `${label}: ${part} ${describe(validate.errors?.[0])}`, { extra: { schema_hash_expected: hash } });
  }
}
