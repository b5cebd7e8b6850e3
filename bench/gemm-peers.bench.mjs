// GEMM against the peers, single thread, in one run: qwasm `linear` (int8 and uint8
// activations) and `linearF32` vs onnxruntime-web MatMulInteger (u8 x s8 and s8 x s8) and
// QLinearMatMul, and tfjs-backend-wasm's float32 matMul. Usage:
//   node bench/gemm-peers.bench.mjs [--runs 3] [--shapes 1x768x768,...]
import { Qwasm } from '../dist/index.js';
import { args, fmt, measure, repeat, save, speedup } from './lib.mjs';
import { loadOrt, loadTfjs, ortMatMulSession, versions } from './peers/engines.mjs';

const opts = args({ runs: 3 });
const SHAPES = (opts.shapes ?? '1x768x768,128x768x768,128x768x3072,512x512x512')
  .split(',')
  .map((s) => s.split('x').map(Number));
const ort = await loadOrt();
const tf = await loadTfjs();
const qw = await Qwasm.create();

function fill(a, lo, hi) {
  let s = 7;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return a;
}

const rows = [];
const results = [];
for (const [M, K, N] of SHAPES) {
  const ops = 2 * M * N * K;
  const w = fill(new Int8Array(N * K), -127, 127);
  const wKN = new Int8Array(K * N);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wKN[k * N + n] = w[n * K + k];
  const xs = fill(new Int8Array(M * K), -128, 127);
  const xu = fill(new Uint8Array(M * K), 0, 255);
  const wf = Float32Array.from(w, (v) => v / 127);
  const xf = Float32Array.from(xs, (v) => v / 128);
  const common = { weights: { data: w, shape: [N, K] }, weightScale: 0.01, output: { scale: 0.5, zeroPoint: 0 } };
  const s8 = qw.linear({ ...common, input: { scale: 0.02, zeroPoint: 0, dtype: 'int8' } });
  const u8 = qw.linear({ ...common, input: { scale: 0.02, zeroPoint: 128, dtype: 'uint8' } });
  const f32 = qw.linearF32({ weights: { data: wf, shape: [N, K] } });
  const o8 = new Int8Array(M * N);
  const ou8 = new Uint8Array(M * N);
  const of = new Float32Array(M * N);
  const cases = {
    'qwasm linear s8': () => s8.run(xs, o8),
    'qwasm linear u8': () => u8.run(xu, ou8),
    'qwasm linearF32': () => f32.run(xf, of),
  };
  if (ort) {
    const mu = await ortMatMulSession(ort, 'MatMulInteger', 'uint8', wKN, M, K, N);
    const ms = await ortMatMulSession(ort, 'MatMulInteger', 'int8', wKN, M, K, N);
    const qu = await ortMatMulSession(ort, 'QLinearMatMul', 'uint8', wKN, M, K, N);
    const tu = new ort.Tensor('uint8', xu, [M, K]);
    const ts = new ort.Tensor('int8', xs, [M, K]);
    cases['ort-web MatMulInteger u8s8'] = () => mu.run({ a: tu });
    cases['ort-web MatMulInteger s8s8'] = () => ms.run({ a: ts });
    cases['ort-web QLinearMatMul u8'] = () => qu.run({ a: tu });
  }
  if (tf) {
    const a = tf.tensor2d(xf, [M, K]);
    const b = tf.tensor2d(
      Float32Array.from(wKN, (v) => v / 127),
      [K, N],
    );
    cases['tfjs-wasm matMul f32'] = () => {
      const y = tf.matMul(a, b);
      y.dataSync();
      y.dispose();
    };
  }
  const res = await repeat(Number(opts.runs), () => measure(`${M}x${K}x${N}`, cases));
  const gops = Object.fromEntries(Object.entries(res.median).map(([k, t]) => [k, ops / t / 1e9]));
  const ortBest = ort
    ? ['ort-web MatMulInteger u8s8', 'ort-web QLinearMatMul u8'].reduce((a, b) => (gops[a] > gops[b] ? a : b))
    : null;
  const row = {
    shape: `${M}x${K}x${N}`,
    gops,
    s8VsOrtBest: ortBest ? speedup(res, 'qwasm linear s8', ortBest) : null,
    u8VsOrtBest: ortBest ? speedup(res, 'qwasm linear u8', ortBest) : null,
    f32VsTfjs: tf ? speedup(res, 'qwasm linearF32', 'tfjs-wasm matMul f32') : null,
    ortBest,
  };
  results.push(row);
  rows.push([
    row.shape,
    fmt(gops['qwasm linear s8']),
    fmt(gops['qwasm linear u8']),
    fmt(gops['ort-web MatMulInteger u8s8']),
    fmt(gops['ort-web MatMulInteger s8s8']),
    fmt(gops['ort-web QLinearMatMul u8']),
    row.s8VsOrtBest ? fmt(row.s8VsOrtBest, 2) + 'x' : '-',
    row.u8VsOrtBest ? fmt(row.u8VsOrtBest, 2) + 'x' : '-',
    fmt(gops['qwasm linearF32']),
    fmt(gops['tfjs-wasm matMul f32']),
    row.f32VsTfjs ? fmt(row.f32VsTfjs, 2) + 'x' : '-',
  ]);
  s8.dispose();
  u8.dispose();
  f32.dispose();
}
save(
  `gemm-peers-node${process.versions.node.split('.')[0]}`,
  { runs: Number(opts.runs), backend: qw.backend, peers: versions(), results },
  [
    'M x K x N',
    'qwasm s8',
    'qwasm u8',
    'ort u8s8',
    'ort s8s8',
    'ort QLinear u8',
    's8 / ort best',
    'u8 / ort best',
    'qwasm f32',
    'tfjs f32',
    'f32 / tfjs',
  ],
  rows,
  [
    `qwasm build: ${qw.backend}. Int8 columns in GOPS (2*M*N*K per call), float columns in GFLOP/s; every call includes input copy-in and output copy-out on all engines.`,
    'Ratios are medians of per-run ratios of times measured in the same run.',
  ],
);
