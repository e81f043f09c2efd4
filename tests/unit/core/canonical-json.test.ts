import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/lib/core/index.js';
import { loadWireVectors } from './vectors.js';

const vectors = loadWireVectors();

describe('canonical JSON (W1, RFC 8785)', () => {
  it.each(vectors.canonical)('matches the shared vector %#', ({ input, canonical }) => {
    expect(canonicalJson(JSON.parse(input))).toBe(canonical);
  });

  it('prints 1.0, 1.00 and 1 the same way', () => {
    expect(canonicalJson([1.0, 1.0, 1, 1.1, 1.1])).toBe('[1,1,1,1.1,1.1]');
  });

  it('uses ECMAScript number forms', () => {
    expect(canonicalJson([1e21, 1e-7, -0, 0.000001, 123456789012345, 2 ** 53 - 1])).toBe('[1e+21,1e-7,0,0.000001,123456789012345,9007199254740991]');
  });

  it('sorts keys by UTF-16 code units and leaves non-ASCII unescaped', () => {
    expect(canonicalJson({ b: 1, a: 2, é: 3, '\u{1F600}': 4, '\uFFFF': 5 })).toBe('{"a":2,"b":1,"é":3,"\u{1F600}":4,"\uFFFF":5}');
  });

  it('escapes control characters as JSON requires', () => {
    expect(canonicalJson({ s: 'a\n"\u0001' })).toBe('{"s":"a\\n\\"\\u0001"}');
  });

  it.each([
    ['NaN', { n: NaN }],
    ['Infinity', { n: Infinity }],
    ['undefined', { u: undefined }],
    ['an unsafe integer', { big: 2 ** 53 }],
    ['a large unsafe integer', { big: -(10 ** 20) }],
    ['binary', { b: new Uint8Array(2) }],
    ['a function', { f: () => 1 }]
  ])('refuses %s with the path in the message', (_label, value) => {
    expect(() => canonicalJson(value)).toThrow(/canonical JSON: .* at \$\./);
  });

  it('refuses cycles', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => canonicalJson(a)).toThrow(/cycle/);
  });

  it('is stable regardless of key insertion order', () => {
    expect(canonicalJson({ x: { b: [1, { d: 1, c: 2 }], a: null } })).toBe(canonicalJson({ x: { a: null, b: [1, { c: 2, d: 1 }] } }));
  });
});
