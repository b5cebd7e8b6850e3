// Builds every wasm binary into src/wasm/ (copied to dist/wasm/ by the TS build):
// regenerates the microkernels and the shared layouts (scripts/gen-*.mjs), then compiles each asconfig target and the probe.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const asc = require.resolve('assemblyscript/bin/asc.js');
const run = (args) => execFileSync(process.execPath, [asc, ...args], { stdio: 'inherit' });

for (const gen of ['gen-gemm', 'gen-binary', 'gen-layouts'])
  execFileSync(process.execPath, [`scripts/${gen}.mjs`], { stdio: 'inherit' });
mkdirSync('src/wasm', { recursive: true });
for (const target of ['relaxed', 'simd', 'scalar', 'relaxed-mt', 'simd-mt', 'scalar-mt'])
  run(['--config', 'asconfig.json', '--target', target]);
run(['--config', 'asconfig.probe.json']);
