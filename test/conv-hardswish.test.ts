// conv2dF32 with hard-swish in its epilogue (activation 'hardswish', optional scale and
// shift after it): on every build and kernel path exactly the float32 hard-swish of the same
// conv without activation, close to the float reference, and bit-identical across threads.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Qwasm, QwasmError } from '../src/index.js';
import { minOpsPerPart } from '../src/threads/partition.js';
import { leaveChunksToWorkers } from './threads-probe.js';
import { backends, firstDiff, randomFloat32, rng } from './helpers.js';
import { refConvF32, refOutputSize, type RefConvShape } from './reference/conv.js';

const ones = new Map<string, Qwasm>();
const twos = new Map<string, Qwasm>();
for (const b of backends) {
  ones.set(b, await Qwasm.create({ backend: b }));
  twos.set(b, await Qwasm.create({ backend: b, threads: 2 }));
}
const defaults = { ...minOpsPerPart };
afterEach(() => {
  Object.assign(minOpsPerPart, defaults);
  twos.forEach((qw) => leaveChunksToWorkers(qw, false));
});
afterAll(() => {
  ones.forEach((q) => q.dispose());
  twos.forEach((q) => q.dispose());
});

/** Every kernel path and its corners: tails of the 8-wide panels and 4-wide channel blocks, 1x1 images. */
const SHAPES: Array<[string, RefConvShape]> = [
  ['1x1 (GEMM), 19 channels', { N: 2, H: 6, W: 7, C: 24, M: 19, kH: 1, kW: 1 }],
  ['1x1, one pixel, one channel', { N: 1, H: 1, W: 1, C: 5, M: 1, kH: 1, kW: 1 }],
  ['grouped 1x1', { N: 1, H: 5, W: 5, C: 16, M: 12, kH: 1, kW: 1, group: 4 }],
  ['3x3 pad 1, 32 channels', { N: 1, H: 11, W: 9, C: 32, M: 40, kH: 3, kW: 3, pads: [1, 1, 1, 1] }],
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
  ['depthwise 5x5', { N: 1, H: 9, W: 8, C: 13, M: 13, kH: 5, kW: 5, pads: [2, 2, 2, 2], group: 13 }],
  ['depthwise 7x7', { N: 1, H: 9, W: 9, C: 6, M: 6, kH: 7, kW: 7, pads: [3, 3, 3, 3], group: 6 }],
];

/** The affine pairs after hard-swish: none, and PaddleOCR-like learnable scalars. */
const AFFINE: Array<[number | undefined, number | undefined]> = [
  [undefined, undefined],
  [1.37, -0.21],
];

const f = Math.fround;

/** Float32 hard-swish as the epilogue computes it: x * clamp(x + 3, 0, 6) * (scale / 6) + shift. */
function hardSwishRef(v: Float32Array, scale = 1, shift = 0): Float32Array {
  const k = f(scale / 6);
  const c = f(shift);
  return v.map((x) => {
    const t = Math.min(Math.max(f(x + 3), 0), 6);
    return f(f(f(x * t) * k) + c);
  });
}

function attrs(s: RefConvShape) {
  return { strides: s.strides, pads: s.pads, dilations: s.dilations, group: s.group };
}

function data(s: RefConvShape, seed: number) {
  const r = rng(seed);
  const Cg = s.C / (s.group ?? 1);
  // inputs wide enough that the outputs cross both hard-swish knees (-3 and 3)
  const x = randomFloat32(r, s.N * s.H * s.W * s.C, -3, 3);
  const w = randomFloat32(r, s.M * s.kH * s.kW * Cg, -1, 1);
  const bias = randomFloat32(r, s.M, -2, 2);
  return { x, w, bias, Cg };
}

describe.each(backends)('conv2dF32 + hardswish on %s', (backend) => {
  const qw = ones.get(backend)!;

  it.each(SHAPES)('is hard-swish of the same conv, and near the reference: %s', (_name, s) => {
    const { x, w, bias, Cg } = data(s, 301);
    const weights = { data: w, shape: [s.M, s.kH, s.kW, Cg] };
    const plain = qw.conv2dF32({ weights, bias, ...attrs(s) });
    const raw = plain.run({ data: x, shape: [s.N, s.H, s.W, s.C] }).data;
    plain.dispose();
    const want = refConvF32(s, x, w, bias);
    const mag = refConvF32(s, x.map(Math.abs), w.map(Math.abs), bias.map(Math.abs));
    let knees = 0;
    for (const v of raw) if (v < -3 || v > 3) knees++;
    if (raw.length >= 16) expect(knees, 'outputs outside [-3, 3]').toBeGreaterThan(0);
    for (const [scale, shift] of AFFINE) {
      const layer = qw.conv2dF32({
        weights,
        bias,
        activation: 'hardswish',
        activationScale: scale,
        activationShift: shift,
        ...attrs(s),
      });
      const y = layer.run({ data: x, shape: [s.N, s.H, s.W, s.C] });
      expect(y.shape).toEqual([s.N, ...Object.values(refOutputSize(s)), s.M]);
      const exact = hardSwishRef(raw, scale, shift);
      expect(firstDiff(y.data, exact), `scale ${scale} shift ${shift}`).toBe(-1);
      const ref = hardSwishRef(want, scale, shift);
      // the sums' float32 error (bounded by the sum of |terms|) times hard-swish's slope (<= 1.5 |scale|)
      const m = Math.abs(scale ?? 1);
      for (let i = 0; i < ref.length; i++) {
        expect(Math.abs(y.data[i]! - ref[i]!), `at ${i}`).toBeLessThanOrEqual(1.5 * m * (1e-5 * mag[i]! + 1e-6) + 1e-6);
      }
      layer.dispose();
    }
  });

  it('runs again after a new input shape rewrote its plan', () => {
    const s = SHAPES[0]![1];
    const { x, w, bias, Cg } = data(s, 302);
    const weights = { data: w, shape: [s.M, s.kH, s.kW, Cg] };
    const plain = qw.conv2dF32({ weights, bias });
    const layer = qw.conv2dF32({ weights, bias, activation: 'hardswish', activationScale: 2, activationShift: 1 });
    for (const H of [s.H, 3, s.H]) {
      const xs = { data: x.subarray(0, s.N * H * s.W * s.C), shape: [s.N, H, s.W, s.C] };
      expect(firstDiff(layer.run(xs).data, hardSwishRef(plain.run(xs).data, 2, 1))).toBe(-1);
    }
    plain.dispose();
    layer.dispose();
  });

  it('refuses a scale or shift without hard-swish, and values that are not finite numbers', () => {
    const weights = { data: new Float32Array(4), shape: [1, 1, 1, 4] };
    expect(() => qw.conv2dF32({ weights, activationScale: 2 })).toThrow(QwasmError);
    expect(() => qw.conv2dF32({ weights, activation: 'relu', activationShift: 1 })).toThrow(/activationShift/);
    expect(() => qw.conv2dF32({ weights, activation: 'hardswish', activationScale: NaN })).toThrow(/activationScale/);
    expect(() => qw.conv2dF32({ weights, activation: 'swish' as never })).toThrow(/hardswish/);
  });

  it('is bit-identical on 2 threads, every chunk on a worker', () => {
    const two = twos.get(backend)!;
    minOpsPerPart.f32 = 0;
    leaveChunksToWorkers(two, true);
    for (const [, s] of SHAPES) {
      const { x, w, bias, Cg } = data(s, 303);
      const cfg = {
        weights: { data: w, shape: [s.M, s.kH, s.kW, Cg] },
        bias,
        activation: 'hardswish' as const,
        activationScale: 0.8,
        activationShift: 0.1,
        ...attrs(s),
      };
      const a = qw.conv2dF32(cfg);
      const b = two.conv2dF32(cfg);
      const xs = { data: x, shape: [s.N, s.H, s.W, s.C] };
      expect(firstDiff(b.run(xs).data, a.run(xs).data)).toBe(-1);
      a.dispose();
      b.dispose();
    }
  });
});
