import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHARED_VECTORS, VENDORED_VECTORS } from './vectors.js';

describe('known-answer vectors', () => {
  it('the copy in tests/vectors is the shared set, byte for byte', () => {
    const vendored = readFileSync(VENDORED_VECTORS, 'utf8');
    expect(JSON.parse(vendored).canonical.length).toBeGreaterThan(0);
    if (existsSync(SHARED_VECTORS)) expect(vendored).toBe(readFileSync(SHARED_VECTORS, 'utf8'));
  });
});
