// qwasm/onnx int8: a conv whose only reader is a table op (hard-swish, sigmoid, a fused
// pointwise chain) applies the table in its own call (conv2d's `lookup`): the same codes as
// the conv and a lookup step apart, one step fewer.
import { beforeAll, describe, expect, it } from 'vitest';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { f32, init, node, scalar, seededFloats } from './onnx/graph.js';

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});

const rand = seededFloats(17);

const C = 6;
const M = 13;
const X = [1, C, 7, 9];
const Y = [1, M, 7, 9];
const numelX = X.reduce((a, b) => a * b, 1);

/** x -> Conv 3x3 pad 1 -> t -> `tail` -> y. */
function model(tail: object[]): Uint8Array {
  rand.reset();
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'g',
      node: [node('Conv', ['x', 'w', 'b'], ['t'], [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }]), ...tail],
      input: [f32('x', X)],
      output: [f32('y', Y)],
      initializer: [
        init('w', [M, C, 3, 3], rand(M * C * 9, -0.5, 0.5)),
        init('b', [M], rand(M, -1, 1)),
        scalar('three', 3),
        scalar('zero', 0),
        scalar('six', 6),
      ],
    },
  });
}

/** name, the nodes after the conv, the table op, the value the conv writes. */
const TAILS: Array<[string, object[], string, string]> = [
  ['HardSwish', [node('HardSwish', ['t'], ['y'])], 'HardSwish', 't'],
  ['Sigmoid', [node('Sigmoid', ['t'], ['y'])], 'Sigmoid', 't'],
  [
    'x * clip(x + 3, 0, 6) / 6',
    [
      node('Add', ['t', 'three'], ['a']),
      node('Clip', ['a', 'zero', 'six'], ['cl']),
      node('Mul', ['t', 'cl'], ['m']),
      node('Div', ['m', 'six'], ['y']),
    ],
    'Pointwise',
    't',
  ],
  // Relu in the conv's epilogue, then the table
  ['Relu -> Tanh', [node('Relu', ['t'], ['r']), node('Tanh', ['r'], ['y'])], 'Tanh', 'r'],
];

describe('conv + table in int8', () => {
  it.each(TAILS)('Conv -> %s: one step, the codes of conv and table apart', async (_name, tail, op, written) => {
    const calibration = [0, 1, 2].map(() => ({ x: { data: rand(numelX, -2, 2), shape: X } }));
    const feeds = { x: { data: rand(numelX, -2, 2), shape: X } };
    const float = OnnxModel.load(qw, model(tail));
    const fused = await float.quantize({ calibration });
    // the same quantized model with the conv's codes a graph output too (its dequantized copy,
    // through the export's Q / DQ pair): two readers, so the table runs as a step of its own
    const file = fused.toOnnx();
    const m = decodeModel(file);
    const dq = m.graph!.node!.find((n) => n.opType === 'DequantizeLinear' && n.input![0]!.startsWith(written))!;
    m.graph!.output!.push(f32(dq.output![0]!, Y) as never);
    const apart = OnnxModel.load(qw, encodeModel(m));
    const ops = fused.profile(feeds).map((s) => s.op);
    expect(ops.some((o) => o.startsWith('Conv (conv2d int8') && o.endsWith(`+ ${op} table)`))).toBe(true);
    expect(ops.some((o) => o.includes('(lookup table)'))).toBe(false);
    const apartOps = apart.profile(feeds).map((s) => s.op);
    expect(apartOps.some((o) => o.includes('(lookup table)'))).toBe(true);
    const a = fused.run(feeds).y!.data;
    const b = apart.run(feeds).y!.data;
    expect(Array.from(a)).toEqual(Array.from(b));
    // and the QDQ export loads back to the same codes
    const back = OnnxModel.load(qw, file);
    expect(Array.from(back.run(feeds).y!.data)).toEqual(Array.from(a));
    for (const x of [back, fused, apart, float]) x.dispose();
  });
});
