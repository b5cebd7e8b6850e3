// The 16-bit grid convolution (assembly/conv/int16.ts, src/layers/conv-i16.ts): exact
// against a plain scalar reference and bit-identical to the float32 conv of the same values,
// on every build, for the shapes the PaddleOCR detection stem has and awkward ones.
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { ConvI16 } from '../src/layers/conv-i16.js';
import { engines, firstDiff, randInt, rng } from './helpers.js';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { encodeModel } from '../src/onnx/proto.js';
import { f32, init, node, seededFloats } from './onnx/graph.js';
import { refOutputSize, type RefConvShape } from './reference/conv.js';
import { quantizeRef } from './reference/quantize.js';

const qws = await engines();

interface Case extends Omit<RefConvShape, 'group'> {
  bias?: boolean;
  activation?: 'none' | 'relu' | 'relu6';
  /** Draw codes at +-the bound only. */
  extreme?: boolean;
}

/** Weight codes (OIHW), steps, bias codes and the input bound that keeps every sum below 2^24. */
function makeGrid(r: () => number, c: Case, a: number) {
  const K = c.C * c.kH * c.kW;
  const wq = new Int16Array(c.M * K);
  const steps = new Float32Array(c.M);
  const bq = c.bias === false ? null : new Int32Array(c.M);
  for (let m = 0; m < c.M; m++) {
    const lim = c.extreme ? 32767 : randInt(r, 1, 2000);
    for (let k = 0; k < K; k++) wq[m * K + k] = c.extreme ? (r() < 0.5 ? -lim : lim) : randInt(r, -lim, lim);
    if (m === c.M - 1 && c.M > 1) wq.fill(0, m * K, (m + 1) * K);
    steps[m] = 2 ** randInt(r, -20, -4);
  }
  let q = 32767;
  const sums = [];
  for (let m = 0; m < c.M; m++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.abs(wq[m * K + k]!);
    sums.push(s);
    if (s > 0) q = Math.min(q, Math.floor((2 ** 23 - 1) / s));
  }
  q = Math.max(q, 1);
  if (bq !== null) {
    for (let m = 0; m < c.M; m++) {
      const room = 2 ** 24 - 1 - sums[m]! * q;
      bq[m] = randInt(r, -Math.min(room, 1 << 22), Math.min(room, 1 << 22));
    }
  }
  // the input: codes in [-q, q] times 2^a, zeros and the bound included
  const n = c.N * c.H * c.W * c.C;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const code = c.extreme ? (r() < 0.5 ? -q : q) : i % 7 === 0 ? 0 : i % 11 === 0 ? q : randInt(r, -q, q);
    x[i] = code * 2 ** a;
  }
  return { wq, steps, bq, q, x };
}

/** The layer of a case on its grid (`extra`: more of the layer's config). */
function layerOf(
  rt: Runtime,
  c: Case,
  a: number,
  g: ReturnType<typeof makeGrid>,
  extra: Partial<ConstructorParameters<typeof ConvI16>[1]> = {},
): ConvI16 {
  return new ConvI16(rt, {
    weights: { data: g.wq, shape: [c.M, c.C, c.kH, c.kW] },
    inputExponent: a,
    weightSteps: g.steps,
    bias: g.bq,
    inputCodes: g.q,
    ...(c.strides ? { strides: c.strides } : {}),
    ...(c.pads ? { pads: c.pads } : {}),
    ...(c.dilations ? { dilations: c.dilations } : {}),
    activation: c.activation ?? 'none',
    ...extra,
  });
}

/** The conv in plain integers (x NHWC codes, w OIHW codes), then f32(acc) * 2^a * step, clamped. */
function reference(c: Case, a: number, g: ReturnType<typeof makeGrid>): Float32Array {
  const [sH, sW] = c.strides ?? [1, 1];
  const [pT, pL] = c.pads ?? [0, 0, 0, 0];
  const [dH, dW] = c.dilations ?? [1, 1];
  const { OH, OW } = refOutputSize(c);
  const lo = (c.activation ?? 'none') === 'none' ? -Infinity : 0;
  const hi = c.activation === 'relu6' ? 6 : Infinity;
  const y = new Float32Array(c.N * OH * OW * c.M);
  let o = 0;
  for (let n = 0; n < c.N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let m = 0; m < c.M; m++) {
          let acc = g.bq?.[m] ?? 0;
          for (let i = 0; i < c.kH; i++) {
            const ih = oh * sH - pT + i * dH;
            if (ih < 0 || ih >= c.H) continue;
            for (let j = 0; j < c.kW; j++) {
              const iw = ow * sW - pL + j * dW;
              if (iw < 0 || iw >= c.W) continue;
              for (let ch = 0; ch < c.C; ch++) {
                const code = g.x[((n * c.H + ih) * c.W + iw) * c.C + ch]! / 2 ** a;
                acc += code * g.wq[((m * c.C + ch) * c.kH + i) * c.kW + j]!;
              }
            }
          }
          const v = Math.fround(Math.fround(acc) * Math.fround(2 ** a * g.steps[m]!));
          y[o++] = Math.min(Math.max(v, lo), hi);
        }
      }
    }
  }
  return y;
}

function refShape(c: Case): [number, number] {
  const { OH, OW } = refOutputSize(c);
  return [OH, OW];
}

/**
 * Raw floats around the grid of step 2^a: whole codes, values between codes, ties (half a
 * step), values beyond [lo, hi] and +-Inf, NaN, -0 and small negatives that round to -0.
 */
function rawInput(r: () => number, n: number, a: number, lo: number, hi: number): Float32Array {
  const x = new Float32Array(n);
  const s = 2 ** a;
  for (let i = 0; i < n; i++) {
    const code = randInt(r, lo, hi);
    const kind = randInt(r, 0, 9);
    x[i] =
      kind === 0
        ? code * s
        : kind === 1
          ? (code + r()) * s
          : kind === 2
            ? (code + 0.5) * s
            : kind === 3
              ? (hi + randInt(r, 1, 40000)) * s
              : kind === 4
                ? (lo - randInt(r, 1, 40000)) * s
                : kind === 5
                  ? [NaN, Infinity, -Infinity, -0][randInt(r, 0, 3)]!
                  : kind === 6
                    ? -r() * 0.5 * s
                    : (code + r() - 0.5) * s;
  }
  return x;
}

const cases: Case[] = [
  // the detection stem: 3x3 stride 2 on RGB, 1x1 16 -> 32
  { N: 1, H: 33, W: 31, C: 3, M: 16, kH: 3, kW: 3, strides: [2, 2], pads: [1, 1, 1, 1] },
  { N: 1, H: 9, W: 13, C: 16, M: 32, kH: 1, kW: 1 },
  { N: 2, H: 17, W: 23, C: 6, M: 11, kH: 1, kW: 1, activation: 'relu' },
  // odd sizes, M not a multiple of 4 or 8, asymmetric pads, dilation, batch
  { N: 2, H: 7, W: 5, C: 5, M: 7, kH: 3, kW: 2, strides: [1, 2], pads: [0, 2, 1, 0], bias: false },
  { N: 1, H: 11, W: 10, C: 17, M: 13, kH: 3, kW: 3, dilations: [2, 1], pads: [2, 1, 2, 1], activation: 'relu' },
  { N: 1, H: 6, W: 9, C: 3, M: 5, kH: 1, kW: 1, strides: [2, 2], activation: 'relu6' },
  { N: 1, H: 5, W: 6, C: 64, M: 9, kH: 3, kW: 3, pads: [1, 1, 1, 1], dilations: [1, 2] },
  { N: 1, H: 4, W: 5, C: 7, M: 1, kH: 1, kW: 1 },
  { N: 1, H: 3, W: 3, C: 2, M: 12, kH: 1, kW: 1, pads: [1, 0, 0, 1] },
  // codes at the bound
  { N: 1, H: 6, W: 7, C: 3, M: 6, kH: 3, kW: 3, pads: [1, 1, 1, 1], extreme: true },
  { N: 1, H: 5, W: 5, C: 4, M: 8, kH: 1, kW: 1, extreme: true, bias: false },
];

describe('ConvI16 (int16 codes, float32 out)', () => {
  for (const [backend, qw] of qws) {
    const rt = (qw as unknown as { rt: Runtime }).rt;
    cases.forEach((c, ci) => {
      it(`${backend}: case ${ci} [${c.N},${c.H},${c.W},${c.C}] -> ${c.M}, ${c.kH}x${c.kW}`, () => {
        const r = rng(1000 + ci);
        const a = randInt(r, -14, -2);
        const g = makeGrid(r, c, a);
        const layer = layerOf(rt, c, a, g);
        const y = layer.run({ data: g.x, shape: [c.N, c.H, c.W, c.C] });
        const ref = reference(c, a, g);
        expect(firstDiff(y.data, ref)).toBe(-1);
        // the same input as NCHW
        const xt = new Float32Array(g.x.length);
        const HW = c.H * c.W;
        for (let n = 0; n < c.N; n++) {
          for (let i = 0; i < HW; i++) {
            for (let ch = 0; ch < c.C; ch++) xt[(n * c.C + ch) * HW + i] = g.x[(n * HW + i) * c.C + ch]!;
          }
        }
        const yt = layer.run({ data: xt, shape: [c.N, c.C, c.H, c.W] }, true);
        expect(firstDiff(yt.data, ref)).toBe(-1);
        // the float32 conv of the same values gives the same bits
        const K = c.C * c.kH * c.kW;
        const wf = new Float32Array(c.M * K);
        for (let m = 0; m < c.M; m++) {
          for (let ch = 0; ch < c.C; ch++) {
            for (let k = 0; k < c.kH * c.kW; k++) {
              wf[m * K + k * c.C + ch] = g.wq[(m * c.C + ch) * c.kH * c.kW + k]! * g.steps[m]!;
            }
          }
        }
        const bf = g.bq === null ? undefined : Float32Array.from(g.bq, (b, m) => b * 2 ** a * g.steps[m]!);
        const cf = qw.conv2dF32({
          weights: { data: wf, shape: [c.M, c.kH, c.kW, c.C] },
          ...(bf ? { bias: bf } : {}),
          ...(c.strides ? { strides: c.strides } : {}),
          ...(c.pads ? { pads: c.pads } : {}),
          ...(c.dilations ? { dilations: c.dilations } : {}),
          activation: c.activation ?? 'none',
        });
        const yf = cf.run({ data: g.x, shape: [c.N, c.H, c.W, c.C] });
        expect(yf.shape).toEqual(y.shape);
        expect(firstDiff(y.data, yf.data)).toBe(-1);
        cf.dispose();
        layer.dispose();
      });

      it(`${backend}: case ${ci} on raw floats rounds them as QuantizeLinear to the grid, then convolves`, () => {
        const r = rng(2000 + ci);
        const a = randInt(r, -14, -2);
        const g = makeGrid(r, c, a);
        // a clamp inside the code bound (the QuantizeDequantize node's lo and hi)
        const lo = -g.q + Math.min(3, g.q);
        const hi = Math.max(lo, g.q - 1);
        const layer = layerOf(rt, c, a, g, { inputRange: [lo, hi] });
        const raw = rawInput(r, g.x.length, a, lo, hi);
        const rounded = Float32Array.from(raw, (v) => quantizeRef(v, 2 ** a, 0, lo, hi) * 2 ** a);
        const shape = [c.N, c.H, c.W, c.C];
        const y = layer.run({ data: raw, shape });
        expect(firstDiff(y.data, layer.run({ data: rounded, shape }).data)).toBe(-1);
        expect(firstDiff(y.data, reference(c, a, { ...g, x: rounded }))).toBe(-1);
        // NCHW
        const HW = c.H * c.W;
        const xt = new Float32Array(raw.length);
        for (let n = 0; n < c.N; n++) {
          for (let i = 0; i < HW; i++) {
            for (let ch = 0; ch < c.C; ch++) xt[(n * c.C + ch) * HW + i] = raw[(n * HW + i) * c.C + ch]!;
          }
        }
        expect(firstDiff(layer.run({ data: xt, shape: [c.N, c.C, c.H, c.W] }, true).data, y.data)).toBe(-1);
        layer.dispose();
      });
    });

    cases.forEach((c, ci) => {
      it(`${backend}: case ${ci} quantizes its output to int8 in the epilogue as QuantizeLinear does`, () => {
        const r = rng(3000 + ci);
        const a = randInt(r, -14, -2);
        const g = makeGrid(r, c, a);
        const layer = layerOf(rt, c, a, g);
        const x = { data: g.x, shape: [c.N, c.H, c.W, c.C] };
        const y = layer.run(x).data;
        let peak = 0;
        for (const v of y) peak = Math.max(peak, Math.abs(v));
        // half of channel 0's step (every odd sum there is a tie), and a scale that saturates
        const scales = [2 ** a * g.steps[0]! * 2, Math.fround((peak || 1) / 90)];
        for (const scale of scales) {
          for (const zeroPoint of [0, randInt(r, -30, 30), 127]) {
            const q = layer.runInt8(x, { scale, zeroPoint });
            const ref = Int8Array.from(y, (v) => quantizeRef(v, scale, zeroPoint, -128, 127));
            expect(q.shape).toEqual([c.N, ...refShape(c), c.M]);
            expect(firstDiff(q.data, ref)).toBe(-1);
          }
        }
        layer.dispose();
      });
    });

    it(`${backend}: refuses an input range outside the code bound`, () => {
      const cfg = {
        weights: { data: new Int16Array(3).fill(5), shape: [1, 3, 1, 1] },
        inputExponent: -10,
        weightSteps: new Float32Array([2 ** -8]),
        inputCodes: 1000,
      };
      expect(() => new ConvI16(rt, { ...cfg, inputRange: [-1001, 1000] })).toThrow(/inputRange/);
      expect(() => new ConvI16(rt, { ...cfg, inputRange: [5, 4] })).toThrow(/inputRange/);
      expect(() => new ConvI16(rt, { ...cfg, inputRange: [0, 0.5] })).toThrow(/inputRange/);
    });

    it(`${backend}: refuses weights whose sums leave float32's exact range`, () => {
      const wq = new Int16Array(2 * 3).fill(30000);
      expect(
        () =>
          new ConvI16(rt, {
            weights: { data: wq, shape: [2, 3, 1, 1] },
            inputExponent: -10,
            weightSteps: new Float32Array([2 ** -8, 2 ** -8]),
          }),
      ).toThrow(/sum bound/);
    });
  }
});

// through qwasm/onnx: x -> conv0 (3x3 stride 2, 3 -> 6) -> Relu -> conv1 (1x1, 6 -> 10) -> y, both
// on 16-bit grids. The exported file reloads with the same grids as QuantizeDequantize nodes
// and float32 convs of the grid values (no codes on its nodes): the float32 path.
function stem(H: number, W: number): Uint8Array {
  const rand = seededFloats(7);
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'stem16',
      node: [
        {
          ...node(
            'Conv',
            ['x', 'w0', 'b0'],
            ['t0'],
            [
              { name: 'pads', type: 7, ints: [1, 1, 1, 1] },
              { name: 'strides', type: 7, ints: [2, 2] },
            ],
          ),
          name: 'conv0',
        },
        node('Relu', ['t0'], ['r0']),
        { ...node('Conv', ['r0', 'w1', 'b1'], ['y']), name: 'conv1' },
      ],
      initializer: [
        init('w0', [6, 3, 3, 3], rand(6 * 27)),
        init('b0', [6], rand(6, -0.3, 0.3)),
        init('w1', [10, 6, 1, 1], rand(60)),
        init('b1', [10], rand(10, -0.3, 0.3)),
      ],
      input: [f32('x', [1, 3, H, W])],
      output: [f32('y', [1, 10, Math.ceil(H / 2), Math.ceil(W / 2)])],
    },
  });
}

describe('quantize int16 convolutions on the int16 kernel', () => {
  for (const [backend, qw] of qws) {
    it(`${backend}: gives the float32 path's bits (the reloaded export) on its own steps`, async () => {
      const H = 19;
      const W = 22;
      const rand = seededFloats(3);
      const feed = (lo = -2.1, hi = 2.6) => ({ x: { data: rand(3 * H * W, lo, hi), shape: [1, 3, H, W] } });
      const m = OnnxModel.load(qw, stem(H, W));
      const q = await m.quantize({ calibration: [feed(), feed()], int16: ['conv0', 'conv1'] });
      const ops = q.profile(feed()).map((s) => `${s.node} ${s.op}`);
      // each conv rounds its raw input to the grid itself: no QuantizeDequantize step
      expect(ops.filter((o) => o.includes('Conv (conv2d int16') && o.endsWith(' + rounding)'))).toHaveLength(2);
      expect(ops.filter((o) => o.includes('QuantizeDequantize'))).toHaveLength(0);
      const back = OnnxModel.load(qw, q.toOnnx());
      const backOps = back.profile(feed()).map((s) => s.op);
      expect(backOps.filter((o) => o.startsWith('Conv (conv2dF32'))).toHaveLength(2);
      expect(backOps.filter((o) => o.startsWith('QuantizeDequantize'))).toHaveLength(2);
      // beyond the grid's bound, NaN, +-Inf, -0
      const special = feed(-7, 9);
      special.x.data.set([NaN, Infinity, -Infinity, -0, 1e30, -1e-30], 40);
      for (const f of [feed(), feed(), feed(-7, 9), special]) {
        const a = q.run(f).y!.data;
        const b = back.run(f).y!.data;
        expect(firstDiff(a, b)).toBe(-1);
      }
      back.dispose();
      q.dispose();
      m.dispose();
    });
  }

  it('a threaded engine runs the float32 conv (split over its workers), with the same bits', async () => {
    const H = 21;
    const W = 16;
    const rand = seededFloats(9);
    const feed = () => ({ x: { data: rand(3 * H * W, -2.1, 2.6), shape: [1, 3, H, W] } });
    const calibration = [feed(), feed()];
    const one = qws.values().next().value!;
    const two = await Qwasm.create({ backend: one.backend, threads: 2 });
    const qs = [];
    for (const e of [one, two]) {
      const m = OnnxModel.load(e, stem(H, W));
      qs.push(await m.quantize({ calibration, int16: ['conv0', 'conv1'] }));
    }
    const f = feed();
    const ops = qs.map((q) => q.profile(f).map((s) => s.op));
    expect(ops[0]!.filter((o) => o.startsWith('Conv (conv2d int16'))).toHaveLength(2);
    expect(ops[0]!.filter((o) => o.startsWith('QuantizeDequantize'))).toHaveLength(0);
    expect(ops[1]!.filter((o) => o.startsWith('Conv (conv2dF32'))).toHaveLength(2);
    expect(ops[1]!.filter((o) => o.startsWith('QuantizeDequantize'))).toHaveLength(2);
    expect(firstDiff(qs[0]!.run(f).y!.data, qs[1]!.run(f).y!.data)).toBe(-1);
    two.dispose();
  });

  it('a 16-bit conv read by an int8 conv writes int8 codes from its epilogue, with the bits of the float32 conv then QuantizeLinear', async () => {
    const H = 23;
    const W = 18;
    const rand = seededFloats(11);
    const feed = (lo = -2.1, hi = 2.6) => ({ x: { data: rand(3 * H * W, lo, hi), shape: [1, 3, H, W] } });
    const calibration = [feed(), feed()];
    const one = qws.values().next().value!;
    const two = await Qwasm.create({ backend: one.backend, threads: 2 });
    const qs = [];
    for (const e of [one, two]) {
      const m = OnnxModel.load(e, stem(H, W));
      qs.push(await m.quantize({ calibration, int16: ['conv0'] }));
    }
    const f = feed();
    const ops = qs.map((q) => q.profile(f).map((s) => s.op));
    expect(ops[0]!.filter((o) => o.startsWith('Conv (conv2d int16') && o.endsWith(' + quantize)'))).toHaveLength(1);
    expect(ops[0]!.filter((o) => o.startsWith('QuantizeLinear'))).toHaveLength(0);
    expect(ops[1]!.filter((o) => o.startsWith('QuantizeLinear'))).toHaveLength(1);
    for (const x of [f, feed(), feed(-9, 12)]) expect(firstDiff(qs[0]!.run(x).y!.data, qs[1]!.run(x).y!.data)).toBe(-1);
    two.dispose();
  });
});
