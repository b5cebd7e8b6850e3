// Binary layers against the float reference on every build: float32, int8 and bit-packed
// outputs, per-channel and XNOR-Net scales, bias, chaining through bits, runs into a
// caller's `out`, changing input shapes, disposal and bad configurations.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, type BitTensor, type BinaryOutput, type Qwasm } from '../src/index.js';
import { engines, firstDiff, randInt, randomFloat32, rng } from './helpers.js';
import {
  affineRef,
  binaryMatMulRef,
  conv2dRef,
  packRef,
  requantRef,
  signs,
  type ConvRefAttrs,
} from './reference/binary.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

function expectError(fn: () => unknown, argument: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(QwasmError);
  expect((err as QwasmError).argument).toBe(argument);
}

/** XNOR-Net's alpha: mean |w| of each of the N rows of `w`, summed in float64. */
function xnorScale(w: Float32Array, N: number): Float32Array {
  const K = w.length / N;
  const out = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.abs(w[n * K + k]!);
    out[n] = s / K;
  }
  return out;
}

/** The layer outputs from int32 accumulators acc [M, N]. */
function outputsRef(acc: Int32Array, N: number, scale: Float32Array, bias: Float32Array, yScale: number, zp: number) {
  const M = acc.length / N;
  const f = new Float32Array(M * N);
  const q = new Int8Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const a = acc[m * N + n]!;
      f[m * N + n] = affineRef(a, scale[n]!, bias[n]!);
      q[m * N + n] = requantRef(a, Math.fround(scale[n]! / yScale), Math.fround(bias[n]! / yScale), zp);
    }
  }
  return { f, q, bits: packRef(f, N) };
}

describe('binaryLinear', () => {
  it('gives acc * scale + bias, int8 and sign bits for K across word, chunk and tap edges', () => {
    const r = rng(30);
    for (const K of [1, 31, 33, 128, 129, 257, 1000, 2100, 4100]) {
      const M = randInt(r, 1, 7);
      const N = randInt(r, 1, 9);
      const w = randomFloat32(r, N * K);
      const x = randomFloat32(r, M * K);
      const scale = randomFloat32(r, N, -0.5, 2);
      const bias = randomFloat32(r, N, -K / 4, K / 4);
      const yScale = Math.max(1, K / 40);
      const acc = binaryMatMulRef(signs(x), signs(w), M, N, K);
      const want = outputsRef(acc, N, scale, bias, yScale, 3);
      for (const [name, qw] of qws) {
        const xb = qw.bitpack({ data: x, shape: [M, K] });
        const weights = { data: w, shape: [N, K] };
        const lf = qw.binaryLinear({ weights, scale, bias });
        const l8 = qw.binaryLinear({ weights, scale, bias, output: { dtype: 'int8', scale: yScale, zeroPoint: 3 } });
        const lb = qw.binaryLinear({ weights, scale, bias, output: 'bits' });
        const yf = lf.run(xb);
        expect(yf.shape).toEqual([M, N]);
        expect(firstDiff(yf.data, want.f), `${name} float K=${K}`).toBe(-1);
        expect(firstDiff(l8.run(xb).data, want.q), `${name} int8 K=${K}`).toBe(-1);
        const yb = lb.run(xb);
        expect(yb.shape).toEqual([M, N]);
        expect(firstDiff(yb.bits, want.bits), `${name} bits K=${K}`).toBe(-1);
        lf.dispose();
        l8.dispose();
        lb.dispose();
      }
    }
  });

  it("computes XNOR-Net's alpha = mean |W| per channel with scale: 'xnor'", () => {
    const r = rng(31);
    const [M, N, K] = [3, 6, 300];
    const w = randomFloat32(r, N * K, -2, 2);
    const x = randomFloat32(r, M * K);
    const acc = binaryMatMulRef(signs(x), signs(w), M, N, K);
    const want = outputsRef(acc, N, xnorScale(w, N), new Float32Array(N), 1, 0);
    for (const [name, qw] of qws) {
      const l = qw.binaryLinear({ weights: { data: w, shape: [N, K] }, scale: 'xnor' });
      expect(firstDiff(l.run(qw.bitpack({ data: x, shape: [M, K] })).data, want.f), name).toBe(-1);
      l.dispose();
    }
  });

  it('defaults to scale 1 and bias 0: the float32 output is the exact dot product', () => {
    const r = rng(32);
    const [M, N, K] = [4, 5, 77];
    const w = randomFloat32(r, N * K);
    const x = randomFloat32(r, M * K);
    const acc = binaryMatMulRef(signs(x), signs(w), M, N, K);
    for (const [, qw] of qws) {
      const l = qw.binaryLinear({ weights: { data: w, shape: [N, K] } });
      expect(firstDiff(l.run(qw.bitpack({ data: x, shape: [M, K] })).data, Float32Array.from(acc))).toBe(-1);
      l.dispose();
    }
  });

  it('puts sign bits exactly where the float output is negative, zero included as +1', () => {
    // bias -acc makes the float output exactly 0 for some rows: 0 packs as +1
    const r = rng(33);
    const [M, N, K] = [6, 4, 64];
    const w = randomFloat32(r, N * K);
    const x = randomFloat32(r, M * K);
    const acc = binaryMatMulRef(signs(x), signs(w), M, N, K);
    const bias = Float32Array.from({ length: N }, (_, n) => -acc[n]! * 0.25);
    const scale = Float32Array.of(0.25, -0.25, 0, 1e-7);
    const want = outputsRef(acc, N, scale, bias, 1, 0);
    for (const [name, qw] of qws) {
      const l = qw.binaryLinear({ weights: { data: w, shape: [N, K] }, scale, bias, output: 'bits' });
      expect(firstDiff(l.run(qw.bitpack({ data: x, shape: [M, K] })).bits, want.bits), name).toBe(-1);
      l.dispose();
    }
  });

  it('chains through bits without unpacking', () => {
    const r = rng(34);
    const [M, K, H, N] = [5, 200, 70, 9];
    const w1 = randomFloat32(r, H * K);
    const w2 = randomFloat32(r, N * H);
    const bias1 = randomFloat32(r, H, -10, 10);
    const x = randomFloat32(r, M * K);
    const h = outputsRef(binaryMatMulRef(signs(x), signs(w1), M, H, K), H, new Float32Array(H).fill(1), bias1, 1, 0).f;
    const want = binaryMatMulRef(signs(h), signs(w2), M, N, H);
    for (const [name, qw] of qws) {
      const l1 = qw.binaryLinear({ weights: { data: w1, shape: [H, K] }, bias: bias1, output: 'bits' });
      const l2 = qw.binaryLinear({ weights: { data: w2, shape: [N, H] } });
      const y = l2.run(l1.run(qw.bitpack({ data: x, shape: [M, K] })));
      expect(firstDiff(y.data, Float32Array.from(want)), name).toBe(-1);
      l1.dispose();
      l2.dispose();
    }
  });

  it("writes into the caller's out and returns it, for every output kind and leading dims", () => {
    const r = rng(35);
    const [K, N] = [90, 7];
    const w = randomFloat32(r, N * K);
    const x = randomFloat32(r, 2 * 3 * K);
    const acc = binaryMatMulRef(signs(x), signs(w), 6, N, K);
    const want = outputsRef(acc, N, new Float32Array(N).fill(1), new Float32Array(N), 2, -1);
    for (const [, qw] of qws) {
      const xb = qw.bitpack({ data: x, shape: [2, 3, K] });
      const lf = qw.binaryLinear({ weights: { data: w, shape: [N, K] } });
      const of = { data: new Float32Array(6 * N), shape: [2, 3, N] };
      for (let i = 0; i < 3; i++) expect(lf.run(xb, of)).toBe(of);
      expect(firstDiff(of.data, want.f)).toBe(-1);
      const l8 = qw.binaryLinear({
        weights: { data: w, shape: [N, K] },
        output: { dtype: 'int8', scale: 2, zeroPoint: -1 },
      });
      const o8 = { data: new Int8Array(6 * N), shape: [2, 3, N] };
      expect(l8.run(xb, o8)).toBe(o8);
      expect(firstDiff(o8.data, want.q)).toBe(-1);
      const lb = qw.binaryLinear({ weights: { data: w, shape: [N, K] }, output: 'bits' });
      const ob: BitTensor = { bits: new Uint32Array(6), shape: [2, 3, N] };
      expect(lb.run(xb, ob)).toBe(ob);
      expect(firstDiff(ob.bits, want.bits)).toBe(-1);
      expectError(() => lf.run(xb, { data: new Float32Array(6 * N), shape: [6, N] }), 'out');
      expectError(() => lf.run(xb, { data: new Int8Array(6 * N), shape: [2, 3, N] } as never), 'out');
      expectError(() => lb.run(xb, { data: new Float32Array(6 * N), shape: [2, 3, N] } as never), 'out');
      for (const l of [lf, l8, lb]) l.dispose();
    }
  });

  it('refuses bad configurations and inputs, naming the argument, and keeps working', () => {
    const r = rng(36);
    const w = { data: randomFloat32(r, 4 * 40), shape: [4, 40] };
    for (const [, qw] of qws) {
      expectError(() => qw.binaryLinear({ weights: { data: new Int8Array(160), shape: [4, 40] } as never }), 'weights');
      expectError(() => qw.binaryLinear({ weights: { data: w.data, shape: [4, 40, 1] } }), 'weights');
      expectError(() => qw.binaryLinear({ weights: w, scale: new Float32Array(3) }), 'scale');
      expectError(() => qw.binaryLinear({ weights: w, scale: [1, 1, NaN, 1] }), 'scale');
      expectError(() => qw.binaryLinear({ weights: w, bias: new Float32Array(5) }), 'bias');
      expectError(() => qw.binaryLinear({ weights: w, output: 'int8' as never }), 'output');
      expectError(() => qw.binaryLinear({ weights: w, output: { dtype: 'int8', scale: 0 } }), 'output.scale');
      expectError(
        () => qw.binaryLinear({ weights: w, output: { dtype: 'int8', scale: 1, zeroPoint: 200 } }),
        'output.zeroPoint',
      );
      expectError(() => qw.binaryLinear({ weights: { data: Float32Array.of(1, Infinity), shape: [1, 2] } }), 'weights');
      const l = qw.binaryLinear({ weights: w });
      const x = qw.bitpack({ data: randomFloat32(r, 2 * 40), shape: [2, 40] });
      expectError(() => l.run(qw.bitpack({ data: randomFloat32(r, 2 * 41), shape: [2, 41] })), 'x');
      expectError(() => l.run({ data: new Float32Array(80), shape: [2, 40] } as unknown as BitTensor), 'x');
      expectError(() => l.run({ bits: new Uint32Array(1), shape: [2, 40] }), 'x');
      const y = l.run(x);
      expect(firstDiff(y.data, Float32Array.from(binaryMatMulRef(qw.bitunpack(x).data, signs(w.data), 2, 4, 40)))).toBe(
        -1,
      );
      l.dispose();
      expectError(() => l.run(x), 'layer');
    }
  });
});

interface LayerConvCase {
  N: number;
  H: number;
  W: number;
  C: number;
  O: number;
  kH: number;
  kW: number;
  attrs: ConvRefAttrs;
}

function convLayerCheck(qw: Qwasm, name: string, c: LayerConvCase, r: () => number, output: BinaryOutput): void {
  const x = randomFloat32(r, c.N * c.H * c.W * c.C);
  const w = randomFloat32(r, c.O * c.kH * c.kW * c.C);
  const scale = randomFloat32(r, c.O, 0.1, 1);
  const bias = randomFloat32(r, c.O, -5, 5);
  const acc = conv2dRef(signs(x), [c.N, c.H, c.W, c.C], signs(w), [c.O, c.kH, c.kW, c.C], c.attrs);
  const want = outputsRef(acc.data, c.O, scale, bias, 0.5, 0);
  const layer = qw.binaryConv2dLayer({
    weights: { data: w, shape: [c.O, c.kH, c.kW, c.C] },
    ...c.attrs,
    scale,
    bias,
    output,
  });
  const y = layer.run(qw.bitpack({ data: x, shape: [c.N, c.H, c.W, c.C] }));
  expect(y.shape, name).toEqual(acc.shape);
  const label = `${name} ${JSON.stringify(output)} ${JSON.stringify(c)}`;
  if (output === 'bits') expect(firstDiff((y as BitTensor).bits, want.bits), label).toBe(-1);
  else if (output === 'float32') expect(firstDiff((y as { data: Float32Array }).data, want.f), label).toBe(-1);
  else expect(firstDiff((y as { data: Int8Array }).data, want.q), label).toBe(-1);
  layer.dispose();
}

describe('binaryConv2dLayer', () => {
  const cases: LayerConvCase[] = [
    { N: 2, H: 6, W: 7, C: 35, O: 5, kH: 3, kW: 3, attrs: { pads: [1, 1, 1, 1] } },
    { N: 2, H: 6, W: 7, C: 35, O: 5, kH: 3, kW: 3, attrs: { pads: [1, 1, 1, 1], padValue: 1 } },
    { N: 1, H: 9, W: 8, C: 130, O: 33, kH: 3, kW: 3, attrs: { pads: [0, 1, 2, 1], strides: [2, 2] } },
    { N: 2, H: 8, W: 9, C: 64, O: 7, kH: 2, kW: 3, attrs: { pads: [2, 1, 1, 2], dilations: [2, 3], padValue: 0 } },
    { N: 1, H: 4, W: 4, C: 4100, O: 3, kH: 3, kW: 3, attrs: { pads: [1, 1, 1, 1] } },
  ];
  for (const output of ['float32', 'bits', { dtype: 'int8', scale: 0.5 }] as BinaryOutput[]) {
    it(`matches the float reference with ${JSON.stringify(output)} output: padding modes, strides, dilations, batch 2`, () => {
      const r = rng(40);
      for (const c of cases) for (const [name, qw] of qws) convLayerCheck(qw, name, c, r, output);
    });
  }

  it("runs on changing input shapes and into a caller's out, and chains through bits", () => {
    const r = rng(41);
    const [C, O] = [48, 40];
    const w1 = randomFloat32(r, O * 9 * C);
    const w2 = randomFloat32(r, 6 * 9 * O);
    const attrs: ConvRefAttrs = { pads: [1, 1, 1, 1] };
    for (const [name, qw] of qws) {
      const l1 = qw.binaryConv2dLayer({
        weights: { data: w1, shape: [O, 3, 3, C] },
        pads: [1, 1, 1, 1],
        output: 'bits',
      });
      const l2 = qw.binaryConv2dLayer({ weights: { data: w2, shape: [6, 3, 3, O] }, pads: [1, 1, 1, 1] });
      for (const [N, H, W] of [
        [1, 5, 5],
        [2, 7, 4],
        [2, 7, 4],
        [1, 5, 5],
        [1, 12, 13],
      ] as const) {
        const x = randomFloat32(r, N * H * W * C);
        const h = conv2dRef(signs(x), [N, H, W, C], signs(w1), [O, 3, 3, C], attrs);
        const want = conv2dRef(signs(Float32Array.from(h.data)), [N, H, W, O], signs(w2), [6, 3, 3, O], attrs);
        const out = { data: new Float32Array(N * H * W * 6), shape: [N, H, W, 6] };
        expect(l2.run(l1.run(qw.bitpack({ data: x, shape: [N, H, W, C] })), out)).toBe(out);
        expect(firstDiff(out.data, Float32Array.from(want.data)), `${name} ${N}x${H}x${W}`).toBe(-1);
      }
      expectError(
        () =>
          l2.run(qw.bitpack({ data: new Float32Array(O * 4), shape: [1, 2, 2, O] }), {
            data: new Float32Array(24),
            shape: [1, 2, 3, 6],
          }),
        'out',
      );
      l1.dispose();
      l2.dispose();
    }
  });

  it('refuses bad configurations and inputs, naming the argument, and keeps working', () => {
    const r = rng(42);
    const w = { data: randomFloat32(r, 2 * 3 * 3 * 8), shape: [2, 3, 3, 8] };
    for (const [, qw] of qws) {
      expectError(() => qw.binaryConv2dLayer({ weights: { data: w.data, shape: [2, 9, 8] } }), 'weights');
      expectError(() => qw.binaryConv2dLayer({ weights: w, padValue: -1 as 0 }), 'padValue');
      expectError(() => qw.binaryConv2dLayer({ weights: w, strides: [1, 0] }), 'strides');
      expectError(() => qw.binaryConv2dLayer({ weights: w, scale: [1, 2, 3] }), 'scale');
      const l = qw.binaryConv2dLayer({ weights: w, scale: 'xnor' });
      expectError(() => l.run(qw.bitpack({ data: new Float32Array(4 * 4 * 9), shape: [1, 4, 4, 9] })), 'x');
      expectError(() => l.run(qw.bitpack({ data: new Float32Array(2 * 2 * 8), shape: [1, 2, 2, 8] })), 'x');
      expectError(() => l.run({ data: new Float32Array(128), shape: [1, 4, 4, 8] } as unknown as BitTensor), 'x');
      const x = randomFloat32(r, 4 * 4 * 8);
      const y = l.run(qw.bitpack({ data: x, shape: [1, 4, 4, 8] }));
      const acc = conv2dRef(signs(x), [1, 4, 4, 8], signs(w.data), [2, 3, 3, 8]);
      const want = outputsRef(acc.data, 2, xnorScale(w.data, 2), new Float32Array(2), 1, 0);
      expect(firstDiff(y.data, want.f)).toBe(-1);
      l.dispose();
      expectError(() => l.run(qw.bitpack({ data: x, shape: [1, 4, 4, 8] })), 'layer');
    }
  });
});
