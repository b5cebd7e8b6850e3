import { describe, expect, it } from 'vitest';
import { fp32Multiplier, quantizeMultiplier } from '../src/index.js';
import { multiplyByQuantizedMultiplier, rdbpot, srdhm } from './reference/requant.js';

describe('quantizeMultiplier (TFLite QuantizeMultiplier)', () => {
  it.each([
    [0.5, 2 ** 30, 0],
    [1, 2 ** 30, 1],
    [0.25, 2 ** 30, -1],
    [0.1, 1717986918, -3],
    [0.75, 1610612736, 0],
    [1.5, 1610612736, 1],
    [0, 0, 0],
    [2 ** -40, 0, 0],
  ])('%f -> (%i, %i)', (m, multiplier, shift) => {
    expect(quantizeMultiplier(m)).toEqual({ multiplier, shift });
  });

  it('renormalises a mantissa that rounds up to 2^31', () => {
    // 1 - 2^-33 has mantissa 0.99999999988 which rounds to 2^31 at 31 bits
    expect(quantizeMultiplier(1 - 2 ** -33)).toEqual({ multiplier: 2 ** 30, shift: 1 });
  });

  it('reproduces m to 31 significant bits', () => {
    for (let i = 0; i < 1000; i++) {
      const m = Math.exp(-20 + 22 * (i / 1000));
      const { multiplier, shift } = quantizeMultiplier(m);
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 30);
      expect(multiplier).toBeLessThan(2 ** 31);
      expect(Math.abs(multiplier * 2 ** (shift - 31) - m) / m).toBeLessThan(2 ** -30);
    }
  });
});

describe('gemmlowp fixed-point primitives (the test references themselves)', () => {
  it('SaturatingRoundingDoublingHighMul nudges ties up for positives and toward zero for negatives', () => {
    // (a * b + nudge) / 2^31 with C's truncating division: the negative nudge is 1 - 2^30
    expect(srdhm(2 ** 30, 2 ** 30)).toBe(2 ** 29);
    expect(srdhm(-2147483648, -2147483648)).toBe(2147483647);
    expect(srdhm(3, 2 ** 30)).toBe(2); // 1.5 -> 2
    expect(srdhm(-3, 2 ** 30)).toBe(-1); // -1.5 -> -1
    expect(srdhm(1, 2 ** 30)).toBe(1); // 0.5 -> 1
    expect(srdhm(-1, 2 ** 30)).toBe(0); // -0.5 -> 0
    expect(srdhm(-5, 2 ** 30)).toBe(-2); // -2.5 -> -2
    expect(srdhm(-7, 2 ** 29)).toBe(-2); // -1.75 -> -2
  });

  it('RoundingDivideByPOT rounds half away from zero', () => {
    expect(rdbpot(5, 1)).toBe(3);
    expect(rdbpot(-5, 1)).toBe(-3);
    expect(rdbpot(6, 2)).toBe(2); // 1.5
    expect(rdbpot(-6, 2)).toBe(-2);
    expect(rdbpot(-7, 2)).toBe(-2); // -1.75
    expect(rdbpot(1000, 0)).toBe(1000);
  });

  it('MultiplyByQuantizedMultiplier scales by the real multiplier', () => {
    const { multiplier, shift } = quantizeMultiplier(0.1);
    expect(multiplyByQuantizedMultiplier(1000, multiplier, shift)).toBe(100);
    expect(multiplyByQuantizedMultiplier(-15, multiplier, shift)).toBe(-2); // -1.5 -> -2
    expect(multiplyByQuantizedMultiplier(25, multiplier, shift)).toBe(3); // 2.5 -> 3 (away)
  });
});

describe('fp32Multiplier', () => {
  it('is float32 (sa * sb) / sy in that order', () => {
    const sa = 0.1;
    const sb = 0.3;
    const sy = 0.7;
    const want = Math.fround(Math.fround(Math.fround(sa) * Math.fround(sb)) / Math.fround(sy));
    expect(fp32Multiplier(sa, sb, sy)).toBe(want);
  });
});

describe('the worked numbers of docs/arithmetic.md', () => {
  it('fp32: m = f32(0.004), acc 1234 -> 5', () => {
    const m = fp32Multiplier(0.02, 0.01, 0.05);
    expect(m).toBe(Math.fround(0.0039999997));
    expect(Math.round(Math.fround(1234 * m))).toBe(5);
  });

  it('fixedpoint: multiplier 1099511562, shift -7, acc 1234 -> 632 -> 5', () => {
    const q = quantizeMultiplier((Math.fround(0.02) * Math.fround(0.01)) / Math.fround(0.05));
    expect(q).toEqual({ multiplier: 1099511562, shift: -7 });
    expect(srdhm(1234, q.multiplier)).toBe(632);
    expect(rdbpot(632, 7)).toBe(5);
  });

  it('ties: m = 0.5 gives 2.5 -> 3 in fixed point, -2.5 -> -2', () => {
    expect(multiplyByQuantizedMultiplier(5, 2 ** 30, 0)).toBe(3);
    expect(multiplyByQuantizedMultiplier(-5, 2 ** 30, 0)).toBe(-2);
  });
});
