// The int4-weight fully-connected layer behind `qw.linear({ weightBits: 4, ... })`:
// weights stay 4-bit in wasm memory (half the bytes of int8 weights, a quarter of the
// int16 panels the int8 layer keeps) and are unpacked inside the microkernel
// (assembly/gemm/int4.ts); int8 / uint8 activations; the same fused epilogues.
//
// Per-group scales along K: one weight scale per (output channel, group of K) cannot
// be folded into a single requantization multiplier, so the kernel converts each
// group's exact int32 sum to float32 and accumulates sum_g f32(acc_g) * m_g[n] with
// m_g[n] = f32(f32(sx * sw[n, g]) / sy); the bias (float32, real units, divided by sy)
// is added once and the result rounded half to even. That path is fp32 requantization
// only ('fixedpoint' has no per-group form) and is bit-exact across builds, not
// against onnxruntime (which has no per-group int4 QLinearMatMul to match).
import { describe, readObject } from '../args.js';
import { QwasmError, check } from '../errors.js';
import { PackedLayer } from './linear.js';
import { Workspace, type Runtime } from '../runtime.js';
import { readField, readShape, readTypedArray, type QuantDtype, type Tensor } from '../tensor.js';
import { dtypeRange } from '../quant/dtype.js';
import { readBias, resolveScale, type Scale } from '../quant/params.js';
import { fp32Multiplier } from '../quant/multiplier.js';
import { EpilogueParams, activationRange, type Activation, type Requant } from '../ops/epilogue.js';
import { checkAccumulation, checkBiasRange, maxCentred, packedActivationBytes } from '../ops/gemm.js';
import type { QuantSpec } from './linear.js';
import { resolveLayerQuant } from './resolve.js';

/**
 * Configuration of `qw.linear` with int4 weights.
 *
 * @example
 * ```ts
 * const cfg: LinearInt4Config = {
 *   weightBits: 4,
 *   weights: { data: packInt4(q, [N, K]), shape: [N, K] },
 *   weightScale: scales,            // N values, or N * ceil(K / groupSize) with groupSize
 *   input: { scale: 0.05, zeroPoint: 0 },
 *   output: { scale: 0.1, zeroPoint: 0 },
 * };
 * ```
 */
export interface LinearInt4Config {
  /** Selects the int4 layer in `qw.linear`. */
  weightBits: 4;
  /**
   * Weights [N, K]: packed two per byte (a Uint8Array of N * ceil(K / 2) bytes, see
   * packInt4) or one signed value in [-8, 7] per Int8Array element. Symmetric: the
   * weight zero point is 0.
   */
  weights: Tensor<Uint8Array> | Tensor<Int8Array>;
  /** Per tensor, per output channel (N values) or, with groupSize, N x ceil(K / groupSize) row-major. */
  weightScale: Scale;
  /** Elements of K sharing one scale (a multiple of 4, e.g. 32, 64, 128); per channel when absent. */
  groupSize?: number;
  /**
   * Bias: an Int32Array with scale inputScale * weightScale (per tensor / per channel), or
   * a Float32Array in real units (required form with groupSize: no single weight scale
   * exists to give an int32 bias its scale).
   */
  bias?: Int32Array | Float32Array;
  /** Quantization of the input; its dtype (int8 by default) is the output's too. */
  input: QuantSpec;
  /** Quantization of the output, in the input's dtype. */
  output: Omit<QuantSpec, 'dtype'>;
  /** Clamp fused after requantization: 'none' (default), 'relu' or 'relu6'. */
  activation?: Activation;
  /** 'fp32' (default) or 'fixedpoint'; per-group weights support 'fp32' only. */
  requant?: Requant;
}

/** Reads the config's weights once, validates them and returns one signed value per element. */
function readInt4Weights(w: unknown): { values: (n: number, k: number) => number; N: number; K: number } {
  check(typeof w === 'object' && w !== null, 'weights', () => `expected a tensor { data, shape }, got ${describe(w)}`);
  const data = readTypedArray(readField(w, 'data', 'weights'), 'weights');
  const shape = readShape(readField(w, 'shape', 'weights'), 'weights');
  check(shape.length === 2, 'weights', () => `must be 2-D [N, K], got shape ${describe(shape)}`);
  const [N, K] = shape as [number, number];
  check(N > 0 && K > 0, 'weights', `must not be empty, got shape [${N}, ${K}]`);
  if (data instanceof Uint8Array) {
    // packed: N rows of ceil(K / 2) bytes (the shape is the logical [N, K])
    const rowBytes = Math.ceil(K / 2);
    check(
      data.length === N * rowBytes,
      'weights',
      `packed int4 [${N}, ${K}] needs ${N * rowBytes} bytes, got ${data.length}`,
    );
    return {
      N,
      K,
      values: (n, k) => (((data[n * rowBytes + (k >> 1)]! >> ((k & 1) * 4)) & 15) << 28) >> 28,
    };
  }
  if (data instanceof Int8Array) {
    check(data.length === N * K, 'weights', `data has ${data.length} elements but shape [${N}, ${K}] needs ${N * K}`);
    for (let i = 0; i < data.length; i++) {
      check(data[i]! >= -8 && data[i]! <= 7, 'weights', `${data[i]} at ${i} is outside the int4 range [-8, 7]`);
    }
    return { N, K, values: (n, k) => data[n * K + k]! };
  }
  throw new QwasmError('weights', `expected Uint8Array (packed int4) or Int8Array data, got ${describe(data)}`);
}

/**
 * Bytes of the int4 weight panels of an N x K matrix: per 8 columns, ceil(K / 4)
 * 16-byte quads (half a byte per weight, plus padding).
 */
export function packedInt4Bytes(N: number, K: number): number {
  return Math.ceil(N / 8) * Math.ceil(Math.ceil(K / 2) / 2) * 16;
}

/**
 * Packs int4 weights into the kernel's quad layout (assembly/gemm/int4.ts): per panel of
 * 8 columns and per quad q (k = 4q .. 4q + 3), 16-bit lane i (column c = i >> 1,
 * kk = i & 1) holds w[c][4q + kk], w[c + 4][4q + kk], w[c][4q + 2 + kk] and
 * w[c + 4][4q + 2 + kk] in its four nibbles, lowest first.
 */
export function packInt4Panels(values: (n: number, k: number) => number, N: number, K: number): Uint8Array {
  const kQuads = Math.ceil(Math.ceil(K / 2) / 2);
  const panels = Math.ceil(N / 8);
  const out = new Uint8Array(panels * kQuads * 16);
  const at = (n: number, k: number) => (n < N && k < K ? values(n, k) & 15 : 0);
  let d = 0;
  for (let p = 0; p < panels; p++) {
    for (let q = 0; q < kQuads; q++) {
      for (let i = 0; i < 8; i++) {
        const c = p * 8 + (i >> 1);
        const k = 4 * q + (i & 1);
        out[d++] = at(c, k) | (at(c + 4, k) << 4);
        out[d++] = at(c, k + 2) | (at(c + 4, k + 2) << 4);
      }
    }
  }
  return out;
}

/**
 * An int4-weight fully-connected layer (see `qw.linear` with `weightBits: 4`): int8 or
 * uint8 activations in and out, weights unpacked from nibbles inside the GEMM.
 *
 * @example
 * ```ts
 * const { weights, weightScale } = quantizeWeightsInt4({ data: wf, shape: [N, K] });
 * const fc = qw.linear({ weightBits: 4, weights, weightScale, input, output });
 * const y = fc.run(x); // Int8Array of M x N
 * fc.dispose();
 * ```
 */
export class LinearInt4 extends PackedLayer<Int8Array | Uint8Array, Int8Array | Uint8Array> {
  /** K: the length of one input row. */
  readonly inFeatures: number;
  /** N: the length of one output row. */
  readonly outFeatures: number;
  /** The input and output dtype (`input.dtype`, int8 by default). */
  readonly dtype: QuantDtype;
  /** Elements of K per weight scale, or 0 for per-tensor / per-channel scales. */
  readonly groupSize: number;
  private readonly za: number;
  private readonly weights: number;
  private readonly params: number;
  private readonly epi: EpilogueParams | null;
  private readonly xBuf: Workspace;
  private readonly aBuf: Workspace;

  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime, config: LinearInt4Config) {
    super(rt);
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    check(cfg.weightBits === 4, 'weightBits', () => `must be 4 here, got ${describe(cfg.weightBits)}`);
    const w = readInt4Weights(cfg.weights);
    const { N, K } = w;
    const groupSize = cfg.groupSize ?? 0;
    check(
      groupSize === 0 || (Number.isInteger(groupSize) && groupSize > 0 && groupSize % 4 === 0),
      'groupSize',
      `must be a positive multiple of 4, got ${describe(cfg.groupSize)}`,
    );
    const groups = groupSize > 0 ? Math.ceil(K / groupSize) : 0;
    const ws = resolveScale(cfg.weightScale, 'weightScale', groupSize > 0 ? N * groups : N);
    const q = resolveLayerQuant(cfg);
    const { dtype, activation, requant } = q;
    const sx = q.inputScale;
    const sy = q.outputScale;
    const zy = q.outputZeroPoint;
    const zx = Int32Array.of(q.inputZeroPoint);
    check(
      groupSize === 0 || requant === 'fp32',
      'requant',
      "per-group int4 weights support 'fp32' requantization only",
    );
    if (groupSize > 0) {
      // the grouped epilogue multiplies in float32: every multiplier must exist there
      for (let i = 0; i < ws.length; i++) {
        check(
          Number.isFinite(fp32Multiplier(sx, ws[i]!, sy)),
          'output.scale',
          'the requantization multiplier (input scale x weight scale) / output scale overflows float32',
        );
      }
    }
    // real-unit float bias with per-group weights, int32 (scale inputScale * weightScale) per channel
    const bias = groupSize > 0 ? readBias(cfg.bias, Float32Array, N) : readBias(cfg.bias, Int32Array, N);
    // |a - za| <= 255 and |w| <= 8
    checkAccumulation(K, maxCentred(dtype, zx), 8, 'weights');
    if (bias instanceof Int32Array) checkBiasRange(bias, K, maxCentred(dtype, zx), 8);
    this.inFeatures = K;
    this.outFeatures = N;
    this.dtype = dtype;
    this.groupSize = groupSize;
    this.za = zx[0]!;
    this.xBuf = this.workspace();
    this.aBuf = this.workspace();
    const { qmin, qmax } = dtypeRange(dtype);
    const panels = packInt4Panels(w.values, N, K);
    try {
      this.weights = rt.heap.alloc(panels.length, 'weights');
      this.blocks.push(this.weights);
      rt.heap.u8.set(panels, this.weights);
      if (groupSize === 0) {
        this.epi = EpilogueParams.requant(rt, N, {
          requant,
          outputScaleName: 'output.scale',
          inputScale: sx,
          weightScale: ws,
          outputScale: sy,
          outputZeroPoint: zy,
          qmin,
          qmax,
          signed: dtype === 'int8',
          bias: bias as Int32Array | undefined,
          activation,
        });
        this.params = this.epi.ptr;
        this.blocks.push(this.params);
      } else {
        this.epi = null;
        this.params = this.writeGroupedParams(
          N,
          groups,
          ws,
          sx,
          sy,
          zy,
          qmin,
          qmax,
          activation,
          bias as Float32Array | undefined,
        );
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** The grouped epilogue block (layout in assembly/gemm/int4.ts). */
  private writeGroupedParams(
    N: number,
    groups: number,
    ws: Float32Array,
    sx: number,
    sy: number,
    zy: number,
    qmin: number,
    qmax: number,
    activation: Activation,
    bias: Float32Array | undefined,
  ): number {
    const rt = this.rt;
    const panels = Math.ceil(N / 8);
    const np = panels * 8;
    const multBytes = panels * groups * 8 * 4;
    const ptr = rt.heap.alloc(64 + multBytes + np * 4, 'weights');
    this.blocks.push(ptr);
    const mults = ptr + 64;
    const biasPtr = mults + multBytes;
    const f32 = rt.heap.f32;
    const i32 = rt.heap.i32;
    f32.fill(0, ptr >> 2, (biasPtr >> 2) + np);
    for (let n = 0; n < N; n++) {
      const p = n >> 3;
      const j = n & 7;
      for (let g = 0; g < groups; g++) {
        f32[(mults >> 2) + (p * groups + g) * 8 + j] = fp32Multiplier(sx, ws[n * groups + g]!, sy);
      }
    }
    if (bias) for (let n = 0; n < N; n++) f32[(biasPtr >> 2) + n] = Math.fround(bias[n]! / Math.fround(sy));
    const act = activationRange(activation, sy, zy, qmin, qmax);
    const h = ptr >> 2;
    i32[h] = mults;
    i32[h + 1] = bias ? biasPtr : 0;
    i32[h + 2] = zy;
    i32[h + 3] = act.qmin;
    i32[h + 4] = act.qmax;
    i32[h + 5] = this.dtype === 'int8' ? 1 : 0;
    i32[h + 6] = this.groupSize / 2;
    return ptr;
  }

  /** Bytes of the packed int4 weights in wasm memory (requantization constants not counted). */
  get packedBytes(): number {
    return packedInt4Bytes(this.outFeatures, this.inFeatures);
  }

  protected get ioType(): QuantDtype {
    return this.dtype;
  }

  protected start(x: Int8Array | Uint8Array, out?: Int8Array | Uint8Array): Int8Array | Uint8Array {
    const y = this.begin(x, out);
    const M = this.rows;
    if (M === 0) return y;
    const signed = this.dtype === 'int8';
    const K = this.inFeatures;
    const N = this.outFeatures;
    // K rounded up to whole quads: the kernel has no k-pair tail (assembly/gemm/int4.ts)
    const K4 = Math.ceil(K / 4) * 4;
    const xp = this.xBuf.ensure(M * K, 'x');
    const ap = this.aBuf.ensure(packedActivationBytes(M, K4), 'x');
    const yp = this.yBuf.ensure(M * N, 'x');
    const heap = this.rt.heap;
    if (signed) heap.i8.set(x, xp);
    else heap.u8.set(x, xp);
    // the int4 tile has its own height (assembly/gemm/int4.ts)
    this.rt.kernels.pack_a_s16(xp, M, K4, K, signed ? 1 : 0, this.za, this.rt.kernels.gemm_s4_mr(), ap);
    const kPairs = K4 / 2;
    if (this.epi !== null) this.rt.kernels.gemm_s4(ap, this.weights, M, N, kPairs, yp, N, this.epi.kind, this.params);
    else this.rt.kernels.gemm_s4_grouped(ap, this.weights, M, N, kPairs, yp, N, this.params);
    return y;
  }
}
