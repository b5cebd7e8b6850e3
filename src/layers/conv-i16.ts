// A dense NHWC convolution of float32 inputs on a 16-bit grid (qwasm/onnx quantize's `int16`
// convolutions), run in int32 on int16 codes (assembly/conv/int16.ts): the input x is read as
// codes on the grid of step 2^a with QuantizeLinear's arithmetic, clamp(roundHalfEven(x / 2^a),
// lo, hi) (NaN to 0), so a value on the grid within [lo, hi] is its own code and any other value
// is rounded to the grid as qwasm.QuantizeDequantize rounds it; the weights are int16 codes with
// a step per output channel, the bias int32 codes at 2^a times that step. When every channel's
// sum of |weight codes| times the input code bound, plus |bias code|, stays below 2^24 (checked
// here), the float32 output is exact: the same bits as a float32 conv of the rounded values in
// any summation order. The output may also be quantized to int8 in the epilogue (runInt8, or
// runAt with an output quantization): QuantizeLinear of that exact float32 value.
import { check } from '../errors.js';
import type { Runtime, Workspace } from '../runtime.js';
import type { Tensor } from '../tensor.js';
import type { Activation } from '../ops/epilogue.js';
import { LayerMemory } from './layer.js';
import { activationBounds, checkActivation } from './resolve.js';

/** The largest sum bound a float32 holds exactly: every integer up to it is a float32. */
const EXACT_SUM = 2 ** 24 - 1;

/**
 * Configuration of {@link ConvI16}.
 *
 * @example
 * ```ts
 * const cfg: ConvI16Config = { weights: { data: wq, shape: [16, 3, 3, 3] }, inputExponent: -12, weightSteps, strides: [2, 2], pads: [1, 1, 1, 1] };
 * ```
 */
export interface ConvI16Config {
  /** Weight codes in ONNX order OIHW: [M, C, kH, kW] (dense: group 1). */
  weights: { data: Int16Array; shape: readonly number[] };
  /** The input's step is 2^inputExponent (an integer). */
  inputExponent: number;
  /** Each output channel's weight step (powers of two), M values. */
  weightSteps: Float32Array;
  /** Bias codes (int32) at 2^inputExponent * weightSteps[c]; none when absent. */
  bias?: Int32Array | null;
  /** The bound |input code| stays within (default 32767). */
  inputCodes?: number;
  /**
   * The codes' clamp [lo, hi] (whole codes within +-inputCodes; default +-inputCodes): the
   * bounds of the QuantizeDequantize rounding the conv takes on.
   */
  inputRange?: readonly [number, number];
  /** [strideH, strideW], default [1, 1]. */
  strides?: readonly number[];
  /** [top, left, bottom, right], default zeros. */
  pads?: readonly number[];
  /** [dilationH, dilationW], default [1, 1]. */
  dilations?: readonly number[];
  /** Clamp fused into the epilogue: 'none' (default), 'relu' or 'relu6'. */
  activation?: Activation;
}

/** Where one input shape's conv reads and writes: from {@link ConvI16.planInput}. */
export interface ConvI16Plan {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly OH: number;
  readonly OW: number;
  /** The input is NCHW (else NHWC). */
  readonly nchw: boolean;
  /**
   * 'chunks': a 1x1 stride-1 unpadded conv with C even on NHWC input, converted to codes a chunk of
   * pixels at a time; 'padded': the whole input converted to padded codes first, then read
   * directly ('direct', 1x1 stride 1 with C even) or gathered per output row ('gather').
   */
  readonly mode: 'chunks' | 'direct' | 'gather';
  /** Bytes of the padded codes (with the gather's 16 bytes of slack), or of one chunk's codes. */
  readonly padBytes: number;
  /** Bytes of one output row's gathered codes (mode 'gather'), else 0. */
  readonly colBytes: number;
}

/** An int8 quantization of the conv's output (scale > 0 and finite, zero point in [-128, 127]). */
export interface ConvI16Output {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Pixels of one chunk (assembly/conv/int16.ts CHUNK). */
const CHUNK = 64;

/**
 * The convolution of {@link ConvI16Config} (made by the engine's qwasm/onnx plans, or
 * `new ConvI16(rt, config)`): weights packed once; {@link ConvI16.runAt} runs on data in wasm
 * memory and allocates nothing once its scratch has its size.
 */
export class ConvI16 extends LayerMemory {
  readonly M: number;
  readonly C: number;
  readonly kH: number;
  readonly kW: number;
  private readonly strides: [number, number];
  private readonly pads: [number, number, number, number];
  private readonly dilations: [number, number];
  private readonly step: number;
  private readonly xLo: number;
  private readonly xHi: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly weights: number;
  private readonly bias: number;
  private readonly scale: number;
  private readonly padBuf: Workspace;
  private readonly colBuf: Workspace;

  constructor(rt: Runtime, cfg: ConvI16Config) {
    rt.live();
    const shape = cfg.weights.shape;
    const wq = cfg.weights.data;
    check(shape.length === 4 && shape.every((d) => Number.isInteger(d) && d > 0), 'weights', 'must be [M, C, kH, kW]');
    const [M, C, kH, kW] = shape as [number, number, number, number];
    check(
      wq instanceof Int16Array && wq.length === M * C * kH * kW,
      'weights',
      `must hold ${M * C * kH * kW} int16 codes`,
    );
    const a = cfg.inputExponent;
    check(Number.isInteger(a) && a >= -126 && a <= 127, 'inputExponent', 'must be an integer in [-126, 127]');
    const steps = cfg.weightSteps;
    check(steps instanceof Float32Array && steps.length === M, 'weightSteps', `must hold ${M} float32 values`);
    const bias = cfg.bias ?? null;
    check(bias === null || (bias instanceof Int32Array && bias.length === M), 'bias', `must hold ${M} int32 codes`);
    const q = cfg.inputCodes ?? 32767;
    check(Number.isInteger(q) && q >= 0 && q <= 32767, 'inputCodes', 'must be an integer in [0, 32767]');
    const range = cfg.inputRange ?? [-q, q];
    const [xLo, xHi] = range as [number, number];
    check(
      range.length === 2 && Number.isInteger(xLo) && Number.isInteger(xHi) && -q <= xLo && xLo <= xHi && xHi <= q,
      'inputRange',
      `must be 2 integers lo <= hi within [-${q}, ${q}]`,
    );
    const strides = pair(cfg.strides, 'strides', 1);
    const dilations = pair(cfg.dilations, 'dilations', 1);
    const pads = cfg.pads ?? [0, 0, 0, 0];
    check(
      pads.length === 4 && pads.every((v) => Number.isInteger(v) && v >= 0),
      'pads',
      'must be 4 non-negative integers',
    );
    const { lo, hi } = activationBounds(checkActivation(cfg.activation, 'activation'));
    const K = C * kH * kW;
    const KP = (K + 1) >> 1;
    const Mp = Math.ceil(M / 8) * 8;
    const scales = new Float32Array(Mp);
    for (let c = 0; c < M; c++) {
      const s = steps[c]!;
      check(
        s > 0 && Number.isFinite(s) && 2 ** Math.round(Math.log2(s)) === s,
        'weightSteps',
        `[${c}] is not a power of two`,
      );
      const scale = Math.fround(2 ** a * s);
      check(
        scale === 2 ** a * s && scale > 0 && Number.isFinite(scale),
        'weightSteps',
        `[${c}] times 2^${a} is no float32`,
      );
      scales[c] = scale;
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.abs(wq[c * K + k]!);
      const b = bias === null ? 0 : Math.abs(bias[c]!);
      check(sum * q + b <= EXACT_SUM, 'weights', `channel ${c}: its sum bound ${sum * q + b} exceeds 2^24 - 1`);
    }
    // blocks of 8 channels, k in pairs: [c0 k, c0 k+1, c1 k, c1 k+1, ..., c7 k+1] per pair
    const packed = new Int16Array(Mp * KP * 2);
    for (let m = 0; m < M; m++) {
      const base = (m >> 3) * KP * 16 + (m & 7) * 2;
      for (let i = 0; i < kH; i++) {
        for (let j = 0; j < kW; j++) {
          for (let c = 0; c < C; c++) {
            const k = (i * kW + j) * C + c;
            packed[base + (k >> 1) * 16 + (k & 1)] = wq[((m * C + c) * kH + i) * kW + j]!;
          }
        }
      }
    }
    super(rt);
    this.M = M;
    this.C = C;
    this.kH = kH;
    this.kW = kW;
    this.strides = strides;
    this.dilations = dilations;
    this.pads = [pads[0]!, pads[1]!, pads[2]!, pads[3]!];
    this.step = 2 ** a;
    this.xLo = xLo;
    this.xHi = xHi;
    this.lo = lo;
    this.hi = hi;
    this.padBuf = this.workspace();
    this.colBuf = this.workspace();
    try {
      this.weights = rt.heap.alloc(packed.byteLength, 'weights');
      this.blocks.push(this.weights);
      rt.heap.i16.set(packed, this.weights >> 1);
      this.bias = rt.heap.alloc(Mp * 4, 'bias');
      this.blocks.push(this.bias);
      rt.heap.i32.fill(0, this.bias >> 2, (this.bias >> 2) + Mp);
      if (bias !== null) rt.heap.i32.set(bias, this.bias >> 2);
      this.scale = rt.heap.alloc(Mp * 4, 'weightSteps');
      this.blocks.push(this.scale);
      rt.heap.f32.set(scales, this.scale >> 2);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /**
   * The plan for float32 inputs of `shape` [N, H, W, C] (the NHWC shape, also when the data is
   * NCHW: `nchw` true): what {@link ConvI16.runAt} takes.
   */
  planInput(shape: readonly number[], nchw = false): ConvI16Plan {
    this.live();
    check(shape.length === 4 && shape[3] === this.C, 'x', `must be [N, H, W, ${this.C}]`);
    const [N, H, W] = shape as [number, number, number, number];
    const [pT, pL, pB, pR] = this.pads;
    const [sH, sW] = this.strides;
    const [dH, dW] = this.dilations;
    const Hp = H + pT + pB;
    const Wp = W + pL + pR;
    const OH = Math.floor((Hp - ((this.kH - 1) * dH + 1)) / sH) + 1;
    const OW = Math.floor((Wp - ((this.kW - 1) * dW + 1)) / sW) + 1;
    check(OH > 0 && OW > 0, 'x', 'is smaller than the kernel');
    const direct =
      this.kH === 1 && this.kW === 1 && sH === 1 && sW === 1 && this.C % 2 === 0 && pT + pL + pB + pR === 0;
    const Kp = ((this.C * this.kH * this.kW + 1) >> 1) * 2;
    const mode = direct ? (nchw ? 'direct' : 'chunks') : 'gather';
    return {
      N,
      H,
      W,
      OH,
      OW,
      nchw,
      mode,
      padBytes: mode === 'chunks' ? CHUNK * this.C * 2 : N * Hp * Wp * this.C * 2 + 16,
      colBytes: mode === 'gather' ? OW * Kp * 2 + 16 : 0,
    };
  }

  /**
   * Runs the conv of `plan` on float32 x at address xp (NHWC or as planned NCHW; rounded to the
   * input grid as it is read) into NHWC float32 y at yp, or with `output` into NHWC int8 codes
   * of that quantization (QuantizeLinear of the float32 output: a true division by the scale,
   * ties to even, saturated to [-128, 127]). Validates nothing.
   */
  runAt(plan: ConvI16Plan, xp: number, yp: number, output?: ConvI16Output): void {
    const k = this.rt.kernels;
    const qs = output === undefined ? 0 : Math.fround(output.scale);
    const qzp = output === undefined ? 0 : output.zeroPoint;
    const [pT, pL, pB, pR] = this.pads;
    const pad = this.padBuf.ensure(plan.padBytes, 'x');
    if (plan.mode === 'chunks') {
      const P = plan.N * plan.H * plan.W;
      k.conv_i16_1x1_f32(
        xp,
        P,
        this.C,
        this.step,
        this.xLo,
        this.xHi,
        this.M,
        this.weights,
        this.bias,
        this.scale,
        this.lo,
        this.hi,
        yp,
        pad,
        qs,
        qzp,
      );
      return;
    }
    const col = plan.mode === 'gather' ? this.colBuf.ensure(plan.colBytes, 'x') : 0;
    k.conv_i16_pad(
      xp,
      plan.N,
      plan.H,
      plan.W,
      this.C,
      pT,
      pL,
      pB,
      pR,
      this.step,
      this.xLo,
      this.xHi,
      plan.nchw ? 1 : 0,
      pad,
    );
    k.conv_i16_f32(
      pad,
      plan.N,
      plan.H + pT + pB,
      plan.W + pL + pR,
      this.C,
      this.kH,
      this.kW,
      this.strides[0],
      this.strides[1],
      this.dilations[0],
      this.dilations[1],
      plan.OH,
      plan.OW,
      this.M,
      this.weights,
      this.bias,
      this.scale,
      this.lo,
      this.hi,
      yp,
      col,
      qs,
      qzp,
    );
  }

  /**
   * Runs on arrays: x float32 [N, H, W, C] (or, with `nchw`, [N, C, H, W]) -> y NHWC float32
   * [N, OH, OW, M].
   */
  run(x: Tensor<Float32Array>, nchw = false): Tensor<Float32Array> {
    return this.runArrays(x, nchw, undefined) as Tensor<Float32Array>;
  }

  /** As {@link ConvI16.run}, with the output quantized to int8 codes [N, OH, OW, M] in the kernel. */
  runInt8(x: Tensor<Float32Array>, output: ConvI16Output, nchw = false): Tensor<Int8Array> {
    checkOutput(output);
    return this.runArrays(x, nchw, output) as Tensor<Int8Array>;
  }

  private runArrays(
    x: Tensor<Float32Array>,
    nchw: boolean,
    output: ConvI16Output | undefined,
  ): Tensor<Float32Array | Int8Array> {
    const s = x.shape;
    const plan = this.planInput(nchw ? [s[0]!, s[2]!, s[3]!, s[1]!] : s, nchw);
    const heap = this.rt.heap;
    const count = plan.N * plan.OH * plan.OW * this.M;
    const xp = heap.alloc(x.data.length * 4 + 16, 'x');
    let yp = 0;
    try {
      yp = heap.alloc(count * 4 + 16, 'x');
      heap.f32.set(x.data, xp >> 2);
      this.runAt(plan, xp, yp, output);
      const shape = [plan.N, plan.OH, plan.OW, this.M];
      if (output !== undefined) return { data: heap.i8.slice(yp, yp + count), shape };
      return { data: heap.f32.slice(yp >> 2, (yp >> 2) + count), shape };
    } finally {
      if (yp !== 0) heap.release(yp);
      heap.release(xp);
    }
  }
}

function checkOutput(output: ConvI16Output): void {
  const s = Math.fround(output.scale);
  check(s > 0 && Number.isFinite(s), 'output.scale', 'must be a positive finite float32');
  const z = output.zeroPoint;
  check(Number.isInteger(z) && z >= -128 && z <= 127, 'output.zeroPoint', 'must be an integer in [-128, 127]');
}

function pair(v: readonly number[] | undefined, name: string, dflt: number): [number, number] {
  const p = v ?? [dflt, dflt];
  check(p.length === 2 && p.every((d) => Number.isInteger(d) && d >= 1), name, 'must be 2 positive integers');
  return [p[0]!, p[1]!];
}
