import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/sim/**/*.test.ts', 'tests/bridge/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    // Two cores: keep files in one fork at a time so timing-sensitive tests are not starved.
    fileParallelism: false
  }
});
