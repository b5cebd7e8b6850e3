// The binary GEMM register tiles themselves, shipped against candidates, in one run:
// the shipped tiles of assembly/binary/ukernels.generated.ts and the carry-save
// (Harley-Seal) tiles of bench/binary-kernels/variants.mjs, compiled here with asc into a
// temporary module and driven over the same records and weight panels as bgemm (without
// its epilogue). Every tile's popcounts are checked against a scalar reference first.
// Usage:
//   node bench/binary-kernels.bench.mjs [--runs 7] [--builds simd,relaxed] [--tiles 4x2__simd_csa2]
//   scripts/node24.sh bench/binary-kernels.bench.mjs      (adds the relaxed build)
// Writes bench/results/binary-kernels-node<major>.{json,md}.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, buildsToRun, fmt, median, save } from './lib.mjs';
import { csaTile, helpers } from './binary-kernels/variants.mjs';

const opts = args({ runs: 7 });
/** --tiles csa2,4x2: only the candidate tiles whose names contain one of these (and the shipped ones). */
const only = opts.tiles ? String(opts.tiles).split(',') : null;
const here = path.dirname(fileURLToPath(import.meta.url));
const asc = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');

/** Row blocks of the driver: a multiple of every tile height. */
const MC = 24;
const SHAPES = [
  { label: 'GEMM 120x4096x1024', M: 120, T: 2, Cv: 16, N: 1024 },
  { label: 'conv-like 3120 px, 3 taps x 6 chunks (256 ch 3x3) -> 256', M: 3120, T: 3, Cv: 6, N: 256 },
];

const candidates = [csaTile(2, 2), csaTile(3, 2), csaTile(4, 2), csaTile(2, 4)];
const BUILDS = {
  simd: { enable: ['simd'], shipped: [{ name: 'bgemm_4x2__simd_popcnt', mr: 4, chunk: 16 }] },
  relaxed: {
    enable: ['simd', 'relaxed-simd'],
    shipped: [
      { name: 'bgemm_2x2__relaxed_nibble', mr: 2, chunk: 32 },
      { name: 'bgemm_4x2__simd_popcnt', mr: 4, chunk: 16 },
    ],
  },
};

/** Compiles the tiles of one build into a module with a driver `run(v, ...)`. */
function compile(build, dir) {
  const b = BUILDS[build];
  const generated = path.relative(dir, path.join(here, '../assembly/binary/ukernels.generated'));
  const tiles = [
    ...b.shipped.map((t, q) => ({ ...t, shipped: q === 0 })),
    ...candidates.map((t) => ({ ...t, chunk: 16 })),
  ];
  const src = [
    `import { ${b.shipped.map((t) => t.name).join(', ')} } from '${generated.split(path.sep).join('/')}';`,
    helpers,
    ...candidates.map((t) => t.source),
    'const tile = memory.data(64, 16);',
    'export function run(v: i32, mr: i32, rec: usize, M: i32, T: i32, Cv: i32, w: usize, panelBytes: i32, N: i32, out: usize): void {',
    '  const rs = <usize>(T + 1) << 2;',
    `  for (let m0 = 0; m0 < M; m0 += ${MC}) {`,
    '    for (let p = 0; p < N / 2; p++) {',
    '      const wp = w + <usize>p * panelBytes;',
    `      for (let m = m0; m < m0 + ${MC}; m += mr) {`,
    '        const r = rec + <usize>m * rs;',
    ...tiles.map((t, q) => `        ${q ? 'else ' : ''}if (v == ${q}) ${t.name}(r, rs, T, Cv, wp, tile);`),
    '        for (let i = 0; i < mr; i++) {',
    '          const o = out + ((<usize>(m + i) * N + p * 2) << 2);',
    '          store<u64>(o, load<u64>(tile + (<usize>i << 3)));',
    '        }',
    '      }',
    '    }',
    '  }',
    '}',
  ].join('\n');
  const entry = path.join(dir, `${build}.ts`);
  writeFileSync(entry, src);
  const out = path.join(dir, `${build}.wasm`);
  const enable = b.enable.flatMap((e) => ['--enable', e]);
  execFileSync(
    process.execPath,
    [asc, entry, ...enable, '-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '-o', out],
    {
      stdio: 'inherit',
    },
  );
  return { bytes: readFileSync(out), tiles };
}

/** Deterministic bytes. */
function bytes(n, seed) {
  const a = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = s >>> 24;
  }
  return a;
}

const POP = new Uint8Array(256).map(
  (_, i) =>
    (i & 1) +
    (i & 2 ? 1 : 0) +
    (i & 4 ? 1 : 0) +
    (i & 8 ? 1 : 0) +
    (i & 16 ? 1 : 0) +
    (i & 32 ? 1 : 0) +
    (i & 64 ? 1 : 0) +
    (i & 128 ? 1 : 0),
);

/** Bytes of one layout of a shape (records, rows, weights, output). */
function regionBytes(sh, chunk) {
  const K = sh.T * sh.Cv;
  return sh.M * (sh.T + 1) * 4 + (sh.M + sh.N) * K * chunk + sh.M * sh.N * 4 + 256;
}

/** Rows (M x T*Cv chunks) and weights (N x T*Cv chunks) laid out for a chunk size, records included. */
function layout(mem, sh, chunk, x, wts) {
  const u8 = new Uint8Array(mem.buffer);
  const K = sh.T * sh.Cv;
  const rowBytes = K * chunk;
  // the 32-byte layout after the largest 16-byte one
  const rec = (1 << 16) + (chunk === 16 ? 0 : regionBytes(sh, 16));
  const rs = (sh.T + 1) * 4;
  const xa = rec + sh.M * rs + 64;
  const wa = xa + sh.M * rowBytes + 64;
  const out = wa + sh.N * rowBytes + 64;
  const put = (dst, src) => {
    if (chunk === 16) u8.set(src, dst);
    else {
      // nibble-split: low nibbles, then high nibbles (assembly/binary/layout.ts)
      for (let i = 0; i < 16; i++) {
        u8[dst + i] = src[i] & 15;
        u8[dst + 16 + i] = src[i] >> 4;
      }
    }
  };
  const dv = new DataView(mem.buffer);
  for (let m = 0; m < sh.M; m++) {
    dv.setUint32(rec + m * rs, 0, true);
    for (let t = 0; t < sh.T; t++) dv.setUint32(rec + m * rs + 4 + 4 * t, xa + m * rowBytes + t * sh.Cv * chunk, true);
    for (let c = 0; c < K; c++) put(xa + m * rowBytes + c * chunk, x.subarray((m * K + c) * 16, (m * K + c + 1) * 16));
  }
  // panel p: for each chunk c, the 2 columns' chunks side by side
  for (let n = 0; n < sh.N; n++)
    for (let c = 0; c < K; c++)
      put(
        wa + (n >> 1) * K * 2 * chunk + (c * 2 + (n & 1)) * chunk,
        wts.subarray((n * K + c) * 16, (n * K + c + 1) * 16),
      );
  return { rec, w: wa, out, panelBytes: K * 2 * chunk };
}

const builds = await buildsToRun(opts.builds, ['simd', 'relaxed']);
const dir = mkdtempSync(path.join(os.tmpdir(), 'qwasm-binary-kernels-'));
const rows = [];
const results = [];
try {
  for (const build of builds) {
    const { bytes: wasm, tiles } = compile(build, dir);
    for (const sh of SHAPES) {
      const K = sh.T * sh.Cv;
      const x = bytes(sh.M * K * 16, 1);
      const wts = bytes(sh.N * K * 16, 2);
      const need = (1 << 16) + regionBytes(sh, 16) + regionBytes(sh, 32);
      const mem = new WebAssembly.Memory({ initial: Math.ceil(need / 65536) });
      const { instance } = await WebAssembly.instantiate(wasm, { env: { memory: mem, abort: () => undefined } });
      const run = /** @type {(...a: number[]) => void} */ (instance.exports.run);
      const layouts = {};
      const cases = {};
      tiles.forEach((t, q) => {
        if (t.group && sh.Cv % t.group !== 0) return;
        if (only && !t.shipped && !only.some((o) => t.name.includes(o))) return;
        const l = (layouts[t.chunk] ??= layout(mem, sh, t.chunk, x, wts));
        cases[t.name] = () => run(q, t.mr, l.rec, sh.M, sh.T, sh.Cv, l.w, l.panelBytes, sh.N, l.out);
        // exactness on a sample of outputs
        new Int32Array(mem.buffer, l.out, sh.M * sh.N).fill(-1);
        cases[t.name]();
        const o = new Int32Array(mem.buffer, l.out, sh.M * sh.N);
        for (let m = 0; m < sh.M; m += 7)
          for (let n = m % 5; n < sh.N; n += 13) {
            let c = 0;
            for (let b = 0; b < K * 16; b++) c += POP[x[m * K * 16 + b] ^ wts[n * K * 16 + b]];
            if (o[m * sh.N + n] !== c)
              throw new Error(`${build} ${t.name} ${sh.label}: (${m}, ${n}) = ${o[m * sh.N + n]}, expected ${c}`);
          }
      });
      const shipped = tiles.find((t) => t.shipped).name;
      const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
      const ratios = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
      for (let r = 0; r < Number(opts.runs); r++) {
        const run1 = {};
        for (const [k, f] of Object.entries(cases)) {
          f();
          let it = 0;
          const t0 = performance.now();
          while (performance.now() - t0 < 40) {
            f();
            it++;
          }
          run1[k] = (performance.now() - t0) / it;
          times[k].push(run1[k]);
        }
        for (const k in cases) ratios[k].push(run1[shipped] / run1[k]);
      }
      const bitMacs = sh.M * sh.N * K * 128;
      for (const k in cases) {
        const ms = median(times[k]);
        const row = {
          build,
          shape: sh.label,
          tile: k,
          shipped: k === shipped,
          ms,
          gbitmacs: bitMacs / ms / 1e6,
          vsShipped: median(ratios[k]),
        };
        results.push(row);
        rows.push([
          build,
          sh.label,
          k + (row.shipped ? ' (shipped)' : ''),
          fmt(ms, 3),
          fmt(row.gbitmacs, 0),
          `${fmt(row.vsShipped, 2)}x`,
        ]);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const major = process.versions.node.split('.')[0];
save(
  `binary-kernels-node${major}`,
  { runs: Number(opts.runs), results },
  ['build', 'shape (records x taps x chunks -> columns)', 'tile', 'ms', 'G bit-MAC/s', 'vs shipped tile'],
  rows,
  [
    'Register tiles only: records and weight panels as bgemm lays them out, popcounts stored, no epilogue. Each tile is checked',
    'against a scalar reference before it is timed. "vs shipped" is the median over runs of the per-run ratio against the tile the',
    'build ships (simd: 4x2 i8x16.popcnt; relaxed: 2x2 nibble-split lookups). csa2 / csa4: carry-save adder tiles',
    '(bench/binary-kernels/variants.mjs), which popcount once per 2 / 4 chunks.',
  ],
);
