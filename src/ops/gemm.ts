// The int8 GEMM plumbing shared by matMulInteger, qlinearMatMul, linear and conv:
// weight packing (once), activation widening (per call) and the kernel call.
import { QwasmError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { QuantDtype } from '../tensor.js';
import { dtypeRange } from '../quant/dtype.js';

const INT32_MAX = 2 ** 31 - 1;

/** Bytes of NR-wide int16 weight panels for an N x K matrix. */
export function packedWeightBytes(rt: Runtime, N: number, K: number): number {
  const { nr } = rt.config;
  return Math.ceil(N / nr) * nr * Math.ceil(K / 2) * 4;
}

/** Bytes of the widened activation panels for M rows of K. */
export function packedActivationBytes(M: number, K: number): number {
  return M * Math.ceil(K / 2) * 4;
}

/** The largest |q - zp| a dtype allows with zero point(s) `zps`. */
export function maxCentred(dtype: QuantDtype, zps: ArrayLike<number>): number {
  const { qmin, qmax } = dtypeRange(dtype);
  let m = 0;
  for (let i = 0; i < zps.length; i++) m = Math.max(m, qmax - zps[i]!, zps[i]! - qmin);
  return m;
}

/**
 * Refuses sizes whose int32 accumulation could overflow: K products of at most
 * maxA * maxB each. With symmetric int8 weights (|w| <= 128) and any 8-bit activation
 * (|a - za| <= 255) every K < 2^16 is exact.
 */
export function checkAccumulation(K: number, maxA: number, maxB: number, name: string): void {
  if (K * maxA * maxB > INT32_MAX) {
    throw new QwasmError(
      name,
      `K = ${K} is too large for exact int32 accumulation with these zero points (at most ${Math.floor(INT32_MAX / (maxA * maxB))})`,
    );
  }
}

/**
 * Refuses an int32 bias that the largest accumulator could push past int32 (K products of
 * at most maxA * maxB each): the kernels add it in int32, where it would wrap.
 */
export function checkBiasRange(bias: Int32Array | undefined, K: number, maxA: number, maxB: number): void {
  if (bias === undefined) return;
  const acc = K * maxA * maxB;
  for (let i = 0; i < bias.length; i++) {
    const b = bias[i]!;
    if (Math.abs(b) + acc > INT32_MAX) {
      throw new QwasmError(
        'bias',
        `${b} at ${i} plus the largest accumulator (${acc}) can leave int32; the bias must stay within ±${INT32_MAX - acc}`,
      );
    }
  }
}

/**
 * Packs the weight matrix element (n, k) = w[n * sn + k * sk] (already in wasm memory at
 * `src`) minus its column zero point into a new block; returns the block's pointer.
 */
export function packWeights(
  rt: Runtime,
  src: number,
  N: number,
  K: number,
  sn: number,
  sk: number,
  signed: boolean,
  zps: Int32Array,
): number {
  const dst = rt.heap.alloc(packedWeightBytes(rt, N, K), 'weights');
  if (zps.length > 1) {
    rt.scoped((alloc) => {
      const zp = alloc(N * 4);
      rt.heap.i32.set(zps, zp >> 2);
      rt.kernels.pack_w_s16(src, N, K, sn, sk, signed ? 1 : 0, 0, zp, dst);
    });
  } else rt.kernels.pack_w_s16(src, N, K, sn, sk, signed ? 1 : 0, zps[0] ?? 0, 0, dst);
  return dst;
}

/** Widens M x K activations at `a` (row stride lda bytes) into `dst`. */
export function packActivations(
  rt: Runtime,
  a: number,
  M: number,
  K: number,
  lda: number,
  signed: boolean,
  za: number,
  dst: number,
): void {
  rt.kernels.pack_a_s16(a, M, K, lda, signed ? 1 : 0, za, rt.config.mr, dst);
}

/**
 * The int8 k-quad copy of a layer's weights for the gemv path (gemv_s8c4: products of a
 * row or two, bound by weight bytes; `gemvRows` in src/config.ts),
 * built on first use from the int16 panels (so layers never used with one row never pay
 * its memory), with the column sums the relaxed path's offset correction needs.
 */
export class GemvWeights {
  private ptr = 0;
  private colsum = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly panels: number,
    private readonly N: number,
    private readonly K: number,
  ) {}

  /** True when an M-row product of this layer should take the gemv path. */
  takes(M: number): boolean {
    const c = this.rt.config;
    return M <= c.gemvRows && this.N * this.K >= c.gemvMinWeights;
  }

  /**
   * Runs M rows at `x` (row stride K bytes) through the build's gemv kernel: relaxed
   * dot on split activations, or int16 activations against widened int8 weights. `lo`
   * and `hi` are scratch of splitBytes(M, K) bytes each.
   */
  run(
    x: number,
    M: number,
    signed: boolean,
    za: number,
    lo: number,
    hi: number,
    out: number,
    kind: number,
    params: number,
  ): void {
    const { rt, N, K } = this;
    const k = rt.kernels;
    const np = Math.ceil(N / rt.config.nr);
    const kq = Math.ceil(K / 4);
    if (this.ptr === 0) {
      this.ptr = rt.heap.alloc(np * rt.config.nr * kq * 4, 'weights');
      this.colsum = rt.heap.alloc(np * rt.config.nr * 4, 'weights');
      k.pack_w_s8c4_from_s16(this.panels, N, K, this.ptr, this.colsum);
    }
    if (rt.backend === 'relaxed') {
      k.split_a_u7(x, M, K, K, signed ? 1 : 0, lo, hi);
      k.gemv_s8c4_panels(
        lo,
        hi,
        this.ptr,
        M,
        N,
        kq,
        signed ? 128 + za : za,
        this.colsum,
        out,
        N,
        kind,
        params,
        0,
        np,
        rt.tile,
      );
    } else {
      // int16 rows padded to whole k-quads: the padding is read but meets zero weights
      const lda = kq * 8;
      for (let m = 0; m < M; m++) k.pack_a_s16(x + m * K, 1, K, K, signed ? 1 : 0, za, 1, lo + m * lda);
      k.gemv_s8c4_dot16_panels(lo, this.ptr, M, N, kq, lda, out, N, kind, params, 0, np, rt.tile);
    }
  }

  /** Bytes of each of the two activation scratch blocks for M rows. */
  static splitBytes(M: number, K: number): number {
    return M * Math.ceil(K / 4) * 8;
  }

  free(): void {
    if (this.ptr !== 0) {
      this.rt.heap.release(this.ptr);
      this.rt.heap.release(this.colsum);
    }
    this.ptr = 0;
  }
}
