// The two-stage residual linear layer: float32 in and out, near-16-bit accuracy from
// the int8 GEMM's microkernel. Weights are two int8 stages per output channel
// (residualQuantize), the input is quantized per call to int16 per row, and both
// stages read that one packed input (assembly/gemm/residual.ts has the arithmetic and
// the exactness argument).
import { check } from '../errors.js';
import { LayerMemory } from './layer.js';
import { Workspace, type Runtime } from '../runtime.js';
import { checkDtype, checkTensor, type Tensor } from '../tensor.js';
import type { Activation } from '../ops/epilogue.js';
import { packWeights, packedActivationBytes, packedWeightBytes } from '../ops/gemm.js';
import { residualQuantize, type ResidualQuantized } from '../toolkit/residual.js';

/**
 * Configuration of `qw.linearResidual`.
 *
 * @example
 * ```ts
 * const cfg: LinearResidualConfig = { weights: { data: wf, shape: [N, K] }, bias, activation: 'relu' };
 * ```
 */
export interface LinearResidualConfig {
  /**
   * Float32 weights [N, K] (quantized here into two int8 stages per output channel), or
   * two stages from `residualQuantize(w, 2, { axis: 0 })`.
   */
  weights: Tensor<Float32Array> | ResidualQuantized;
  /** N values in real units, added after the two stages, before the activation. */
  bias?: Float32Array;
  /** 'none' (default), 'relu' (y >= 0) or 'relu6' (y in [0, 6]). */
  activation?: Activation;
}

/**
 * A float32 fully-connected layer computed as two int8 GEMMs sharing one int16 input:
 * `y = (x_q16 . q1) * s1 + (x_q16 . q2) * s2`, scaled per input row. Its error is close
 * to float16 rounding's; its cost is about two int8 GEMMs.
 *
 * @example
 * ```ts
 * const layer = qw.linearResidual({ weights: { data: wf, shape: [N, K] } });
 * const y = layer.run(xf); // Float32Array of M x N
 * layer.dispose();
 * ```
 */
export class LinearResidual extends LayerMemory {
  /** K: the length of one input row. */
  readonly inFeatures: number;
  /** N: the length of one output row. */
  readonly outFeatures: number;
  private readonly w1: number;
  private readonly w2: number;
  private readonly s1: number;
  private readonly s2: number;
  private readonly bias: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly aBuf: Workspace;
  private readonly xBuf: Workspace;
  private readonly sBuf: Workspace;
  private readonly yBuf: Workspace;

  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime, cfg: LinearResidualConfig) {
    super(rt);
    rt.live();
    check(typeof cfg === 'object' && cfg !== null, 'config', 'expected an object');
    const rq = resolveStages(cfg.weights);
    const [N, K] = rq.shape as [number, number];
    const activation = cfg.activation ?? 'none';
    check(
      activation === 'none' || activation === 'relu' || activation === 'relu6',
      'activation',
      `must be 'none', 'relu' or 'relu6', got ${String(activation)}`,
    );
    if (cfg.bias !== undefined) {
      check(cfg.bias instanceof Float32Array, 'bias', 'must be a Float32Array');
      check(cfg.bias.length === N, 'bias', `has ${cfg.bias.length} values, expected ${N}`);
    }
    this.inFeatures = K;
    this.outFeatures = N;
    this.lo = activation === 'none' ? -Infinity : 0;
    this.hi = activation === 'relu6' ? 6 : Infinity;
    this.aBuf = this.workspace();
    this.xBuf = this.workspace();
    this.sBuf = this.workspace();
    this.yBuf = this.workspace();
    const np = Math.ceil(N / rt.config.nr) * rt.config.nr;
    const zero = Int32Array.of(0);
    const stage = (i: number) => {
      const st = rq.stages[i]!;
      return rt.scoped((alloc) => {
        const src = alloc(N * K, 'weights');
        rt.heap.i8.set(st.q, src);
        return packWeights(rt, src, N, K, K, 1, true, zero);
      });
    };
    const floats = (a: Float32Array | undefined): number => {
      const p = rt.heap.alloc(np * 4, 'weights');
      this.blocks.push(p);
      rt.heap.f32.fill(0, p >> 2, (p >> 2) + np);
      if (a) rt.heap.f32.set(a, p >> 2);
      return p;
    };
    try {
      this.w1 = stage(0);
      this.blocks.push(this.w1);
      this.w2 = stage(1);
      this.blocks.push(this.w2);
      this.s1 = floats(rq.stages[0]!.scale);
      this.s2 = floats(rq.stages[1]!.scale);
      this.bias = cfg.bias ? floats(cfg.bias) : 0;
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Bytes of the two packed weight stages in wasm memory. */
  get packedBytes(): number {
    return 2 * packedWeightBytes(this.rt, this.outFeatures, this.inFeatures);
  }

  /** Runs on M rows of K floats; writes M x N floats into `out` when given (no allocation). */
  run(x: Float32Array, out?: Float32Array): Float32Array {
    this.live();
    check(x instanceof Float32Array, 'x', 'must be a Float32Array');
    const K = this.inFeatures;
    const N = this.outFeatures;
    check(x.length % K === 0, 'x', `has ${x.length} elements, not a whole number of rows of K = ${K}`);
    const M = x.length / K;
    const y = out ?? new Float32Array(M * N);
    check(y instanceof Float32Array, 'out', 'must be a Float32Array');
    check(y.length >= M * N, 'out', `has ${y.length} elements, needs ${M * N}`);
    if (M === 0) return y;
    const k = this.rt.kernels;
    const xp = this.xBuf.ensure(M * K * 4, 'x');
    const ap = this.aBuf.ensure(packedActivationBytes(M, K), 'x');
    const sp = this.sBuf.ensure(M * 4, 'x');
    const yp = this.yBuf.ensure(M * N * 4, 'x');
    this.rt.heap.f32.set(x, xp >> 2);
    k.pack_a_f32_s16(xp, M, K, K, this.rt.config.mr, sp, ap);
    const scales = this.sBuf.view(Float32Array, M);
    for (let m = 0; m < M; m++) check(scales[m] === scales[m], 'x', `row ${m} holds NaN or an infinity`);
    k.gemm_s16_residual(
      ap,
      this.w1,
      this.w2,
      M,
      N,
      Math.ceil(K / 2),
      sp,
      this.s1,
      this.s2,
      this.bias,
      this.lo,
      this.hi,
      yp,
      N,
    );
    y.set(this.yBuf.view(Float32Array, M * N));
    return y;
  }
}

/** Float weights -> two per-channel stages; given stages are validated. */
function resolveStages(w: unknown): ResidualQuantized {
  check(typeof w === 'object' && w !== null, 'weights', 'expected a tensor or ResidualQuantized stages');
  if ('stages' in w) {
    const rq = w as ResidualQuantized;
    check(Array.isArray(rq.shape) && rq.shape.length === 2, 'weights.shape', 'must be [N, K]');
    const [N, K] = rq.shape as [number, number];
    check(
      Number.isInteger(N) && Number.isInteger(K) && N > 0 && K > 0,
      'weights.shape',
      `must not be empty, got [${N}, ${K}]`,
    );
    check(
      Array.isArray(rq.stages) && rq.stages.length === 2,
      'weights.stages',
      `must hold 2 stages, got ${rq.stages?.length}`,
    );
    check(rq.axis === 0, 'weights.axis', 'stages must be per output channel (residualQuantize(w, 2, { axis: 0 }))');
    for (const st of rq.stages) {
      check(
        st.q instanceof Int8Array && st.q.length === N * K,
        'weights.stages',
        `each stage needs ${N * K} int8 codes`,
      );
      check(
        st.scale instanceof Float32Array && st.scale.length === N,
        'weights.stages',
        `each stage needs ${N} scales`,
      );
      for (let i = 0; i < st.q.length; i++) check(st.q[i] !== -128, 'weights.stages', 'codes must be in [-127, 127]');
      for (let i = 0; i < N; i++)
        check(
          Number.isFinite(st.scale[i]!) && st.scale[i]! > 0,
          'weights.stages',
          'scales must be positive and finite',
        );
    }
    return rq;
  }
  checkTensor(w, 'weights');
  checkDtype(w, 'weights', Float32Array);
  check(w.shape.length === 2, 'weights', `must be 2-D [N, K], got shape [${w.shape.join(', ')}]`);
  check(w.shape[0]! > 0 && w.shape[1]! > 0, 'weights', `must not be empty, got shape [${w.shape.join(', ')}]`);
  return residualQuantize(w as Tensor<Float32Array>, 2, { axis: 0 });
}
