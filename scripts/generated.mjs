// The one way the generators (scripts/gen-*.mjs) write their files: with `--check` they
// write nothing, say which file is stale and set a failing exit code, so the test suite
// (test/generated.test.ts) catches a generated file that no longer matches its source.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const check = process.argv.includes('--check');

/** Writes `text` to `url` (a file URL or path) unless it is already there; under --check, reports instead. */
export function writeGenerated(url, text) {
  const path = typeof url === 'string' ? url : fileURLToPath(url);
  let current = null;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = null;
  }
  if (current === text) return;
  if (check) {
    console.log(`${path} is stale: run node scripts/build-wasm.mjs (or the generator that writes it)`);
    process.exitCode = 1;
  } else writeFileSync(path, text);
}
