// `npm run bench`: every benchmark suite in bench/*.bench.mjs, one after another, under
// this Node; with --node24 the kernel suites run again under Node 24 (relaxed build).
// Each suite writes bench/results/<suite>.json and .md. Pass --only gemm,conv to filter.
//   npm run bench -- --node24
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { args } from './lib.mjs';

const opts = args();
const only = opts.only ? String(opts.only).split(',') : null;
const suites = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => !only || only.some((o) => f.startsWith(o)))
  .sort();
const KERNEL_SUITES = ['gemm.bench.mjs', 'conv.bench.mjs', 'binary.bench.mjs'];
let failed = 0;
for (const s of suites) {
  console.log(`\n### ${s}`);
  const r = spawnSync(process.execPath, [`bench/${s}`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
  if (opts.node24 && KERNEL_SUITES.includes(s)) {
    console.log(`\n### ${s} (Node 24)`);
    const r24 = spawnSync('scripts/node24.sh', [`bench/${s}`], { stdio: 'inherit' });
    if (r24.status !== 0) failed++;
  }
}
console.log(`\n${suites.length} suites run${failed ? `, ${failed} failed` : ''}; results in bench/results/`);
process.exit(failed ? 1 : 0);
