import { QwasmError } from './errors.js';
import { describe, readOptions } from './args.js';
import { loadBuild, type Backend, type WasmSource } from './loader.js';
import { Runtime } from './runtime.js';
import { resolveThreads, startThreaded } from './threads/setup.js';
import type { Tensor } from './tensor.js';
import type { Scale, ZeroPoint } from './quant/params.js';
import {
  dequantizeLinear,
  dynamicQuantizeLinear,
  quantizeLinear,
  type DynamicQuantized,
  type QuantizeOptions,
} from './ops/quantize.js';
import { matMulInteger, qlinearMatMul, type QLinearMatMulOptions } from './ops/matmul.js';
import {
  DynamicLinear,
  Linear,
  LinearF32,
  type DynamicLinearConfig,
  type LinearConfig,
  type LinearF32Config,
} from './layers/linear.js';
import { convInteger, qlinearConv, type ConvOpAttributes, type QLinearConvAttributes } from './ops/conv.js';
import {
  binaryConv2d,
  binaryMatMul,
  bitpack,
  bitunpack,
  type BinaryConvAttributes,
  type BitTensor,
} from './ops/binary.js';
import {
  BinaryConv2d,
  BinaryLinear,
  type BinaryConv2dConfig,
  type BinaryLinearConfig,
  type BinaryOutput,
} from './layers/binary.js';
import {
  Conv2d,
  Conv2dF32,
  DynamicConv2d,
  type Conv2dConfig,
  type Conv2dF32Config,
  type DynamicConv2dConfig,
} from './layers/conv.js';
import { LinearInt4, type LinearInt4Config } from './layers/linear-int4.js';
import { LinearResidual, type LinearResidualConfig } from './layers/linear-residual.js';
import { quantErrorWasm, type QuantErrorReport } from './toolkit/metrics.js';
import { binaryF32, qlinearBinary, type ElementwiseOptions } from './ops/elementwise.js';
import {
  qlinearLeakyRelu,
  qlinearLookup,
  qlinearSigmoid,
  unaryF32,
  type LeakyReluAttributes,
  type LookupFunction,
  type UnaryKind,
} from './ops/lookup.js';
import { qlinearSoftmax, softmaxF32, type SoftmaxAttributes } from './ops/softmax.js';
import { concatF32, qlinearConcat, type ConcatAttributes, type QuantizedInput } from './ops/concat.js';
import type { OpOutput } from './ops/out.js';
import { ConcatLayer, type ConcatLayerConfig } from './layers/concat.js';
import { SoftmaxLayer, type SoftmaxLayerConfig } from './layers/softmax.js';
import {
  LookupLayer,
  QLinearBinaryLayer,
  type BinaryLayerConfig,
  type LookupLayerConfig,
} from './layers/elementwise.js';
import {
  averagePoolF32,
  globalAveragePoolF32,
  maxPool,
  maxPoolF32,
  qlinearAveragePool,
  qlinearGlobalAveragePool,
  type AveragePoolAttributes,
  type GlobalPoolAttributes,
  type MaxPoolAttributes,
} from './ops/pool.js';
import { resize, type ResizeAttributes } from './ops/resize.js';
import {
  convTransposeF32,
  qlinearConvTranspose,
  type ConvTransposeAttributes,
  type QLinearConvTransposeAttributes,
} from './ops/conv-transpose.js';
import {
  AveragePool2d,
  ConvTranspose2d,
  MaxPool2d,
  Resize2d,
  type AveragePool2dConfig,
  type ConvTranspose2dConfig,
  type MaxPool2dConfig,
  type Resize2dConfig,
} from './layers/network.js';

/**
 * Options of {@link Qwasm.create}.
 *
 * @example
 * ```ts
 * const options: CreateOptions = { backend: 'auto', threads: 'auto' };
 * const qw = await Qwasm.create(options);
 * ```
 */
export interface CreateOptions {
  /**
   * Which wasm build to load: `'auto'` (default) picks the best the host runs exactly
   * (`relaxed`, then `simd`, then `scalar`); a named build throws a QwasmError when the
   * host cannot run it.
   */
  backend?: Backend | 'auto';
  /**
   * The wasm itself, for strict CSP, service workers or custom loaders: bytes or a
   * compiled `WebAssembly.Module` of one build (its build is detected).
   */
  wasm?: WasmSource;
  /**
   * Threads the GEMM and convolution kernels run on: 1 (default, no workers), a count, or
   * `'auto'` (the host's cores, at most 8). Above 1 the engine loads the threaded build on
   * a shared memory and starts `threads - 1` workers; results are bit-identical to one
   * thread. Where shared memory is unavailable (a browser page that is not cross-origin
   * isolated) the engine runs on 1 thread and says so once with console.warn. With `wasm`,
   * pass a threaded build (`*-mt.wasm`). See docs/threads.md.
   */
  threads?: number | 'auto';
}

/**
 * A qwasm engine: one wasm instance, its memory, and the ops and layers that run on it.
 *
 * @example
 * ```ts
 * import { Qwasm } from 'qwasm';
 * const qw = await Qwasm.create();
 * const q = qw.quantizeLinear({ data: new Float32Array([0, 0.5, 1]), shape: [3] }, 1 / 255, 0);
 * console.log(qw.backend, q.data); // 'simd' Uint8Array [0, 128, 255]
 * qw.dispose();
 * ```
 */
export class Qwasm {
  private readonly rt: Runtime;

  private constructor(rt: Runtime) {
    this.rt = rt;
  }

  /** The runtime of a live engine: a disposed engine refuses every call, empty ones included. */
  private live(): Runtime {
    return this.rt.live();
  }

  /** Loads a build and returns a ready engine. */
  static async create(options: CreateOptions | null = {}): Promise<Qwasm> {
    const o = readOptions(options, 'options');
    const backend = o.backend ?? 'auto';
    if (!['auto', 'relaxed', 'simd', 'scalar'].includes(backend)) {
      throw new QwasmError('backend', `must be 'auto', 'relaxed', 'simd' or 'scalar', got ${describe(backend)}`);
    }
    const threads = await resolveThreads(o.threads);
    if (threads > 1) return new Qwasm(await startThreaded(backend, o.wasm, threads, o.threads === 'auto'));
    const b = await loadBuild(backend, o.wasm);
    return new Qwasm(Runtime.single(b.kernels, b.memory, b.backend));
  }

  /** @internal The engine's runtime (heap, kernels): qwasm/onnx lays its plans' arenas in its memory. */
  get runtime(): Runtime {
    return this.rt;
  }

  /** The build actually loaded. */
  get backend(): Backend {
    return this.rt.backend;
  }

  /** Current size of the engine's wasm memory in bytes. */
  get memoryBytes(): number {
    return this.rt.heap.bytes;
  }

  /** Threads the engine's kernels run on (1 without a worker pool). */
  get threads(): number {
    return this.rt.pool === null ? 1 : this.rt.pool.size;
  }

  /**
   * ONNX QuantizeLinear: `q = saturate(roundHalfEven(x / scale) + zeroPoint)`, per tensor
   * or per axis. NaN maps to the zero point; infinities saturate.
   *
   * @example
   * ```ts
   * const q = qw.quantizeLinear({ data: x, shape: [2, 3] }, 0.1, 0, { dtype: 'int8' });
   * ```
   */
  quantizeLinear(
    x: Tensor,
    scale: Scale,
    zeroPoint?: ZeroPoint,
    opts?: QuantizeOptions,
  ): Tensor<Int8Array | Uint8Array> {
    return quantizeLinear(this.live(), x, scale, zeroPoint, opts);
  }

  /**
   * ONNX DequantizeLinear: `x = (q - zeroPoint) * scale`, per tensor or per axis.
   *
   * @example
   * ```ts
   * const x = qw.dequantizeLinear({ data: new Int8Array([-2, 0, 5]), shape: [3] }, 0.5, 0);
   * ```
   */
  dequantizeLinear(q: Tensor, scale: Scale, zeroPoint?: ZeroPoint, opts?: { axis?: number }): Tensor<Float32Array> {
    return dequantizeLinear(this.live(), q, scale, zeroPoint, opts);
  }

  /**
   * ONNX DynamicQuantizeLinear: uint8 with scale and zero point from the data's range
   * (widened to include 0).
   *
   * @example
   * ```ts
   * const { y, scale, zeroPoint } = qw.dynamicQuantizeLinear({ data: x, shape: [x.length] });
   * ```
   */
  dynamicQuantizeLinear(x: Tensor): DynamicQuantized {
    return dynamicQuantizeLinear(this.live(), x);
  }

  /**
   * ONNX MatMulInteger: int32 `(a - aZeroPoint) x (b - bZeroPoint)` with numpy matmul
   * broadcasting; a and b each int8 or uint8; b's zero point per tensor or per column.
   *
   * @example
   * ```ts
   * const y = qw.matMulInteger({ data: a, shape: [M, K] }, { data: b, shape: [K, N] }, 128, 0);
   * ```
   */
  matMulInteger(a: Tensor, b: Tensor, aZeroPoint?: ZeroPoint, bZeroPoint?: ZeroPoint): Tensor<Int32Array> {
    return matMulInteger(this.live(), a, b, aZeroPoint, bZeroPoint);
  }

  /**
   * ONNX QLinearMatMul: the int8 product requantized to `yScale`, `yZeroPoint` with
   * `m = (aScale * bScale) / yScale` in float32 (bit-exact with onnxruntime), or TFLite
   * fixed point with `{ requant: 'fixedpoint' }`. The output dtype is yZeroPoint's
   * typed array's, else a's.
   *
   * @example
   * ```ts
   * const y = qw.qlinearMatMul(a, 0.02, 128, b, 0.01, 0, 0.05, 128);
   * ```
   */
  qlinearMatMul(
    a: Tensor,
    aScale: Scale,
    aZeroPoint: ZeroPoint | undefined,
    b: Tensor,
    bScale: Scale,
    bZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    opts?: QLinearMatMulOptions,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearMatMul(this.live(), a, aScale, aZeroPoint, b, bScale, bZeroPoint, yScale, yZeroPoint, opts);
  }

  /**
   * A prepacked int8 fully-connected layer: weights [N, K] packed once, fused bias,
   * requantization and ReLU / ReLU6 clamp.
   *
   * @example
   * ```ts
   * const fc = qw.linear({
   *   weights: { data: w, shape: [N, K] }, weightScale: 0.02,
   *   input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.1, zeroPoint: 0 },
   * });
   * const y = fc.run(x); // Int8Array of M x N
   * fc.dispose();
   * ```
   * With `weightBits: 4` the weights are int4 (packed two per byte, per channel or per
   * group along K) and the layer is a {@link LinearInt4}:
   * ```ts
   * const fc4 = qw.linear({ weightBits: 4, ...quantizeWeightsInt4({ data: wf, shape: [N, K] }), input, output });
   * ```
   */
  linear(config: LinearInt4Config): LinearInt4;
  linear(config: LinearConfig): Linear;
  linear(config: LinearConfig | LinearInt4Config): Linear | LinearInt4 {
    const bits = typeof config === 'object' && config !== null ? config.weightBits : undefined;
    if (bits === 4) return new LinearInt4(this.live(), config as LinearInt4Config);
    if (bits !== undefined && bits !== null && bits !== 8)
      throw new QwasmError('weightBits', `must be 8 or 4, got ${describe(bits)}`);
    return new Linear(this.live(), config as LinearConfig);
  }

  /**
   * The float32 baseline layer, with the same tiling as {@link Qwasm.linear}.
   *
   * @example
   * ```ts
   * const ff = qw.linearF32({ weights: { data: wf, shape: [N, K] }, activation: 'relu' });
   * const y = ff.run(xf);
   * ```
   */
  linearF32(config: LinearF32Config): LinearF32 {
    return new LinearF32(this.live(), config);
  }

  /**
   * A float32-in, float32-out layer running an int8 GEMM inside: per-channel int8
   * weights, the input quantized per call.
   *
   * @example
   * ```ts
   * const dl = qw.dynamicLinear({ weights: { data: wf, shape: [N, K] } });
   * const y = dl.run(xf);
   * ```
   */
  dynamicLinear(config: DynamicLinearConfig): DynamicLinear {
    return new DynamicLinear(this.live(), config);
  }

  /**
   * ONNX ConvInteger: int32 `conv(x - xZeroPoint, w - wZeroPoint)`. x int8 or uint8 with
   * a per-tensor zero point; w int8 or uint8 with a per-tensor or per-output-channel zero
   * point. Layout NCHW with weights [M, C/group, kH, kW] by default, or `layout: 'NHWC'`
   * with weights [M, kH, kW, C/group]; strides, pads, dilations, group (depthwise too)
   * and autoPad as ONNX defines them.
   *
   * @example
   * ```ts
   * const y = qw.convInteger(
   *   { data: x, shape: [1, 3, 32, 32] }, { data: w, shape: [16, 3, 3, 3] }, 128, 0,
   *   { pads: [1, 1, 1, 1], strides: [2, 2] },
   * ); // Int32Array, shape [1, 16, 16, 16]
   * ```
   */
  convInteger(
    x: Tensor,
    w: Tensor,
    xZeroPoint?: ZeroPoint,
    wZeroPoint?: ZeroPoint,
    attrs?: ConvOpAttributes,
  ): Tensor<Int32Array> {
    return convInteger(this.live(), x, w, xZeroPoint, wZeroPoint, attrs);
  }

  /**
   * ONNX QLinearConv: the int8 convolution plus the optional int32 bias, requantized to
   * `yScale`, `yZeroPoint` with `m = (xScale * wScale) / yScale` in float32 (bit-exact with
   * onnxruntime), or TFLite fixed point with `{ requant: 'fixedpoint' }`. wScale and
   * wZeroPoint per tensor or per output channel. The output dtype is yZeroPoint's typed
   * array's, else x's.
   *
   * @example
   * ```ts
   * const y = qw.qlinearConv(
   *   { data: x, shape: [1, 8, 28, 28] }, 0.02, 128,
   *   { data: w, shape: [8, 1, 3, 3] }, new Float32Array(8).fill(0.01), 0,
   *   0.05, 128, bias, { group: 8, pads: [1, 1, 1, 1] },
   * ); // depthwise, Uint8Array of shape [1, 8, 28, 28]
   * ```
   */
  qlinearConv(
    x: Tensor,
    xScale: Scale,
    xZeroPoint: ZeroPoint | undefined,
    w: Tensor,
    wScale: Scale,
    wZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    bias?: Int32Array,
    attrs?: QLinearConvAttributes,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearConv(this.live(), x, xScale, xZeroPoint, w, wScale, wZeroPoint, yScale, yZeroPoint, bias, attrs);
  }

  /**
   * A prepacked int8 NHWC convolution layer: weights [O, kH, kW, C/group] packed once for
   * the fastest path (1x1 GEMM, im2col GEMM or depthwise), fused bias, requantization
   * and ReLU / ReLU6 clamp. `run(x, out)` allocates nothing once it has seen x's shape.
   *
   * @example
   * ```ts
   * const cv = qw.conv2d({
   *   weights: { data: w, shape: [64, 3, 3, 64] }, weightScale: 0.01,
   *   input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.1, zeroPoint: 0 },
   *   pads: [1, 1, 1, 1], activation: 'relu',
   * });
   * const y = cv.run({ data: x, shape: [1, 56, 56, 64] }); // shape [1, 56, 56, 64]
   * cv.dispose();
   * ```
   */
  conv2d(config: Conv2dConfig): Conv2d {
    return new Conv2d(this.live(), config);
  }

  /**
   * The float32 baseline convolution layer, with the same structure as
   * {@link Qwasm.conv2d} in f32x4 (im2col + the float32 GEMM, its own depthwise kernel).
   *
   * @example
   * ```ts
   * const cf = qw.conv2dF32({ weights: { data: wf, shape: [32, 3, 3, 1] }, group: 32, pads: [1, 1, 1, 1] });
   * const y = cf.run({ data: xf, shape: [1, 112, 112, 32] });
   * ```
   */
  conv2dF32(config: Conv2dF32Config): Conv2dF32 {
    return new Conv2dF32(this.live(), config);
  }

  /**
   * A dynamically quantized NHWC convolution layer: float32 in and out, weights quantized
   * to int8 once (symmetric, per output channel) and packed, each input quantized per
   * call with ONNX DynamicQuantizeLinear's uint8 parameters, the int8 conv kernels, and
   * the bias and activation fused into a dequantizing epilogue. `run(x, out)` allocates
   * nothing.
   *
   * @example
   * ```ts
   * const dc = qw.dynamicConv2d({ weights: { data: wf, shape: [32, 3, 3, 16] }, bias, pads: [1, 1, 1, 1], activation: 'relu' });
   * const y = dc.run({ data: xf, shape: [1, 28, 28, 16] });
   * ```
   */
  dynamicConv2d(config: DynamicConv2dConfig): DynamicConv2d {
    return new DynamicConv2d(this.live(), config);
  }

  /**
   * Quantization error metrics of a reconstruction `xHat` of `x` (max / mean absolute,
   * relative, MSE, RMSE, SQNR in dB, cosine similarity; see QuantErrorReport), with
   * float64 sums in a SIMD kernel: for large tensors. The pure-TypeScript
   * `quantError(x, xHat)` gives the same report for small ones.
   *
   * @example
   * ```ts
   * const p = computeQuantParams(w, { bits: 4, axis: 0 });
   * const { sqnrDb, maxAbs } = qw.quantError(w.data, fakeQuantize(w, p));
   * ```
   */
  quantError(x: Float32Array, xHat: Float32Array): QuantErrorReport {
    return quantErrorWasm(this.live(), x, xHat);
  }

  /**
   * A float32 fully-connected layer with near-16-bit accuracy from int8 kernels: weights
   * as two int8 residual stages per output channel, the input quantized per row to
   * int16, two int8 GEMMs sharing it.
   *
   * @example
   * ```ts
   * const layer = qw.linearResidual({ weights: { data: wf, shape: [N, K] }, bias });
   * const y = layer.run(xf); // close to linearF32's output, within float16 rounding
   * ```
   */
  linearResidual(config: LinearResidualConfig): LinearResidual {
    return new LinearResidual(this.live(), config);
  }

  /**
   * Packs the signs of a Float32 or Int8 tensor along its last axis into 32-bit words
   * (x < 0 -> bit 1 = -1, x >= 0 -> bit 0 = +1; the bit is exactly `x < 0`, so -0 and
   * NaN pack as +1), each row padded to a whole word with 0 bits. The result keeps the
   * logical shape.
   *
   * @example
   * ```ts
   * const xb = qw.bitpack({ data: new Float32Array([0.5, -2, 0, -0.1]), shape: [1, 4] });
   * xb.bits; // Uint32Array [0b1010]
   * ```
   */
  bitpack(x: Tensor): BitTensor {
    return bitpack(this.live(), x);
  }

  /**
   * Unpacks bits into +-1 float32 of the logical shape (bit 1 -> -1), for inspection.
   *
   * @example
   * ```ts
   * qw.bitunpack(qw.bitpack({ data: new Int8Array([3, -1]), shape: [2] })).data; // [1, -1]
   * ```
   */
  bitunpack(p: BitTensor): Tensor<Float32Array> {
    return bitunpack(this.live(), p);
  }

  /**
   * Binary matrix product over +-1: a [..., K] and b [N, K], both packed along K ->
   * int32 [..., N] = K - 2 * popcount(a xor b), exact for any K (padding bits never count).
   *
   * @example
   * ```ts
   * const a = qw.bitpack({ data: af, shape: [M, K] });
   * const b = qw.bitpack({ data: bf, shape: [N, K] });
   * const y = qw.binaryMatMul(a, b); // Int32Array M x N, sum of sign(a) * sign(b)
   * ```
   */
  binaryMatMul(a: BitTensor, b: BitTensor): Tensor<Int32Array> {
    return binaryMatMul(this.live(), a, b);
  }

  /**
   * Binary 2-D convolution: x NHWC [N, H, W, C] and w [O, kH, kW, C], both packed along
   * C -> int32 NHWC [N, OH, OW, O]. With `padValue: 0` (default) the result equals the
   * float convolution of the +-1 tensors with zero padding; `padValue: 1` pads with +1.
   * (The prepacked layer is {@link Qwasm.binaryConv2d}, as {@link Qwasm.conv2d} is for int8.)
   *
   * @example
   * ```ts
   * const y = qw.binaryConv(qw.bitpack(x), qw.bitpack(w), { pads: [1, 1, 1, 1], strides: [2, 2] });
   * ```
   */
  binaryConv(x: BitTensor, w: BitTensor, attrs?: BinaryConvAttributes): Tensor<Int32Array> {
    return binaryConv2d(this.live(), x, w, attrs);
  }

  /**
   * A prepacked binary fully-connected layer: float weights [N, K] binarized by sign and
   * packed once; input bits [..., K]; output float32 `acc * scale + bias`, int8
   * (requantized) or bits (the sign of that float, ready for the next binary layer).
   *
   * @example
   * ```ts
   * const fc = qw.binaryLinear({ weights: { data: wf, shape: [N, K] }, scale: 'xnor', bias });
   * const y = fc.run(qw.bitpack({ data: xf, shape: [M, K] })); // { data: Float32Array, shape: [M, N] }
   * const h = qw.binaryLinear({ weights, output: 'bits' }).run(xb); // BitTensor [M, N]
   * fc.dispose();
   * ```
   */
  binaryLinear<O extends BinaryOutput = 'float32'>(config: BinaryLinearConfig<O>): BinaryLinear<O> {
    return new BinaryLinear<O>(this.live(), config);
  }

  /**
   * A prepacked binary NHWC convolution layer: float weights [O, kH, kW, C] binarized and
   * packed once; strides, pads, dilations, padValue as {@link Qwasm.binaryConv}; the
   * outputs of {@link Qwasm.binaryLinear}.
   *
   * @example
   * ```ts
   * const conv = qw.binaryConv2d({ weights: { data: wf, shape: [256, 3, 3, 256] }, pads: [1, 1, 1, 1], output: 'bits' });
   * const h = conv.run(qw.bitpack(x)); // BitTensor [N, OH, OW, 256]
   * ```
   */
  binaryConv2d<O extends BinaryOutput = 'float32'>(config: BinaryConv2dConfig<O>): BinaryConv2d<O>;
  /**
   * The binary convolution op under its 0.1 name.
   *
   * @deprecated After 0.1, `binaryConv2d(config)` is the layer (as `conv2d` is for int8) and
   * the op is {@link Qwasm.binaryConv}; this form of the call still runs the op.
   */
  binaryConv2d(x: BitTensor, w: BitTensor, attrs?: BinaryConvAttributes): Tensor<Int32Array>;
  binaryConv2d<O extends BinaryOutput = 'float32'>(
    configOrX: BinaryConv2dConfig<O> | BitTensor,
    w?: BitTensor,
    attrs?: BinaryConvAttributes,
  ): BinaryConv2d<O> | Tensor<Int32Array> {
    // the 0.1 op form: two or three arguments, or a bit tensor (not a config) alone
    const opForm =
      arguments.length > 1 ||
      (typeof configOrX === 'object' && configOrX !== null && 'bits' in configOrX && !('weights' in configOrX));
    if (opForm) return this.binaryConv(configOrX as BitTensor, w as BitTensor, attrs);
    return new BinaryConv2d<O>(this.live(), configOrX as BinaryConv2dConfig<O>);
  }

  /**
   * The binary convolution layer under its 0.1 name.
   *
   * @deprecated After 0.1, the layer is {@link Qwasm.binaryConv2d} (as `conv2d` is for int8).
   */
  binaryConv2dLayer<O extends BinaryOutput = 'float32'>(config: BinaryConv2dConfig<O>): BinaryConv2d<O> {
    return this.binaryConv2d<O>(config);
  }

  /**
   * com.microsoft QLinearAdd: `y = a + b` in real terms, requantized to (yScale, yZeroPoint),
   * with numpy broadcasting (the same-shape, scalar and per-channel cases run as single
   * kernel calls). a and b int8 or uint8 (the same), per-tensor quantization; the output
   * has their dtype. Arithmetic: float32 `(F + a * Ra) + b * Rb` with Ra = aScale / yScale,
   * Rb = bScale / yScale and the zero points folded into F, rounded half to even
   * (onnxruntime's x86 order, see docs/elementwise.md); `{ activation: 'relu' }` fuses a ReLU.
   *
   * @example
   * ```ts
   * const y = qw.qlinearAdd(
   *   { data: a, shape: [1, 56, 56, 24] }, 0.05, 0,
   *   { data: b, shape: [1, 56, 56, 24] }, 0.04, -3,
   *   0.08, -10,
   * ); // Int8Array, shape [1, 56, 56, 24]
   * ```
   */
  qlinearAdd(
    a: Tensor,
    aScale: Scale,
    aZeroPoint: ZeroPoint | undefined,
    b: Tensor,
    bScale: Scale,
    bZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    opts?: ElementwiseOptions,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearBinary(
      this.live(),
      'add',
      a,
      aScale,
      aZeroPoint,
      b,
      bScale,
      bZeroPoint,
      yScale,
      yZeroPoint,
      opts,
      out,
    );
  }

  /**
   * com.microsoft QLinearMul: `y = a * b` in real terms, requantized, with numpy
   * broadcasting (e.g. squeeze-excite: NHWC [N, H, W, C] by [N, 1, 1, C]). Arithmetic:
   * `f32(f32((a - aZp) * (b - bZp)) * M) + yZp` with M = f32(f32(aScale * bScale) / yScale),
   * rounded half to even: bit-exact with onnxruntime on x86-64 and Arm64.
   *
   * @example
   * ```ts
   * const y = qw.qlinearMul(
   *   { data: x, shape: [1, 28, 28, 40] }, 0.05, 0,
   *   { data: gate, shape: [1, 1, 1, 40] }, 1 / 255, -128,
   *   0.05, 0,
   * );
   * ```
   */
  qlinearMul(
    a: Tensor,
    aScale: Scale,
    aZeroPoint: ZeroPoint | undefined,
    b: Tensor,
    bScale: Scale,
    bZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    opts?: ElementwiseOptions,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearBinary(
      this.live(),
      'mul',
      a,
      aScale,
      aZeroPoint,
      b,
      bScale,
      bZeroPoint,
      yScale,
      yZeroPoint,
      opts,
      out,
    );
  }

  /**
   * The float32 twin of {@link Qwasm.qlinearAdd}: `a + b` with numpy broadcasting, optional
   * fused ReLU, in f32x4.
   *
   * @example
   * ```ts
   * const y = qw.addF32({ data: af, shape: [1, 56, 56, 24] }, { data: bf, shape: [1, 56, 56, 24] });
   * ```
   */
  addF32(a: Tensor, b: Tensor, opts?: ElementwiseOptions, out?: OpOutput): Tensor<Float32Array> {
    return binaryF32(this.live(), 'add', a, b, opts, out);
  }

  /**
   * The float32 twin of {@link Qwasm.qlinearMul}: `a * b` with numpy broadcasting.
   *
   * @example
   * ```ts
   * const y = qw.mulF32({ data: xf, shape: [1, 28, 28, 40] }, { data: gatef, shape: [1, 1, 1, 40] });
   * ```
   */
  mulF32(a: Tensor, b: Tensor, opts?: ElementwiseOptions, out?: OpOutput): Tensor<Float32Array> {
    return binaryF32(this.live(), 'mul', a, b, opts, out);
  }

  /**
   * Any unary function of an int8 / uint8 tensor as a 256-entry table: `fn` on real values
   * (the table is built from x's and y's quantization as onnxruntime's QLinearLookupBase
   * builds it: dequantize each code in float32, apply fn, quantize), or a ready table of 256
   * output codes indexed by the input code's byte. Large tensors go through a table of code
   * pairs (two 16-bit reads per four codes).
   *
   * @example
   * ```ts
   * const hardSwish = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
   * const y = qw.qlinearLookup({ data: x, shape: [1, 112, 112, 16] }, hardSwish, 0.05, 0, 0.04, -20);
   * ```
   */
  qlinearLookup(
    x: Tensor,
    fn: LookupFunction,
    xScale: Scale,
    xZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearLookup(this.live(), x, fn, xScale, xZeroPoint, yScale, yZeroPoint, out);
  }

  /**
   * com.microsoft QLinearSigmoid: a lookup table of onnxruntime's float32 logistic
   * (Eigen's rational approximation, multiply-adds rounded once, as its FMA3 kernel).
   *
   * @example
   * ```ts
   * const y = qw.qlinearSigmoid({ data: x, shape: [1, 1000] }, 0.1, 0, 1 / 256, -128);
   * ```
   */
  qlinearSigmoid(
    x: Tensor,
    xScale: Scale,
    xZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearSigmoid(this.live(), x, xScale, xZeroPoint, yScale, yZeroPoint, out);
  }

  /**
   * com.microsoft QLinearLeakyRelu: `x >= 0 ? x : alpha * x` (alpha default 0.01) as a lookup
   * table.
   *
   * @example
   * ```ts
   * const y = qw.qlinearLeakyRelu({ data: x, shape: [1, 64, 56, 56] }, 0.05, 0, 0.05, 0, { alpha: 0.1 });
   * ```
   */
  qlinearLeakyRelu(
    x: Tensor,
    xScale: Scale,
    xZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    attrs?: LeakyReluAttributes,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearLeakyRelu(this.live(), x, xScale, xZeroPoint, yScale, yZeroPoint, attrs, out);
  }

  /**
   * The float32 twins of the lookup activations, in f32x4: 'sigmoid', 'tanh', 'silu',
   * 'gelu' (tanh form), 'hardSwish', 'leakyRelu' (`attrs.alpha`, default 0.01).
   *
   * @example
   * ```ts
   * const y = qw.unaryF32({ data: xf, shape: [1, 112, 112, 16] }, 'hardSwish');
   * ```
   */
  unaryF32(x: Tensor, kind: UnaryKind, attrs?: LeakyReluAttributes, out?: OpOutput): Tensor<Float32Array> {
    return unaryF32(this.live(), x, kind, attrs, out);
  }

  /**
   * com.microsoft QLinearSoftmax along `attrs.axis` (default -1; opset-13 semantics: one
   * axis), with onnxruntime's arithmetic: a 256-entry float32 exp table, the float32 row sum,
   * `roundHalfEven(f32(f32(e * floor(1 / yScale)) / sum)) + yZeroPoint`, saturated.
   *
   * @example
   * ```ts
   * const y = qw.qlinearSoftmax({ data: logits, shape: [8, 1000] }, 0.1, 0, 1 / 256, 0);
   * ```
   */
  qlinearSoftmax(
    x: Tensor,
    xScale: Scale,
    xZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    attrs?: SoftmaxAttributes,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearSoftmax(this.live(), x, xScale, xZeroPoint, yScale, yZeroPoint, attrs, out);
  }

  /**
   * The float32 twin of {@link Qwasm.qlinearSoftmax}: exp(x - max) / sum along one axis.
   *
   * @example
   * ```ts
   * const p = qw.softmaxF32({ data: logitsf, shape: [8, 1000] }, { axis: 1 });
   * ```
   */
  softmaxF32(x: Tensor, attrs?: SoftmaxAttributes, out?: OpOutput): Tensor<Float32Array> {
    return softmaxF32(this.live(), x, attrs, out);
  }

  /**
   * com.microsoft QLinearConcat: `[x, scale, zeroPoint]` inputs joined along `attrs.axis`,
   * each requantized to (yScale, yZeroPoint) through a table (onnxruntime's arithmetic), or
   * copied when its quantization equals the output's.
   *
   * @example
   * ```ts
   * const y = qw.qlinearConcat(
   *   [[{ data: x0, shape: [1, 24, 40, 40] }, 0.05, 0], [{ data: x1, shape: [1, 8, 40, 40] }, 0.1, 3]],
   *   0.1, 0, { axis: 1 },
   * ); // shape [1, 32, 40, 40]
   * ```
   */
  qlinearConcat(
    inputs: readonly QuantizedInput[],
    yScale: Scale,
    yZeroPoint: ZeroPoint | undefined,
    attrs: ConcatAttributes,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearConcat(this.live(), inputs, yScale, yZeroPoint, attrs, out);
  }

  /**
   * The float32 twin of {@link Qwasm.qlinearConcat}.
   *
   * @example
   * ```ts
   * const y = qw.concatF32([{ data: af, shape: [1, 4, 8] }, { data: bf, shape: [1, 2, 8] }], { axis: 1 });
   * ```
   */
  concatF32(inputs: readonly Tensor[], attrs: ConcatAttributes, out?: OpOutput): Tensor<Float32Array> {
    return concatF32(this.live(), inputs, attrs, out);
  }

  /**
   * com.microsoft QLinearAveragePool: int8 / uint8 average pooling, bit-exact with
   * onnxruntime (float32 average of the dequantized taps, requantized round half to even;
   * a kernel covering the whole unpadded map takes the global pool's integer rule). The
   * output has x's dtype and layout ('NCHW' default, 'NHWC' allowed).
   *
   * @example
   * ```ts
   * const y = qw.qlinearAveragePool({ data: x, shape: [1, 32, 28, 28] }, 0.05, 0, 0.05, 0, {
   *   kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: false,
   * }); // Int8Array, shape [1, 32, 14, 14]
   * ```
   */
  qlinearAveragePool(
    x: Tensor,
    xScale: Scale,
    xZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint: ZeroPoint | undefined,
    attrs: AveragePoolAttributes,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearAveragePool(this.live(), x, xScale, xZeroPoint, yScale, yZeroPoint, attrs, out);
  }

  /**
   * com.microsoft QLinearGlobalAveragePool: the exact int32 sum of each channel,
   * requantized with m = xScale / (yScale * H * W) in float32 (onnxruntime's rule). Output
   * [N, C, 1, 1] (NCHW) or [N, 1, 1, C] (NHWC) in x's dtype.
   *
   * @example
   * ```ts
   * const y = qw.qlinearGlobalAveragePool({ data: x, shape: [1, 7, 7, 1280] }, 0.02, -128, 0.01, -128, { layout: 'NHWC' });
   * ```
   */
  qlinearGlobalAveragePool(
    x: Tensor,
    xScale: Scale,
    xZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    attrs?: GlobalPoolAttributes,
    out?: OpOutput,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearGlobalAveragePool(this.live(), x, xScale, xZeroPoint, yScale, yZeroPoint, attrs, out);
  }

  /**
   * ONNX MaxPool over an int8 / uint8 map: kernelShape, strides, pads, dilations and
   * ceilMode as onnxruntime applies them; exact, output in x's dtype and layout.
   *
   * @example
   * ```ts
   * const y = qw.maxPool({ data: x, shape: [1, 112, 112, 64] }, { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], layout: 'NHWC' });
   * ```
   */
  maxPool(x: Tensor, attrs: MaxPoolAttributes, out?: OpOutput): Tensor<Int8Array | Uint8Array> {
    return maxPool(this.live(), x, attrs, out);
  }

  /**
   * The float32 twin of {@link Qwasm.maxPool}.
   *
   * @example
   * ```ts
   * const y = qw.maxPoolF32({ data: xf, shape: [1, 64, 112, 112] }, { kernelShape: [3, 3], strides: [2, 2] });
   * ```
   */
  maxPoolF32(x: Tensor, attrs: MaxPoolAttributes, out?: OpOutput): Tensor<Float32Array> {
    return maxPoolF32(this.live(), x, attrs, out);
  }

  /**
   * The float32 twin of {@link Qwasm.qlinearAveragePool}: ONNX AveragePool (with
   * countIncludePad the divisor counts the taps inside the padded extent).
   *
   * @example
   * ```ts
   * const y = qw.averagePoolF32({ data: xf, shape: [1, 32, 28, 28] }, { kernelShape: [2, 2], strides: [2, 2] });
   * ```
   */
  averagePoolF32(x: Tensor, attrs: AveragePoolAttributes, out?: OpOutput): Tensor<Float32Array> {
    return averagePoolF32(this.live(), x, attrs, out);
  }

  /**
   * The float32 twin of {@link Qwasm.qlinearGlobalAveragePool}: ONNX GlobalAveragePool.
   *
   * @example
   * ```ts
   * const y = qw.globalAveragePoolF32({ data: xf, shape: [1, 1280, 7, 7] }); // shape [1, 1280, 1, 1]
   * ```
   */
  globalAveragePoolF32(x: Tensor, attrs?: GlobalPoolAttributes, out?: OpOutput): Tensor<Float32Array> {
    return globalAveragePoolF32(this.live(), x, attrs, out);
  }

  /**
   * ONNX Resize of the H and W dims of an int8, uint8 or float32 map ('nearest' or
   * 'linear'; every coordinate transformation and nearest mode of ResizeAttributes),
   * bit-exact with onnxruntime's NCHW Resize in either layout. int8 / uint8 bilinear
   * results truncate toward zero, as onnxruntime's do.
   *
   * @example
   * ```ts
   * const y = qw.resize({ data: x, shape: [1, 40, 40, 96] }, { scales: [1, 2, 2, 1], mode: 'linear', layout: 'NHWC' });
   * // Int8Array, shape [1, 80, 80, 96]
   * ```
   */
  resize(x: Tensor, attrs: ResizeAttributes, out?: OpOutput): Tensor<Int8Array | Uint8Array | Float32Array> {
    return resize(this.live(), x, attrs, out);
  }

  /**
   * Transposed convolution in int8: x and w int8 or uint8 with QLinearConv's scales and
   * zero points (w's per tensor or per output channel), int32 bias of scale
   * xScale * wScale; exact int32 sums, requantized with m = (xScale * wScale) / yScale in
   * float32 (or TFLite fixed point with `requant: 'fixedpoint'`). NCHW with w
   * [C, M/group, kH, kW] by default; NHWC with w [C, kH, kW, M/group].
   *
   * @example
   * ```ts
   * const y = qw.qlinearConvTranspose(
   *   { data: x, shape: [1, 96, 160, 160] }, 0.02, 0,
   *   { data: w, shape: [96, 96, 2, 2] }, 0.01, 0, 0.05, 0, bias, { strides: [2, 2] },
   * ); // Int8Array, shape [1, 96, 320, 320]
   * ```
   */
  qlinearConvTranspose(
    x: Tensor,
    xScale: Scale,
    xZeroPoint: ZeroPoint | undefined,
    w: Tensor,
    wScale: Scale,
    wZeroPoint: ZeroPoint | undefined,
    yScale: Scale,
    yZeroPoint?: ZeroPoint,
    bias?: Int32Array,
    attrs?: QLinearConvTransposeAttributes,
  ): Tensor<Int8Array | Uint8Array> {
    return qlinearConvTranspose(
      this.live(),
      x,
      xScale,
      xZeroPoint,
      w,
      wScale,
      wZeroPoint,
      yScale,
      yZeroPoint,
      bias,
      attrs,
    );
  }

  /**
   * The float32 twin of {@link Qwasm.qlinearConvTranspose}: ONNX ConvTranspose with a
   * float32 bias [M].
   *
   * @example
   * ```ts
   * const y = qw.convTransposeF32({ data: xf, shape: [1, 96, 160, 160] }, { data: wf, shape: [96, 96, 2, 2] }, undefined, { strides: [2, 2] });
   * ```
   */
  convTransposeF32(x: Tensor, w: Tensor, bias?: Float32Array, attrs?: ConvTransposeAttributes): Tensor<Float32Array> {
    return convTransposeF32(this.live(), x, w, bias, attrs);
  }

  /**
   * A prepacked quantized add (the layer form of {@link Qwasm.qlinearAdd}): the quantization
   * resolved once, an optional constant second operand copied into wasm memory once;
   * `run([a, b], out)` (or `run(a, out)` with a constant) allocates nothing in steady state.
   *
   * @example
   * ```ts
   * const add = qw.addLayer({
   *   a: { scale: 0.05, zeroPoint: 0 }, b: { scale: 0.04, zeroPoint: -3 },
   *   output: { scale: 0.08, zeroPoint: -10 }, activation: 'relu',
   * });
   * const y = add.run([{ data: a, shape: [1, 56, 56, 24] }, { data: b, shape: [1, 56, 56, 24] }]);
   * add.dispose();
   * ```
   */
  addLayer(config: BinaryLayerConfig): QLinearBinaryLayer {
    return new QLinearBinaryLayer(this.live(), 'add', config);
  }

  /**
   * A prepacked quantized multiply (the layer form of {@link Qwasm.qlinearMul}), e.g. a
   * squeeze-excite gate [1, 1, 1, C] applied to NHWC maps.
   *
   * @example
   * ```ts
   * const se = qw.mulLayer({
   *   a: { scale: 0.05, zeroPoint: 0 }, b: { scale: 1 / 255, zeroPoint: -128 }, output: { scale: 0.05, zeroPoint: 0 },
   * });
   * const y = se.run([{ data: x, shape: [1, 28, 28, 40] }, { data: gate, shape: [1, 1, 1, 40] }], out);
   * ```
   */
  mulLayer(config: BinaryLayerConfig): QLinearBinaryLayer {
    return new QLinearBinaryLayer(this.live(), 'mul', config);
  }

  /**
   * A unary function of int8 / uint8 codes through a 256-entry table built once for the
   * input and output quantization (the layer form of {@link Qwasm.qlinearLookup}).
   *
   * @example
   * ```ts
   * const hs = qw.lookupLayer({
   *   fn: (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
   *   input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.04, zeroPoint: -20 },
   * });
   * const y = hs.run({ data: x, shape: [1, 112, 112, 16] }, out);
   * ```
   */
  lookupLayer(config: LookupLayerConfig): LookupLayer {
    return new LookupLayer(this.live(), config);
  }

  /**
   * A quantized softmax along one axis (the layer form of {@link Qwasm.qlinearSoftmax},
   * bit-exact with it): the quantization resolved once, the exp table written once per
   * axis length; `run(x, out)` allocates nothing in steady state.
   *
   * @example
   * ```ts
   * const sm = qw.softmaxLayer({ input: { scale: 0.1, zeroPoint: 0 }, output: { scale: 1 / 256, zeroPoint: -128 } });
   * const p = sm.run({ data: logits, shape: [8, 1000] }, out); // along the last axis
   * ```
   */
  softmaxLayer(config: SoftmaxLayerConfig): SoftmaxLayer {
    return new SoftmaxLayer(this.live(), config);
  }

  /**
   * A quantized concat (the layer form of {@link Qwasm.qlinearConcat}, bit-exact with it):
   * one quantization per input, each input's requantizing table built once (a straight
   * copy when it equals the output's); `run([x0, x1, ...], out)` allocates nothing in
   * steady state. The axis defaults to -1, the channels of NHWC maps.
   *
   * @example
   * ```ts
   * const cat = qw.concatLayer({
   *   inputs: [{ scale: 0.05, zeroPoint: 0 }, { scale: 0.04, zeroPoint: 3 }],
   *   output: { scale: 0.05, zeroPoint: 0 },
   * });
   * const y = cat.run([{ data: a, shape: [1, 40, 40, 24] }, { data: b, shape: [1, 40, 40, 8] }]); // [1, 40, 40, 32]
   * ```
   */
  concatLayer(config: ConcatLayerConfig): ConcatLayer {
    return new ConcatLayer(this.live(), config);
  }

  /**
   * A max-pooling layer over NHWC maps (int8, uint8 or float32): windows resolved once
   * per input shape; `run(x, out)` allocates nothing once it has seen x's shape.
   *
   * @example
   * ```ts
   * const pool = qw.maxPool2d({ kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
   * const y = pool.run({ data: x, shape: [1, 112, 112, 64] }); // shape [1, 56, 56, 64]
   * ```
   */
  maxPool2d(config: MaxPool2dConfig): MaxPool2d {
    return new MaxPool2d(this.live(), config);
  }

  /**
   * An int8 / uint8 average-pooling layer over NHWC maps (QLinearAveragePool, or
   * QLinearGlobalAveragePool with `global: true`), bit-exact with the op forms.
   *
   * @example
   * ```ts
   * const gap = qw.averagePool2d({ global: true, input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.02, zeroPoint: 0 } });
   * const y = gap.run({ data: x, shape: [1, 7, 7, 1280] }); // shape [1, 1, 1, 1280]
   * ```
   */
  averagePool2d(config: AveragePool2dConfig): AveragePool2d {
    return new AveragePool2d(this.live(), config);
  }

  /**
   * A resize layer over NHWC maps (int8, uint8 or float32), bit-exact with
   * {@link Qwasm.resize}; coordinate tables computed once per input shape.
   *
   * @example
   * ```ts
   * const up = qw.resize2d({ scales: [2, 2], mode: 'linear' });
   * const y = up.run({ data: x, shape: [1, 40, 40, 96] }); // shape [1, 80, 80, 96]
   * ```
   */
  resize2d(config: Resize2dConfig): Resize2d {
    return new Resize2d(this.live(), config);
  }

  /**
   * A prepacked int8 transposed-convolution layer over NHWC maps (weights
   * [C, kH, kW, M/group]), bit-exact with {@link Qwasm.qlinearConvTranspose}; weights
   * packed for the first input shape and reused while it stays.
   *
   * @example
   * ```ts
   * const up = qw.convTranspose2d({ weights: { data: w, shape: [96, 2, 2, 96] }, weightScale: 0.01, strides: [2, 2],
   *   input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.1, zeroPoint: 0 } });
   * const y = up.run({ data: x, shape: [1, 160, 160, 96] }); // shape [1, 320, 320, 96]
   * ```
   */
  convTranspose2d(config: ConvTranspose2dConfig): ConvTranspose2d {
    return new ConvTranspose2d(this.live(), config);
  }

  /**
   * Ends the engine: later calls throw a QwasmError. Layers should be disposed first
   * when the engine lives on; disposing the engine drops its whole memory.
   */
  dispose(): void {
    this.rt.dispose();
  }
}
