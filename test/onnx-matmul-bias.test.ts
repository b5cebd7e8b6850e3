// qwasm/onnx: a MatMul by constant weights followed by the Add of a constant bias (how
// PaddleOCR's and PyTorch's exporters write a linear layer) runs as one linear layer with the
// bias in its epilogue, float32 and int8; results agree with onnxruntime-node, and a quantized
// model's QDQ export (MatMul and Add apart again) loads back bit for bit.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { encodeModel } from '../src/onnx/proto.js';
import { sqnrDb } from './onnx/images.mjs';
import { f32, init, node, seededFloats } from './onnx/graph.js';

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});

const rand = seededFloats(5);

const X = [2, 5, 12];
const K = 12;
const N = 7;

interface Case {
  name: string;
  nodes: object[];
  biasDims: number[];
  /** Extra graph outputs. */
  outs?: string[];
  fused: boolean;
  /**
   * int8: the product goes through an int8 op (false), or only float ops and the graph's
   * outputs read it (default), so the GEMM's epilogue dequantizes.
   */
  int8Reader?: boolean;
}

const CASES: Case[] = [
  {
    name: 'MatMul -> Add(bias [N])',
    nodes: [node('MatMul', ['x', 'w'], ['t']), node('Add', ['t', 'b'], ['y'])],
    biasDims: [N],
    fused: true,
  },
  {
    name: 'MatMul -> Add([1, N] bias, first operand)',
    nodes: [node('MatMul', ['x', 'w'], ['t']), node('Add', ['b', 't'], ['y'])],
    biasDims: [1, N],
    fused: true,
  },
  // the product is read twice: the Add stays apart
  {
    name: 'MatMul read by Add and Relu',
    nodes: [
      node('MatMul', ['x', 'w'], ['t']),
      node('Add', ['t', 'b'], ['u']),
      node('Relu', ['t'], ['r']),
      node('Add', ['u', 'r'], ['y']),
    ],
    biasDims: [N],
    fused: false,
    int8Reader: true,
  },
  // the product is a graph output: the Add stays apart
  {
    name: 'MatMul (a graph output too) -> Add',
    nodes: [node('MatMul', ['x', 'w'], ['t']), node('Add', ['t', 'b'], ['y'])],
    biasDims: [N],
    outs: ['t'],
    fused: false,
  },
  // a classifier's tail: only a float op reads the product, so the int8 GEMM writes float32
  {
    name: 'MatMul -> Add(bias) -> Softmax',
    nodes: [node('MatMul', ['x', 'w'], ['t']), node('Add', ['t', 'b'], ['u']), node('Softmax', ['u'], ['y'])],
    biasDims: [N],
    fused: true,
  },
  {
    name: 'MatMul -> Softmax',
    nodes: [node('MatMul', ['x', 'w'], ['t']), node('Softmax', ['t'], ['y'])],
    biasDims: [N],
    fused: true,
  },
  // a bias over the rows, not the columns, is no linear bias
  {
    name: 'MatMul -> Add([5, 1] constant)',
    nodes: [node('MatMul', ['x', 'w'], ['t']), node('Add', ['t', 'b'], ['y'])],
    biasDims: [5, 1],
    fused: false,
  },
];

function modelOf(c: Case): Uint8Array {
  const nb = c.biasDims.reduce((a, b) => a * b, 1);
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'g',
      node: c.nodes,
      input: [f32('x', X)],
      output: [f32('y', [2, 5, N]), ...(c.outs ?? []).map((o) => f32(o, [2, 5, N]))],
      initializer: [init('w', [K, N], rand(K * N, -0.6, 0.6)), init('b', c.biasDims, rand(nb, -2, 2))],
    },
  });
}

const numelX = X.reduce((a, b) => a * b, 1);

describe('MatMul + bias Add', () => {
  it.each(CASES)('$name: float32 agrees with onnxruntime-node', async (c) => {
    rand.reset();
    const bytes = modelOf(c);
    const x = rand(numelX, -2, 2);
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
    const ops = model.profile(feeds).map((s) => s.op);
    expect(ops.some((o) => o.startsWith('Add'))).toBe(!c.fused);
    model.dispose();
  });

  it.each(CASES)('$name: int8 matches its QDQ export on onnxruntime-node and loads back bit for bit', async (c) => {
    rand.reset();
    const bytes = modelOf(c);
    const model = OnnxModel.load(qw, bytes);
    const q = await model.quantize({
      calibration: [0, 1, 2, 3].map(() => ({ x: { data: rand(numelX, -2, 2), shape: X } })),
    });
    const feeds = { x: { data: rand(numelX, -2, 2), shape: X } };
    const yq = q.run(feeds).y!;
    const ops = q.profile(feeds).map((s) => s.op);
    expect(ops.some((o) => o.startsWith('MatMul (linear int8'))).toBe(true);
    expect(ops.includes('MatMul (linear int8, float32 out)')).toBe(c.int8Reader !== true);
    if (c.int8Reader !== true) expect(ops.some((o) => o.startsWith('DequantizeLinear'))).toBe(false);
    // fused: no float Add between a dequantize and a quantize
    expect(ops.some((o) => o.startsWith('Add'))).toBe(!c.fused);
    const fm = model.run(feeds).y!;
    // fused, the product is quantized once (at the Add's output); apart, twice (measured 43 / 25 dB)
    expect(sqnrDb(fm.data, yq.data)).toBeGreaterThan(c.fused ? 35 : 20);
    const file = q.toOnnx();
    const sess = await ort.InferenceSession.create(file);
    const yo = (await sess.run({ x: new ort.Tensor('float32', feeds.x.data, X) })).y!;
    expect(sqnrDb(yo.data as Float32Array, yq.data)).toBeGreaterThan(30);
    const back = OnnxModel.load(qw, file);
    expect(Array.from(back.run(feeds).y!.data)).toEqual(Array.from(yq.data));
    back.dispose();
    q.dispose();
    model.dispose();
  });
});
