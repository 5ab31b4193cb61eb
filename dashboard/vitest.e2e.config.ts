import { defineConfig } from 'vitest/config';

// Browser end-to-end tests: a real control plane (bin/autonomic up --demo) and Debian's Chromium via playwright-core.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
