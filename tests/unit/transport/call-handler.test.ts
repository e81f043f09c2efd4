import { describe, expect, it } from 'vitest';
import { HearthError } from '../../../src/lib/core/index.js';
import { HandlerTable } from '../../../src/lib/transport/index.js';

const ctx = { caller: 'ed25519:' + 'A'.repeat(43), requestId: '01JGZ000000000000000000001', signal: new AbortController().signal };

function outcome(table: HandlerTable, capability: string, version: string): unknown {
  try {
    return table.handle({ capability, version, body: null }, ctx);
  } catch (err) {
    return (err as HearthError).code;
  }
}

describe('handler table (the default CallHandler)', () => {
  it('P6, contract §2.1: serves the highest minor of the asked major; otherwise not_found or schema_mismatch', () => {
    const table = new HandlerTable();
    table.register({ name: 'experimental.test_echo', version: '1.0', handler: () => '1.0' });
    table.register({ name: 'experimental.test_echo', version: '1.3', handler: () => '1.3' });
    table.register({ name: 'experimental.test_echo', version: '2.0', handler: () => '2.0' });
    expect(outcome(table, 'experimental.test_echo', '1.0')).toBe('1.3');
    expect(outcome(table, 'experimental.test_echo', '1.3')).toBe('1.3');
    expect(outcome(table, 'experimental.test_echo', '2.0')).toBe('2.0');
    expect(outcome(table, 'experimental.test_echo', '1.4')).toBe('schema_mismatch');
    expect(outcome(table, 'experimental.test_echo', '3.0')).toBe('schema_mismatch');
    expect(outcome(table, 'experimental.test_other', '1.0')).toBe('not_found');
  });

  it('passes the body and context through', () => {
    const table = new HandlerTable();
    table.register({ name: 'experimental.test_echo', version: '1.0', handler: (body, c) => ({ body, caller: c.caller }) });
    expect(table.handle({ capability: 'experimental.test_echo', version: '1.0', body: { x: 1 } }, ctx)).toEqual({ body: { x: 1 }, caller: ctx.caller });
  });

  it('unregisters, and refuses duplicates and malformed names', () => {
    const table = new HandlerTable();
    const remove = table.register({ name: 'experimental.test_echo', version: '1.0', handler: () => 1 });
    expect(() => table.register({ name: 'experimental.test_echo', version: '1.0', handler: () => 2 })).toThrow(/already registered/);
    expect(() => table.register({ name: 'Echo', version: '1.0', handler: () => 2 })).toThrow(/dotted lowercase/);
    expect(() => table.register({ name: 'experimental.test_echo', version: '1', handler: () => 2 })).toThrow(/major.minor/);
    expect(table.list()).toEqual([{ name: 'experimental.test_echo', version: '1.0' }]);
    remove();
    expect(table.list()).toEqual([]);
    expect(outcome(table, 'experimental.test_echo', '1.0')).toBe('not_found');
  });
});
