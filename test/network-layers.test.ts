// The layer forms of pooling, resize and transposed convolution: bit-identical to the op
// forms (which test/pool, resize and conv-transpose prove against onnxruntime) on every
// build, and a steady run with `out` allocates no wasm memory.
import { afterAll, describe, expect, it } from 'vitest';
import { Qwasm, QwasmError } from '../src/index.js';
import { engines, firstDiff, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => firstDiff(Array.from(a), Array.from(b));

describe('network layers', () => {
  it('maxPool2d and resize2d equal the ops, int8 / uint8 / float32, across shapes', () => {
    const r = rng(801);
    for (const [backend, qw] of qws) {
      const pool = qw.maxPool2d({ kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: true });
      const up = qw.resize2d({ scales: [2, 1.5], mode: 'linear', coordinateTransformationMode: 'align_corners' });
      for (const [H, W, C] of [
        [9, 7, 17],
        [4, 4, 3],
        [9, 7, 17],
      ] as const) {
        for (const data of [randomInt8(r, H * W * C), randomUint8(r, H * W * C), randomFloat32(r, H * W * C)]) {
          const x = { data, shape: [1, H, W, C] };
          const attrs = {
            kernelShape: [3, 3],
            strides: [2, 2],
            pads: [1, 1, 1, 1],
            ceilMode: true,
            layout: 'NHWC' as const,
          };
          const want = data instanceof Float32Array ? qw.maxPoolF32(x, attrs) : qw.maxPool(x, attrs);
          const got = pool.run(x);
          expect(got.shape).toEqual(want.shape);
          expect(same(got.data, want.data), `${backend} maxPool2d`).toBe(-1);
          const rw = qw.resize(x, {
            scales: [2, 1.5],
            mode: 'linear',
            coordinateTransformationMode: 'align_corners',
            layout: 'NHWC',
          });
          const rg = up.run(x);
          expect(rg.shape).toEqual(rw.shape);
          expect(same(rg.data, rw.data), `${backend} resize2d`).toBe(-1);
        }
      }
      pool.dispose();
      up.dispose();
    }
  });

  it('averagePool2d (windows and global) equals qlinearAveragePool / qlinearGlobalAveragePool', () => {
    const r = rng(802);
    for (const [backend, qw] of qws) {
      const q = { input: { scale: 0.05, zeroPoint: 3 }, output: { scale: 0.03, zeroPoint: -7 } };
      const avg = qw.averagePool2d({
        ...q,
        kernelShape: [2, 3],
        strides: [2, 2],
        pads: [1, 0, 1, 2],
        countIncludePad: true,
      });
      const gap = qw.averagePool2d({ ...q, global: true });
      const x = { data: randomInt8(r, 2 * 7 * 9 * 21), shape: [2, 7, 9, 21] };
      const a = qw.qlinearAveragePool(x, 0.05, 3, 0.03, -7, {
        kernelShape: [2, 3],
        strides: [2, 2],
        pads: [1, 0, 1, 2],
        countIncludePad: true,
        layout: 'NHWC',
      });
      expect(same(avg.run(x).data, a.data), `${backend} averagePool2d`).toBe(-1);
      const g = qw.qlinearGlobalAveragePool(x, 0.05, 3, 0.03, -7, { layout: 'NHWC' });
      const gy = gap.run(x);
      expect(gy.shape).toEqual([2, 1, 1, 21]);
      expect(same(gy.data, g.data), `${backend} global`).toBe(-1);
      expect(() => gap.run({ data: new Uint8Array(21), shape: [1, 1, 1, 21] })).toThrow(QwasmError);
      avg.dispose();
      gap.dispose();
    }
  });

  it('convTranspose2d equals qlinearConvTranspose (direct and col2im paths); steady runs with out allocate nothing', () => {
    const r = rng(803);
    for (const [backend, qw] of qws) {
      for (const attrs of [{ strides: [2, 2] }, { strides: [2, 2], pads: [1, 1, 0, 0], outputPadding: [1, 1] }]) {
        const [C, M, k] = [12, 10, attrs.pads ? 3 : 2];
        const w = { data: randomInt8(r, C * k * k * M), shape: [C, k, k, M] };
        const bias = Int32Array.from({ length: M }, (_, i) => i * 37 - 150);
        const layer = qw.convTranspose2d({
          weights: w,
          weightScale: 0.01,
          bias,
          input: { scale: 0.04, zeroPoint: -5 },
          output: { scale: 0.2, zeroPoint: 4 },
          ...attrs,
        });
        const x = { data: randomInt8(r, 2 * 5 * 6 * C), shape: [2, 5, 6, C] };
        const want = qw.qlinearConvTranspose(x, 0.04, -5, w, 0.01, 0, 0.2, 4, bias, { ...attrs, layout: 'NHWC' });
        const y = layer.run(x);
        expect(y.shape).toEqual(want.shape);
        expect(same(y.data, want.data), `${backend} ${JSON.stringify(attrs)}`).toBe(-1);
        const before = qw.memoryBytes;
        for (let i = 0; i < 5; i++) layer.run(x, y);
        expect(qw.memoryBytes).toBe(before);
        expect(same(y.data, want.data)).toBe(-1);
        layer.dispose();
      }
    }
  });

  it('a threaded engine gives the same transposed conv (op, run and runAsync) as one thread', async () => {
    const r = rng(804);
    const one = [...qws.values()][0]!;
    const mt = await Qwasm.create({ threads: 2 });
    try {
      for (const attrs of [{ strides: [2, 2] }, { strides: [2, 2], pads: [1, 1, 1, 1] }]) {
        const [C, M, k] = [32, 32, attrs.pads ? 3 : 2];
        const w = { data: randomInt8(r, C * k * k * M), shape: [C, k, k, M] };
        const x = { data: randomInt8(r, 1 * 40 * 40 * C), shape: [1, 40, 40, C] };
        const nhwcAttrs = { ...attrs, layout: 'NHWC' as const };
        const want = one.qlinearConvTranspose(x, 0.04, 1, w, 0.01, 0, 0.3, -2, undefined, nhwcAttrs);
        const got = mt.qlinearConvTranspose(x, 0.04, 1, w, 0.01, 0, 0.3, -2, undefined, nhwcAttrs);
        expect(same(got.data, want.data), `op ${JSON.stringify(attrs)}`).toBe(-1);
        const layer = mt.convTranspose2d({
          weights: w,
          weightScale: 0.01,
          input: { scale: 0.04, zeroPoint: 1 },
          output: { scale: 0.3, zeroPoint: -2 },
          ...attrs,
        });
        expect(same(layer.run(x).data, want.data), `run ${JSON.stringify(attrs)}`).toBe(-1);
        expect(same((await layer.runAsync(x)).data, want.data), `runAsync ${JSON.stringify(attrs)}`).toBe(-1);
        layer.dispose();
      }
    } finally {
      mt.dispose();
    }
  });
});
