// Transposed convolution. onnxruntime has no int8 ConvTranspose, so its float32
// ConvTranspose over the centred integers (x - xZp, w - wZp, exact in float32 while the
// sums stay below 2^24) is the oracle for the int32 sums; the int8 result must equal the
// fp32 requantization of those sums (+ bias). The float32 twin is compared with
// onnxruntime's ConvTranspose to float tolerance. Every build, both layouts.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { nchw, nhwc, runNode } from './network-helpers.js';
import {
  convTransposeRef,
  convTransposeShape,
  requantChannelsRef,
  type ConvTransposeRefAttrs,
} from './reference/conv-transpose.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Dt = 'int8' | 'uint8';
const randQ = (r: () => number, dt: Dt, n: number) => (dt === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
const zpOf = (r: () => number, dt: Dt) => (dt === 'int8' ? randInt(r, -128, 127) : randInt(r, 0, 255));

interface Case extends ConvTransposeRefAttrs {
  N: number;
  C: number;
  H: number;
  W: number;
  Mg: number;
  kH: number;
  kW: number;
}

function randomCase(r: () => number): Case {
  const group = randInt(r, 1, 3);
  const kH = randInt(r, 1, 4);
  const kW = randInt(r, 1, 4);
  const strides: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
  const dilations: [number, number] = [randInt(r, 1, 2), randInt(r, 1, 2)];
  const eH = (kH - 1) * dilations[0] + 1;
  const eW = (kW - 1) * dilations[1] + 1;
  const pads: [number, number, number, number] = [
    randInt(r, 0, eH - 1),
    randInt(r, 0, eW - 1),
    randInt(r, 0, eH - 1),
    randInt(r, 0, eW - 1),
  ];
  const outputPadding: [number, number] = [randInt(r, 0, strides[0] - 1), randInt(r, 0, strides[1] - 1)];
  const c: Case = {
    N: randInt(r, 1, 2),
    C: group * randInt(r, 1, 6),
    H: randInt(r, 1, 6),
    W: randInt(r, 1, 6),
    Mg: randInt(r, 1, 11),
    kH,
    kW,
    strides,
    pads,
    outputPadding,
    dilations,
    group,
  };
  const { OH, OW } = convTransposeShape(c.H, c.W, kH, kW, c);
  return OH >= 1 && OW >= 1 ? c : { ...c, pads: [0, 0, 0, 0] };
}

const FIXED: Case[] = [
  // the decoder upsampling block: kernel = stride, taps never overlap (direct GEMM path)
  { N: 1, C: 16, H: 5, W: 6, Mg: 16, kH: 2, kW: 2, strides: [2, 2] },
  { N: 2, C: 7, H: 3, W: 4, Mg: 13, kH: 3, kW: 2, strides: [3, 2] },
  { N: 1, C: 1, H: 1, W: 1, Mg: 1, kH: 2, kW: 2, strides: [2, 2] },
  // taps never overlap and at most 4 outputs per pixel over channels in 8s (convt_direct_narrow_s16):
  // a detection head's last upsampling to one channel, 2 and 3 channels, 2 and 3 columns
  { N: 2, C: 24, H: 5, W: 7, Mg: 1, kH: 2, kW: 2, strides: [2, 2] },
  { N: 1, C: 16, H: 3, W: 4, Mg: 2, kH: 1, kW: 2, strides: [1, 2] },
  { N: 1, C: 8, H: 4, W: 3, Mg: 3, kH: 1, kW: 1 },
  { N: 1, C: 32, H: 2, W: 3, Mg: 1, kH: 2, kW: 1, strides: [2, 1] },
  // overlapping taps, padding cropped, output padding
  { N: 1, C: 8, H: 4, W: 4, Mg: 9, kH: 3, kW: 3, strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] },
  { N: 1, C: 6, H: 5, W: 3, Mg: 4, kH: 4, kW: 4, strides: [2, 2], pads: [1, 1, 1, 1], group: 2 },
  // depthwise-like: one channel per group
  { N: 1, C: 5, H: 3, W: 3, Mg: 1, kH: 3, kW: 3, group: 5, dilations: [2, 2] },
  // a 1x1 map into a 3x3 kernel
  { N: 1, C: 3, H: 1, W: 1, Mg: 5, kH: 3, kW: 3 },
];

function onnxAttrs(c: Case): Record<string, number | number[]> {
  const a: Record<string, number | number[]> = { kernel_shape: [c.kH, c.kW], group: c.group ?? 1 };
  if (c.strides) a['strides'] = c.strides;
  if (c.pads) a['pads'] = c.pads;
  if (c.outputPadding) a['output_padding'] = c.outputPadding;
  if (c.dilations) a['dilations'] = c.dilations;
  return a;
}

/** w [C, Mg, kH, kW] -> [C, kH, kW, Mg]. */
function weightsNHWC<T extends Int8Array | Uint8Array | Float32Array>(w: T, c: Case): T {
  const out = new (w.constructor as new (n: number) => T)(w.length);
  for (let ci = 0; ci < c.C; ci++)
    for (let m = 0; m < c.Mg; m++)
      for (let t = 0; t < c.kH * c.kW; t++)
        out[(ci * c.kH * c.kW + t) * c.Mg + m] = w[(ci * c.Mg + m) * c.kH * c.kW + t]!;
  return out;
}

async function onnxConvTranspose(c: Case, x: Float32Array, w: Float32Array, bias?: Float32Array) {
  const inputs = [
    { name: 'x', type: 'float32', dims: [c.N, c.C, c.H, c.W] },
    { name: 'w', type: 'float32', dims: [c.C, c.Mg, c.kH, c.kW], data: w },
  ] as Array<{ name: string; type: 'float32'; dims: number[]; data?: Float32Array }>;
  if (bias) inputs.push({ name: 'b', type: 'float32', dims: [bias.length], data: bias });
  return runNode({ opType: 'ConvTranspose', opset: 13, inputs, attributes: onnxAttrs(c) }, x, [c.N, c.C, c.H, c.W]);
}

const qwAttrs = (c: Case, layout: 'NCHW' | 'NHWC') => ({
  strides: c.strides,
  pads: c.pads,
  outputPadding: c.outputPadding,
  dilations: c.dilations,
  group: c.group,
  layout,
});

describe('qlinearConvTranspose', () => {
  const pairs: Array<[Dt, Dt]> = [
    ['int8', 'int8'],
    ['uint8', 'int8'],
    ['uint8', 'uint8'],
    ['int8', 'uint8'],
  ];
  it.each(pairs)(
    'x %s, w %s: int32 sums equal onnxruntime float ConvTranspose, requantized exactly',
    async (xT, wT) => {
      const r = rng(700 + pairs.findIndex((p) => p[0] === xT && p[1] === wT));
      const cases = [...FIXED, ...Array.from({ length: 14 }, () => randomCase(r))];
      for (const c of cases) {
        const M = c.Mg * (c.group ?? 1);
        const x = randQ(r, xT, c.N * c.C * c.H * c.W);
        const w = randQ(r, wT, c.C * c.Mg * c.kH * c.kW);
        const zx = zpOf(r, xT);
        const perChannel = r() < 0.5;
        const zw = perChannel ? Int32Array.from({ length: M }, () => zpOf(r, wT)) : Int32Array.of(zpOf(r, wT));
        const ws = perChannel
          ? Float32Array.from({ length: M }, () => Math.fround(0.002 + r() * 0.02))
          : Float32Array.of(Math.fround(0.002 + r() * 0.02));
        const xs = Math.fround(0.01 + r() * 0.05);
        const zy = zpOf(r, xT);
        const bias = r() < 0.7 ? Int32Array.from({ length: M }, () => randInt(r, -3000, 3000)) : undefined;
        // the oracle: float ConvTranspose of the centred integers
        const xf = Float32Array.from(x, (v) => v - zx);
        const wf = new Float32Array(w.length);
        for (let ci = 0; ci < c.C; ci++) {
          const g = Math.floor(ci / (c.C / (c.group ?? 1)));
          for (let m = 0; m < c.Mg; m++)
            for (let t = 0; t < c.kH * c.kW; t++) {
              const i = (ci * c.Mg + m) * c.kH * c.kW + t;
              wf[i] = w[i]! - zw[zw.length === 1 ? 0 : g * c.Mg + m]!;
            }
        }
        const ort = await onnxConvTranspose(c, xf, wf);
        const ref = convTransposeRef(x, c.N, c.C, c.H, c.W, w, c.Mg, c.kH, c.kW, c, zx, zw);
        const label = `x ${xT} w ${wT} ${JSON.stringify(c)}`;
        expect(ort.dims, label).toEqual([c.N, M, ref.OH, ref.OW]);
        expect(firstDiff(ref.data, Array.from(ort.data)), `int32 reference vs onnxruntime ${label}`).toBe(-1);
        // sums the output range can show: yScale from the sums' spread
        let spread = 1;
        for (const v of ref.data) spread = Math.max(spread, Math.abs(v));
        const ys = Math.fround((xs * ws[0]! * spread) / 100);
        const plane = ref.OH * ref.OW;
        const withBias = bias ? ref.data.map((v, i) => v + bias[Math.floor(i / plane) % M]!) : ref.data;
        const { qmin, qmax } = xT === 'int8' ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 };
        const want = requantChannelsRef(withBias, M, plane, xs, ws, ys, zy, qmin, qmax);
        const wzp = zw.length === 1 ? zw[0]! : zw;
        for (const [backend, qw] of qws) {
          const a = qw.qlinearConvTranspose(
            { data: x, shape: [c.N, c.C, c.H, c.W] },
            xs,
            zx,
            { data: w, shape: [c.C, c.Mg, c.kH, c.kW] },
            ws,
            wzp,
            ys,
            zy,
            bias,
            qwAttrs(c, 'NCHW'),
          );
          expect(a.shape).toEqual([c.N, M, ref.OH, ref.OW]);
          expect(firstDiff(Array.from(a.data), want), `${backend} NCHW ${label}`).toBe(-1);
          const b = qw.qlinearConvTranspose(
            { data: nhwc(x, c.N, c.C, c.H, c.W), shape: [c.N, c.H, c.W, c.C] },
            xs,
            zx,
            { data: weightsNHWC(w, c), shape: [c.C, c.kH, c.kW, c.Mg] },
            ws,
            wzp,
            ys,
            zy,
            bias,
            qwAttrs(c, 'NHWC'),
          );
          expect(b.shape).toEqual([c.N, ref.OH, ref.OW, M]);
          expect(firstDiff(Array.from(nchw(b.data, c.N, ref.OH, ref.OW, M)), want), `${backend} NHWC ${label}`).toBe(
            -1,
          );
        }
      }
    },
  );

  it('convTransposeF32 matches onnxruntime ConvTranspose', async () => {
    const r = rng(710);
    const cases = [...FIXED, ...Array.from({ length: 12 }, () => randomCase(r))];
    for (const c of cases) {
      const M = c.Mg * (c.group ?? 1);
      const x = randomFloat32(r, c.N * c.C * c.H * c.W);
      const w = randomFloat32(r, c.C * c.Mg * c.kH * c.kW);
      const bias = r() < 0.5 ? randomFloat32(r, M) : undefined;
      const ort = await onnxConvTranspose(c, x, w, bias);
      const label = JSON.stringify(c);
      let first: ArrayLike<number> | undefined;
      for (const [backend, qw] of qws) {
        const a = qw.convTransposeF32(
          { data: x, shape: [c.N, c.C, c.H, c.W] },
          { data: w, shape: [c.C, c.Mg, c.kH, c.kW] },
          bias,
          qwAttrs(c, 'NCHW'),
        );
        expect(a.shape).toEqual(ort.dims);
        for (let i = 0; i < a.data.length; i++)
          expect(a.data[i], `${backend} ${label} at ${i}`).toBeCloseTo(ort.data[i]!, 4);
        const [, , OH, OW] = a.shape as [number, number, number, number];
        const b = qw.convTransposeF32(
          { data: nhwc(x, c.N, c.C, c.H, c.W), shape: [c.N, c.H, c.W, c.C] },
          { data: weightsNHWC(w, c), shape: [c.C, c.kH, c.kW, c.Mg] },
          bias,
          qwAttrs(c, 'NHWC'),
        );
        expect(
          firstDiff(Array.from(nchw(b.data, c.N, OH, OW, M)), Array.from(a.data)),
          `${backend} layouts ${label}`,
        ).toBe(-1);
        if (backend !== 'relaxed') {
          if (first) expect(firstDiff(Array.from(a.data), Array.from(first)), `${backend} builds ${label}`).toBe(-1);
          first = a.data;
        }
      }
    }
  });

  const qw = [...qws.values()][0]!;
  const x = { data: new Int8Array(1 * 4 * 3 * 3), shape: [1, 4, 3, 3] };
  const w = { data: new Int8Array(4 * 2 * 2 * 2), shape: [4, 2, 2, 2] };
  const call =
    (attrs: object, ww = w, b?: Int32Array) =>
    () =>
      qw.qlinearConvTranspose(x, 0.1, 0, ww, 0.1, 0, 0.1, 0, b, attrs);
  const bad: Array<[string, () => unknown]> = [
    ['attrs.strides', call({ strides: [0, 1] })],
    ['attrs.strides', call({ strides: [2 ** 20, 2 ** 20] })],
    ['attrs.pads', call({ pads: [3, 3, 3, 3] })],
    ['attrs.pads', call({ pads: [1, 1] })],
    ['attrs.outputPadding', call({ strides: [2, 2], outputPadding: [2, 0] })],
    ['attrs.dilations', call({ dilations: [0, 1] })],
    ['attrs.group', call({ group: 3 })],
    ['attrs.layout', call({ layout: 'NCWH' })],
    ['attrs.requant', call({ requant: 'float' })],
    ['w', call({}, { data: new Int8Array(3 * 2 * 2 * 2), shape: [3, 2, 2, 2] })],
    ['bias', call({}, w, new Int32Array(3))],
    ['x', () => qw.convTransposeF32(x, w)],
  ];
  it.each(bad)('%s is named in the QwasmError', (name, fn) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QwasmError);
    expect((err as QwasmError).argument).toBe(name);
  });
});
