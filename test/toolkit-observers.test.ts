import { describe, expect, it } from 'vitest';
import {
  HistogramObserver,
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  QwasmError,
  fakeQuantize,
  paramsFromRange,
  quantError,
  searchClipRange,
  type Observer,
  type QuantScheme,
} from '../src/index.js';
import { rng } from './helpers.js';
import { fakeQuantMse, klBestIndex, samples } from './reference/toolkit.js';
import { loadModel } from '../examples/mnist/model.mjs';

const methods = ['mse', 'percentile', 'entropy'] as const;
const all = (): [string, () => Observer][] => [
  ['minmax', () => new MinMaxObserver()],
  ['moving average', () => new MovingAverageMinMaxObserver()],
  ...methods.map((m) => [`histogram ${m}`, () => new HistogramObserver({ method: m })] as [string, () => Observer]),
];
const dataMse = (x: Float32Array, o: Observer, s: QuantScheme) => quantError(x, fakeQuantize(x, o.params(s))).mse;

describe('observers on edge-case data', () => {
  for (const [name, make] of all()) {
    it(`${name}: constant input gives the constant as range, exactly representable`, () => {
      const o = make();
      for (let b = 0; b < 3; b++) o.observe(new Float32Array(1000).fill(2.5));
      const r = o.range({ bits: 8 });
      expect([r.min[0], r.max[0]]).toEqual([2.5, 2.5]);
      const p = o.params({ bits: 8 });
      expect(fakeQuantize(new Float32Array([2.5]), p)[0]).toBeCloseTo(2.5, 6);
      const z = make().observe(new Float32Array(10));
      expect([z.range().min[0], z.range().max[0]]).toEqual([0, 0]);
      expect(z.params().scale[0]).toBe(1);
    });

    it(`${name}: all-negative input stays negative; asymmetric zero point at qmax`, () => {
      const r = rng(3);
      const o = make();
      for (let b = 0; b < 4; b++) o.observe(Float32Array.from({ length: 5000 }, () => -1 - 3 * r()));
      const rg = o.range({ bits: 8, symmetric: false });
      expect(rg.max[0]!).toBeLessThanOrEqual(0);
      expect(rg.min[0]!).toBeLessThan(rg.max[0]!);
      expect(rg.min[0]!).toBeGreaterThanOrEqual(-4);
      const p = o.params({ bits: 8, signed: false, symmetric: false });
      expect(p.zeroPoint[0]).toBe(255);
    });

    it(`${name}: NaN and +-Inf are ignored and counted; no finite value is a QwasmError`, () => {
      const o = make();
      o.observe(new Float32Array([1, NaN, -2, Infinity, -Infinity, NaN, 0.5]));
      expect([o.count, o.nanCount, o.posInfCount, o.negInfCount]).toEqual([3, 2, 1, 1]);
      const r = o.range({ bits: 8, symmetric: false });
      expect(r.min[0]!).toBeGreaterThanOrEqual(-2);
      expect(r.max[0]!).toBeLessThanOrEqual(1);
      expect(Number.isFinite(o.params().scale[0]!)).toBe(true);
      const bad = make().observe(new Float32Array([NaN, Infinity]));
      expect(() => bad.range()).toThrow(QwasmError);
      expect(() => bad.params()).toThrow(/no finite values/);
      o.reset();
      expect([o.count, o.nanCount]).toEqual([0, 0]);
      expect(() => o.range()).toThrow(QwasmError);
    });
  }

  it('per channel: ranges per channel along any axis, empty channels [0, 0], channel count fixed', () => {
    // [2, 3, 2]: channel axis 1
    const data = new Float32Array([1, 2, -3, 4, NaN, NaN, 5, -6, 7, 8, NaN, NaN]);
    const o = new MinMaxObserver({ axis: 1 }).observe({ data, shape: [2, 3, 2] });
    const r = o.range();
    expect(Array.from(r.min)).toEqual([-6, -3, 0]);
    expect(Array.from(r.max)).toEqual([5, 8, 0]);
    expect(o.params({ symmetric: false, signed: false }).scale.length).toBe(3);
    expect(() => o.observe({ data: new Float32Array(4), shape: [2, 2] })).toThrow(QwasmError);
    expect(() => new MinMaxObserver({ axis: 0 }).observe(new Float32Array(3))).toThrow(/needs a tensor/);
    const h = new HistogramObserver({ axis: -1, method: 'mse', bins: 64 });
    h.observe({ data: Float32Array.from({ length: 300 }, (_, i) => (i % 3) * Math.sin(i)), shape: [100, 3] });
    const hr = h.range({ bits: 4 });
    expect(hr.max[0]).toBe(0);
    expect(hr.max[2]!).toBeGreaterThan(hr.max[1]!);
  });
});

describe('MovingAverageMinMaxObserver', () => {
  it('averages batch ranges with the averaging constant (hand-computed)', () => {
    const o = new MovingAverageMinMaxObserver({ averagingConstant: 0.5 });
    o.observe(new Float32Array([-1, 1]));
    o.observe(new Float32Array([-3, 5]));
    o.observe(new Float32Array([-1, 1]));
    // min: -1 -> -2 -> -1.5 ; max: 1 -> 3 -> 2
    const r = o.range();
    expect([r.min[0], r.max[0]]).toEqual([-1.5, 2]);
    o.observe(new Float32Array([NaN, Infinity]));
    expect(o.range().max[0]).toBe(2);
    expect(() => new MovingAverageMinMaxObserver({ averagingConstant: 0 })).toThrow(QwasmError);
  });
});

describe('HistogramObserver: bounded streaming memory', () => {
  it('keeps its state size fixed while fed 10^7 values of a widening range', () => {
    const o = new HistogramObserver({ method: 'mse' });
    const r = rng(11);
    const batch = new Float32Array(1 << 16);
    let fed = 0;
    let first = -1;
    let b = 0;
    while (fed < 1e7) {
      const n = Math.min(batch.length, 1e7 - fed);
      const spread = 1 + b * 0.05; // the range keeps growing: the window must re-bin
      for (let i = 0; i < n; i++) batch[i] = (r() - 0.4) * spread;
      o.observe(batch.subarray(0, n));
      if (first < 0) first = o.stateBytes;
      expect(o.stateBytes).toBe(first);
      fed += n;
      b++;
    }
    expect(o.count).toBe(1e7);
    expect(o.stateBytes).toBe(2 * 2048 * 8);
    const h = o.histogram();
    expect(h.counts.reduce((a, c) => a + c, 0)).toBe(1e7);
    expect(h.total).toBe(1e7);
  });

  it('merges bins losslessly: streaming equals binning all the data at the final grid', () => {
    const r = rng(12);
    const o = new HistogramObserver({ bins: 128 });
    const all: number[] = [];
    for (let b = 0; b < 20; b++) {
      const x = Float32Array.from({ length: 500 }, () => (r() - 0.3) * 2 ** (b / 3));
      all.push(...x);
      o.observe(x);
    }
    const h = o.histogram();
    expect(Math.log2(h.width) % 1).toBe(0);
    const direct = new Float64Array(128);
    for (const v of all) direct[Math.floor(v / h.width) - h.origin]! += 1;
    expect(Array.from(h.counts)).toEqual(Array.from(direct));
    // the data covers more than half the window
    expect((h.max - h.min) / (128 * h.width)).toBeGreaterThan(0.45);
  });
});

describe('HistogramObserver: clips against brute force', () => {
  it('percentile: the 99th percentile of |x| on 1..10000 is 9900 (within a bin)', () => {
    const x = Float32Array.from({ length: 10000 }, (_, i) => i + 1);
    const o = new HistogramObserver({ method: 'percentile', percentile: 99 }).observe(x);
    const h = o.histogram();
    expect(Math.abs(o.range({ bits: 8 }).max[0]! - 9900)).toBeLessThanOrEqual(h.width);
    // asymmetric: [1st percentile, 99th percentile] of x
    const xs = Float32Array.from({ length: 10000 }, (_, i) => i - 5000);
    const oa = new HistogramObserver({ method: 'percentile', percentile: 99 }).observe(xs);
    const ra = oa.range({ bits: 8, symmetric: false });
    expect(Math.abs(ra.min[0]! + 4900)).toBeLessThanOrEqual(oa.histogram().width);
    expect(Math.abs(ra.max[0]! - 4900)).toBeLessThanOrEqual(oa.histogram().width);
  });

  it('mse: the clip is as good as a 1000-point brute-force scan of the true data MSE', () => {
    for (const [kind, scheme] of [
      ['laplacian', { bits: 4 }],
      ['laplacian', { bits: 8 }],
      ['student-t', { bits: 6 }],
      ['gaussian', { bits: 3 }],
      ['relu', { bits: 4, signed: false, symmetric: false }],
    ] as const) {
      const x = samples(rng(21), kind, 20000);
      const o = new HistogramObserver({ method: 'mse' }).observe(x);
      const mine = dataMse(x, o, scheme);
      let amax = 0;
      for (const v of x) amax = Math.max(amax, Math.abs(v));
      let best = Infinity;
      for (let i = 1; i <= 1000; i++) {
        const t = (amax * i) / 1000;
        const p = paramsFromRange(kind === 'relu' ? 0 : -t, t, scheme);
        best = Math.min(best, fakeQuantMse(x, p.scale[0]!, p.zeroPoint[0]!, p.qmin, p.qmax));
      }
      expect(mine / best, `${kind} ${JSON.stringify(scheme)}`).toBeLessThan(1.01);
    }
  });

  it('mse on two-sided asymmetric data searches both ends', () => {
    const r = rng(5);
    const x = Float32Array.from({ length: 30000 }, () => {
      const u = r() - 0.5;
      return u < 0 ? -Math.log(1 + 2 * u) * 0.2 : -Math.log(1 - 2 * u) * 2; // narrow left, wide right
    });
    const s = { bits: 4, signed: false, symmetric: false };
    const o = new HistogramObserver({ method: 'mse' }).observe(x);
    const mine = dataMse(x, o, s);
    const searched = searchClipRange(x, { scheme: s, method: 'grid', budget: 1600 });
    expect(mine / searched.loss).toBeLessThan(1.02);
    expect(mine).toBeLessThan(searched.fullRangeLoss * 0.7);
  });

  it('entropy: the threshold TensorRT-style KL brute force picks, on a known histogram', () => {
    const r = rng(8);
    const w = 2 ** -8;
    for (const [scheme, levels] of [
      [{ bits: 8 }, 128],
      [{ bits: 8, signed: false, symmetric: false }, 256],
      [{ bits: 4 }, 8],
    ] as const) {
      // counts of a decaying density with a bumpy tail, values at bin centres of [0, 2048 w)
      const counts = Array.from({ length: 2048 }, (_, j) =>
        Math.floor(4000 * Math.exp(-j / 150) + (r() < 0.05 ? 20 * r() : 0)),
      );
      counts[2047] = 3;
      const x: number[] = [];
      counts.forEach((c, j) => {
        for (let k = 0; k < c; k++) x.push((j + 0.5) * w);
      });
      const o = new HistogramObserver({ method: 'entropy' }).observe(Float32Array.from(x));
      expect(o.histogram().width).toBe(w);
      expect(o.histogram().origin).toBe(0);
      const best = klBestIndex(counts, levels);
      expect(o.range(scheme).max[0]).toBe(best * w);
    }
  });
});

describe('calibration quality', () => {
  const dists = ['gaussian', 'laplacian', 'student-t', 'relu'] as const;
  const schemeFor = (kind: string, bits: number): QuantScheme =>
    kind === 'relu' ? { bits, signed: false, symmetric: false } : { bits };

  it('at 8 bits the mse observer is never worse than min-max (synthetic and demo-model weights)', async () => {
    const model = await loadModel();
    const sets: [string, Float32Array][] = dists.map((k) => [k, samples(rng(31), k, 1 << 16)]);
    for (const name of ['fc.weight', 'conv2.weight', 'conv1.weight', 'pw4.weight'])
      sets.push([name, (model.params as Record<string, Float32Array>)[name]!]);
    for (const [name, x] of sets) {
      const s = schemeFor(name, 8);
      const mm = dataMse(x, new MinMaxObserver().observe(x), s);
      const ms = dataMse(x, new HistogramObserver({ method: 'mse' }).observe(x), s);
      expect(ms, name).toBeLessThanOrEqual(mm);
    }
  });

  it('on Laplacian and Student-t at 4 and 6 bits the best searched clip cuts MSE by >= 30% vs min-max', () => {
    for (const kind of ['laplacian', 'student-t'] as const) {
      const x = samples(rng(32), kind, 1 << 16);
      for (const bits of [4, 6]) {
        const best = Math.min(
          ...(['grid', 'golden', 'random', 'pso'] as const).map((method) => {
            const r = searchClipRange(x, { scheme: { bits }, method, budget: 32 });
            expect(r.evaluations).toBeLessThanOrEqual(32);
            return r.loss / r.fullRangeLoss;
          }),
        );
        expect(best, `${kind} ${bits} bits`).toBeLessThanOrEqual(0.7);
      }
    }
  });
});
