// The int8 network ops (global average pool, max pool, resize, transposed conv) against
// their float32 twins, against dequantize -> float32 op -> quantize on the same tensors,
// and against onnxruntime-web's op where it has one; one thread, every case measured in
// the same run, runs sweeping all shapes in turn. Usage:
//   node bench/network-ops.bench.mjs [--runs 3] [--shapes gap,maxpool,...]
// Needs `npm run build` (reads dist/). BENCH_MAX_TIME (seconds per case, default 0.6).
import { Qwasm } from '../dist/index.js';
import { args, fmt, measure, save, speedup } from './lib.mjs';
import { loadOrt, versions } from './peers/engines.mjs';
import { singleNodeModel } from '../test/onnx/model.mjs';

const opts = args({ runs: 3 });
const only = opts.shapes ? String(opts.shapes).split(',') : null;
const ort = await loadOrt();
const qw = await Qwasm.create({ backend: 'simd' });

/** Deterministic fill (LCG) of a typed array with integers in [lo, hi]. */
function fill(a, lo, hi, seed = 7) {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + (s % (hi - lo + 1));
  }
  return a;
}

const XS = 0.05;
const XZ = -3;
const YS = 0.05;
const YZ = 2;

/** NHWC [1, H, W, C] -> NCHW for the onnxruntime inputs. */
function toNCHW(a, H, W, C) {
  const out = new a.constructor(a.length);
  for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) out[c * H * W + i] = a[i * C + c];
  return out;
}

/** An onnxruntime-web session of one node fed x; null (and a line saying why) when it refuses. */
async function ortCase(label, spec, x, dims) {
  if (!ort) return null;
  try {
    const session = await ort.InferenceSession.create(singleNodeModel(spec), { executionProviders: ['wasm'] });
    const feeds = { x: new ort.Tensor(spec.inputs[0].type, x, dims) };
    await session.run(feeds);
    return () => session.run(feeds);
  } catch (e) {
    console.log(`onnxruntime-web refused ${label}: ${String(e.message ?? e).split('\n')[0]}`);
    return null;
  }
}

const scalar = (name, type, data) => ({ name, type, dims: [], data });
const quantInputs = (type, dims) => [
  { name: 'x', type, dims },
  scalar('xs', 'float32', Float32Array.of(XS)),
  scalar('xz', type, type === 'int8' ? Int8Array.of(XZ) : Uint8Array.of(XZ + 128)),
  scalar('ys', 'float32', Float32Array.of(YS)),
  scalar('yz', type, type === 'int8' ? Int8Array.of(YZ) : Uint8Array.of(YZ + 128)),
];

/** The int8 op, its float32 twin and the dequantize -> float32 -> quantize path on one NHWC shape. */
function qwasmCases(H, W, C, int8Op, f32Op) {
  const x8 = { data: fill(new Int8Array(H * W * C), -128, 127), shape: [1, H, W, C] };
  const xf = qw.dequantizeLinear(x8, XS, XZ);
  return {
    x8,
    cases: {
      'qwasm int8': () => int8Op(x8),
      'qwasm f32': () => f32Op(xf),
      'dequant -> f32 -> quant': () =>
        qw.quantizeLinear(f32Op(qw.dequantizeLinear(x8, XS, XZ)), YS, YZ, { dtype: 'int8' }),
    },
  };
}

const SHAPES = [
  {
    name: 'gap',
    desc: 'global average pool 1x7x7x1280',
    async build() {
      const [H, W, C] = [7, 7, 1280];
      const { x8, cases } = qwasmCases(
        H,
        W,
        C,
        (x) => qw.qlinearGlobalAveragePool(x, XS, XZ, YS, YZ, { layout: 'NHWC' }),
        (x) => qw.globalAveragePoolF32(x, { layout: 'NHWC' }),
      );
      const run = await ortCase(
        'QLinearGlobalAveragePool int8 NHWC',
        {
          opType: 'QLinearGlobalAveragePool',
          domain: 'com.microsoft',
          inputs: quantInputs('int8', [1, H, W, C]),
          outputs: [{ name: 'y', type: 'int8' }],
          attributes: { channels_last: 1 },
        },
        x8.data,
        [1, H, W, C],
      );
      if (run) cases['ort-web QLinearGlobalAveragePool'] = run;
      return cases;
    },
  },
  {
    name: 'maxpool',
    desc: 'max pool 3x3 s2 p1, 1x112x112x64',
    async build() {
      const [H, W, C] = [112, 112, 64];
      /** @type {import('../dist/index.js').MaxPoolAttributes} */
      const attrs = { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], layout: 'NHWC' };
      const { x8, cases } = qwasmCases(
        H,
        W,
        C,
        (x) => qw.maxPool(x, attrs),
        (x) => qw.maxPoolF32(x, attrs),
      );
      const run = await ortCase(
        'MaxPool int8',
        {
          opType: 'MaxPool',
          opset: 12,
          inputs: [{ name: 'x', type: 'int8', dims: [1, C, H, W] }],
          outputs: [{ name: 'y', type: 'int8' }],
          attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
        },
        toNCHW(x8.data, H, W, C),
        [1, C, H, W],
      );
      if (run) cases['ort-web MaxPool'] = run;
      return cases;
    },
  },
  .../** @type {('nearest' | 'linear')[]} */ (['nearest', 'linear']).map((mode) => ({
    name: `resize-${mode}`,
    desc: `resize x2 ${mode}, 1x40x40x96`,
    async build() {
      const [H, W, C] = [40, 40, 96];
      /** @type {import('../dist/index.js').ResizeAttributes} */
      const attrs = { scales: [1, 2, 2, 1], mode, layout: 'NHWC' };
      const { x8, cases } = qwasmCases(
        H,
        W,
        C,
        (x) => qw.resize(x, attrs),
        (x) => qw.resize(x, attrs),
      );
      const run = await ortCase(
        `Resize ${mode} int8`,
        {
          opType: 'Resize',
          inputs: [
            { name: 'x', type: 'int8', dims: [1, C, H, W] },
            { name: 'roi', type: 'float32', dims: [0], data: new Float32Array(0) },
            { name: 'scales', type: 'float32', dims: [4], data: Float32Array.of(1, 1, 2, 2) },
          ],
          outputs: [{ name: 'y', type: 'int8' }],
          attributes: { mode },
        },
        toNCHW(x8.data, H, W, C),
        [1, C, H, W],
      );
      if (run) cases['ort-web Resize'] = run;
      return cases;
    },
  })),
  {
    name: 'convt',
    desc: 'transposed conv 2x2 s2 96->96, 1x160x160x96',
    async build() {
      const [H, W, C, M] = [160, 160, 96, 96];
      const w8 = { data: fill(new Int8Array(C * 2 * 2 * M), -127, 127, 3), shape: [C, 2, 2, M] };
      const wf = { data: Float32Array.from(w8.data, (v) => v * 0.01), shape: w8.shape };
      const bias = fill(new Int32Array(M), -500, 500, 5);
      const biasF = Float32Array.from(bias, (v) => v * XS * 0.01);
      /** @type {import('../dist/index.js').QLinearConvTransposeAttributes} */
      const attrs = { strides: [2, 2], layout: 'NHWC' };
      const { x8, cases } = qwasmCases(
        H,
        W,
        C,
        (x) => qw.qlinearConvTranspose(x, XS, XZ, w8, 0.01, 0, 0.5, YZ, bias, attrs),
        (x) => qw.convTransposeF32(x, wf, biasF, attrs),
      );
      // onnxruntime has no int8 ConvTranspose: its float32 one is the peer
      const wOnnx = new Float32Array(wf.data.length);
      for (let c = 0; c < C; c++)
        for (let t = 0; t < 4; t++)
          for (let m = 0; m < M; m++) wOnnx[(c * M + m) * 4 + t] = wf.data[(c * 4 + t) * M + m];
      const run = await ortCase(
        'ConvTranspose float32',
        {
          opType: 'ConvTranspose',
          inputs: [
            { name: 'x', type: 'float32', dims: [1, C, H, W] },
            { name: 'w', type: 'float32', dims: [C, M, 2, 2], data: wOnnx },
            { name: 'b', type: 'float32', dims: [M], data: biasF },
          ],
          outputs: [{ name: 'y', type: 'float32' }],
          attributes: { kernel_shape: [2, 2], strides: [2, 2] },
        },
        toNCHW(
          Float32Array.from(x8.data, (v) => (v - XZ) * XS),
          H,
          W,
          C,
        ),
        [1, C, H, W],
      );
      if (run) cases['ort-web ConvTranspose f32'] = run;
      return cases;
    },
  },
];

const items = [];
for (const sh of SHAPES.filter((s) => !only || only.includes(s.name))) items.push({ sh, cases: await sh.build() });
// runs sweep every shape in turn, so a slow moment of the machine hits all of them alike
const runs = items.map(() => []);
for (let r = 0; r < Number(opts.runs); r++) {
  for (let i = 0; i < items.length; i++) runs[i].push(await measure(items[i].sh.desc, items[i].cases));
}
const rows = [];
const results = [];
for (let i = 0; i < items.length; i++) {
  const { sh, cases } = items[i];
  const names = Object.keys(cases);
  const median = Object.fromEntries(
    names.map((n) => {
      const s = runs[i].map((m) => m[n]).sort((a, b) => a - b);
      return [n, s[s.length >> 1]];
    }),
  );
  const res = { median, runs: runs[i] };
  const ortName = names.find((n) => n.startsWith('ort-web'));
  const row = {
    shape: sh.desc,
    ms: Object.fromEntries(names.map((n) => [n, median[n] * 1e3])),
    int8VsF32: speedup(res, 'qwasm int8', 'qwasm f32'),
    int8VsDequantPath: speedup(res, 'qwasm int8', 'dequant -> f32 -> quant'),
    int8VsOrt: ortName ? speedup(res, 'qwasm int8', ortName) : null,
    ort: ortName ?? null,
  };
  results.push(row);
  rows.push([
    sh.desc,
    fmt(row.ms['qwasm int8'], 3),
    fmt(row.ms['qwasm f32'], 3),
    fmt(row.ms['dequant -> f32 -> quant'], 3),
    ortName ? `${fmt(row.ms[ortName], 3)} (${ortName.replace('ort-web ', '')})` : '-',
    fmt(row.int8VsF32, 2) + 'x',
    fmt(row.int8VsDequantPath, 2) + 'x',
    row.int8VsOrt ? fmt(row.int8VsOrt, 2) + 'x' : '-',
  ]);
}
save(
  `network-ops-node${process.versions.node.split('.')[0]}`,
  { runs: Number(opts.runs), backend: qw.backend, peers: versions(), results },
  [
    'op',
    'qwasm int8 ms',
    'qwasm f32 ms',
    'dequant -> f32 -> quant ms',
    'ort-web ms',
    'int8 / f32',
    'int8 / dequant path',
    'int8 / ort-web',
  ],
  rows,
  [
    `qwasm build: ${qw.backend}, NHWC, op API (input copied in, result copied out, per call). The dequant path is qwasm's dequantizeLinear -> float32 twin -> quantizeLinear on the same tensors.`,
    'onnxruntime-web (wasm EP, 1 thread) runs NCHW, except QLinearGlobalAveragePool (channels_last); it has no int8 ConvTranspose, so its float32 ConvTranspose is listed there. Ratios are medians of per-run ratios from the same run.',
  ],
);
