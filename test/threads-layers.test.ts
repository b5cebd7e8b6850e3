// The int4, residual and binary GEMMs on the worker pool: every layer bit-identical on 1,
// 2 and 3 threads, on shapes around the row blocks (1 row, tile +- 1, primes), with the
// split forced down to single row blocks computed by the workers alone, and at the
// default thresholds on shapes big enough to split.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Qwasm, residualQuantize, type Backend } from '../src/index.js';
import { minOpsPerPart } from '../src/threads/partition.js';
import { backends, firstDiff, randInt, randomFloat32, randomInt8, rng } from './helpers.js';
import { leaveChunksToWorkers, wakeUps, workerChunks } from './threads-probe.js';

const THREADS = [2, 3];

const byBackend = new Map<Backend, { one: Qwasm; many: Qwasm[] }>();
for (const backend of backends) {
  const many: Qwasm[] = [];
  for (const t of THREADS) many.push(await Qwasm.create({ backend, threads: t }));
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

/** Forced: every call split as far as it goes, every chunk left to the workers. */
function prepare(mode: Mode, many: Qwasm[]): number[][] {
  if (mode === 'forced') {
    minOpsPerPart.s16 = 0;
    minOpsPerPart.binary = 0;
    many.forEach((qw) => leaveChunksToWorkers(qw, true));
  }
  return many.map((qw) => [wakeUps(qw), workerChunks(qw)]);
}

/** The calls ran on the workers: jobs were handed out, and (forced) workers ran chunks. */
function expectSplit(mode: Mode, many: Qwasm[], before: number[][]): void {
  many.forEach((qw, i) => {
    expect(wakeUps(qw), `jobs on ${qw.threads} threads`).toBeGreaterThan(before[i]![0]!);
    if (mode === 'forced')
      expect(workerChunks(qw), `worker chunks on ${qw.threads} threads`).toBeGreaterThan(before[i]![1]!);
  });
}

function expectSame(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  const i = firstDiff(a, b);
  expect(i, `${what}: first difference at ${i}`).toBe(-1);
}

/** Small shapes around the row blocks (5 int4 rows, 4 or 5 GEMM rows, 4 binary rows). */
const SMALL: Array<[number, number, number]> = [
  [1, 8, 3],
  [2, 24, 9],
  [4, 40, 8],
  [5, 64, 17],
  [6, 36, 1],
  [11, 100, 16],
  [13, 72, 33],
];
/** Big enough to split at the default thresholds. */
const LARGE: Array<[number, number, number]> = [
  [64, 512, 128],
  [97, 256, 200],
];
const shapesOf = (mode: Mode) => (mode === 'forced' ? SMALL : LARGE);

describe.each(backends)('int4, residual and binary GEMMs on threads (%s)', (backend) => {
  const { one, many } = byBackend.get(backend)!;

  for (const mode of ['forced', 'default'] as const) {
    it(`int4 linear, per channel and grouped, is bit-identical (${mode} split)`, () => {
      const r = rng(41);
      const before = prepare(mode, many);
      for (const [M, K, N] of shapesOf(mode)) {
        for (const grouped of [false, true]) {
          const w = randomInt8(r, N * K, -8, 7);
          const groups = Math.ceil(K / 8);
          const cfg = {
            weightBits: 4 as const,
            weights: { data: w, shape: [N, K] },
            weightScale: randomFloat32(r, grouped ? N * groups : N, 0.001, 0.02),
            groupSize: grouped ? 8 : undefined,
            bias: grouped ? randomFloat32(r, N, -1, 1) : Int32Array.from({ length: N }, () => randInt(r, -500, 500)),
            input: { scale: 0.05, zeroPoint: randInt(r, -5, 5) },
            output: { scale: 0.08, zeroPoint: randInt(r, -5, 5) },
            activation: (['none', 'relu'] as const)[randInt(r, 0, 1)]!,
          };
          const x = randomInt8(r, M * K);
          const layer1 = one.linear(cfg);
          const want = layer1.run(x);
          layer1.dispose();
          for (const qw of many) {
            const layer = qw.linear(cfg);
            expectSame(layer.run(x), want, `${M}x${K}x${N} grouped=${grouped} on ${qw.threads} threads`);
            layer.dispose();
          }
        }
      }
      expectSplit(mode, many, before);
    });

    it(`residual linear is bit-identical (${mode} split)`, () => {
      const r = rng(43);
      const before = prepare(mode, many);
      for (const [M, K, N] of shapesOf(mode)) {
        const rq = residualQuantize({ data: randomFloat32(r, N * K, -1, 1), shape: [N, K] }, 2, { axis: 0 });
        const cfg = { weights: rq, bias: randomFloat32(r, N, -0.5, 0.5), activation: 'relu6' as const };
        const x = randomFloat32(r, M * K, -2, 2);
        if (M > 2) x.fill(0, K, 2 * K);
        const layer1 = one.linearResidual(cfg);
        const want = layer1.run(x);
        layer1.dispose();
        for (const qw of many) {
          const layer = qw.linearResidual(cfg);
          expectSame(layer.run(x), want, `${M}x${K}x${N} on ${qw.threads} threads`);
          layer.dispose();
        }
      }
      expectSplit(mode, many, before);
    });

    it(`binary linear and conv layers, every output, are bit-identical (${mode} split)`, () => {
      const r = rng(47);
      const before = prepare(mode, many);
      const outputs = ['float32', 'bits', { dtype: 'int8' as const, scale: 0.5, zeroPoint: 3 }] as const;
      for (const [M, K, N] of shapesOf(mode)) {
        const weights = { data: randomFloat32(r, N * K), shape: [N, K] };
        const x = one.bitpack({ data: randomFloat32(r, M * K), shape: [M, K] });
        for (const output of outputs) {
          const cfg = { weights, scale: 'xnor' as const, bias: randomFloat32(r, N), output };
          const want = one.binaryLinear(cfg).run(x);
          for (const qw of many) {
            const got = qw.binaryLinear(cfg).run(x);
            const data = (t: object) =>
              ('bits' in t ? t.bits : (t as { data: ArrayLike<number> }).data) as ArrayLike<number>;
            expectSame(data(got), data(want), `${M}x${K}x${N} ${JSON.stringify(output)} on ${qw.threads} threads`);
          }
        }
      }
      // a conv whose output pixels are the rows: odd map, zero and one padding
      const [H, W, C, O] = mode === 'forced' ? [7, 5, 37, 9] : [30, 30, 64, 64];
      for (const padValue of [0, 1] as const) {
        const weights = { data: randomFloat32(r, O * 3 * 3 * C), shape: [O, 3, 3, C] };
        const x = one.bitpack({ data: randomFloat32(r, 2 * H * W * C), shape: [2, H, W, C] });
        const cfg = { weights, pads: [1, 1, 1, 1], padValue };
        const want = one.binaryConv2dLayer(cfg).run(x).data;
        for (const qw of many) {
          expectSame(qw.binaryConv2dLayer(cfg).run(x).data, want, `conv pad ${padValue} on ${qw.threads} threads`);
        }
      }
      expectSplit(mode, many, before);
    });
  }

  it("runAsync gives run's result on every one of these layers, one call after another", async () => {
    const r = rng(53);
    const [M, K, N] = [37, 96, 40];
    const int4 = {
      weightBits: 4 as const,
      weights: { data: randomInt8(r, N * K, -8, 7), shape: [N, K] },
      weightScale: 0.01,
      input: { scale: 0.05, zeroPoint: 0 },
      output: { scale: 0.1, zeroPoint: 0 },
    };
    const residual = { weights: residualQuantize({ data: randomFloat32(r, N * K), shape: [N, K] }, 2, { axis: 0 }) };
    const binary = { weights: { data: randomFloat32(r, N * K), shape: [N, K] }, output: 'bits' as const };
    const conv = { weights: { data: randomFloat32(r, 8 * 3 * 3 * 33), shape: [8, 3, 3, 33] }, pads: [1, 1, 1, 1] };
    const x8 = randomInt8(r, M * K);
    const xf = randomFloat32(r, M * K);
    const xb = one.bitpack({ data: xf, shape: [M, K] });
    const xc = one.bitpack({ data: randomFloat32(r, 2 * 5 * 6 * 33), shape: [2, 5, 6, 33] });
    for (const qw of [one, ...many]) {
      const a = qw.linear(int4);
      const b = qw.linearResidual(residual);
      const c = qw.binaryLinear(binary);
      const d = qw.binaryConv2dLayer(conv);
      expectSame(await a.runAsync(x8), a.run(x8), `int4 on ${qw.threads} threads`);
      expectSame(await b.runAsync(xf), b.run(xf), `residual on ${qw.threads} threads`);
      expectSame((await c.runAsync(xb)).bits, c.run(xb).bits, `binary linear on ${qw.threads} threads`);
      expectSame((await d.runAsync(xc)).data, d.run(xc).data, `binary conv on ${qw.threads} threads`);
      [a, b, c, d].forEach((l) => l.dispose());
    }
  });
});
