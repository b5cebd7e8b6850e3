// qwasm/onnx: layer normalization written op by op (ReduceMean, Sub, Pow 2, ReduceMean, Add
// eps, Sqrt, Div, Mul gamma, Add beta over the last axis, as PaddleOCR's exporter writes it)
// runs as one LayerNormalization step; float32 agrees with onnxruntime-node, int8 tracks float
// and its QDQ export, and variants that are not layer normalization stay op by op.
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

const rand = seededFloats(3);
const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });

const X = [1, 6, 16];
const D = 16;
const numelX = X.reduce((a, b) => a * b, 1);

/** x -> MatMul -> h -> layer norm (as `ln` writes it) -> MatMul -> y. */
function model(ln: (h: string) => object[]): Uint8Array {
  return encodeModel({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [node('MatMul', ['x', 'w1'], ['h']), ...ln('h'), node('MatMul', ['n', 'w2'], ['y'])],
      input: [f32('x', X)],
      output: [f32('y', X)],
      initializer: [
        init('w1', [D, D], rand(D * D, -0.7, 0.7)),
        init('w2', [D, D], rand(D * D, -0.7, 0.7)),
        init('two', [], Float32Array.of(2)),
        init('eps', [], Float32Array.of(1e-5)),
        init('gamma', [D], rand(D, 0.5, 1.5)),
        init('beta', [D], rand(D, -0.5, 0.5)),
      ],
    },
  });
}

/**
 * The decomposed layer norm from `h` to `n`, the variance over the squares of `sq` (`d`, the
 * deviations; `h` makes it a mean square) and the means over `axes`.
 */
function decomposed(withBeta: boolean, sq = 'd', axes = [-1]) {
  return (h: string): object[] => [
    node('ReduceMean', [h], ['m'], [ints('axes', axes)]),
    node('Sub', [h, 'm'], ['d']),
    node('Pow', [sq === 'd' ? 'd' : h, 'two'], ['p']),
    node('ReduceMean', ['p'], ['v'], [ints('axes', axes)]),
    node('Add', ['v', 'eps'], ['ve']),
    node('Sqrt', ['ve'], ['s']),
    node('Div', ['d', 's'], ['q']),
    node('Mul', ['q', 'gamma'], withBeta ? ['g'] : ['n']),
    ...(withBeta ? [node('Add', ['g', 'beta'], ['n'])] : []),
  ];
}

const CASES = [
  { name: 'with gamma and beta', ln: decomposed(true), fused: true },
  { name: 'with gamma only', ln: decomposed(false), fused: true },
  // a mean square, not a variance: stays op by op
  { name: 'mean square of x', ln: decomposed(true, 'h'), fused: false },
  // over the middle axis: stays op by op
  { name: 'over axis 1', ln: decomposed(true, 'd', [1]), fused: false },
];

describe('layer normalization written op by op', () => {
  it.each(CASES)('$name: float32 agrees with onnxruntime-node', async ({ ln, fused }) => {
    rand.reset();
    const bytes = model(ln);
    const x = rand(numelX, -2, 2);
    const sess = await ort.InferenceSession.create(bytes);
    const want = (await sess.run({ x: new ort.Tensor('float32', x, X) })).y!.data as Float32Array;
    const m = OnnxModel.load(qw, bytes);
    const feeds = { x: { data: x, shape: X } };
    const got = m.run(feeds).y!.data;
    let range = 0;
    for (const v of want) range = Math.max(range, Math.abs(v));
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThanOrEqual(1e-5 * range);
    const ops = m.profile(feeds).map((s) => s.op);
    expect(ops.includes('LayerNormalization')).toBe(fused);
    expect(ops.some((o) => o.startsWith('ReduceMean'))).toBe(!fused);
    m.dispose();
  });

  it.each(CASES.slice(0, 2))('$name: int8 tracks float32 and its QDQ export', async ({ ln }) => {
    rand.reset();
    const bytes = model(ln);
    const m = OnnxModel.load(qw, bytes);
    const q = await m.quantize({
      calibration: [0, 1, 2, 3].map(() => ({ x: { data: rand(numelX, -2, 2), shape: X } })),
    });
    const feeds = { x: { data: rand(numelX, -2, 2), shape: X } };
    const yq = q.run(feeds).y!;
    const ops = q.profile(feeds).map((s) => s.op);
    expect(ops.includes('LayerNormalization')).toBe(true);
    expect(ops.filter((o) => o.startsWith('MatMul (linear int8'))).toHaveLength(2);
    expect(sqnrDb(m.run(feeds).y!.data, yq.data)).toBeGreaterThan(25);
    const sess = await ort.InferenceSession.create(q.toOnnx());
    const yo = (await sess.run({ x: new ort.Tensor('float32', feeds.x.data, X) })).y!;
    expect(sqnrDb(yo.data as Float32Array, yq.data)).toBeGreaterThan(30);
    q.dispose();
    m.dispose();
  });
});
