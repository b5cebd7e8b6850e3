// qwasm/onnx's float32 path against onnxruntime-node, one random single-node model per op:
// every output within 1e-4 of onnxruntime's, relative to the output's largest magnitude.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { singleNodeModel } from './onnx/model.mjs';

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});

let seed = 7;
function rand(n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return lo + ((hi - lo) * seed) / 2147483648;
  });
}
const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);

interface In {
  name: string;
  dims: number[];
  /** Constant (an initializer) when given. */
  data?: Float32Array | BigInt64Array;
  type?: 'float32' | 'int64';
  /** Value range of a runtime input. */
  range?: [number, number];
}

interface Case {
  op: string;
  inputs: (In | null)[];
  out: number[];
  attributes?: Record<string, unknown>;
  opset?: number;
  tol?: number;
}

function f(name: string, dims: number[], range?: [number, number]): In {
  return { name, dims, range };
}
function c(name: string, dims: number[], data?: Float32Array): In {
  return { name, dims, data: data ?? rand(numel(dims)) };
}
function i64(name: string, values: number[]): In {
  return { name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)), type: 'int64' };
}

const X = [1, 8, 9, 10];
const cases: Case[] = [
  {
    op: 'Conv',
    inputs: [f('x', [1, 6, 11, 13]), c('w', [8, 6, 3, 3]), c('b', [8])],
    out: [1, 8, 6, 7],
    attributes: { pads: [1, 1, 1, 1], strides: [2, 2] },
  },
  {
    op: 'Conv',
    inputs: [f('x', X), c('w', [8, 1, 3, 3])],
    out: [1, 8, 9, 10],
    attributes: { pads: [1, 1, 1, 1], group: 8 },
  },
  {
    op: 'Conv',
    inputs: [f('x', X), c('w', [4, 4, 3, 3])],
    out: [1, 4, 9, 10],
    attributes: { auto_pad: 'SAME_UPPER', group: 2 },
  },
  {
    op: 'ConvTranspose',
    inputs: [f('x', X), c('w', [8, 3, 2, 2]), c('b', [3])],
    out: [1, 3, 18, 20],
    attributes: { strides: [2, 2] },
  },
  {
    // overlapping windows: the general transposed convolution (the case above is a 1x1 conv and a shuffle)
    op: 'ConvTranspose',
    inputs: [f('x', X), c('w', [8, 3, 3, 3]), c('b', [3])],
    out: [1, 3, 17, 19],
    attributes: { strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  {
    op: 'BatchNormalization',
    inputs: [f('x', X), c('s', [8]), c('b', [8]), c('m', [8]), c('v', [8], rand(8, 0.5, 2))],
    out: X,
  },
  {
    op: 'Gemm',
    inputs: [f('a', [5, 12]), c('b', [7, 12]), c('c', [7])],
    out: [5, 7],
    attributes: { transB: 1, alpha: 0.5 },
  },
  { op: 'MatMul', inputs: [f('a', [2, 5, 12]), c('b', [12, 7])], out: [2, 5, 7] },
  { op: 'MatMul', inputs: [f('a', [2, 5, 12]), f('b', [2, 12, 7])], out: [2, 5, 7] },
  // batched on the f32 GEMM: a shared B, a shared A, a constant 3-D B, tails of the 8-wide panels
  { op: 'MatMul', inputs: [f('a', [3, 5, 12]), f('b', [1, 12, 9])], out: [3, 5, 9] },
  { op: 'MatMul', inputs: [f('a', [1, 5, 12]), f('b', [3, 12, 9])], out: [3, 5, 9] },
  { op: 'MatMul', inputs: [f('a', [2, 1, 3]), c('b', [2, 3, 17])], out: [2, 1, 17] },
  ...['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'].map((op): Case => ({
    op,
    inputs: [f('a', X), f('b', [8, 1, 1], [0.5, 2])],
    out: X,
  })),
  { op: 'Add', inputs: [f('a', X), f('b', X)], out: X },
  // a row repeated over the leading dims, on either side, and a one-value operand
  { op: 'Sub', inputs: [f('a', X), f('b', [10])], out: X },
  { op: 'Div', inputs: [f('a', [1, 1, 10], [0.5, 2]), f('b', X, [0.5, 2])], out: X },
  { op: 'Sub', inputs: [f('a', [1]), f('b', X)], out: X },
  { op: 'Mul', inputs: [f('a', X), f('b', [1, 1, 1, 10])], out: X },
  { op: 'Pow', inputs: [f('a', X, [0.1, 2]), c('b', [], Float32Array.of(2))], out: X },
  { op: 'Relu', inputs: [f('x', X)], out: X },
  { op: 'LeakyRelu', inputs: [f('x', X)], out: X, attributes: { alpha: 0.1 } },
  {
    op: 'Clip',
    inputs: [f('x', X, [-8, 8]), c('lo', [], Float32Array.of(0)), c('hi', [], Float32Array.of(6))],
    out: X,
  },
  { op: 'HardSigmoid', inputs: [f('x', X, [-5, 5])], out: X, attributes: { alpha: 0.2, beta: { float: 0.5 } } },
  { op: 'HardSwish', inputs: [f('x', X, [-5, 5])], out: X, opset: 14 },
  { op: 'Sigmoid', inputs: [f('x', X, [-6, 6])], out: X },
  { op: 'Tanh', inputs: [f('x', X)], out: X },
  { op: 'Erf', inputs: [f('x', X, [-3, 3])], out: X },
  { op: 'Sqrt', inputs: [f('x', X, [0, 4])], out: X },
  { op: 'Softmax', inputs: [f('x', [2, 5, 7], [-4, 4])], out: [2, 5, 7], attributes: { axis: -1 } },
  { op: 'Softmax', inputs: [f('x', [2, 5, 7], [-4, 4])], out: [2, 5, 7], attributes: { axis: 1 } },
  {
    op: 'MaxPool',
    inputs: [f('x', X)],
    out: [1, 8, 5, 5],
    attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  { op: 'AveragePool', inputs: [f('x', X)], out: [1, 8, 4, 5], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
  { op: 'GlobalAveragePool', inputs: [f('x', X)], out: [1, 8, 1, 1] },
  { op: 'ReduceMean', inputs: [f('x', [2, 5, 7])], out: [2, 5, 1], attributes: { axes: [-1] } },
  {
    op: 'Resize',
    inputs: [f('x', X), null, c('s', [4], Float32Array.of(1, 1, 2, 2))],
    out: [1, 8, 18, 20],
    attributes: { mode: 'nearest' },
  },
  {
    op: 'Resize',
    inputs: [f('x', X), null, c('s', [4], Float32Array.of(1, 1, 2, 2))],
    out: [1, 8, 18, 20],
    attributes: { mode: 'linear' },
  },
  { op: 'Concat', inputs: [f('a', X), f('b', [1, 3, 9, 10])], out: [1, 11, 9, 10], attributes: { axis: 1 } },
  { op: 'Reshape', inputs: [f('x', X), i64('s', [1, 8, -1])], out: [1, 8, 90] },
  { op: 'Flatten', inputs: [f('x', X)], out: [1, 720] },
  { op: 'Transpose', inputs: [f('x', X)], out: [1, 9, 10, 8], attributes: { perm: [0, 2, 3, 1] } },
  { op: 'Squeeze', inputs: [f('x', [1, 8, 1, 10]), i64('a', [2])], out: [1, 8, 10] },
  { op: 'Unsqueeze', inputs: [f('x', [8, 10]), i64('a', [0, 2])], out: [1, 8, 1, 10] },
  {
    op: 'Slice',
    inputs: [f('x', X), i64('s', [1, 2]), i64('e', [7, 100]), i64('a', [1, 3]), i64('t', [2, 3])],
    out: [1, 3, 9, 3],
  },
  { op: 'Gather', inputs: [f('x', X), i64('i', [3, 0, 7])], out: [1, 3, 9, 10], attributes: { axis: 1 } },
  { op: 'LayerNormalization', inputs: [f('x', [2, 5, 12]), c('s', [12]), c('b', [12])], out: [2, 5, 12], opset: 17 },
  { op: 'LogSoftmax', inputs: [f('x', [3, 11], [-4, 4])], out: [3, 11], attributes: { axis: -1 } },
  { op: 'ReduceSum', inputs: [f('x', [2, 5, 7]), i64('a', [1])], out: [2, 1, 7] },
  { op: 'ReduceMax', inputs: [f('x', [2, 5, 7])], out: [2, 7], attributes: { axes: [1], keepdims: 0 } },
  { op: 'Sum', inputs: [f('a', X), f('b', X), f('c', [1, 8, 1, 1])], out: X },
  { op: 'Neg', inputs: [f('x', X)], out: X },
  { op: 'Exp', inputs: [f('x', X, [-3, 3])], out: X },
  { op: 'Abs', inputs: [f('x', X)], out: X },
  { op: 'Identity', inputs: [f('x', X)], out: X },
  { op: 'Softmax', inputs: [f('x', [2, 3, 4], [-4, 4])], out: [2, 3, 4], attributes: { axis: 1 }, opset: 11 },
  { op: 'Clip', inputs: [f('x', X, [-8, 8])], out: X, attributes: { min: { float: -1 }, max: { float: 2 } }, opset: 9 },
];

describe('qwasm/onnx float32 ops against onnxruntime-node', () => {
  for (const k of cases) {
    const label = `${k.op} ${k.inputs.map((i) => (i === null ? '-' : `${i.data ? 'const ' : ''}[${i.dims.join(',')}]`)).join(' ')} ${JSON.stringify(k.attributes ?? {})}`;
    it(label, async () => {
      const spec = {
        opType: k.op,
        opset: k.opset ?? 13,
        attributes: k.attributes,
        inputs: k.inputs.map((i) =>
          i === null ? null : { name: i.name, type: i.type ?? 'float32', dims: i.dims, data: i.data },
        ),
        outputs: [{ name: 'y', type: 'float32', dims: k.out }],
      };
      const bytes = singleNodeModel(spec as never);
      const feeds: Record<string, { data: Float32Array; shape: number[] }> = {};
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const i of k.inputs) {
        if (i === null || i.data) continue;
        const data = rand(numel(i.dims), ...(i.range ?? [-1, 1]));
        feeds[i.name] = { data, shape: i.dims };
        ortFeeds[i.name] = new ort.Tensor('float32', data, i.dims);
      }
      const sess = await ort.InferenceSession.create(bytes);
      const want = (await sess.run(ortFeeds)).y!;
      const model = OnnxModel.load(qw, bytes);
      const got = model.run(feeds).y!;
      model.dispose();
      expect(got.shape).toEqual(want.dims);
      const w = want.data as Float32Array;
      let scale = 0;
      for (const v of w) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(w[j]! - got.data[j]!));
      expect(worst).toBeLessThanOrEqual((k.tol ?? 1e-4) * Math.max(scale, 1e-6));
    });
  }
});
