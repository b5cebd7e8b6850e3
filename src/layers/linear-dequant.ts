// An int8 product with a float32 result: int8 activations (one per-tensor scale and zero
// point) times symmetric int8 weights (per-output-channel scales), the exact int32
// accumulator dequantized in the epilogue, y = acc * (xScale * wScale[n]) + bias[n]. It is
// what qwasm/onnx runs for a MatMul whose product only float ops read (a classifier's
// logits before the softmax): no requantization to int8 and no dequantize pass after it.
import type { Runtime } from '../runtime.js';
import { EpilogueParams } from '../ops/epilogue.js';
import { checkAccumulation, packActivations, packWeights, packedActivationBytes } from '../ops/gemm.js';
import { LayerMemory } from './layer.js';

/** What {@link LinearDequant} is made from (checked by its caller, qwasm/onnx's planner). */
export interface LinearDequantConfig {
  /** Weights [N, K] row-major, symmetric int8. */
  weights: Int8Array;
  /** Output features: rows of `weights`. */
  N: number;
  /** Input features: the length of one row. */
  K: number;
  /** N per-output-channel weight scales (or one). */
  weightScale: Float32Array;
  /** The int8 input's quantization. */
  inputScale: number;
  inputZeroPoint: number;
  /** N float32 values added after dequantization. */
  bias?: Float32Array;
}

/**
 * @internal int8 rows in, float32 rows out (see the file comment). Made by qwasm/onnx's
 * int8 planner, not by the engine's public API.
 */
export class LinearDequant extends LayerMemory {
  /** K: the length of one input row. */
  readonly inFeatures: number;
  /** N: the length of one output row. */
  readonly outFeatures: number;
  private readonly weights: number;
  private readonly epi: EpilogueParams;
  private readonly za: number;
  private readonly aBuf = this.workspace();
  private readonly xBuf = this.workspace();
  private readonly yBuf = this.workspace();

  constructor(rt: Runtime, cfg: LinearDequantConfig) {
    super(rt);
    rt.live();
    const { N, K } = cfg;
    checkAccumulation(K, 255, 128, 'weights');
    this.inFeatures = K;
    this.outFeatures = N;
    this.za = cfg.inputZeroPoint;
    const scales = cfg.weightScale.length === N ? cfg.weightScale : new Float32Array(N).fill(cfg.weightScale[0]!);
    this.epi = EpilogueParams.dequant(rt, N, scales, cfg.bias);
    this.blocks.push(this.epi.ptr);
    this.epi.setInputScale(cfg.inputScale);
    this.weights = rt.scoped((alloc) => {
      const src = alloc(N * K, 'weights');
      rt.heap.i8.set(cfg.weights, src);
      return packWeights(rt, src, N, K, K, 1, true, Int32Array.of(0));
    });
    this.blocks.push(this.weights);
  }

  /** M rows of int8 codes at `xp` (wasm memory) into M x N float32 values at `yp`. */
  runAt(xp: number, M: number, yp: number): void {
    this.live();
    if (M === 0) return;
    const K = this.inFeatures;
    const ap = this.aBuf.ensure(packedActivationBytes(M, K), 'x');
    packActivations(this.rt, xp, M, K, K, true, this.za, ap);
    this.rt.kernels.gemm_s16(
      ap,
      this.weights,
      M,
      this.outFeatures,
      Math.ceil(K / 2),
      yp,
      this.outFeatures,
      this.epi.kind,
      this.epi.ptr,
    );
  }

  /** {@link runAt} on arrays: x (M x K codes) copied in, y (M x N) copied out. */
  run(x: Int8Array, y: Float32Array): Float32Array {
    const M = x.length / this.inFeatures;
    const xp = this.xBuf.ensure(Math.max(x.length, 1), 'x');
    const yp = this.yBuf.ensure(Math.max(M * this.outFeatures * 4, 4), 'x');
    this.rt.heap.i8.set(x, xp);
    this.runAt(xp, M, yp);
    y.set(this.rt.heap.f32.subarray(yp >> 2, (yp >> 2) + M * this.outFeatures));
    return y;
  }
}
