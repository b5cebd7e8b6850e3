// conv2d and linear with a fused residual add: the same codes as the layer followed by
// qlinearAdd (addLayer) and as the scalar QLinearAdd reference on its output, on every build,
// every conv path (1x1 GEMM, implicit GEMM, grouped, depthwise), both requantizations, int8
// and uint8, either operand order, with the conv's clamp before the add and a lookup after
// it; bit-identical on 1, 2 and 3 threads; no memory growth; bad config and input refused by name.
import { afterAll, describe, expect, it } from 'vitest';
import { Qwasm, QwasmError, type Conv2dConfig, type LinearConfig, type ResidualConfig } from '../src/index.js';
import { engines, firstDiff, randInt, randomInt8, randomUint8, rng } from './helpers.js';
import { refQAdd } from './reference/elementwise.js';

const qws = await engines();
const pools = [await Qwasm.create({ threads: 2 }), await Qwasm.create({ threads: 3 })];
afterAll(() => {
  qws.forEach((q) => q.dispose());
  pools.forEach((q) => q.dispose());
});

type Dtype = 'int8' | 'uint8';
const codes = (r: () => number, dtype: Dtype, n: number) => (dtype === 'int8' ? randomInt8(r, n) : randomUint8(r, n));

/** [N, H, W, C], O, kernel, stride, group: 1x1 GEMM, implicit GEMM, grouped, depthwise, 1x1 map, odd sizes. */
const SHAPES: Array<{ x: number[]; O: number; k: number; s: number; group: number }> = [
  { x: [1, 9, 7, 5], O: 13, k: 1, s: 1, group: 1 },
  { x: [2, 11, 10, 3], O: 16, k: 3, s: 2, group: 1 },
  { x: [1, 7, 6, 6], O: 10, k: 3, s: 1, group: 2 },
  { x: [1, 8, 9, 12], O: 12, k: 3, s: 1, group: 12 },
  { x: [1, 1, 1, 1], O: 1, k: 1, s: 1, group: 1 },
  { x: [1, 5, 3, 17], O: 24, k: 1, s: 1, group: 1 },
];

function quant(r: () => number, dtype: Dtype) {
  const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
  // scales over a wide range: sums that saturate and sums that use a few codes
  return { scale: 0.005 + r() * 0.2, zeroPoint: randInt(r, lo, hi) };
}

function residualConfig(r: () => number, dtype: Dtype, i: number): ResidualConfig {
  return {
    ...quant(r, dtype),
    output: quant(r, dtype),
    activation: i % 3 === 2 ? 'relu' : 'none',
    operand: i % 2 === 0 ? 'second' : 'first',
  };
}

function convSetup(r: () => number, dtype: Dtype, sh: (typeof SHAPES)[number], i: number) {
  const C = sh.x[3]!;
  const pad = (sh.k - 1) >> 1;
  const cfg: Conv2dConfig = {
    weights: {
      data: randomInt8(r, sh.O * sh.k * sh.k * (C / sh.group), -40, 40),
      shape: [sh.O, sh.k, sh.k, C / sh.group],
    },
    weightScale: 0.01 + r() * 0.02,
    input: { ...quant(r, dtype), dtype },
    output: quant(r, dtype),
    strides: [sh.s, sh.s],
    pads: [pad, pad, pad, pad],
    group: sh.group,
    activation: (['none', 'relu6', 'relu'] as const)[i % 3],
    requant: i % 4 === 3 ? 'fixedpoint' : 'fp32',
  };
  const x = {
    data: codes(
      r,
      dtype,
      sh.x.reduce((a, b) => a * b, 1),
    ),
    shape: sh.x,
  };
  return { cfg, x, residual: residualConfig(r, dtype, i) };
}

/** QLinearAdd of a layer output y and a residual in the config's order, by the scalar reference. */
function refAdd(
  y: ArrayLike<number>,
  res: ArrayLike<number>,
  shape: readonly number[],
  out: { scale: number; zeroPoint: number },
  rc: ResidualConfig,
  dtype: Dtype,
) {
  const q = { sy: rc.output.scale, zy: rc.output.zeroPoint ?? 0, dtype, relu: rc.activation === 'relu' };
  const first = rc.operand === 'first';
  const [a, b] = first ? [res, y] : [y, res];
  const [sa, za, sb, zb] = first
    ? [rc.scale, rc.zeroPoint ?? 0, out.scale, out.zeroPoint]
    : [out.scale, out.zeroPoint, rc.scale, rc.zeroPoint ?? 0];
  return refQAdd(a, shape, b, shape, { ...q, sa, za, sb, zb }).data;
}

/** The layer-by-layer path the fused layer replaces: an addLayer in the config's order. */
function addLayerFor(qw: Qwasm, out: { scale: number; zeroPoint: number }, rc: ResidualConfig, dtype: Dtype) {
  const yq = { ...out, dtype };
  const rq = { scale: rc.scale, zeroPoint: rc.zeroPoint, dtype };
  const first = rc.operand === 'first';
  return qw.addLayer({
    a: first ? rq : yq,
    b: first ? yq : rq,
    output: { ...rc.output, dtype },
    activation: rc.activation,
  });
}

describe('conv2d with a fused residual add', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: equals conv2d then addLayer and the scalar QLinearAdd on every build, path and requant`, () => {
      const r = rng(1600);
      let i = 0;
      for (const sh of SHAPES) {
        for (let rep = 0; rep < 4; rep++, i++) {
          const { cfg, x, residual } = convSetup(r, dtype, sh, i);
          const plain0 = [...qws.values()][0]!.conv2d(cfg);
          const y0 = plain0.run(x);
          plain0.dispose();
          const res = { data: codes(r, dtype, y0.data.length), shape: y0.shape };
          const out = cfg.output as { scale: number; zeroPoint: number };
          const want = refAdd(y0.data, res.data, y0.shape, out, residual, dtype);
          for (const [backend, qw] of qws) {
            const plain = qw.conv2d(cfg);
            const add = addLayerFor(qw, out, residual, dtype);
            const fused = qw.conv2d({ ...cfg, residual });
            const y = plain.run(x);
            const first = residual.operand === 'first';
            const layered = add.run(first ? [res, y] : [y, res]);
            const what = `${backend} ${fused.path} ${cfg.requant} ${cfg.activation} ${residual.operand} ${residual.activation}`;
            expect(firstDiff(layered.data, want), `addLayer ${what}`).toBe(-1);
            const got = fused.run([x, res]);
            expect(got.shape).toEqual(y.shape);
            expect(firstDiff(got.data, want), what).toBe(-1);
            // a reused out, twice (the residual offset is written per call)
            const o = { data: got.data.slice().fill(0), shape: got.shape };
            fused.run([x, res], o);
            expect(firstDiff(fused.run([x, res], o).data, want), `out ${what}`).toBe(-1);
            plain.dispose();
            add.dispose();
            fused.dispose();
          }
        }
      }
    });
  }

  it('applies a fused lookup to the sum (conv -> activation -> add -> lookup)', () => {
    const r = rng(1601);
    const hardSwish = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
    const lookupOut = { scale: 0.04, zeroPoint: -7 };
    for (const sh of SHAPES.slice(0, 4)) {
      const { cfg, x, residual } = convSetup(r, 'int8', sh, 1);
      for (const [backend, qw] of qws) {
        const fused = qw.conv2d({ ...cfg, residual });
        const shape = qw.conv2d(cfg).run(x).shape;
        const res = {
          data: randomInt8(
            rng(7),
            shape.reduce((a, b) => a * b, 1),
          ),
          shape,
        };
        const act = qw.lookupLayer({ fn: hardSwish, input: { ...residual.output, dtype: 'int8' }, output: lookupOut });
        const both = qw.conv2d({ ...cfg, residual, lookup: { fn: hardSwish, output: lookupOut } });
        const want = act.run(fused.run([x, res]));
        expect(firstDiff(both.run([x, res]).data, want.data), `${backend} ${both.path}`).toBe(-1);
        fused.dispose();
        act.dispose();
        both.dispose();
      }
    }
  });

  it('gives the same codes on 1, 2 and 3 threads, with run and runAsync, and allocates nothing in steady state', async () => {
    const r = rng(1602);
    const base = qws.get('simd') ?? [...qws.values()][0]!;
    for (const sh of [
      // each large enough to split (src/threads/kernels.ts planConv: >= 2 x 2 M ops)
      { x: [1, 56, 56, 48], O: 64, k: 1, s: 1, group: 1 },
      { x: [1, 30, 30, 16], O: 24, k: 3, s: 1, group: 1 },
      { x: [1, 96, 95, 64], O: 64, k: 3, s: 2, group: 64 },
    ]) {
      const { cfg, x, residual } = convSetup(r, 'int8', sh, 0);
      const single = base.conv2d({ ...cfg, residual });
      const shape = base.conv2d(cfg).run(x).shape;
      const res = {
        data: randomInt8(
          r,
          shape.reduce((a, b) => a * b, 1),
        ),
        shape,
      };
      const want = single.run([x, res]);
      for (const pool of pools) {
        const mt = pool.conv2d({ ...cfg, residual });
        expect(firstDiff(mt.run([x, res]).data, want.data), `${pool.threads} threads`).toBe(-1);
        expect(firstDiff((await mt.runAsync([x, res])).data, want.data)).toBe(-1);
        const out = { data: new Int8Array(want.data.length), shape: want.shape };
        mt.run([x, res], out);
        const before = pool.memoryBytes;
        for (let i = 0; i < 10; i++) mt.run([x, res], out);
        expect(pool.memoryBytes).toBe(before);
        expect(firstDiff(out.data, want.data)).toBe(-1);
        mt.dispose();
      }
      single.dispose();
    }
  });

  it('names a bad residual config and a bad residual input', () => {
    const r = rng(1603);
    const qw = [...qws.values()][0]!;
    const { cfg, x, residual } = convSetup(r, 'int8', SHAPES[0]!, 0);
    const expectError = (f: () => unknown, argument: string) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(QwasmError);
        expect((e as QwasmError).argument).toBe(argument);
        return;
      }
      throw new Error(`expected a QwasmError naming ${argument}`);
    };
    const make = (res: unknown) => () => qw.conv2d({ ...cfg, residual: res as ResidualConfig });
    expectError(make(5), 'residual');
    expectError(make({ scale: 0.1 }), 'residual.output');
    expectError(make({ scale: -1, output: { scale: 0.1 } }), 'residual.scale');
    expectError(make({ scale: 0.1, zeroPoint: 200, output: { scale: 0.1 } }), 'residual.zeroPoint');
    expectError(make({ scale: 0.1, output: { scale: 0 } }), 'residual.output.scale');
    expectError(make({ scale: 0.1, output: { scale: 0.1, zeroPoint: -129 } }), 'residual.output.zeroPoint');
    expectError(make({ scale: 0.1, output: { scale: 0.1 }, activation: 'relu6' }), 'residual.activation');
    expectError(make({ scale: 0.1, output: { scale: 0.1 }, operand: 'third' }), 'residual.operand');
    const fused = qw.conv2d({ ...cfg, residual });
    const plain = qw.conv2d(cfg);
    const shape = plain.run(x).shape;
    const n = shape.reduce((a, b) => a * b, 1);
    expectError(() => fused.run(x), 'x');
    expectError(() => plain.run([x, { data: new Int8Array(n), shape }]), 'x');
    expectError(() => fused.run([x, { data: new Int8Array(n - 1), shape }]), 'residual');
    expectError(() => fused.run([x, { data: new Int8Array(n), shape: [n] }]), 'residual');
    expectError(() => fused.run([x, { data: new Uint8Array(n), shape }]), 'residual');
    // the engine and the layer still work after refusals
    expect(fused.run([x, { data: new Int8Array(n), shape }]).shape).toEqual(shape);
    fused.dispose();
    plain.dispose();
  });
});

describe('linear with a fused residual add', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: equals linear then addLayer and the scalar QLinearAdd on every build (gemv and GEMM rows)`, () => {
      const r = rng(1610);
      let i = 0;
      for (const [M, K, N] of [
        [1, 64, 13],
        [1, 300, 40],
        [2, 33, 8],
        [7, 17, 29],
        [1, 1, 1],
      ] as const) {
        for (let rep = 0; rep < 4; rep++, i++) {
          const cfg: LinearConfig = {
            weights: { data: randomInt8(r, N * K, -60, 60), shape: [N, K] },
            weightScale: 0.01 + r() * 0.02,
            input: { ...quant(r, dtype), dtype },
            output: quant(r, dtype),
            activation: (['none', 'relu', 'relu6'] as const)[i % 3],
            requant: i % 4 === 3 ? 'fixedpoint' : 'fp32',
          };
          const residual = residualConfig(r, dtype, i);
          const x = codes(r, dtype, M * K);
          const res = codes(r, dtype, M * N);
          const out = cfg.output as { scale: number; zeroPoint: number };
          for (const [backend, qw] of qws) {
            const plain = qw.linear(cfg);
            const add = addLayerFor(qw, out, residual, dtype);
            const fused = qw.linear({ ...cfg, residual });
            const y = plain.run(x);
            const want = refAdd(y, res, [M, N], out, residual, dtype);
            const first = residual.operand === 'first';
            const ta = { data: y, shape: [M, N] };
            const tr = { data: res, shape: [M, N] };
            expect(firstDiff(add.run(first ? [tr, ta] : [ta, tr]).data, want)).toBe(-1);
            const what = `${backend} M=${M} ${cfg.requant} ${residual.operand}`;
            expect(firstDiff(fused.run([x, res]), want), what).toBe(-1);
            const o = y.slice().fill(0);
            expect(fused.run([x, res], o)).toBe(o);
            expect(firstDiff(o, want), `out ${what}`).toBe(-1);
            plain.dispose();
            add.dispose();
            fused.dispose();
          }
        }
      }
    });
  }

  it('gives the same codes on 1, 2 and 3 threads, with run and runAsync', async () => {
    const r = rng(1611);
    // 4 * M * N * K / 2 = 6.1 M ops: split over the pool (src/threads/partition.ts)
    const [M, K, N] = [256, 300, 40];
    const cfg: LinearConfig = {
      weights: { data: randomInt8(r, N * K, -60, 60), shape: [N, K] },
      weightScale: 0.01,
      input: { scale: 0.05, zeroPoint: 3 },
      output: { scale: 0.2, zeroPoint: -4 },
      residual: { scale: 0.1, zeroPoint: 7, output: { scale: 0.25, zeroPoint: 1 }, operand: 'first' },
    };
    const x = randomInt8(r, M * K);
    const res = randomInt8(r, M * N);
    const base = qws.get('simd') ?? [...qws.values()][0]!;
    const single = base.linear(cfg);
    const want = single.run([x, res]);
    for (const pool of pools) {
      const mt = pool.linear(cfg);
      expect(firstDiff(mt.run([x, res]), want), `${pool.threads} threads`).toBe(-1);
      expect(firstDiff(await mt.runAsync([x, res]), want)).toBe(-1);
      mt.dispose();
    }
    single.dispose();
  });

  it('names a bad residual input', () => {
    const qw = [...qws.values()][0]!;
    const fused = qw.linear({
      weights: { data: new Int8Array(12), shape: [3, 4] },
      weightScale: 0.1,
      input: { scale: 0.1, zeroPoint: 0 },
      output: { scale: 0.1, zeroPoint: 0 },
      residual: { scale: 0.1, output: { scale: 0.2 } },
    });
    expect(() => fused.run(new Int8Array(8))).toThrow(QwasmError);
    for (const bad of [new Int8Array(5), new Uint8Array(6)]) {
      try {
        fused.run([new Int8Array(8), bad]);
        throw new Error('expected a QwasmError');
      } catch (e) {
        expect((e as QwasmError).argument).toBe('residual');
      }
    }
    expect(fused.run([new Int8Array(8), new Int8Array(6)]).length).toBe(6);
    fused.dispose();
  });
});
