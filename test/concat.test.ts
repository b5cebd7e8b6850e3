// qlinearConcat (com.microsoft QLinearConcat) and concatF32: against the scalar reference
// on every axis, with copies and requantized inputs mixed, and against onnxruntime-node.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { refConcat, type Dtype } from './reference/elementwise.js';
import { runContrib, scalar, type ContribInput } from './onnx/contrib.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const codes = (r: () => number, dtype: Dtype, n: number) => (dtype === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
const zpArr = (dtype: Dtype, v: number) => (dtype === 'int8' ? Int8Array.of(v) : Uint8Array.of(v));

/** Shapes of the inputs (axis dim varies) and the axis. */
const CASES: Array<[number[][], number]> = [
  [[[1], [1]], 0],
  [
    [
      [2, 3],
      [2, 5],
      [2, 1],
    ],
    1,
  ],
  [
    [
      [1, 24, 5, 5],
      [1, 8, 5, 5],
      [1, 24, 5, 5],
      [1, 3, 5, 5],
    ],
    1,
  ],
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
      [3, 4],
      [1, 4],
      [0, 4],
    ],
    0,
  ],
  [
    [
      [2, 3, 7],
      [2, 2, 7],
    ],
    -2,
  ],
  [
    [
      [0, 3],
      [0, 2],
    ],
    1,
  ], // runs of 3 and 5 codes, over 32768 codes per input: the pair-table lookup with tails
  [
    [
      [1, 120, 120, 3],
      [1, 120, 120, 5],
      [1, 120, 120, 3],
    ],
    -1,
  ],
  // long runs (NCHW along channels, the outermost axis): each run copied from its input's array
  [
    [
      [1, 24, 16, 16],
      [1, 8, 16, 16],
      [1, 24, 16, 16],
      [1, 3, 16, 16],
    ],
    1,
  ],
  [
    [
      [2, 40, 30, 30],
      [2, 8, 30, 30],
      [2, 0, 30, 30],
    ],
    1,
  ],
  [
    [
      [3, 500],
      [2, 500],
    ],
    0,
  ],
];

function randomCase(r: () => number, dtype: Dtype, shapes: number[][]) {
  const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
  const sy = 0.01 + r() * 0.1;
  const zy = randInt(r, lo, hi);
  const inputs = shapes.map((shape, i) => {
    // every other input carries the output's quantization: a straight copy
    const same = i % 2 === 1;
    return {
      data: codes(r, dtype, size(shape)),
      shape,
      s: same ? sy : 0.005 + r() * 0.2,
      z: same ? zy : randInt(r, lo, hi),
    };
  });
  return { inputs, sy, zy };
}

describe('qlinearConcat', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: every axis, copies and requantized inputs, 0-size inputs, against the scalar reference`, () => {
      const r = rng(800);
      for (const [shapes, axis] of CASES) {
        const { inputs, sy, zy } = randomCase(r, dtype, shapes);
        const ax = axis < 0 ? axis + shapes[0]!.length : axis;
        const ref = refConcat(inputs, ax, sy, zy, dtype);
        for (const [backend, qw] of qws) {
          const y = qw.qlinearConcat(
            inputs.map((t) => [{ data: t.data, shape: t.shape }, t.s, t.z] as const),
            sy,
            zy,
            { axis },
          );
          expect(y.shape).toEqual(ref.shape);
          expect(firstDiff(y.data, ref.data), `${backend} ${JSON.stringify(shapes)} axis ${axis}`).toBe(-1);
        }
      }
    });

    it(`${dtype}: bit-exact with onnxruntime`, async () => {
      const r = rng(801);
      for (const [shapes, axis] of CASES) {
        if (shapes.some((s) => size(s) === 0)) continue;
        const { inputs, sy, zy } = randomCase(r, dtype, shapes);
        const nodeInputs: ContribInput[] = [scalar('sy', Float32Array.of(sy)), scalar('zy', zpArr(dtype, zy))];
        inputs.forEach((t, i) => {
          nodeInputs.push({ name: `x${i}`, data: t.data, dims: t.shape, feed: true });
          nodeInputs.push(scalar(`s${i}`, Float32Array.of(t.s)));
          nodeInputs.push(scalar(`z${i}`, zpArr(dtype, t.z)));
        });
        const y = await runContrib('QLinearConcat', nodeInputs, dtype, { axis });
        for (const [backend, qw] of qws) {
          const got = qw.qlinearConcat(
            inputs.map((t) => [{ data: t.data, shape: t.shape }, t.s, t.z] as const),
            sy,
            zy,
            { axis },
          );
          expect(got.shape).toEqual(y.dims);
          expect(firstDiff(got.data, y.data as Int8Array), `${backend} ${JSON.stringify(shapes)}`).toBe(-1);
        }
      }
    });
  }
});

describe('qlinearConcat into an out that overlaps an input', () => {
  it('reads every input before writing, on the long-run path too', () => {
    const r = rng(802);
    for (const shapes of [
      [
        [1, 16, 16, 16],
        [1, 8, 16, 16],
      ],
      [
        [1, 16, 4, 4],
        [1, 8, 4, 4],
      ],
    ]) {
      const { inputs, sy, zy } = randomCase(r, 'int8', shapes);
      const ref = refConcat(inputs, 1, sy, zy, 'int8');
      for (const [backend, qw] of qws) {
        // the second input sits where the result's first rows go
        const out = new Int8Array(ref.data.length);
        const second = out.subarray(0, inputs[1]!.data.length);
        second.set(inputs[1]!.data);
        const y = qw.qlinearConcat(
          [
            [{ data: inputs[0]!.data, shape: inputs[0]!.shape }, inputs[0]!.s, inputs[0]!.z],
            [{ data: second, shape: inputs[1]!.shape }, inputs[1]!.s, inputs[1]!.z],
          ],
          sy,
          zy,
          { axis: 1 },
          out,
        );
        expect(y.data).toBe(out);
        expect(firstDiff(out, ref.data), `${backend} ${JSON.stringify(shapes)}`).toBe(-1);
      }
    }
  });
});

describe('concatF32', () => {
  it('joins float32 tensors along every axis', () => {
    const r = rng(810);
    for (const [shapes, axis] of CASES) {
      const ts = shapes.map((shape) => ({ data: randomFloat32(r, size(shape)), shape }));
      const ax = axis < 0 ? axis + shapes[0]!.length : axis;
      const ref = refConcat(
        ts.map((t) => ({ ...t, s: 1, z: 0 })),
        ax,
        1,
        0,
        'int8',
      );
      for (const [backend, qw] of qws) {
        const y = qw.concatF32(ts, { axis });
        expect(y.shape).toEqual(ref.shape);
        expect(firstDiff(y.data, ref.data), backend).toBe(-1);
      }
    }
  });
});

describe('concat input errors', () => {
  const qw = [...qws.values()][0]!;
  const x = { data: new Int8Array(6), shape: [2, 3] };
  const expectError = (fn: () => unknown, argument: string) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(QwasmError);
      expect((e as QwasmError).argument).toBe(argument);
      return;
    }
    throw new Error(`expected a QwasmError naming ${argument}`);
  };

  it('names the argument or attribute', () => {
    expectError(() => qw.qlinearConcat([[x, 0.1, 0]], 0.1, 0, { axis: 2 }), 'attrs.axis');
    expectError(() => qw.qlinearConcat([[x, 0.1, 0]], 0.1, 0, {} as { axis: number }), 'attrs.axis');
    expectError(() => qw.qlinearConcat([], 0.1, 0, { axis: 0 }), 'inputs');
    expectError(
      () =>
        qw.qlinearConcat(
          [
            [x, 0.1, 0],
            [{ data: new Int8Array(4), shape: [4, 1] }, 0.1, 0],
          ],
          0.1,
          0,
          { axis: 0 },
        ),
      'inputs[1]',
    );
    expectError(
      () =>
        qw.qlinearConcat(
          [
            [x, 0.1, 0],
            [{ data: new Uint8Array(6), shape: [2, 3] }, 0.1, 0],
          ],
          0.1,
          0,
          { axis: 0 },
        ),
      'inputs[1]',
    );
    expectError(() => qw.qlinearConcat([[x, -1, 0]], 0.1, 0, { axis: 0 }), 'inputs[0][1]');
    expectError(() => qw.qlinearConcat([[x, 0.1, 999]], 0.1, 0, { axis: 0 }), 'inputs[0][2]');
    expectError(() => qw.qlinearConcat([[x, 0.1, 0]], 0.1, 999, { axis: 0 }), 'yZeroPoint');
    expectError(() => qw.concatF32([x], { axis: 0 }), 'inputs[0]');
    expect(
      qw.qlinearConcat(
        [
          [x, 0.1, 0],
          [x, 0.2, 1],
        ],
        0.1,
        0,
        { axis: 0 },
      ).shape,
    ).toEqual([4, 3]);
  });
});
