// int8 depthwise convolution against the float32 depthwise, on the shapes of the PaddleOCR
// direction classifier (tiny maps: 2-12 rows x 96 columns, 5x5 kernels, vertical stride 2)
// and the PP-OCRv4 detector (3x3 and 5x5 at 20x20 .. 160x160, strides 1 and 2). Both
// layers fuse hard-swish as the models do (int8: the conv's `lookup` table, float32:
// activation 'hardswish') and run with `runAt` on buffers already in wasm memory, as
// qwasm/onnx runs them, so no copy-in or copy-out is timed. One thread, CPU time of
// interleaved rounds (bench/lib.mjs measureInterleaved); the speedup is the median of
// the per-round ratios float32 / int8. Usage:
//   node bench/depthwise.bench.mjs [--rounds 15] [--builds simd] [--only cls|det]
// Needs `npm run build` (reads dist/).
import { Qwasm } from '../dist/index.js';
import { args, buildsToRun, fmt, ints, measureInterleaved, save, speedup } from './lib.mjs';

const opts = args({ rounds: 15, builds: 'simd' });
const hardSwish = (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;

// NHWC shapes: C channels over an H x W map, a k x k kernel, strides [sH, sW], padding k >> 1
const SHAPES = [
  { model: 'cls', H: 2, W: 96, C: 200, k: 5, s: [1, 1] },
  { model: 'cls', H: 3, W: 96, C: 88, k: 5, s: [1, 1] },
  { model: 'cls', H: 3, W: 96, C: 104, k: 5, s: [2, 1] },
  { model: 'cls', H: 6, W: 96, C: 32, k: 5, s: [2, 1] },
  { model: 'cls', H: 12, W: 96, C: 24, k: 3, s: [2, 1] },
  { model: 'cls', H: 24, W: 96, C: 8, k: 3, s: [2, 1] },
  { model: 'det', H: 160, W: 160, C: 48, k: 3, s: [1, 1] },
  { model: 'det', H: 160, W: 160, C: 48, k: 3, s: [2, 2] },
  { model: 'det', H: 80, W: 80, C: 96, k: 3, s: [1, 1] },
  { model: 'det', H: 40, W: 40, C: 192, k: 5, s: [1, 1] },
  { model: 'det', H: 40, W: 40, C: 192, k: 5, s: [2, 2] },
  { model: 'det', H: 20, W: 20, C: 384, k: 5, s: [1, 1] },
].filter((s) => !opts.only || s.model === opts.only);

const describe = (s) => `${s.model} ${s.H}x${s.W}x${s.C} ${s.k}x${s.k} s${s.s.join(',')}`;

const results = [];
for (const backend of await buildsToRun(opts.builds, ['simd'])) {
  const qw = await Qwasm.create({ backend, threads: 1 });
  const heap = qw.runtime.heap;
  for (const sh of SHAPES) {
    const { H, W, C, k, s } = sh;
    const p = k >> 1;
    const common = { strides: s, pads: [p, p, p, p], group: C };
    const wq = ints(C * k * k, 3, -90, 90);
    const int8 = qw.conv2d({
      ...common,
      weights: { data: Int8Array.from(wq), shape: [C, k, k, 1] },
      weightScale: 0.01,
      bias: ints(C, 5, -2000, 2000),
      input: { scale: 0.05, zeroPoint: -3 },
      output: { scale: 0.08, zeroPoint: -20 },
      lookup: { fn: hardSwish, output: { scale: 0.05, zeroPoint: -10 } },
    });
    const f32 = qw.conv2dF32({
      ...common,
      weights: { data: Float32Array.from(wq, (v) => v * 0.01), shape: [C, k, k, 1] },
      bias: Float32Array.from(ints(C, 5, -2000, 2000), (v) => v * 0.0005),
      activation: 'hardswish',
    });
    const shape = [1, H, W, C];
    const qPlan = int8.planInput(shape);
    const fPlan = f32.planInput(shape);
    const n = H * W * C;
    const m = qPlan.outShape.reduce((a, b) => a * b, 1);
    const xq = heap.alloc(n, 'x');
    const yq = heap.alloc(m, 'y');
    const xf = heap.alloc(n * 4, 'x');
    const yf = heap.alloc(m * 4, 'y');
    const codes = ints(n, 1, -128, 127);
    heap.i8.set(codes, xq);
    heap.f32.set(
      Float32Array.from(codes, (v) => (v + 3) * 0.05),
      xf >> 2,
    );
    const cases = {
      int8: () => int8.runAt(qPlan, xq, yq),
      float32: () => f32.runAt(fPlan, xf, yf),
    };
    const r = measureInterleaved(cases, { rounds: Number(opts.rounds) });
    const ratio = speedup(r, 'int8', 'float32');
    results.push({ backend, ...sh, desc: describe(sh), r, ratio });
    console.log(
      `${backend} ${describe(sh)}: int8 ${fmt(r.median.int8 * 1e6)} us, float32 ${fmt(r.median.float32 * 1e6)} us, ${fmt(ratio, 2)}x`,
    );
    for (const ptr of [xq, yq, xf, yf]) heap.release(ptr);
    int8.dispose();
    f32.dispose();
  }
  qw.dispose();
}

save(
  `depthwise-node${process.versions.node.split('.')[0]}`,
  {
    threads: 1,
    rounds: Number(opts.rounds),
    cases: results.map(({ backend, desc, r, ratio }) => ({
      backend,
      desc,
      medianSeconds: r.median,
      ratio,
      rounds: r.runs,
    })),
  },
  ['build', 'shape (H x W x C, kernel, strides)', 'int8 us', 'float32 us', 'int8 speedup'],
  results.map((x) => [
    x.backend,
    x.desc,
    fmt(x.r.median.int8 * 1e6),
    fmt(x.r.median.float32 * 1e6),
    `${fmt(x.ratio, 2)}x`,
  ]),
  [
    'Both layers fuse hard-swish (int8: the lookup table; float32: in the epilogue) and run on buffers already in wasm memory (runAt), one thread.',
    'Times: CPU time, medians over interleaved rounds; speedup: median of per-round ratios float32 / int8.',
  ],
);
