// Calibration methods compared on the same data: the MSE each clipping range gives
// (fake quantization of the data itself) relative to min-max, the objective evaluations
// the searches spent, and plain wall time. Data: seeded Gaussian, Laplacian, Student-t
// (3 degrees of freedom) and ReLU-rectified Gaussian samples, and the trained weights of
// the demo model (examples/mnist). Symmetric signed schemes, except asymmetric unsigned
// for the ReLU data. Usage: node bench/calibration.bench.mjs [--n 131072]
import { HistogramObserver, MinMaxObserver, fakeQuantize, quantError, searchClipRange } from '../dist/index.js';
import { loadModel } from '../examples/mnist/model.mjs';
import { args, fmt, save } from './lib.mjs';

const opts = args({ n: 1 << 17 });
const n = Number(opts.n);

/** mulberry32, as the tests use. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function samples(kind, count, seed) {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (kind === 'gaussian') out[i] = normal();
    else if (kind === 'relu') out[i] = Math.max(0, normal());
    else if (kind === 'laplacian') {
      const u = r() - 0.5;
      out[i] = -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    } else {
      let chi = 0;
      for (let j = 0; j < 3; j++) chi += normal() ** 2;
      out[i] = normal() / Math.sqrt(chi / 3);
    }
  }
  return out;
}

const model = await loadModel();
const DATA = [
  ['Gaussian', samples('gaussian', n, 1)],
  ['Laplacian', samples('laplacian', n, 2)],
  ['Student-t (3)', samples('student-t', n, 3)],
  ['ReLU(Gaussian)', samples('relu', n, 4)],
  ['demo fc.weight', model.params['fc.weight']],
  ['demo conv2.weight', model.params['conv2.weight']],
];
const BITS = [8, 6, 4];
/** @type {import('../dist/index.js').SearchMethod[]} */
const SEARCHES = ['grid', 'golden', 'random', 'pso'];
const BUDGETS = [16, 64];
const BATCH = 8192;

const timed = (f) => {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
};
const mseOf = (x, params) => quantError(x, fakeQuantize(x, params)).mse;

/** Feeds x in batches, as calibration data arrives. */
function observe(o, x) {
  for (let i = 0; i < x.length; i += BATCH) o.observe(x.subarray(i, i + BATCH));
  return o;
}

const results = [];
const rows = [];
const methodTime = {};
for (const [name, x] of DATA) {
  for (const bits of BITS) {
    const scheme = name.startsWith('ReLU') ? { bits, signed: false, symmetric: false } : { bits };
    const [mmParams, tMinmax] = timed(() => observe(new MinMaxObserver(), x).params(scheme));
    const base = mseOf(x, mmParams);
    const entry = { data: name, bits, values: x.length, scheme, minmaxMse: base, methods: {} };
    const record = (method, mse, ms, evaluations) => {
      entry.methods[method] = { mse, ratio: mse / base, ms, evaluations };
      (methodTime[method] ??= []).push(ms);
    };
    record('min-max', base, tMinmax, 0);
    for (const [label, o] of /** @type {[string, () => HistogramObserver][]} */ ([
      ['percentile 99.99', () => new HistogramObserver({ method: 'percentile', percentile: 99.99 })],
      ['hist mse', () => new HistogramObserver({ method: 'mse' })],
      ['entropy', () => new HistogramObserver({ method: 'entropy' })],
    ])) {
      const [p, ms] = timed(() => observe(o(), x).params(scheme));
      record(label, mseOf(x, p), ms, 0);
    }
    for (const budget of BUDGETS) {
      for (const method of SEARCHES) {
        const [r, ms] = timed(() => searchClipRange(x, { scheme, method, budget, seed: 1 }));
        record(`${method} ${budget}`, r.loss, ms, r.evaluations);
      }
    }
    results.push(entry);
    const m = entry.methods;
    const best = Math.min(...Object.values(m).map((v) => v.ratio));
    // bold: within 0.2% of the best in the row
    const cell = (k) => (m[k].ratio <= best * 1.002 ? `**${fmt(m[k].ratio, 3)}**` : fmt(m[k].ratio, 3));
    rows.push([
      name,
      String(bits),
      base.toExponential(2),
      cell('percentile 99.99'),
      cell('hist mse'),
      cell('entropy'),
      ...BUDGETS.flatMap((b) => SEARCHES.map((s) => cell(`${s} ${b}`))),
    ]);
  }
}

const avg = (a) => a.reduce((s, v) => s + v, 0) / a.length;
save(
  'calibration',
  { n, results, meanMs: Object.fromEntries(Object.entries(methodTime).map(([k, v]) => [k, avg(v)])) },
  [
    'data',
    'bits',
    'min-max MSE',
    'pct 99.99',
    'hist mse',
    'entropy',
    ...BUDGETS.flatMap((b) => SEARCHES.map((s) => `${s} ${b}`)),
  ],
  rows,
  [
    `MSE of the data fake-quantized with each method's range, divided by min-max's MSE (below 1: better than min-max; bold: within 0.2% of the best in the row). ${n} seeded samples per distribution; the demo weights are examples/mnist's trained tensors (${model.params['fc.weight'].length} and ${model.params['conv2.weight'].length} values).`,
    'Histogram methods (2048 bins, data fed in batches of 8192) spend no objective evaluations; `grid/golden/random/pso N` spent exactly N evaluations of the true data MSE (each one fake quantization pass over the data), the first of them the full range.',
    `Mean wall time per calibration (ms): ${Object.entries(methodTime)
      .map(([k, v]) => `${k} ${fmt(avg(v), 1)}`)
      .join(', ')}.`,
  ],
);
