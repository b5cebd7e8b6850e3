// Convolution against the peers, single thread, one run measuring every engine: qwasm
// `conv2d` (int8) and `conv2dF32` vs onnxruntime-web (QLinearConv u8s8 and s8s8 in NCHW,
// its NHWC contrib QLinearConv, ConvInteger u8u8, float Conv) and tfjs-backend-wasm
// (conv2d / depthwiseConv2d, float32, NHWC). Usage:
//   node bench/conv-peers.bench.mjs [--runs 3] [--shapes r3x3-56,dw-112,...]
// BENCH_MAX_TIME (seconds per case, default 0.6) keeps runs short on a shared machine.
import { Qwasm } from '../dist/index.js';
import { args, fmt, measure, save, speedup } from './lib.mjs';
import { loadOrt, loadTfjs, versions } from './peers/engines.mjs';
import { singleNodeModel } from '../test/onnx/model.mjs';
import { CONV_SHAPES, convLayers, convOps, fill, interleavedRuns } from './conv.bench.mjs';

const opts = args({ runs: 3 });
const only = opts.shapes ? String(opts.shapes).split(',') : null;
const shapes = CONV_SHAPES.filter((s) => !only || only.includes(s.name));
const ort = await loadOrt();
const tf = await loadTfjs();
const qw = await Qwasm.create();

/** ONNX weights [M, C/group, kH, kW] from qwasm's [M, kH, kW, C/group]. */
function toOnnxWeights(w, sh) {
  const Cg = sh.C / sh.g;
  const out = new w.constructor(w.length);
  const taps = sh.k * sh.k;
  for (let m = 0; m < sh.M; m++)
    for (let t = 0; t < taps; t++)
      for (let c = 0; c < Cg; c++) out[(m * Cg + c) * taps + t] = w[(m * taps + t) * Cg + c];
  return out;
}

/** One onnxruntime-web session of a conv op on shape `sh`; null when the engine refuses it. */
async function ortSession(kind, sh, wq, bias) {
  const Cg = sh.C / sh.g;
  /** @type {(name: string, type: import('../test/onnx/model.d.mts').DataTypeName, data: any) => import('../test/onnx/model.d.mts').ValueSpec} */
  const scalar = (name, type, data) => ({ name, type, dims: [], data });
  const attributes = { group: sh.g, kernel_shape: [sh.k, sh.k], pads: [sh.p, sh.p, sh.p, sh.p], strides: [sh.s, sh.s] };
  const nchw = [1, sh.C, sh.H, sh.W];
  const wOnnx = toOnnxWeights(wq, sh);
  const wDims = [sh.M, Cg, sh.k, sh.k];
  /** @type {import('../test/onnx/model.d.mts').NodeSpec} */
  let spec;
  if (kind === 'conv-f32') {
    spec = {
      opType: 'Conv',
      inputs: [
        { name: 'x', type: 'float32', dims: nchw },
        { name: 'w', type: 'float32', dims: wDims, data: Float32Array.from(wOnnx, (v) => v / 127) },
        { name: 'b', type: 'float32', dims: [sh.M], data: Float32Array.from(bias, (v) => v / 1000) },
      ],
      outputs: [{ name: 'y', type: 'float32' }],
      attributes,
    };
  } else if (kind === 'convinteger-u8u8') {
    spec = {
      opType: 'ConvInteger',
      inputs: [
        { name: 'x', type: 'uint8', dims: nchw },
        { name: 'w', type: 'uint8', dims: wDims, data: Uint8Array.from(wOnnx, (v) => v + 128) },
        scalar('xz', 'uint8', Uint8Array.of(128)),
        scalar('wz', 'uint8', Uint8Array.of(128)),
      ],
      outputs: [{ name: 'y', type: 'int32' }],
      attributes,
    };
  } else {
    // QLinearConv: 'qlinear-u8s8', 'qlinear-s8s8' (NCHW) or 'qlinear-u8s8-nhwc' (contrib, channels last)
    const u8 = kind.includes('u8s8');
    const nhwc = kind.endsWith('nhwc');
    const xt = u8 ? 'uint8' : 'int8';
    const zp = (v) => (u8 ? Uint8Array.of(v + 128) : Int8Array.of(v));
    spec = {
      opType: 'QLinearConv',
      domain: nhwc ? 'com.microsoft' : undefined,
      inputs: [
        { name: 'x', type: xt, dims: nhwc ? [1, sh.H, sh.W, sh.C] : nchw },
        scalar('xs', 'float32', Float32Array.of(0.02)),
        scalar('xz', xt, zp(0)),
        { name: 'w', type: 'int8', dims: wDims, data: wOnnx },
        scalar('ws', 'float32', Float32Array.of(0.01)),
        scalar('wz', 'int8', Int8Array.of(0)),
        scalar('ys', 'float32', Float32Array.of(0.5)),
        scalar('yz', xt, zp(0)),
        { name: 'b', type: 'int32', dims: [sh.M], data: bias },
      ],
      outputs: [{ name: 'y', type: xt }],
      attributes: nhwc ? { ...attributes, channels_last: 1 } : attributes,
    };
  }
  try {
    const session = await ort.InferenceSession.create(singleNodeModel(spec), { executionProviders: ['wasm'] });
    const x = spec.inputs[0];
    const data =
      x.type === 'float32'
        ? Float32Array.from(fill(new Int8Array(sh.H * sh.W * sh.C), -128, 127, 13), (v) => v / 128)
        : x.type === 'uint8'
          ? fill(new Uint8Array(sh.H * sh.W * sh.C), 0, 255, 13)
          : fill(new Int8Array(sh.H * sh.W * sh.C), -128, 127, 13);
    const feeds = { x: new ort.Tensor(x.type, data, x.dims) };
    await session.run(feeds);
    return () => session.run(feeds);
  } catch (e) {
    console.log(`onnxruntime-web refused ${kind} on ${sh.desc}: ${String(e.message ?? e).split('\n')[0]}`);
    return null;
  }
}

const INT8_PEERS = ['qlinear-u8s8', 'qlinear-s8s8', 'qlinear-u8s8-nhwc', 'convinteger-u8u8'];
const items = [];
for (const sh of shapes) {
  const L = convLayers(qw, sh);
  const cases = {
    'qwasm conv2d int8': () => L.s8.run(L.x8, L.y8),
    'qwasm conv2dF32': () => L.f32.run(L.xf, L.yf),
  };
  const wq = fill(new Int8Array(sh.M * sh.k * sh.k * (sh.C / sh.g)), -127, 127, 11);
  const bias = fill(new Int32Array(sh.M), -1000, 1000);
  if (ort) {
    for (const kind of [...INT8_PEERS, 'conv-f32']) {
      const run = await ortSession(kind, sh, wq, bias);
      if (run) cases[`ort-web ${kind}`] = run;
    }
  }
  let tfCleanup = () => {};
  if (tf) {
    /** @type {'valid' | [[number, number], [number, number], [number, number], [number, number]]} */
    const pad =
      sh.p === 0
        ? 'valid'
        : [
            [0, 0],
            [sh.p, sh.p],
            [sh.p, sh.p],
            [0, 0],
          ];
    const b = tf.tensor1d(Float32Array.from(bias, (v) => v / 1000));
    const taps = sh.k * sh.k;
    // tfjs filters: [kH, kW, C, M] for conv2d, [kH, kW, C, 1] for depthwiseConv2d
    const f = new Float32Array(wq.length);
    if (sh.g === 1) {
      for (let m = 0; m < sh.M; m++)
        for (let t = 0; t < taps; t++)
          for (let c = 0; c < sh.C; c++) f[(t * sh.C + c) * sh.M + m] = wq[(m * taps + t) * sh.C + c] / 127;
    } else {
      for (let c = 0; c < sh.C; c++) for (let t = 0; t < taps; t++) f[t * sh.C + c] = wq[c * taps + t] / 127;
    }
    const filter = tf.tensor4d(f, [sh.k, sh.k, sh.C, sh.g === 1 ? sh.M : 1]);
    const conv = (xi) => (sh.g === 1 ? tf.conv2d(xi, filter, sh.s, pad) : tf.depthwiseConv2d(xi, filter, sh.s, pad));
    // the same work as qwasm's run: upload the input, conv + bias + ReLU, read the output
    cases[`tfjs-wasm ${sh.g === 1 ? 'conv2d' : 'depthwiseConv2d'}`] = () => {
      const y = tf.tidy(() => tf.relu(tf.add(conv(tf.tensor4d(L.xf.data, [1, sh.H, sh.W, sh.C])), b)));
      y.dataSync();
      y.dispose();
    };
    tfCleanup = () => {
      b.dispose();
      filter.dispose();
    };
  }
  items.push({ sh, L, cases, tfCleanup });
}
const measured = await interleavedRuns(Number(opts.runs), items, (it) => measure(it.sh.desc, it.cases));
const rows = [];
const results = [];
for (const it of items) {
  const { sh, L, tfCleanup } = it;
  const { ops } = convOps(sh);
  const res = measured.get(it);
  const gops = Object.fromEntries(Object.entries(res.median).map(([k, t]) => [k, ops / t / 1e9]));
  const ortInt8 = INT8_PEERS.map((k) => `ort-web ${k}`).filter((k) => k in gops);
  const ortBest = ortInt8.length ? ortInt8.reduce((a, b) => (gops[a] > gops[b] ? a : b)) : null;
  const tfName = Object.keys(gops).find((k) => k.startsWith('tfjs-wasm'));
  const row = {
    shape: sh.desc,
    gops,
    ortBest,
    int8VsOrtBest: ortBest ? speedup(res, 'qwasm conv2d int8', ortBest) : null,
    int8VsF32: speedup(res, 'qwasm conv2d int8', 'qwasm conv2dF32'),
    f32VsTfjs: tfName ? speedup(res, 'qwasm conv2dF32', tfName) : null,
    f32VsOrtF32: 'ort-web conv-f32' in gops ? speedup(res, 'qwasm conv2dF32', 'ort-web conv-f32') : null,
  };
  results.push(row);
  rows.push([
    sh.desc,
    fmt(gops['qwasm conv2d int8']),
    ortBest ? `${fmt(gops[ortBest])} (${ortBest.replace('ort-web ', '')})` : '-',
    row.int8VsOrtBest ? fmt(row.int8VsOrtBest, 2) + 'x' : '-',
    fmt(gops['qwasm conv2dF32']),
    tfName ? fmt(gops[tfName]) : '-',
    row.f32VsTfjs ? fmt(row.f32VsTfjs, 2) + 'x' : '-',
    fmt(gops['ort-web conv-f32']),
    fmt(row.int8VsF32, 2) + 'x',
  ]);
  L.dispose();
  tfCleanup();
}
save(
  `conv-peers-node${process.versions.node.split('.')[0]}`,
  { runs: Number(opts.runs), backend: qw.backend, peers: versions(), results },
  [
    'layer',
    'qwasm int8',
    'ort-web best int8',
    'int8 / ort best',
    'qwasm f32',
    'tfjs-wasm f32',
    'f32 / tfjs',
    'ort-web f32',
    'qwasm int8 / f32',
  ],
  rows,
  [
    `qwasm build: ${qw.backend}. Int8 in GOPS, float in GFLOP/s (2 * OH * OW * M * kH * kW * C/group per call); every engine, single thread, does one whole call: input in, conv + bias (+ ReLU for qwasm and tfjs), output out.`,
    'onnxruntime-web runs NCHW (its QLinearConv transposes to NHWC inside) and its NHWC contrib QLinearConv (channels_last); the best int8 of those is the reference. Ratios are medians of per-run ratios measured in the same run; runs sweep all layers in turn.',
  ],
);
