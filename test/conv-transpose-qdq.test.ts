// Transposed convolution: the op (qlinearConvTranspose) and the prepacked layer
// (convTranspose2d, what qwasm/onnx's int8 lowering runs) given the same parameters give
// the same codes on every build and thread count, and a QDQ ConvTranspose with per-channel
// weight scales (ONNX puts them on axis 1 of [C, M/group, kH, kW]) runs as that exact
// int8 transposed convolution, within one code of onnxruntime's float ConvTranspose
// (scales on axis 0, the input channels, leave the node in float).
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { encodeModel } from '../src/onnx/proto.js';
import { engines, firstDiff, randInt, randomInt8, randomUint8, rng } from './helpers.js';

const qws = await engines();
const mt = await Qwasm.create({ threads: 2 });
afterAll(() => {
  qws.forEach((q) => q.dispose());
  mt.dispose();
});

describe('qlinearConvTranspose and convTranspose2d', () => {
  it('give identical codes (per-channel scales, zero points, groups, pads, both requantizations, int8 and uint8)', () => {
    const r = rng(1107);
    for (let t = 0; t < 24; t++) {
      const dtype = t % 2 === 0 ? 'int8' : 'uint8';
      const group = randInt(r, 1, 2);
      const [Cg, Mg, k, s] = [randInt(r, 1, 9), randInt(r, 1, 9), randInt(r, 1, 3), randInt(r, 1, 3)];
      const [C, M, H, W] = [Cg * group, Mg * group, randInt(r, 1, 7), randInt(r, 1, 7)];
      const p = randInt(r, 0, k - 1);
      const attrs = {
        strides: [s, s],
        pads: [p, 0, 0, p],
        outputPadding: [s - 1, 0],
        dilations: [1, randInt(r, 1, 2)],
        group,
        requant: t % 4 < 2 ? ('fp32' as const) : ('fixedpoint' as const),
      };
      const w = { data: randomInt8(r, C * k * k * Mg), shape: [C, k, k, Mg] };
      const ws = Float32Array.from({ length: M }, () => 0.002 + 0.02 * r());
      const bias = Int32Array.from({ length: M }, () => randInt(r, -3000, 3000));
      const [xs, ys] = [0.01 + 0.05 * r(), 0.05 + 0.2 * r()];
      const [xz, yz] = dtype === 'int8' ? [randInt(r, -20, 20), randInt(r, -20, 20)] : [randInt(r, 100, 150), 128];
      const x = {
        data: dtype === 'int8' ? randomInt8(r, 2 * H * W * C) : randomUint8(r, 2 * H * W * C),
        shape: [2, H, W, C],
      };
      const yzT = dtype === 'int8' ? Int8Array.of(yz) : Uint8Array.of(yz);
      const first = [...qws.values()][0]!;
      const want = first.qlinearConvTranspose(x, xs, xz, w, ws, 0, ys, yzT, bias, { ...attrs, layout: 'NHWC' });
      for (const [name, qw] of [...qws, ['threads 2', mt] as const]) {
        const op = qw.qlinearConvTranspose(x, xs, xz, w, ws, 0, ys, yzT, bias, { ...attrs, layout: 'NHWC' });
        const layer = qw.convTranspose2d({
          weights: w,
          weightScale: ws,
          bias,
          input: { scale: xs, zeroPoint: xz, dtype },
          output: { scale: ys, zeroPoint: yz },
          ...attrs,
        });
        const y = layer.run(x);
        layer.dispose();
        const label = `${name} case ${t} ${JSON.stringify(attrs)}`;
        expect(y.shape, label).toEqual(want.shape);
        expect(firstDiff(op.data, want.data), `op ${label}`).toBe(-1);
        expect(firstDiff(y.data, want.data), `layer ${label}`).toBe(-1);
      }
    }
  });
});

describe('QDQ ConvTranspose in qwasm/onnx', () => {
  const f = (name: string, dims: number[]): object => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const t = (name: string, dims: number[], dataType: number, data: Float32Array | Int8Array): object => ({
    name,
    dims,
    dataType,
    rawData: new Uint8Array(data.buffer.slice(0)),
  });

  for (const [group, axis] of [
    [1, 1],
    [2, 1],
    [1, 0],
  ] as const) {
    const what = axis === 1 ? 'run as the exact int8 transposed conv' : 'stay in float';
    it(`per-channel weights (axis ${axis}, group ${group}) ${what}`, async () => {
      const r = rng(1108 + group);
      const [C, Mg, k, H, W] = [4 * group, 5, 3, 5, 6];
      const M = Mg * group;
      const [OH, OW] = [(H - 1) * 2 + k - 2 + 1, (W - 1) * 2 + k - 2 + 1];
      const w = randomInt8(r, C * Mg * k * k);
      // scales a decade apart: one scale for all channels is visibly wrong
      const nS = axis === 1 ? Mg : C;
      const ws = Float32Array.from({ length: nS }, (_, i) => 0.001 * 2 ** i);
      const attrs = { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1], group };
      const bytes = encodeModel({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: {
          name: 'qdq-convt',
          node: [
            { name: 'qx', opType: 'QuantizeLinear', input: ['x', 'xs', 'xz'], output: ['xq'] },
            { name: 'dqx', opType: 'DequantizeLinear', input: ['xq', 'xs', 'xz'], output: ['xd'] },
            {
              name: 'dqw',
              opType: 'DequantizeLinear',
              input: ['w', 'ws', 'wz'],
              output: ['wd'],
              attribute: [{ name: 'axis', type: 2, i: axis }],
            },
            {
              name: 'convt',
              opType: 'ConvTranspose',
              input: ['xd', 'wd'],
              output: ['c'],
              attribute: [
                { name: 'strides', type: 7, ints: attrs.strides },
                { name: 'pads', type: 7, ints: attrs.pads },
                { name: 'output_padding', type: 7, ints: attrs.outputPadding },
                { name: 'group', type: 2, i: group },
              ],
            },
            { name: 'qy', opType: 'QuantizeLinear', input: ['c', 'ys', 'yz'], output: ['yq'] },
            { name: 'dqy', opType: 'DequantizeLinear', input: ['yq', 'ys', 'yz'], output: ['y'] },
          ],
          initializer: [
            t('xs', [], 1, Float32Array.of(0.02)),
            t('xz', [], 3, Int8Array.of(3)),
            t('w', [C, Mg, k, k], 3, w),
            t('ws', [nS], 1, ws),
            t('wz', [nS], 3, new Int8Array(nS)),
            t('ys', [], 1, Float32Array.of(0.03)),
            t('yz', [], 3, Int8Array.of(-4)),
          ],
          input: [f('x', [1, C, H, W])],
          output: [f('y', [1, M, OH, OW])],
        },
      });
      const x = Float32Array.from({ length: C * H * W }, () => -2.5 + 5 * r());
      const want = (
        await (await ort.InferenceSession.create(bytes)).run({ x: new ort.Tensor('float32', x, [1, C, H, W]) })
      ).y!.data as Float32Array;
      for (const [name, qw] of [...qws, ['threads 2', mt] as const]) {
        const model = OnnxModel.load(qw, bytes);
        const ops = model.steps.map((s) => s.op).join(' ');
        const got = model.run({ x: { data: x, shape: [1, C, H, W] } }).y!;
        model.dispose();
        expect(got.shape).toEqual([1, M, OH, OW]);
        for (let i = 0; i < want.length; i++)
          expect(Math.abs(want[i]! - got.data[i]!), `${name} ${i}`).toBeLessThanOrEqual(0.03 * 1.001);
        if (axis === 0) {
          expect(ops).not.toMatch(/convTranspose2d int8/);
          continue;
        }
        expect(ops).toMatch(/convTranspose2d int8/);
        const xq = qw.quantizeLinear({ data: x, shape: [1, C, H, W] }, 0.02, Int8Array.of(3));
        const wsM = Float32Array.from({ length: M }, (_, o) => ws[o % Mg]!);
        const yq = qw.qlinearConvTranspose(
          xq,
          0.02,
          3,
          { data: w, shape: [C, Mg, k, k] },
          wsM,
          0,
          0.03,
          -4,
          undefined,
          attrs,
        );
        const exact = Float32Array.from(yq.data, (q) => (q + 4) * Math.fround(0.03));
        expect(firstDiff(got.data, exact), name).toBe(-1);
      }
    });
  }
});
