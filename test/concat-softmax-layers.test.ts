// concatLayer / softmaxLayer: the layer forms equal the scalar references (and so the op
// forms) bit for bit on every build, reuse `out`, re-plan on a new shape, allocate no wasm
// memory over a steady run, and refuse bad input by name.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { engines, firstDiff, randInt, randomInt8, randomUint8, rng } from './helpers.js';
import { refConcat, refSoftmax, type Dtype } from './reference/elementwise.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const codes = (r: () => number, dtype: Dtype, n: number) => (dtype === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
const newCodes = (dtype: Dtype, n: number) => (dtype === 'int8' ? new Int8Array(n) : new Uint8Array(n));

function expectError(fn: () => unknown, argument: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QwasmError);
    expect((e as QwasmError).argument).toBe(argument);
    return;
  }
  throw new Error(`expected a QwasmError naming ${argument}`);
}

/** Input shapes (the axis dim varies) and the axis; the last runs over the pair-table path. */
const CONCAT_CASES: Array<[number[][], number]> = [
  [[[1], [1]], 0],
  [
    [
      [1, 5, 5, 24],
      [1, 5, 5, 8],
      [1, 5, 5, 17],
    ],
    -1,
  ],
  [
    [
      [1, 1, 1, 3],
      [1, 1, 1, 1],
    ],
    3,
  ],
  [
    [
      [2, 3, 7],
      [2, 2, 7],
      [2, 0, 7],
    ],
    1,
  ],
  [
    [
      [3, 4],
      [1, 4],
    ],
    0,
  ],
  [
    [
      [1, 40, 40, 24],
      [1, 40, 40, 5],
      [1, 40, 40, 96],
    ],
    -1,
  ],
];

describe('concatLayer', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: equals the reference with copies and requantized inputs, into a reused out, on every build`, () => {
      const r = rng(1200);
      const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
      for (const [shapes, axis] of CONCAT_CASES) {
        const sy = 0.01 + r() * 0.1;
        const zy = randInt(r, lo, hi);
        const quants = shapes.map((_, i) =>
          i % 2 === 1 ? { scale: sy, zeroPoint: zy } : { scale: 0.005 + r() * 0.2, zeroPoint: randInt(r, lo, hi) },
        );
        const ax = axis < 0 ? axis + shapes[0]!.length : axis;
        for (const [backend, qw] of qws) {
          const layer = qw.concatLayer({
            inputs: quants.map((q) => ({ ...q, dtype })),
            output: { scale: sy, zeroPoint: zy },
            axis,
          });
          for (let rep = 0; rep < 2; rep++) {
            // fresh codes each time: a layer that kept the last call's result would fail
            const xs = shapes.map((shape) => ({ data: codes(r, dtype, size(shape)), shape }));
            const ref = refConcat(
              xs.map((x, i) => ({ ...x, s: quants[i]!.scale, z: quants[i]!.zeroPoint })),
              ax,
              sy,
              zy,
              dtype,
            );
            const out = { data: newCodes(dtype, ref.data.length), shape: ref.shape };
            expect(layer.run(xs, out)).toBe(out);
            expect(firstDiff(out.data, ref.data), `${backend} ${JSON.stringify(shapes)} axis ${axis}`).toBe(-1);
            const y = layer.run(xs);
            expect(y.shape).toEqual(ref.shape);
            expect(firstDiff(y.data, ref.data), `${backend} new output`).toBe(-1);
          }
          layer.dispose();
        }
      }
    });
  }

  it('re-plans when the shapes change, and runAsync gives the same codes', async () => {
    const r = rng(1201);
    for (const qw of qws.values()) {
      const quants = [
        { scale: 0.05, zeroPoint: 3 },
        { scale: 0.1, zeroPoint: 0 },
      ];
      const layer = qw.concatLayer({ inputs: quants, output: { scale: 0.1, zeroPoint: 0 } });
      for (const [c0, c1, hw] of [
        [3, 5, 4],
        [24, 8, 40],
        [3, 5, 4],
      ] as const) {
        const xs = [
          { data: randomInt8(r, hw * hw * c0), shape: [1, hw, hw, c0] },
          { data: randomInt8(r, hw * hw * c1), shape: [1, hw, hw, c1] },
        ];
        const ref = refConcat(
          xs.map((x, i) => ({ ...x, s: quants[i]!.scale, z: quants[i]!.zeroPoint })),
          3,
          0.1,
          0,
          'int8',
        );
        expect(firstDiff(layer.run(xs).data, ref.data)).toBe(-1);
        expect(firstDiff((await layer.runAsync(xs)).data, ref.data)).toBe(-1);
      }
      layer.dispose();
    }
  });

  it('allocates no wasm memory over a steady run with out', () => {
    const r = rng(1202);
    const qw = [...qws.values()][0]!;
    const layer = qw.concatLayer({
      inputs: [
        { scale: 0.05, zeroPoint: 3 },
        { scale: 0.05, zeroPoint: 0 },
        { scale: 0.02, zeroPoint: -7 },
      ],
      output: { scale: 0.05, zeroPoint: 0 },
    });
    const xs = [24, 24, 24].map((c) => ({ data: randomInt8(r, 64 * 64 * c), shape: [1, 64, 64, c] }));
    const out = { data: new Int8Array(64 * 64 * 72), shape: [1, 64, 64, 72] };
    layer.run(xs, out);
    const before = qw.memoryBytes;
    const want = out.data.slice();
    for (let i = 0; i < 50; i++) layer.run(xs, out);
    expect(qw.memoryBytes).toBe(before);
    expect(firstDiff(out.data, want)).toBe(-1);
    layer.dispose();
  });

  it('names the bad argument', () => {
    const qw = [...qws.values()][0]!;
    const q = { scale: 0.1, zeroPoint: 0 };
    expectError(() => qw.concatLayer({ inputs: [], output: q }), 'inputs');
    expectError(() => qw.concatLayer({ inputs: [q, { scale: -1 }], output: q }), 'inputs[1].scale');
    expectError(
      () => qw.concatLayer({ inputs: [q, { scale: 0.1, zeroPoint: 300 }], output: q }),
      'inputs[1].zeroPoint',
    );
    expectError(() => qw.concatLayer({ inputs: [q], output: { scale: Number.NaN } }), 'output.scale');
    expectError(() => qw.concatLayer({ inputs: [q], output: q, axis: 1.5 }), 'axis');
    expectError(() => qw.concatLayer(null as never), 'config');
    const layer = qw.concatLayer({ inputs: [q, q], output: q, axis: 1 });
    const a = { data: new Int8Array(6), shape: [2, 3] };
    expectError(() => layer.run([a]), 'x');
    expectError(() => layer.run([a, { data: new Uint8Array(6), shape: [2, 3] }]), 'x[1]');
    expectError(() => layer.run([a, { data: new Int8Array(4), shape: [4, 1] }]), 'x[1]');
    expectError(() => layer.run([a, { data: new Int8Array(6), shape: [3, 2] }]), 'x[1]');
    expectError(() => layer.run([a, a], { data: new Int8Array(11), shape: [2, 6] }), 'out');
    expectError(() => layer.run([a, a], { data: new Uint8Array(12), shape: [2, 6] }), 'out');
    // the layer still works after the refusals
    expect(layer.run([a, a]).shape).toEqual([2, 6]);
    const bad = qw.concatLayer({ inputs: [q], output: q, axis: 2 });
    expectError(() => bad.run([a]), 'axis');
    bad.dispose();
    layer.dispose();
    expectError(() => layer.run([a, a]), 'layer');
  });
});

const SOFTMAX_CASES: Array<[number[], number]> = [
  [[1], 0],
  [[1, 10], -1],
  [[4, 1], 1],
  [[3, 7, 5], 1],
  [[1, 7, 7, 33], -1],
  [[2, 3, 4, 5], 0],
  [[2, 1000], -1],
  [[0, 5], 1],
];

describe('softmaxLayer', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: equals the reference along every axis position, into a reused out, on every build`, () => {
      const r = rng(1300);
      const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
      for (const [shape, axis] of SOFTMAX_CASES) {
        const sx = Math.exp(-5 + r() * 5);
        const zx = randInt(r, lo, hi);
        const sy = [1 / 256, 1 / 100, 0.002][randInt(r, 0, 2)]!;
        const zy = randInt(r, lo, hi);
        const ax = axis < 0 ? axis + shape.length : axis;
        for (const [backend, qw] of qws) {
          const layer = qw.softmaxLayer({
            input: { scale: sx, zeroPoint: zx, dtype },
            output: { scale: sy, zeroPoint: zy },
            axis,
          });
          const out = { data: newCodes(dtype, size(shape)), shape };
          for (let rep = 0; rep < 2; rep++) {
            const x = codes(r, dtype, size(shape));
            const ref = refSoftmax(x, shape, ax, sx, sy, zy, dtype);
            expect(layer.run({ data: x, shape }, out)).toBe(out);
            expect(firstDiff(out.data, ref), `${backend} [${shape}] axis ${axis}`).toBe(-1);
            const y = layer.run({ data: x, shape });
            expect(y.shape).toEqual(shape);
            expect(firstDiff(y.data, ref), `${backend} new output`).toBe(-1);
          }
          layer.dispose();
        }
      }
    });
  }

  it('re-plans when the axis length changes (a new exp table), allocates nothing in steady state', async () => {
    const r = rng(1301);
    const qw = [...qws.values()][0]!;
    const layer = qw.softmaxLayer({ input: { scale: 0.1, zeroPoint: 0 }, output: { scale: 1 / 256, zeroPoint: -128 } });
    for (const D of [10, 1000, 10]) {
      const x = randomInt8(r, 8 * D);
      const ref = refSoftmax(x, [8, D], 1, 0.1, 1 / 256, -128, 'int8');
      expect(firstDiff(layer.run({ data: x, shape: [8, D] }).data, ref)).toBe(-1);
      expect(firstDiff((await layer.runAsync({ data: x, shape: [8, D] })).data, ref)).toBe(-1);
    }
    const x = { data: randomInt8(r, 8 * 1000), shape: [8, 1000] };
    const out = { data: new Int8Array(8000), shape: [8, 1000] };
    layer.run(x, out);
    const before = qw.memoryBytes;
    for (let i = 0; i < 50; i++) layer.run(x, out);
    expect(qw.memoryBytes).toBe(before);
    layer.dispose();
  });

  it('names the bad argument', () => {
    const qw = [...qws.values()][0]!;
    expectError(() => qw.softmaxLayer({ input: { scale: 0 }, output: { scale: 1 / 256 } }), 'input.scale');
    expectError(
      () => qw.softmaxLayer({ input: { scale: 0.1, dtype: 'int16' as never }, output: { scale: 1 / 256 } }),
      'input.dtype',
    );
    expectError(
      () => qw.softmaxLayer({ input: { scale: 0.1, dtype: 'uint8' }, output: { scale: 1 / 256, zeroPoint: -1 } }),
      'output.zeroPoint',
    );
    expectError(
      () => qw.softmaxLayer({ input: { scale: 0.1 }, output: { scale: 1 / 256 }, axis: 'x' as never }),
      'axis',
    );
    const layer = qw.softmaxLayer({ input: { scale: 0.1 }, output: { scale: 1 / 256 }, axis: 2 });
    const x = { data: new Int8Array(6), shape: [2, 3] };
    expectError(() => layer.run(x), 'axis');
    const ok = qw.softmaxLayer({ input: { scale: 0.1 }, output: { scale: 1 / 256 } });
    expectError(() => ok.run({ data: new Uint8Array(6), shape: [2, 3] }), 'x');
    expectError(() => ok.run({ data: new Int8Array(5), shape: [2, 3] }), 'x');
    expectError(() => ok.run(x, { data: new Int8Array(5), shape: [5] }), 'out');
    expect(ok.run(x).shape).toEqual([2, 3]);
    ok.dispose();
    layer.dispose();
    expectError(() => ok.run(x), 'layer');
  });
});
