// Requantization primitives shared by every epilogue.
//
// fp32 (ONNX / XNNPACK): y = saturate(roundHalfEven(f32(acc) * m) + zp). The int32
// accumulator is converted to float32 first (rounding above 2^24, as onnxruntime
// does), multiplied by the float32 multiplier, clamped to [qmin - zp, qmax - zp]
// (integers, so clamping before rounding equals clamping after), rounded half to
// even by f32x4.nearest, and the zero point added in the integer domain.
//
// fixedpoint (gemmlowp / TFLite reference): m is (multiplier in [2^30, 2^31), shift).
// y = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc << left, multiplier), right) + zp.

/** gemmlowp's SaturatingRoundingDoublingHighMul for one int32: round((a * b * 2) / 2^32),
 * ties away from zero, via a nudge and C's truncating division. The only overflow
 * (a == b == INT32_MIN) cannot happen: the multiplier is positive. */
@inline export function srdhmScalar(a: i32, b: i32): i32 {
  const ab = i64(a) * i64(b);
  const nudge: i64 = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  const v = ab + nudge;
  // truncating division by 2^31 (C semantics), not an arithmetic shift
  return i32((v + (v < 0 ? i64(0x7fffffff) : 0)) >> 31);
}

/** gemmlowp's RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero. */
@inline export function rdbpotScalar(x: i32, e: i32): i32 {
  const mask = (1 << e) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

/** Four lanes of SaturatingRoundingDoublingHighMul. */
@inline export function srdhmVec(a: v128, b: v128): v128 {
  const lo = i64x2.extmul_low_i32x4_s(a, b);
  const hi = i64x2.extmul_high_i32x4_s(a, b);
  const pos = i64x2.splat(1 << 30);
  const neg = i64x2.splat(1 - (1 << 30));
  const zero = i64x2.splat(0);
  const bias = i64x2.splat(0x7fffffff);
  let vlo = i64x2.add(lo, v128.bitselect(neg, pos, i64x2.lt_s(lo, zero)));
  let vhi = i64x2.add(hi, v128.bitselect(neg, pos, i64x2.lt_s(hi, zero)));
  vlo = i64x2.shr_s(i64x2.add(vlo, v128.and(i64x2.lt_s(vlo, zero), bias)), 31);
  vhi = i64x2.shr_s(i64x2.add(vhi, v128.and(i64x2.lt_s(vhi, zero), bias)), 31);
  return v128.shuffle<i32>(vlo, vhi, 0, 2, 4, 6);
}

/** Four lanes of RoundingDivideByPOT with a uniform exponent. */
@inline export function rdbpotVec(x: v128, e: i32): v128 {
  const mask = i32x4.splat((1 << e) - 1);
  const remainder = v128.and(x, mask);
  // threshold = (mask >> 1) + (x < 0 ? 1 : 0); x >> 31 is -1 for negative x
  const threshold = i32x4.sub(i32x4.shr_s(mask, 1), i32x4.shr_s(x, 31));
  return i32x4.sub(i32x4.shr_s(x, e), i32x4.gt_s(remainder, threshold));
}

/** Four lanes of RoundingDivideByPOT with per-lane exponents (per-channel shifts);
 * `mask` holds (1 << e) - 1 per lane. WebAssembly SIMD has no per-lane shift, so the
 * shift itself goes lane by lane; the rounding stays vectorised. */
@inline export function rdbpotVecPerLane(x: v128, e: v128, mask: v128): v128 {
  const remainder = v128.and(x, mask);
  const threshold = i32x4.sub(i32x4.shr_s(mask, 1), i32x4.shr_s(x, 31));
  let shifted = i32x4.splat(i32x4.extract_lane(x, 0) >> i32x4.extract_lane(e, 0));
  shifted = i32x4.replace_lane(shifted, 1, i32x4.extract_lane(x, 1) >> i32x4.extract_lane(e, 1));
  shifted = i32x4.replace_lane(shifted, 2, i32x4.extract_lane(x, 2) >> i32x4.extract_lane(e, 2));
  shifted = i32x4.replace_lane(shifted, 3, i32x4.extract_lane(x, 3) >> i32x4.extract_lane(e, 3));
  return i32x4.sub(shifted, i32x4.gt_s(remainder, threshold));
}
