// Shared benchmark plumbing: every suite measures cases with benny (benchmark.js
// underneath: median of the samples, in seconds per call), groups the cases that
// belong to one comparison, and reports ratios of two cases measured in the same run.
// Results go to bench/results/<suite>.json and bench/results/<suite>.md.
import b from 'benny';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { supportedBackends } from '../dist/index.js';

/** Case options: short, because this machine is shared; medians keep it honest. */
export const CASE_OPTIONS = { maxTime: Number(process.env.BENCH_MAX_TIME ?? 0.6), minSamples: 5 };

/**
 * Measures `cases` ({ name: fn }) with benny and returns { name: medianSecondsPerCall }.
 * Cases run in the order given; each fn must do one whole call of the thing measured.
 */
export async function measure(title, cases) {
  const out = {};
  const adds = Object.entries(cases).map(([name, fn]) => b.add(name, fn, CASE_OPTIONS));
  const summary = await b.suite(
    title,
    ...adds,
    b.cycle(() => undefined),
    b.complete(() => undefined),
  );
  for (const r of summary.results) out[r.name] = r.details.median;
  return out;
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `measureOnce` (returning { name: seconds }) `runs` times; per-case median seconds. */
export async function repeat(runs, measureOnce) {
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await measureOnce(i));
  const names = Object.keys(all[0]);
  const med = {};
  for (const n of names) med[n] = median(all.map((r) => r[n]));
  return { median: med, runs: all };
}

/**
 * Times `cases` ({ name: fn }) in `rounds` interleaved rounds (the order reversed every
 * other round), each case a chunk of calls of about `chunkMs`, by this process's CPU time
 * (user + system), which other processes on a loaded machine do not inflate the way they
 * inflate wall time. Returns what `repeat` returns: per-case medians and every round, so
 * `speedup` gives the median of per-round ratios.
 */
export function measureInterleaved(cases, { rounds = 15, chunkMs = 20 } = {}) {
  const names = Object.keys(cases);
  const reps = {};
  for (const n of names) {
    for (let i = 0; i < 3; i++) cases[n]();
    const t0 = performance.now();
    let k = 0;
    while (performance.now() - t0 < chunkMs) {
      cases[n]();
      k++;
    }
    reps[n] = Math.max(1, k);
  }
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    const run = {};
    for (const n of r % 2 ? [...names].reverse() : names) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < reps[n]; i++) cases[n]();
      const c = process.cpuUsage(c0);
      run[n] = (c.user + c.system) / 1e6 / reps[n];
    }
    runs.push(run);
  }
  const med = {};
  for (const n of names) med[n] = median(runs.map((x) => x[n]));
  return { median: med, runs };
}

/**
 * measureInterleaved for cases that may return a promise (onnxruntime-web's session.run):
 * every call is awaited before the next, so its CPU time lands in its own chunk. Under
 * `node --expose-gc` the heap is collected before each chunk, outside the timing, so the
 * garbage one case leaves (a float32 path's big arrays) is not collected on the next case's
 * time; each case still pays for the collections its own allocations set off.
 */
export async function measureInterleavedAsync(cases, { rounds = 15, chunkMs = 20 } = {}) {
  const names = Object.keys(cases);
  const reps = {};
  for (const n of names) {
    for (let i = 0; i < 3; i++) await cases[n]();
    const t0 = performance.now();
    let k = 0;
    while (performance.now() - t0 < chunkMs) {
      await cases[n]();
      k++;
    }
    reps[n] = Math.max(1, k);
  }
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    const run = {};
    for (const n of r % 2 ? [...names].reverse() : names) {
      globalThis.gc?.();
      const c0 = process.cpuUsage();
      for (let i = 0; i < reps[n]; i++) await cases[n]();
      const c = process.cpuUsage(c0);
      run[n] = (c.user + c.system) / 1e6 / reps[n];
    }
    runs.push(run);
  }
  const med = {};
  for (const n of names) med[n] = median(runs.map((x) => x[n]));
  return { median: med, runs };
}

/** Median over runs of the per-run ratio a / b (time of b over time of a = speedup of a). */
export function speedup(result, fast, slow) {
  return median(result.runs.map((r) => r[slow] / r[fast]));
}

export function machine() {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    date: new Date().toISOString(),
  };
}

/** Writes bench/results/<suite>.json and .md (a markdown table from `rows`). */
export function save(suite, data, columns, rows, notes = []) {
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const info = machine();
  writeFileSync(
    new URL(`./results/${suite}.json`, import.meta.url),
    JSON.stringify({ suite, ...info, ...data }, null, 2) + '\n',
  );
  const lines = [
    `# ${suite}`,
    '',
    `${info.cpu}, ${info.cores} cores, Node ${info.node}, ${info.date.slice(0, 10)}; single thread, median of runs.`,
    '',
  ];
  lines.push(`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`);
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  if (notes.length) lines.push('', ...notes);
  writeFileSync(new URL(`./results/${suite}.md`, import.meta.url), lines.join('\n') + '\n');
  console.log(lines.join('\n'));
}

/**
 * The builds named by `--builds a,b` (or `fallback`) that this host runs, in that order.
 * @param {string | undefined} named
 * @param {import('../dist/index.js').Backend[]} fallback
 * @returns {Promise<import('../dist/index.js').Backend[]>}
 */
export async function buildsToRun(named, fallback) {
  const supported = await supportedBackends();
  const wanted = named ? String(named).split(',') : fallback;
  return supported.filter((b) => wanted.includes(b)).sort((x, y) => wanted.indexOf(x) - wanted.indexOf(y));
}

/**
 * Parses `--name value` and `--flag` arguments over `defaults`.
 * @param {Record<string, any>} [defaults]
 * @returns {Record<string, any>}
 */
export function args(defaults = {}) {
  const out = { ...defaults };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (!a[i].startsWith('--')) continue;
    const k = a[i].slice(2);
    const v = a[i + 1];
    if (v === undefined || v.startsWith('--')) out[k] = true;
    else {
      out[k] = v;
      i++;
    }
  }
  return out;
}

export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/**
 * Fills `out` with deterministic integers in [lo, hi] from a small LCG (the same sequence
 * for the same seed) and returns it.
 * @template {Int8Array | Int32Array} T
 * @param {T} out
 * @param {number} seed
 * @param {number} lo
 * @param {number} hi
 * @returns {T}
 */
function seeded(out, seed, lo, hi) {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return out;
}

/** Deterministic integers in [lo, hi] (an Int32Array of n). */
export const ints = (n, seed, lo, hi) => seeded(new Int32Array(n), seed, lo, hi);

/** Deterministic int8 codes in [lo, hi] (an Int8Array of n). */
export const codes = (n, seed, lo = -128, hi = 127) => seeded(new Int8Array(n), seed, lo, hi);
