// qwasm/onnx on the float path: a hard-swish after a conv (ONNX HardSwish, or x * clip(x + 3,
// 0, 6) / 6 with PaddleOCR's learnable scale and shift after it) runs in the conv's epilogue;
// results agree with onnxruntime-node; calibration still sees the conv's own output.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { encodeModel } from '../src/onnx/proto.js';
import type { Val } from '../src/onnx/plan.js';
import { f32, init, node, scalar, seededFloats } from './onnx/graph.js';

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});

const rand = seededFloats(11);

const C = 5;
const M = 11;
const X = [1, C, 9, 10];
const Y = [1, M, 9, 10];

/** x -> Conv 3x3 pad 1 -> t, then `tail` nodes from t to y (extra graph outputs optional). */
function convModel(tail: object[], extra: object[] = [], extraOuts: string[] = [], group = 1): Uint8Array {
  const w = rand((M * C * 9) / group, -0.8, 0.8);
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'g',
      node: [node('Conv', ['x', 'w', 'b'], ['t'], [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }]), ...tail],
      input: [f32('x', X)],
      output: [f32('y', Y), ...extraOuts.map((o) => f32(o, Y))],
      initializer: [init('w', [M, C / group, 3, 3], w), init('b', [M], rand(M, -2, 2)), ...extra],
    },
  });
}

/** hard-swish as PaddleOCR's exporter writes it, then its learnable affine pair. */
const paddleTail = [
  node('Add', ['t', 'three'], ['a']),
  node('Clip', ['a', 'zero', 'six'], ['cl']),
  node('Mul', ['t', 'cl'], ['m']),
  node('Div', ['m', 'six'], ['h']),
  node('Mul', ['h', 'scale'], ['g']),
  node('Add', ['g', 'shift'], ['y']),
];
const paddleConsts = [
  scalar('three', 3),
  scalar('zero', 0),
  scalar('six', 6),
  scalar('scale', 1.3),
  scalar('shift', -0.2),
];

const MODELS: Array<[string, () => Uint8Array, boolean]> = [
  ['Conv -> HardSwish', () => convModel([node('HardSwish', ['t'], ['y'])]), true],
  ['Conv -> x * clip(x + 3, 0, 6) / 6 * s + c', () => convModel(paddleTail, paddleConsts), true],
  [
    'Conv -> x * clip(x + 3, 0, 6) / 6 (no affine)',
    () => convModel(paddleTail.slice(0, 3).concat(node('Div', ['m', 'six'], ['y'])), paddleConsts),
    true,
  ],
  // the conv's output is also a graph output: nothing to fuse
  ['Conv (a graph output too) -> HardSwish', () => convModel([node('HardSwish', ['t'], ['y'])], [], ['t']), false],
  // two readers of the conv's output: nothing to fuse
  [
    'Conv -> HardSwish and Relu',
    () => convModel([node('HardSwish', ['t'], ['h']), node('Relu', ['t'], ['r']), node('Add', ['h', 'r'], ['y'])]),
    false,
  ],
];

/** The plan's steps other than the layout changes at the model's edges. */
function computeOps(model: OnnxModel, feeds: Record<string, { data: Float32Array; shape: number[] }>): string[] {
  return model
    .profile(feeds)
    .map((s) => s.op)
    .filter((o) => !o.startsWith('to NHWC') && !o.startsWith('to NCHW'));
}

describe('Conv + hard-swish on the float path', () => {
  it.each(MODELS)('%s: agrees with onnxruntime-node', async (_name, make, fused) => {
    const bytes = make();
    const x = rand(
      X.reduce((a, b) => a * b, 1),
      -3,
      3,
    );
    const sess = await ort.InferenceSession.create(bytes);
    const want = (await sess.run({ x: new ort.Tensor('float32', x, X) })).y!.data as Float32Array;
    const model = OnnxModel.load(qw, bytes);
    const feeds = { x: { data: x, shape: X } };
    const got = model.run(feeds).y!.data;
    let range = 0;
    for (const v of want) range = Math.max(range, Math.abs(v));
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThanOrEqual(1e-5 * range);
    const ops = computeOps(model, feeds);
    expect(ops.some((o) => o.startsWith('Conv (conv2dF32 + hardswish'))).toBe(fused);
    if (fused) expect(ops).toHaveLength(1);
    model.dispose();
  });

  it('lets calibration observe the conv output itself, not its hard-swish', () => {
    const model = OnnxModel.load(qw, MODELS[1]![1]());
    const feeds = {
      x: {
        data: rand(
          X.reduce((a, b) => a * b, 1),
          -3,
          3,
        ),
        shape: X,
      },
    };
    let lowest = Infinity;
    model.runObserved(feeds, (v: Val) => {
      if (v.name === 't') for (const e of v.data as Float32Array) lowest = Math.min(lowest, e);
    });
    // hard-swish is never below -0.375: a lower value is the conv's own output
    expect(lowest).toBeLessThan(-1);
    // and the fused plan still runs after the observed one
    expect(computeOps(model, feeds)).toEqual(['Conv (conv2dF32 + hardswish + affine)']);
    model.dispose();
  });
});
