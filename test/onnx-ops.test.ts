// The ONNX-semantics ops against onnxruntime-node, the oracle: same inputs, same bytes out
// (the integer products judged as test/oracle.ts says where onnxruntime is inexact).
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { singleNodeModel, type DataTypeName } from './onnx/model.mjs';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';
import { expectOracle, requantizeRef } from './oracle.js';
import { gemmKN } from './reference/gemm.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Arr = Float32Array | Int8Array | Uint8Array | Int32Array;
interface Init {
  name: string;
  data: Arr;
  dims: number[];
}

function onnxType(a: Arr): DataTypeName {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  return 'int32';
}

/** Runs one node with `x` as the only graph input; every other input is an initializer. */
async function runOrt(
  op: string,
  x: { data: Arr; dims: number[] },
  inits: Init[],
  inputs: string[],
  outType: DataTypeName,
  attributes = {},
) {
  const byName = new Map(inits.map((i) => [i.name, { ...i, type: onnxType(i.data) }]));
  const model = singleNodeModel({
    opType: op,
    opset: 21,
    inputs: inputs.map((n) => (n === 'x' ? { name: 'x', type: onnxType(x.data), dims: x.dims } : byName.get(n)!)),
    outputs: [{ name: 'y', type: outType }],
    attributes,
  });
  const session = await ort.InferenceSession.create(model);
  const r = await session.run({ x: new ort.Tensor(onnxType(x.data) as 'float32', x.data as Float32Array, x.dims) });
  return r['y']!;
}

const scalarInit = (name: string, data: Arr): Init => ({ name, data, dims: [] });

describe('QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear vs onnxruntime', () => {
  it.each([
    ['int8', false],
    ['uint8', false],
    ['int8', true],
    ['uint8', true],
  ] as const)('QuantizeLinear %s (per axis: %s)', async (dtype, perAxis) => {
    const r = rng(100);
    const shape = [3, 4, 9];
    const x = randomFloat32(r, 108, -4, 4);
    // exact ties in the data: values on the half-way points of the scale
    for (let i = 0; i < 10; i++) x[i] = (i - 5 + 0.5) * 0.25;
    const C = perAxis ? 4 : 1;
    const scale = perAxis ? randomFloat32(r, 4, 0.01, 0.05) : Float32Array.of(0.25);
    const zp =
      dtype === 'int8'
        ? new Int8Array(C).map(() => randInt(r, -20, 20))
        : new Uint8Array(C).map(() => randInt(r, 100, 150));
    const dims = perAxis ? [4] : [];
    const y = await runOrt(
      'QuantizeLinear',
      { data: x, dims: shape },
      [
        { name: 's', data: scale, dims },
        { name: 'z', data: zp, dims },
      ],
      ['x', 's', 'z'],
      dtype,
      perAxis ? { axis: 1 } : {},
    );
    for (const qw of qws.values()) {
      const q = qw.quantizeLinear({ data: x, shape }, perAxis ? scale : scale[0]!, zp, { axis: 1 });
      expect(firstDiff(q.data, y.data as Int8Array)).toBe(-1);
    }
  });

  it.each(['int8', 'uint8'] as const)('DequantizeLinear %s per tensor and per axis', async (dtype) => {
    const r = rng(101);
    const shape = [2, 5, 7];
    const q = dtype === 'int8' ? randomInt8(r, 70) : randomUint8(r, 70);
    for (const perAxis of [false, true]) {
      const C = perAxis ? 5 : 1;
      const scale = randomFloat32(r, C, 0.001, 0.1);
      const zp = dtype === 'int8' ? randomInt8(r, C) : randomUint8(r, C);
      const dims = perAxis ? [5] : [];
      const y = await runOrt(
        'DequantizeLinear',
        { data: q, dims: shape },
        [
          { name: 's', data: scale, dims },
          { name: 'z', data: zp, dims },
        ],
        ['x', 's', 'z'],
        'float32',
        perAxis ? { axis: 1 } : {},
      );
      for (const qw of qws.values()) {
        const got = qw.dequantizeLinear({ data: q, shape }, perAxis ? scale : scale[0]!, zp, { axis: 1 });
        expect(firstDiff(got.data, y.data as Float32Array)).toBe(-1);
      }
    }
  });

  it('DynamicQuantizeLinear', async () => {
    const r = rng(102);
    for (const [lo, hi] of [
      [-1, 1],
      [0.1, 5],
      [-3, -0.5],
      [-0.7, 300],
    ] as const) {
      const x = randomFloat32(r, 257, lo, hi);
      const model = singleNodeModel({
        opType: 'DynamicQuantizeLinear',
        inputs: [{ name: 'x', type: 'float32', dims: [257] }],
        outputs: [
          { name: 'y', type: 'uint8', dims: [257] },
          { name: 's', type: 'float32', dims: [] },
          { name: 'z', type: 'uint8', dims: [] },
        ],
      });
      const session = await ort.InferenceSession.create(model);
      const o = await session.run({ x: new ort.Tensor('float32', x, [257]) });
      for (const qw of qws.values()) {
        const got = qw.dynamicQuantizeLinear({ data: x, shape: [257] });
        expect(got.scale).toBe((o['s']!.data as Float32Array)[0]);
        expect(got.zeroPoint).toBe((o['z']!.data as Uint8Array)[0]);
        expect(firstDiff(got.y.data, o['y']!.data as Uint8Array)).toBe(-1);
      }
    }
  });
});

describe('MatMulInteger / QLinearMatMul vs onnxruntime', () => {
  const combos = [
    ['uint8', 'int8'],
    ['int8', 'int8'],
    ['uint8', 'uint8'],
    ['int8', 'uint8'],
  ] as const;
  const rand = (r: () => number, t: string, n: number) => (t === 'int8' ? randomInt8(r, n) : randomUint8(r, n));

  /** Per batch: sum_k (a[m,k] - za) * (b[k,n] - zb[n]), exactly. */
  const matMulIntegerRef = (a: Arr, b: Arr, bsz: number, M: number, K: number, N: number, za: number, zb: Arr) => {
    const out = new Int32Array(bsz * M * N);
    for (let i = 0; i < bsz; i++)
      out.set(gemmKN(a.subarray(i * M * K, (i + 1) * M * K), b, M, N, K, za, zb), i * M * N);
    return out;
  };
  /** Operands whose u8 x s8 pair sums reach 2 x 255 x -128 where their types allow it. */
  const worstCase = (t: string, n: number) =>
    t === 'int8' ? new Int8Array(n).fill(-128) : new Uint8Array(n).fill(255);

  it.each(combos)('MatMulInteger %s x %s, scalar and per-column b zero point, batched', async (aT, bT) => {
    const r = rng(110);
    for (const [batch, M, K, N, worst] of [
      [[], 1, 1, 1, false],
      [[], 7, 19, 13, false],
      [[], 33, 64, 9, false],
      [[2], 5, 31, 17, false],
      [[2, 3], 4, 8, 5, false],
      [[], 3, 40, 6, true],
    ] as Array<[number[], number, number, number, boolean]>) {
      for (const perColumn of [false, true]) {
        const bsz = batch.reduce((a, b) => a * b, 1);
        const a = worst ? worstCase(aT, bsz * M * K) : rand(r, aT, bsz * M * K);
        const b = worst ? worstCase(bT, K * N) : rand(r, bT, K * N);
        const za = rand(r, aT, 1);
        const zb = rand(r, bT, perColumn ? N : 1);
        const y = await runOrt(
          'MatMulInteger',
          { data: a, dims: [...batch, M, K] },
          [
            { name: 'b', data: b, dims: [K, N] },
            scalarInit('za', za),
            { name: 'zb', data: zb, dims: perColumn ? [N] : [] },
          ],
          ['x', 'b', 'za', 'zb'],
          'int32',
        );
        for (const [backend, qw] of qws) {
          const got = qw.matMulInteger({ data: a, shape: [...batch, M, K] }, { data: b, shape: [K, N] }, za, zb);
          expect(got.shape).toEqual(y.dims);
          expectOracle({
            label: `MatMulInteger ${aT} x ${bT} ${JSON.stringify([...batch, M, K, N])} on ${backend}`,
            operands: [aT, bT],
            got: got.data,
            oracle: y.data as Int32Array,
            exact: () => matMulIntegerRef(a, b, bsz, M, K, N, za[0]!, zb),
          });
        }
      }
    }
  });

  it.each(combos.slice(0, 3))('QLinearMatMul %s x %s, per tensor and per column b scale', async (aT, bT) => {
    const r = rng(111);
    for (const [M, K, N] of [
      [1, 16, 8],
      [9, 77, 21],
      [40, 128, 33],
    ] as Array<[number, number, number]>) {
      for (const perColumn of [false, true]) {
        const a = rand(r, aT, M * K);
        const b = rand(r, bT, K * N);
        const sa = Float32Array.of(0.01 + r() * 0.05);
        const za = rand(r, aT, 1);
        const sb = perColumn ? randomFloat32(r, N, 0.001, 0.02) : Float32Array.of(0.01);
        const zb = rand(r, bT, perColumn ? N : 1);
        const sy = Float32Array.of(0.1 + r() * K * 0.02);
        const zy = rand(r, aT, 1);
        const cdims = perColumn ? [N] : [];
        const y = await runOrt(
          'QLinearMatMul',
          { data: a, dims: [M, K] },
          [
            scalarInit('sa', sa),
            scalarInit('za', za),
            { name: 'b', data: b, dims: [K, N] },
            { name: 'sb', data: sb, dims: cdims },
            { name: 'zb', data: zb, dims: cdims },
            scalarInit('sy', sy),
            scalarInit('zy', zy),
          ],
          ['x', 'sa', 'za', 'b', 'sb', 'zb', 'sy', 'zy'],
          aT,
        );
        for (const [backend, qw] of qws) {
          const got = qw.qlinearMatMul(
            { data: a, shape: [M, K] },
            sa,
            za,
            { data: b, shape: [K, N] },
            perColumn ? sb : sb[0]!,
            zb,
            sy,
            zy,
          );
          expectOracle({
            label: `QLinearMatMul ${aT} x ${bT} ${JSON.stringify([M, K, N])} on ${backend}`,
            operands: [aT, bT],
            got: got.data,
            oracle: y.data as Int8Array,
            exact: () => requantizeRef(gemmKN(a, b, M, N, K, za[0]!, zb), sa[0]!, sb, sy[0]!, zy[0]!, aT, (i) => i % N),
          });
        }
      }
    }
  });
});
