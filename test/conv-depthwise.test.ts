// The depthwise kernels' specializations (assembly/conv/depthwise.ts): kernel rows that read
// only padding skipped on maps of 1-3 rows, four (5-wide) or two (3x3) output pixels at a
// time sharing their pair loads when dW == sW, with every pixel tail after them. conv2d
// against the reference on every build, and bit-identical on 2 and 3 threads with every
// chunk on a worker.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Qwasm } from '../src/index.js';
import { fp32Multiplier } from '../src/quant/multiplier.js';
import { minOpsPerPart } from '../src/threads/partition.js';
import { backends, firstDiff, randInt, randomInt8, rng } from './helpers.js';
import { refConvInteger, type RefConvShape } from './reference/conv.js';
import { requantFp32 } from './reference/requant.js';
import { leaveChunksToWorkers } from './threads-probe.js';

const ones = new Map<string, Qwasm>();
const many = new Map<string, Qwasm[]>();
for (const b of backends) {
  ones.set(b, await Qwasm.create({ backend: b }));
  many.set(b, [await Qwasm.create({ backend: b, threads: 2 }), await Qwasm.create({ backend: b, threads: 3 })]);
}
const defaults = { ...minOpsPerPart };
afterEach(() => {
  Object.assign(minOpsPerPart, defaults);
  many.forEach((qs) => qs.forEach((qw) => leaveChunksToWorkers(qw, false)));
});
afterAll(() => {
  ones.forEach((q) => q.dispose());
  many.forEach((qs) => qs.forEach((q) => q.dispose()));
});

const dw = (s: Omit<RefConvShape, 'M' | 'group'>): RefConvShape => ({ ...s, M: s.C, group: s.C });

/** Shapes named by the specialization they reach; widths give 4-pixel groups and 1-3 pixel tails. */
const SHAPES: Array<[string, RefConvShape]> = [
  [
    '5x5 over 2 rows, 2 images (3 of 5 kernel rows padding)',
    dw({ N: 2, H: 2, W: 13, C: 16, kH: 5, kW: 5, pads: [2, 2, 2, 2] }),
  ],
  [
    '5x5 stride (2, 1) over 3 rows',
    dw({ N: 1, H: 3, W: 19, C: 24, kH: 5, kW: 5, strides: [2, 1], pads: [2, 2, 2, 2] }),
  ],
  ['5x5 over 1 row, 1 column', dw({ N: 1, H: 1, W: 1, C: 8, kH: 5, kW: 5, pads: [2, 2, 2, 2] })],
  [
    '5x5 stride 2 dilation 2 (dW == sW)',
    dw({ N: 1, H: 12, W: 22, C: 11, kH: 5, kW: 5, strides: [2, 2], dilations: [2, 2], pads: [4, 4, 4, 4] }),
  ],
  [
    '5x5 stride 2 (pairs not shared)',
    dw({ N: 1, H: 9, W: 17, C: 8, kH: 5, kW: 5, strides: [2, 2], pads: [2, 2, 2, 2] }),
  ],
  ['5x3 over 2 rows, asymmetric pads', dw({ N: 1, H: 2, W: 10, C: 9, kH: 5, kW: 3, pads: [3, 1, 1, 1] })],
  ['3x3 stride 1, 7 and 18 pixels a row', dw({ N: 1, H: 4, W: 18, C: 24, kH: 3, kW: 3, pads: [1, 1, 1, 1] })],
  [
    '3x3 stride (2, 1), 8 channels',
    dw({ N: 1, H: 12, W: 23, C: 8, kH: 3, kW: 3, strides: [2, 1], pads: [1, 1, 1, 1] }),
  ],
  [
    '3x3 stride 2 dilation 2 (dW == sW)',
    dw({ N: 1, H: 11, W: 21, C: 5, kH: 3, kW: 3, strides: [2, 2], dilations: [2, 2], pads: [2, 2, 2, 2] }),
  ],
  ['3x3 over 1 row', dw({ N: 1, H: 1, W: 9, C: 16, kH: 3, kW: 3, pads: [1, 1, 1, 1] })],
];

function layerConfig(s: RefConvShape, w: Int8Array, bias: Int32Array) {
  return {
    weights: { data: w, shape: [s.M, s.kH, s.kW, 1] },
    weightScale: 0.004,
    bias,
    input: { scale: 0.02, zeroPoint: -7 },
    output: { scale: 0.05, zeroPoint: 3 },
    strides: s.strides,
    pads: s.pads,
    dilations: s.dilations,
    group: s.group,
  };
}

describe.each([...backends])('depthwise conv2d on %s', (backend) => {
  it.each(SHAPES)('matches the reference: %s', (_name, s) => {
    const r = rng(500);
    const x = randomInt8(r, s.N * s.H * s.W * s.C);
    const w = randomInt8(r, s.M * s.kH * s.kW);
    const bias = new Int32Array(s.M).map(() => randInt(r, -3000, 3000));
    const layer = ones.get(backend)!.conv2d(layerConfig(s, w, bias));
    const y = layer.run({ data: x, shape: [s.N, s.H, s.W, s.C] });
    const m = fp32Multiplier(0.02, 0.004, 0.05);
    const want = Array.from(refConvInteger(s, x, w, -7, [0]), (a, i) =>
      requantFp32(a + bias[i % s.M]!, m, 3, -128, 127),
    );
    expect(layer.path).toBe('depthwise');
    expect(firstDiff(y.data, want)).toBe(-1);
    layer.dispose();
  });

  it('is bit-identical on 2 and 3 threads, every chunk on a worker', () => {
    minOpsPerPart.s16 = 0;
    const r = rng(501);
    for (const [, s] of SHAPES) {
      const x = { data: randomInt8(r, s.N * s.H * s.W * s.C), shape: [s.N, s.H, s.W, s.C] };
      const cfg = layerConfig(
        s,
        randomInt8(r, s.M * s.kH * s.kW),
        new Int32Array(s.M).map(() => randInt(r, -3000, 3000)),
      );
      const one = ones.get(backend)!.conv2d(cfg);
      const want = one.run(x).data;
      for (const qw of many.get(backend)!) {
        leaveChunksToWorkers(qw, true);
        const layer = qw.conv2d(cfg);
        expect(firstDiff(layer.run(x).data, want)).toBe(-1);
        layer.dispose();
      }
      one.dispose();
    }
  });
});
