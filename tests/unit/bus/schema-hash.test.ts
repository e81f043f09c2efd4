import { describe, expect, it } from 'vitest';
import { schemaHash, cidOf, utf8Encode } from '../../../src/lib/core/index.js';
import { schemaHashOf, type CapabilityDescriptor } from '../../../src/lib/bus/index.js';
import { PING_SCHEMAS } from '../../../src/lib/node/ping.js';
import { makeBus } from './harness.js';

type Parts = Pick<CapabilityDescriptor, 'name' | 'version' | 'requestSchema' | 'responseSchema' | 'streamSchema'>;

const ECHO: Parts = {
  name: 'experimental.echo',
  version: '1.0',
  requestSchema: { type: 'object', required: ['input'], properties: { input: { type: 'object', properties: { text: { type: 'string', maxLength: 100 } } } } },
  responseSchema: { type: 'object' },
  streamSchema: null
};
/**
 * Pinned: contract §11 hashes are compared across nodes and implementations, so the same descriptor must hash the
 * same in every run and every release. (No shared schema-hash vector exists in /work/shared/vectors; the BLAKE3
 * behind core's `schemaHash` is pinned to b3sum there, and the test below holds the bus to core.)
 */
const ECHO_HASH = 'blake3:ac75e81b7d4e2c0559980d9d2c142d28ab1f85ef05712874ce7b1a09f8ee359c';

function core(parts: Parts): Promise<string> {
  return schemaHash({ name: parts.name, version: parts.version, request_schema: parts.requestSchema, response_schema: parts.responseSchema, stream_schema: parts.streamSchema });
}

describe('schema_hash (contract §11)', () => {
  it('schema_hash is stable across runs: a pinned descriptor hashes to a pinned value', () => {
    expect(schemaHashOf(ECHO)).toBe(ECHO_HASH);
    expect(schemaHashOf(structuredClone(ECHO))).toBe(ECHO_HASH);
  });

  it('schema_hash is BLAKE3 of the canonical JSON of name, version and the three schemas, absent ones null', async () => {
    const canonical =
      '{"name":"experimental.echo","request_schema":{"properties":{"input":{"properties":{"text":{"maxLength":100,"type":"string"}},"type":"object"}},"required":["input"],"type":"object"},' +
      '"response_schema":{"type":"object"},"stream_schema":null,"version":"1.0"}';
    expect(await cidOf(utf8Encode(canonical))).toBe(ECHO_HASH);
  });

  it('schema_hash is the same as core\'s async schemaHash for every shape of descriptor', async () => {
    const cases: Parts[] = [
      ECHO,
      { ...ECHO, responseSchema: null },
      { name: 'experimental.ping', version: '1.0', ...PING_SCHEMAS },
      { name: 'llm.chat', version: '1.3', requestSchema: { type: 'object', description: 'zażółć ✓ 🔥', properties: { n: { type: 'integer', minimum: -1, maximum: 1e6 } } }, responseSchema: null, streamSchema: { type: 'object' } },
      { name: 'rag.query', version: '10.20', requestSchema: { enum: [null, true, 0.5, 'x', [1, [2]]] }, responseSchema: { type: 'array', items: {} }, streamSchema: null }
    ];
    for (const parts of cases) expect(schemaHashOf(parts), parts.name).toBe(await core(parts));
  });

  it('schema_hash does not depend on key order (canonical JSON)', () => {
    const reordered: Parts = {
      streamSchema: null,
      responseSchema: { type: 'object' },
      requestSchema: { properties: { input: { properties: { text: { maxLength: 100, type: 'string' } }, type: 'object' } }, type: 'object', required: ['input'] },
      version: '1.0',
      name: 'experimental.echo'
    };
    expect(schemaHashOf(reordered)).toBe(ECHO_HASH);
  });

  it('schema_hash changes on schema change: request, response, stream, version or name', () => {
    const variants: Parts[] = [
      { ...ECHO, requestSchema: { ...ECHO.requestSchema, required: [] } },
      { ...ECHO, requestSchema: { type: 'object', required: ['input'], properties: { input: { type: 'object', properties: { text: { type: 'string', maxLength: 101 } } } } } },
      { ...ECHO, responseSchema: null },
      { ...ECHO, responseSchema: { type: 'object', required: ['x'] } },
      { ...ECHO, streamSchema: { type: 'object' } },
      { ...ECHO, version: '1.1' },
      { ...ECHO, name: 'experimental.echo2' }
    ];
    const hashes = variants.map(schemaHashOf);
    for (const hash of hashes) expect(hash).toMatch(/^blake3:[0-9a-f]{64}$/);
    expect(new Set([ECHO_HASH, ...hashes]).size).toBe(variants.length + 1);
  });

  it('the manifest carries the registered descriptor\'s schema_hash; instance params do not change it', () => {
    const { bus } = makeBus();
    bus.register({ ...ECHO, params: { model: 'a' }, handler: () => ({}) });
    bus.register({ ...ECHO, version: '1.1', params: { model: 'b' }, handler: () => ({}) });
    const [v10, v11] = bus.manifestEntries();
    expect(v10.schema_hash).toBe(ECHO_HASH);
    expect(v11.schema_hash).toBe(schemaHashOf({ ...ECHO, version: '1.1' }));
  });
});
