import { QwasmError } from './errors.js';
import { loadBuild, type Backend, type WasmSource } from './loader.js';
import { Runtime } from './runtime.js';
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

/** Options of {@link Qwasm.create}. */
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

  /** Loads a build and returns a ready engine. */
  static async create(options: CreateOptions = {}): Promise<Qwasm> {
    const backend = options.backend ?? 'auto';
    if (!['auto', 'relaxed', 'simd', 'scalar'].includes(backend)) {
      throw new QwasmError('backend', `must be 'auto', 'relaxed', 'simd' or 'scalar', got ${String(backend)}`);
    }
    const b = await loadBuild(backend, options.wasm);
    return new Qwasm(new Runtime(b.kernels, b.memory, b.backend));
  }

  /** The build actually loaded. */
  get backend(): Backend {
    return this.rt.backend;
  }

  /** Current size of the engine's wasm memory in bytes. */
  get memoryBytes(): number {
    return this.rt.heap.bytes;
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
  quantizeLinear(x: Tensor, scale: Scale, zeroPoint?: ZeroPoint, opts?: QuantizeOptions): Tensor<Int8Array | Uint8Array> {
    return quantizeLinear(this.rt, x, scale, zeroPoint, opts);
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
    return dequantizeLinear(this.rt, q, scale, zeroPoint, opts);
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
    return dynamicQuantizeLinear(this.rt, x);
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
    return matMulInteger(this.rt, a, b, aZeroPoint, bZeroPoint);
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
    return qlinearMatMul(this.rt, a, aScale, aZeroPoint, b, bScale, bZeroPoint, yScale, yZeroPoint, opts);
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
   */
  linear(config: LinearConfig): Linear {
    return new Linear(this.rt, config);
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
    return new LinearF32(this.rt, config);
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
    return new DynamicLinear(this.rt, config);
  }

  /**
   * Ends the engine: later calls throw a QwasmError. Layers should be disposed first
   * when the engine lives on; disposing the engine drops its whole memory.
   */
  dispose(): void {
    this.rt.dispose();
  }
}
