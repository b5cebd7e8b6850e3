// Convolution: int8 `conv2d` vs float32 `conv2dF32`, per build, on ResNet, MobileNet and
// VGG16 layer shapes (NHWC, batch 1, single thread). Usage:
//   node bench/conv.bench.mjs [--runs 3] [--shapes r3x3-56,dw-112,...] [--builds simd,scalar]
// Under Node 24 (scripts/node24.sh bench/conv.bench.mjs) the relaxed build runs too.
// BENCH_MAX_TIME (seconds per case, default 0.6) keeps runs short on a shared machine.
import { Qwasm } from '../dist/index.js';
import { args, buildsToRun, fmt, measure, median, save, speedup } from './lib.mjs';

/** name, input H x W x C, output channels M, kernel k, stride, pad, group. */
export const CONV_SHAPES = [
  { name: 'r3x3-56', desc: 'ResNet 56x56x64->64 3x3', H: 56, W: 56, C: 64, M: 64, k: 3, s: 1, p: 1, g: 1 },
  { name: 'r3x3-28', desc: 'ResNet 28x28x128->128 3x3', H: 28, W: 28, C: 128, M: 128, k: 3, s: 1, p: 1, g: 1 },
  { name: 'r3x3-14', desc: 'ResNet 14x14x256->256 3x3', H: 14, W: 14, C: 256, M: 256, k: 3, s: 1, p: 1, g: 1 },
  { name: 'r1x1-56', desc: 'ResNet 56x56x64->256 1x1', H: 56, W: 56, C: 64, M: 256, k: 1, s: 1, p: 0, g: 1 },
  { name: 'dw-112', desc: 'MobileNet 112x112x32 dw 3x3', H: 112, W: 112, C: 32, M: 32, k: 3, s: 1, p: 1, g: 32 },
  { name: 'dw-56s2', desc: 'MobileNet 56x56x128 dw 3x3 s2', H: 56, W: 56, C: 128, M: 128, k: 3, s: 2, p: 1, g: 128 },
  { name: 'vgg-224x3', desc: 'VGG16 224x224x3->64 3x3', H: 224, W: 224, C: 3, M: 64, k: 3, s: 1, p: 1, g: 1 },
  { name: 'vgg-224x64', desc: 'VGG16 224x224x64->64 3x3', H: 224, W: 224, C: 64, M: 64, k: 3, s: 1, p: 1, g: 1 },
];

/** Output size and operation count (2 per multiply-add) of a shape. */
export function convOps(sh) {
  const OH = Math.floor((sh.H + 2 * sh.p - sh.k) / sh.s) + 1;
  const OW = Math.floor((sh.W + 2 * sh.p - sh.k) / sh.s) + 1;
  return { OH, OW, ops: 2 * OH * OW * sh.M * sh.k * sh.k * (sh.C / sh.g) };
}

/** Deterministic fill in [lo, hi]. */
export function fill(a, lo, hi, seed = 7) {
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return a;
}

/**
 * Like lib.mjs's repeat(), but runs 1..runs each sweep every item once, so a burst of
 * other work on the shared machine lands on one run of several items instead of every
 * run of one item. Returns a Map item -> { median, runs } (repeat()'s shape).
 */
export async function interleavedRuns(runs, items, measureItem) {
  const all = new Map(items.map((it) => [it, []]));
  for (let i = 0; i < runs; i++) for (const it of items) all.get(it).push(await measureItem(it));
  const out = new Map();
  for (const [it, rs] of all) {
    const med = {};
    for (const n of Object.keys(rs[0])) med[n] = median(rs.map((r) => r[n]));
    out.set(it, { median: med, runs: rs });
  }
  return out;
}

/** The int8 and float32 layers of a shape on one engine, with their inputs and outputs. */
export function convLayers(qw, sh) {
  const { OH, OW } = convOps(sh);
  const Cg = sh.C / sh.g;
  const wq = fill(new Int8Array(sh.M * sh.k * sh.k * Cg), -127, 127, 11);
  const xq = fill(new Int8Array(sh.H * sh.W * sh.C), -128, 127, 13);
  const attrs = { strides: [sh.s, sh.s], pads: [sh.p, sh.p, sh.p, sh.p], group: sh.g };
  const bias = fill(new Int32Array(sh.M), -1000, 1000);
  const s8 = qw.conv2d({
    weights: { data: wq, shape: [sh.M, sh.k, sh.k, Cg] },
    weightScale: 0.01,
    bias,
    input: { scale: 0.02, zeroPoint: 0 },
    output: { scale: 0.5, zeroPoint: 0 },
    activation: 'relu',
    ...attrs,
  });
  const f32 = qw.conv2dF32({
    weights: { data: Float32Array.from(wq, (v) => v / 127), shape: [sh.M, sh.k, sh.k, Cg] },
    bias: Float32Array.from(bias, (v) => v / 1000),
    activation: 'relu',
    ...attrs,
  });
  return {
    s8,
    f32,
    x8: { data: xq, shape: [1, sh.H, sh.W, sh.C] },
    xf: { data: Float32Array.from(xq, (v) => v / 128), shape: [1, sh.H, sh.W, sh.C] },
    y8: { data: new Int8Array(OH * OW * sh.M), shape: [1, OH, OW, sh.M] },
    yf: { data: new Float32Array(OH * OW * sh.M), shape: [1, OH, OW, sh.M] },
    dispose() {
      s8.dispose();
      f32.dispose();
    },
  };
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const opts = args({ runs: 3 });
  const only = opts.shapes ? String(opts.shapes).split(',') : null;
  const shapes = CONV_SHAPES.filter((s) => !only || only.includes(s.name));
  const builds = await buildsToRun(opts.builds, ['relaxed', 'simd', 'scalar']);
  // the scalar build takes seconds per call on the largest layers: measure it where it does not
  const SCALAR_MAX_OPS = Number(opts.scalarMaxOps ?? 1e9);
  const engines = {};
  for (const b of builds) engines[b] = await Qwasm.create({ backend: b });

  const items = shapes.map((sh) => {
    const L = {};
    for (const b of builds) L[b] = convLayers(engines[b], sh);
    const cases = {};
    for (const b of builds) {
      if (b === 'scalar' && convOps(sh).ops > SCALAR_MAX_OPS) continue;
      const l = L[b];
      cases[`${b} int8`] = () => l.s8.run(l.x8, l.y8);
      cases[`${b} f32`] = () => l.f32.run(l.xf, l.yf);
    }
    return { sh, L, cases };
  });
  const measured = await interleavedRuns(Number(opts.runs), items, (it) => measure(it.sh.desc, it.cases));
  const rows = [];
  const results = [];
  for (const it of items) {
    const { sh, L } = it;
    const { ops } = convOps(sh);
    const res = measured.get(it);
    for (const b of builds) {
      if (!(`${b} int8` in res.median)) continue;
      const g = (n) => ops / res.median[`${b} ${n}`] / 1e9;
      const row = {
        shape: sh.desc,
        build: b,
        path: L[b].s8.path,
        int8Gops: g('int8'),
        f32Gflops: g('f32'),
        int8VsF32: speedup(res, `${b} int8`, `${b} f32`),
        vsScalar: b !== 'scalar' && 'scalar int8' in res.median ? speedup(res, `${b} int8`, 'scalar int8') : null,
        int8Ms: res.median[`${b} int8`] * 1e3,
        f32Ms: res.median[`${b} f32`] * 1e3,
      };
      results.push(row);
      rows.push([
        row.shape,
        b,
        row.path,
        fmt(row.int8Gops),
        fmt(row.f32Gflops),
        fmt(row.int8VsF32, 2) + 'x',
        row.vsScalar ? fmt(row.vsScalar, 1) + 'x' : '-',
        fmt(row.int8Ms, 2),
        fmt(row.f32Ms, 2),
      ]);
    }
    for (const b of builds) L[b].dispose();
  }
  for (const b of builds) engines[b].dispose();
  const major = process.versions.node.split('.')[0];
  save(
    `conv-node${major}`,
    { runs: Number(opts.runs), maxTime: Number(process.env.BENCH_MAX_TIME ?? 0.6), results },
    ['layer', 'build', 'int8 path', 'int8 GOPS', 'f32 GFLOP/s', 'int8 / f32', 'int8 vs scalar', 'int8 ms', 'f32 ms'],
    rows,
    [
      'GOPS = 2 * OH * OW * M * kH * kW * C/group per call of `run(x, out)` (copy in, pack, conv, bias, requantize + ReLU, copy out); f32 the same with bias + ReLU.',
      'Ratios are medians of per-run ratios of times measured in the same run; runs sweep all layers in turn. Scalar only where one call costs <= 1 GOP.',
    ],
  );
}
