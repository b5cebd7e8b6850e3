// Threads in a browser (headless Chromium through playwright-core): Web Workers on a
// cross-origin isolated page give the single-threaded results through the synchronous
// run (the main thread may not block: it spins) and through runAsync; a page that is not
// isolated gets one thread and one console warning. Loads qwasm from dist/ (npm run build).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
const MIME: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const IMPORTS = `<script type="importmap">{ "imports": { "@assemblyscript/loader": "/node_modules/@assemblyscript/loader/index.js" } }</script>`;

/** The page: the same layers on a 1-thread and a 2-thread engine, every way of running them. */
const PAGE = `<!doctype html><meta charset="utf-8">${IMPORTS}<script type="module">
import { Qwasm } from '/dist/index.js';
const r = { isolated: self.crossOriginIsolated };
const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
function fill(a, lo, hi, seed) {
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return a;
}
try {
  const one = await Qwasm.create({ backend: 'simd' });
  const two = await Qwasm.create({ backend: 'simd', threads: 2 });
  r.threads = two.threads;
  const [M, K, N] = [96, 256, 320];
  const w = fill(new Int8Array(N * K), -127, 127, 3);
  const x = fill(new Int8Array(M * K), -128, 127, 5);
  const cfg = { weights: { data: w, shape: [N, K] }, weightScale: 0.01, input: { scale: 0.02, zeroPoint: 1 }, output: { scale: 0.3, zeroPoint: -2 } };
  const want = one.linear(cfg).run(x);
  const layer = two.linear(cfg);
  r.sync = same(layer.run(x), want);
  r.async = same(await layer.runAsync(x), want);
  const [ya, yb] = await Promise.all([layer.runAsync(x), layer.runAsync(x, new Int8Array(M * N))]);
  r.queued = same(ya, want) && same(yb, want);
  const wf = Float32Array.from(w, (v) => v / 127);
  const xf = Float32Array.from(x, (v) => v / 128);
  const wantF = one.linearF32({ weights: { data: wf, shape: [N, K] } }).run(xf);
  const f = two.linearF32({ weights: { data: wf, shape: [N, K] } });
  r.f32 = same(f.run(xf), wantF) && same(await f.runAsync(xf), wantF);
  const a = { data: x, shape: [M, K] };
  const b = { data: fill(new Int8Array(K * N), -128, 127, 7), shape: [K, N] };
  r.matMulInteger = same(two.matMulInteger(a, b, 3, 0).data, one.matMulInteger(a, b, 3, 0).data);
  two.dispose();
  one.dispose();
} catch (e) {
  r.error = String((e && e.stack) || e);
}
window.result = r;
</script>`;

/** A page that is not cross-origin isolated asks for threads. */
const PLAIN = `<!doctype html><meta charset="utf-8">${IMPORTS}<script type="module">
import { Qwasm } from '/dist/index.js';
const r = { isolated: self.crossOriginIsolated };
try {
  const a = await Qwasm.create({ threads: 2 });
  const b = await Qwasm.create({ threads: 'auto' });
  r.threads = [a.threads, b.threads];
  const y = a.linear({ weights: { data: new Int8Array(64 * 64).fill(1), shape: [64, 64] }, weightScale: 0.01, input: { scale: 0.02, zeroPoint: 0 }, output: { scale: 0.3, zeroPoint: 0 } }).run(new Int8Array(64 * 64).fill(2));
  r.ran = y.length === 64 * 64;
  a.dispose();
  b.dispose();
} catch (e) {
  r.error = String((e && e.stack) || e);
}
window.result = r;
</script>`;

interface PageResult {
  isolated?: boolean;
  threads?: number | number[];
  error?: string;
  [k: string]: unknown;
}

const canRun = existsSync(executablePath) && existsSync(join(ROOT, 'dist/threads/worker.js'));

describe.skipIf(!canRun)('threads in headless Chromium', () => {
  let server: Server;
  let base = '';
  let context: BrowserContext;
  let profile = '';

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/favicon.ico') {
        res.writeHead(204, ISOLATION).end();
        return;
      }
      if (path === '/isolated.html' || path === '/plain.html') {
        res.writeHead(200, { 'Content-Type': 'text/html', ...(path === '/isolated.html' ? ISOLATION : {}) });
        res.end(path === '/isolated.html' ? PAGE : PLAIN);
        return;
      }
      const file = normalize(join(ROOT, decodeURIComponent(path)));
      if (!file.startsWith(join(ROOT, 'dist')) && !file.startsWith(join(ROOT, 'node_modules/@assemblyscript/loader'))) {
        res.writeHead(404, ISOLATION).end();
        return;
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', ...ISOLATION });
        res.end(body);
      } catch {
        res.writeHead(404, ISOLATION).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    profile = mkdtempSync(join(tmpdir(), 'qwasm-threads-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function load(path: string): Promise<{ result: PageResult; warnings: string[]; errors: string[] }> {
    const page = await context.newPage();
    const warnings: string[] = [];
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'warning') warnings.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(base + path);
    await page
      .waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, {
        timeout: 60_000,
      })
      .catch((e: Error) => {
        throw new Error(`${e.message}; page errors: ${errors.join(' | ')}`);
      });
    const result = await page.evaluate(() => (window as unknown as { result: PageResult }).result);
    await page.close();
    return { result, warnings, errors };
  }

  it('runs Web Workers on an isolated page, bit-identical through run and runAsync', async () => {
    const { result, errors } = await load('/isolated.html');
    expect(errors).toEqual([]);
    expect(result.error).toBeUndefined();
    expect(result.isolated).toBe(true);
    expect(result.threads).toBe(2);
    expect(result).toMatchObject({ sync: true, async: true, queued: true, f32: true, matMulInteger: true });
  });

  it('runs on one thread with one warning when the page is not isolated', async () => {
    const { result, warnings, errors } = await load('/plain.html');
    expect(errors).toEqual([]);
    expect(result.error).toBeUndefined();
    expect(result.isolated).toBe(false);
    expect(result.threads).toEqual([1, 1]);
    expect(result.ran).toBe(true);
    expect(warnings.filter((w) => w.includes('qwasm'))).toHaveLength(1);
    expect(warnings[0]).toMatch(/cross-origin isolated/);
  });
});
