// Dynamic int8 (float in, float out: the input quantized per call from its own range,
// int8 weights packed once, a dequantizing epilogue) against the float32 baseline and the
// static int8 layer of the same shape, one run measuring all three: the digit model at
// batch 32 as a whole, then layer by layer (each layer fed what the model feeds it).
// Timing: interleaved rounds by CPU time (bench/lib.mjs measureInterleaved), the median of
// per-round ratios; --wall times with benny instead (--runs of it).
// Usage: node bench/dynamic.bench.mjs [--rounds 15] [--backend simd] [--wall [--runs 3]]
import os from 'node:os';
import { Qwasm } from '../dist/index.js';
import { args, fmt, measure, measureInterleaved, repeat, save, speedup } from './lib.mjs';
import { loadMnist, gather } from '../examples/mnist/data.mjs';
import { loadModel, paramShapes, INPUT_SHAPE } from '../examples/mnist/model.mjs';
import { forwardRef } from '../examples/mnist/reference.mjs';
import { LocalMinMaxObserver, quantizeModel } from '../examples/mnist/quantize.mjs';
import { buildFloat32, buildDynamic, buildInt8 } from '../examples/mnist/qwasm-model.mjs';

const opts = args({ runs: 3, rounds: 15, backend: 'simd', wall: false });
const qw = await Qwasm.create({ backend: opts.backend });

// the static int8 model, calibrated with min-max on 256 training images
const [{ train }, model] = await Promise.all([loadMnist(), loadModel()]);
const calIdx = Array.from({ length: 256 }, (_, i) => i);
const observers = Array.from({ length: model.arch.length + 1 }, () => new LocalMinMaxObserver());
const xCal = gather(train, calIdx);
const { outputs } = forwardRef(model, xCal, calIdx.length, { keepOutputs: true });
observers[0].observe(xCal);
outputs.forEach((y, i) => observers[i + 1].observe(y));
const qmodel = quantizeModel(model, observers);
const n = 32;
const batch = gather(
  train,
  Array.from({ length: n }, (_, i) => 1000 + i),
);

const f32 = buildFloat32(qw, model);
const dyn = buildDynamic(qw, model);
const int8 = buildInt8(qw, qmodel, { requant: 'fp32' });
const cases = [
  [
    'digit model, batch 32',
    { float32: () => f32.run(batch, n), dynamic: () => dyn.run(batch, n), static: () => int8.run(batch, n) },
  ],
];

// layer by layer: float inputs from the float32 layers, int8 inputs from the static ones
/** @type {{ data: Float32Array, shape: readonly number[] }} */
let xf = { data: batch, shape: [n, ...INPUT_SHAPE] };
const xq0 = qw.quantizeLinear(xf, qmodel.input.scale, qmodel.input.zeroPoint, { dtype: 'int8' });
/** @type {{ data: Int8Array | Uint8Array, shape: readonly number[] }} */
let xq = { data: xq0.data, shape: xf.shape };
for (const q of qmodel.layers) {
  const { layer } = q;
  const weights = { data: model.params[`${layer.name}.weight`], shape: paramShapes(layer).weight };
  const bias = model.params[`${layer.name}.bias`];
  const activation = layer.relu ? 'relu' : 'none';
  /** @type {any} */
  const quant = {
    weights: { data: q.weights, shape: paramShapes(layer).weight },
    weightScale: q.weightScale,
    bias: q.bias,
    input: { scale: q.input.scale, zeroPoint: q.input.zeroPoint, dtype: 'int8' },
    output: { scale: q.output.scale, zeroPoint: q.output.zeroPoint },
    activation,
  };
  const X = xf;
  const Q = xq;
  let name;
  let pair;
  if (layer.type === 'linear') {
    const f = qw.linearF32({ weights, bias, activation });
    const d = qw.dynamicLinear({ weights, bias, activation });
    const s = qw.linear(quant);
    name = `${layer.name}: linear ${layer.inF}->${layer.outF}`;
    pair = { float32: () => f.run(X.data), dynamic: () => d.run(X.data), static: () => s.run(Q.data) };
    xf = { data: f.run(X.data), shape: [] };
    xq = { data: s.run(Q.data), shape: [] };
  } else {
    const geo = {
      strides: [layer.stride, layer.stride],
      pads: [layer.pad, layer.pad, layer.pad, layer.pad],
      group: layer.group,
    };
    const f = qw.conv2dF32({ weights, bias, ...geo, activation });
    const d = qw.dynamicConv2d({ weights, bias, ...geo, activation });
    const s = qw.conv2d({ ...quant, ...geo });
    const [, H, W, C] = X.shape;
    const kind = layer.group > 1 ? 'depthwise ' : '';
    name = `${layer.name}: ${kind}conv ${H}x${W}x${C}->${layer.outC} ${layer.kernel}x${layer.kernel} s${layer.stride}`;
    pair = { float32: () => f.run(X), dynamic: () => d.run(X), static: () => s.run(Q) };
    xf = f.run(X);
    xq = s.run(Q);
  }
  cases.push([name, pair]);
}

const rows = [];
const data = [];
for (const [name, fns] of cases) {
  const r = opts.wall
    ? await repeat(Number(opts.runs), () => measure(name, fns))
    : measureInterleaved(fns, { rounds: Number(opts.rounds) });
  const dynVsF32 = speedup(r, 'dynamic', 'float32');
  const staticVsF32 = speedup(r, 'static', 'float32');
  rows.push([
    name,
    fmt(r.median.float32 * 1e3, 3),
    fmt(r.median.dynamic * 1e3, 3),
    fmt(r.median.static * 1e3, 3),
    fmt(dynVsF32, 2) + 'x',
    fmt(staticVsF32, 2) + 'x',
  ]);
  data.push({
    name,
    float32Ms: r.median.float32 * 1e3,
    dynamicMs: r.median.dynamic * 1e3,
    staticMs: r.median.static * 1e3,
    dynamicVsFloat32: dynVsF32,
    staticVsFloat32: staticVsF32,
  });
}
save(
  `dynamic-${qw.backend}-node${process.versions.node.split('.')[0]}`,
  { backend: qw.backend, batch: n, cases: data },
  [
    'layer (batch 32)',
    'float32 ms',
    'dynamic int8 ms',
    'static int8 ms',
    'dynamic speed / float32',
    'static / float32',
  ],
  rows,
  [
    `Build ${qw.backend}; ${os.cpus()[0]?.model}; ${opts.wall ? `wall time (benny), median of ${opts.runs} runs` : `CPU time, ${opts.rounds} interleaved rounds, median of per-round ratios`}. Dynamic layers take and return float32 like the float32 ones (the same copies in and out of wasm memory) and quantize their input on every call (a min / max pass and a quantize pass); static int8 layers move int8.`,
  ],
);
