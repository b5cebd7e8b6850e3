// Threads: the GEMM shapes of bench/gemm.bench.mjs and the conv layers of
// bench/conv.bench.mjs on 1 and 2 threads in the same run, int8 and float32, with
// onnxruntime-web at 2 threads (MatMulInteger u8s8 and QLinearMatMul u8, the faster one)
// as the GEMM peer; then the other layers on the pool (int4 and residual linear, binary
// linear and conv), 1 and 2 threads. Usage:
//   node bench/threads.bench.mjs [--runs 5] [--threads 2] [--shapes 128x768x768,...] [--convs r3x3-56,...|none]
//        [--layers int4-128x4096x4096,...|none] [--no-ort] [--wait-idle] [--no-split]
// --no-split keeps every call of the threaded engine on the calling thread: what is left is
// the cost of the shared memory itself (its copies in and out, its wasm code).
// This machine is shared: run it when `uptime` shows a low load (--wait-idle waits for idle
// cores before each shape), and read the medians.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Qwasm, residualQuantize } from '../dist/index.js';
import { args, fmt, machine, measure, repeat, speedup } from './lib.mjs';
import { ortMatMulSession } from './peers/engines.mjs';
import { minOpsPerPart } from '../dist/threads/partition.js';
import { CONV_SHAPES, convLayers, convOps } from './conv.bench.mjs';

const opts = args({ runs: 5, threads: 2 });
const T = Number(opts.threads);
if (opts['no-split']) for (const k of Object.keys(minOpsPerPart)) minOpsPerPart[k] = Infinity;
const SHAPES = (opts.shapes ?? '1x768x768,128x768x768,128x768x3072,256x256x256,512x512x512,1024x1024x1024')
  .split(',')
  .map((s) => s.split('x').map(Number));
// the conv layers of bench/conv.bench.mjs (--convs r3x3-56,dw-112 picks some, --convs none skips them)
const CONVS = CONV_SHAPES.filter((sh) => !opts.convs || String(opts.convs).split(',').includes(sh.name));

// onnxruntime-web fixes its thread count when its wasm first loads: set it before any session
let ort = null;
if (!opts['no-ort']) {
  try {
    ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = T;
  } catch {
    ort = null;
  }
}

/** CPU time (ms) all cores spent busy, and the total, from the kernel's counters. */
function cpuTimes() {
  let busy = 0;
  let all = 0;
  for (const { times: t } of os.cpus()) {
    busy += t.user + t.nice + t.sys + t.irq;
    all += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, all };
}

/** Busy share of all cores over `ms` (0..1). */
async function busyShare(ms) {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  return (b.busy - a.busy) / Math.max(1, b.all - a.all);
}

/**
 * With --wait-idle, waits (up to 15 minutes) until other processes leave the cores alone
 * before each shape: on a shared machine a 2-thread timing means little otherwise.
 */
async function waitIdle() {
  if (!opts['wait-idle']) return;
  const end = Date.now() + 15 * 60e3;
  while (Date.now() < end && (await busyShare(1500)) > 0.08) await new Promise((r) => setTimeout(r, 3000));
}

/**
 * Measures one shape; with --wait-idle, again (up to 3 times) when other processes took
 * more than a tenth of a core meanwhile: the machine's CPU time minus this process's own.
 */
async function measureShape(title, cases) {
  for (let attempt = 0; ; attempt++) {
    await waitIdle();
    const machine0 = cpuTimes();
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await repeat(Number(opts.runs), () => measure(title, cases));
    const own = process.cpuUsage(own0);
    const others = cpuTimes().busy - machine0.busy - (own.user + own.system) / 1000;
    const share = others / (performance.now() - t0);
    if (!opts['wait-idle'] || share < 0.1 || attempt === 2) return { ...res, othersCpu: share };
    console.log(`${title}: other processes used ${share.toFixed(2)} of a core meanwhile; measuring again`);
  }
}

// its package.json is not exported, so ask the library itself
const ortVersion = ort?.env.versions?.web ?? '-';

const qw1 = await Qwasm.create();
const qwT = await Qwasm.create({ threads: T });

function fill(a, lo, hi, seed = 7) {
  let s = seed;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = lo + ((s >>> 8) % (hi - lo + 1));
  }
  return a;
}

const results = [];
const rows = [];

for (const [M, K, N] of SHAPES) {
  const ops = 2 * M * N * K;
  const w = fill(new Int8Array(N * K), -127, 127);
  const xs = fill(new Int8Array(M * K), -128, 127, 11);
  const xu = fill(new Uint8Array(M * K), 0, 255, 13);
  const wf = Float32Array.from(w, (v) => v / 127);
  const xf = Float32Array.from(xs, (v) => v / 128);
  const common = { weights: { data: w, shape: [N, K] }, weightScale: 0.01, output: { scale: 0.5, zeroPoint: 0 } };
  const make = (qw) => ({
    s8: qw.linear({ ...common, input: { scale: 0.02, zeroPoint: 0, dtype: 'int8' } }),
    u8: qw.linear({ ...common, input: { scale: 0.02, zeroPoint: 128, dtype: 'uint8' } }),
    f32: qw.linearF32({ weights: { data: wf, shape: [N, K] } }),
  });
  const L1 = make(qw1);
  const LT = make(qwT);
  const o8 = new Int8Array(M * N);
  const ou8 = new Uint8Array(M * N);
  const of = new Float32Array(M * N);
  const cases = {
    'int8 1t': () => L1.s8.run(xs, o8),
    [`int8 ${T}t`]: () => LT.s8.run(xs, o8),
    'uint8 1t': () => L1.u8.run(xu, ou8),
    [`uint8 ${T}t`]: () => LT.u8.run(xu, ou8),
    'f32 1t': () => L1.f32.run(xf, of),
    [`f32 ${T}t`]: () => LT.f32.run(xf, of),
  };
  let sessions = [];
  if (ort) {
    const wKN = new Int8Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wKN[k * N + n] = w[n * K + k];
    const mi = await ortMatMulSession(ort, 'MatMulInteger', 'uint8', wKN, M, K, N, { intraOpNumThreads: T });
    const ql = await ortMatMulSession(ort, 'QLinearMatMul', 'uint8', wKN, M, K, N, { intraOpNumThreads: T });
    sessions = [mi, ql];
    const tu = new ort.Tensor('uint8', xu, [M, K]);
    cases[`ort MatMulInteger ${T}t`] = () => mi.run({ a: tu });
    cases[`ort QLinearMatMul ${T}t`] = () => ql.run({ a: tu });
  }
  const res = await measureShape(`${M}x${K}x${N}`, cases);
  const g = (name) => ops / res.median[name] / 1e9;
  const ortBest = ort
    ? [`ort MatMulInteger ${T}t`, `ort QLinearMatMul ${T}t`].reduce((a, b) => (g(a) > g(b) ? a : b))
    : null;
  const row = {
    shape: `${M}x${K}x${N}`,
    othersCpu: res.othersCpu,
    gops: Object.fromEntries(Object.keys(res.median).map((k) => [k, g(k)])),
    int8Speedup: speedup(res, `int8 ${T}t`, 'int8 1t'),
    uint8Speedup: speedup(res, `uint8 ${T}t`, 'uint8 1t'),
    f32Speedup: speedup(res, `f32 ${T}t`, 'f32 1t'),
    ortBest,
    int8VsOrt: ortBest ? speedup(res, `int8 ${T}t`, ortBest) : null,
    uint8VsOrt: ortBest ? speedup(res, `uint8 ${T}t`, ortBest) : null,
  };
  results.push(row);
  rows.push([
    row.shape,
    fmt(g('int8 1t')),
    fmt(g(`int8 ${T}t`)),
    fmt(row.int8Speedup, 2) + 'x',
    fmt(row.uint8Speedup, 2) + 'x',
    fmt(g('f32 1t')),
    fmt(g(`f32 ${T}t`)),
    fmt(row.f32Speedup, 2) + 'x',
    ortBest ? fmt(g(ortBest)) : '-',
    row.int8VsOrt ? fmt(row.int8VsOrt, 2) + 'x' : '-',
    row.uint8VsOrt ? fmt(row.uint8VsOrt, 2) + 'x' : '-',
  ]);
  for (const L of [L1, LT]) for (const l of Object.values(L)) l.dispose();
  for (const s of sessions) await s.release();
}

for (const sh of CONVS) {
  const { ops } = convOps(sh);
  const L1 = convLayers(qw1, sh);
  const LT = convLayers(qwT, sh);
  const cases = {
    'int8 1t': () => L1.s8.run(L1.x8, L1.y8),
    [`int8 ${T}t`]: () => LT.s8.run(LT.x8, LT.y8),
    'f32 1t': () => L1.f32.run(L1.xf, L1.yf),
    [`f32 ${T}t`]: () => LT.f32.run(LT.xf, LT.yf),
  };
  const res = await measureShape(sh.desc, cases);
  const g = (name) => ops / res.median[name] / 1e9;
  const row = {
    shape: sh.desc,
    othersCpu: res.othersCpu,
    path: L1.s8.path,
    gops: Object.fromEntries(Object.keys(res.median).map((n) => [n, g(n)])),
    int8Speedup: speedup(res, `int8 ${T}t`, 'int8 1t'),
    f32Speedup: speedup(res, `f32 ${T}t`, 'f32 1t'),
  };
  results.push(row);
  rows.push([
    sh.desc,
    fmt(g('int8 1t')),
    fmt(g(`int8 ${T}t`)),
    fmt(row.int8Speedup, 2) + 'x',
    '-',
    fmt(g('f32 1t')),
    fmt(g(`f32 ${T}t`)),
    fmt(row.f32Speedup, 2) + 'x',
    '-',
    '-',
    '-',
  ]);
  L1.dispose();
  LT.dispose();
}

/**
 * The other layers the pool splits, each built on both engines by `make(qw)`, which
 * returns { ops per call, run, dispose }. Ops: 2*M*N*K (binary: bit-MACs, 2 per +-1 product).
 */
const LAYERS = [
  { name: 'int4-128x4096x4096', desc: 'int4 linear 128x4096x4096', make: (qw) => int4Layer(qw, 128, 4096, 4096) },
  {
    name: 'residual-128x1024x1024',
    desc: 'residual linear 128x1024x1024',
    make: (qw) => residualLayer(qw, 128, 1024, 1024),
  },
  {
    name: 'binary-128x4096x1024',
    desc: 'binary linear 128x4096x1024',
    make: (qw) => binaryLinearLayer(qw, 128, 4096, 1024),
  },
  { name: 'bconv-56x256', desc: 'binary conv 56x56x256->256 3x3', make: (qw) => binaryConvLayer(qw, 56, 256, 256) },
  {
    name: 'maxpool-112x64',
    desc: 'max pool 3x3 s2, 1x112x112x64',
    make: (qw) => mapLayer(qw, 'maxpool', 112, 112, 64),
  },
  {
    name: 'resize-nearest-40x96',
    desc: 'resize x2 nearest, 1x40x40x96',
    make: (qw) => mapLayer(qw, 'nearest', 40, 40, 96),
  },
  {
    name: 'resize-linear-40x96',
    desc: 'resize x2 linear, 1x40x40x96',
    make: (qw) => mapLayer(qw, 'linear', 40, 40, 96),
  },
  { name: 'convt-160x96', desc: 'transposed conv 2x2 s2 96->96, 1x160x160x96', make: (qw) => convTLayer(qw, 160, 96) },
].filter(({ name }) => !opts.layers || String(opts.layers).split(',').includes(name));

function int4Layer(qw, M, K, N) {
  const layer = qw.linear({
    weightBits: 4,
    weights: { data: fill(new Int8Array(N * K), -8, 7), shape: [N, K] },
    weightScale: 0.01,
    input: { scale: 0.02, zeroPoint: 0 },
    output: { scale: 0.5, zeroPoint: 0 },
  });
  const x = fill(new Int8Array(M * K), -128, 127, 11);
  const y = new Int8Array(M * N);
  return { ops: 2 * M * N * K, run: () => layer.run(x, y), dispose: () => layer.dispose() };
}

function residualLayer(qw, M, K, N) {
  const w = Float32Array.from(fill(new Int8Array(N * K), -127, 127), (v) => v / 127);
  const layer = qw.linearResidual({ weights: residualQuantize({ data: w, shape: [N, K] }, 2, { axis: 0 }) });
  const x = Float32Array.from(fill(new Int8Array(M * K), -128, 127, 11), (v) => v / 128);
  const y = new Float32Array(M * N);
  return { ops: 2 * M * N * K, run: () => layer.run(x, y), dispose: () => layer.dispose() };
}

function binaryLinearLayer(qw, M, K, N) {
  const w = Float32Array.from(fill(new Int8Array(N * K), -127, 127));
  const layer = qw.binaryLinear({ weights: { data: w, shape: [N, K] } });
  const x = qw.bitpack({ data: Float32Array.from(fill(new Int8Array(M * K), -128, 127, 11)), shape: [M, K] });
  const y = { data: new Float32Array(M * N), shape: [M, N] };
  return { ops: 2 * M * N * K, run: () => layer.run(x, y), dispose: () => layer.dispose() };
}

function binaryConvLayer(qw, HW, C, O) {
  const w = Float32Array.from(fill(new Int8Array(O * 9 * C), -127, 127));
  const layer = qw.binaryConv2dLayer({ weights: { data: w, shape: [O, 3, 3, C] }, pads: [1, 1, 1, 1] });
  const x = qw.bitpack({
    data: Float32Array.from(fill(new Int8Array(HW * HW * C), -128, 127, 11)),
    shape: [1, HW, HW, C],
  });
  const y = { data: new Float32Array(HW * HW * O), shape: [1, HW, HW, O] };
  return { ops: 2 * HW * HW * O * 9 * C, run: () => layer.run(x, y), dispose: () => layer.dispose() };
}

/** Max pool or resize (int8 layers) on 1 x H x W x C; ops: output values x window taps. */
function mapLayer(qw, kind, H, W, C) {
  const x = { data: fill(new Int8Array(H * W * C), -128, 127, 11), shape: [1, H, W, C] };
  const layer =
    kind === 'maxpool'
      ? qw.maxPool2d({ kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })
      : qw.resize2d({ scales: [1, 2, 2, 1], mode: kind });
  const y = layer.run(x);
  const taps = kind === 'maxpool' ? 9 : kind === 'linear' ? 4 : 1;
  return { ops: y.data.length * taps, run: () => layer.run(x, y), dispose: () => layer.dispose() };
}

/** Transposed conv 2x2 stride 2, C -> C channels, on 1 x HW x HW x C. */
function convTLayer(qw, HW, C) {
  const layer = qw.convTranspose2d({
    weights: { data: fill(new Int8Array(C * 4 * C), -127, 127, 3), shape: [C, 2, 2, C] },
    weightScale: 0.01,
    strides: [2, 2],
    input: { scale: 0.02, zeroPoint: 0 },
    output: { scale: 0.5, zeroPoint: 0 },
  });
  const x = { data: fill(new Int8Array(HW * HW * C), -128, 127, 11), shape: [1, HW, HW, C] };
  const y = layer.run(x);
  return { ops: 2 * HW * HW * C * 4 * C, run: () => layer.run(x, y), dispose: () => layer.dispose() };
}

const layerRows = [];
for (const { name, desc, make } of LAYERS) {
  const L1 = make(qw1);
  const LT = make(qwT);
  const res = await measureShape(desc, { '1t': L1.run, [`${T}t`]: LT.run });
  const g = (c) => L1.ops / res.median[c] / 1e9;
  const row = {
    layer: name,
    othersCpu: res.othersCpu,
    gops: { '1t': g('1t'), [`${T}t`]: g(`${T}t`) },
    speedup: speedup(res, `${T}t`, '1t'),
  };
  results.push(row);
  layerRows.push([desc, fmt(g('1t')), fmt(g(`${T}t`)), fmt(row.speedup, 2) + 'x']);
  L1.dispose();
  LT.dispose();
}

qw1.dispose();
qwT.dispose();

const info = machine();
const suite = `threads-node${process.versions.node.split('.')[0]}`;
const columns = [
  'shape',
  'int8 1t',
  `int8 ${T}t`,
  `int8 ${T}t/1t`,
  `uint8 ${T}t/1t`,
  'f32 1t',
  `f32 ${T}t`,
  `f32 ${T}t/1t`,
  `ort best ${T}t`,
  `int8 ${T}t / ort`,
  `uint8 ${T}t / ort`,
];
const lines = [
  `# ${suite}`,
  '',
  `${info.cpu}, ${info.cores} cores, Node ${info.node}, ${info.date.slice(0, 10)}; qwasm build ${qw1.backend}, 1 and ${T} threads in the same run, median of ${opts.runs} runs.`,
  '',
  `| ${columns.join(' | ')} |`,
  `|${columns.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
  'GEMM shapes are M x K x N; int8 columns in GOPS (2*M*N*K per call), f32 in GFLOP/s; every call includes copy-in, activation packing and copy-out.',
  `Speedups are medians of per-run time ratios measured in the same run. ort = onnxruntime-web ${ortVersion} at ${T} threads, the faster of MatMulInteger (u8 x s8 -> int32) and QLinearMatMul (u8).`,
];
if (layerRows.length > 0) {
  lines.push(
    '',
    `| layer | 1t | ${T}t | ${T}t/1t |`,
    '|---|---|---|---|',
    ...layerRows.map((r) => `| ${r.join(' | ')} |`),
    '',
    'Layers in GOPS: 2*M*N*K per call (binary: K in bits); pools and resize in G output values x window taps per second. Copies in and out included.',
  );
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL(`./results/${suite}.json`, import.meta.url),
  JSON.stringify(
    {
      suite,
      ...info,
      threads: T,
      runs: Number(opts.runs),
      backend: qw1.backend,
      peers: { 'onnxruntime-web': ortVersion },
      results,
    },
    null,
    2,
  ) + '\n',
);
writeFileSync(new URL(`./results/${suite}.md`, import.meta.url), lines.join('\n') + '\n');
console.log(lines.join('\n'));
// onnxruntime-web's own worker threads would keep the process alive
process.exit(0);
