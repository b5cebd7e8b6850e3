import { describe, expect, it } from 'vitest';
import { QwasmError, fakeQuantize, quantError, searchClipRange, searchRange, type SearchMethod } from '../src/index.js';
import { rng } from './helpers.js';
import { samples } from './reference/toolkit.js';

const METHODS: SearchMethod[] = ['grid', 'golden', 'random', 'pso'];

describe('searchRange', () => {
  for (const method of METHODS) {
    it(`${method}: spends at most the budget, full range first, never worse than it`, () => {
      for (const budget of [1, 2, 5, 16, 33]) {
        let calls = 0;
        const first: number[] = [];
        const r = searchRange(
          (lo, hi) => {
            calls++;
            if (first.length === 0) first.push(lo, hi);
            return (hi - 0.3) ** 2 + 0.01;
          },
          { min: -1, max: 1 },
          { method, budget },
        );
        expect(calls).toBe(r.evaluations);
        expect(r.evaluations).toBeLessThanOrEqual(budget);
        expect(first).toEqual([-1, 1]);
        expect(r.loss).toBeLessThanOrEqual(r.fullRangeLoss);
        expect(r.fullRangeLoss).toBeCloseTo(0.5, 12);
      }
    });

    it(`${method}: finds a 1-D minimum and a 2-D minimum`, () => {
      const one = searchRange((lo, hi) => Math.abs(hi - 0.3), { min: -1, max: 1 }, { method, budget: 64 });
      expect(one.max).toBeCloseTo(0.3, method === 'golden' ? 6 : 1);
      expect(one.min).toBe(-one.max);
      const two = searchRange(
        (lo, hi) => (lo + 0.2) ** 2 + (hi - 0.7) ** 2,
        { min: -1, max: 1 },
        { method, budget: 100, symmetric: false },
      );
      expect(two.loss).toBeLessThan(method === 'random' ? 0.01 : 0.002);
    });
  }

  it('golden section converges at the golden ratio', () => {
    const r = searchRange(
      (_, hi) => (hi - 0.4137) ** 2,
      { min: -1, max: 1 },
      { method: 'golden', budget: 40, minFraction: 0.01 },
    );
    expect(Math.abs(r.max - 0.4137)).toBeLessThan(0.99 * 0.618 ** 37);
  });

  it('is reproducible with a seed, and NaN losses count as +Infinity', () => {
    const f = (lo: number, hi: number) => (hi > 0.9 ? NaN : Math.sin(7 * hi) + lo * 0);
    for (const method of ['random', 'pso'] as const) {
      const a = searchRange(f, { min: -1, max: 1 }, { method, budget: 30, seed: 5 });
      const b = searchRange(f, { min: -1, max: 1 }, { method, budget: 30, seed: 5 });
      expect(a).toEqual(b);
      expect(Number.isFinite(a.loss)).toBe(true);
      expect(a.fullRangeLoss).toBe(Infinity);
    }
  });

  it('refuses bad options with a QwasmError naming them', () => {
    const f = () => 0;
    const arg = (g: () => unknown) => {
      try {
        g();
      } catch (e) {
        return (e as QwasmError).argument;
      }
      return 'no error';
    };
    expect(arg(() => searchRange(f, { min: 1, max: -1 }))).toBe('bounds');
    expect(arg(() => searchRange(f, { min: -1, max: 1 }, { budget: 0 }))).toBe('budget');
    expect(arg(() => searchRange(f, { min: -1, max: 1 }, { method: 'anneal' as never }))).toBe('method');
    expect(arg(() => searchRange(f, { min: -1, max: 1 }, { minFraction: 0 }))).toBe('minFraction');
    expect(arg(() => searchClipRange(new Float32Array([NaN])))).toBe('x');
    expect(arg(() => searchClipRange(new Float32Array([1]), { metric: 'psnr' as never }))).toBe('metric');
  });
});

describe('searchClipRange', () => {
  const x = samples(rng(9), 'laplacian', 1 << 15);

  it('reports the data MSE of the parameters it returns', () => {
    const r = searchClipRange(x, { scheme: { bits: 4 }, method: 'golden', budget: 24 });
    expect(quantError(x, fakeQuantize(x, r.params)).mse).toBeCloseTo(r.loss, 12);
    expect(r.params.scale[0]).toBeCloseTo(r.max / 7, 6);
    expect(r.loss).toBeLessThan(0.5 * r.fullRangeLoss);
  });

  it('takes any error metric or a custom loss as the objective', () => {
    const maxAbs = searchClipRange(x, { scheme: { bits: 4 }, metric: 'maxAbs', method: 'grid', budget: 64 });
    const mse = searchClipRange(x, { scheme: { bits: 4 }, metric: 'mse', method: 'grid', budget: 64 });
    // minimising the worst error clips less than minimising the mean square
    expect(maxAbs.max).toBeGreaterThan(mse.max);
    const sq = searchClipRange(x, { scheme: { bits: 4 }, metric: 'sqnrDb', method: 'grid', budget: 64 });
    expect(sq.max).toBeCloseTo(mse.max, 12);
    let calls = 0;
    const custom = searchClipRange(x, {
      scheme: { bits: 4 },
      method: 'golden',
      budget: 10,
      metric: (a, b) => {
        calls++;
        return quantError(a, b).meanAbs;
      },
    });
    expect(calls).toBe(10);
    expect(custom.loss).toBeLessThan(custom.fullRangeLoss);
  });

  it('leaves NaN and infinities out, and searches both ends for asymmetric schemes', () => {
    const y = Float32Array.from([...x.subarray(0, 5000), NaN, Infinity, -Infinity]);
    const r = searchClipRange(y, { scheme: { bits: 4, symmetric: false, signed: false }, method: 'pso', budget: 40 });
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.min).toBeLessThan(0);
    expect(r.max).toBeGreaterThan(0);
    expect(r.min).not.toBeCloseTo(-r.max, 3);
  });
});
