// The entropy (KL) observer on data away from zero: the divergence only sees the shape of
// the kept bins, so without a floor on the threshold it once clipped every value of a
// LayerNorm's standard deviations (PP-OCRv4 recognition read nothing with it).
import { describe, expect, it } from 'vitest';
import { HistogramObserver } from '../src/index.js';
import { rng } from './helpers.js';

describe('entropy observer', () => {
  it('keeps positive data away from zero (uniform on [0.4, 1.4]) instead of clipping all of it', () => {
    const r = rng(12);
    const x = Float32Array.from({ length: 20000 }, () => 0.4 + r());
    for (const scheme of [{ bits: 8 }, { bits: 8, symmetric: false }, { bits: 8, signed: false, symmetric: false }]) {
      const range = new HistogramObserver({ method: 'entropy' }).observe(x).range(scheme);
      expect(range.max[0], JSON.stringify(scheme)).toBeGreaterThan(1.2);
    }
  });

  it('negative data away from zero likewise', () => {
    const r = rng(13);
    const x = Float32Array.from({ length: 20000 }, () => -3 - 2 * r());
    const range = new HistogramObserver({ method: 'entropy' }).observe(x).range({ bits: 8, symmetric: false });
    expect(range.min[0]).toBeLessThan(-4.5);
  });

  it('still clips a long thin tail (Laplacian |x|)', () => {
    const r = rng(14);
    const x = Float32Array.from({ length: 50000 }, () => -Math.log(1 - r()));
    let max = 0;
    for (const v of x) max = Math.max(max, v);
    const range = new HistogramObserver({ method: 'entropy' }).observe(x).range({ bits: 8, symmetric: false });
    expect(range.max[0]).toBeLessThan(0.9 * max);
    expect(range.max[0]).toBeGreaterThan(3);
  });
});
