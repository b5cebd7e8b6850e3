// Pooling, resize and transposed conv's col2im on the worker pool: every op bit-identical
// on 1, 2 and 3 threads, on
// batches whose output rows split across images, odd channels and 1-row maps, with the
// split forced down to single rows computed by the workers alone, and at the default
// thresholds on the maps of real networks.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Qwasm, type Backend, type Tensor } from '../src/index.js';
import { minOpsPerPart } from '../src/threads/partition.js';
import { backends, firstDiff, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { leaveChunksToWorkers, wakeUps, workerChunks } from './threads-probe.js';

const byBackend = new Map<Backend, { one: Qwasm; many: Qwasm[] }>();
for (const backend of backends) {
  const many = [await Qwasm.create({ backend, threads: 2 }), await Qwasm.create({ backend, threads: 3 })];
  byBackend.set(backend, { one: await Qwasm.create({ backend }), many });
}
afterAll(() => {
  for (const e of byBackend.values()) [e.one, ...e.many].forEach((q) => q.dispose());
});

const defaults = { ...minOpsPerPart };
afterEach(() => {
  Object.assign(minOpsPerPart, defaults);
  for (const e of byBackend.values()) e.many.forEach((qw) => leaveChunksToWorkers(qw, false));
});

type Mode = 'forced' | 'default';
/** NHWC maps: [N, H, W, C]. Forced: awkward; default: MobileNet / FPN sizes that split. */
const MAPS: Record<Mode, Array<[number, number, number, number]>> = {
  forced: [
    [1, 3, 5, 3],
    [2, 7, 5, 17],
    [3, 9, 11, 33],
    [1, 6, 2, 16],
  ],
  default: [
    [1, 112, 112, 64],
    [2, 40, 40, 96],
  ],
};

/** Every op this file covers, run on one engine (all NHWC). */
function runAll(
  qw: Qwasm,
  x8: Tensor<Int8Array>,
  xu: Tensor<Uint8Array>,
  xf: Tensor<Float32Array>,
): ArrayLike<number>[] {
  const layout = 'NHWC' as const;
  const pool = { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], layout };
  const big = { kernelShape: [2, 3], strides: [1, 2], pads: [0, 1, 1, 0], ceilMode: true, layout };
  const resize = (mode: 'nearest' | 'linear') => ({ scales: [1, 2, 2, 1], mode, layout });
  return [
    qw.maxPool(x8, pool).data,
    qw.maxPool(xu, { ...big, dilations: [2, 1] }).data,
    qw.maxPoolF32(xf, pool).data,
    qw.qlinearAveragePool(x8, 0.05, 3, 0.04, -2, pool).data,
    qw.qlinearAveragePool(xu, 0.05, 130, 0.03, 120, { ...big, countIncludePad: true }).data,
    qw.averagePoolF32(xf, big).data,
    qw.resize(x8, resize('nearest')).data,
    qw.resize(xu, { ...resize('linear'), coordinateTransformationMode: 'align_corners' }).data,
    qw.resize(xf, resize('linear')).data,
    qw.resize(xf, { sizes: [xf.shape[0]!, 3, 5, xf.shape[3]!], mode: 'nearest', layout }).data,
  ];
}

describe.each(backends)('pooling, resize and transposed conv on threads (%s)', (backend) => {
  const { one, many } = byBackend.get(backend)!;

  for (const mode of ['forced', 'default'] as const) {
    it(`max / average pools and nearest / linear resize are bit-identical (${mode} split)`, () => {
      if (mode === 'forced') {
        minOpsPerPart.map = 0;
        many.forEach((qw) => leaveChunksToWorkers(qw, true));
      }
      const before = many.map((qw) => [wakeUps(qw), workerChunks(qw)] as const);
      const r = rng(61);
      for (const shape of MAPS[mode]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x8 = { data: randomInt8(r, n), shape };
        const xu = { data: randomUint8(r, n), shape };
        const xf = { data: randomFloat32(r, n, -3, 3), shape };
        const want = runAll(one, x8, xu, xf);
        for (const qw of many) {
          runAll(qw, x8, xu, xf).forEach((got, i) => {
            const d = firstDiff(got, want[i]!);
            expect(d, `op ${i} on [${shape.join(', ')}], ${qw.threads} threads: first difference at ${d}`).toBe(-1);
          });
        }
      }
      many.forEach((qw, i) => {
        expect(wakeUps(qw), `jobs on ${qw.threads} threads`).toBeGreaterThan(before[i]![0]);
        if (mode === 'forced')
          expect(workerChunks(qw), `worker chunks on ${qw.threads} threads`).toBeGreaterThan(before[i]![1]);
      });
    });
  }

  /** Transposed convs (NHWC, weights [C, kH, kW, M/group]) whose taps overlap or not. */
  const CONVT = [
    { k: 3, s: 2, p: 1, d: 1, g: 1 },
    { k: 4, s: 2, p: 1, d: 1, g: 2 },
    { k: 2, s: 2, p: 1, d: 1, g: 1 },
    { k: 2, s: 1, p: 0, d: 2, g: 1 },
    { k: 3, s: 3, p: 1, d: 1, g: 3 },
  ];

  for (const mode of ['forced', 'default'] as const) {
    it(`transposed conv (int8 and float32, col2im) is bit-identical (${mode} split)`, () => {
      if (mode === 'forced') {
        minOpsPerPart.map = 0;
        minOpsPerPart.s16 = 0;
        minOpsPerPart.f32 = 0;
        many.forEach((qw) => leaveChunksToWorkers(qw, true));
      }
      const before = many.map((qw) => [wakeUps(qw), workerChunks(qw)] as const);
      const r = rng(67);
      const [N, H, W, C] = mode === 'forced' ? [2, 9, 7, 6] : [1, 48, 48, 48];
      for (const c of CONVT) {
        const Mg = mode === 'forced' ? 5 : 16;
        const shape = [N, H, W, C];
        const x8 = { data: randomInt8(r, N * H * W * C), shape };
        const xf = { data: randomFloat32(r, N * H * W * C), shape };
        const w8 = { data: randomInt8(r, C * c.k * c.k * Mg), shape: [C, c.k, c.k, Mg] };
        const wf = { data: randomFloat32(r, C * c.k * c.k * Mg), shape: [C, c.k, c.k, Mg] };
        const attrs = {
          strides: [c.s, c.s],
          pads: [c.p, c.p, c.p, c.p],
          dilations: [c.d, c.d],
          group: c.g,
          layout: 'NHWC' as const,
        };
        const run = (qw: Qwasm) => [
          qw.qlinearConvTranspose(x8, 0.05, 2, w8, 0.01, 0, 0.2, -3, undefined, attrs).data,
          qw.convTransposeF32(xf, wf, randomFloat32(rng(5), Mg * c.g), attrs).data,
        ];
        const want = run(one);
        for (const qw of many) {
          run(qw).forEach((got, i) => {
            const d = firstDiff(got, want[i]!);
            expect(
              d,
              `${JSON.stringify(c)} ${i ? 'float32' : 'int8'}, ${qw.threads} threads: first difference at ${d}`,
            ).toBe(-1);
          });
        }
      }
      many.forEach((qw, i) => {
        expect(wakeUps(qw), `jobs on ${qw.threads} threads`).toBeGreaterThan(before[i]![0]);
        if (mode === 'forced')
          expect(workerChunks(qw), `worker chunks on ${qw.threads} threads`).toBeGreaterThan(before[i]![1]);
      });
    });
  }
});
