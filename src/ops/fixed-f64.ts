// The float64 form of 'fixedpoint' requantization: per-column constants for the SIMD path
// of assembly/gemm/epilogue.ts (fixedF64Rows, where the arithmetic and why it is exact are
// written out), and the proof obligations checked here, per column, once per layer.
//
// TFLite rounds twice: y = SRDHM(x, M) = round-half-up(x * M / 2^31), then
// z = RoundingDivideByPOT(y, e) = round-half-away(y / 2^e). For e >= 1 (a real multiplier
// below 1/2) that is one rounding of the exact product:
//   z = floor((x * M + sgn(x) * 2^30 + 2^(30 + e)) / 2^(31 + e)),   sgn(0) = +1,
// which float64 computes exactly while |x * M| < 2^52. Outputs only leave their clamp range
// [qmin - zp, qmax - zp] by saturating, so exactness is needed only for |x| <= bound
// (below), and each float64 step is monotone in x beyond it.

/** FMODE bits, as assembly/gemm/epilogue.ts reads them (F64_*). */
export enum FixedF64 {
  /** Outputs >= the zero point (ReLU-like): x < 0 needs no sign of its own. */
  Relu = 1,
  /** Any output range: the rounding offset takes the sign of x. */
  Signed = 2,
  /** Relu: the bias is added as int32 (not folded into FADD); Signed: + 1/2, as ties are possible. */
  Adjust = 4,
  /** Relu: min with qmax; Signed: clamp to [qmin, qmax] (otherwise the saturating narrowing is the clamp). */
  Clamp = 8,
}

/** The fixed-point parameters of one layer's N columns, as TFLite's QuantizeMultiplier gave them. */
export interface FixedColumns {
  /** Q0.31 multipliers, in [2^30, 2^31), or 0 when flushed. */
  multiplier: ArrayLike<number>;
  /** Left shifts (>= 0). */
  left: ArrayLike<number>;
  /** Right shifts (>= 0; one of left / right is 0). */
  right: ArrayLike<number>;
  bias?: Int32Array;
  zeroPoint: number;
  /** Output range after the fused activation. */
  qmin: number;
  qmax: number;
  /** Output dtype: int8 (true) or uint8. */
  signed: boolean;
}

const TWO52 = 2 ** 52;

/** Trailing zero bits of a positive integer below 2^53. */
function trailingZeros(m: number): number {
  let v = 0;
  while (m % 2 ** (v + 1) === 0) v++;
  return v;
}

/**
 * Fills the float64 path's arrays for N columns (padded arrays of np >= N entries):
 * fmode[n] says how the 8 columns from n run (0: the int64 path), fmul / fadd / fmagic
 * are the per-column constants. A window takes the float64 path when every column in it
 * has a right shift >= 1 (no left shift) and its products stay exact doubles.
 */
export function fillFixedF64(
  c: FixedColumns,
  N: number,
  fmode: Int32Array,
  fmul: Float64Array,
  fadd: Float64Array,
  fmagic: Float64Array,
): void {
  const [dmin, dmax] = c.signed ? [-128, 127] : [0, 255];
  const relu = c.qmin >= c.zeroPoint;
  // the widest output the clamp lets through, in units of z
  const Q = Math.max(Math.abs(c.qmin - c.zeroPoint), Math.abs(c.qmax - c.zeroPoint));
  const exact = new Uint8Array(N); // 1: exact in float64; 2: also with the bias folded; 4: ties possible
  for (let n = 0; n < N; n++) {
    const M = c.multiplier[n]!;
    // a flushed multiplier gives z = 0 for every x; any right shift >= 1 computes that exactly
    const e = M === 0 ? 1 : c.right[n]!;
    const b = c.bias ? c.bias[n]! : 0;
    fmul[n] = M;
    fmagic[n] = (1.5 * TWO52 + c.zeroPoint) * 2 ** (31 + e);
    if (c.left[n]! !== 0 || e < 1 || M < 0) continue;
    // |x| beyond `bound` saturates: z >= x * M / 2^(31 + e) - 1 there exceeds Q
    const bound = M === 0 ? 0 : Math.ceil(((Q + 2) * 2 ** (31 + e)) / M);
    if (bound * M + 2 ** 31 >= TWO52) continue;
    let flags = 1;
    const bM = Math.abs(b) * M;
    if (bM < 2 ** 51 && (bound + Math.abs(b)) * M + 2 ** 31 < TWO52) {
      flags |= 2;
      fadd[n] = b * M + 2 ** 30 + 0.5;
    }
    // a tie (W / D a half-integer) needs v2(x) + v2(M) = 30 for some 0 < |x| <= bound
    if (M > 0 && trailingZeros(M) <= 30 && 2 ** (30 - trailingZeros(M)) <= bound) flags |= 4;
    exact[n] = flags;
  }
  // fold the bias only if every exact column can, so one FADD serves every window
  let fold = relu && c.bias !== undefined;
  for (let n = 0; n < N; n++) if (exact[n] !== 0 && (exact[n]! & 2) === 0) fold = false;
  for (let n = 0; n < N; n++) if (!fold) fadd[n] = 2 ** 30 + 0.5;
  const reluMode =
    FixedF64.Relu |
    (relu && c.bias !== undefined && !fold ? FixedF64.Adjust : 0) |
    (c.qmax < dmax ? FixedF64.Clamp : 0);
  const clampSigned = c.qmin > dmin || c.qmax < dmax ? FixedF64.Clamp : 0;
  for (let n = 0; n < N; n++) {
    let all = true;
    let ties = false;
    for (let j = n; j < Math.min(n + 8, N); j++) {
      if (exact[j] === 0) all = false;
      if ((exact[j]! & 4) !== 0) ties = true;
    }
    if (!all) fmode[n] = 0;
    else if (relu) fmode[n] = reluMode;
    else fmode[n] = FixedF64.Signed | (ties ? FixedF64.Adjust : 0) | clampSigned;
  }
}
