// 'fixedpoint' (TFLite) against 'fp32' (ONNX) requantization on the same layers, one run
// measuring both: the int8 digit model at batch 32, a 56x56x64->64 3x3 conv, and a
// 56x56x16->16 1x1 conv whose epilogue is a large share of the work. Weights per channel.
// Timing: interleaved rounds by CPU time (bench/lib.mjs measureInterleaved), the median of
// per-round ratios; --wall times with benny instead (--runs of it).
// Usage: node bench/requant.bench.mjs [--rounds 15] [--backend simd] [--wall [--runs 3]]
import os from 'node:os';
import { Qwasm } from '../dist/index.js';
import { args, fmt, measure, measureInterleaved, repeat, save, speedup } from './lib.mjs';
import { loadMnist, gather } from '../examples/mnist/data.mjs';
import { loadModel } from '../examples/mnist/model.mjs';
import { forwardRef } from '../examples/mnist/reference.mjs';
import { LocalMinMaxObserver, quantizeModel } from '../examples/mnist/quantize.mjs';
import { buildInt8 } from '../examples/mnist/qwasm-model.mjs';

const opts = args({ runs: 3, rounds: 15, backend: 'simd', wall: false });
const qw = await Qwasm.create({ backend: opts.backend });

function randInt(n, lo, hi, T, seed) {
  const a = new T(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return a;
}

// the digit model, calibrated with min-max on 256 training images
const [{ train }, model] = await Promise.all([loadMnist(), loadModel()]);
const calIdx = Array.from({ length: 256 }, (_, i) => i);
const observers = Array.from({ length: model.arch.length + 1 }, () => new LocalMinMaxObserver());
const xCal = gather(train, calIdx);
const { outputs } = forwardRef(model, xCal, calIdx.length, { keepOutputs: true });
observers[0].observe(xCal);
outputs.forEach((y, i) => observers[i + 1].observe(y));
const qmodel = quantizeModel(model, observers);
const digits = {
  fp32: buildInt8(qw, qmodel, { requant: 'fp32' }),
  fixed: buildInt8(qw, qmodel, { requant: 'fixedpoint' }),
};
const batch = gather(
  train,
  Array.from({ length: 32 }, (_, i) => 1000 + i),
);

function convPair(H, C, O, k) {
  const weights = { data: randInt(O * k * k * C, -127, 127, Int8Array, 7), shape: [O, k, k, C] };
  const weightScale = Float32Array.from({ length: O }, (_, i) => 0.002 + 0.0001 * i);
  /** @type {any} */
  const common = {
    weights,
    weightScale,
    input: { scale: 0.05, zeroPoint: 3 },
    output: { scale: 0.1, zeroPoint: -2 },
    pads: k > 1 ? [1, 1, 1, 1] : [0, 0, 0, 0],
    activation: 'relu',
  };
  const x = { data: randInt(H * H * C, -128, 127, Int8Array, 9), shape: [1, H, H, C] };
  const out = { data: new Int8Array(H * H * O), shape: [1, H, H, O] };
  const fp32 = qw.conv2d({ ...common, requant: 'fp32' });
  const fixed = qw.conv2d({ ...common, requant: 'fixedpoint' });
  return { fp32: () => fp32.run(x, out), fixed: () => fixed.run(x, out) };
}

/** @type {[string, { fp32: () => unknown, fixed: () => unknown }][]} */
const cases = [
  ['digit model, batch 32', { fp32: () => digits.fp32.run(batch, 32), fixed: () => digits.fixed.run(batch, 32) }],
  ['conv 56x56x64->64 3x3', convPair(56, 64, 64, 3)],
  ['conv 56x56x16->16 1x1', convPair(56, 16, 16, 1)],
];

const rows = [];
const data = [];
for (const [name, pair] of cases) {
  const fns = { fp32: pair.fp32, fixedpoint: pair.fixed };
  const r = opts.wall
    ? await repeat(Number(opts.runs), () => measure(name, fns))
    : measureInterleaved(fns, { rounds: Number(opts.rounds) });
  const ratio = speedup(r, 'fixedpoint', 'fp32');
  rows.push([name, fmt(r.median.fp32 * 1e3, 3), fmt(r.median.fixedpoint * 1e3, 3), fmt(ratio, 2) + 'x']);
  data.push({ name, fp32Ms: r.median.fp32 * 1e3, fixedpointMs: r.median.fixedpoint * 1e3, fixedVsFp32: ratio });
}
save(
  `requant-${qw.backend}-node${process.versions.node.split('.')[0]}`,
  { backend: qw.backend, cases: data },
  ['layer', "'fp32' ms", "'fixedpoint' ms", 'fixedpoint speed / fp32 speed'],
  rows,
  [
    `Build ${qw.backend}; ${os.cpus()[0]?.model}; ${opts.wall ? `wall time (benny), median of ${opts.runs} runs` : `CPU time, ${opts.rounds} interleaved rounds, median of per-round ratios`}. A ratio of 1.00x means the TFLite fixed-point rule costs nothing over the float one.`,
  ],
);
