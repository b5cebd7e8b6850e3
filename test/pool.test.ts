// Pooling against onnxruntime-node (MaxPool, com.microsoft QLinearAveragePool and
// QLinearGlobalAveragePool, float AveragePool / GlobalAveragePool) and the scalar
// references in test/reference/pool.ts, on every build and in both layouts.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, type Qwasm } from '../src/index.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { nchw, nhwc, runNode } from './network-helpers.js';
import {
  averagePoolRef,
  maxPoolRef,
  poolOutputLength,
  qlinearAveragePoolRef,
  qlinearGlobalAveragePoolRef,
  type PoolRefAttrs,
} from './reference/pool.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Dt = 'int8' | 'uint8';
const randQ = (r: () => number, dt: Dt, n: number) => (dt === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
const zpOf = (r: () => number, dt: Dt) => (dt === 'int8' ? randInt(r, -128, 127) : randInt(r, 0, 255));
const zpArray = (dt: Dt, v: number) => (dt === 'int8' ? Int8Array.of(v) : Uint8Array.of(v));
const range = (dt: Dt) => (dt === 'int8' ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 });

interface PoolCase extends PoolRefAttrs {
  N: number;
  C: number;
  H: number;
  W: number;
  countIncludePad?: boolean;
}

/** A random valid window: pads below the kernel, kernel within the padded input. */
function randomCase(r: () => number, dilated: boolean): PoolCase {
  const kernel: [number, number] = [randInt(r, 1, 4), randInt(r, 1, 4)];
  const dilations: [number, number] = dilated ? [randInt(r, 1, 2), randInt(r, 1, 2)] : [1, 1];
  const pads: [number, number, number, number] = [
    randInt(r, 0, kernel[0] - 1),
    randInt(r, 0, kernel[1] - 1),
    randInt(r, 0, kernel[0] - 1),
    randInt(r, 0, kernel[1] - 1),
  ];
  const eH = (kernel[0] - 1) * dilations[0] + 1;
  const eW = (kernel[1] - 1) * dilations[1] + 1;
  const H = randInt(r, Math.max(1, eH - pads[0] - pads[2]), eH + 6);
  const W = randInt(r, Math.max(1, eW - pads[1] - pads[3]), eW + 6);
  const C = [1, 3, 5, 15, 16, 17, 24, 33][randInt(r, 0, 7)]!;
  return {
    N: randInt(r, 1, 2),
    C,
    H,
    W,
    kernel,
    strides: [randInt(r, 1, 3), randInt(r, 1, 3)],
    pads,
    dilations,
    ceil: r() < 0.5,
    countIncludePad: r() < 0.5,
  };
}

/** The awkward windows named in the op's contract. */
const FIXED: PoolCase[] = [
  // 1x1 map, kernel as large as the padded input
  { N: 1, C: 7, H: 1, W: 1, kernel: [3, 3], pads: [1, 1, 1, 1] },
  { N: 1, C: 16, H: 1, W: 1, kernel: [1, 1] },
  // kernel equal to the padded input, odd channels
  { N: 2, C: 19, H: 4, W: 3, kernel: [5, 4], pads: [1, 1, 0, 0] },
  // ceil mode where the last window would start in the bottom / right padding (dropped)
  { N: 1, C: 3, H: 4, W: 4, kernel: [3, 3], strides: [2, 2], pads: [0, 0, 2, 2], ceil: true, countIncludePad: true },
  { N: 1, C: 3, H: 4, W: 4, kernel: [3, 3], strides: [2, 2], pads: [0, 0, 2, 2], ceil: true },
  // ceil mode whose last window reaches past the padded end
  { N: 1, C: 20, H: 5, W: 5, kernel: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], ceil: true, countIncludePad: true },
  { N: 1, C: 20, H: 5, W: 5, kernel: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], ceil: true },
  // the MobileNet / ResNet stem pool
  { N: 1, C: 64, H: 15, W: 15, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  // kernel over the whole unpadded map: onnxruntime's QLinearAveragePool takes the global rule
  { N: 2, C: 33, H: 3, W: 5, kernel: [3, 5] },
];

const dims = (c: PoolCase) => [c.N, c.C, c.H, c.W];

function onnxAttrs(c: PoolCase, avg: boolean): Record<string, number | number[]> {
  const a: Record<string, number | number[]> = { kernel_shape: c.kernel };
  if (c.strides) a['strides'] = c.strides;
  if (c.pads) a['pads'] = [c.pads[0], c.pads[1], c.pads[2], c.pads[3]];
  if (!avg && c.dilations) a['dilations'] = c.dilations;
  if (c.ceil) a['ceil_mode'] = 1;
  if (avg) a['count_include_pad'] = c.countIncludePad ? 1 : 0;
  return a;
}

function qwAttrs(c: PoolCase, avg: boolean, layout: 'NCHW' | 'NHWC') {
  return {
    kernelShape: c.kernel,
    strides: c.strides,
    pads: c.pads,
    dilations: avg ? undefined : c.dilations,
    ceilMode: c.ceil ?? false,
    countIncludePad: c.countIncludePad ?? false,
    layout,
  };
}

/** Runs `op` on x in both layouts on every build; returns the NCHW results. */
function everyBuildAndLayout<T extends Int8Array | Uint8Array | Float32Array>(
  c: PoolCase,
  x: T,
  op: (
    qw: Qwasm,
    x: T,
    shape: number[],
    layout: 'NCHW' | 'NHWC',
  ) => { data: ArrayLike<number>; shape: readonly number[] },
): Array<{ label: string; data: ArrayLike<number>; shape: number[] }> {
  const out: Array<{ label: string; data: ArrayLike<number>; shape: number[] }> = [];
  for (const [backend, qw] of qws) {
    const a = op(qw, x, dims(c), 'NCHW');
    out.push({ label: `${backend} NCHW`, data: a.data, shape: [...a.shape] });
    const b = op(qw, nhwc(x, c.N, c.C, c.H, c.W), [c.N, c.H, c.W, c.C], 'NHWC');
    const [n, oh, ow, ch] = b.shape as [number, number, number, number];
    out.push({
      label: `${backend} NHWC`,
      data: nchw(b.data as T, n, oh, ow, ch),
      shape: [n, ch, oh, ow],
    });
  }
  return out;
}

function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  const d = firstDiff(Array.from(got), Array.from(want));
  expect(d, `${what}: first difference at ${d} (got ${got[d]}, want ${want[d]})`).toBe(-1);
}

describe('maxPool', () => {
  it.each(['int8', 'uint8'] as const)(
    '%s equals onnxruntime MaxPool and the reference (dilations, ceil mode)',
    async (dt) => {
      const r = rng(dt === 'int8' ? 501 : 502);
      const cases = [...FIXED, ...Array.from({ length: 20 }, () => randomCase(r, true))];
      for (const c of cases) {
        const x = randQ(r, dt, c.N * c.C * c.H * c.W);
        const ort = await runNode(
          {
            opType: 'MaxPool',
            opset: 12,
            inputs: [{ name: 'x', type: dt, dims: dims(c) }],
            attributes: onnxAttrs(c, false),
          },
          x,
          dims(c),
        );
        const ref = maxPoolRef(x, c.N, c.C, c.H, c.W, c, dt === 'int8' ? -128 : 0);
        const label = `${dt} ${JSON.stringify(c)}`;
        expect(ref.shape, label).toEqual(ort.dims);
        expectSame(ref.data, ort.data, `reference vs onnxruntime ${label}`);
        for (const y of everyBuildAndLayout(c, x, (qw, xs, shape, layout) =>
          qw.maxPool({ data: xs, shape }, qwAttrs(c, false, layout)),
        )) {
          expect(y.shape, `${y.label} ${label}`).toEqual(ort.dims);
          expectSame(y.data, ort.data, `${y.label} ${label}`);
        }
      }
    },
  );

  it('maxPoolF32 equals onnxruntime MaxPool on float32', async () => {
    const r = rng(503);
    const cases = [...FIXED, ...Array.from({ length: 12 }, () => randomCase(r, true))];
    for (const c of cases) {
      const x = randomFloat32(r, c.N * c.C * c.H * c.W, -4, 4);
      const ort = await runNode(
        {
          opType: 'MaxPool',
          opset: 12,
          inputs: [{ name: 'x', type: 'float32', dims: dims(c) }],
          attributes: onnxAttrs(c, false),
        },
        x,
        dims(c),
      );
      for (const y of everyBuildAndLayout(c, x, (qw, xs, shape, layout) =>
        qw.maxPoolF32({ data: xs, shape }, qwAttrs(c, false, layout)),
      )) {
        expect(y.shape).toEqual(ort.dims);
        expectSame(y.data, ort.data, `${y.label} ${JSON.stringify(c)}`);
      }
    }
  });
});

/** Random quantization of a pool: scales around 0.01-0.1, any zero points. */
function randomQuant(r: () => number, dt: Dt) {
  return { xs: Math.fround(0.005 + r() * 0.1), xz: zpOf(r, dt), ys: Math.fround(0.005 + r() * 0.1), yz: zpOf(r, dt) };
}

function qlinearPoolInputs(
  dt: Dt,
  c: { N: number; C: number; H: number; W: number },
  q: ReturnType<typeof randomQuant>,
) {
  return [
    { name: 'x', type: dt, dims: [c.N, c.C, c.H, c.W] },
    { name: 'xs', type: 'float32', dims: [], data: Float32Array.of(q.xs) },
    { name: 'xz', type: dt, dims: [], data: zpArray(dt, q.xz) },
    { name: 'ys', type: 'float32', dims: [], data: Float32Array.of(q.ys) },
    { name: 'yz', type: dt, dims: [], data: zpArray(dt, q.yz) },
  ] as const;
}

describe('qlinearAveragePool', () => {
  it.each(['int8', 'uint8'] as const)(
    '%s equals onnxruntime QLinearAveragePool and the reference (countIncludePad both ways, ceil mode)',
    async (dt) => {
      const r = rng(dt === 'int8' ? 511 : 512);
      const cases = [
        ...FIXED,
        ...FIXED.map((c) => ({ ...c, countIncludePad: !c.countIncludePad })),
        ...Array.from({ length: 24 }, () => randomCase(r, false)),
      ];
      for (const c of cases) {
        const x = randQ(r, dt, c.N * c.C * c.H * c.W);
        const q = randomQuant(r, dt);
        const ort = await runNode(
          {
            opType: 'QLinearAveragePool',
            domain: 'com.microsoft',
            inputs: qlinearPoolInputs(dt, c, q),
            attributes: onnxAttrs(c, true),
          },
          x,
          dims(c),
        );
        const { qmin, qmax } = range(dt);
        const ref = qlinearAveragePoolRef(x, c.N, c.C, c.H, c.W, c, q.xs, q.xz, q.ys, q.yz, qmin, qmax);
        const label = `${dt} ${JSON.stringify(c)} ${JSON.stringify(q)}`;
        expect(ref.shape, label).toEqual(ort.dims);
        expectSame(ref.data, ort.data, `reference vs onnxruntime ${label}`);
        const ys = everyBuildAndLayout(c, x, (qw, xs, shape, layout) =>
          qw.qlinearAveragePool({ data: xs, shape }, q.xs, q.xz, q.ys, zpArray(dt, q.yz), qwAttrs(c, true, layout)),
        );
        for (const y of ys) {
          expect(y.shape, `${y.label} ${label}`).toEqual(ort.dims);
          expectSame(y.data, ort.data, `${y.label} ${label}`);
        }
      }
    },
  );

  it('averagePoolF32 matches onnxruntime AveragePool (countIncludePad counts the padded extent)', async () => {
    const r = rng(513);
    const cases = [...FIXED, ...Array.from({ length: 16 }, () => randomCase(r, false))];
    for (const c of cases) {
      const x = randomFloat32(r, c.N * c.C * c.H * c.W, -2, 2);
      const ort = await runNode(
        {
          opType: 'AveragePool',
          opset: 13,
          inputs: [{ name: 'x', type: 'float32', dims: dims(c) }],
          attributes: onnxAttrs(c, true),
        },
        x,
        dims(c),
      );
      const ref = averagePoolRef(x, c.N, c.C, c.H, c.W, c);
      const ys = everyBuildAndLayout(c, x, (qw, xs, shape, layout) =>
        qw.averagePoolF32({ data: xs, shape }, qwAttrs(c, true, layout)),
      );
      for (const y of ys) {
        expect(y.shape).toEqual(ort.dims);
        for (let i = 0; i < y.data.length; i++) {
          expect(y.data[i], `${y.label} ${JSON.stringify(c)} at ${i}`).toBeCloseTo(ort.data[i]!, 5);
          expect(y.data[i]).toBeCloseTo(ref.data[i]!, 5);
        }
        expectSame(y.data, ys[0]!.data, `${y.label} vs ${ys[0]!.label}`);
      }
    }
  });
});

describe('qlinearGlobalAveragePool', () => {
  const SHAPES: Array<[number, number, number, number]> = [
    [1, 1, 1, 1],
    [1, 17, 1, 1],
    [2, 5, 3, 3],
    [1, 16, 7, 7],
    [1, 35, 13, 11],
    // more pixels than one int16 run of the kernel (128)
    [1, 20, 15, 14],
    [1, 1280, 7, 7],
  ];
  it.each(['int8', 'uint8'] as const)(
    '%s equals onnxruntime QLinearGlobalAveragePool and the reference',
    async (dt) => {
      const r = rng(dt === 'int8' ? 521 : 522);
      for (const [N, C, H, W] of SHAPES) {
        const c = { N, C, H, W };
        const x = randQ(r, dt, N * C * H * W);
        const q = randomQuant(r, dt);
        const ort = await runNode(
          {
            opType: 'QLinearGlobalAveragePool',
            domain: 'com.microsoft',
            inputs: qlinearPoolInputs(dt, c, q),
            attributes: { channels_last: 0 },
          },
          x,
          [N, C, H, W],
        );
        const { qmin, qmax } = range(dt);
        const ref = qlinearGlobalAveragePoolRef(x, N, C, H, W, q.xs, q.xz, q.ys, q.yz, qmin, qmax);
        const label = `${dt} [${N}, ${C}, ${H}, ${W}] ${JSON.stringify(q)}`;
        expectSame(ref, ort.data, `reference vs onnxruntime ${label}`);
        for (const [backend, qw] of qws) {
          const a = qw.qlinearGlobalAveragePool({ data: x, shape: [N, C, H, W] }, q.xs, q.xz, q.ys, q.yz);
          expect(a.shape).toEqual([N, C, 1, 1]);
          expectSame(a.data, ort.data, `${backend} NCHW ${label}`);
          const b = qw.qlinearGlobalAveragePool(
            { data: nhwc(x, N, C, H, W), shape: [N, H, W, C] },
            q.xs,
            q.xz,
            q.ys,
            q.yz,
            { layout: 'NHWC' },
          );
          expect(b.shape).toEqual([N, 1, 1, C]);
          expectSame(b.data, ort.data, `${backend} NHWC ${label}`);
        }
      }
    },
  );

  it('globalAveragePoolF32 matches onnxruntime GlobalAveragePool', async () => {
    const r = rng(523);
    for (const [N, C, H, W] of SHAPES) {
      const x = randomFloat32(r, N * C * H * W, -2, 2);
      const ort = await runNode(
        { opType: 'GlobalAveragePool', inputs: [{ name: 'x', type: 'float32', dims: [N, C, H, W] }] },
        x,
        [N, C, H, W],
      );
      let first: ArrayLike<number> | undefined;
      for (const [, qw] of qws) {
        const y = qw.globalAveragePoolF32({ data: x, shape: [N, C, H, W] });
        expect(y.shape).toEqual([N, C, 1, 1]);
        for (let i = 0; i < y.data.length; i++) expect(y.data[i]).toBeCloseTo(ort.data[i]!, 5);
        if (first) expectSame(y.data, first, 'builds');
        first = y.data;
      }
    }
  });
});

describe('pooling attributes', () => {
  const qw = [...qws.values()][0]!;
  const x = { data: new Int8Array(2 * 3 * 5 * 5), shape: [2, 3, 5, 5] };
  const bad: Array<[string, () => unknown]> = [
    ['attrs.kernelShape', () => qw.maxPool(x, { kernelShape: [7, 7] })],
    ['attrs.kernelShape', () => qw.maxPool(x, { kernelShape: [1e9, 1e9], pads: [1, 1, 1, 1] })],
    ['attrs.kernelShape', () => qw.maxPool(x, { kernelShape: [3] })],
    ['attrs.pads', () => qw.maxPool(x, { kernelShape: [2, 2], pads: [2, 0, 0, 0] })],
    [
      'attrs.pads',
      () =>
        qw.maxPool(x, { kernelShape: [2 ** 30, 2 ** 30], pads: [2 ** 30 - 1, 2 ** 30 - 1, 2 ** 30 - 1, 2 ** 30 - 1] }),
    ],
    ['attrs.pads', () => qw.maxPool(x, { kernelShape: [2, 2], pads: [-1, 0, 0, 0] })],
    ['attrs.strides', () => qw.maxPool(x, { kernelShape: [2, 2], strides: [0, 1] })],
    ['attrs.dilations', () => qw.maxPool(x, { kernelShape: [2, 2], dilations: [1.5, 1] })],
    ['attrs.ceilMode', () => qw.maxPool(x, { kernelShape: [2, 2], ceilMode: 2 as 1 })],
    ['attrs.layout', () => qw.maxPool(x, { kernelShape: [2, 2], layout: 'CHWN' as 'NCHW' })],
    [
      'attrs.countIncludePad',
      () =>
        qw.qlinearAveragePool(x, 0.1, 0, 0.1, 0, { kernelShape: [2, 2], countIncludePad: 'yes' as unknown as boolean }),
    ],
    ['x', () => qw.maxPool({ data: new Int16Array(4), shape: [1, 1, 2, 2] }, { kernelShape: [1, 1] })],
    ['x', () => qw.maxPoolF32(x, { kernelShape: [1, 1] })],
    ['x', () => qw.maxPool({ data: new Int8Array(4), shape: [4] }, { kernelShape: [1, 1] })],
    ['xScale', () => qw.qlinearAveragePool(x, 0, 0, 0.1, 0, { kernelShape: [2, 2] })],
    ['yZeroPoint', () => qw.qlinearAveragePool(x, 0.1, 0, 0.1, Uint8Array.of(3), { kernelShape: [2, 2] })],
    ['xZeroPoint', () => qw.qlinearGlobalAveragePool(x, 0.1, 200, 0.1, 0)],
  ];
  it.each(bad)('%s is named in the QwasmError', (name, call) => {
    let err: unknown;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QwasmError);
    expect((err as QwasmError).argument).toBe(name);
  });

  it('the engine keeps working after a refused call', () => {
    expect(() => qw.maxPool(x, { kernelShape: [9, 9] })).toThrow(QwasmError);
    const y = qw.maxPool({ data: Int8Array.of(1, -2, 3, 4), shape: [1, 1, 2, 2] }, { kernelShape: [2, 2] });
    expect(Array.from(y.data)).toEqual([4]);
  });

  it('output lengths follow onnxruntime (ceil mode drops a window starting in the end padding)', () => {
    expect(poolOutputLength(4, 3, 2, 1, 0, 2, true)).toBe(2);
    expect(poolOutputLength(5, 3, 2, 1, 0, 1, true)).toBe(3);
    expect(poolOutputLength(112, 3, 2, 1, 1, 1, false)).toBe(56);
  });
});
