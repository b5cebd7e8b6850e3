// Binary (XNOR-popcount) layers against the float32 and int8 layers of the same shape,
// per build, single thread. Usage:
//   node bench/binary.bench.mjs [--rounds 15] [--builds relaxed,simd] [--only gemm|conv] [--wall [--runs 3]]
// Under Node 24 (scripts/node24.sh bench/binary.bench.mjs) the relaxed build runs too.
// Timing: interleaved rounds by CPU time (bench/lib.mjs measureInterleaved), ratios the
// median of per-round ratios, which a loaded shared machine blurs far less than wall time;
// --wall times with benny instead (BENCH_MAX_TIME seconds per case, --runs of it).
//
// Every case is one whole call with preallocated outputs: copy in, kernel, epilogue, copy
// out. Binary inputs are bits (what a binary layer consumes: the previous binary layer's
// 'bits' output, or qw.bitpack once); the cost of bitpacking a float32 input is listed
// separately. binaryMatMul (the op) packs its b operand on every call; binaryLinear and
// binaryConv2d hold prepacked weights, like linearF32 / linear / conv2dF32 / conv2d.
import { Qwasm } from '../dist/index.js';
import { args, buildsToRun, fmt, measure, measureInterleaved, repeat, save, speedup } from './lib.mjs';

const GEMM_SHAPES = [
  { M: 64, K: 1024, N: 1024 },
  { M: 128, K: 4096, N: 1024 },
  { M: 1, K: 4096, N: 4096 },
];
const CONV_SHAPES = [
  { H: 56, W: 56, C: 256, O: 256, k: 3 },
  { H: 14, W: 14, C: 512, O: 512, k: 3 },
];

/** Deterministic values in [-1, 1). */
function floats(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s >>> 8) / 8388608 - 1;
  }
  return a;
}

const toInt8 = (f) => Int8Array.from(f, (v) => Math.round(v * 127));

function gemmCases(qw, b, { M, K, N }) {
  const wf = floats(N * K, 1);
  const xf = floats(M * K, 2);
  const xb = qw.bitpack({ data: xf, shape: [M, K] });
  const wb = qw.bitpack({ data: wf, shape: [N, K] });
  const bl = qw.binaryLinear({ weights: { data: wf, shape: [N, K] }, scale: 'xnor' });
  const ff = qw.linearF32({ weights: { data: wf, shape: [N, K] } });
  const s8 = qw.linear({
    weights: { data: toInt8(wf), shape: [N, K] },
    weightScale: 1 / 127,
    input: { scale: 1 / 127, zeroPoint: 0 },
    output: { scale: 0.5, zeroPoint: 0 },
  });
  const x8 = toInt8(xf);
  const yb = { data: new Float32Array(M * N), shape: [M, N] };
  const yf = new Float32Array(M * N);
  const y8 = new Int8Array(M * N);
  const cases = {
    [`${b} binaryLinear`]: () => bl.run(xb, yb),
    [`${b} binaryMatMul`]: () => qw.binaryMatMul(xb, wb),
    [`${b} bitpack x`]: () => qw.bitpack({ data: xf, shape: [M, K] }),
    [`${b} linearF32`]: () => ff.run(xf, yf),
    [`${b} int8 linear`]: () => s8.run(x8, y8),
  };
  return { cases, dispose: () => [bl, ff, s8].forEach((l) => l.dispose()) };
}

function convCases(qw, b, { H, W, C, O, k }) {
  const p = (k - 1) / 2;
  const pads = [p, p, p, p];
  const wf = floats(O * k * k * C, 3);
  const xf = floats(H * W * C, 4);
  const xb = qw.bitpack({ data: xf, shape: [1, H, W, C] });
  const wb = qw.bitpack({ data: wf, shape: [O, k, k, C] });
  const weights = { data: wf, shape: [O, k, k, C] };
  const b0 = qw.binaryConv2d({ weights, pads, padValue: 0, scale: 'xnor' });
  const b1 = qw.binaryConv2d({ weights, pads, padValue: 1, scale: 'xnor' });
  const bb = qw.binaryConv2d({ weights, pads, padValue: 0, scale: 'xnor', output: 'bits' });
  const ybb = { bits: new Uint32Array(H * W * Math.ceil(O / 32)), shape: [1, H, W, O] };
  const yb0 = { data: new Float32Array(H * W * O), shape: [1, H, W, O] };
  const yb1 = { data: new Float32Array(H * W * O), shape: [1, H, W, O] };
  const cases = {
    [`${b} binaryConv2d layer pad 0`]: () => b0.run(xb, yb0),
    [`${b} binaryConv2d layer pad 1`]: () => b1.run(xb, yb1),
    [`${b} binaryConv2d layer pad 0 bits out`]: () => bb.run(xb, ybb),
    [`${b} binaryConv op pad 0`]: () => qw.binaryConv(xb, wb, { pads, padValue: 0 }),
    [`${b} bitpack x`]: () => qw.bitpack({ data: xf, shape: [1, H, W, C] }),
  };
  const layers = [b0, b1, bb];
  if (typeof qw.conv2dF32 === 'function') {
    const cf = qw.conv2dF32({ weights, pads });
    const c8 = qw.conv2d({
      weights: { data: toInt8(wf), shape: [O, k, k, C] },
      weightScale: 1 / 127,
      input: { scale: 1 / 127, zeroPoint: 0 },
      output: { scale: 0.5, zeroPoint: 0 },
      pads,
    });
    const xfT = { data: xf, shape: [1, H, W, C] };
    const x8T = { data: toInt8(xf), shape: [1, H, W, C] };
    const yf = { data: new Float32Array(H * W * O), shape: [1, H, W, O] };
    const y8 = { data: new Int8Array(H * W * O), shape: [1, H, W, O] };
    cases[`${b} conv2dF32`] = () => cf.run(xfT, yf);
    cases[`${b} int8 conv2d`] = () => c8.run(x8T, y8);
    layers.push(cf, c8);
  } else {
    // no float convolution layer on this build of the library: the same FLOPs as its
    // im2col GEMM (M = OH * OW, K = k * k * C, N = O) through linearF32 / linear
    const K = k * k * C;
    const ff = qw.linearF32({ weights: { data: floats(O * K, 5), shape: [O, K] } });
    const xcol = floats(H * W * K, 6);
    const yf = new Float32Array(H * W * O);
    cases[`${b} conv2dF32`] = () => ff.run(xcol, yf);
    layers.push(ff);
  }
  return { cases, dispose: () => layers.forEach((l) => l.dispose()) };
}

const opts = args({ runs: 3, rounds: 15, wall: false });
/** One comparison's times: { median, runs } in seconds per call. */
const time = async (label, cases) =>
  opts.wall
    ? repeat(Number(opts.runs), () => measure(label, cases))
    : measureInterleaved(cases, { rounds: Number(opts.rounds) });
const builds = await buildsToRun(opts.builds, ['relaxed', 'simd']);
const engines = {};
for (const b of builds) engines[b] = await Qwasm.create({ backend: b });
const rows = [];
const results = [];
const ms = (s) => fmt(s * 1e3, 3);

if (!opts.only || opts.only === 'gemm') {
  for (const sh of GEMM_SHAPES) {
    const made = builds.map((b) => gemmCases(engines[b], b, sh));
    const label = `binary GEMM ${sh.M}x${sh.K}x${sh.N}`;
    const res = await time(label, Object.assign({}, ...made.map((m) => m.cases)));
    for (const b of builds) {
      const t = (n) => res.median[`${b} ${n}`];
      const bitMacs = sh.M * sh.K * sh.N;
      const row = {
        shape: `${sh.M}x${sh.K}x${sh.N} (MxKxN)`,
        build: b,
        binaryLinearMs: t('binaryLinear') * 1e3,
        binaryMatMulMs: t('binaryMatMul') * 1e3,
        bitpackMs: t('bitpack x') * 1e3,
        linearF32Ms: t('linearF32') * 1e3,
        int8LinearMs: t('int8 linear') * 1e3,
        binaryGops: (2 * bitMacs) / t('binaryLinear') / 1e9,
        layerVsF32: speedup(res, `${b} binaryLinear`, `${b} linearF32`),
        layerVsInt8: speedup(res, `${b} binaryLinear`, `${b} int8 linear`),
        opVsF32: speedup(res, `${b} binaryMatMul`, `${b} linearF32`),
        opVsInt8: speedup(res, `${b} binaryMatMul`, `${b} int8 linear`),
      };
      results.push(row);
      rows.push([
        row.shape,
        b,
        ms(t('binaryLinear')),
        ms(t('binaryMatMul')),
        ms(t('linearF32')),
        ms(t('int8 linear')),
        fmt(row.binaryGops, 0),
        `${fmt(row.layerVsF32, 1)}x / ${fmt(row.opVsF32, 1)}x`,
        `${fmt(row.layerVsInt8, 1)}x / ${fmt(row.opVsInt8, 1)}x`,
        ms(t('bitpack x')),
      ]);
    }
    made.forEach((m) => m.dispose());
  }
}

const convRows = [];
if (!opts.only || opts.only === 'conv') {
  for (const sh of CONV_SHAPES) {
    const made = builds.map((b) => convCases(engines[b], b, sh));
    const label = `binary conv ${sh.H}x${sh.W}x${sh.C}->${sh.O} ${sh.k}x${sh.k}`;
    const res = await time(label, Object.assign({}, ...made.map((m) => m.cases)));
    for (const b of builds) {
      const t = (n) => res.median[`${b} ${n}`];
      const bitMacs = sh.H * sh.W * sh.O * sh.k * sh.k * sh.C;
      const has8 = `${b} int8 conv2d` in res.median;
      const row = {
        shape: `${sh.H}x${sh.W}x${sh.C}->${sh.O} ${sh.k}x${sh.k} pad 1`,
        build: b,
        pad0Ms: t('binaryConv2d layer pad 0') * 1e3,
        pad1Ms: t('binaryConv2d layer pad 1') * 1e3,
        bitsOutMs: t('binaryConv2d layer pad 0 bits out') * 1e3,
        opPad0Ms: t('binaryConv op pad 0') * 1e3,
        bitpackMs: t('bitpack x') * 1e3,
        conv2dF32Ms: t('conv2dF32') * 1e3,
        int8Conv2dMs: has8 ? t('int8 conv2d') * 1e3 : null,
        binaryGops: (2 * bitMacs) / t('binaryConv2d layer pad 0') / 1e9,
        pad0VsF32: speedup(res, `${b} binaryConv2d layer pad 0`, `${b} conv2dF32`),
        pad1VsF32: speedup(res, `${b} binaryConv2d layer pad 1`, `${b} conv2dF32`),
        pad0VsInt8: has8 ? speedup(res, `${b} binaryConv2d layer pad 0`, `${b} int8 conv2d`) : null,
        zeroPadCost: speedup(res, `${b} binaryConv2d layer pad 1`, `${b} binaryConv2d layer pad 0`) - 1,
      };
      results.push(row);
      convRows.push([
        row.shape,
        b,
        ms(t('binaryConv2d layer pad 0')),
        ms(t('binaryConv2d layer pad 1')),
        ms(t('binaryConv2d layer pad 0 bits out')),
        ms(t('binaryConv op pad 0')),
        ms(t('conv2dF32')),
        has8 ? ms(t('int8 conv2d')) : '-',
        fmt(row.binaryGops, 0),
        `${fmt(row.pad0VsF32, 1)}x / ${fmt(row.pad1VsF32, 1)}x`,
        has8 ? `${fmt(row.pad0VsInt8, 1)}x` : '-',
        `${fmt(100 * row.zeroPadCost, 1)}%`,
        ms(t('bitpack x')),
      ]);
    }
    made.forEach((m) => m.dispose());
  }
}
for (const b of builds) engines[b].dispose();

const major = process.versions.node.split('.')[0];
const convTable = [
  '',
  '| conv layer | build | binary pad 0 ms | binary pad 1 ms | pad 0, bits out ms | op pad 0 ms | conv2dF32 ms | int8 conv2d ms | binary G ops/s | vs f32 (pad 0 / pad 1) | vs int8 | zero-pad cost | bitpack x ms |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...convRows.map((r) => `| ${r.join(' | ')} |`),
];
save(
  `binary-node${major}`,
  opts.wall
    ? { timing: 'wall', runs: Number(opts.runs), maxTime: Number(process.env.BENCH_MAX_TIME ?? 0.6), results }
    : { timing: 'cpu', rounds: Number(opts.rounds), results },
  [
    'GEMM',
    'build',
    'binaryLinear ms',
    'binaryMatMul ms',
    'linearF32 ms',
    'int8 linear ms',
    'binary G ops/s',
    'vs f32 (layer / op)',
    'vs int8 (layer / op)',
    'bitpack x ms',
  ],
  rows,
  [
    ...convTable,
    '',
    'Binary ops = 2 per bit multiply-accumulate (an XNOR and a popcount add). Each time is one call into preallocated outputs:',
    'binaryLinear / binaryConv2d take bits and give float32 (acc * alpha, XNOR-Net scale); binaryMatMul also packs b every call;',
    'the binaryConv op also packs the weights. Ratios are medians of per-run ratios of times measured in the same run',
    opts.wall
      ? `(wall time, benny, ${opts.runs} runs).`
      : `(CPU time, ${opts.rounds} interleaved rounds; times are CPU ms per call).`,
    'zero-pad cost = time(pad 0) / time(pad 1) - 1. "bits out": the same layer giving sign bits, what a next binary layer takes.',
  ],
);
