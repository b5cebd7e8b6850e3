// Prepacked fully-connected layers: weights packed once into wasm memory, one kernel
// call per run, no allocation when the caller passes `out`.
import { quantizeRowsSymmetric } from '../quant/weights.js';
import { activationBounds, checkActivation, layerRequantSpec, resolveLayerQuant } from './resolve.js';
import { check } from '../errors.js';
import { Runtime, Workspace } from '../runtime.js';
import { article, readObject } from '../args.js';
import {
  checkDtype,
  copyInto,
  lengthOfKind,
  newTypedArray,
  readTensor,
  type QuantDtype,
  type Tensor,
  type TypedArrayKind,
} from '../tensor.js';
import { readBias, resolveScale, resolveZeroPoint, type Scale } from '../quant/params.js';
import { EpilogueParams, type Activation, type Requant } from '../ops/epilogue.js';
import {
  GemvWeights,
  checkAccumulation,
  checkBiasRange,
  maxCentred,
  packActivations,
  packWeights,
  packedActivationBytes,
  packedWeightBytes,
} from '../ops/gemm.js';
import { dynamicParams } from '../ops/quantize.js';
import { Layer } from './layer.js';
import { isResidualPair, resolveResidual, type ResidualConfig, type ResidualSpec } from './residual.js';

/**
 * Quantization of a layer's input or output: `real = scale * (q - zeroPoint)`.
 *
 * @example
 * ```ts
 * const input: QuantSpec = { scale: 0.05, zeroPoint: 128, dtype: 'uint8' };
 * ```
 */
export interface QuantSpec {
  /** Real value of one integer step, per tensor; positive and finite. */
  scale: number;
  /** The integer code of real 0, inside the dtype's range. */
  zeroPoint: number;
  /** int8 (default) or uint8; a layer's output has its input's dtype. */
  dtype?: QuantDtype;
}

/**
 * Configuration of {@link Qwasm.linear}.
 *
 * @example
 * ```ts
 * const cfg: LinearConfig = {
 *   weights: { data: w, shape: [N, K] },
 *   weightScale: 0.02,
 *   input: { scale: 0.05, zeroPoint: 0 },
 *   output: { scale: 0.1, zeroPoint: 0 },
 *   activation: 'relu',
 * };
 * const fc = qw.linear(cfg);
 * ```
 */
export interface LinearConfig {
  /** Weight precision: 8 (default). `weightBits: 4` selects the int4 layer (LinearInt4Config). */
  weightBits?: 8;
  /** Weights [N, K] (out_features x in_features), int8. */
  weights: Tensor<Int8Array>;
  /** Per tensor, or per output channel (N values). */
  weightScale: Scale;
  /** Weight zero point, 0 (symmetric) by default. */
  weightZeroPoint?: number;
  /** int32 bias with scale inputScale * weightScale. */
  bias?: Int32Array;
  /** Quantization of the input; its dtype (int8 by default) is the output's too. */
  input: QuantSpec;
  /** Quantization of the output, in the input's dtype. */
  output: Omit<QuantSpec, 'dtype'>;
  /** Clamp fused after requantization: 'none' (default), 'relu' or 'relu6'. */
  activation?: Activation;
  /** 'fp32' (default: ONNX, bit-exact with onnxruntime) or 'fixedpoint' (TFLite). */
  requant?: Requant;
  /**
   * A residual add fused into the epilogue: the layer returns QLinearAdd(linear output,
   * residual) (after `activation`), the residual (M x N, row-major) given per call as
   * `run([x, residual])`. `output` is then the quantization of the product before the
   * add; `residual.output` is the layer's result.
   */
  residual?: ResidualConfig;
}

/**
 * The input of a {@link Linear}: x (M x K), or [x, residual] (residual M x N) for a layer
 * with a fused residual add.
 *
 * @example
 * ```ts
 * const input: LinearInput = [x, skip]; // x: M * K codes, skip: M * N codes
 * ```
 */
export type LinearInput = Int8Array | Uint8Array | readonly [Int8Array | Uint8Array, Int8Array | Uint8Array];

/** Reads 2-D [N, K] layer weights once; returns the snapshot and its dims. */
export function readLayerWeights<T extends Int8Array | Float32Array>(
  w: unknown,
  name: string,
  type: new (n: number) => T,
): { data: T; N: number; K: number } {
  const t = readTensor(w, name);
  checkDtype(t, name, type);
  check(t.shape.length === 2, name, `must be 2-D [N, K], got shape [${t.shape.join(', ')}]`);
  const [N, K] = t.shape as [number, number];
  check(N > 0 && K > 0, name, `must not be empty, got shape [${N}, ${K}]`);
  return { data: t.data as T, N, K };
}

/**
 * Rows of a layer input of `kind` with `K` values per row, and the same check of the
 * caller's `out` (room for rows x N values), through the arrays' true lengths.
 */
export function rowsOf(x: unknown, kind: TypedArrayKind, K: number, out: unknown, N: number): number {
  const len = lengthOfKind(x, kind);
  check(len >= 0, 'x', `must be ${article(kind)} (the layer's input dtype)`);
  check(len % K === 0, 'x', `has ${len} elements, not a whole number of rows of K = ${K}`);
  const M = len / K;
  if (out !== undefined && out !== null) {
    const outLen = lengthOfKind(out, kind);
    check(outLen >= 0, 'out', `must be ${article(kind)}`);
    check(outLen >= M * N, 'out', `has ${outLen} elements, needs ${M * N}`);
  }
  return M;
}

/** The linear layers' base: an output row of `outFeatures` values in `yBuf`. */
export abstract class PackedLayer<X, Y extends Int8Array | Uint8Array | Float32Array> extends Layer<X, Y> {
  /** Rows of the call in progress, from its start to its copy-out. */
  protected rows = 0;
  /** Output features (N): the width of an output row. */
  abstract readonly outFeatures: number;
  /** The output block the kernel writes. */
  protected readonly yBuf: Workspace;

  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime) {
    super(rt);
    this.yBuf = this.workspace();
  }

  protected collect(y: Y): Y {
    const n = this.rows * this.outFeatures;
    if (n > 0) copyInto(y, this.outputView(n));
    return y;
  }

  /** K: the length of one input row. */
  abstract readonly inFeatures: number;
  /** The element type of the input and output. */
  protected abstract readonly ioType: QuantDtype | 'float32';

  private get ioKind(): TypedArrayKind {
    return this.ioType === 'int8' ? 'Int8Array' : this.ioType === 'uint8' ? 'Uint8Array' : 'Float32Array';
  }

  /** A view of the first n outputs in `yBuf`. */
  protected outputView(n: number): Y {
    const t = this.ioType;
    return (
      t === 'int8'
        ? this.yBuf.view(Int8Array, n)
        : t === 'uint8'
          ? this.yBuf.view(Uint8Array, n)
          : this.yBuf.view(Float32Array, n)
    ) as Y;
  }

  /** A new output array of n values. */
  private newOutput(n: number): Y {
    return newTypedArray(this.ioKind, n) as Y;
  }

  /**
   * The prelude of every run: the live check, the rows of `x` and the room in `out`
   * (both by their arrays' true lengths) and the output array. Sets `rows`; 0 means
   * there is nothing to compute.
   */
  protected begin(x: X, out: Y | undefined | null): Y {
    this.live();
    this.rows = 0;
    const M = rowsOf(x, this.ioKind, this.inFeatures, out, this.outFeatures);
    const y = out ?? this.newOutput(M * this.outFeatures);
    this.rows = M;
    return y;
  }
}

/**
 * The int8 linear layers' product: int16 weight panels packed once, a requantizing or
 * dequantizing epilogue, and the gemv path (int8 weights, built on first use) for the few
 * rows where the build's registry says it wins.
 */
abstract class Int8ProductLayer<X, Y extends Int8Array | Uint8Array | Float32Array> extends PackedLayer<X, Y> {
  protected weights = 0;
  protected epi: EpilogueParams | null = null;
  private gemv: GemvWeights | null = null;
  private readonly aBuf = this.workspace();
  private readonly loBuf = this.workspace();
  private readonly hiBuf = this.workspace();

  /** Packs N x K int8 weights minus their (per-tensor or per-column) zero points into panels. */
  protected packInt8Weights(data: Int8Array, N: number, K: number, zw: Int32Array): void {
    const rt = this.rt;
    this.weights = rt.scoped((alloc) => {
      const src = alloc(N * K, 'weights');
      rt.heap.i8.set(data, src);
      return packWeights(rt, src, N, K, K, 1, true, zw);
    });
    this.blocks.push(this.weights);
    // the gemv kernels take int8 weights: only symmetric ones fit after the zero point
    if (zw.length === 1 && zw[0] === 0 && rt.config.gemvRows > 0) this.gemv = new GemvWeights(rt, this.weights, N, K);
  }

  /** Runs M rows of 8-bit activations at `xp` (zero point `za`) into `yp` through the epilogue. */
  protected product(xp: number, M: number, signed: boolean, za: number, yp: number): void {
    const K = this.inFeatures;
    const N = this.outFeatures;
    const epi = this.epi!;
    if (this.gemv?.takes(M)) {
      const lo = this.loBuf.ensure(GemvWeights.splitBytes(M, K), 'x');
      const hi = this.hiBuf.ensure(GemvWeights.splitBytes(M, K), 'x');
      this.gemv.run(xp, M, signed, za, lo, hi, yp, epi.kind, epi.ptr);
    } else {
      const ap = this.aBuf.ensure(packedActivationBytes(M, K), 'x');
      packActivations(this.rt, xp, M, K, K, signed, za, ap);
      this.rt.kernels.gemm_s16(ap, this.weights, M, N, Math.ceil(K / 2), yp, N, epi.kind, epi.ptr);
    }
  }

  override dispose(): void {
    this.gemv?.free();
    super.dispose();
  }
}

/**
 * An int8 fully-connected layer (see {@link Qwasm.linear}).
 *
 * @example
 * ```ts
 * const fc: Linear = qw.linear({ weights: { data: w, shape: [N, K] }, weightScale: 0.02, input, output });
 * const y = new Int8Array(M * N);
 * fc.run(x, y); // x: M x K int8; y written in place, nothing allocated
 * fc.dispose();
 * ```
 */
export class Linear extends Int8ProductLayer<LinearInput, Int8Array | Uint8Array> {
  /** K: the length of one input row. */
  readonly inFeatures: number;
  /** N: the length of one output row. */
  readonly outFeatures: number;
  /** The input and output dtype (`input.dtype`, int8 by default). */
  readonly dtype: QuantDtype;
  private readonly za: number;
  private readonly xBuf = this.workspace();
  /** The fused residual add, or null. */
  private readonly residual: ResidualSpec | null;
  private readonly rBuf = this.workspace();

  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime, config: LinearConfig) {
    super(rt);
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const { data: wData, N, K } = readLayerWeights(cfg.weights, 'weights', Int8Array);
    const ws = resolveScale(cfg.weightScale, 'weightScale', N);
    const zw = resolveZeroPoint(cfg.weightZeroPoint, 'weightZeroPoint', 'int8');
    const q = resolveLayerQuant(cfg);
    const dtype = q.dtype;
    const bias = readBias(cfg.bias, Int32Array, N);
    const residual = resolveResidual(cfg.residual, dtype, q.outputScale, q.outputZeroPoint);
    checkAccumulation(K, maxCentred(dtype, [q.inputZeroPoint]), maxCentred('int8', zw), 'weights');
    checkBiasRange(bias, K, maxCentred(dtype, [q.inputZeroPoint]), maxCentred('int8', zw));
    this.inFeatures = K;
    this.outFeatures = N;
    this.dtype = dtype;
    this.za = q.inputZeroPoint;
    this.residual = residual;
    this.epi = EpilogueParams.requant(rt, N, layerRequantSpec(q, ws, bias));
    this.blocks.push(this.epi.ptr);
    this.packInt8Weights(wData, N, K, zw);
  }

  /** Bytes of the packed int16 weight panels in wasm memory (the requantization constants and the gemv copy, when built, come on top). */
  get packedBytes(): number {
    return packedWeightBytes(this.rt, this.outFeatures, this.inFeatures);
  }

  protected get ioType(): QuantDtype {
    return this.dtype;
  }

  protected start(input: LinearInput, out?: Int8Array | Uint8Array): Int8Array | Uint8Array {
    const pair = isResidualPair(input, this.residual !== null);
    const x = pair ? input[0] : input;
    const y = this.begin(x, out);
    const M = this.rows;
    const N = this.outFeatures;
    const signed = this.dtype === 'int8';
    if (pair) {
      const len = lengthOfKind(input[1], signed ? 'Int8Array' : 'Uint8Array');
      check(
        len === M * N,
        'residual',
        () =>
          `must be ${this.dtype} codes of the output's M x N = ${M * N}, got ${len < 0 ? 'another type' : `${len} elements`}`,
      );
    }
    if (M === 0) return y;
    const K = this.inFeatures;
    const xp = this.xBuf.ensure(M * K, 'x');
    const yp = this.yBuf.ensure(M * N, 'x');
    const heap = this.rt.heap;
    if (signed) heap.i8.set(x, xp);
    else heap.u8.set(x, xp);
    if (pair) {
      const rp = this.rBuf.ensure(M * N, 'residual');
      if (signed) heap.i8.set(input[1], rp);
      else heap.u8.set(input[1], rp);
    }
    this.product(xp, M, signed, this.za, yp);
    return y;
  }
  /**
   * @internal M rows of codes already in wasm memory at xp into M x N codes at yp, no
   * copies (a layer with a residual adds the one at rp). Validates nothing; allocates
   * nothing once the workspaces have their sizes. For qwasm/onnx's plans.
   */
  runAt(xp: number, M: number, yp: number, rp = 0): void {
    if (M === 0) return;
    this.product(xp, M, this.dtype === 'int8', this.za, yp);
    const r = this.residual;
    if (r !== null) {
      const n = M * this.outFeatures;
      const s = this.dtype === 'int8' ? 1 : 0;
      if (r.mode === 1) this.rt.kernels.qadd_s8(yp, 0, rp, 0, n, 1, yp, s, r.F, r.Rc, r.Rr, r.lo, r.hi);
      else this.rt.kernels.qadd_s8(rp, 0, yp, 0, n, 1, yp, s, r.F, r.Rr, r.Rc, r.lo, r.hi);
    }
  }

  /**
   * Adds the residual (once the product, on worker threads too, is done) with qadd_s8 over
   * the output in wasm memory, then copies out: the separate qlinearAdd's arithmetic
   * without its copies. (A GEMM finishes its rows panel by panel, so unlike the conv
   * drivers it has no block of whole rows to add while they are in cache.)
   */
  protected override collect(y: Int8Array | Uint8Array): Int8Array | Uint8Array {
    const r = this.residual;
    const n = this.rows * this.outFeatures;
    if (r !== null && n > 0) {
      const yp = this.yBuf.ptr;
      const rp = this.rBuf.ptr;
      const s = this.dtype === 'int8' ? 1 : 0;
      if (r.mode === 1) this.rt.kernels.qadd_s8(yp, 0, rp, 0, n, 1, yp, s, r.F, r.Rc, r.Rr, r.lo, r.hi);
      else this.rt.kernels.qadd_s8(rp, 0, yp, 0, n, 1, yp, s, r.F, r.Rr, r.Rc, r.lo, r.hi);
    }
    return super.collect(y);
  }
}

/**
 * Configuration of {@link Qwasm.linearF32}.
 *
 * @example
 * ```ts
 * const cfg: LinearF32Config = { weights: { data: wf, shape: [N, K] }, bias: new Float32Array(N), activation: 'relu6' };
 * ```
 */
export interface LinearF32Config {
  /** Weights [N, K], float32. */
  weights: Tensor<Float32Array>;
  /** N values, added before the activation. */
  bias?: Float32Array;
  /** 'none' (default), 'relu' (y >= 0) or 'relu6' (y in [0, 6]). */
  activation?: Activation;
}

/**
 * The float32 baseline layer: the same panel packing and register tiling in f32x4.
 *
 * @example
 * ```ts
 * const ff: LinearF32 = qw.linearF32({ weights: { data: wf, shape: [N, K] } });
 * const y = ff.run(xf); // Float32Array of M x N
 * ff.dispose();
 * ```
 */
export class LinearF32 extends PackedLayer<Float32Array, Float32Array> {
  /** K: the length of one input row. */
  readonly inFeatures: number;
  /** N: the length of one output row. */
  readonly outFeatures: number;
  private readonly weights: number;
  private readonly bias: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly xBuf = this.workspace();

  protected readonly ioType = 'float32';
  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime, config: LinearF32Config) {
    super(rt);
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const { data: wData, N, K } = readLayerWeights(cfg.weights, 'weights', Float32Array);
    const { lo, hi } = activationBounds(checkActivation(cfg.activation, 'activation'));
    const bias = readBias(cfg.bias, Float32Array, N);
    this.inFeatures = K;
    this.outFeatures = N;
    this.lo = lo;
    this.hi = hi;
    const np = Math.ceil(N / rt.config.nr) * rt.config.nr;
    this.weights = rt.scoped((alloc) => {
      const src = alloc(N * K * 4, 'weights');
      rt.heap.f32.set(wData, src >> 2);
      const dst = rt.heap.alloc(np * K * 4, 'weights');
      rt.kernels.pack_w_f32(src, N, K, K, 1, dst);
      return dst;
    });
    this.blocks.push(this.weights);
    this.bias = 0;
    if (bias !== undefined) {
      this.bias = rt.heap.alloc(np * 4, 'bias');
      rt.heap.f32.fill(0, this.bias >> 2, (this.bias >> 2) + np);
      rt.heap.f32.set(bias, this.bias >> 2);
      this.blocks.push(this.bias);
    }
  }

  protected start(x: Float32Array, out?: Float32Array): Float32Array {
    const y = this.begin(x, out);
    const M = this.rows;
    if (M === 0) return y;
    const K = this.inFeatures;
    const N = this.outFeatures;
    const xp = this.xBuf.ensure(M * K * 4, 'x');
    const yp = this.yBuf.ensure(M * N * 4, 'x');
    this.rt.heap.f32.set(x, xp >> 2);
    this.rt.kernels.gemm_f32(xp, K, this.weights, M, N, K, this.bias, this.lo, this.hi, yp, N);
    return y;
  }

  /**
   * @internal M rows of float32 already in wasm memory at xp into M x N at yp, no copies;
   * validates and allocates nothing. For qwasm/onnx's plans, whose arena is in wasm memory.
   */
  runAt(xp: number, M: number, yp: number): void {
    if (M === 0) return;
    const K = this.inFeatures;
    this.rt.kernels.gemm_f32(
      xp,
      K,
      this.weights,
      M,
      this.outFeatures,
      K,
      this.bias,
      this.lo,
      this.hi,
      yp,
      this.outFeatures,
    );
  }
}

/**
 * Configuration of {@link Qwasm.dynamicLinear}.
 *
 * @example
 * ```ts
 * const cfg: DynamicLinearConfig = { weights: { data: wf, shape: [N, K] }, bias: new Float32Array(N) };
 * ```
 */
export interface DynamicLinearConfig {
  /** Weights [N, K], float32: quantized once to int8, symmetric per output channel. */
  weights: Tensor<Float32Array>;
  /** N values in real units, added in the dequantizing epilogue. */
  bias?: Float32Array;
  /** Clamp fused into the epilogue: 'none' (default), 'relu' or 'relu6'. */
  activation?: Activation;
}

/**
 * Float32 in and out, int8 inside: weights quantized once (symmetric, per output
 * channel, scale = max|w| / 127), the input quantized per call with ONNX
 * DynamicQuantizeLinear's uint8 parameters, and a dequantizing epilogue.
 *
 * @example
 * ```ts
 * const dl: DynamicLinear = qw.dynamicLinear({ weights: { data: wf, shape: [N, K] } });
 * const y = dl.run(xf); // Float32Array of M x N
 * dl.weightScale;       // N scales, max |w| / 127 per output channel
 * dl.dispose();
 * ```
 */
export class DynamicLinear extends Int8ProductLayer<Float32Array, Float32Array> {
  /** K: the length of one input row. */
  readonly inFeatures: number;
  /** N: the length of one output row. */
  readonly outFeatures: number;
  /** The per-channel weight scales chosen at construction. */
  readonly weightScale: Float32Array;
  private readonly dequant: EpilogueParams;
  private readonly xBuf = this.workspace();
  private readonly qBuf = this.workspace();
  private readonly mmBuf = this.workspace();

  protected readonly ioType = 'float32';
  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime, config: DynamicLinearConfig) {
    super(rt);
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const { data: w, N, K } = readLayerWeights(cfg.weights, 'weights', Float32Array);
    for (let i = 0; i < w.length; i++) check(Number.isFinite(w[i]!), 'weights', `holds a non-finite value at ${i}`);
    const bias = readBias(cfg.bias, Float32Array, N);
    const { lo, hi } = activationBounds(checkActivation(cfg.activation, 'activation'));
    checkAccumulation(K, 255, 127, 'weights');
    this.inFeatures = K;
    this.outFeatures = N;
    const { q, scales } = quantizeRowsSymmetric(w, N, K);
    this.weightScale = scales;
    this.dequant = EpilogueParams.dequant(rt, N, scales, bias, lo, hi);
    this.epi = this.dequant;
    this.blocks.push(this.dequant.ptr);
    this.packInt8Weights(q, N, K, Int32Array.of(0));
  }

  protected start(x: Float32Array, out?: Float32Array): Float32Array {
    const y = this.begin(x, out);
    const M = this.rows;
    if (M === 0) return y;
    const K = this.inFeatures;
    const N = this.outFeatures;
    const heap = this.rt.heap;
    const k = this.rt.kernels;
    const xp = this.xBuf.ensure(M * K * 4, 'x');
    const qp = this.qBuf.ensure(M * K, 'x');
    const yp = this.yBuf.ensure(M * N * 4, 'x');
    const mm = this.mmBuf.ensure(8);
    heap.f32.set(x, xp >> 2);
    k.minmax_f32(xp, M * K, mm);
    const { scale, zeroPoint } = dynamicParams(heap.f32[mm >> 2]!, heap.f32[(mm >> 2) + 1]!);
    check(Number.isFinite(scale), 'x', 'holds infinite values; no finite scale covers them');
    k.quantize_f32(xp, M * K, scale, zeroPoint, 0, 255, qp);
    this.dequant.setInputScale(scale);
    this.product(qp, M, false, zeroPoint, yp);
    return y;
  }
}
