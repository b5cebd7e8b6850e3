// The two-stage residual linear layer: float32 in and out, near-16-bit accuracy from
// the int8 GEMM's microkernel. Weights are two int8 stages per output channel
// (residualQuantize), the input is quantized per call to int16 per row, and both
// stages read that one packed input (assembly/gemm/residual.ts has the arithmetic and
// the exactness argument).
import { check } from '../errors.js';
import { PackedLayer } from './linear.js';
import { Workspace, type Runtime } from '../runtime.js';
import { checkDtype, readShape, readTensor, typedArrayOf, type Tensor } from '../tensor.js';
import { readObject } from '../args.js';
import { readBias } from '../quant/params.js';
import { activationBounds, checkActivation } from './resolve.js';
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
export class LinearResidual extends PackedLayer<Float32Array, Float32Array> {
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
  protected readonly ioType = 'float32';

  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime, config: LinearResidualConfig) {
    super(rt);
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const rq = resolveStages(cfg.weights);
    const [N, K] = rq.shape as [number, number];
    const { lo, hi } = activationBounds(checkActivation(cfg.activation, 'activation'));
    const bias = readBias(cfg.bias, Float32Array, N);
    this.inFeatures = K;
    this.outFeatures = N;
    this.lo = lo;
    this.hi = hi;
    this.aBuf = this.workspace();
    this.xBuf = this.workspace();
    this.sBuf = this.workspace();
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
      this.bias = bias ? floats(bias) : 0;
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Bytes of the two packed weight stages in wasm memory. */
  get packedBytes(): number {
    return 2 * packedWeightBytes(this.rt, this.outFeatures, this.inFeatures);
  }

  protected start(x: Float32Array, out?: Float32Array): Float32Array {
    const y = this.begin(x, out);
    const M = this.rows;
    if (M === 0) return y;
    const K = this.inFeatures;
    const N = this.outFeatures;
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
    return y;
  }
}

/** Float weights -> two per-channel stages; given stages are read once and validated. */
function resolveStages(w: unknown): ResidualQuantized {
  check(typeof w === 'object' && w !== null, 'weights', 'expected a tensor or ResidualQuantized stages');
  if ('stages' in w) {
    const rq = readObject(w as ResidualQuantized, 'weights', 'ResidualQuantized stages');
    const shape = readShape(rq.shape, 'weights.shape');
    check(shape.length === 2, 'weights.shape', 'must be [N, K]');
    const [N, K] = shape as [number, number];
    check(N > 0 && K > 0, 'weights.shape', `must not be empty, got [${N}, ${K}]`);
    check(rq.axis === 0, 'weights.axis', 'stages must be per output channel (residualQuantize(w, 2, { axis: 0 }))');
    const list = rq.stages as unknown;
    check(Array.isArray(list) && list.length === 2, 'weights.stages', 'must hold 2 stages');
    const stages = Array.from(list as unknown[], (stage) => {
      const st = readObject(stage as { q: Int8Array; scale: Float32Array }, 'weights.stages', '{ q, scale }');
      const q = typedArrayOf(st.q, 'weights.stages');
      const scale = typedArrayOf(st.scale, 'weights.stages');
      check(q instanceof Int8Array && q.length === N * K, 'weights.stages', `each stage needs ${N * K} int8 codes`);
      check(scale instanceof Float32Array && scale.length === N, 'weights.stages', `each stage needs ${N} scales`);
      for (let i = 0; i < q.length; i++) check(q[i] !== -128, 'weights.stages', 'codes must be in [-127, 127]');
      for (let i = 0; i < N; i++) {
        check(Number.isFinite(scale[i]!) && scale[i]! > 0, 'weights.stages', 'scales must be positive and finite');
      }
      return { q, scale };
    });
    return { ...rq, shape, stages };
  }
  const t = readTensor(w, 'weights');
  checkDtype(t, 'weights', Float32Array);
  check(t.shape.length === 2, 'weights', `must be 2-D [N, K], got shape [${t.shape.join(', ')}]`);
  check(t.shape[0]! > 0 && t.shape[1]! > 0, 'weights', `must not be empty, got shape [${t.shape.join(', ')}]`);
  const data = t.data as Float32Array;
  for (let i = 0; i < data.length; i++) check(Number.isFinite(data[i]!), 'weights', `holds a non-finite value at ${i}`);
  return residualQuantize(t as Tensor<Float32Array>, 2, { axis: 0 });
}
