// The browser test: drives examples/browser in headless Chromium (Debian's chromium
// package, through playwright-core). scripts/test.mjs runs it when chromium exists.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
