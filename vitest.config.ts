import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'research/tests/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['tests/unit/cache-env.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs backends and SQLite handles are process-global; forks keep suites apart.
    pool: 'forks',
  },
});
