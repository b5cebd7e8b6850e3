// Bias correction (quantize's biasCorrection): the mean error a convolution's rounded weights
// add per output channel is measured on the calibration records and taken out of the bias,
// which the int8 plan and the QDQ export quantize to the same int32 codes.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { encodeModel } from '../src/onnx/proto.js';
import { f32, init, node, seededFloats, sqnr } from './onnx/graph.js';

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});

const SIZE = 10;
const M = 6;
const rand = seededFloats(41);

// x (in [0, 1)) -> conv (3x3, 4 -> 6) -> y. In each output channel one weight of 1 sets the
// int8 scale (1 / 127) and the other 35 lie between 0.3 and 0.45 of a step: all round to 0,
// so int8 loses about 35 * 0.4 / 127 * mean(x) on every output of the channel
function model(): Uint8Array {
  const w = rand(M * 4 * 9, 0.3 / 127, 0.45 / 127);
  for (let o = 0; o < M; o++) w[o * 36] = 1;
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'bias-correction',
      node: [node('Conv', ['x', 'w', 'b'], ['y'], [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }])],
      initializer: [init('w', [M, 4, 3, 3], w), init('b', [M], rand(M, -0.1, 0.1))],
      input: [f32('x', [1, 4, SIZE, SIZE])],
      output: [f32('y', [1, M, SIZE, SIZE])],
    },
  });
}

const feeds = (n: number) =>
  Array.from({ length: n }, () => ({ x: { data: rand(4 * SIZE * SIZE, 0, 1), shape: [1, 4, SIZE, SIZE] } }));

/** Mean over positions of (got - want) per channel of NCHW [1, C, H, W] outputs. */
function channelMeans(want: ArrayLike<number>, got: ArrayLike<number>, C: number): number[] {
  const per = want.length / C;
  return Array.from({ length: C }, (_, c) => {
    let s = 0;
    for (let i = c * per; i < (c + 1) * per; i++) s += got[i]! - want[i]!;
    return s / per;
  });
}

describe('bias correction', () => {
  it('takes the mean error of rounded weights out of the bias: per-channel mean error near 0, SQNR up', async () => {
    const m = OnnxModel.load(qw, model());
    const calib = feeds(4);
    const test = feeds(3);
    const result: Record<string, { sqnr: number; mean: number }> = {};
    for (const biasCorrection of [false, true]) {
      const q = await m.quantize({ calibration: calib, biasCorrection });
      let worst = Infinity;
      let mean = 0;
      for (const f of test) {
        const want = m.run(f).y!.data;
        const got = q.run(f).y!.data;
        worst = Math.min(worst, sqnr(want, got));
        for (const e of channelMeans(want, got, M)) mean = Math.max(mean, Math.abs(e));
      }
      result[String(biasCorrection)] = { sqnr: worst, mean };
      q.dispose();
    }
    // about -0.06 per channel without it (35 weights rounded down by ~0.4 step, x's mean 0.5)
    expect(result.false!.mean).toBeGreaterThan(0.03);
    expect(result.true!.mean).toBeLessThan(0.005);
    expect(result.true!.sqnr).toBeGreaterThan(result.false!.sqnr + 10);
    m.dispose();
  });

  it('the corrected bias is the exported one: onnxruntime-node on the QDQ file gives qwasm int8 output', async () => {
    const m = OnnxModel.load(qw, model());
    const q = await m.quantize({ calibration: feeds(4), biasCorrection: true });
    const session = await ort.InferenceSession.create(q.toOnnx());
    for (const f of feeds(3)) {
      const got = q.run(f).y!.data;
      const o = (await session.run({ x: new ort.Tensor('float32', f.x.data, f.x.shape) })).y!.data as Float32Array;
      // bit-identical where onnxruntime's u8 x s8 kernels are exact (VNNI); room for their
      // saturating int16 pair sums on x86 without it
      expect(sqnr(o, got)).toBeGreaterThan(35);
    }
    q.dispose();
    m.dispose();
  });

  it('leaves the float model and the uncorrected quantization as they were', async () => {
    const m = OnnxModel.load(qw, model());
    const f = feeds(1)[0]!;
    const before = Float32Array.from(m.run(f).y!.data);
    const plain = await m.quantize({ calibration: feeds(2) });
    const corrected = await m.quantize({ calibration: feeds(2), biasCorrection: true });
    expect(Array.from(m.run(f).y!.data)).toEqual(Array.from(before));
    expect(plain.planGraph.initializers.get('b')).toBe(m.planGraph.initializers.get('b'));
    expect(corrected.planGraph.initializers.get('b')).not.toBe(m.planGraph.initializers.get('b'));
    plain.dispose();
    corrected.dispose();
    m.dispose();
  });
});
