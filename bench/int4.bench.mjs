// Int4 weights and the 2-stage residual linear, per build.
//  1. `linear` with int4 weights (per channel, per group of 128) against int8 weights on
//     the memory-bound one-token shape and a 128-row batch: time and weight bytes.
//  2. `linearResidual` (two int8 GEMMs sharing an int16 input) against `linearF32` and
//     the int8 `dynamicLinear`: time, and error against a float64 reference next to the
//     error float16 rounding of inputs and weights would give.
// Usage: node bench/int4.bench.mjs [--runs 3] [--builds relaxed,simd]
//   (Node 24, where the relaxed build runs: scripts/node24.sh bench/int4.bench.mjs)
import { Qwasm, packInt4 } from '../dist/index.js';
import { args, buildsToRun, fmt, measure, repeat, save, speedup } from './lib.mjs';

const opts = args({ runs: 3 });
const runs = Number(opts.runs);
const builds = await buildsToRun(opts.builds, ['relaxed', 'simd']);
const nodeTag = `node${process.versions.node.split('.')[0]}`;

/** Seeded uniform integers in [lo, hi] (an LCG: the data only has to be reproducible). */
function randInt(n, lo, hi, T, seed = 12345) {
  const a = new T(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return a;
}

function randFloat(n, seed) {
  const q = randInt(n, 0, 2 ** 23, Int32Array, seed);
  return Float32Array.from(q, (v) => v / 2 ** 22 - 1);
}

// ---------------------------------------------------------------- int4 vs int8 linear
const INT4_SHAPES = [
  [1, 4096, 4096],
  [128, 4096, 4096],
];
const rows4 = [];
const results4 = [];
for (const [M, K, N] of INT4_SHAPES) {
  const w8 = randInt(N * K, -127, 127, Int8Array, 1);
  const w4 = packInt4(randInt(N * K, -8, 7, Int8Array, 2), [N, K]);
  const x = randInt(M * K, -128, 127, Int8Array, 3);
  const chScale = new Float32Array(N).fill(0.01);
  const grScale = new Float32Array(N * (K / 128)).fill(0.01);
  const io = { input: { scale: 0.02, zeroPoint: 0 }, output: { scale: 0.5, zeroPoint: 0 } };
  const L = {};
  for (const b of builds) {
    const qw = await Qwasm.create({ backend: b });
    L[b] = {
      qw,
      int8: qw.linear({ weights: { data: w8, shape: [N, K] }, weightScale: chScale, ...io }),
      int4: qw.linear({ weightBits: 4, weights: { data: w4, shape: [N, K] }, weightScale: chScale, ...io }),
      int4g: qw.linear({
        weightBits: 4,
        weights: { data: w4, shape: [N, K] },
        weightScale: grScale,
        groupSize: 128,
        ...io,
      }),
      out: new Int8Array(M * N),
    };
  }
  const res = await repeat(runs, () => {
    const cases = {};
    for (const b of builds) {
      const l = L[b];
      cases[`${b} int8`] = () => l.int8.run(x, l.out);
      cases[`${b} int4`] = () => l.int4.run(x, l.out);
      cases[`${b} int4 g128`] = () => l.int4g.run(x, l.out);
    }
    return measure(`int4 ${M}x${K}x${N}`, cases);
  });
  for (const b of builds) {
    const l = L[b];
    const ms = (n) => res.median[`${b} ${n}`] * 1e3;
    const row = {
      shape: `${M}x${K}x${N}`,
      build: b,
      int8Ms: ms('int8'),
      int4Ms: ms('int4'),
      int4g128Ms: ms('int4 g128'),
      int4VsInt8: speedup(res, `${b} int4`, `${b} int8`),
      int4g128VsInt8: speedup(res, `${b} int4 g128`, `${b} int8`),
      int8Bytes: N * K,
      int8LayerBytes: l.int8.packedBytes,
      int4Bytes: l.int4.packedBytes,
    };
    results4.push(row);
    rows4.push([
      row.shape,
      b,
      fmt(row.int8Ms, 2),
      fmt(row.int4Ms, 2),
      fmt(row.int4g128Ms, 2),
      fmt(row.int4VsInt8, 2) + 'x',
      fmt(row.int4g128VsInt8, 2) + 'x',
      `${fmt(row.int4Bytes / 2 ** 20, 1)} / ${fmt(row.int8Bytes / 2 ** 20, 1)} / ${fmt(row.int8LayerBytes / 2 ** 20, 1)}`,
    ]);
    l.int8.dispose();
    l.int4.dispose();
    l.int4g.dispose();
    l.qw.dispose();
  }
}
save(
  `int4-${nodeTag}`,
  { runs, results: results4 },
  [
    'M x K x N',
    'build',
    'int8 ms',
    'int4 ms',
    'int4 g128 ms',
    'int4 speed vs int8',
    'int4 g128 speed vs int8',
    'weight MiB: int4 / int8 / int8 layer',
  ],
  rows4,
  [
    'One `run` each (copy in, widen activations, GEMM with fused fp32 requantization, copy out); int8 = `linear` with int8 weights, int4 = `linear({ weightBits: 4 })` per output channel, g128 = per group of 128 along K.',
    'Speed ratios are medians of per-run ratios of int8 time over int4 time (above 1: int4 is faster).',
    'Weight MiB: the int4 layer holds N*K/2 bytes; int8 weights are N*K bytes as given, and the int8 layer keeps them widened to int16 panels (plus int8 k-quads for one-row inputs on first use).',
  ],
);

// ------------------------------------------------------- residual linear vs float32
function f16round(x) {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const q = 2 ** (Math.max(e, -14) - 10);
  const v = a / q;
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  return Math.sign(x) * r * q;
}

function exact(x, w, M, N, K) {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      const xo = m * K;
      const wo = n * K;
      for (let k = 0; k < K; k++) s += x[xo + k] * w[wo + k];
      y[m * N + n] = s;
    }
  return y;
}

function relErr(y, ref) {
  let e = 0;
  let r = 0;
  for (let i = 0; i < ref.length; i++) {
    e += (y[i] - ref[i]) ** 2;
    r += ref[i] ** 2;
  }
  return Math.sqrt(e / r);
}

const RES_SHAPES = [
  [1, 4096, 4096],
  [128, 1024, 1024],
];
const rowsR = [];
const resultsR = [];
for (const [M, K, N] of RES_SHAPES) {
  const w = randFloat(N * K, 4);
  const x = randFloat(M * K, 5);
  const ref = exact(x, w, M, N, K);
  const errF16 = relErr(exact(x.map(f16round), w.map(f16round), M, N, K), ref);
  const L = {};
  const err = {};
  for (const b of builds) {
    const qw = await Qwasm.create({ backend: b });
    const l = {
      qw,
      f32: qw.linearF32({ weights: { data: w, shape: [N, K] } }),
      res: qw.linearResidual({ weights: { data: w, shape: [N, K] } }),
      dyn: qw.dynamicLinear({ weights: { data: w, shape: [N, K] } }),
      out: new Float32Array(M * N),
    };
    L[b] = l;
    err[b] = { f32: relErr(l.f32.run(x), ref), res: relErr(l.res.run(x), ref), dyn: relErr(l.dyn.run(x), ref) };
  }
  const res = await repeat(runs, () => {
    const cases = {};
    for (const b of builds) {
      const l = L[b];
      cases[`${b} f32`] = () => l.f32.run(x, l.out);
      cases[`${b} residual`] = () => l.res.run(x, l.out);
      cases[`${b} dynamic int8`] = () => l.dyn.run(x, l.out);
    }
    return measure(`residual ${M}x${K}x${N}`, cases);
  });
  for (const b of builds) {
    const l = L[b];
    const ms = (n) => res.median[`${b} ${n}`] * 1e3;
    const row = {
      shape: `${M}x${K}x${N}`,
      build: b,
      f32Ms: ms('f32'),
      residualMs: ms('residual'),
      dynamicInt8Ms: ms('dynamic int8'),
      residualCostVsF32: 1 / speedup(res, `${b} residual`, `${b} f32`),
      errF32: err[b].f32,
      errResidual: err[b].res,
      errDynamicInt8: err[b].dyn,
      errF16Rounding: errF16,
      residualVsF16: err[b].res / errF16,
    };
    resultsR.push(row);
    rowsR.push([
      row.shape,
      b,
      fmt(row.f32Ms, 2),
      fmt(row.residualMs, 2),
      fmt(row.dynamicInt8Ms, 2),
      fmt(row.residualCostVsF32, 2) + 'x',
      row.errResidual.toExponential(2),
      row.errF16Rounding.toExponential(2),
      fmt(row.residualVsF16, 2) + 'x',
      row.errF32.toExponential(2),
      row.errDynamicInt8.toExponential(2),
    ]);
    l.f32.dispose();
    l.res.dispose();
    l.dyn.dispose();
    l.qw.dispose();
  }
}
save(
  `residual-${nodeTag}`,
  { runs, results: resultsR },
  [
    'M x K x N',
    'build',
    'f32 ms',
    'residual ms',
    'dyn int8 ms',
    'residual time / f32',
    'residual err',
    'fp16 rounding err',
    'residual / fp16',
    'f32 err',
    'dyn int8 err',
  ],
  rowsR,
  [
    'Errors are relative RMS errors ||y - y64|| / ||y64|| against a float64 product of the same float32 inputs and weights (uniform in [-1, 1], seeded).',
    '"fp16 rounding err": inputs and weights rounded to float16, products accumulated exactly: what float16 storage alone costs.',
    'residual = `linearResidual` (weights as two int8 stages per output channel, input as int16 per row); dyn int8 = `dynamicLinear` (int8 weights per channel, uint8 input per call).',
  ],
);
