// The packaging test: packs qwasm, installs the tarball into fresh consumer projects and
// builds / runs them (Node.js, Deno, Bun, TypeScript, and bundlers in headless Chromium).
// scripts/test.mjs runs it once, after the unit tests.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/packaging/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // one consumer at a time: the bundlers and the browser share two cores with everything else
    fileParallelism: false,
  },
});
