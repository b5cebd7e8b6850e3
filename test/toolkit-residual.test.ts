import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, residualDequantize, residualQuantize, LinearResidual } from '../src/index.js';
import { engines, firstDiff, randInt, rng } from './helpers.js';
import { f16round, residualGemmRef } from './reference/toolkit.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

/** max |x - sum_i s_i q_i| in float64, per channel along axis 0 of [C, inner] or per tensor. */
function stageErrors(x: Float32Array, rq: ReturnType<typeof residualQuantize>): number[] {
  const acc = new Float64Array(x.length);
  const inner = rq.axis === undefined ? x.length : x.length / rq.shape[0]!;
  return rq.stages.map((st) => {
    let m = 0;
    for (let i = 0; i < x.length; i++) {
      acc[i] = acc[i]! + st.q[i]! * st.scale[rq.axis === undefined ? 0 : Math.floor(i / inner)]!;
      m = Math.max(m, Math.abs(x[i]! - acc[i]!));
    }
    return m;
  });
}

describe('residualQuantize', () => {
  it('each stage cuts the worst-case error by at least 2^7 (about 2^8)', () => {
    const r = rng(1);
    const x = Float32Array.from({ length: 4096 }, () => (r() - 0.5) * 3 * (1 + 10 * (r() < 0.01 ? 1 : 0)));
    for (const axis of [undefined, 0]) {
      const rq = residualQuantize({ data: x, shape: [64, 64] }, 3, axis === undefined ? {} : { axis });
      expect(rq.stages.length).toBe(3);
      const e = stageErrors(x, rq);
      for (let s = 0; s + 1 < e.length; s++) {
        expect(e[s]! / e[s + 1]!).toBeGreaterThanOrEqual(2 ** 7);
        expect(e[s]! / e[s + 1]!).toBeLessThan(2 ** 10);
      }
      for (const st of rq.stages) for (const q of st.q) expect(Math.abs(q)).toBeLessThanOrEqual(127);
    }
    const two = residualDequantize(residualQuantize(x, 2));
    let amax = 0;
    let err = 0;
    for (let i = 0; i < x.length; i++) {
      amax = Math.max(amax, Math.abs(x[i]!));
      err = Math.max(err, Math.abs(two[i]! - x[i]!));
    }
    expect(err / amax).toBeLessThan(2 ** -15);
  });

  it('handles zeros and refuses non-finite values or a bad stage count', () => {
    const z = residualQuantize(new Float32Array(5), 2);
    expect(Array.from(residualDequantize(z))).toEqual([0, 0, 0, 0, 0]);
    expect(() => residualQuantize(new Float32Array([1, NaN]), 2)).toThrow(QwasmError);
    expect(() => residualQuantize(new Float32Array([1]), 5)).toThrow(/stages/);
  });
});

describe('qw.linearResidual', () => {
  const r = rng(7);
  const shapes = [
    [1, 1, 1],
    [3, 7, 5],
    [5, 513, 9],
    [9, 1030, 17],
    [13, 64, 8],
    [4, 257, 3],
  ];
  for (const [backend, qw] of qws) {
    it(`matches the scalar reference bit for bit on ${backend}`, () => {
      for (const [M, K, N] of shapes as [number, number, number][]) {
        const w = Float32Array.from({ length: N * K }, () => (r() - 0.5) * 2);
        const x = Float32Array.from({ length: M * K }, () => (r() - 0.5) * 4);
        if (M > 2) x.fill(0, K, 2 * K); // an all-zero row
        const bias = r() < 0.5 ? Float32Array.from({ length: N }, () => r() - 0.5) : undefined;
        const activation = (['none', 'relu', 'relu6'] as const)[randInt(r, 0, 2)]!;
        const rq = residualQuantize({ data: w, shape: [N, K] }, 2, { axis: 0 });
        const layer = qw.linearResidual({ weights: rq, bias, activation });
        expect(layer).toBeInstanceOf(LinearResidual);
        const y = layer.run(x);
        const lo = activation === 'none' ? -Infinity : 0;
        const hi = activation === 'relu6' ? 6 : Infinity;
        const ref = residualGemmRef(
          x,
          rq.stages[0]!.q,
          rq.stages[1]!.q,
          rq.stages[0]!.scale,
          rq.stages[1]!.scale,
          bias,
          M,
          N,
          K,
          lo,
          hi,
        );
        const i = firstDiff(y, ref);
        expect(i, `[${M}, ${K}, ${N}] at ${i}: ${y[i]} vs ${ref[i]}`).toBe(-1);
        layer.dispose();
      }
    });
  }

  it('has error within 2x of float16 rounding on random data (vs float64)', () => {
    const rr = rng(99);
    const [M, K, N] = [32, 1024, 96];
    const w = Float32Array.from({ length: N * K }, () => rr() * 2 - 1);
    const x = Float32Array.from({ length: M * K }, () => rr() * 2 - 1);
    const exact = (xs: ArrayLike<number>, ws: ArrayLike<number>) => {
      const y = new Float64Array(M * N);
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += xs[m * K + k]! * ws[n * K + k]!;
          y[m * N + n] = s;
        }
      return y;
    };
    const y64 = exact(x, w);
    const y16 = exact(x.map(f16round), w.map(f16round));
    const rms = (a: ArrayLike<number>) =>
      Math.sqrt(Array.from(a).reduce((s, v, i) => s + (v - y64[i]!) ** 2, 0) / M / N);
    const e16 = rms(y16);
    for (const [, qw] of qws) {
      const layer = qw.linearResidual({ weights: { data: w, shape: [N, K] } });
      const e = rms(layer.run(x));
      expect(e).toBeLessThanOrEqual(2 * e16);
      layer.dispose();
    }
  });

  it('refuses bad input with a QwasmError naming the argument', () => {
    const qw = [...qws.values()][0]!;
    const arg = (g: () => unknown) => {
      try {
        g();
      } catch (e) {
        expect(e).toBeInstanceOf(QwasmError);
        return (e as QwasmError).argument;
      }
      return 'no error';
    };
    const w = { data: new Float32Array(6).fill(0.5), shape: [2, 3] };
    expect(arg(() => qw.linearResidual({ weights: residualQuantize(w, 3, { axis: 0 }) }))).toBe('weights.stages');
    expect(arg(() => qw.linearResidual({ weights: residualQuantize(w, 2) }))).toBe('weights.axis');
    expect(arg(() => qw.linearResidual({ weights: w, bias: new Float32Array(3) }))).toBe('bias');
    const l = qw.linearResidual({ weights: w });
    expect(arg(() => l.run(new Float32Array(4)))).toBe('x');
    expect(arg(() => l.run(new Float32Array([1, NaN, 2])))).toBe('x');
    expect(Array.from(l.run(new Float32Array([1, 1, 1])))).toEqual(
      [1.5, 1.5].map((v) => expect.closeTo(v, 4) as unknown as number),
    );
    l.dispose();
    expect(arg(() => l.run(new Float32Array(3)))).toBe('layer');
  });
});
