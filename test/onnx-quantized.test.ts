// Already-quantized models through qwasm/onnx: QOperator nodes (ONNX and com.microsoft) and a
// QDQ graph, against onnxruntime-node. Operands are int8 x int8, where onnxruntime's integer
// kernels are exact on every x86-64 host (its u8 x s8 kernel is the inexact one without VNNI;
// see test/oracle.ts), so agreement is judged bit for bit.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { encodeModel } from '../src/onnx/proto.js';
import { singleNodeModel } from './onnx/model.mjs';

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});

let seed = 3;
const next = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const i8 = (n: number): Int8Array => Int8Array.from({ length: n }, () => Math.floor(next() * 256) - 128);
const u8 = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
const f32 = (n: number, lo = -1, hi = 1): Float32Array =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);

type Typed = Int8Array | Uint8Array | Float32Array | Int32Array;
interface Spec {
  op: string;
  domain?: string;
  inputs: ({ name: string; type: string; dims: number[]; data?: Typed; feed?: Typed } | null)[];
  outputs: { name: string; type: string; dims: number[] }[];
  attributes?: Record<string, unknown>;
}

async function compare(s: Spec): Promise<void> {
  const bytes = singleNodeModel({
    opType: s.op,
    domain: s.domain,
    inputs: s.inputs.map((i) => (i === null ? null : { name: i.name, type: i.type, dims: i.dims, data: i.data })),
    outputs: s.outputs,
    attributes: s.attributes,
  } as never);
  const feeds: Record<string, { data: Typed; shape: number[] }> = {};
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const i of s.inputs) {
    if (i === null || i.data !== undefined) continue;
    feeds[i.name] = { data: i.feed!, shape: i.dims };
    ortFeeds[i.name] = new ort.Tensor(i.type as 'int8', i.feed!, i.dims);
  }
  const want = await (await ort.InferenceSession.create(bytes)).run(ortFeeds);
  const model = OnnxModel.load(qw, bytes);
  const got = model.run(feeds);
  for (const o of s.outputs) {
    expect(got[o.name]!.shape).toEqual(want[o.name]!.dims);
    expect(Array.from(got[o.name]!.data)).toEqual(Array.from(want[o.name]!.data as ArrayLike<number>));
  }
  model.dispose();
}

const scalar = (
  name: string,
  type: string,
  v: number,
): { name: string; type: string; dims: number[]; data: Typed } => ({
  name,
  type,
  dims: [],
  data:
    type === 'float32'
      ? Float32Array.of(v)
      : type === 'int8'
        ? Int8Array.of(v)
        : type === 'int32'
          ? Int32Array.of(v)
          : Uint8Array.of(v),
});
const act = (name: string, type: 'int8' | 'uint8' | 'float32', dims: number[]) => ({
  name,
  type,
  dims,
  feed: type === 'int8' ? i8(numel(dims)) : type === 'uint8' ? u8(numel(dims)) : f32(numel(dims), -3, 3),
});

describe('QOperator nodes run their quantized arithmetic exactly', () => {
  it('QLinearConv (int8, per-channel weights, bias, pads, groups)', async () => {
    await compare({
      op: 'QLinearConv',
      inputs: [
        act('x', 'int8', [1, 4, 7, 6]),
        scalar('xs', 'float32', 0.05),
        scalar('xz', 'int8', 3),
        { name: 'w', type: 'int8', dims: [6, 2, 3, 3], data: i8(6 * 2 * 9) },
        { name: 'ws', type: 'float32', dims: [6], data: f32(6, 0.001, 0.01) },
        { name: 'wz', type: 'int8', dims: [6], data: new Int8Array(6) },
        scalar('ys', 'float32', 0.07),
        scalar('yz', 'int8', -5),
        {
          name: 'b',
          type: 'int32',
          dims: [6],
          data: Int32Array.from({ length: 6 }, () => Math.floor(next() * 2000) - 1000),
        },
      ],
      outputs: [{ name: 'y', type: 'int8', dims: [1, 6, 4, 3] }],
      attributes: { pads: [1, 1, 1, 1], strides: [2, 2], group: 2 },
    });
  });

  it('QLinearMatMul (int8)', async () => {
    await compare({
      op: 'QLinearMatMul',
      inputs: [
        act('a', 'int8', [5, 19]),
        scalar('as', 'float32', 0.02),
        scalar('az', 'int8', -7),
        { name: 'b', type: 'int8', dims: [19, 9], data: i8(19 * 9) },
        scalar('bs', 'float32', 0.01),
        scalar('bz', 'int8', 0),
        scalar('ys', 'float32', 0.05),
        scalar('yz', 'int8', 4),
      ],
      outputs: [{ name: 'y', type: 'int8', dims: [5, 9] }],
    });
  });

  it('MatMulInteger and ConvInteger (int8)', async () => {
    await compare({
      op: 'MatMulInteger',
      inputs: [act('a', 'int8', [4, 17]), act('b', 'int8', [17, 6]), scalar('az', 'int8', 5), scalar('bz', 'int8', -2)],
      outputs: [{ name: 'y', type: 'int32', dims: [4, 6] }],
    });
    await compare({
      op: 'ConvInteger',
      inputs: [
        act('x', 'int8', [1, 3, 6, 6]),
        { name: 'w', type: 'int8', dims: [4, 3, 3, 3], data: i8(4 * 27) },
        scalar('xz', 'int8', 1),
      ],
      outputs: [{ name: 'y', type: 'int32', dims: [1, 4, 4, 4] }],
    });
  });

  it('QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear', async () => {
    await compare({
      op: 'QuantizeLinear',
      inputs: [act('x', 'float32', [3, 8]), scalar('s', 'float32', 0.02), scalar('z', 'int8', -3)],
      outputs: [{ name: 'y', type: 'int8', dims: [3, 8] }],
    });
    await compare({
      op: 'DequantizeLinear',
      inputs: [act('x', 'uint8', [3, 8]), scalar('s', 'float32', 0.02), scalar('z', 'uint8', 128)],
      outputs: [{ name: 'y', type: 'float32', dims: [3, 8] }],
    });
    await compare({
      op: 'DynamicQuantizeLinear',
      inputs: [act('x', 'float32', [4, 5])],
      outputs: [
        { name: 'y', type: 'uint8', dims: [4, 5] },
        { name: 's', type: 'float32', dims: [] },
        { name: 'z', type: 'uint8', dims: [] },
      ],
    });
  });

  it('com.microsoft QLinearAdd, QLinearSigmoid and QLinearGlobalAveragePool (int8)', async () => {
    await compare({
      op: 'QLinearAdd',
      domain: 'com.microsoft',
      inputs: [
        act('a', 'int8', [1, 4, 5, 5]),
        scalar('as', 'float32', 0.03),
        scalar('az', 'int8', 2),
        act('b', 'int8', [1, 4, 1, 1]),
        scalar('bs', 'float32', 0.05),
        scalar('bz', 'int8', -1),
        scalar('ys', 'float32', 0.06),
        scalar('yz', 'int8', 0),
      ],
      outputs: [{ name: 'y', type: 'int8', dims: [1, 4, 5, 5] }],
    });
    await compare({
      op: 'QLinearSigmoid',
      domain: 'com.microsoft',
      inputs: [
        act('x', 'int8', [2, 30]),
        scalar('xs', 'float32', 0.05),
        scalar('xz', 'int8', 0),
        scalar('ys', 'float32', 1 / 256),
        scalar('yz', 'int8', -128),
      ],
      outputs: [{ name: 'y', type: 'int8', dims: [2, 30] }],
    });
    await compare({
      op: 'QLinearGlobalAveragePool',
      domain: 'com.microsoft',
      inputs: [
        act('x', 'int8', [1, 6, 5, 4]),
        scalar('xs', 'float32', 0.05),
        scalar('xz', 'int8', 3),
        scalar('ys', 'float32', 0.02),
        scalar('yz', 'int8', -4),
      ],
      outputs: [{ name: 'y', type: 'int8', dims: [1, 6, 1, 1] }],
    });
  });
});

describe('QDQ graphs', () => {
  it('DequantizeLinear -> Conv -> Relu -> QuantizeLinear runs as one exact int8 conv', async () => {
    const w = i8(8 * 4 * 9);
    const ws = f32(8, 0.002, 0.02);
    const t = (name: string, dims: number[], dataType: number, data: Typed): object => ({
      name,
      dims,
      dataType,
      rawData: new Uint8Array(data.buffer.slice(0)),
    });
    const f = (name: string, dims: number[]): object => ({
      name,
      type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
    });
    const bytes = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'qdq',
        node: [
          { name: 'qx', opType: 'QuantizeLinear', input: ['x', 'xs', 'xz'], output: ['xq'] },
          { name: 'dqx', opType: 'DequantizeLinear', input: ['xq', 'xs', 'xz'], output: ['xd'] },
          {
            name: 'dqw',
            opType: 'DequantizeLinear',
            input: ['w', 'ws', 'wz'],
            output: ['wd'],
            attribute: [{ name: 'axis', type: 2, i: 0 }],
          },
          {
            name: 'conv',
            opType: 'Conv',
            input: ['xd', 'wd'],
            output: ['c'],
            attribute: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }],
          },
          { name: 'relu', opType: 'Relu', input: ['c'], output: ['r'] },
          { name: 'qy', opType: 'QuantizeLinear', input: ['r', 'ys', 'yz'], output: ['yq'] },
          { name: 'dqy', opType: 'DequantizeLinear', input: ['yq', 'ys', 'yz'], output: ['y'] },
        ],
        initializer: [
          t('xs', [], 1, Float32Array.of(0.03)),
          t('xz', [], 3, Int8Array.of(-2)),
          t('w', [8, 4, 3, 3], 3, w),
          t('ws', [8], 1, ws),
          t('wz', [8], 3, new Int8Array(8)),
          t('ys', [], 1, Float32Array.of(0.05)),
          t('yz', [], 3, Int8Array.of(-128)),
        ],
        input: [f('x', [1, 4, 6, 6])],
        output: [f('y', [1, 8, 6, 6])],
      },
    });
    const x = f32(4 * 36, -3, 3);
    const want = (
      await (await ort.InferenceSession.create(bytes)).run({ x: new ort.Tensor('float32', x, [1, 4, 6, 6]) })
    ).y!;
    const model = OnnxModel.load(qw, bytes);
    expect(model.quantized).toBe(true);
    expect(model.steps.map((s) => s.op).join(' ')).toMatch(/conv2d int8/);
    const got = model.run({ x: { data: x, shape: [1, 4, 6, 6] } }).y!;
    // exact: ONNX QLinearConv of the quantized input, clamped at the output's code for 0
    const xq = qw.quantizeLinear({ data: x, shape: [1, 4, 6, 6] }, 0.03, Int8Array.of(-2));
    const yq = qw.qlinearConv(xq, 0.03, -2, { data: w, shape: [8, 4, 3, 3] }, ws, 0, 0.05, -128, undefined, {
      pads: [1, 1, 1, 1],
    });
    const exact = Array.from(yq.data, (q) => (q + 128) * Math.fround(0.05));
    expect(Array.from(got.data)).toEqual(exact.map((v) => Math.fround(v)));
    // onnxruntime runs this graph as DequantizeLinear -> float Conv -> QuantizeLinear: within one code
    const o = want.data as Float32Array;
    for (let i = 0; i < o.length; i++) expect(Math.abs(o[i]! - got.data[i]!)).toBeLessThanOrEqual(0.05 * 1.001);
  });
});

describe('dynamic quantization', () => {
  it('MatMul and Gemm with constant weights run on dynamicLinear and track float32', async () => {
    for (const op of ['MatMul', 'Gemm']) {
      const bytes = singleNodeModel({
        opType: op,
        inputs: [
          { name: 'a', type: 'float32', dims: [6, 40] },
          { name: 'b', type: 'float32', dims: [40, 24], data: f32(40 * 24) },
          ...(op === 'Gemm' ? [{ name: 'c', type: 'float32', dims: [24], data: f32(24) }] : []),
        ],
        outputs: [{ name: 'y', type: 'float32', dims: [6, 24] }],
      } as never);
      const model = OnnxModel.load(qw, bytes);
      const q = await model.quantize({ mode: 'dynamic' });
      expect(q.steps.map((s) => s.op).join(' ')).toMatch(/dynamicLinear/);
      const a = f32(6 * 40);
      const yf = model.run({ a: { data: a, shape: [6, 40] } }).y!.data;
      const yq = q.run({ a: { data: a, shape: [6, 40] } }).y!.data;
      let s = 0;
      let e = 0;
      for (let i = 0; i < yf.length; i++) {
        s += yf[i]! ** 2;
        e += (yf[i]! - yq[i]!) ** 2;
      }
      expect(10 * Math.log10(s / e)).toBeGreaterThan(30);
    }
  });
});
