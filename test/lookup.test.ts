// qlinearLookup / qlinearSigmoid / qlinearLeakyRelu (256-entry tables, com.microsoft
// QLinearSigmoid / QLinearLeakyRelu) and unaryF32: against the scalar reference on awkward
// sizes, against onnxruntime-node, on every build.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { mlasLogistic } from '../src/ops/lookup.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { refLookup, type Dtype } from './reference/elementwise.js';
import { runContrib, scalar } from './onnx/contrib.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

const codes = (r: () => number, dtype: Dtype, n: number) => (dtype === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
const zpArr = (dtype: Dtype, v: number) => (dtype === 'int8' ? Int8Array.of(v) : Uint8Array.of(v));
// 40001 and more codes run through the pair table (PAIRS_MIN_CODES), with a tail
const SIZES = [0, 1, 3, 15, 16, 17, 31, 33, 255, 256, 1000, 40001];

const erf = (x: number) => {
  // Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): qwasm and the reference build their tables from the same function
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x < 0 ? -y : y;
};

const FUNCTIONS: Record<string, (v: number) => number> = {
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  tanh: Math.tanh,
  hardSwish: (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
  gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  silu: (v) => v / (1 + Math.exp(-v)),
  exp: Math.exp,
  nan: () => NaN,
};

describe('qlinearLookup against the scalar reference', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: functions and ready tables on every size, bit-identical on every build`, () => {
      const r = rng(600);
      for (const [name, fn] of Object.entries(FUNCTIONS)) {
        for (const n of SIZES) {
          const x = codes(r, dtype, n);
          const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
          const sx = 0.01 + r() * 0.1;
          const zx = randInt(r, lo, hi);
          const sy = 0.005 + r() * 0.05;
          const zy = randInt(r, lo, hi);
          const ref = refLookup(x, fn, sx, zx, sy, zy, dtype);
          for (const [backend, qw] of qws) {
            const y = qw.qlinearLookup({ data: x, shape: [n] }, fn, sx, zx, sy, zy);
            expect(firstDiff(y.data, ref), `${backend} ${name} ${dtype} n=${n}`).toBe(-1);
          }
        }
      }
      // a ready table: entry i is the output of input byte i
      const table =
        dtype === 'int8'
          ? new Int8Array(256).map((_, i) => 127 - (i & 0x7f))
          : new Uint8Array(256).map((_, i) => 255 - i);
      const x = codes(r, dtype, 77);
      const want = Array.from(x, (c) => table[c & 0xff]!);
      for (const qw of qws.values()) {
        expect(firstDiff(qw.qlinearLookup({ data: x, shape: [7, 11] }, table, 1, 0, 1, 0).data, want)).toBe(-1);
      }
    });
  }
});

describe('QLinearSigmoid / QLinearLeakyRelu vs onnxruntime', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`QLinearSigmoid ${dtype}: every input code, bit-exact`, async () => {
      const r = rng(610);
      // every code once, in a shape with a tail
      const x =
        dtype === 'int8'
          ? Int8Array.from({ length: 256 }, (_, i) => i - 128)
          : Uint8Array.from({ length: 256 }, (_, i) => i);
      for (let rep = 0; rep < 12; rep++) {
        const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
        const sx = Math.exp(-6 + r() * 5);
        const zx = randInt(r, lo, hi);
        const sy = rep % 2 === 0 ? 1 / 256 : 0.001 + r() * 0.01;
        const zy = rep % 2 === 0 ? lo : randInt(r, lo, hi);
        const y = await runContrib(
          'QLinearSigmoid',
          [
            { name: 'x', data: x, dims: [256], feed: true },
            scalar('sx', Float32Array.of(sx)),
            scalar('zx', zpArr(dtype, zx)),
            scalar('sy', Float32Array.of(sy)),
            scalar('zy', zpArr(dtype, zy)),
          ],
          dtype,
        );
        const ref = refLookup(x, mlasLogistic, sx, zx, sy, zy, dtype);
        expect(
          firstDiff(ref, y.data as Int8Array),
          `reference vs onnxruntime, sx=${sx} zx=${zx} sy=${sy} zy=${zy}`,
        ).toBe(-1);
        for (const [backend, qw] of qws) {
          const got = qw.qlinearSigmoid({ data: x, shape: [256] }, sx, zx, sy, zy);
          expect(firstDiff(got.data, y.data as Int8Array), backend).toBe(-1);
        }
      }
    });

    it(`QLinearLeakyRelu ${dtype}: every input code, several alphas, bit-exact`, async () => {
      const r = rng(611);
      const x =
        dtype === 'int8'
          ? Int8Array.from({ length: 256 }, (_, i) => i - 128)
          : Uint8Array.from({ length: 256 }, (_, i) => i);
      for (const alpha of [0.01, 0.1, 0.2, 0.333, 1.5, -0.5]) {
        const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
        const sx = 0.01 + r() * 0.2;
        const zx = randInt(r, lo, hi);
        const sy = 0.01 + r() * 0.2;
        const zy = randInt(r, lo, hi);
        const y = await runContrib(
          'QLinearLeakyRelu',
          [
            { name: 'x', data: x, dims: [2, 128], feed: true },
            scalar('sx', Float32Array.of(sx)),
            scalar('zx', zpArr(dtype, zx)),
            scalar('sy', Float32Array.of(sy)),
            scalar('zy', zpArr(dtype, zy)),
          ],
          dtype,
          { alpha: { float: alpha } },
        );
        for (const [backend, qw] of qws) {
          const got = qw.qlinearLeakyRelu({ data: x, shape: [2, 128] }, sx, zx, sy, zy, { alpha });
          expect(firstDiff(got.data, y.data as Int8Array), `${backend} alpha ${alpha}`).toBe(-1);
        }
      }
    });
  }
});

describe('unaryF32', () => {
  it('is close to the float64 functions and identical on every build', () => {
    const r = rng(620);
    const x = randomFloat32(r, 1003, -9, 9);
    const exact: Record<string, (v: number) => number> = {
      sigmoid: FUNCTIONS['sigmoid']!,
      tanh: Math.tanh,
      silu: FUNCTIONS['silu']!,
      gelu: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
      hardSwish: FUNCTIONS['hardSwish']!,
      leakyRelu: (v) => (v >= 0 ? v : 0.01 * v),
    };
    for (const [kind, fn] of Object.entries(exact)) {
      let first: Float32Array | undefined;
      for (const [backend, qw] of qws) {
        const y = qw.unaryF32({ data: x, shape: [1003] }, kind as 'sigmoid').data;
        for (let i = 0; i < x.length; i++) {
          expect(Math.abs(y[i]! - fn(x[i]!)), `${backend} ${kind}(${x[i]})`).toBeLessThan(
            2e-6 + 2e-6 * Math.abs(fn(x[i]!)),
          );
        }
        if (first) expect(firstDiff(y, first), `${backend} ${kind}`).toBe(-1);
        first = y;
      }
    }
  });
});

describe('lookup input errors', () => {
  const qw = [...qws.values()][0]!;
  const x = { data: new Int8Array(4), shape: [4] };
  const expectError = (fn: () => unknown, argument: string) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(QwasmError);
      expect((e as QwasmError).argument).toBe(argument);
      return;
    }
    throw new Error(`expected a QwasmError naming ${argument}`);
  };

  it('names the argument or attribute', () => {
    expectError(() => qw.qlinearLookup(x, new Uint8Array(255), 1, 0, 1, 0), 'fn');
    expectError(() => qw.qlinearLookup(x, [300, ...new Array<number>(255).fill(0)], 1, 0, 1, 0), 'fn');
    expectError(() => qw.qlinearLookup(x, 'tanh' as unknown as (v: number) => number, 1, 0, 1, 0), 'fn');
    expectError(() => qw.qlinearSigmoid(x, -1, 0, 1, 0), 'xScale');
    expectError(() => qw.qlinearSigmoid(x, 1, 0, 1, 200), 'yZeroPoint');
    expectError(() => qw.qlinearLeakyRelu(x, 1, 0, 1, 0, { alpha: NaN }), 'attrs.alpha');
    expectError(() => qw.qlinearLeakyRelu({ data: new Float32Array(4), shape: [4] }, 1, 0, 1, 0), 'x');
    expectError(() => qw.unaryF32({ data: new Float32Array(4), shape: [4] }, 'relu' as 'tanh'), 'kind');
    expect(Array.from(qw.qlinearLeakyRelu(x, 1, 0, 1, 0).data)).toEqual([0, 0, 0, 0]);
  });
});
