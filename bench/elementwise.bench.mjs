// The int8 operators between GEMM and conv, one run measuring every side, simd build, one
// thread: qwasm's int8 layer and op form, its float32 twin, the dequantize -> float32 op
// -> quantize path on the same tensors, and onnxruntime-web's com.microsoft contrib op
// where its wasm build has one. Also the table-lookup kernel with i8x16.swizzle against
// scalar loads. Timing: interleaved rounds by CPU time (bench/lib.mjs measureInterleavedAsync;
// onnxruntime-web runs on this thread too, numThreads 1), ratios the median of per-round
// ratios; under --expose-gc the heap is collected before each chunk, outside the timing, so
// the float32 paths' garbage is not collected on the next case's time. --wall times with
// benny instead (wall clock, --runs runs). Usage:
//   node --expose-gc bench/elementwise.bench.mjs [--rounds 15] [--cases add-56,...] [--wall --runs 3]
// BENCH_MAX_TIME (seconds per case with --wall, default 0.6) keeps runs short on a shared machine.
import { Qwasm } from '../dist/index.js';
import { loadBuild } from '../dist/loader.js';
import { args, fmt, measure, measureInterleavedAsync, repeat, save, speedup } from './lib.mjs';
import { loadOrt, versions } from './peers/engines.mjs';
import { singleNodeModel } from '../test/onnx/model.mjs';

const opts = args({ runs: 3, rounds: 15, wall: false });
const only = opts.cases ? String(opts.cases).split(',') : null;
const ort = await loadOrt();
const qw = await Qwasm.create({ backend: 'simd', threads: 1 });

/** Deterministic int8 codes. */
function codes(n, seed) {
  const a = new Int8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = ((s >>> 8) & 0xff) - 128;
  }
  return a;
}

const erf = (x) => {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x < 0 ? -y : y;
};
const FN = {
  hardSwish: (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  tanh: Math.tanh,
  gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  silu: (v) => v / (1 + Math.exp(-v)),
  leakyRelu: (v) => (v >= 0 ? v : 0.1 * v),
};

const scalar = (name, type, data) => ({ name, type, dims: [], data });
const q8 = (name, s, z) => [
  scalar(`${name}s`, 'float32', Float32Array.of(s)),
  scalar(`${name}z`, 'int8', Int8Array.of(z)),
];

/** An onnxruntime-web session of one com.microsoft node; feeds given as { name: [data, dims] }. */
async function ortCase(opType, inputs, feeds, attributes = {}) {
  if (!ort) return null;
  try {
    const model = singleNodeModel({
      opType,
      domain: 'com.microsoft',
      opset: 13,
      inputs,
      outputs: [{ name: 'y', type: 'int8' }],
      attributes,
    });
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
    /** @type {Record<string, any>} */
    const f = {};
    for (const [k, [data, dims]] of Object.entries(feeds)) f[k] = new ort.Tensor('int8', data, dims);
    await session.run(f);
    return () => session.run(f);
  } catch (e) {
    console.log(`onnxruntime-web refused ${opType}: ${String(e.message ?? e).split('\n')[0]}`);
    return null;
  }
}

/** Each case: its tensors and the functions measured. */
async function binaryCase(op, name, desc, aShape, bShape) {
  const n = aShape.reduce((p, d) => p * d, 1);
  const nb = bShape.reduce((p, d) => p * d, 1);
  const a = { data: codes(n, 1), shape: aShape };
  const b = { data: codes(nb, 2), shape: bShape };
  const [sa, za, sb, zb, sy, zy] = op === 'add' ? [0.05, 3, 0.04, -5, 0.08, -2] : [0.05, 3, 1 / 255, -128, 0.05, 0];
  const af = qw.dequantizeLinear(a, sa, za);
  const bf = qw.dequantizeLinear(b, sb, zb);
  const layer = (op === 'add' ? qw.addLayer : qw.mulLayer).call(qw, {
    a: { scale: sa, zeroPoint: za },
    b: { scale: sb, zeroPoint: zb },
    output: { scale: sy, zeroPoint: zy },
  });
  const out = { data: new Int8Array(n), shape: aShape };
  const qop = op === 'add' ? qw.qlinearAdd.bind(qw) : qw.qlinearMul.bind(qw);
  const fop = op === 'add' ? qw.addF32.bind(qw) : qw.mulF32.bind(qw);
  const cases = {
    'int8 layer': () => layer.run([a, b], out),
    'int8 op': () => qop(a, sa, za, b, sb, zb, sy, zy),
    'f32 twin': () => fop(af, bf),
    'dequant-f32-quant': () => {
      const x = qw.dequantizeLinear(a, sa, za);
      const y = qw.dequantizeLinear(b, sb, zb);
      return qw.quantizeLinear(fop(x, y), sy, Int8Array.of(zy));
    },
  };
  const ortRun = await ortCase(
    op === 'add' ? 'QLinearAdd' : 'QLinearMul',
    [
      { name: 'a', type: 'int8', dims: aShape },
      ...q8('a', sa, za),
      { name: 'b', type: 'int8', dims: bShape },
      ...q8('b', sb, zb),
      ...q8('y', sy, zy),
    ],
    { a: [a.data, aShape], b: [b.data, bShape] },
  );
  if (ortRun) cases['ort-web int8'] = ortRun;
  return { name, desc, elements: n, cases };
}

async function lookupCase(kind, shape) {
  const n = shape.reduce((p, d) => p * d, 1);
  const x = { data: codes(n, 3), shape };
  const [sx, zx, sy, zy] = [0.04, 0, kind === 'sigmoid' ? 1 / 256 : 0.03, kind === 'sigmoid' ? -128 : -10];
  const fn = FN[kind];
  const xf = qw.dequantizeLinear(x, sx, zx);
  const layer = qw.lookupLayer({ fn, input: { scale: sx, zeroPoint: zx }, output: { scale: sy, zeroPoint: zy } });
  const out = { data: new Int8Array(n), shape };
  const alpha = kind === 'leakyRelu' ? { alpha: 0.1 } : undefined;
  const cases = {
    'int8 layer': () => layer.run(x, out),
    'int8 op': () =>
      kind === 'sigmoid'
        ? qw.qlinearSigmoid(x, sx, zx, sy, zy)
        : kind === 'leakyRelu'
          ? qw.qlinearLeakyRelu(x, sx, zx, sy, zy, alpha)
          : qw.qlinearLookup(x, fn, sx, zx, sy, zy),
    'f32 twin': () => qw.unaryF32(xf, kind, alpha),
    'dequant-f32-quant': () =>
      qw.quantizeLinear(qw.unaryF32(qw.dequantizeLinear(x, sx, zx), kind, alpha), sy, Int8Array.of(zy)),
  };
  if (kind === 'sigmoid' || kind === 'leakyRelu') {
    const run = await ortCase(
      kind === 'sigmoid' ? 'QLinearSigmoid' : 'QLinearLeakyRelu',
      [{ name: 'x', type: 'int8', dims: shape }, ...q8('x', sx, zx), ...q8('y', sy, zy)],
      { x: [x.data, shape] },
      kind === 'leakyRelu' ? { alpha: { float: 0.1 } } : {},
    );
    if (run) cases['ort-web int8'] = run;
  }
  return { name: `${kind}-112`, desc: `${kind} lookup 1x112x112x16`, elements: n, cases };
}

/**
 * Four 160 x 160 maps of 24 channels joined along channels: NHWC (axis 3, runs of 24 codes
 * per pixel) or NCHW (axis 1, one run of 160 x 160 x 24 codes per input).
 */
async function concatCase(layout) {
  const nhwc = layout === 'NHWC';
  const shape = nhwc ? [1, 160, 160, 24] : [1, 24, 160, 160];
  const axis = nhwc ? 3 : 1;
  const n = 160 * 160 * 24;
  const xs = [0, 1, 2, 3].map((i) => ({ data: codes(n, 10 + i), shape }));
  const scales = [0.05, 0.04, 0.06, 0.05];
  const zps = [0, 3, -2, 0];
  const [sy, zy] = [0.05, 0];
  const fs = xs.map((x, i) => qw.dequantizeLinear(x, scales[i], zps[i]));
  /** @type {import('../dist/index.js').QuantizedInput[]} */
  const inputs = xs.map((x, i) => [x, scales[i], zps[i]]);
  const layer = qw.concatLayer({
    inputs: scales.map((scale, i) => ({ scale, zeroPoint: zps[i] })),
    output: { scale: sy, zeroPoint: zy },
    axis,
  });
  const out = { data: new Int8Array(4 * n), shape: nhwc ? [1, 160, 160, 96] : [1, 96, 160, 160] };
  const cases = {
    'int8 layer': () => layer.run(xs, out),
    'int8 op': () => qw.qlinearConcat(inputs, sy, zy, { axis }),
    'f32 twin': () => qw.concatF32(fs, { axis }),
    'dequant-f32-quant': () =>
      qw.quantizeLinear(
        qw.concatF32(
          xs.map((x, i) => qw.dequantizeLinear(x, scales[i], zps[i])),
          { axis },
        ),
        sy,
        Int8Array.of(zy),
      ),
  };
  /** @type {any[]} */
  const nodeInputs = [...q8('y', sy, zy)];
  xs.forEach((_, i) =>
    nodeInputs.push({ name: `x${i}`, type: 'int8', dims: shape }, ...q8(`x${i}`, scales[i], zps[i])),
  );
  const feeds = Object.fromEntries(xs.map((x, i) => [`x${i}`, [x.data, shape]]));
  const run = await ortCase('QLinearConcat', nodeInputs, feeds, { axis });
  if (run) cases['ort-web int8'] = run;
  return {
    name: nhwc ? 'concat-160' : 'concat-160-nchw',
    desc: nhwc
      ? 'concat 4 x 1x160x160x24 (NHWC, axis 3; 2 requantized, 2 copied)'
      : 'concat 4 x 1x24x160x160 (NCHW, axis 1; 2 requantized, 2 copied)',
    elements: 4 * n,
    cases,
  };
}

async function softmaxCase() {
  const shape = [8, 1000];
  const x = { data: codes(8000, 5), shape };
  const [sx, zx, sy, zy] = [0.1, 0, 1 / 256, -128];
  const xf = qw.dequantizeLinear(x, sx, zx);
  const layer = qw.softmaxLayer({ input: { scale: sx, zeroPoint: zx }, output: { scale: sy, zeroPoint: zy } });
  const out = { data: new Int8Array(8000), shape };
  const cases = {
    'int8 layer': () => layer.run(x, out),
    'int8 op': () => qw.qlinearSoftmax(x, sx, zx, sy, zy),
    'f32 twin': () => qw.softmaxF32(xf),
    'dequant-f32-quant': () => qw.quantizeLinear(qw.softmaxF32(qw.dequantizeLinear(x, sx, zx)), sy, Int8Array.of(zy)),
  };
  const run = await ortCase(
    'QLinearSoftmax',
    [{ name: 'x', type: 'int8', dims: shape }, ...q8('x', sx, zx), ...q8('y', sy, zy)],
    { x: [x.data, shape] },
    { axis: -1, opset: 13 },
  );
  if (run) cases['ort-web int8'] = run;
  return { name: 'softmax-8x1000', desc: 'softmax 8x1000 (last axis)', elements: 8000, cases };
}

/** The lookup kernels alone, in wasm memory: swizzle over 16-byte slices, scalar loads, the pair table. */
async function lookupKernelCase() {
  const build = await loadBuild('simd');
  const k = build.kernels;
  const n = 112 * 112 * 16;
  const pages = Math.ceil((k.heap_base() + 2 * n + 131072 + 4096) / 65536);
  const have = build.memory.buffer.byteLength / 65536;
  if (pages > have) build.memory.grow(pages - have);
  const base = (k.heap_base() + 63) & ~63;
  const table = base;
  const pairs = base + 256;
  const x = pairs + 131072;
  const out = x + n + 64;
  const u8 = new Uint8Array(build.memory.buffer);
  for (let i = 0; i < 256; i++) u8[table + i] = (i * 7 + 3) & 0xff;
  u8.set(new Uint8Array(codes(n, 4).buffer), x);
  k.lookup_pairs_build(table, pairs);
  return {
    name: 'lookup-kernel',
    desc: `lookup kernels alone, ${n} codes in wasm memory`,
    elements: n,
    cases: {
      'swizzle (lookup_u8_swizzle)': () => k.lookup_u8_swizzle(x, n, table, out),
      'scalar loads (lookup_u8)': () => k.lookup_u8(x, n, n, 1, table, out, n),
      'pair table (lookup_u8_pairs)': () => k.lookup_u8_pairs(x, n, n, 1, pairs, out, n),
    },
  };
}

const builders = [
  () => binaryCase('add', 'add-56', 'residual add 1x56x56x24', [1, 56, 56, 24], [1, 56, 56, 24]),
  () => binaryCase('add', 'add-14', 'residual add 1x14x14x96', [1, 14, 14, 96], [1, 14, 14, 96]),
  () => binaryCase('mul', 'se-28', 'SE multiply 1x28x28x40 by 1x1x1x40', [1, 28, 28, 40], [1, 1, 1, 40]),
  ...['hardSwish', 'sigmoid', 'tanh', 'gelu', 'silu', 'leakyRelu'].map((k) => () => lookupCase(k, [1, 112, 112, 16])),
  () => concatCase('NHWC'),
  () => concatCase('NCHW'),
  softmaxCase,
  lookupKernelCase,
];

const results = [];
for (const build of builders) {
  const c = await build();
  if (only && !only.includes(c.name)) continue;
  const r = opts.wall
    ? await repeat(Number(opts.runs), () => measure(c.name, c.cases))
    : await measureInterleavedAsync(c.cases, { rounds: Number(opts.rounds) });
  results.push({ ...c, r });
  const us = Object.entries(r.median)
    .map(([k, v]) => `${k} ${fmt(v * 1e6)} us`)
    .join(', ');
  console.log(`${c.name}: ${us}`);
}

const rows = [];
// the version onnxruntime-web reports itself (its package.json is not exported)
const ortVersion = ort?.env?.versions?.web ?? versions()['onnxruntime-web'];
const data = {
  versions: { ...versions(), 'onnxruntime-web': ortVersion },
  build: qw.backend,
  threads: 1,
  clock: opts.wall ? 'wall' : 'cpu',
  runs: opts.wall ? Number(opts.runs) : Number(opts.rounds),
  cases: [],
};
for (const { name, desc, elements, r } of results) {
  const us = (k) => (k in r.median ? fmt(r.median[k] * 1e6) : '-');
  const ratio = (fast, slow) => (fast in r.median && slow in r.median ? `${fmt(speedup(r, fast, slow), 2)}x` : '-');
  if (name === 'lookup-kernel') {
    const sw = 'swizzle (lookup_u8_swizzle)';
    const sc = 'scalar loads (lookup_u8)';
    const pr = 'pair table (lookup_u8_pairs)';
    rows.push([
      `${desc}: swizzle / scalar loads / pair table`,
      `${us(sw)} / ${us(sc)} / ${us(pr)}`,
      '-',
      '-',
      '-',
      '-',
      `speed vs scalar loads: pair table ${ratio(pr, sc)}, swizzle ${ratio(sw, sc)}`,
      '-',
      '-',
      '-',
    ]);
  } else {
    const best = 'int8 layer' in r.median ? 'int8 layer' : 'int8 op';
    rows.push([
      desc,
      us('int8 layer'),
      us('int8 op'),
      us('f32 twin'),
      us('dequant-f32-quant'),
      'ort-web int8' in r.median ? us('ort-web int8') : 'no contrib op',
      ratio(best, 'f32 twin'),
      ratio(best, 'dequant-f32-quant'),
      ratio(best, 'ort-web int8'),
      'int8 layer' in r.median ? ratio('int8 op', 'ort-web int8') : '-',
    ]);
  }
  data.cases.push({ name, desc, elements, medianSeconds: r.median, runs: r.runs });
}
save(
  `elementwise-node${process.versions.node.split('.')[0]}`,
  data,
  [
    'case',
    'int8 layer us',
    'int8 op us',
    'f32 twin us',
    'dequant->f32->quant us',
    'ort-web int8 us',
    'int8 vs f32',
    'int8 vs dequant path',
    'int8 vs ort-web',
    'int8 op vs ort-web',
  ],
  rows,
  [
    `qwasm ${qw.backend} build, 1 thread; onnxruntime-web ${data.versions['onnxruntime-web']} (wasm, 1 thread).`,
    opts.wall
      ? 'Times: wall clock (benny), medians of runs.'
      : `Times: CPU time of the process in interleaved rounds (what a loaded machine does not inflate), medians of rounds${globalThis.gc ? '; the heap collected before each chunk (--expose-gc)' : ''}.`,
    'Ratios: the int8 layer (the int8 op where there is no layer form) against each column, and the op form against onnxruntime-web (both allocate their result), median of per-run ratios.',
    'Op forms copy their inputs into wasm memory and allocate the result; layers reuse workspaces and write into `out`.',
    'onnxruntime-web has no int8 operator for hard-swish, tanh, GELU or SiLU (no contrib op).',
  ],
);
qw.dispose();
