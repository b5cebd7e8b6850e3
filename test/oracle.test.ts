// The onnxruntime judge (test/oracle.ts), proven on this host whatever its CPU: an
// emulation of onnxruntime's saturating u8 x s8 kernel (x86-64 without VNNI) stands in
// for onnxruntime, on inputs whose pair sums really do saturate.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { engines, randomInt8, randomUint8, rng } from './helpers.js';
import { expectOracle, judge, onnxruntimeMayBeInexact, pmaddubswMatMulInteger, requantizeRef } from './oracle.js';
import { gemmKN } from './reference/gemm.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

/** u8 activations [M, K] and s8 weights [K, N] whose pair sums reach 2 x 255 x -128. */
function saturatingOperands(M: number, K: number, N: number) {
  const r = rng(5);
  const a = randomUint8(r, M * K, 200, 255);
  const b = randomInt8(r, K * N, -128, -100);
  a.fill(255, 0, K);
  b.fill(-128);
  for (let k = 0; k < K; k += 3) b[k * N + 1] = 127;
  return { a, b, M, K, N, za: 7, zb: -3 };
}

const transpose = <T extends Int32Array | Uint8Array | Int8Array>(
  x: T,
  R: number,
  C: number,
  make: (n: number) => T,
) => {
  const t = make(x.length);
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) t[j * R + i] = x[i * C + j]!;
  return t;
};

describe('the emulated u8 x s8 kernel of onnxruntime without VNNI', () => {
  it('saturates pair sums such as 255 x -128 + 255 x -128, so it is not exact on these inputs', () => {
    const { a, b, M, K, N, za, zb } = saturatingOperands(5, 34, 6);
    const emulated = pmaddubswMatMulInteger(a, b, M, K, N, za, zb);
    const exact = gemmKN(a, b, M, N, K, za, [zb]);
    expect(emulated[0]).toBe(exact[0]! + (K / 2) * (-32768 + 65280));
    expect(Array.from(emulated)).not.toEqual(Array.from(exact));
  });

  it('is exact where no pair sum leaves int16', () => {
    const r = rng(6);
    const [M, K, N] = [4, 33, 5];
    const a = randomUint8(r, M * K, 0, 100);
    const b = randomInt8(r, K * N, -100, 100);
    expect(Array.from(pmaddubswMatMulInteger(a, b, M, K, N, 9, -2))).toEqual(
      Array.from(gemmKN(a, b, M, N, K, 9, [-2])),
    );
  });
});

describe('judge', () => {
  const { a, b, M, K, N, za, zb } = saturatingOperands(6, 40, 7);
  const oracle = pmaddubswMatMulInteger(a, b, M, K, N, za, zb);
  const exact = () => gemmKN(a, b, M, N, K, za, [zb]);

  it('knows which operand pairs onnxruntime may get wrong: one uint8 and one int8, either order', () => {
    expect(onnxruntimeMayBeInexact(['uint8', 'int8'])).toBe(true);
    expect(onnxruntimeMayBeInexact(['int8', 'uint8'])).toBe(true);
    expect(onnxruntimeMayBeInexact(['int8', 'int8'])).toBe(false);
    expect(onnxruntimeMayBeInexact(['uint8', 'uint8'])).toBe(false);
  });

  for (const [backend, qw] of qws) {
    it(`accepts qwasm's exact MatMulInteger by the reference where the saturating kernel disagrees (${backend})`, () => {
      const got = qw.matMulInteger({ data: a, shape: [M, K] }, { data: b, shape: [K, N] }, za, zb).data;
      const v = judge({ label: 'MatMulInteger', operands: ['uint8', 'int8'], got, oracle, exact });
      expect(v).toMatchObject({ pass: true, judgedBy: 'reference' });
    });

    it(`accepts it in the other operand order too: int8 activations x uint8 weights (${backend})`, () => {
      const bT = transpose(b, K, N, (n) => new Int8Array(n));
      const aT = transpose(a, M, K, (n) => new Uint8Array(n));
      const got = qw.matMulInteger({ data: bT, shape: [N, K] }, { data: aT, shape: [K, M] }, zb, za).data;
      const v = judge({
        label: 'MatMulInteger',
        operands: ['int8', 'uint8'],
        got,
        oracle: transpose(oracle, M, N, (n) => new Int32Array(n)),
        exact: () => transpose(exact(), M, N, (n) => new Int32Array(n)),
      });
      expect(v).toMatchObject({ pass: true, judgedBy: 'reference' });
    });

    it(`accepts qwasm's exact QLinearMatMul by the reference (${backend})`, () => {
      // accumulators near -1.2e6 land inside the uint8 range: m ~ 1e-4, zero point 200
      const [sa, sb, sy, zy] = [0.02, Float32Array.from({ length: N }, (_, n) => 0.001 * (1 + n / N)), 0.3, 200];
      const requant = (acc: Int32Array) => requantizeRef(acc, sa, sb, sy, zy, 'uint8', (i) => i % N);
      const got = qw.qlinearMatMul(
        { data: a, shape: [M, K] },
        sa,
        za,
        { data: b, shape: [K, N] },
        sb,
        zb,
        sy,
        Uint8Array.of(zy),
      ).data;
      const q = requant(oracle);
      expect(Array.from(q)).not.toEqual(Array.from(got));
      const v = judge({
        label: 'QLinearMatMul',
        operands: ['uint8', 'int8'],
        got,
        oracle: q,
        exact: () => requant(exact()),
      });
      expect(v).toMatchObject({ pass: true, judgedBy: 'reference' });
    });

    it(`fails a corrupted qwasm result even where onnxruntime is inexact (${backend})`, () => {
      const got = qw.matMulInteger({ data: a, shape: [M, K] }, { data: b, shape: [K, N] }, za, zb).data.slice();
      got[got.length - 1]! += 1;
      const v = judge({ label: 'MatMulInteger', operands: ['uint8', 'int8'], got, oracle, exact });
      expect(v.pass).toBe(false);
      expect(v).toMatchObject({ reason: expect.stringMatching(/from the exact reference at index 41/) });
      expect(() => expectOracle({ label: 'MatMulInteger', operands: ['uint8', 'int8'], got, oracle, exact })).toThrow(
        /differs from onnxruntime/,
      );
    });
  }

  it('keeps onnxruntime as the oracle on every other operand pair, even when qwasm is exact', () => {
    const got = exact();
    for (const operands of [
      ['int8', 'int8'],
      ['uint8', 'uint8'],
    ] as const) {
      const v = judge({ label: 'MatMulInteger', operands, got, oracle, exact });
      expect(v).toMatchObject({
        pass: false,
        reason: expect.stringMatching(/qwasm differs from onnxruntime at index 0/),
      });
    }
  });

  it('passes by onnxruntime alone when it agrees, without computing the reference', () => {
    const exactSpy = vi.fn(exact);
    const v = judge({ label: 'MatMulInteger', operands: ['uint8', 'int8'], got: oracle, oracle, exact: exactSpy });
    expect(v).toEqual({ pass: true, judgedBy: 'onnxruntime' });
    expect(exactSpy).not.toHaveBeenCalled();
  });

  it('fails when the lengths differ', () => {
    const got = exact();
    const v = judge({ label: 'MatMulInteger', operands: ['int8', 'int8'], got: got.subarray(1), oracle: got, exact });
    expect(v.pass).toBe(false);
  });

  it('says once per test that it judged by the exact reference', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      for (let i = 0; i < 3; i++) {
        expectOracle({ label: 'MatMulInteger', operands: ['uint8', 'int8'], got: exact(), oracle, exact });
      }
      expectOracle({ label: 'MatMulInteger', operands: ['uint8', 'int8'], got: oracle, oracle, exact });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/judged by the exact reference, because onnxruntime disagreed/);
    } finally {
      warn.mockRestore();
    }
  });
});
