// qw.dynamicConv2d and dynamicLinear's fused activation against the definition: the input
// quantized with ONNX DynamicQuantizeLinear's parameters, the exact int32 convolution of
// the codes against symmetric per-channel int8 weights, then f32(acc) * f32(xScale *
// wScale) + bias clamped by the activation, all in float32 as the epilogue computes it.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { Qwasm } from '../src/index.js';
import { engines, firstDiff, randomFloat32, rng } from './helpers.js';
import { refConvInteger, refOutputSize, type RefConvShape } from './reference/conv.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

/** Symmetric int8 per output channel, as the layer quantizes its weights. */
function quantizeRows(w: Float32Array, rows: number): { q: Int8Array; scales: Float32Array } {
  const cols = w.length / rows;
  const scales = new Float32Array(rows);
  const q = new Int8Array(w.length);
  for (let n = 0; n < rows; n++) {
    let m = 0;
    for (let k = 0; k < cols; k++) m = Math.max(m, Math.abs(w[n * cols + k]!));
    const s = m > 0 ? Math.fround(m / 127) : 1;
    scales[n] = s;
    for (let k = 0; k < cols; k++) {
      const v = Math.fround(w[n * cols + k]! / s);
      const r = Math.round(v);
      const even = Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
      q[n * cols + k] = Math.max(-127, Math.min(127, even));
    }
  }
  return { q, scales };
}

const CASES: Array<RefConvShape & { act: 'none' | 'relu' | 'relu6' }> = [
  { N: 1, H: 9, W: 7, C: 8, M: 16, kH: 3, kW: 3, pads: [1, 1, 1, 1], act: 'relu' },
  { N: 2, H: 6, W: 6, C: 3, M: 5, kH: 3, kW: 3, strides: [2, 2], pads: [1, 0, 1, 1], act: 'none' },
  { N: 1, H: 8, W: 8, C: 12, M: 12, kH: 3, kW: 3, pads: [1, 1, 1, 1], group: 12, act: 'relu6' },
  { N: 1, H: 5, W: 5, C: 16, M: 24, kH: 1, kW: 1, act: 'relu' },
  { N: 1, H: 7, W: 5, C: 12, M: 9, kH: 3, kW: 2, group: 3, dilations: [2, 1], act: 'none' },
  { N: 1, H: 4, W: 4, C: 6, M: 6, kH: 5, kW: 5, pads: [2, 2, 2, 2], act: 'none' },
];

describe.each([...qws.keys()])('dynamicConv2d on %s', (backend) => {
  const qw = qws.get(backend)!;

  it.each(CASES)('matches the definition: %o', (s) => {
    const r = rng(s.H * 100 + s.C * 10 + s.M);
    const group = s.group ?? 1;
    const Cg = s.C / group;
    const w = randomFloat32(r, s.M * s.kH * s.kW * Cg, -0.5, 0.5);
    const bias = randomFloat32(r, s.M, -0.2, 0.2);
    const layer = qw.dynamicConv2d({
      weights: { data: w, shape: [s.M, s.kH, s.kW, Cg] },
      bias,
      strides: s.strides,
      pads: s.pads,
      dilations: s.dilations,
      group,
      activation: s.act,
    });
    const { q, scales } = quantizeRows(w, s.M);
    expect(Array.from(layer.weightScale)).toEqual(Array.from(scales));
    const { OH, OW } = refOutputSize(s);
    const out = { data: new Float32Array(s.N * OH * OW * s.M), shape: [s.N, OH, OW, s.M] };
    for (const [lo, hi] of [
      [-1, 1],
      [0.2, 3],
      [-7, -0.5],
    ] as const) {
      const x = randomFloat32(r, s.N * s.H * s.W * s.C, lo, hi);
      const { y: xq, scale: xs, zeroPoint: zx } = qw.dynamicQuantizeLinear({ data: x, shape: [x.length] });
      const acc = refConvInteger(s, xq.data, q, zx, [0]);
      const [flo, fhi] = s.act === 'none' ? [-Infinity, Infinity] : [0, s.act === 'relu6' ? 6 : Infinity];
      const want = Float32Array.from(acc, (a, i) => {
        const m = i % s.M;
        const v = Math.fround(Math.fround(a * Math.fround(xs * scales[m]!)) + bias[m]!);
        return Math.min(fhi, Math.max(flo, v));
      });
      const y = layer.run({ data: x, shape: [s.N, s.H, s.W, s.C] }, out);
      expect(y.shape).toEqual([s.N, OH, OW, s.M]);
      expect(firstDiff(y.data, want)).toBe(-1);
    }
    layer.dispose();
  });

  it('refuses bad configs and inputs with a QwasmError naming them', () => {
    const weights = { data: new Float32Array(2 * 9 * 4), shape: [2, 3, 3, 4] };
    expect(() => qw.dynamicConv2d({ weights: { data: new Float32Array(3), shape: [3] } })).toThrow(QwasmError);
    expect(() => qw.dynamicConv2d({ weights, bias: new Float32Array(3) })).toThrow(/bias/);
    const bad = new Float32Array(2 * 9 * 4);
    bad[5] = NaN;
    expect(() => qw.dynamicConv2d({ weights: { data: bad, shape: [2, 3, 3, 4] } })).toThrow(/weights/);
    const layer = qw.dynamicConv2d({ weights });
    expect(() => layer.run({ data: new Float32Array(5 * 5 * 3), shape: [1, 5, 5, 3] })).toThrow(/x/);
    const inf = new Float32Array(5 * 5 * 4);
    inf[0] = Infinity;
    expect(() => layer.run({ data: inf, shape: [1, 5, 5, 4] })).toThrow(/infinite/);
    const ok = layer.run({ data: new Float32Array(5 * 5 * 4).fill(1), shape: [1, 5, 5, 4] });
    expect(ok.shape).toEqual([1, 3, 3, 2]);
    layer.dispose();
    expect(() => layer.run({ data: new Float32Array(5 * 5 * 4), shape: [1, 5, 5, 4] })).toThrow(/disposed/);
  });
});

describe.each([...qws.keys()])('dynamicLinear activation on %s', (backend) => {
  const qw = qws.get(backend)!;
  it.each(['relu', 'relu6'] as const)('%s clamps the dequantized output', (act) => {
    const r = rng(act === 'relu' ? 5 : 6);
    const [M, K, N] = [3, 20, 11];
    const w = randomFloat32(r, N * K, -2, 2);
    const plain = qw.dynamicLinear({ weights: { data: w, shape: [N, K] } });
    const fused = qw.dynamicLinear({ weights: { data: w, shape: [N, K] }, activation: act });
    const x = randomFloat32(r, M * K, -3, 3);
    const want = plain.run(x).map((v) => Math.min(act === 'relu6' ? 6 : Infinity, Math.max(0, v)));
    expect(firstDiff(fused.run(x), want)).toBe(-1);
    plain.dispose();
    fused.dispose();
  });
});

describe('dynamicConv2d on 2 threads', () => {
  it('is bit-identical to one thread, grouped and depthwise included', async () => {
    const one = await Qwasm.create({ backend: 'simd' });
    const two = await Qwasm.create({ backend: 'simd', threads: 2 });
    const r = rng(9);
    for (const s of CASES) {
      const group = s.group ?? 1;
      const w = randomFloat32(r, s.M * s.kH * s.kW * (s.C / group), -0.5, 0.5);
      const cfg = {
        weights: { data: w, shape: [s.M, s.kH, s.kW, s.C / group] },
        pads: s.pads,
        group,
        strides: s.strides,
      };
      const big = { data: randomFloat32(r, 2 * 40 * 40 * s.C, -1, 1), shape: [2, 40, 40, s.C] };
      const a = one.dynamicConv2d(cfg).run(big);
      const b = two.dynamicConv2d(cfg).run(big);
      expect(firstDiff(a.data, b.data)).toBe(-1);
    }
    one.dispose();
    two.dispose();
  });
});
