// Resize against onnxruntime-node's Resize (opset 13, NCHW) and the scalar reference in
// test/reference/resize.ts: nearest and bilinear, every coordinate transformation and
// nearest mode, up- and downscaling, int8 / uint8 / float32, every build, both layouts.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { nchw, nhwc, runNode } from './network-helpers.js';
import { resizeRef } from './reference/resize.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Dt = 'int8' | 'uint8' | 'float32';
const TRANSFORMS = ['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel'] as const;
const NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const;

interface ResizeCase {
  N: number;
  C: number;
  H: number;
  W: number;
  /** [sh, sw] or output [OH, OW]. */
  scales?: [number, number];
  sizes?: [number, number];
  mode: 'nearest' | 'linear';
  transform: (typeof TRANSFORMS)[number];
  nearest: (typeof NEAREST)[number];
}

function data(r: () => number, dt: Dt, n: number) {
  if (dt === 'int8') return randomInt8(r, n);
  if (dt === 'uint8') return randomUint8(r, n);
  return randomFloat32(r, n, -3, 3);
}

const SCALES = [0.25, 0.5, 0.6, 0.75, 1, 1.5, 2, 2.5, 3, 4, 1.3];

function randomCase(r: () => number, mode: 'nearest' | 'linear', i: number): ResizeCase {
  const c: ResizeCase = {
    N: randInt(r, 1, 2),
    C: [1, 3, 4, 15, 16, 17, 20, 33][randInt(r, 0, 7)]!,
    H: randInt(r, 1, 9),
    W: randInt(r, 1, 9),
    mode,
    transform: TRANSFORMS[i % 4]!,
    nearest: NEAREST[Math.floor(i / 4) % 4]!,
  };
  if (r() < 0.7) c.scales = [SCALES[randInt(r, 0, SCALES.length - 1)]!, SCALES[randInt(r, 0, SCALES.length - 1)]!];
  else c.sizes = [randInt(r, 1, 12), randInt(r, 1, 12)];
  return c;
}

/** Awkward ones: to one pixel, from one pixel, 2x, downscale, identity. */
const FIXED: Array<Omit<ResizeCase, 'mode' | 'transform' | 'nearest'>> = [
  { N: 1, C: 5, H: 6, W: 7, sizes: [1, 1] },
  { N: 1, C: 17, H: 1, W: 1, sizes: [4, 3] },
  { N: 1, C: 16, H: 5, W: 4, scales: [2, 2] },
  { N: 2, C: 3, H: 8, W: 9, scales: [0.5, 0.5] },
  { N: 1, C: 20, H: 4, W: 4, scales: [1, 1] },
  { N: 1, C: 1, H: 1, W: 9, scales: [3, 0.34] },
];

function fixedCases(mode: 'nearest' | 'linear'): ResizeCase[] {
  const out: ResizeCase[] = [];
  for (const f of FIXED) {
    for (const transform of TRANSFORMS) {
      if (mode === 'linear') out.push({ ...f, mode, transform, nearest: 'round_prefer_floor' });
      else for (const nearest of NEAREST) out.push({ ...f, mode, transform, nearest });
    }
  }
  return out;
}

async function check(c: ResizeCase, dt: Dt, r: () => number): Promise<void> {
  const { N, C, H, W } = c;
  const x = data(r, dt, N * C * H * W);
  const scales = c.scales ? Float32Array.of(1, 1, c.scales[0], c.scales[1]) : new Float32Array(0);
  const inputs = [
    { name: 'x', type: dt, dims: [N, C, H, W] },
    { name: 'roi', type: 'float32', dims: [0], data: new Float32Array(0) },
    { name: 'scales', type: 'float32', dims: [scales.length], data: scales },
  ] as Array<{ name: string; type: Dt | 'int64'; dims: number[]; data?: Float32Array | BigInt64Array }>;
  if (c.sizes)
    inputs.push({
      name: 'sizes',
      type: 'int64',
      dims: [4],
      data: BigInt64Array.of(BigInt(N), BigInt(C), BigInt(c.sizes[0]), BigInt(c.sizes[1])),
    });
  const attributes: Record<string, string> = { mode: c.mode, coordinate_transformation_mode: c.transform };
  if (c.mode === 'nearest') attributes['nearest_mode'] = c.nearest;
  const ort = await runNode({ opType: 'Resize', opset: 13, inputs, attributes }, x, [N, C, H, W]);
  const [, , OH, OW] = ort.dims as [number, number, number, number];
  const f = Math.fround;
  const sh = c.scales ? f(c.scales[0]) : f(OH / H);
  const sw = c.scales ? f(c.scales[1]) : f(OW / W);
  const label = `${dt} ${JSON.stringify(c)}`;
  const ref = resizeRef(
    x,
    N,
    C,
    H,
    W,
    OH,
    OW,
    sh,
    sw,
    { mode: c.mode, transform: c.transform, nearest: c.nearest },
    dt !== 'float32',
  );
  const want = Array.from(ort.data as ArrayLike<number>);
  expect(firstDiff(ref, want), `reference vs onnxruntime ${label}`).toBe(-1);
  const common = { mode: c.mode, coordinateTransformationMode: c.transform, nearestMode: c.nearest };
  for (const [backend, qw] of qws) {
    const a = qw.resize(
      { data: x, shape: [N, C, H, W] },
      {
        ...common,
        ...(c.scales ? { scales: [1, 1, c.scales[0], c.scales[1]] } : { sizes: [N, C, c.sizes![0], c.sizes![1]] }),
      },
    );
    expect(a.shape, `${backend} ${label}`).toEqual([N, C, OH, OW]);
    expect(firstDiff(Array.from(a.data), want), `${backend} NCHW ${label}`).toBe(-1);
    const b = qw.resize(
      { data: nhwc(x, N, C, H, W), shape: [N, H, W, C] },
      { ...common, layout: 'NHWC', ...(c.scales ? { scales: c.scales } : { sizes: c.sizes }) },
    );
    expect(b.shape, `${backend} ${label}`).toEqual([N, OH, OW, C]);
    expect(firstDiff(Array.from(nchw(b.data, N, OH, OW, C)), want), `${backend} NHWC ${label}`).toBe(-1);
  }
}

describe('resize', () => {
  for (const mode of ['nearest', 'linear'] as const) {
    it.each(['int8', 'uint8', 'float32'] as const)(
      `${mode} %s equals onnxruntime Resize and the reference`,
      async (dt) => {
        const r = rng((mode === 'linear' ? 600 : 610) + ['int8', 'uint8', 'float32'].indexOf(dt));
        const cases = [...fixedCases(mode), ...Array.from({ length: 32 }, (_, i) => randomCase(r, mode, i))];
        for (const c of cases) await check(c, dt, r);
      },
    );
  }

  it('int8 bilinear truncates toward zero (onnxruntime), not to nearest', () => {
    for (const [, qw] of qws) {
      // midpoints of (-3, 0) and (1, 2): -1.5 -> -1, 1.5 -> 1
      const y = qw.resize(
        { data: Int8Array.of(-3, 0, 1, 2), shape: [1, 1, 2, 2] },
        { sizes: [1, 1, 2, 3], mode: 'linear', coordinateTransformationMode: 'align_corners' },
      );
      expect(Array.from(y.data)).toEqual([-3, -1, 0, 1, 1, 2]);
    }
  });

  const qw = [...qws.values()][0]!;
  const x = { data: new Int8Array(2 * 3 * 4 * 5), shape: [2, 3, 4, 5] };
  const bad: Array<[string, () => unknown]> = [
    ['attrs.scales', () => qw.resize(x, { mode: 'linear' })],
    ['attrs.scales', () => qw.resize(x, { scales: [1, 1, 2, 2], sizes: [2, 3, 8, 10] })],
    ['attrs.scales', () => qw.resize(x, { scales: [1, 2, 2, 2] })],
    ['attrs.scales', () => qw.resize(x, { scales: [1, 1, -2, 2] })],
    ['attrs.scales', () => qw.resize(x, { scales: [1, 1, 1e9, 1e9] })],
    ['attrs.scales', () => qw.resize(x, { scales: [1, 1, 2] })],
    ['attrs.sizes', () => qw.resize(x, { sizes: [2, 3, 2.5, 4] })],
    ['attrs.sizes', () => qw.resize(x, { sizes: [1, 3, 2, 4] })],
    ['attrs.sizes', () => qw.resize(x, { sizes: [2, 3, 2 ** 40, 4] })],
    ['attrs.mode', () => qw.resize(x, { scales: [1, 1, 2, 2], mode: 'cubic' as 'linear' })],
    [
      'attrs.coordinateTransformationMode',
      () => qw.resize(x, { scales: [1, 1, 2, 2], coordinateTransformationMode: 'tf_crop_and_resize' as 'half_pixel' }),
    ],
    ['attrs.nearestMode', () => qw.resize(x, { scales: [1, 1, 2, 2], nearestMode: 'round' as 'floor' })],
    ['attrs.layout', () => qw.resize(x, { scales: [1, 1, 2, 2], layout: 'HWC' as 'NHWC' })],
    ['x', () => qw.resize({ data: new Int16Array(4), shape: [1, 1, 2, 2] }, { scales: [1, 1, 2, 2] })],
    ['x', () => qw.resize({ data: new Int8Array(4), shape: [2, 2] }, { scales: [2, 2] })],
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
});
