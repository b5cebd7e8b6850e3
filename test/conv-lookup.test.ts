// conv2d with a fused lookup activation: the same codes as the conv layer followed by a
// lookupLayer (and so as the scalar table reference), on every build, every conv path, int8
// and uint8, on one and two threads, run and runAsync; no wasm memory growth over a steady
// run; bad lookup config refused by name.
import { afterAll, describe, expect, it } from 'vitest';
import { Qwasm, QwasmError, type Conv2dConfig, type Tensor } from '../src/index.js';
import { engines, firstDiff, randInt, randomInt8, randomUint8, rng } from './helpers.js';

const qws = await engines();
const threaded = await Qwasm.create({ threads: 2 });
afterAll(() => {
  qws.forEach((q) => q.dispose());
  threaded.dispose();
});

const hardSwish = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * [N, H, W, C], O, kernel, stride, group: 1x1 GEMMs (one over two row blocks, one grouped),
 * im2col, implicit GEMMs (over three 64-pixel blocks with a tail, and grouped), a depthwise
 * conv. The drivers apply the table per block of output rows, after every group's columns.
 */
const SHAPES: Array<{ x: number[]; O: number; k: number; s: number; group: number }> = [
  { x: [1, 9, 7, 5], O: 13, k: 1, s: 1, group: 1 },
  { x: [1, 30, 30, 64], O: 9, k: 1, s: 1, group: 1 },
  { x: [1, 5, 5, 6], O: 4, k: 1, s: 1, group: 2 },
  { x: [2, 11, 10, 3], O: 16, k: 3, s: 2, group: 1 },
  { x: [1, 13, 11, 8], O: 20, k: 3, s: 1, group: 1 },
  { x: [1, 6, 7, 8], O: 12, k: 3, s: 1, group: 2 },
  { x: [1, 8, 9, 12], O: 12, k: 3, s: 1, group: 12 },
  { x: [1, 1, 1, 1], O: 1, k: 1, s: 1, group: 1 },
];

function setup(r: () => number, dtype: 'int8' | 'uint8', sh: (typeof SHAPES)[number]) {
  const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
  const C = sh.x[3]!;
  const n = sh.x.reduce((a, b) => a * b, 1);
  const pad = (sh.k - 1) >> 1;
  const cfg: Conv2dConfig = {
    weights: {
      data: randomInt8(r, sh.O * sh.k * sh.k * (C / sh.group), -40, 40),
      shape: [sh.O, sh.k, sh.k, C / sh.group],
    },
    weightScale: 0.01 + r() * 0.02,
    input: { scale: 0.05, zeroPoint: randInt(r, lo, hi), dtype },
    output: { scale: 0.02 + r() * 0.1, zeroPoint: randInt(r, lo, hi) },
    strides: [sh.s, sh.s],
    pads: [pad, pad, pad, pad],
    group: sh.group,
  };
  const x = { data: dtype === 'int8' ? randomInt8(r, n) : randomUint8(r, n), shape: sh.x };
  const lookupOut = { scale: 0.03 + r() * 0.05, zeroPoint: randInt(r, lo, hi) };
  return { cfg, x, lookupOut };
}

describe('conv2d with a fused lookup', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: equals conv2d then lookupLayer on every build and conv path, into a reused out`, () => {
      const r = rng(1500);
      const paths = new Set<string>();
      for (const sh of SHAPES) {
        for (const fn of [hardSwish, sigmoid]) {
          const { cfg, x, lookupOut } = setup(r, dtype, sh);
          for (const [backend, qw] of qws) {
            const plain = qw.conv2d(cfg);
            const act = qw.lookupLayer({ fn, input: { ...cfg.output, dtype }, output: lookupOut });
            const fused = qw.conv2d({ ...cfg, lookup: { fn, output: lookupOut } });
            const want = act.run(plain.run(x));
            const out = { data: want.data.slice().fill(0), shape: want.shape } as Tensor<Int8Array | Uint8Array>;
            for (let rep = 0; rep < 2; rep++) {
              expect(fused.run(x, out)).toBe(out);
              expect(firstDiff(out.data, want.data), `${backend} ${fused.path} ${fn.name}`).toBe(-1);
            }
            // a table that is not the identity: the fused layer does apply it
            expect(firstDiff(plain.run(x).data, want.data)).not.toBe(-1);
            paths.add(fused.path);
            plain.dispose();
            act.dispose();
            fused.dispose();
          }
        }
      }
      expect([...paths].sort()).toEqual(['depthwise', 'gemm1x1', 'igemm', 'im2col']);
    });
  }

  it('gives the same codes on two threads, with run and runAsync, and allocates nothing in steady state', async () => {
    const r = rng(1501);
    const base = [...qws.values()][0]!;
    // an implicit GEMM, a 1x1 GEMM and a depthwise conv, each split over the threads
    for (const [O, k, group] of [
      [32, 3, 1],
      [24, 1, 1],
      [16, 3, 16],
    ] as const) {
      const { cfg, lookupOut } = setup(r, 'int8', { x: [1, 40, 40, 16], O, k, s: 1, group });
      const x = { data: randomInt8(r, 40 * 40 * 16), shape: [1, 40, 40, 16] };
      const plain = base.conv2d(cfg);
      const act = base.lookupLayer({ fn: hardSwish, input: { ...cfg.output, dtype: 'int8' }, output: lookupOut });
      const want = act.run(plain.run(x));
      const mt = threaded.conv2d({ ...cfg, lookup: { fn: hardSwish, output: lookupOut } });
      expect(firstDiff(mt.run(x).data, want.data), mt.path).toBe(-1);
      expect(firstDiff((await mt.runAsync(x)).data, want.data), mt.path).toBe(-1);
      const out = { data: new Int8Array(want.data.length), shape: want.shape };
      mt.run(x, out);
      const before = threaded.memoryBytes;
      for (let i = 0; i < 20; i++) mt.run(x, out);
      expect(threaded.memoryBytes).toBe(before);
      expect(firstDiff(out.data, want.data), mt.path).toBe(-1);
      mt.dispose();
      plain.dispose();
      act.dispose();
    }
  });

  it('takes a ready table, and names a bad lookup', () => {
    const r = rng(1502);
    const qw = [...qws.values()][0]!;
    const { cfg, x } = setup(r, 'int8', SHAPES[0]!);
    const negate = Int8Array.from({ length: 256 }, (_, i) => Math.max(-127, -((i << 24) >> 24)));
    const y = qw.conv2d({ ...cfg, lookup: { fn: negate, output: { scale: 1, zeroPoint: 0 } } }).run(x);
    const plain = qw.conv2d(cfg).run(x);
    expect(
      firstDiff(
        y.data,
        plain.data.map((v) => Math.max(-127, -v)),
      ),
    ).toBe(-1);
    const expectError = (lookup: unknown, argument: string) => {
      try {
        qw.conv2d({ ...cfg, lookup: lookup as never });
      } catch (e) {
        expect(e).toBeInstanceOf(QwasmError);
        expect((e as QwasmError).argument).toBe(argument);
        return;
      }
      throw new Error(`expected a QwasmError naming ${argument}`);
    };
    expectError(5, 'lookup');
    expectError({ fn: hardSwish }, 'lookup.output');
    expectError({ fn: hardSwish, output: { scale: -1 } }, 'lookup.output.scale');
    expectError({ fn: hardSwish, output: { scale: 0.1, zeroPoint: 128 } }, 'lookup.output.zeroPoint');
    expectError({ fn: new Uint8Array(10), output: { scale: 0.1 } }, 'lookup.fn');
    expectError({ fn: 'relu', output: { scale: 0.1 } }, 'lookup.fn');
  });
});
