import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, quantError, type QuantErrorReport } from '../src/index.js';
import { engines, rng } from './helpers.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

function close(a: QuantErrorReport, b: QuantErrorReport, rel = 1e-12) {
  for (const k of Object.keys(a) as (keyof QuantErrorReport)[]) {
    const x = a[k];
    const y = b[k];
    if (!Number.isFinite(x) || !Number.isFinite(y)) expect(x, k).toBe(y);
    else expect(Math.abs(x - y), k).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(y)));
  }
}

describe('quantError (pure TypeScript)', () => {
  it('gives the hand-computed metrics', () => {
    const r = quantError([1, 2, 3, 4], [1, 2, 3, 5]);
    expect(r.maxAbs).toBe(1);
    expect(r.meanAbs).toBe(0.25);
    expect(r.mse).toBe(0.25);
    expect(r.rmse).toBe(0.5);
    expect(r.relative).toBeCloseTo(1 / Math.sqrt(30), 15);
    expect(r.sqnrDb).toBeCloseTo(10 * Math.log10(30), 12);
    expect(r.cosine).toBeCloseTo(34 / Math.sqrt(30 * 39), 15);
  });

  it('guards zeros: exact zero error, all-zero reference, all-zero reconstruction, empty input', () => {
    expect(quantError([0, 1], [0, 1])).toMatchObject({ relative: 0, sqnrDb: Infinity, cosine: 1, mse: 0 });
    expect(quantError([0, 0], [0, 0])).toMatchObject({ relative: 0, sqnrDb: Infinity, cosine: 1 });
    expect(quantError([0, 0], [0, 1])).toMatchObject({ relative: Infinity, sqnrDb: -Infinity, cosine: 0 });
    expect(quantError([1, 0], [0, 0])).toMatchObject({ relative: 1, sqnrDb: 0, cosine: 0 });
    expect(quantError([], [])).toMatchObject({ mse: 0, sqnrDb: Infinity, cosine: 1 });
    // a zero inside x never blows the relative error up (norm-relative, not per element)
    expect(quantError([0, 10], [1e-3, 10]).relative).toBeCloseTo(1e-4, 12);
  });

  it('propagates NaN and refuses mismatched inputs', () => {
    const r = quantError([1, NaN], [1, 2]);
    for (const v of Object.values(r)) expect(v).toBeNaN();
    expect(() => quantError([1, 2], [1])).toThrow(QwasmError);
    expect(() => quantError('ab' as never, 'ab' as never)).toThrow(QwasmError);
  });
});

describe('qw.quantError (SIMD wasm kernel)', () => {
  const r = rng(41);
  const n = 600_001; // three kernel chunks and an odd tail
  const x = Float32Array.from({ length: n }, () => (r() - 0.5) * 8);
  const y = x.map((v, i) => v + (i % 97 === 0 ? 0.5 : (r() - 0.5) * 0.01));
  const ref = quantError(x, y);

  for (const [backend, qw] of qws) {
    it(`matches the float64 TypeScript sums on ${backend} (600001 values)`, () => {
      close(qw.quantError(x, y), ref);
      for (const len of [0, 1, 3, 4, 5, 17])
        close(
          qw.quantError(x.subarray(0, len), y.subarray(0, len)),
          quantError(x.subarray(0, len), y.subarray(0, len)),
        );
    });

    it(`propagates NaN and keeps the zero guards on ${backend}`, () => {
      const a = new Float32Array([1, 2, 3, NaN, 5, 6, 7, 8, 9]);
      const b = new Float32Array(9).fill(1);
      for (const v of Object.values(qw.quantError(a, b))) expect(v).toBeNaN();
      const z = new Float32Array(9);
      expect(qw.quantError(z, z)).toMatchObject({ sqnrDb: Infinity, cosine: 1, relative: 0 });
      expect(() => qw.quantError(a, b.subarray(1))).toThrow(QwasmError);
    });

    it(`keeps wasm memory bounded on a long tensor on ${backend}`, () => {
      const big = new Float32Array(3_000_000).fill(1);
      const before = qw.memoryBytes;
      qw.quantError(big, big);
      expect(qw.memoryBytes - before).toBeLessThanOrEqual(4 << 20);
    });
  }
});
