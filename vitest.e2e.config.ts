import { defineConfig } from 'vitest/config';

// Browser tests: Playwright drives Debian's Chromium against `veripo serve` (web mode).
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
