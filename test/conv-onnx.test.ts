// ConvInteger and QLinearConv against onnxruntime-node, the oracle: the same bytes in,
// the same bytes out, on every build (judged as test/oracle.ts says where onnxruntime is
// inexact). Models are written in the test (test/onnx/model.ts).
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { engines, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { singleNodeModel, type ValueSpec } from './onnx/model.mjs';
import { expectOracle, requantizeRef } from './oracle.js';
import { refConvInteger, refOutputSize, toNCHW, toNHWC, type RefConvShape } from './reference/conv.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Dt = 'int8' | 'uint8';
const randQ = (r: () => number, dt: Dt, n: number) => (dt === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
const zpArray = (dt: Dt, v: number[]) => (dt === 'int8' ? Int8Array.from(v) : Uint8Array.from(v));
const zpOf = (r: () => number, dt: Dt) => (dt === 'int8' ? randInt(r, -128, 127) : randInt(r, 0, 255));

interface OnnxConvCase {
  N: number;
  C: number;
  H: number;
  W: number;
  M: number;
  kH: number;
  kW: number;
  group: number;
  attrs: {
    strides?: number[];
    pads?: number[];
    dilations?: number[];
    autoPad?: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  };
}

function onnxAttributes(c: OnnxConvCase): Record<string, number | string | number[]> {
  const a: Record<string, number | string | number[]> = { group: c.group, kernel_shape: [c.kH, c.kW] };
  if (c.attrs.strides) a['strides'] = c.attrs.strides;
  if (c.attrs.pads) a['pads'] = c.attrs.pads;
  if (c.attrs.dilations) a['dilations'] = c.attrs.dilations;
  if (c.attrs.autoPad) a['auto_pad'] = c.attrs.autoPad;
  return a;
}

/** Random cases: plain, grouped, depthwise with multipliers; every autoPad mode; batch 2. */
function randomCase(r: () => number): OnnxConvCase {
  const kind = randInt(r, 0, 4);
  let group = 1;
  let C = randInt(r, 1, 17);
  let M = randInt(r, 1, 19);
  if (kind === 3) {
    group = randInt(r, 2, 3);
    C = group * randInt(r, 1, 6);
    M = group * randInt(r, 1, 5);
  } else if (kind === 4) {
    C = randInt(r, 2, 19);
    group = C;
    M = C * randInt(r, 1, 2);
  }
  const kH = randInt(r, 1, 5);
  const kW = randInt(r, 1, 5);
  const strides = [randInt(r, 1, 3), randInt(r, 1, 3)];
  const autoPad = (['NOTSET', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'] as const)[randInt(r, 0, 4)]!;
  // onnxruntime refuses dilations together with SAME padding
  const dilations = autoPad.startsWith('SAME') ? [1, 1] : [randInt(r, 1, 2), randInt(r, 1, 2)];
  const pads =
    autoPad === 'NOTSET' ? [randInt(r, 0, 2), randInt(r, 0, 2), randInt(r, 0, 2), randInt(r, 0, 2)] : undefined;
  const eH = (kH - 1) * dilations[0]! + 1;
  const eW = (kW - 1) * dilations[1]! + 1;
  const padH = pads ? pads[0]! + pads[2]! : 0;
  const padW = pads ? pads[1]! + pads[3]! : 0;
  const H = randInt(r, Math.max(1, eH - (autoPad.startsWith('SAME') ? 0 : padH)), eH + 7);
  const W = randInt(r, Math.max(1, eW - (autoPad.startsWith('SAME') ? 0 : padW)), eW + 7);
  return { N: randInt(r, 1, 2), C, H, W, M, kH, kW, group, attrs: { strides, pads, dilations, autoPad } };
}

const CASES: OnnxConvCase[] = [
  { N: 1, C: 8, H: 10, W: 9, M: 16, kH: 3, kW: 3, group: 1, attrs: { pads: [1, 1, 1, 1] } },
  { N: 2, C: 16, H: 7, W: 7, M: 24, kH: 1, kW: 1, group: 1, attrs: {} },
  { N: 1, C: 12, H: 9, W: 11, M: 12, kH: 3, kW: 3, group: 12, attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
  { N: 1, C: 6, H: 8, W: 8, M: 12, kH: 5, kW: 5, group: 6, attrs: { autoPad: 'SAME_UPPER' } },
  { N: 1, C: 3, H: 15, W: 13, M: 8, kH: 7, kW: 7, group: 1, attrs: { pads: [3, 3, 3, 3], strides: [2, 2] } },
  { N: 1, C: 1, H: 1, W: 1, M: 4, kH: 3, kW: 3, group: 1, attrs: { pads: [1, 1, 1, 1] } },
];

/** The explicit [top, left, bottom, right] pads of a case, auto_pad resolved as ONNX defines it. */
function explicitPads(c: OnnxConvCase): [number, number, number, number] {
  const mode = c.attrs.autoPad ?? 'NOTSET';
  if (mode === 'VALID') return [0, 0, 0, 0];
  if (mode === 'NOTSET') {
    const p = c.attrs.pads ?? [0, 0, 0, 0];
    return [p[0]!, p[1]!, p[2]!, p[3]!];
  }
  const strides = c.attrs.strides ?? [1, 1];
  const dilations = c.attrs.dilations ?? [1, 1];
  const split = (size: number, k: number, s: number, d: number) => {
    const total = Math.max(0, (Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size);
    const small = Math.floor(total / 2);
    return mode === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
  };
  const [top, bottom] = split(c.H, c.kH, strides[0]!, dilations[0]!);
  const [left, right] = split(c.W, c.kW, strides[1]!, dilations[1]!);
  return [top!, left!, bottom!, right!];
}

/** The exact int32 convolution of an NCHW case (weights [M, C/group, kH, kW]), NCHW out. */
function convIntegerRef(
  c: OnnxConvCase,
  x: Int8Array | Uint8Array,
  w: Int8Array | Uint8Array,
  zx: number,
  zw: ArrayLike<number>,
): Int32Array {
  const Cg = c.C / c.group;
  const s: RefConvShape = {
    N: c.N,
    H: c.H,
    W: c.W,
    C: c.C,
    M: c.M,
    kH: c.kH,
    kW: c.kW,
    strides: (c.attrs.strides ?? [1, 1]) as [number, number],
    dilations: (c.attrs.dilations ?? [1, 1]) as [number, number],
    pads: explicitPads(c),
    group: c.group,
  };
  const xh = toNHWC(Array.from(x), c.N, c.C, c.H, c.W, (n) => new Array<number>(n));
  const wh = toNHWC(Array.from(w), c.M, Cg, c.kH, c.kW, (n) => new Array<number>(n));
  const { OH, OW } = refOutputSize(s);
  return toNCHW(refConvInteger(s, xh, wh, zx, zw), c.N, OH, OW, c.M, (n) => new Int32Array(n));
}

async function runOrt(model: Uint8Array, x: Int8Array | Uint8Array, dt: Dt, dims: number[]) {
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({ x: new ort.Tensor(dt, x, dims) });
  return out['y']!;
}

const tensor = (name: string, type: ValueSpec['type'], data: ValueSpec['data'], dims: number[]): ValueSpec => ({
  name,
  type,
  data,
  dims,
});

describe('ConvInteger vs onnxruntime', () => {
  const pairs: Array<[Dt, Dt]> = [
    ['uint8', 'uint8'],
    ['uint8', 'int8'],
    ['int8', 'int8'],
    ['int8', 'uint8'],
  ];
  it.each(pairs)('x %s, w %s on fixed and random shapes', async (xT, wT) => {
    const r = rng(60 + pairs.findIndex((p) => p[0] === xT && p[1] === wT));
    const cases = [...CASES, ...Array.from({ length: 12 }, () => randomCase(r))];
    for (const c of cases) {
      const Cg = c.C / c.group;
      const x = randQ(r, xT, c.N * c.C * c.H * c.W);
      const w = randQ(r, wT, c.M * Cg * c.kH * c.kW);
      const zx = zpOf(r, xT);
      // onnxruntime's ConvInteger takes per-tensor weight zero points only (per channel is
      // proven against the reference in conv.test.ts; QLinearConv below takes both)
      const zw = zpOf(r, wT);
      const model = singleNodeModel({
        opType: 'ConvInteger',
        inputs: [
          { name: 'x', type: xT, dims: [c.N, c.C, c.H, c.W] },
          tensor('w', wT, w, [c.M, Cg, c.kH, c.kW]),
          tensor('xz', xT, zpArray(xT, [zx]), []),
          tensor('wz', wT, zpArray(wT, [zw]), []),
        ],
        outputs: [{ name: 'y', type: 'int32' }],
        attributes: onnxAttributes(c),
      });
      const want = await runOrt(model, x, xT, [c.N, c.C, c.H, c.W]);
      for (const [backend, qw] of qws) {
        const y = qw.convInteger(
          { data: x, shape: [c.N, c.C, c.H, c.W] },
          { data: w, shape: [c.M, Cg, c.kH, c.kW] },
          zx,
          zw,
          {
            ...c.attrs,
            group: c.group,
          },
        );
        expect(y.shape, `${backend} ${JSON.stringify(c)}`).toEqual(want.dims);
        expectOracle({
          label: `ConvInteger x ${xT} w ${wT} ${JSON.stringify(c)} on ${backend}`,
          operands: [xT, wT],
          got: y.data,
          oracle: want.data as Int32Array,
          exact: () => convIntegerRef(c, x, w, zx, [zw]),
        });
      }
    }
  });
});

describe('QLinearConv vs onnxruntime', () => {
  // onnxruntime implements QLinearConv for uint8 x with uint8 or int8 w, and int8 x with int8 w
  const pairs: Array<[Dt, Dt]> = [
    ['uint8', 'uint8'],
    ['uint8', 'int8'],
    ['int8', 'int8'],
  ];
  for (const perChannel of [false, true]) {
    it.each(pairs)(
      `x %s, w %s, ${perChannel ? 'per-channel' : 'per-tensor'} weight scale, with and without bias`,
      async (xT, wT) => {
        const r = rng(70 + pairs.findIndex((p) => p[0] === xT && p[1] === wT) + (perChannel ? 10 : 0));
        const cases = [...CASES, ...Array.from({ length: 12 }, () => randomCase(r))];
        for (const [i, c] of cases.entries()) {
          const Cg = c.C / c.group;
          const x = randQ(r, xT, c.N * c.C * c.H * c.W);
          const w = randQ(r, wT, c.M * Cg * c.kH * c.kW);
          const zx = zpOf(r, xT);
          const zw = zpOf(r, wT);
          const zy = zpOf(r, xT);
          const zws = Array.from({ length: c.M }, () => zpOf(r, wT));
          const sx = 0.01 + r() * 0.05;
          const sw = perChannel ? randomFloat32(r, c.M, 0.001, 0.02) : Float32Array.of(0.004 + r() * 0.01);
          const sy = Math.fround(0.05 + r() * 0.4);
          const bias = i % 2 === 0 ? new Int32Array(c.M).map(() => randInt(r, -20000, 20000)) : undefined;
          const inputs: Array<ValueSpec | null> = [
            { name: 'x', type: xT, dims: [c.N, c.C, c.H, c.W] },
            tensor('xs', 'float32', Float32Array.of(sx), []),
            tensor('xz', xT, zpArray(xT, [zx]), []),
            tensor('w', wT, w, [c.M, Cg, c.kH, c.kW]),
            tensor('ws', 'float32', sw, perChannel ? [c.M] : []),
            tensor('wz', wT, zpArray(wT, perChannel ? zws : [zw]), perChannel ? [c.M] : []),
            tensor('ys', 'float32', Float32Array.of(sy), []),
            tensor('yz', xT, zpArray(xT, [zy]), []),
          ];
          if (bias) inputs.push(tensor('b', 'int32', bias, [c.M]));
          const model = singleNodeModel({
            opType: 'QLinearConv',
            inputs,
            outputs: [{ name: 'y', type: xT }],
            attributes: onnxAttributes(c),
          });
          const want = await runOrt(model, x, xT, [c.N, c.C, c.H, c.W]);
          for (const [backend, qw] of qws) {
            const y = qw.qlinearConv(
              { data: x, shape: [c.N, c.C, c.H, c.W] },
              sx,
              zx,
              { data: w, shape: [c.M, Cg, c.kH, c.kW] },
              perChannel ? sw : sw[0]!,
              perChannel ? zpArray(wT, zws) : zw,
              sy,
              zpArray(xT, [zy]),
              bias,
              { ...c.attrs, group: c.group },
            );
            expect(y.shape, `${backend} ${JSON.stringify(c)}`).toEqual(want.dims);
            const plane = y.shape[2]! * y.shape[3]!;
            expectOracle({
              label: `QLinearConv x ${xT} w ${wT} ${JSON.stringify(c)} on ${backend}`,
              operands: [xT, wT],
              got: y.data,
              oracle: want.data as Int8Array,
              exact: () => {
                const acc = convIntegerRef(c, x, w, zx, perChannel ? zws : [zw]);
                if (bias) for (let i = 0; i < acc.length; i++) acc[i]! += bias[Math.floor(i / plane) % c.M]!;
                return requantizeRef(acc, sx, sw, sy, zy, xT, (i) => Math.floor(i / plane) % c.M);
              },
            });
          }
        }
      },
    );
  }

  it('matches onnxruntime in NHWC layout too (the same model, transposed operands)', async () => {
    const r = rng(90);
    const c: OnnxConvCase = {
      N: 2,
      C: 10,
      H: 9,
      W: 8,
      M: 14,
      kH: 3,
      kW: 3,
      group: 2,
      attrs: { pads: [1, 0, 1, 2], strides: [1, 2] },
    };
    const Cg = c.C / c.group;
    const x = randomUint8(r, c.N * c.C * c.H * c.W);
    const w = randomInt8(r, c.M * Cg * c.kH * c.kW);
    const model = singleNodeModel({
      opType: 'QLinearConv',
      inputs: [
        { name: 'x', type: 'uint8', dims: [c.N, c.C, c.H, c.W] },
        tensor('xs', 'float32', Float32Array.of(0.02), []),
        tensor('xz', 'uint8', Uint8Array.of(128), []),
        tensor('w', 'int8', w, [c.M, Cg, c.kH, c.kW]),
        tensor('ws', 'float32', Float32Array.of(0.01), []),
        tensor('wz', 'int8', Int8Array.of(0), []),
        tensor('ys', 'float32', Float32Array.of(0.1), []),
        tensor('yz', 'uint8', Uint8Array.of(120), []),
      ],
      outputs: [{ name: 'y', type: 'uint8' }],
      attributes: onnxAttributes(c),
    });
    const want = await runOrt(model, x, 'uint8', [c.N, c.C, c.H, c.W]);
    const [, , OH, OW] = want.dims as number[];
    const xh = new Uint8Array(x.length);
    for (let n = 0; n < c.N; n++)
      for (let ch = 0; ch < c.C; ch++)
        for (let i = 0; i < c.H * c.W; i++) xh[(n * c.H * c.W + i) * c.C + ch] = x[(n * c.C + ch) * c.H * c.W + i]!;
    const wh = new Int8Array(w.length);
    for (let m = 0; m < c.M; m++)
      for (let ch = 0; ch < Cg; ch++) for (let t = 0; t < 9; t++) wh[(m * 9 + t) * Cg + ch] = w[(m * Cg + ch) * 9 + t]!;
    const oracle = toNHWC(want.data as Uint8Array, c.N, c.M, OH!, OW!, (n) => new Uint8Array(n));
    const exact = () => {
      const s: RefConvShape = { ...c, strides: [1, 2], pads: [1, 0, 1, 2] };
      return requantizeRef(refConvInteger(s, xh, wh, 128, [0]), 0.02, [0.01], 0.1, 120, 'uint8', () => 0);
    };
    for (const [backend, qw] of qws) {
      const y = qw.qlinearConv(
        { data: xh, shape: [c.N, c.H, c.W, c.C] },
        0.02,
        128,
        { data: wh, shape: [c.M, 3, 3, Cg] },
        0.01,
        0,
        0.1,
        120,
        undefined,
        {
          ...c.attrs,
          group: c.group,
          layout: 'NHWC',
        },
      );
      expect(y.shape).toEqual([c.N, OH, OW, c.M]);
      expectOracle({
        label: `QLinearConv NHWC ${JSON.stringify(c)} on ${backend}`,
        operands: ['uint8', 'int8'],
        got: y.data,
        oracle,
        exact,
      });
    }
  });
});
