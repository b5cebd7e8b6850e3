// convInteger and qlinearConv against the scalar reference conv, on every build: random
// shapes (groups, channel multipliers, strides, dilations, pads) and the awkward corners
// (1x1 images, kernels as large as the padded input, odd channel counts, batch 2).
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { fixedRealMultiplier, fp32Multiplier, quantizeMultiplier } from '../src/quant/multiplier.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { refConvInteger, refOutputSize, toNCHW, toNHWC, type RefConvShape } from './reference/conv.js';
import { clamp, multiplyByQuantizedMultiplier, requantFp32 } from './reference/requant.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Dt = 'int8' | 'uint8';
const randQ = (r: () => number, dt: Dt, n: number) => (dt === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
const zpOf = (r: () => number, dt: Dt) => (dt === 'int8' ? randInt(r, -128, 127) : randInt(r, 0, 255));

/** A random valid conv: groups (depthwise with multipliers too), strides, dilations, pads. */
function randomShape(r: () => number): RefConvShape {
  const kind = randInt(r, 0, 5);
  let group = 1;
  let C: number;
  let M: number;
  if (kind <= 2) {
    C = randInt(r, 1, 19);
    M = randInt(r, 1, 21);
  } else if (kind === 3) {
    group = randInt(r, 2, 4);
    C = group * randInt(r, 1, 5);
    M = group * randInt(r, 1, 6);
  } else {
    // depthwise, channel multiplier 1..3
    C = randInt(r, 2, 21);
    group = C;
    M = C * randInt(r, 1, 3);
  }
  const kH = randInt(r, 1, 5);
  const kW = randInt(r, 1, 5);
  const dilations: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
  const strides: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
  const pads: [number, number, number, number] = [
    randInt(r, 0, 3),
    randInt(r, 0, 3),
    randInt(r, 0, 3),
    randInt(r, 0, 3),
  ];
  const eH = (kH - 1) * dilations[0] + 1;
  const eW = (kW - 1) * dilations[1] + 1;
  const H = randInt(r, Math.max(1, eH - pads[0] - pads[2]), eH + 9);
  const W = randInt(r, Math.max(1, eW - pads[1] - pads[3]), eW + 9);
  return { N: randInt(r, 1, 2), H, W, C, M, kH, kW, strides, pads, dilations, group };
}

/** Cases that each prove one corner. */
const CORNERS: Array<[string, RefConvShape]> = [
  ['1x1 image, 1x1 kernel', { N: 1, H: 1, W: 1, C: 5, M: 3, kH: 1, kW: 1 }],
  ['1x1 image, 3x3 kernel over its padding', { N: 2, H: 1, W: 1, C: 4, M: 9, kH: 3, kW: 3, pads: [1, 1, 1, 1] }],
  ['kernel as large as the padded input', { N: 1, H: 3, W: 4, C: 3, M: 5, kH: 5, kW: 5, pads: [1, 1, 1, 0] }],
  [
    'dilated kernel as large as the padded input',
    { N: 1, H: 5, W: 5, C: 2, M: 3, kH: 3, kW: 3, pads: [1, 0, 1, 0], dilations: [3, 2] },
  ],
  ['1x1 stride 1 (the GEMM path), batch 2', { N: 2, H: 7, W: 9, C: 33, M: 17, kH: 1, kW: 1 }],
  ['1x1 stride 2', { N: 1, H: 9, W: 8, C: 12, M: 10, kH: 1, kW: 1, strides: [2, 2] }],
  ['grouped 1x1', { N: 1, H: 5, W: 6, C: 12, M: 9, kH: 1, kW: 1, group: 3 }],
  ['3x3 pad 1, odd channels', { N: 2, H: 9, W: 7, C: 7, M: 13, kH: 3, kW: 3, pads: [1, 1, 1, 1] }],
  ['3x3 over 64 channels, several row blocks', { N: 1, H: 18, W: 17, C: 64, M: 24, kH: 3, kW: 3, pads: [1, 1, 1, 1] }],
  [
    '3x3 stride 2, asymmetric pads',
    { N: 1, H: 12, W: 11, C: 8, M: 16, kH: 3, kW: 3, strides: [2, 2], pads: [0, 1, 1, 0] },
  ],
  [
    '7x7 stride 2 pad 3, 3 channels (a stem)',
    { N: 1, H: 20, W: 18, C: 3, M: 8, kH: 7, kW: 7, strides: [2, 2], pads: [3, 3, 3, 3] },
  ],
  [
    '3x3 stride 2 pad 1 over 3 channels, batch 2 (the RGB stem: interior pixels packed whole)',
    { N: 2, H: 17, W: 19, C: 3, M: 16, kH: 3, kW: 3, strides: [2, 2], pads: [1, 1, 1, 1] },
  ],
  ['3x3 over 3 channels, no pads, a tail panel', { N: 1, H: 30, W: 31, C: 3, M: 5, kH: 3, kW: 3 }],
  [
    '3x3 over 3 channels, row dilation 2',
    { N: 1, H: 13, W: 14, C: 3, M: 8, kH: 3, kW: 3, dilations: [2, 1], pads: [2, 1, 2, 1] },
  ],
  [
    '3x3 over 3 channels, column dilation 2',
    { N: 1, H: 11, W: 12, C: 3, M: 9, kH: 3, kW: 3, dilations: [1, 2], pads: [1, 2, 1, 2] },
  ],
  ['depthwise 3x3', { N: 2, H: 9, W: 10, C: 16, M: 16, kH: 3, kW: 3, pads: [1, 1, 1, 1], group: 16 }],
  [
    'depthwise 3x3 stride 2, 13 channels',
    { N: 1, H: 11, W: 12, C: 13, M: 13, kH: 3, kW: 3, strides: [2, 2], pads: [1, 1, 1, 1], group: 13 },
  ],
  ['depthwise 5x5, multiplier 2', { N: 1, H: 10, W: 9, C: 6, M: 12, kH: 5, kW: 5, pads: [2, 2, 2, 2], group: 6 }],
  [
    'depthwise 5x3 dilated',
    { N: 1, H: 12, W: 12, C: 9, M: 9, kH: 5, kW: 3, dilations: [2, 3], pads: [2, 1, 3, 2], group: 9 },
  ],
  [
    'depthwise 5x5 over 2 rows (most kernel rows read padding), batch 2',
    { N: 2, H: 2, W: 11, C: 19, M: 19, kH: 5, kW: 5, pads: [2, 2, 2, 2], group: 19 },
  ],
  [
    'depthwise 5x5 stride (2, 1) over 3 rows, asymmetric pads',
    { N: 1, H: 3, W: 9, C: 12, M: 12, kH: 5, kW: 5, strides: [2, 1], pads: [2, 2, 1, 2], group: 12 },
  ],
  [
    'depthwise 5x3 dilated over 1 row, multiplier 2',
    { N: 1, H: 1, W: 8, C: 4, M: 8, kH: 5, kW: 3, dilations: [2, 1], pads: [4, 1, 4, 1], group: 4 },
  ],
  ['depthwise 7x7, multiplier 3', { N: 1, H: 8, W: 9, C: 5, M: 15, kH: 7, kW: 7, pads: [3, 3, 3, 3], group: 5 }],
  [
    'depthwise kernel of 17 rows (past the depthwise kernels: grouped im2col)',
    { N: 1, H: 18, W: 5, C: 3, M: 6, kH: 17, kW: 3, pads: [1, 1, 0, 1], group: 3 },
  ],
];

function shapeName(s: RefConvShape): string {
  return `N${s.N} ${s.H}x${s.W}x${s.C}->${s.M} k${s.kH}x${s.kW} s${s.strides ?? [1, 1]} d${s.dilations ?? [1, 1]} p${s.pads ?? [0, 0, 0, 0]} g${s.group ?? 1}`;
}

function attrsOf(s: RefConvShape) {
  return { strides: s.strides, pads: s.pads, dilations: s.dilations, group: s.group };
}

describe.each([...qws.keys()])('convInteger on %s', (backend) => {
  const qw = qws.get(backend)!;

  it.each(CORNERS)('is exact: %s', (_name, s) => {
    const r = rng(20);
    const Cg = s.C / (s.group ?? 1);
    for (const [xT, wT] of [
      ['uint8', 'int8'],
      ['int8', 'int8'],
      ['uint8', 'uint8'],
    ] as Array<[Dt, Dt]>) {
      const x = randQ(r, xT, s.N * s.H * s.W * s.C);
      const w = randQ(r, wT, s.M * s.kH * s.kW * Cg);
      const zx = zpOf(r, xT);
      const zw = zpOf(r, wT);
      const y = qw.convInteger(
        { data: x, shape: [s.N, s.H, s.W, s.C] },
        { data: w, shape: [s.M, s.kH, s.kW, Cg] },
        zx,
        zw,
        {
          ...attrsOf(s),
          layout: 'NHWC',
        },
      );
      const { OH, OW } = refOutputSize(s);
      expect(y.shape).toEqual([s.N, OH, OW, s.M]);
      expect(firstDiff(y.data, refConvInteger(s, x, w, zx, [zw]))).toBe(-1);
    }
  });

  it('is exact on 60 random shapes, per-channel weight zero points', () => {
    const r = rng(21);
    for (let i = 0; i < 60; i++) {
      const s = randomShape(r);
      const Cg = s.C / s.group!;
      const xT: Dt = r() < 0.5 ? 'int8' : 'uint8';
      const x = randQ(r, xT, s.N * s.H * s.W * s.C);
      const w = randomInt8(r, s.M * s.kH * s.kW * Cg);
      const zx = zpOf(r, xT);
      const zw = new Int8Array(s.M).map(() => randInt(r, -128, 127));
      const y = qw.convInteger(
        { data: x, shape: [s.N, s.H, s.W, s.C] },
        { data: w, shape: [s.M, s.kH, s.kW, Cg] },
        zx,
        zw,
        {
          ...attrsOf(s),
          layout: 'NHWC',
        },
      );
      const d = firstDiff(y.data, refConvInteger(s, x, w, zx, zw));
      expect(d, shapeName(s)).toBe(-1);
    }
  });

  it('reads NCHW input and ONNX [M, C/group, kH, kW] weights by default', () => {
    const r = rng(22);
    for (let i = 0; i < 12; i++) {
      const s = randomShape(r);
      const Cg = s.C / s.group!;
      const xN = randomUint8(r, s.N * s.H * s.W * s.C);
      const wN = randomInt8(r, s.M * Cg * s.kH * s.kW);
      const y = qw.convInteger(
        { data: xN, shape: [s.N, s.C, s.H, s.W] },
        { data: wN, shape: [s.M, Cg, s.kH, s.kW] },
        131,
        3,
        attrsOf(s),
      );
      // the reference is NHWC: convert both operands, then the result back
      const x = toNHWC(xN, s.N, s.C, s.H, s.W, (n) => new Uint8Array(n));
      const w = toNHWC(wN, s.M, Cg, s.kH, s.kW, (n) => new Int8Array(n));
      const { OH, OW } = refOutputSize(s);
      const want = toNCHW(refConvInteger(s, x, w, 131, [3]), s.N, OH, OW, s.M, (n) => new Int32Array(n));
      expect(y.shape).toEqual([s.N, s.M, OH, OW]);
      expect(firstDiff(y.data, want), shapeName(s)).toBe(-1);
    }
  });

  it('accumulates 3x3 x 512 channels of saturating operands exactly', () => {
    const s: RefConvShape = { N: 1, H: 3, W: 3, C: 512, M: 9, kH: 3, kW: 3, pads: [1, 1, 1, 1] };
    const x = new Uint8Array(9 * 512).fill(255);
    const w = new Int8Array(9 * 9 * 512).fill(-128);
    const y = qw.convInteger({ data: x, shape: [1, 3, 3, 512] }, { data: w, shape: [9, 3, 3, 512] }, 0, 0, {
      pads: [1, 1, 1, 1],
      layout: 'NHWC',
    });
    expect(firstDiff(y.data, refConvInteger(s, x, w, 0, [0]))).toBe(-1);
    // the centre pixel sees all nine taps
    expect(y.data[4 * 9]).toBe(255 * -128 * 9 * 512);
  });

  it('resolves autoPad SAME_UPPER, SAME_LOWER and VALID', () => {
    const r = rng(23);
    const x = randomInt8(r, 2 * 7 * 8 * 3);
    const w = randomInt8(r, 4 * 4 * 3 * 3);
    const cases: Array<[string, [number, number], [number, number, number, number]]> = [
      // H 7 stride 2 -> OH 4, total pad (4-1)*2+4-7 = 3: upper puts 2 at the bottom, lower 2 at the top
      ['SAME_UPPER', [2, 2], [1, 0, 2, 1]],
      ['SAME_LOWER', [2, 2], [2, 1, 1, 0]],
      ['VALID', [2, 2], [0, 0, 0, 0]],
      ['SAME_UPPER', [1, 1], [1, 1, 2, 1]],
    ];
    for (const [autoPad, strides, pads] of cases) {
      const s: RefConvShape = { N: 2, H: 7, W: 8, C: 3, M: 4, kH: 4, kW: 3, strides, pads };
      const y = qw.convInteger({ data: x, shape: [2, 7, 8, 3] }, { data: w, shape: [4, 4, 3, 3] }, -3, 2, {
        autoPad: autoPad as 'SAME_UPPER',
        strides,
        layout: 'NHWC',
      });
      const { OH, OW } = refOutputSize(s);
      expect(y.shape, autoPad).toEqual([2, OH, OW, 4]);
      expect(firstDiff(y.data, refConvInteger(s, x, w, -3, [2])), `${autoPad} ${strides}`).toBe(-1);
    }
  });
});

/** The reference QLinearConv output for one accumulator tensor. */
function refRequant(
  acc: Int32Array,
  M: number,
  bias: Int32Array | undefined,
  sx: number,
  sw: Float32Array,
  sy: number,
  zy: number,
  dt: Dt,
  mode: 'fp32' | 'fixedpoint',
): number[] {
  const qmin = dt === 'int8' ? -128 : 0;
  const qmax = dt === 'int8' ? 127 : 255;
  return Array.from(acc, (a, i) => {
    const m = i % M;
    const v = a + (bias ? bias[m]! : 0);
    const s = sw.length > 1 ? sw[m]! : sw[0]!;
    if (mode === 'fp32') return requantFp32(v, fp32Multiplier(sx, s, sy), zy, qmin, qmax);
    const q = quantizeMultiplier(fixedRealMultiplier(sx, s, sy));
    return clamp(multiplyByQuantizedMultiplier(v, q.multiplier, q.shift) + zy, qmin, qmax);
  });
}

describe.each([...qws.keys()])('qlinearConv on %s', (backend) => {
  const qw = qws.get(backend)!;

  for (const mode of ['fp32', 'fixedpoint'] as const) {
    it(`requantizes (${mode}) with per-channel scales and bias, as the reference`, () => {
      const r = rng(mode === 'fp32' ? 30 : 31);
      for (let i = 0; i < 25; i++) {
        const s = randomShape(r);
        const Cg = s.C / s.group!;
        const dt: Dt = r() < 0.5 ? 'int8' : 'uint8';
        const x = randQ(r, dt, s.N * s.H * s.W * s.C);
        const w = randomInt8(r, s.M * s.kH * s.kW * Cg);
        const zx = zpOf(r, dt);
        const zy = zpOf(r, dt);
        const sw = r() < 0.5 ? randomFloat32(r, s.M, 0.001, 0.02) : Float32Array.of(0.007);
        const bias = r() < 0.7 ? new Int32Array(s.M).map(() => randInt(r, -30000, 30000)) : undefined;
        const sx = 0.03;
        const sy = 0.05 + r() * 0.5;
        const y = qw.qlinearConv(
          { data: x, shape: [s.N, s.H, s.W, s.C] },
          sx,
          zx,
          { data: w, shape: [s.M, s.kH, s.kW, Cg] },
          sw,
          0,
          sy,
          zy,
          bias,
          { ...attrsOf(s), layout: 'NHWC', requant: mode },
        );
        const acc = refConvInteger(s, x, w, zx, [0]);
        const want = refRequant(acc, s.M, bias, sx, sw, sy, zy, dt, mode);
        expect(y.data instanceof (dt === 'int8' ? Int8Array : Uint8Array)).toBe(true);
        expect(firstDiff(y.data, want), shapeName(s)).toBe(-1);
      }
    });
  }
});

describe('all builds', () => {
  it('give bit-identical convInteger and qlinearConv results', () => {
    const r = rng(40);
    for (let i = 0; i < 20; i++) {
      const s = randomShape(r);
      const Cg = s.C / s.group!;
      const x = randomUint8(r, s.N * s.H * s.W * s.C);
      const w = randomInt8(r, s.M * s.kH * s.kW * Cg);
      const outs = [...qws.values()].map((qw) => [
        qw.convInteger(
          { data: x, shape: [s.N, s.C, s.H, s.W] },
          { data: w, shape: [s.M, Cg, s.kH, s.kW] },
          7,
          1,
          attrsOf(s),
        ).data,
        qw.qlinearConv(
          { data: x, shape: [s.N, s.C, s.H, s.W] },
          0.02,
          100,
          { data: w, shape: [s.M, Cg, s.kH, s.kW] },
          0.01,
          0,
          0.04,
          120,
          undefined,
          attrsOf(s),
        ).data,
      ]);
      for (const o of outs.slice(1)) {
        expect(firstDiff(o[0]!, outs[0]![0]!)).toBe(-1);
        expect(firstDiff(o[1]!, outs[0]![1]!)).toBe(-1);
      }
    }
  });
});

describe('bad attributes', () => {
  const qw = qws.values().next().value!;
  const x = { data: new Uint8Array(1 * 4 * 5 * 5), shape: [1, 4, 5, 5] };
  const w = { data: new Int8Array(6 * 4 * 3 * 3), shape: [6, 4, 3, 3] };

  /** Expects a QwasmError naming `argument`, then checks the engine still answers correctly. */
  function refuses(argument: string, call: () => unknown): void {
    let err: unknown;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QwasmError);
    expect((err as QwasmError).argument).toBe(argument);
    const r = rng(50);
    const s: RefConvShape = { N: 1, H: 5, W: 5, C: 4, M: 6, kH: 3, kW: 3, pads: [1, 1, 1, 1] };
    const xs = randomUint8(r, 100);
    const ws = randomInt8(r, 216);
    const y = qw.convInteger({ data: xs, shape: [1, 5, 5, 4] }, { data: ws, shape: [6, 3, 3, 4] }, 9, 0, {
      pads: [1, 1, 1, 1],
      layout: 'NHWC',
    });
    expect(firstDiff(y.data, refConvInteger(s, xs, ws, 9, [0]))).toBe(-1);
  }

  it('kernel larger than the padded input', () => {
    refuses('w', () =>
      qw.convInteger(x, { data: new Int8Array(6 * 4 * 7 * 3), shape: [6, 4, 7, 3] }, 0, 0, { pads: [0, 0, 1, 0] }),
    );
    refuses('w', () => qw.convInteger(x, w, 0, 0, { dilations: [3, 1] }));
  });
  it('group not dividing the channels', () => {
    refuses('attrs.group', () => qw.convInteger(x, w, 0, 0, { group: 3 }));
    refuses('attrs.group', () =>
      qw.convInteger(x, { data: new Int8Array(5 * 2 * 9), shape: [5, 2, 3, 3] }, 0, 0, { group: 2 }),
    );
    refuses('attrs.group', () => qw.convInteger(x, w, 0, 0, { group: 0 }));
  });
  it('weights whose channels do not match the groups', () => {
    refuses('w', () => qw.convInteger(x, w, 0, 0, { group: 2 }));
  });
  it('negative pads', () => {
    refuses('attrs.pads', () => qw.convInteger(x, w, 0, 0, { pads: [1, -1, 1, 1] }));
    refuses('attrs.pads', () => qw.convInteger(x, w, 0, 0, { pads: [1, 1] }));
  });
  it('zero stride', () => {
    refuses('attrs.strides', () => qw.convInteger(x, w, 0, 0, { strides: [0, 1] }));
    refuses('attrs.strides', () => qw.convInteger(x, w, 0, 0, { strides: [1.5, 1] }));
  });
  it('zero dilation', () => {
    refuses('attrs.dilations', () => qw.convInteger(x, w, 0, 0, { dilations: [1, 0] }));
  });
  it('wrong weight rank', () => {
    refuses('w', () => qw.convInteger(x, { data: new Int8Array(6 * 36), shape: [6, 36] }, 0, 0));
  });
  it('unknown autoPad, and pads together with autoPad', () => {
    refuses('attrs.autoPad', () => qw.convInteger(x, w, 0, 0, { autoPad: 'SAME' as 'VALID' }));
    refuses('attrs.pads', () => qw.convInteger(x, w, 0, 0, { autoPad: 'SAME_UPPER', pads: [1, 1, 1, 1] }));
  });
  it("a kernelShape that is not the weights'", () => {
    refuses('attrs.kernelShape', () => qw.convInteger(x, w, 0, 0, { kernelShape: [3, 2] }));
  });
  it('wrong layout, bias, scales and zero points', () => {
    refuses('attrs.layout', () => qw.convInteger(x, w, 0, 0, { layout: 'NCWH' as 'NCHW' }));
    refuses('bias', () => qw.qlinearConv(x, 0.1, 0, w, 0.1, 0, 0.1, 0, new Int32Array(5)));
    refuses('wScale', () => qw.qlinearConv(x, 0.1, 0, w, new Float32Array(4).fill(0.1), 0, 0.1, 0));
    refuses('wZeroPoint', () => qw.convInteger(x, w, 0, new Int8Array(5)));
    refuses('xZeroPoint', () => qw.convInteger(x, w, 300, 0));
    refuses('yScale', () => qw.qlinearConv(x, 0.1, 0, w, 0.1, 0, -1, 0));
  });
  it('input of the wrong rank or dtype', () => {
    refuses('x', () => qw.convInteger({ data: new Uint8Array(20), shape: [4, 5] }, w));
    refuses('x', () => qw.convInteger({ data: new Float32Array(100), shape: [1, 4, 5, 5] }, w));
  });
});
