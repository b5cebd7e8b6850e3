import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { engines, firstDiff, randInt, randomFloat32, rng } from './helpers.js';
import { dequantizeRef, dynamicParamsRef, quantizeRef } from './reference/quantize.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

describe.each([...qws.keys()])('quantizeLinear on %s', (backend) => {
  const qw = qws.get(backend)!;

  it('matches the ONNX formula per tensor, int8 and uint8, on awkward lengths', () => {
    const r = rng(1);
    for (const n of [1, 3, 15, 16, 17, 33, 1000]) {
      for (const dtype of ['int8', 'uint8'] as const) {
        const x = randomFloat32(r, n, -3, 3);
        const scale = 0.01 + r() * 0.05;
        const zp = dtype === 'int8' ? randInt(r, -128, 127) : randInt(r, 0, 255);
        const [qmin, qmax] = dtype === 'int8' ? [-128, 127] : [0, 255];
        const q = qw.quantizeLinear({ data: x, shape: [n] }, scale, zp, { dtype });
        const want = Array.from(x, (v) => quantizeRef(v, scale, zp, qmin, qmax));
        expect(q.data).toBeInstanceOf(dtype === 'int8' ? Int8Array : Uint8Array);
        expect(firstDiff(q.data, want)).toBe(-1);
      }
    }
  });

  it('rounds ties to even and maps NaN to the zero point, infinities to the ends', () => {
    const x = new Float32Array([0.5, 1.5, 2.5, -0.5, -1.5, NaN, Infinity, -Infinity, 1e30, -1e30, 0, -0]);
    const q = qw.quantizeLinear({ data: x, shape: [12] }, 1, 3, { dtype: 'int8' });
    expect(Array.from(q.data)).toEqual([3, 5, 5, 3, 1, 3, 127, -128, 127, -128, 3, 3]);
    // the same through the 16-wide SIMD body
    const x16 = new Float32Array(32).fill(2.5);
    x16[20] = NaN;
    const q16 = qw.quantizeLinear({ data: x16, shape: [32] }, 1, 0, { dtype: 'int8' });
    expect(q16.data[0]).toBe(2);
    expect(q16.data[20]).toBe(0);
  });

  it('defaults to uint8 and takes the dtype from a typed zero point', () => {
    const x = { data: new Float32Array([-1, 0, 1]), shape: [3] };
    expect(qw.quantizeLinear(x, 0.1).data).toBeInstanceOf(Uint8Array);
    expect(qw.quantizeLinear(x, 0.1, new Int8Array([0])).data).toBeInstanceOf(Int8Array);
    expect(Array.from(qw.quantizeLinear(x, 0.1, new Int8Array([0])).data)).toEqual([-10, 0, 10]);
  });

  it('quantizes per axis, including negative axes', () => {
    const r = rng(2);
    const shape = [2, 3, 5];
    const x = randomFloat32(r, 30, -2, 2);
    for (const [axis, C] of [
      [1, 3],
      [-1, 5],
      [0, 2],
    ] as const) {
      const scales = randomFloat32(r, C, 0.01, 0.05);
      const zps = new Int8Array(C).map(() => randInt(r, -10, 10));
      const q = qw.quantizeLinear({ data: x, shape }, scales, zps, { axis });
      const ax = axis < 0 ? axis + 3 : axis;
      const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
      const want = Array.from(x, (v, i) => {
        const c = Math.floor(i / inner) % C;
        return quantizeRef(v, scales[c]!, zps[c]!, -128, 127);
      });
      expect(firstDiff(q.data, want)).toBe(-1);
    }
  });
});

describe.each([...qws.keys()])('dequantizeLinear on %s', (backend) => {
  const qw = qws.get(backend)!;

  it('computes (q - zp) * scale per tensor and per axis', () => {
    const r = rng(3);
    const q = new Int8Array(37).map(() => randInt(r, -128, 127));
    const y = qw.dequantizeLinear({ data: q, shape: [37] }, 0.037, -7);
    expect(
      firstDiff(
        y.data,
        Array.from(q, (v) => dequantizeRef(v, 0.037, -7)),
      ),
    ).toBe(-1);
    const u = new Uint8Array(24).map(() => randInt(r, 0, 255));
    const s = new Float32Array([0.1, 0.2, 0.3]);
    const z = new Uint8Array([0, 128, 255]);
    const y2 = qw.dequantizeLinear({ data: u, shape: [2, 3, 4] }, s, z, { axis: 1 });
    const want = Array.from(u, (v, i) => dequantizeRef(v, s[Math.floor(i / 4) % 3]!, z[Math.floor(i / 4) % 3]!));
    expect(firstDiff(y2.data, want)).toBe(-1);
  });
});

describe.each([...qws.keys()])('dynamicQuantizeLinear on %s', (backend) => {
  const qw = qws.get(backend)!;

  it('picks ONNX parameters and quantizes with them', () => {
    const r = rng(4);
    for (const [lo, hi] of [
      [-1, 1],
      [0.5, 3],
      [-4, -0.25],
      [-0.001, 100],
    ] as const) {
      const x = randomFloat32(r, 101, lo, hi);
      const { y, scale, zeroPoint } = qw.dynamicQuantizeLinear({ data: x, shape: [101] });
      const p = dynamicParamsRef(x);
      expect(scale).toBe(p.scale);
      expect(zeroPoint).toBe(p.zeroPoint);
      expect(
        firstDiff(
          y.data,
          Array.from(x, (v) => quantizeRef(v, scale, zeroPoint, 0, 255)),
        ),
      ).toBe(-1);
    }
  });

  it('uses scale 1 and zero point 0 for an all-zero input', () => {
    const { y, scale, zeroPoint } = qw.dynamicQuantizeLinear({ data: new Float32Array(5), shape: [5] });
    expect([scale, zeroPoint]).toEqual([1, 0]);
    expect(Array.from(y.data)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('quantize argument checks', () => {
  const qw = qws.values().next().value!;
  it.each([
    ['scale', () => qw.quantizeLinear({ data: new Float32Array(2), shape: [2] }, -1)],
    ['scale', () => qw.quantizeLinear({ data: new Float32Array(2), shape: [2] }, NaN)],
    ['zeroPoint', () => qw.quantizeLinear({ data: new Float32Array(2), shape: [2] }, 1, 300)],
    ['zeroPoint', () => qw.quantizeLinear({ data: new Float32Array(2), shape: [2] }, 1, 1.5)],
    ['x', () => qw.quantizeLinear({ data: new Float32Array(3), shape: [2] }, 1)],
    ['x', () => qw.quantizeLinear({ data: new Int8Array(2), shape: [2] } as never, 1)],
    ['scale', () => qw.quantizeLinear({ data: new Float32Array(6), shape: [2, 3] }, new Float32Array([1, 2]), 0)],
    [
      'axis',
      () =>
        qw.quantizeLinear({ data: new Float32Array(6), shape: [2, 3] }, new Float32Array([1, 2, 3]), 0, { axis: 2 }),
    ],
    ['q', () => qw.dequantizeLinear({ data: new Float32Array(2), shape: [2] }, 1)],
  ])('names %s', (argument, fn) => {
    expect(fn).toThrow(QwasmError);
    try {
      fn();
    } catch (e) {
      expect((e as QwasmError).argument).toBe(argument);
    }
    const ok = qw.quantizeLinear({ data: new Float32Array([1, 2]), shape: [2] }, 1, 0, { dtype: 'int8' });
    expect(Array.from(ok.data)).toEqual([1, 2]);
  });
});
