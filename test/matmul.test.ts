import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, type Qwasm, type Tensor } from '../src/index.js';
import { engines, firstDiff, randInt, randomInt8, randomUint8, rng } from './helpers.js';
import { gemmKN } from './reference/gemm.js';
import { multiplyByQuantizedMultiplier, requantFp32 } from './reference/requant.js';
import { fp32Multiplier, quantizeMultiplier } from '../src/quant/multiplier.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Dt = 'int8' | 'uint8';
const randQ = (r: () => number, dt: Dt, n: number) => (dt === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
const zpOf = (r: () => number, dt: Dt) => (dt === 'int8' ? randInt(r, -128, 127) : randInt(r, 0, 255));

/** Shapes that hit every remainder of the 5 x 8 tile and of the k-pair step. */
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 17, 9],
  [4, 7, 7],
  [5, 8, 8],
  [6, 9, 15],
  [7, 31, 17],
  [11, 64, 23],
  [13, 33, 40],
  [3, 257, 5],
  [17, 100, 31],
];

describe.each([...qws.keys()])('matMulInteger on %s', (backend) => {
  const qw = qws.get(backend)!;

  for (const [aT, bT] of [
    ['uint8', 'int8'],
    ['int8', 'int8'],
    ['uint8', 'uint8'],
    ['int8', 'uint8'],
  ] as Array<[Dt, Dt]>) {
    it(`is exact for ${aT} x ${bT} on awkward shapes`, () => {
      const r = rng(10);
      for (const [M, K, N] of SHAPES) {
        const a = randQ(r, aT, M * K);
        const b = randQ(r, bT, K * N);
        const za = zpOf(r, aT);
        const zb = zpOf(r, bT);
        const y = qw.matMulInteger({ data: a, shape: [M, K] }, { data: b, shape: [K, N] }, za, zb);
        expect(y.shape).toEqual([M, N]);
        expect(firstDiff(y.data, gemmKN(a, b, M, N, K, za, [zb]))).toBe(-1);
      }
    });
  }

  it('takes a per-column b zero point', () => {
    const r = rng(11);
    const [M, K, N] = [6, 21, 19];
    const a = randomUint8(r, M * K);
    const b = randomInt8(r, K * N);
    const zb = new Int8Array(N).map(() => randInt(r, -128, 127));
    const y = qw.matMulInteger({ data: a, shape: [M, K] }, { data: b, shape: [K, N] }, 200, zb);
    expect(firstDiff(y.data, gemmKN(a, b, M, N, K, 200, zb))).toBe(-1);
  });

  it('accumulates K = 4096 with saturating operands exactly', () => {
    const [M, K, N] = [3, 4096, 9];
    const a = new Uint8Array(M * K).fill(255);
    const b = new Int8Array(K * N).fill(-128);
    const y = qw.matMulInteger({ data: a, shape: [M, K] }, { data: b, shape: [K, N] }, 0, 0);
    expect(Array.from(new Set(y.data))).toEqual([255 * -128 * K]);
  });

  it('broadcasts batch dimensions as numpy matmul and handles 1-D operands', () => {
    const r = rng(12);
    const [M, K, N] = [3, 10, 6];
    const a = randomInt8(r, 2 * 1 * M * K);
    const b = randomInt8(r, 4 * K * N);
    const y = qw.matMulInteger({ data: a, shape: [2, 1, M, K] }, { data: b, shape: [4, K, N] }, 1, 2);
    expect(y.shape).toEqual([2, 4, M, N]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 4; j++) {
        const want = gemmKN(
          a.subarray(i * M * K, (i + 1) * M * K),
          b.subarray(j * K * N, (j + 1) * K * N),
          M,
          N,
          K,
          1,
          [2],
        );
        const got = y.data.subarray((i * 4 + j) * M * N, (i * 4 + j + 1) * M * N);
        expect(firstDiff(got, want)).toBe(-1);
      }
    }
    // batched a against a 2-D b folds all rows into one GEMM; M = 3 is not a tile multiple
    const y2 = qw.matMulInteger({ data: a, shape: [2, M, K] }, { data: b.subarray(0, K * N), shape: [K, N] });
    for (let i = 0; i < 2; i++) {
      const want = gemmKN(a.subarray(i * M * K, (i + 1) * M * K), b, M, N, K, 0, [0]);
      expect(firstDiff(y2.data.subarray(i * M * N, (i + 1) * M * N), want)).toBe(-1);
    }
    const v = qw.matMulInteger({ data: a.subarray(0, K), shape: [K] }, { data: b.subarray(0, K * N), shape: [K, N] });
    expect(v.shape).toEqual([N]);
    expect(firstDiff(v.data, gemmKN(a.subarray(0, K), b, 1, N, K, 0, [0]))).toBe(-1);
  });
});

function qlinearRef(
  a: Int8Array | Uint8Array,
  b: Int8Array | Uint8Array,
  M: number,
  K: number,
  N: number,
  p: { sa: number; za: number; sb: Float32Array; zb: number; sy: number; zy: number; qmin: number; qmax: number },
  requant: 'fp32' | 'fixedpoint',
): number[] {
  const acc = gemmKN(a, b, M, N, K, p.za, [p.zb]);
  return Array.from(acc, (v, i) => {
    const n = i % N;
    const sb = p.sb.length > 1 ? p.sb[n]! : p.sb[0]!;
    if (requant === 'fp32') return requantFp32(v, fp32Multiplier(p.sa, sb, p.sy), p.zy, p.qmin, p.qmax);
    const real = (Math.fround(p.sa) * Math.fround(sb)) / Math.fround(p.sy);
    const { multiplier, shift } = quantizeMultiplier(real);
    const y = multiplyByQuantizedMultiplier(v, multiplier, shift) + p.zy;
    return Math.min(p.qmax, Math.max(p.qmin, y));
  });
}

describe.each([...qws.keys()])('qlinearMatMul on %s', (backend) => {
  const qw = qws.get(backend)!;

  for (const requant of ['fp32', 'fixedpoint'] as const) {
    for (const [aT, bT] of [
      ['uint8', 'int8'],
      ['int8', 'int8'],
      ['uint8', 'uint8'],
    ] as Array<[Dt, Dt]>) {
      it(`requantizes ${aT} x ${bT} (${requant}) exactly, per tensor and per column`, () => {
        const r = rng(20);
        for (const [M, K, N] of SHAPES) {
          for (const perColumn of [false, true]) {
            const a = randQ(r, aT, M * K);
            const b = randQ(r, bT, K * N);
            const sb = perColumn ? Float32Array.from({ length: N }, () => 0.001 + r() * 0.01) : Float32Array.of(0.004);
            const yT = aT;
            const [qmin, qmax] = yT === 'int8' ? [-128, 127] : [0, 255];
            const p = {
              sa: 0.02,
              za: zpOf(r, aT),
              sb,
              zb: zpOf(r, bT),
              sy: 0.05 + r() * K * 0.01,
              zy: zpOf(r, yT),
              qmin,
              qmax,
            };
            const y = qw.qlinearMatMul(
              { data: a, shape: [M, K] },
              p.sa,
              p.za,
              { data: b, shape: [K, N] },
              perColumn ? sb : sb[0]!,
              p.zb,
              p.sy,
              p.zy,
              { requant },
            );
            expect(y.data).toBeInstanceOf(yT === 'int8' ? Int8Array : Uint8Array);
            expect(firstDiff(y.data, qlinearRef(a, b, M, K, N, p, requant))).toBe(-1);
          }
        }
      });
    }
  }

  it('saturates at both ends of the output range', () => {
    const r = rng(21);
    const [M, K, N] = [9, 40, 17];
    const a = randomInt8(r, M * K);
    const b = randomInt8(r, K * N);
    const y = qw.qlinearMatMul({ data: a, shape: [M, K] }, 1, 0, { data: b, shape: [K, N] }, 1, 0, 0.5, 0);
    const counts = { lo: 0, hi: 0 };
    for (const v of y.data) {
      if (v === -128) counts.lo++;
      if (v === 127) counts.hi++;
    }
    expect(counts.lo).toBeGreaterThan(0);
    expect(counts.hi).toBeGreaterThan(0);
    const p = { sa: 1, za: 0, sb: Float32Array.of(1), zb: 0, sy: 0.5, zy: 0, qmin: -128, qmax: 127 };
    expect(firstDiff(y.data, qlinearRef(a, b, M, K, N, p, 'fp32'))).toBe(-1);
  });
});

describe('matmul builds agree bit for bit', () => {
  it('every build gives identical qlinearMatMul output', () => {
    const r = rng(30);
    const [M, K, N] = [23, 129, 37];
    const a = randomUint8(r, M * K);
    const b = randomInt8(r, K * N);
    const outs = [...qws.values()].map(
      (qw) =>
        qw.qlinearMatMul({ data: a, shape: [M, K] }, 0.03, 100, { data: b, shape: [K, N] }, 0.002, 0, 0.07, 120).data,
    );
    for (const o of outs) expect(firstDiff(o, outs[0]!)).toBe(-1);
  });
});

describe('matmul argument checks', () => {
  const qw: Qwasm = qws.values().next().value!;
  const t = (data: Int8Array | Uint8Array, shape: number[]): Tensor => ({ data, shape });
  it.each([
    ['b', () => qw.matMulInteger(t(new Int8Array(6), [2, 3]), t(new Int8Array(8), [4, 2]))],
    ['b', () => qw.matMulInteger(t(new Int8Array(12), [2, 2, 3]), t(new Int8Array(18), [3, 3, 2]))],
    ['a', () => qw.matMulInteger({ data: new Float32Array(6), shape: [2, 3] }, t(new Int8Array(6), [3, 2]))],
    ['aZeroPoint', () => qw.matMulInteger(t(new Uint8Array(6), [2, 3]), t(new Int8Array(6), [3, 2]), -1)],
    [
      'bZeroPoint',
      () => qw.matMulInteger(t(new Uint8Array(6), [2, 3]), t(new Int8Array(6), [3, 2]), 0, new Int8Array(3)),
    ],
    ['a', () => qw.matMulInteger(t(new Uint8Array(40000), [1, 40000]), t(new Uint8Array(40000), [40000, 1]))],
    ['bScale', () => qw.qlinearMatMul(t(new Int8Array(6), [2, 3]), 1, 0, t(new Int8Array(6), [3, 2]), 0, 0, 1, 0)],
    [
      'yZeroPoint',
      () => qw.qlinearMatMul(t(new Int8Array(6), [2, 3]), 1, 0, t(new Int8Array(6), [3, 2]), 1, 0, 1, 128),
    ],
  ])('names %s', (argument, fn) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QwasmError);
    expect((err as QwasmError).argument).toBe(argument);
    const y = qw.matMulInteger(t(new Int8Array([1, 2, 3]), [1, 3]), t(new Int8Array([1, 1, 1]), [3, 1]));
    expect(Array.from(y.data)).toEqual([6]);
  });
});
