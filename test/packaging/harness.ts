// What the packaging test does with a consumer project: pack qwasm as npm would publish
// it, install the tarball once into a scratch folder the way a user's project gets it,
// write small projects beside it, build them with a bundler at its defaults, run them in
// Node.js, Deno, Bun or headless Chromium, and read back what the app computed.
//
// Nothing here reaches the network: the tarball's one dependency comes from npm's cache
// (`npm ci` put it there), and the bundlers, TypeScript, Deno and Bun are the repo's own
// devDependencies, linked into the scratch folder's node_modules.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'node_modules/.bin');

/** The result a consumer app reports: one run per requested thread count, or an error. */
export interface AppResult {
  runs: { asked: number; threads: number; backend: string; hash: number }[];
  error?: string;
  isolated?: boolean;
}

export interface Ran {
  status: number | null;
  out: string;
  err: string;
  ms: number;
}

/**
 * Runs a command to completion; never throws (the caller judges the status). Asynchronous,
 * so the test worker keeps answering the runner while a bundler or an install runs for
 * minutes (a blocking spawn starves vitest's worker RPC on a loaded machine).
 */
export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<Ran> {
  const t0 = performance.now();
  // as a user's shell runs it: not with the NODE_ENV=test of this test runner, which
  // would make Vite and webpack build for development
  const base: Record<string, string | undefined> = { ...process.env };
  delete base.NODE_ENV;
  delete base.VITEST;
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failure = '';
    const child = spawn(cmd, args, {
      cwd,
      env: { ...base, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      failure = `\ntimed out after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => (failure += `\n${String(e)}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        status: code,
        out: Buffer.concat(out).toString('utf8'),
        err: `${Buffer.concat(err).toString('utf8')}${failure}`,
        ms: performance.now() - t0,
      });
    });
  });
}

/** Fails with the command's output when it did not exit 0. */
export function ok(r: Ran, what: string): Ran {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.out.slice(-4000)}\n${r.err.slice(-4000)}`);
  return r;
}

/** The last line of stdout that parses as an AppResult. */
export function resultOf(r: Ran, what: string): AppResult {
  const line = r.out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`${what} printed no result:\n${r.out.slice(-4000)}\n${r.err.slice(-4000)}`);
  return JSON.parse(line) as AppResult;
}

/** Writes files (path -> text) under `dir`, creating folders. */
export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

/**
 * Packs the repo (already built: `npm pack --ignore-scripts`) into `work`, installs the
 * tarball there from npm's cache, then links the repo's devDependencies beside it so
 * consumer projects under `work` find their bundler the way they would in their own
 * node_modules.
 */
export async function installPackedQwasm(work: string): Promise<{ tarball: string; files: string[] }> {
  const pack = ok(
    await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT),
    'npm pack',
  );
  const info = JSON.parse(pack.out.slice(pack.out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, info[0]!.filename);
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'qwasm-consumers', private: true }, null, 2));
  const flags = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'];
  let r = await run('npm', [...flags, '--offline', tarball], work);
  // an empty npm cache (a new machine): the registry has the one dependency
  if (r.status !== 0) r = await run('npm', [...flags, '--prefer-offline', tarball], work);
  ok(r, 'npm install of the packed tarball');
  const nm = join(work, 'node_modules');
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      mkdirSync(join(nm, name), { recursive: true });
      for (const sub of readdirSync(join(ROOT, 'node_modules', name))) {
        if (!existsSync(join(nm, name, sub))) symlinkSync(join(ROOT, 'node_modules', name, sub), join(nm, name, sub));
      }
    } else if (!existsSync(join(nm, name))) {
      symlinkSync(join(ROOT, 'node_modules', name), join(nm, name));
    }
  }
  return { tarball, files: info[0]!.files.map((f) => f.path) };
}

/**
 * The app every consumer runs, as an ES module or CommonJS: an int8 linear layer on an
 * engine per requested thread count, and a hash of its output (every build and every
 * thread count gives the same bits).
 */
export function appSource(format: 'esm' | 'cjs'): string {
  const body = `
function fill(a, lo, hi, seed) {
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return a;
}

async function runAll(Qwasm, threadCounts, options = {}) {
  const result = { runs: [] };
  if (typeof crossOriginIsolated === 'boolean') result.isolated = crossOriginIsolated;
  try {
    for (const asked of threadCounts) {
      const qw = await Qwasm.create({ ...options, threads: asked });
      const [M, K, N] = [96, 256, 320];
      const layer = qw.linear({
        weights: { data: fill(new Int8Array(N * K), -127, 127, 3), shape: [N, K] },
        weightScale: 0.01,
        input: { scale: 0.02, zeroPoint: 1 },
        output: { scale: 0.3, zeroPoint: -2 },
      });
      const x = fill(new Int8Array(M * K), -128, 127, 5);
      const y = layer.run(x);
      const z = await layer.runAsync(x);
      let hash = 0;
      for (let i = 0; i < y.length; i++) hash = (Math.imul(hash, 31) + y[i] + (y[i] === z[i] ? 0 : 7777)) | 0;
      result.runs.push({ asked, threads: qw.threads, backend: qw.backend, hash });
      layer.dispose();
      qw.dispose();
    }
  } catch (e) {
    result.error = String((e && e.message) || e);
  }
  return result;
}
`;
  return format === 'esm' ? `${body}\nexport { runAll };\n` : `${body}\nmodule.exports = { runAll };\n`;
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
  '.css': 'text/css',
  '.json': 'application/json',
  '.map': 'application/json',
};
export const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * A static file server over `dir`, cross-origin isolated (COOP / COEP headers) or not;
 * with `spa`, a missing file is answered with index.html, as single-page-app hosts do.
 */
export async function serveStatic(
  dir: string,
  isolated: boolean,
  spa = false,
): Promise<{ base: string; close(): Promise<void> }> {
  const headers = isolated ? ISOLATION : {};
  const server: Server = createServer(async (req, res) => {
    let path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir)) {
      res.writeHead(403, headers).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', ...headers });
      res.end(body);
    } catch {
      if (spa)
        res.writeHead(200, { 'Content-Type': 'text/html', ...headers }).end(await readFile(join(dir, 'index.html')));
      else res.writeHead(404, headers).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Opens `url`, waits for the app's `window.__qwasm`, and returns it with the console's warnings and errors. */
export async function openPage(
  browser: Browser,
  url: string,
): Promise<{ result: AppResult; warnings: string[]; errors: string[] }> {
  const page = await browser.newPage();
  const warnings: string[] = [];
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'warning') warnings.push(m.text());
    // a failed request is reported below with its URL
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (res) => {
    if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) errors.push(`HTTP ${res.status()} ${res.url()}`);
  });
  try {
    await page.goto(url);
    await page
      .waitForFunction(() => (window as unknown as { __qwasm?: unknown }).__qwasm !== undefined, undefined, {
        timeout: 60_000,
      })
      .catch((e: Error) => {
        throw new Error(`${url}: ${e.message}; page errors: ${errors.join(' | ')}`);
      });
    const result = await page.evaluate(() => (window as unknown as { __qwasm: AppResult }).__qwasm);
    return { result, warnings, errors };
  } finally {
    await page.close();
  }
}

/** The browser entry of every bundled consumer: runs the app on 1 and 2 threads, publishes the result. */
export function browserEntry(specifier: string): string {
  return `import { Qwasm } from '${specifier}';
import { runAll } from './app.js';
runAll(Qwasm, [1, 2]).then((r) => {
  window.__qwasm = r;
});
`;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof addr === 'object' && addr !== null ? addr.port : 0;
}

/**
 * Starts a server process, GETs `url` once it answers (within `timeoutMs`), stops the
 * process and returns the body with what the process printed.
 */
export async function fetchFromServer(
  cmd: string,
  args: string[],
  cwd: string,
  url: string,
  timeoutMs = 30_000,
): Promise<{ body: string; log: string }> {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const until = performance.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(url);
        return { body: await res.text(), log };
      } catch (e) {
        if (performance.now() > until || child.exitCode !== null) throw new Error(`${url}: ${String(e)}\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    child.kill();
    await exited;
  }
}
