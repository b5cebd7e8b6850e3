import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, type Qwasm } from '../src/index.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { gemmF32, gemmNK } from './reference/gemm.js';
import { multiplyByQuantizedMultiplier, requantFp32, roundHalfEven } from './reference/requant.js';
import { fp32Multiplier, quantizeMultiplier } from '../src/quant/multiplier.js';
import { dynamicParamsRef, quantizeRef } from './reference/quantize.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

interface Case {
  M: number;
  K: number;
  N: number;
  dtype: 'int8' | 'uint8';
  perChannel: boolean;
  bias: boolean;
  activation: 'none' | 'relu' | 'relu6';
  requant: 'fp32' | 'fixedpoint';
  weightZeroPoint: number;
}

function linearRef(
  c: Case,
  x: Int8Array | Uint8Array,
  w: Int8Array,
  ws: Float32Array,
  bias: Int32Array | undefined,
  p: { sx: number; zx: number; sy: number; zy: number },
) {
  const acc = gemmNK(x, w, c.M, c.N, c.K, p.zx, [c.weightZeroPoint]);
  const [qmin0, qmax0] = c.dtype === 'int8' ? [-128, 127] : [0, 255];
  let qmin = qmin0;
  let qmax = qmax0;
  if (c.activation !== 'none') qmin = Math.max(qmin, p.zy);
  if (c.activation === 'relu6') qmax = Math.min(qmax, p.zy + Math.sign(6 / p.sy) * Math.round(Math.abs(6 / p.sy)));
  return Array.from(acc, (v, i) => {
    const n = i % c.N;
    const a = v + (bias ? bias[n]! : 0);
    const s = ws.length > 1 ? ws[n]! : ws[0]!;
    if (c.requant === 'fp32') return requantFp32(a, fp32Multiplier(p.sx, s, p.sy), p.zy, qmin, qmax);
    const { multiplier, shift } = quantizeMultiplier((Math.fround(p.sx) * Math.fround(s)) / Math.fround(p.sy));
    return Math.min(qmax, Math.max(qmin, multiplyByQuantizedMultiplier(a, multiplier, shift) + p.zy));
  });
}

function randomCases(seed: number, count: number): Case[] {
  const r = rng(seed);
  const dims = [1, 2, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 33, 64];
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      M: dims[randInt(r, 0, dims.length - 1)]!,
      K: [1, 3, 8, 15, 16, 17, 63, 100, 257][randInt(r, 0, 8)]!,
      N: dims[randInt(r, 0, dims.length - 1)]!,
      dtype: r() < 0.5 ? 'int8' : 'uint8',
      perChannel: r() < 0.5,
      bias: r() < 0.7,
      activation: (['none', 'relu', 'relu6'] as const)[randInt(r, 0, 2)]!,
      requant: r() < 0.5 ? 'fp32' : 'fixedpoint',
      weightZeroPoint: r() < 0.8 ? 0 : randInt(r, -20, 20),
    });
  }
  return out;
}

describe.each([...qws.keys()])('linear on %s', (backend) => {
  const qw = qws.get(backend)!;

  it.each(randomCases(40, 40))('matches the reference: %o', (c) => {
    const r = rng(c.M * 1000 + c.K * 10 + c.N);
    const x = c.dtype === 'int8' ? randomInt8(r, c.M * c.K) : randomUint8(r, c.M * c.K);
    const w = randomInt8(r, c.N * c.K);
    const ws = c.perChannel ? randomFloat32(r, c.N, 0.002, 0.02) : Float32Array.of(0.01);
    const bias = c.bias ? new Int32Array(c.N).map(() => randInt(r, -5000, 5000)) : undefined;
    const p = {
      sx: 0.03,
      zx: c.dtype === 'int8' ? randInt(r, -20, 20) : randInt(r, 100, 150),
      sy: 0.02 * Math.sqrt(c.K),
      zy: c.dtype === 'int8' ? randInt(r, -10, 10) : randInt(r, 110, 140),
    };
    const layer = qw.linear({
      weights: { data: w, shape: [c.N, c.K] },
      weightScale: c.perChannel ? ws : ws[0]!,
      weightZeroPoint: c.weightZeroPoint,
      bias,
      input: { scale: p.sx, zeroPoint: p.zx, dtype: c.dtype },
      output: { scale: p.sy, zeroPoint: p.zy },
      activation: c.activation,
      requant: c.requant,
    });
    const y = layer.run(x);
    expect(y).toBeInstanceOf(c.dtype === 'int8' ? Int8Array : Uint8Array);
    expect(firstDiff(y, linearRef(c, x, w, ws, bias, p))).toBe(-1);
    layer.dispose();
  });

  it('writes into `out`, reuses its buffers across calls and frees them on dispose', () => {
    const r = rng(41);
    const [N, K] = [24, 50];
    const layer = qw.linear({
      weights: { data: randomInt8(r, N * K), shape: [N, K] },
      weightScale: 0.01,
      input: { scale: 0.05, zeroPoint: 0 },
      output: { scale: 0.2, zeroPoint: 0 },
    });
    const x = randomInt8(r, 7 * K);
    const out = new Int8Array(7 * N + 5).fill(99);
    const first = layer.run(x).slice();
    const before = qw.memoryBytes;
    for (let i = 0; i < 200; i++) expect(layer.run(x, out)).toBe(out);
    expect(qw.memoryBytes).toBe(before);
    expect(firstDiff(out.subarray(0, 7 * N), first)).toBe(-1);
    expect(Array.from(out.subarray(7 * N))).toEqual([99, 99, 99, 99, 99]);
    layer.dispose();
    expect(() => layer.run(x)).toThrow(QwasmError);
  });

  it('keeps memory bounded over many layers created and disposed', () => {
    const r = rng(42);
    const w = randomInt8(r, 64 * 300);
    const x = randomInt8(r, 16 * 300);
    let size = 0;
    for (let i = 0; i < 100; i++) {
      const l = qw.linear({
        weights: { data: w, shape: [64, 300] },
        weightScale: 0.01,
        input: { scale: 0.05, zeroPoint: 0 },
        output: { scale: 0.2, zeroPoint: 0 },
      });
      l.run(x);
      l.dispose();
      if (i === 10) size = qw.memoryBytes;
    }
    expect(qw.memoryBytes).toBe(size);
  });
});

describe.each([...qws.keys()])('linearF32 on %s', (backend) => {
  const qw = qws.get(backend)!;
  const exact = backend !== 'relaxed'; // relaxed_madd fuses: compare with a tolerance there

  it.each([
    [1, 1, 1],
    [3, 17, 9],
    [5, 64, 8],
    [12, 100, 21],
    [33, 7, 70],
  ])('matches the float32 reference at %i x %i x %i', (M, K, N) => {
    const r = rng(M + K + N);
    const x = randomFloat32(r, M * K);
    const w = randomFloat32(r, N * K);
    const bias = randomFloat32(r, N);
    for (const activation of ['none', 'relu', 'relu6'] as const) {
      const l = qw.linearF32({ weights: { data: w, shape: [N, K] }, bias, activation });
      const y = l.run(x);
      const [lo, hi] = activation === 'none' ? [-Infinity, Infinity] : [0, activation === 'relu6' ? 6 : Infinity];
      const want = gemmF32(x, w, M, N, K, bias, lo, hi);
      if (exact) expect(firstDiff(y, want)).toBe(-1);
      else for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - want[i]!)).toBeLessThan(1e-5 * K);
      l.dispose();
    }
  });
});

describe.each([...qws.keys()])('dynamicLinear on %s', (backend) => {
  const qw = qws.get(backend)!;

  it('quantizes weights per channel and the input per call, exactly as specified', () => {
    const r = rng(50);
    for (const [M, K, N] of [
      [1, 10, 3],
      [7, 33, 17],
      [16, 128, 40],
    ] as [number, number, number][]) {
      const w = randomFloat32(r, N * K, -0.5, 0.5);
      const bias = randomFloat32(r, N);
      const x = randomFloat32(r, M * K, -2, 3);
      const l = qw.dynamicLinear({ weights: { data: w, shape: [N, K] }, bias });
      const y = l.run(x);
      // reference: symmetric per-channel weights, ONNX dynamic uint8 input, dequantizing epilogue
      const ws = new Float32Array(N);
      const wq = new Int8Array(N * K);
      for (let n = 0; n < N; n++) {
        let m = 0;
        for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(w[n * K + k]!));
        ws[n] = Math.fround(m / 127);
        for (let k = 0; k < K; k++)
          wq[n * K + k] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(w[n * K + k]! / ws[n]!))));
      }
      expect(firstDiff(l.weightScale, ws)).toBe(-1);
      const { scale, zeroPoint } = dynamicParamsRef(x);
      const xq = Uint8Array.from(x, (v) => quantizeRef(v, scale, zeroPoint, 0, 255));
      const acc = gemmNK(xq, wq, M, N, K, zeroPoint, [0]);
      const want = Array.from(acc, (v, i) =>
        Math.fround(Math.fround(Math.fround(v) * Math.fround(scale * ws[i % N]!)) + bias[i % N]!),
      );
      expect(firstDiff(y, want)).toBe(-1);
      // and it is close to the float product
      const f = gemmF32(x, w, M, N, K, bias);
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - f[i]!)).toBeLessThan(0.05 * Math.sqrt(K));
      l.dispose();
    }
  });
});

describe('linear builds agree bit for bit', () => {
  it('every build gives the same int8 output and the same dynamicLinear output', () => {
    const r = rng(60);
    const [M, K, N] = [37, 300, 53];
    const w = randomInt8(r, N * K);
    const x = randomUint8(r, M * K);
    const wf = randomFloat32(r, N * K);
    const xf = randomFloat32(r, M * K);
    const outs = [...qws.values()].map((qw) => {
      const l = qw.linear({
        weights: { data: w, shape: [N, K] },
        weightScale: randomFloat32(rng(1), N, 0.001, 0.01),
        input: { scale: 0.05, zeroPoint: 128, dtype: 'uint8' },
        output: { scale: 0.5, zeroPoint: 128 },
        activation: 'relu',
        requant: 'fixedpoint',
      });
      const d = qw.dynamicLinear({ weights: { data: wf, shape: [N, K] } });
      const res = [Array.from(l.run(x)), Array.from(d.run(xf))];
      l.dispose();
      d.dispose();
      return res;
    });
    for (const o of outs) expect(o).toEqual(outs[0]);
  });
});

describe('layer argument checks', () => {
  const qw: Qwasm = qws.values().next().value!;
  const base = () => ({
    weights: { data: new Int8Array(12), shape: [3, 4] },
    weightScale: 0.1 as number | Float32Array,
    input: { scale: 0.1, zeroPoint: 0 },
    output: { scale: 0.1, zeroPoint: 0 },
  });
  it.each([
    ['weights', () => qw.linear({ ...base(), weights: { data: new Int8Array(12), shape: [12] } })],
    ['weights', () => qw.linear({ ...base(), weights: { data: new Uint8Array(12), shape: [3, 4] } as never })],
    ['weightScale', () => qw.linear({ ...base(), weightScale: new Float32Array([1, 2]) })],
    ['weightScale', () => qw.linear({ ...base(), weightScale: 0 })],
    ['input.zeroPoint', () => qw.linear({ ...base(), input: { scale: 0.1, zeroPoint: 200 } })],
    ['output.scale', () => qw.linear({ ...base(), output: { scale: Infinity, zeroPoint: 0 } })],
    ['bias', () => qw.linear({ ...base(), bias: new Int32Array(2) })],
    ['activation', () => qw.linear({ ...base(), activation: 'gelu' as never })],
    [
      'weights',
      () =>
        qw.linear({
          ...base(),
          weights: { data: new Int8Array(70000), shape: [1, 70000] },
          input: { scale: 0.1, zeroPoint: 0, dtype: 'uint8' },
        }),
    ],
    ['x', () => qw.linear(base()).run(new Int8Array(5))],
    ['x', () => qw.linear(base()).run(new Uint8Array(4) as never)],
    ['out', () => qw.linear(base()).run(new Int8Array(8), new Int8Array(5))],
    ['x', () => qw.linearF32({ weights: { data: new Float32Array(12), shape: [3, 4] } }).run(new Float32Array(3))],
    ['weights', () => qw.dynamicLinear({ weights: { data: new Float32Array([NaN, 0, 0, 0]), shape: [1, 4] } })],
  ])('names %s', (argument, fn) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QwasmError);
    expect((err as QwasmError).argument).toBe(argument);
    const l = qw.linear({
      ...base(),
      weights: { data: new Int8Array([1, 1, 1, 1]), shape: [1, 4] },
      weightScale: 1,
      output: { scale: 0.1, zeroPoint: 0 },
    });
    expect(Array.from(l.run(new Int8Array([1, 2, 3, 4])))).toEqual([10]);
    l.dispose();
  });

  it('refuses every call after the engine is disposed', async () => {
    const { Qwasm } = await import('../src/index.js');
    const q = await Qwasm.create({ backend: 'scalar' });
    q.dispose();
    expect(() => q.quantizeLinear({ data: new Float32Array(1), shape: [1] }, 1)).toThrow(QwasmError);
  });
});
