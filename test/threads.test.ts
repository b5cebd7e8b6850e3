// Threaded engines against single-threaded ones: every GEMM op bit-identical on random
// shapes, split over N and over M, with parts forced down to single tiles and shapes
// smaller than the thread count.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Qwasm, QwasmError, type Backend } from '../src/index.js';
import { minOpsPerPart } from '../src/threads/partition.js';
import { leaveChunksToWorkers, wakeUps, workerChunks } from './threads-probe.js';
import { backends, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';

const THREADS = [2, 3];

interface Engines {
  one: Qwasm;
  many: Map<number, Qwasm>;
}

const byBackend = new Map<Backend, Engines>();
for (const backend of backends) {
  const many = new Map<number, Qwasm>();
  for (const t of THREADS) many.set(t, await Qwasm.create({ backend, threads: t }));
  byBackend.set(backend, { one: await Qwasm.create({ backend }), many });
}
afterAll(() => {
  for (const e of byBackend.values()) {
    e.one.dispose();
    e.many.forEach((q) => q.dispose());
  }
});

const defaults = { ...minOpsPerPart };
let callerWorks = true;
afterEach(() => {
  Object.assign(minOpsPerPart, defaults);
  callerWorks = true;
  for (const e of byBackend.values()) e.many.forEach((qw) => leaveChunksToWorkers(qw, false));
});

/**
 * Splits every problem, however small, as far as it goes, and leaves every chunk to the
 * workers, so that each threaded result below was computed by worker threads.
 */
function splitEverything(): void {
  minOpsPerPart.s16 = 0;
  minOpsPerPart.f32 = 0;
  minOpsPerPart.binary = 0;
  callerWorks = false;
  for (const e of byBackend.values()) e.many.forEach((qw) => leaveChunksToWorkers(qw, true));
}

type Shape = [number, number, number];

/** Shapes around the 4x8 tile and the thread counts, plus a few that split at the default thresholds. */
function randomShapes(seed: number, count: number): Shape[] {
  const r = rng(seed);
  const dims = [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 24, 31, 33, 64];
  const out: Shape[] = [
    [1, 1, 1],
    [1, 5, 3],
    [2, 16, 7],
    [3, 9, 8],
    [4, 33, 9],
    [5, 17, 16],
    [9, 8, 17],
  ];
  for (let i = 0; i < count; i++) {
    out.push([
      dims[randInt(r, 0, dims.length - 1)]!,
      [1, 2, 15, 16, 17, 63, 100, 257][randInt(r, 0, 7)]!,
      dims[randInt(r, 0, dims.length - 1)]!,
    ]);
  }
  return out;
}

/** Big enough to split at the default thresholds: over N (wide) and over M (narrow). */
const LARGE: Shape[] = [
  [64, 256, 200],
  [130, 96, 8],
  [257, 64, 13],
  [33, 300, 129],
];

/**
 * Jobs each threaded engine launched and chunks its workers ran: after a test, the first
 * must have grown (the calls were split), and with the caller not working the second too.
 */
function counts(many: Map<number, Qwasm>): Array<[number, number]> {
  return [...many.values()].map((qw) => [wakeUps(qw), workerChunks(qw)]);
}
function expectSplit(many: Map<number, Qwasm>, before: Array<[number, number]>): void {
  [...many.values()].forEach((qw, i) => {
    expect(wakeUps(qw), `jobs on ${qw.threads} threads`).toBeGreaterThan(before[i]![0]);
    if (!callerWorks) expect(workerChunks(qw), `worker chunks on ${qw.threads} threads`).toBeGreaterThan(before[i]![1]);
  });
}

function expectSame(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  const i = firstDiff(a, b);
  expect(i, `${what}: first difference at ${i}`).toBe(-1);
}

describe.each(backends)('threads on %s', (backend) => {
  const { one, many } = byBackend.get(backend)!;

  it('reports its thread count', () => {
    expect(one.threads).toBe(1);
    for (const [t, qw] of many) {
      expect(qw.threads).toBe(t);
      expect(qw.backend).toBe(one.backend);
    }
  });

  for (const mode of ['forced', 'default'] as const) {
    const shapes = (seed: number) => (mode === 'forced' ? randomShapes(seed, 14) : LARGE);

    it(`linear is bit-identical (${mode} split)`, () => {
      if (mode === 'forced') splitEverything();
      const before = counts(many);
      const r = rng(1);
      for (const [M, K, N] of shapes(11)) {
        const dtype = r() < 0.5 ? 'int8' : 'uint8';
        const cfg = {
          weights: { data: randomInt8(r, N * K), shape: [N, K] },
          weightScale: r() < 0.5 ? 0.01 : randomFloat32(r, N, 0.001, 0.02),
          bias: r() < 0.5 ? Int32Array.from({ length: N }, () => randInt(r, -5000, 5000)) : undefined,
          input: { scale: 0.02, zeroPoint: dtype === 'int8' ? randInt(r, -10, 10) : randInt(r, 100, 150), dtype },
          output: { scale: 0.3, zeroPoint: dtype === 'int8' ? 3 : 128 },
          activation: (['none', 'relu', 'relu6'] as const)[randInt(r, 0, 2)],
          requant: r() < 0.5 ? 'fp32' : 'fixedpoint',
        } as const;
        const x = dtype === 'int8' ? randomInt8(r, M * K) : randomUint8(r, M * K);
        const ref = one.linear(cfg);
        const want = ref.run(x);
        ref.dispose();
        for (const [t, qw] of many) {
          const layer = qw.linear(cfg);
          expectSame(layer.run(x), want, `linear ${M}x${K}x${N} ${dtype} on ${t} threads`);
          layer.dispose();
        }
      }
      expectSplit(many, before);
    });

    it(`linearF32 is bit-identical (${mode} split)`, () => {
      if (mode === 'forced') splitEverything();
      const before = counts(many);
      const r = rng(2);
      for (const [M, K, N] of shapes(12)) {
        const cfg = {
          weights: { data: randomFloat32(r, N * K), shape: [N, K] },
          bias: r() < 0.5 ? randomFloat32(r, N) : undefined,
          activation: (['none', 'relu', 'relu6'] as const)[randInt(r, 0, 2)],
        };
        const x = randomFloat32(r, M * K, -3, 3);
        const ref = one.linearF32(cfg);
        const want = ref.run(x);
        ref.dispose();
        for (const [t, qw] of many) {
          const layer = qw.linearF32(cfg);
          expectSame(layer.run(x), want, `linearF32 ${M}x${K}x${N} on ${t} threads`);
          layer.dispose();
        }
      }
      expectSplit(many, before);
    });

    it(`dynamicLinear is bit-identical (${mode} split)`, () => {
      if (mode === 'forced') splitEverything();
      const before = counts(many);
      const r = rng(3);
      for (const [M, K, N] of shapes(13)) {
        const cfg = {
          weights: { data: randomFloat32(r, N * K), shape: [N, K] },
          bias: r() < 0.5 ? randomFloat32(r, N) : undefined,
        };
        const x = randomFloat32(r, M * K, -2, 2);
        const ref = one.dynamicLinear(cfg);
        const want = ref.run(x);
        ref.dispose();
        for (const [t, qw] of many) {
          const layer = qw.dynamicLinear(cfg);
          expectSame(layer.run(x), want, `dynamicLinear ${M}x${K}x${N} on ${t} threads`);
          layer.dispose();
        }
      }
      expectSplit(many, before);
    });

    it(`matMulInteger is bit-identical, batched and broadcast too (${mode} split)`, () => {
      if (mode === 'forced') splitEverything();
      const before = counts(many);
      const r = rng(4);
      for (const [M, K, N] of shapes(14)) {
        const batched = r() < 0.4;
        const aShape = batched ? [3, M, K] : [M, K];
        const bShape = batched && r() < 0.5 ? [3, K, N] : [K, N];
        const a = {
          data: randomUint8(
            r,
            aShape.reduce((p, d) => p * d, 1),
          ),
          shape: aShape,
        };
        const b = {
          data: randomInt8(
            r,
            bShape.reduce((p, d) => p * d, 1),
          ),
          shape: bShape,
        };
        const za = randInt(r, 0, 255);
        const zb = r() < 0.5 ? randInt(r, -128, 127) : Int8Array.from({ length: N }, () => randInt(r, -128, 127));
        const want = one.matMulInteger(a, b, za, zb);
        for (const [t, qw] of many) {
          const got = qw.matMulInteger(a, b, za, zb);
          expect(got.shape).toEqual(want.shape);
          expectSame(got.data, want.data, `matMulInteger ${aShape} x ${bShape} on ${t} threads`);
        }
      }
      expectSplit(many, before);
    });

    it(`qlinearMatMul is bit-identical, fp32 and fixed point (${mode} split)`, () => {
      if (mode === 'forced') splitEverything();
      const before = counts(many);
      const r = rng(5);
      for (const [M, K, N] of shapes(15)) {
        const a = { data: randomInt8(r, M * K), shape: [M, K] };
        const b = { data: randomInt8(r, K * N), shape: [K, N] };
        const bScale = r() < 0.5 ? 0.01 : randomFloat32(r, N, 0.002, 0.02);
        const requant = r() < 0.5 ? 'fp32' : 'fixedpoint';
        const za = randInt(r, -5, 5);
        const want = one.qlinearMatMul(a, 0.05, za, b, bScale, 0, 0.4, 2, { requant });
        for (const [t, qw] of many) {
          const got = qw.qlinearMatMul(a, 0.05, za, b, bScale, 0, 0.4, 2, { requant });
          expectSame(got.data, want.data, `qlinearMatMul ${M}x${K}x${N} ${requant} on ${t} threads`);
        }
      }
      expectSplit(many, before);
    });
  }

  /** One conv per kernel path, batches and strides included; the default mode needs the big ones. */
  const CONVS: Array<{
    name: string;
    N: number;
    H: number;
    W: number;
    C: number;
    M: number;
    k: number;
    s?: number;
    pad?: number;
    group?: number;
    dil?: number;
  }> = [
    { name: '1x1', N: 2, H: 6, W: 7, C: 24, M: 19, k: 1 },
    { name: 'grouped 1x1', N: 1, H: 5, W: 5, C: 16, M: 12, k: 1, group: 4 },
    { name: '3x3 pad 1', N: 1, H: 11, W: 9, C: 32, M: 40, k: 3, pad: 1 },
    { name: '3x3 stride 2, 3 channels', N: 2, H: 13, W: 12, C: 3, M: 8, k: 3, s: 2, pad: 1 },
    { name: 'grouped 3x3 dilated', N: 1, H: 10, W: 10, C: 12, M: 18, k: 3, pad: 2, dil: 2, group: 3 },
    { name: 'depthwise 3x3, 2 images', N: 2, H: 9, W: 9, C: 24, M: 24, k: 3, pad: 1, group: 24 },
    { name: 'depthwise 3x3 stride 2', N: 1, H: 12, W: 10, C: 11, M: 11, k: 3, s: 2, group: 11 },
    { name: 'depthwise 5x5, multiplier 2', N: 1, H: 9, W: 8, C: 5, M: 10, k: 5, pad: 2, group: 5 },
    { name: 'big 3x3', N: 1, H: 28, W: 28, C: 32, M: 32, k: 3, pad: 1 },
    { name: 'big 1x1, 2 images', N: 2, H: 14, W: 14, C: 64, M: 48, k: 1 },
    { name: 'big depthwise', N: 1, H: 56, W: 56, C: 64, M: 64, k: 3, pad: 1, group: 64 },
  ];

  for (const mode of ['forced', 'default'] as const) {
    it(`conv2d, conv2dF32, convInteger and qlinearConv are bit-identical on every path (${mode} split)`, () => {
      if (mode === 'forced') splitEverything();
      const before = counts(many);
      const r = rng(8);
      for (const c of CONVS) {
        const group = c.group ?? 1;
        const Cg = c.C / group;
        const pad = c.pad ?? 0;
        const attrs = {
          strides: [c.s ?? 1, c.s ?? 1],
          pads: [pad, pad, pad, pad],
          dilations: [c.dil ?? 1, c.dil ?? 1],
          group,
        };
        const w = randomInt8(r, c.M * c.k * c.k * Cg);
        const xs = randomInt8(r, c.N * c.H * c.W * c.C);
        const xu = randomUint8(r, c.N * c.H * c.W * c.C);
        const bias = Int32Array.from({ length: c.M }, () => randInt(r, -3000, 3000));
        const common = {
          weights: { data: w, shape: [c.M, c.k, c.k, Cg] },
          weightScale: randomFloat32(r, c.M, 0.002, 0.01),
          bias,
          output: { scale: 0.2, zeroPoint: 3 },
          activation: 'relu' as const,
          ...attrs,
        };
        const s8 = { ...common, input: { scale: 0.02, zeroPoint: -3 } };
        const u8 = {
          ...common,
          input: { scale: 0.02, zeroPoint: 120, dtype: 'uint8' as const },
          output: { scale: 0.2, zeroPoint: 130 },
          requant: 'fixedpoint' as const,
        };
        const fcfg = {
          weights: { data: Float32Array.from(w, (v) => v / 100), shape: [c.M, c.k, c.k, Cg] },
          bias: randomFloat32(r, c.M),
          activation: 'relu6' as const,
          ...attrs,
        };
        const x8 = { data: xs, shape: [c.N, c.H, c.W, c.C] };
        const xu8 = { data: xu, shape: [c.N, c.H, c.W, c.C] };
        const xf = { data: Float32Array.from(xs, (v) => v / 64), shape: [c.N, c.H, c.W, c.C] };
        const wOnnx = { data: w, shape: [c.M, c.k, c.k, Cg] };
        const onnx = { ...attrs, layout: 'NHWC' as const };
        const run = (qw: Qwasm) => {
          const a = qw.conv2d(s8);
          const b = qw.conv2d(u8);
          const f = qw.conv2dF32(fcfg);
          const out = [
            a.run(x8).data,
            b.run(xu8).data,
            f.run(xf).data,
            qw.convInteger(xu8, wOnnx, 128, 0, onnx).data,
            qw.qlinearConv(x8, 0.02, 1, wOnnx, 0.005, 0, 0.3, -2, bias, onnx).data,
          ];
          a.dispose();
          b.dispose();
          f.dispose();
          return out;
        };
        const want = run(one);
        for (const [t, qw] of many) {
          const got = run(qw);
          got.forEach((g, i) => expectSame(g, want[i]!, `${c.name} output ${i} on ${t} threads`));
        }
      }
      expectSplit(many, before);
    });
  }

  it('keeps working across many calls and after a bad one', () => {
    const qw = many.get(2)!;
    const r = rng(6);
    const [M, K, N] = [96, 256, 160];
    const cfg = {
      weights: { data: randomInt8(r, N * K), shape: [N, K] },
      weightScale: 0.01,
      input: { scale: 0.02, zeroPoint: 0 },
      output: { scale: 0.3, zeroPoint: 0 },
    };
    const ref = one.linear(cfg);
    const layer = qw.linear(cfg);
    const out = new Int8Array(M * N);
    for (let i = 0; i < 50; i++) {
      const x = randomInt8(r, M * K);
      layer.run(x, out);
      expectSame(out, ref.run(x), `call ${i}`);
      if (i === 25) expect(() => layer.run(new Int8Array(K + 1))).toThrow(QwasmError);
    }
    ref.dispose();
    layer.dispose();
  });
});
