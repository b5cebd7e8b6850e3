import { afterAll, describe, expect, it } from 'vitest';
import {
  QwasmError,
  packInt4,
  unpackInt4,
  quantizeWeightsInt4,
  LinearInt4,
  Linear,
  dequantizeTensor,
  computeQuantParams,
} from '../src/index.js';
import { fp32Multiplier } from '../src/quant/multiplier.js';
import { packInt4Panels, packedInt4Bytes } from '../src/layers/linear-int4.js';
import { engines, firstDiff, randInt, randomInt8, randomUint8, rng } from './helpers.js';
import { gemmNK } from './reference/gemm.js';
import { multiplyByQuantizedMultiplier, requantFp32 } from './reference/requant.js';
import { quantizeMultiplier } from '../src/quant/multiplier.js';
import { int4GroupedRef, nibble } from './reference/toolkit.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

describe('packInt4 / unpackInt4', () => {
  it('packs value 2i in the low nibble and 2i + 1 in the high nibble', () => {
    expect(Array.from(packInt4(new Int8Array([1, -2, 7]), [3]))).toEqual([0xe1, 0x07]);
    expect(Array.from(packInt4(new Int8Array([-8, 7, 0, -1]), [2, 2]))).toEqual([0x78, 0xf0]);
  });

  it('round-trips every int4 value, odd and even K, many rows', () => {
    const r = rng(5);
    for (const [N, K] of [
      [1, 1],
      [3, 7],
      [8, 16],
      [5, 33],
    ] as const) {
      const v = randomInt8(r, N * K, -8, 7);
      const p = packInt4(v, [N, K]);
      expect(p.length).toBe(N * Math.ceil(K / 2));
      expect(Array.from(unpackInt4(p, [N, K]))).toEqual(Array.from(v));
    }
  });

  it('refuses values outside [-8, 7] and mismatched sizes', () => {
    expect(() => packInt4(new Int8Array([8]), [1])).toThrow(QwasmError);
    expect(() => packInt4(new Int8Array([-9]), [1])).toThrow(/int4 range/);
    expect(() => unpackInt4(new Uint8Array(3), [2, 3])).toThrow(QwasmError);
  });
});

describe('quantizeWeightsInt4', () => {
  it('gives per-channel scales max|w| / 7 and per-group scales of shape [N, ceil(K / g)]', () => {
    const r = rng(9);
    const N = 6;
    const K = 70;
    const w = new Float32Array(N * K).map(() => r() * 2 - 1);
    const pc = quantizeWeightsInt4({ data: w, shape: [N, K] });
    expect(pc.weightScale.length).toBe(N);
    for (let n = 0; n < N; n++) {
      let m = 0;
      for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(w[n * K + k]!));
      expect(pc.weightScale[n]).toBe(Math.fround(m / 7));
    }
    const pg = quantizeWeightsInt4({ data: w, shape: [N, K] }, { groupSize: 32 });
    expect(pg.weightScale.length).toBe(N * 3);
    expect(pg.groupSize).toBe(32);
    // dequantized per-group weights are within half a step of the originals
    const q = unpackInt4(pg.weights.data, [N, K]);
    const p = computeQuantParams({ data: w, shape: [N, K] }, { bits: 4, axis: 1, groupSize: 32 });
    const back = dequantizeTensor({ data: q, shape: [N, K] }, p);
    for (let i = 0; i < w.length; i++) {
      const s = p.scale[Math.floor(i / K) * 3 + Math.floor((i % K) / 32)]!;
      expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
    }
  });
});

describe('int4 weight panels', () => {
  it('hold every weight once, in the quad layout, and take half a byte per weight', () => {
    const r = rng(3);
    const N = 11;
    const K = 13;
    const v = randomInt8(r, N * K, -8, 7);
    const panels = packInt4Panels((n, k) => v[n * K + k]!, N, K);
    expect(panels.length).toBe(packedInt4Bytes(N, K));
    const kQuads = Math.ceil(Math.ceil(K / 2) / 2);
    for (let n = 0; n < 16; n++) {
      for (let k = 0; k < kQuads * 4; k++) {
        // 16-bit lane i = 2 * (n & 3) + (k & 1) of quad k >> 2, nibble (n & 4) / 4 + 2 * ((k >> 1) & 1)
        const p = n >> 3;
        const q = k >> 2;
        const i = 2 * (n & 3) + (k & 1);
        const j = ((n & 7) >> 2) + 2 * ((k >> 1) & 1);
        const o = (p * kQuads + q) * 16 + 2 * i;
        const got = nibble(panels[o + (j >> 1)]!, j & 1);
        expect(got).toBe(n < N && k < K ? v[n * K + k]! : 0);
      }
    }
    expect(packedInt4Bytes(4096, 4096)).toBe((4096 * 4096) / 2);
  });
});

interface Case {
  M: number;
  N: number;
  K: number;
  dtype: 'int8' | 'uint8';
  groupSize?: number;
  perChannel: boolean;
  bias: boolean;
  activation: 'none' | 'relu' | 'relu6';
  requant: 'fp32' | 'fixedpoint';
}

function randomCase(r: () => number): Case {
  const dims = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33];
  const grouped = r() < 0.4;
  return {
    M: dims[randInt(r, 0, dims.length - 1)]!,
    N: dims[randInt(r, 0, dims.length - 1)]!,
    K: [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 63, 64, 65, 100, 130, 257][randInt(r, 0, 15)]!,
    dtype: r() < 0.5 ? 'int8' : 'uint8',
    groupSize: grouped ? [4, 8, 32, 64][randInt(r, 0, 3)] : undefined,
    perChannel: r() < 0.6,
    bias: r() < 0.6,
    activation: (['none', 'relu', 'relu6'] as const)[randInt(r, 0, 2)]!,
    requant: !grouped && r() < 0.4 ? 'fixedpoint' : 'fp32',
  };
}

function runCase(c: Case, seed: number) {
  const r = rng(seed);
  const { M, N, K } = c;
  const signed = c.dtype === 'int8';
  const x = signed ? randomInt8(r, M * K) : randomUint8(r, M * K);
  const w = randomInt8(r, N * K, -8, 7);
  // extremes: make one weight row all -8 and one input row saturating
  if (N > 1) w.fill(-8, 0, K);
  const zx = signed ? randInt(r, -128, 127) : randInt(r, 0, 255);
  const zy = signed ? randInt(r, -20, 20) : randInt(r, 100, 150);
  const sx = 0.01 + r() * 0.05;
  const sy = 0.05 + r() * 0.5;
  const groups = c.groupSize ? Math.ceil(K / c.groupSize) : 0;
  const ws = new Float32Array(c.groupSize ? N * groups : c.perChannel ? N : 1).map(() => 0.001 + r() * 0.02);
  let bias: Int32Array | Float32Array | undefined;
  if (c.bias)
    bias = c.groupSize
      ? new Float32Array(N).map(() => (r() - 0.5) * 4)
      : new Int32Array(N).map(() => randInt(r, -5000, 5000));
  const qmin0 = signed ? -128 : 0;
  const qmax0 = signed ? 127 : 255;
  let qmin = qmin0;
  let qmax = qmax0;
  if (c.activation !== 'none') qmin = Math.max(qmin, zy);
  if (c.activation === 'relu6') qmax = Math.min(qmax, zy + Math.round(6 / Math.fround(sy)));
  let expected: number[];
  if (c.groupSize) {
    const mults = new Float32Array(N * groups);
    for (let i = 0; i < mults.length; i++) mults[i] = fp32Multiplier(sx, ws[i]!, sy);
    const biasOut = bias ? Float32Array.from(bias as Float32Array, (b) => Math.fround(b / Math.fround(sy))) : undefined;
    expected = int4GroupedRef(x, w, M, N, K, zx, c.groupSize, mults, biasOut, zy, qmin, qmax);
  } else {
    const acc = gemmNK(x, w, M, N, K, zx, [0]);
    expected = Array.from(acc, (v, i) => {
      const n = i % N;
      const a = v + (bias ? (bias as Int32Array)[n]! : 0);
      const s = ws.length > 1 ? ws[n]! : ws[0]!;
      if (c.requant === 'fp32') return requantFp32(a, fp32Multiplier(sx, s, sy), zy, qmin, qmax);
      const { multiplier, shift } = quantizeMultiplier((Math.fround(sx) * Math.fround(s)) / Math.fround(sy));
      return Math.min(qmax, Math.max(qmin, multiplyByQuantizedMultiplier(a, multiplier, shift) + zy));
    });
  }
  const packed = r() < 0.5;
  return { x, w, zx, zy, sx, sy, ws, bias, expected, packed };
}

describe('qw.linear({ weightBits: 4 })', () => {
  const r = rng(2024);
  const cases = Array.from({ length: 60 }, () => randomCase(r));
  for (const [backend, qw] of qws) {
    it(`matches the scalar reference bit for bit on ${backend} (60 random shapes, per channel and per group)`, () => {
      cases.forEach((c, ci) => {
        const d = runCase(c, 100 + ci);
        const layer = qw.linear({
          weightBits: 4,
          weights: d.packed ? { data: packInt4(d.w, [c.N, c.K]), shape: [c.N, c.K] } : { data: d.w, shape: [c.N, c.K] },
          weightScale: d.ws,
          groupSize: c.groupSize,
          bias: d.bias,
          input: { scale: d.sx, zeroPoint: d.zx, dtype: c.dtype },
          output: { scale: d.sy, zeroPoint: d.zy },
          activation: c.activation,
          requant: c.requant,
        });
        expect(layer).toBeInstanceOf(LinearInt4);
        const y = layer.run(d.x);
        const i = firstDiff(Array.from(y), d.expected);
        expect(i, `case ${ci} ${JSON.stringify(c)}: at ${i} got ${y[i]} expected ${d.expected[i]}`).toBe(-1);
        // a second run into `out` gives the same
        const out = c.dtype === 'int8' ? new Int8Array(c.M * c.N) : new Uint8Array(c.M * c.N);
        layer.run(d.x, out);
        expect(firstDiff(Array.from(out), d.expected)).toBe(-1);
        layer.dispose();
      });
    });
  }

  it('gives the same answer as the int8 layer for int4-valued weights (per channel)', () => {
    const rr = rng(77);
    const N = 37;
    const K = 301;
    const M = 9;
    const w = randomInt8(rr, N * K, -8, 7);
    const x = randomInt8(rr, M * K);
    const ws = new Float32Array(N).map(() => 0.01 + rr() * 0.01);
    for (const [, qw] of qws) {
      const cfg = { weightScale: ws, input: { scale: 0.02, zeroPoint: 3 }, output: { scale: 0.3, zeroPoint: -2 } };
      const l8 = qw.linear({ weights: { data: w, shape: [N, K] }, ...cfg });
      const l4 = qw.linear({ weightBits: 4, weights: { data: packInt4(w, [N, K]), shape: [N, K] }, ...cfg });
      expect(l8).toBeInstanceOf(Linear);
      expect(Array.from(l4.run(x))).toEqual(Array.from(l8.run(x)));
      // half the bytes of int8 weights, a quarter of the int8 layer's int16 panels
      // (up to one padding quad of 16 bytes per 8-column panel when K is not a multiple of 4)
      expect(l4.packedBytes).toBe(Math.ceil(N / 8) * Math.ceil(K / 4) * 16);
      expect(l4.packedBytes).toBeLessThanOrEqual(l8.packedBytes / 4 + Math.ceil(N / 8) * 16);
      l8.dispose();
      l4.dispose();
    }
  });

  it('is bit-identical across backends on a large per-group layer', () => {
    const rr = rng(8);
    const N = 67;
    const K = 1029;
    const M = 11;
    const w = packInt4(randomInt8(rr, N * K, -8, 7), [N, K]);
    const x = randomUint8(rr, M * K);
    const ws = new Float32Array(N * Math.ceil(K / 128)).map(() => 0.001 + rr() * 0.01);
    const results = [...qws.values()].map((qw) => {
      const l = qw.linear({
        weightBits: 4,
        weights: { data: w, shape: [N, K] },
        weightScale: ws,
        groupSize: 128,
        input: { scale: 0.02, zeroPoint: 128, dtype: 'uint8' },
        output: { scale: 0.5, zeroPoint: 120 },
      });
      const y = Array.from(l.run(x));
      l.dispose();
      return y;
    });
    for (const y of results) expect(y).toEqual(results[0]);
  });

  it('refuses bad configurations with a QwasmError naming the argument', () => {
    const qw = [...qws.values()][0]!;
    const base = {
      weightBits: 4 as const,
      weights: { data: new Uint8Array(8), shape: [2, 8] },
      weightScale: 0.1,
      input: { scale: 0.1, zeroPoint: 0 },
      output: { scale: 0.1, zeroPoint: 0 },
    };
    const arg = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(QwasmError);
        return (e as QwasmError).argument;
      }
      return 'no error';
    };
    expect(arg(() => qw.linear({ ...base, weights: { data: new Uint8Array(7), shape: [2, 8] } }))).toBe('weights');
    expect(arg(() => qw.linear({ ...base, weights: { data: new Int8Array([9, 0]), shape: [1, 2] } }))).toBe('weights');
    expect(arg(() => qw.linear({ ...base, groupSize: 6, weightScale: new Float32Array(4) }))).toBe('groupSize');
    expect(arg(() => qw.linear({ ...base, groupSize: 4, weightScale: new Float32Array(3).fill(1) }))).toBe(
      'weightScale',
    );
    expect(
      arg(() => qw.linear({ ...base, groupSize: 4, weightScale: new Float32Array(4).fill(1), requant: 'fixedpoint' })),
    ).toBe('requant');
    expect(
      arg(() =>
        qw.linear({ ...base, groupSize: 4, weightScale: new Float32Array(4).fill(1), bias: new Int32Array(2) }),
      ),
    ).toBe('bias');
    expect(arg(() => qw.linear({ ...base, bias: new Float32Array(2) }))).toBe('bias');
    expect(arg(() => qw.linear({ ...base, weightBits: 6 } as never))).toBe('weightBits');
    const l = qw.linear(base);
    expect(arg(() => l.run(new Int8Array(7)))).toBe('x');
    l.dispose();
    expect(arg(() => l.run(new Int8Array(8)))).toBe('layer');
    // the engine still works
    const l2 = qw.linear(base);
    expect(l2.run(new Int8Array(8)).length).toBe(2);
    l2.dispose();
  });
});
