// The prepacked conv layers: conv2d (int8 / uint8, fused bias + requantization + clamp)
// against the reference conv and requantization, conv2dF32 against the float reference,
// every kernel path, reuse of one layer across input shapes, no growth with `out`.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, type Tensor } from '../src/index.js';
import { fixedRealMultiplier, fp32Multiplier, quantizeMultiplier, roundHalfAway } from '../src/quant/multiplier.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { refConvF32, refConvInteger, refOutputSize, type RefConvShape } from './reference/conv.js';
import { clamp, multiplyByQuantizedMultiplier, requantFp32 } from './reference/requant.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Dt = 'int8' | 'uint8';
type Act = 'none' | 'relu' | 'relu6';

/** One shape per kernel path, and the corners of each. */
const SHAPES: Array<[string, RefConvShape]> = [
  ['1x1 (GEMM on the input rows)', { N: 2, H: 6, W: 7, C: 24, M: 19, kH: 1, kW: 1 }],
  ['grouped 1x1', { N: 1, H: 5, W: 5, C: 16, M: 12, kH: 1, kW: 1, group: 4 }],
  ['3x3 pad 1 (im2col)', { N: 1, H: 11, W: 9, C: 32, M: 40, kH: 3, kW: 3, pads: [1, 1, 1, 1] }],
  ['3x3 stride 2, 3 channels', { N: 2, H: 13, W: 12, C: 3, M: 8, kH: 3, kW: 3, strides: [2, 2], pads: [1, 1, 0, 0] }],
  [
    'grouped 3x3 dilated',
    { N: 1, H: 10, W: 10, C: 12, M: 18, kH: 3, kW: 3, dilations: [2, 2], pads: [2, 2, 2, 2], group: 3 },
  ],
  ['depthwise 3x3', { N: 2, H: 9, W: 9, C: 24, M: 24, kH: 3, kW: 3, pads: [1, 1, 1, 1], group: 24 }],
  [
    'depthwise 3x3 stride 2, odd channels',
    { N: 1, H: 12, W: 10, C: 11, M: 11, kH: 3, kW: 3, strides: [2, 2], pads: [0, 0, 1, 1], group: 11 },
  ],
  ['depthwise 5x5, multiplier 2', { N: 1, H: 9, W: 8, C: 5, M: 10, kH: 5, kW: 5, pads: [2, 2, 2, 2], group: 5 }],
  [
    'depthwise 5x5 stride (2, 1) over 3 rows (kernel rows of padding skipped)',
    { N: 2, H: 3, W: 10, C: 20, M: 20, kH: 5, kW: 5, strides: [2, 1], pads: [2, 2, 2, 2], group: 20 },
  ],
];

function layerShape(s: RefConvShape) {
  return { strides: s.strides, pads: s.pads, dilations: s.dilations, group: s.group };
}

/** Reference conv2d: integer conv, bias, requantization, the activation's clamp (TFLite's range). */
function refConv2d(
  s: RefConvShape,
  x: ArrayLike<number>,
  w: Int8Array,
  o: {
    zx: number;
    zw: number;
    sx: number;
    sw: Float32Array;
    sy: number;
    zy: number;
    bias?: Int32Array;
    dt: Dt;
    act: Act;
    requant: 'fp32' | 'fixedpoint';
  },
): number[] {
  let qmin = o.dt === 'int8' ? -128 : 0;
  let qmax = o.dt === 'int8' ? 127 : 255;
  if (o.act !== 'none') qmin = Math.max(qmin, o.zy);
  if (o.act === 'relu6') qmax = Math.min(qmax, o.zy + roundHalfAway(6 / o.sy));
  const acc = refConvInteger(s, x, w, o.zx, [o.zw]);
  return Array.from(acc, (a, i) => {
    const m = i % s.M;
    const v = a + (o.bias ? o.bias[m]! : 0);
    const ws = o.sw.length > 1 ? o.sw[m]! : o.sw[0]!;
    if (o.requant === 'fp32') return requantFp32(v, fp32Multiplier(o.sx, ws, o.sy), o.zy, qmin, qmax);
    const q = quantizeMultiplier(fixedRealMultiplier(o.sx, ws, o.sy));
    return clamp(multiplyByQuantizedMultiplier(v, q.multiplier, q.shift) + o.zy, qmin, qmax);
  });
}

describe.each([...qws.keys()])('conv2d on %s', (backend) => {
  const qw = qws.get(backend)!;

  it.each(SHAPES)('matches the reference: %s', (_name, s) => {
    const r = rng(200);
    const Cg = s.C / (s.group ?? 1);
    const combos: Array<[Dt, Act, 'fp32' | 'fixedpoint']> = [
      ['int8', 'none', 'fp32'],
      ['uint8', 'relu', 'fp32'],
      ['int8', 'relu6', 'fixedpoint'],
      ['uint8', 'none', 'fixedpoint'],
    ];
    for (const [dt, act, requant] of combos) {
      const x = dt === 'int8' ? randomInt8(r, s.N * s.H * s.W * s.C) : randomUint8(r, s.N * s.H * s.W * s.C);
      const w = randomInt8(r, s.M * s.kH * s.kW * Cg);
      const o = {
        zx: dt === 'int8' ? randInt(r, -20, 20) : randInt(r, 100, 150),
        zw: requant === 'fp32' ? randInt(r, -3, 3) : 0,
        sx: 0.02,
        sw: r() < 0.5 ? randomFloat32(r, s.M, 0.002, 0.01) : Float32Array.of(0.005),
        sy: Math.fround(0.03 + r() * 0.2),
        zy: dt === 'int8' ? randInt(r, -10, 10) : randInt(r, 110, 140),
        bias: r() < 0.7 ? new Int32Array(s.M).map(() => randInt(r, -5000, 5000)) : undefined,
        dt,
        act,
        requant,
      };
      const layer = qw.conv2d({
        weights: { data: w, shape: [s.M, s.kH, s.kW, Cg] },
        weightScale: o.sw,
        weightZeroPoint: o.zw,
        bias: o.bias,
        input: { scale: o.sx, zeroPoint: o.zx, dtype: dt },
        output: { scale: o.sy, zeroPoint: o.zy },
        activation: act,
        requant,
        ...layerShape(s),
      });
      const y = layer.run({ data: x, shape: [s.N, s.H, s.W, s.C] });
      const { OH, OW } = refOutputSize(s);
      expect(y.shape).toEqual([s.N, OH, OW, s.M]);
      expect(y.data instanceof (dt === 'int8' ? Int8Array : Uint8Array)).toBe(true);
      expect(firstDiff(y.data, refConv2d(s, x, w, o)), `${dt} ${act} ${requant}`).toBe(-1);
      layer.dispose();
    }
  });

  it('runs one layer on changing input sizes, and writes into `out` without growing memory', () => {
    const r = rng(201);
    const w = randomInt8(r, 16 * 3 * 3 * 8);
    const layer = qw.conv2d({
      weights: { data: w, shape: [16, 3, 3, 8] },
      weightScale: 0.01,
      input: { scale: 0.05, zeroPoint: 3 },
      output: { scale: 0.2, zeroPoint: -2 },
      pads: [1, 1, 1, 1],
      strides: [1, 2],
    });
    expect(layer.path).toBe('igemm');
    const o = {
      zx: 3,
      zw: 0,
      sx: 0.05,
      sw: Float32Array.of(0.01),
      sy: 0.2,
      zy: -2,
      dt: 'int8' as Dt,
      act: 'none' as Act,
      requant: 'fp32' as const,
    };
    for (const [N, H, W] of [
      [1, 9, 9],
      [2, 5, 12],
      [1, 1, 1],
      [1, 9, 9],
    ] as const) {
      const s: RefConvShape = { N, H, W, C: 8, M: 16, kH: 3, kW: 3, pads: [1, 1, 1, 1], strides: [1, 2] };
      const x = randomInt8(r, N * H * W * 8);
      const y = layer.run({ data: x, shape: [N, H, W, 8] });
      expect(firstDiff(y.data, refConv2d(s, x, w, o)), `${N}x${H}x${W}`).toBe(-1);
    }
    const x = randomInt8(r, 2 * 14 * 14 * 8);
    const out: Tensor<Int8Array> = { data: new Int8Array(2 * 14 * 7 * 16), shape: [2, 14, 7, 16] };
    expect(layer.run({ data: x, shape: [2, 14, 14, 8] }, out)).toBe(out);
    const bytes = qw.memoryBytes;
    for (let i = 0; i < 50; i++) expect(layer.run({ data: x, shape: [2, 14, 14, 8] }, out)).toBe(out);
    expect(qw.memoryBytes).toBe(bytes);
    const s: RefConvShape = { N: 2, H: 14, W: 14, C: 8, M: 16, kH: 3, kW: 3, pads: [1, 1, 1, 1], strides: [1, 2] };
    expect(firstDiff(out.data, refConv2d(s, x, w, o))).toBe(-1);
    layer.dispose();
    expect(() => layer.run({ data: x, shape: [2, 14, 14, 8] })).toThrow(QwasmError);
  });

  it('refuses bad configs and inputs, naming them, and keeps working', () => {
    const w = { data: new Int8Array(4 * 3 * 3 * 2), shape: [4, 3, 3, 2] };
    const base = {
      weights: w,
      weightScale: 0.1,
      input: { scale: 0.1, zeroPoint: 0 },
      output: { scale: 0.1, zeroPoint: 0 },
    };
    const cases: Array<[string, () => unknown]> = [
      ['strides', () => qw.conv2d({ ...base, strides: [0, 1] })],
      ['pads', () => qw.conv2d({ ...base, pads: [-1, 0, 0, 0] })],
      ['dilations', () => qw.conv2d({ ...base, dilations: [1, 0] })],
      ['group', () => qw.conv2d({ ...base, group: 3 })],
      ['weights', () => qw.conv2d({ ...base, weights: { data: new Int8Array(8), shape: [4, 2] } })],
      ['weightScale', () => qw.conv2d({ ...base, weightScale: new Float32Array(3).fill(0.1) })],
      ['bias', () => qw.conv2d({ ...base, bias: new Int32Array(3) })],
      ['activation', () => qw.conv2d({ ...base, activation: 'gelu' as 'relu' })],
    ];
    for (const [arg, call] of cases) {
      expect(call, arg).toThrow(QwasmError);
      try {
        call();
      } catch (e) {
        expect((e as QwasmError).argument).toBe(arg);
      }
    }
    const layer = qw.conv2d(base);
    const runs: Array<[string, () => unknown]> = [
      ['x', () => layer.run({ data: new Int8Array(2 * 5 * 5 * 3), shape: [2, 5, 5, 3] })],
      ['x', () => layer.run({ data: new Uint8Array(50), shape: [1, 5, 5, 2] })],
      ['weights', () => layer.run({ data: new Int8Array(2 * 2 * 2), shape: [1, 2, 2, 2] })],
      [
        'out',
        () =>
          layer.run({ data: new Int8Array(50), shape: [1, 5, 5, 2] }, { data: new Int8Array(45), shape: [1, 3, 3, 5] }),
      ],
    ];
    for (const [arg, call] of runs) {
      try {
        call();
        expect.unreachable(arg);
      } catch (e) {
        expect(e).toBeInstanceOf(QwasmError);
        expect((e as QwasmError).argument).toBe(arg);
      }
    }
    const x = randomInt8(rng(202), 50);
    const y = layer.run({ data: x, shape: [1, 5, 5, 2] });
    const o = {
      zx: 0,
      zw: 0,
      sx: 0.1,
      sw: Float32Array.of(0.1),
      sy: 0.1,
      zy: 0,
      dt: 'int8' as Dt,
      act: 'none' as Act,
      requant: 'fp32' as const,
    };
    expect(firstDiff(y.data, refConv2d({ N: 1, H: 5, W: 5, C: 2, M: 4, kH: 3, kW: 3 }, x, w.data, o))).toBe(-1);
    layer.dispose();
  });
});

describe('conv2d on all builds', () => {
  it('gives bit-identical outputs', () => {
    const r = rng(210);
    for (const [, s] of SHAPES) {
      const Cg = s.C / (s.group ?? 1);
      const x = randomUint8(r, s.N * s.H * s.W * s.C);
      const w = randomInt8(r, s.M * s.kH * s.kW * Cg);
      const outs = [...qws.values()].map((qw) => {
        const layer = qw.conv2d({
          weights: { data: w, shape: [s.M, s.kH, s.kW, Cg] },
          weightScale: randomFloat32(rng(1), s.M, 0.001, 0.01),
          input: { scale: 0.03, zeroPoint: 128, dtype: 'uint8' },
          output: { scale: 0.07, zeroPoint: 100 },
          activation: 'relu6',
          ...layerShape(s),
        });
        const y = layer.run({ data: x, shape: [s.N, s.H, s.W, s.C] }).data;
        layer.dispose();
        return y;
      });
      for (const o of outs.slice(1)) expect(firstDiff(o, outs[0]!)).toBe(-1);
    }
  });
});

describe.each([...qws.keys()])('conv2dF32 on %s', (backend) => {
  const qw = qws.get(backend)!;

  it.each(SHAPES)('matches the float reference: %s', (_name, s) => {
    const r = rng(220);
    const Cg = s.C / (s.group ?? 1);
    for (const act of ['none', 'relu', 'relu6'] as const) {
      const x = randomFloat32(r, s.N * s.H * s.W * s.C, -2, 2);
      const w = randomFloat32(r, s.M * s.kH * s.kW * Cg, -1, 1);
      const bias = act === 'relu' ? undefined : randomFloat32(r, s.M, -1, 1);
      const layer = qw.conv2dF32({
        weights: { data: w, shape: [s.M, s.kH, s.kW, Cg] },
        bias,
        activation: act,
        ...layerShape(s),
      });
      const y = layer.run({ data: x, shape: [s.N, s.H, s.W, s.C] });
      const lo = act === 'none' ? -Infinity : 0;
      const hi = act === 'relu6' ? 6 : Infinity;
      const want = refConvF32(s, x, w, bias, lo, hi);
      // float32 sums in another order: bound the error by the sum of |terms|
      const mag = refConvF32(s, x.map(Math.abs), w.map(Math.abs), bias?.map(Math.abs));
      expect(y.shape).toEqual([s.N, ...Object.values(refOutputSize(s)), s.M]);
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(y.data[i]! - want[i]!), `${act} at ${i}`).toBeLessThanOrEqual(1e-5 * mag[i]! + 1e-6);
      }
      layer.dispose();
    }
  });

  it('writes into `out` and reports its path', () => {
    const r = rng(221);
    const s: RefConvShape = { N: 1, H: 8, W: 8, C: 16, M: 16, kH: 3, kW: 3, pads: [1, 1, 1, 1], group: 16 };
    const w = randomFloat32(r, 16 * 9);
    const layer = qw.conv2dF32({ weights: { data: w, shape: [16, 3, 3, 1] }, pads: [1, 1, 1, 1], group: 16 });
    expect(layer.path).toBe('depthwise');
    const x = randomFloat32(r, 8 * 8 * 16);
    const out = { data: new Float32Array(8 * 8 * 16), shape: [1, 8, 8, 16] };
    expect(layer.run({ data: x, shape: [1, 8, 8, 16] }, out)).toBe(out);
    const bytes = qw.memoryBytes;
    for (let i = 0; i < 20; i++) layer.run({ data: x, shape: [1, 8, 8, 16] }, out);
    expect(qw.memoryBytes).toBe(bytes);
    const want = refConvF32(s, x, w);
    for (let i = 0; i < want.length; i++) expect(out.data[i]).toBeCloseTo(want[i]!, 4);
    layer.dispose();
  });
});
