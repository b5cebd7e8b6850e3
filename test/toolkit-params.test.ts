import { describe, expect, it } from 'vitest';
import {
  QwasmError,
  computeQuantParams,
  dequantizeTensor,
  fakeQuantize,
  nudgeZeroPoint,
  paramsFromRange,
  paramsShape,
  quantRange,
  quantizeTensor,
  resolveScheme,
  steGradientMask,
} from '../src/index.js';
import { rng } from './helpers.js';
import { roundHalfEven } from './reference/requant.js';

describe('quantRange', () => {
  it('covers every bit width from 2 to 8, signed, unsigned and narrow', () => {
    for (let b = 2; b <= 8; b++) {
      expect(quantRange(b, true)).toEqual({ qmin: -(2 ** (b - 1)), qmax: 2 ** (b - 1) - 1 });
      expect(quantRange(b, true, true)).toEqual({ qmin: -(2 ** (b - 1)) + 1, qmax: 2 ** (b - 1) - 1 });
      expect(quantRange(b, false)).toEqual({ qmin: 0, qmax: 2 ** b - 1 });
      expect(quantRange(b, false, true)).toEqual({ qmin: 1, qmax: 2 ** b - 1 });
    }
    expect(quantRange(8, true, true)).toEqual({ qmin: -127, qmax: 127 });
  });

  it('refuses bit widths outside 2..8', () => {
    for (const b of [1, 9, 4.5, NaN]) expect(() => quantRange(b, true)).toThrow(QwasmError);
    expect(() => resolveScheme({ bits: 16 })).toThrow(/bits/);
  });
});

describe('zero-point nudging', () => {
  it('makes 0.0 exactly representable for any range and bit width', () => {
    const r = rng(1);
    for (let i = 0; i < 2000; i++) {
      const bits = 2 + Math.floor(r() * 7);
      const signed = r() < 0.5;
      const { qmin, qmax } = quantRange(bits, signed, r() < 0.3);
      const a = (r() - 0.7) * 10 ** (r() * 6 - 3);
      const b = a + r() * 10 ** (r() * 6 - 3);
      const n = nudgeZeroPoint(a, b, qmin, qmax);
      expect(Number.isInteger(n.zeroPoint)).toBe(true);
      expect(n.zeroPoint).toBeGreaterThanOrEqual(qmin);
      expect(n.zeroPoint).toBeLessThanOrEqual(qmax);
      expect(n.nudgedMin).toBeLessThanOrEqual(0);
      expect(n.nudgedMax).toBeGreaterThanOrEqual(0);
      // quantizing 0 gives the zero point, dequantizing it gives exactly 0
      const p = paramsFromRange(a, b, { bits, signed, symmetric: false });
      const q = quantizeTensor(new Float32Array([0]), p);
      expect(q[0]).toBe(p.zeroPoint[0]);
      expect(dequantizeTensor(q, p)[0]).toBe(0);
    }
  });

  it('gives the hand-computed nudge of [-0.3, 1.7] on uint8', () => {
    // scale = 2 / 255, zero point = round(0.3 / scale) = round(38.25) = 38
    const n = nudgeZeroPoint(-0.3, 1.7, 0, 255);
    expect(n.scale).toBe(Math.fround(2 / 255));
    expect(n.zeroPoint).toBe(38);
    expect(n.nudgedMin).toBeCloseTo(-38 * (2 / 255), 6);
    expect(n.nudgedMax).toBeCloseTo(217 * (2 / 255), 6);
    // the represented range moved by less than a step
    expect(Math.abs(n.nudgedMin + 0.3)).toBeLessThan(n.scale);
  });

  it('widens a range that excludes 0 (all positive, all negative)', () => {
    expect(nudgeZeroPoint(2, 5, 0, 255).zeroPoint).toBe(0);
    expect(nudgeZeroPoint(-5, -2, 0, 255).zeroPoint).toBe(255);
    expect(nudgeZeroPoint(-5, -2, -128, 127).zeroPoint).toBe(127);
    expect(nudgeZeroPoint(0, 0, 0, 15)).toMatchObject({ scale: 1, zeroPoint: 0 });
  });
});

describe('symmetric parameters', () => {
  it('signed: zero point 0, scale max|x| / qmax', () => {
    const p = paramsFromRange(-3, 2, { bits: 4 });
    expect(p.zeroPoint[0]).toBe(0);
    expect(p.scale[0]).toBe(Math.fround(3 / 7));
    const pn = paramsFromRange(-3, 2, { bits: 8, narrow: true });
    expect(pn.scale[0]).toBe(Math.fround(3 / 127));
    expect([pn.qmin, pn.qmax]).toEqual([-127, 127]);
  });

  it('unsigned: zero point at the middle code', () => {
    const p = paramsFromRange(-1, 2, { bits: 8, signed: false });
    expect(p.zeroPoint[0]).toBe(128);
    expect(p.scale[0]).toBe(Math.fround(2 / 127));
  });
});

describe('granularity', () => {
  const shape = [6, 10, 3];
  const n = 6 * 10 * 3;
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) * (1 + (i % 7)));

  it('per tensor, per channel on any axis and per group have the documented parameter shapes', () => {
    expect(paramsShape(shape, {})).toEqual([]);
    expect(paramsShape(shape, { axis: 0 })).toEqual([6]);
    expect(paramsShape(shape, { axis: 1 })).toEqual([10]);
    expect(paramsShape(shape, { axis: -1 })).toEqual([3]);
    expect(paramsShape(shape, { axis: 1, groupSize: 4 })).toEqual([6, 3, 3]);
    expect(paramsShape([4096, 4096], { groupSize: 32 })).toEqual([4096, 128]);
    expect(paramsShape([4096, 4096], { groupSize: 64 })).toEqual([4096, 64]);
    expect(paramsShape([4096, 4096], { groupSize: 128 })).toEqual([4096, 32]);
    expect(paramsShape([100, 200], { groupSize: 128 })).toEqual([100, 2]);
    for (const g of [{}, { axis: 0 }, { axis: 1 }, { axis: 2 }, { axis: 1, groupSize: 4 }, { axis: 2, groupSize: 2 }]) {
      const p = computeQuantParams({ data, shape }, { bits: 6, ...g });
      const size = paramsShape(shape, g).reduce((a, b) => a * b, 1);
      expect(p.scale.length).toBe(size);
      expect(p.zeroPoint.length).toBe(size);
      expect(paramsShape(shape, p)).toEqual(paramsShape(shape, g));
    }
  });

  it('per group: each (row, group) scale is the max |x| of exactly its elements', () => {
    const N = 5;
    const K = 70;
    const g = 32;
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.77) * (1 + i));
    const p = computeQuantParams({ data: w, shape: [N, K] }, { bits: 4, groupSize: g });
    expect(p.granularity).toBe('group');
    expect(p.scale.length).toBe(N * 3);
    for (let r = 0; r < N; r++) {
      for (let gi = 0; gi < 3; gi++) {
        let m = 0;
        for (let k = gi * g; k < Math.min(K, (gi + 1) * g); k++) m = Math.max(m, Math.abs(w[r * K + k]!));
        expect(p.scale[r * 3 + gi]).toBe(Math.fround(m / 7));
      }
    }
  });

  it('per channel on a middle axis uses the right elements', () => {
    const p = computeQuantParams({ data, shape }, { axis: 1, symmetric: false, signed: false });
    for (let c = 0; c < 10; c++) {
      let lo = 0;
      let hi = 0;
      for (let o = 0; o < 6; o++)
        for (let i = 0; i < 3; i++) {
          const v = data[(o * 10 + c) * 3 + i]!;
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      expect(p.scale[c]).toBe(Math.fround((hi - lo) / 255));
    }
  });
});

describe('quantizeTensor / dequantizeTensor', () => {
  it('rounds half to even, saturates, sends NaN to the zero point (the ONNX contract)', () => {
    const p = paramsFromRange(-8, 7, { bits: 4 }); // scale 8/7
    const s = p.scale[0]!;
    const x = new Float32Array([0.5 * s, 1.5 * s, 2.5 * s, -0.5 * s, -1.5 * s, 100, -100, Infinity, -Infinity, NaN]);
    expect(Array.from(quantizeTensor(x, p))).toEqual([0, 2, 2, 0, -2, 7, -8, 7, -8, 0]);
  });

  it('matches the formula on random data for every bit width and scheme', () => {
    const r = rng(4);
    for (let t = 0; t < 50; t++) {
      const bits = 2 + (t % 7);
      const signed = t % 2 === 0;
      const symmetric = t % 3 !== 0;
      const x = Float32Array.from({ length: 200 }, () => (r() - 0.3) * 5);
      const p = computeQuantParams(x, { bits, signed, symmetric });
      const q = quantizeTensor(x, p);
      const s = p.scale[0]!;
      const z = p.zeroPoint[0]!;
      for (let i = 0; i < x.length; i++) {
        const e = Math.min(p.qmax, Math.max(p.qmin, roundHalfEven(Math.fround(x[i]! / s)) + z));
        expect(q[i]).toBe(e);
      }
      const xh = dequantizeTensor(q, p);
      const fq = fakeQuantize(x, p);
      for (let i = 0; i < x.length; i++) {
        expect(xh[i]).toBe(Math.fround((q[i]! - z) * s));
        expect(fq[i]).toBe(xh[i]);
        // min-max parameters clip nothing: error within half a step
        expect(Math.abs(fq[i]! - x[i]!)).toBeLessThanOrEqual(s / 2 + 1e-6);
      }
    }
  });

  it('refuses parameters that do not fit the tensor', () => {
    const p = computeQuantParams({ data: new Float32Array(12), shape: [3, 4] }, { axis: 0 });
    expect(() => quantizeTensor({ data: new Float32Array(12), shape: [4, 3] }, p)).toThrow(QwasmError);
    expect(() => quantizeTensor({ data: new Float32Array(12), shape: [4, 3] }, p)).toThrow(/params.scale/);
    expect(() => fakeQuantize(new Float32Array(3), { ...p, scale: new Float32Array([1, 0, 1]) })).toThrow(QwasmError);
  });
});

describe('fakeQuantize and its straight-through gradient mask', () => {
  it('passes the gradient inside the range and stops it where values were clamped or NaN', () => {
    const p = paramsFromRange(-1, 1, { bits: 8, narrow: true }); // scale 1/127
    const x = new Float32Array([0, 0.5, 1, 1.003, 1.01, -1.01, -1.003, Infinity, NaN]);
    // 1.003 * 127 = 127.38 rounds to 127 (inside); 1.01 * 127 = 128.27 -> 128 (clamped)
    expect(Array.from(steGradientMask(x, p))).toEqual([1, 1, 1, 1, 0, 0, 1, 0, 0]);
    const y = fakeQuantize(x, p);
    expect(y[4]).toBe(Math.fround(127 * p.scale[0]!));
    expect(y[8]).toBe(0);
  });

  it('per channel: each channel clamps at its own range', () => {
    const x = { data: new Float32Array([0.5, 2, 0.5, 2]), shape: [2, 2] };
    const p = paramsFromRange([-1, -4], [1, 4], { axis: 1 });
    expect(Array.from(steGradientMask(x, p))).toEqual([1, 1, 1, 1]);
    const p2 = paramsFromRange([-1, -1], [1, 1], { axis: 1 });
    expect(Array.from(steGradientMask(x, p2))).toEqual([1, 0, 1, 0]);
  });
});
