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

/**
 * gemmlowp's SaturatingRoundingDoublingHighMul for one int32. gemmlowp adds a nudge of
 * 2^30 (1 - 2^30 for a negative product) and divides by 2^31 truncating toward zero; for
 * integers that is exactly floor((a * b + 2^30) / 2^31): a * b / 2^31 rounded to nearest
 * with ties toward +infinity (-0.5 -> 0, 0.5 -> 1). The form without the sign test is
 * what the SIMD lanes compute too. The only overflow (a == b == INT32_MIN) cannot happen:
 * the multiplier is positive.
 */
@inline export function srdhmScalar(a: i32, b: i32): i32 {
  return i32((i64(a) * i64(b) + (1 << 30)) >> 31);
}

/** gemmlowp's RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero. */
@inline export function rdbpotScalar(x: i32, e: i32): i32 {
  const mask = (1 << e) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

/** Four lanes of SaturatingRoundingDoublingHighMul: floor((a * b + 2^30) / 2^31) from the
 * exact i64 products, as srdhmScalar. */
@inline export function srdhmVec(a: v128, b: v128): v128 {
  const nudge = i64x2.splat(1 << 30);
  return narrowShr31(
    i64x2.add(i64x2.extmul_low_i32x4_s(a, b), nudge),
    i64x2.add(i64x2.extmul_high_i32x4_s(a, b), nudge),
  );
}

/**
 * Four int64 lanes (two vectors) shifted right by 31 and narrowed to int32, for results
 * known to fit: bits 31..62 are (high word << 1) | (low word >>> 31). Four cheap 32-bit
 * ops and two shuffles; x64 has no 64-bit arithmetic shift below AVX-512, so engines
 * expand i64x2.shr_s into several instructions each.
 */
@inline function narrowShr31(lo: v128, hi: v128): v128 {
  const lows = v128.shuffle<i32>(lo, hi, 0, 2, 4, 6);
  const highs = v128.shuffle<i32>(lo, hi, 1, 3, 5, 7);
  return v128.or(i32x4.shl(highs, 1), i32x4.shr_u(lows, 31));
}

/** Four lanes of RoundingDivideByPOT with a uniform exponent. */
@inline export function rdbpotVec(x: v128, e: i32): v128 {
  const mask = i32x4.splat((1 << e) - 1);
  const remainder = v128.and(x, mask);
  // threshold = (mask >> 1) + (x < 0 ? 1 : 0); x >> 31 is -1 for negative x
  const threshold = i32x4.sub(i32x4.shr_s(mask, 1), i32x4.shr_s(x, 31));
  return i32x4.sub(i32x4.shr_s(x, e), i32x4.gt_s(remainder, threshold));
}

/**
 * Four lanes of x >> e (arithmetic) with a different e in [0, 31] per lane. WebAssembly
 * SIMD has no per-lane shift; instead floor(x / 2^e) = floor(x * 2^(31 - e) / 2^31), and
 * x * 2^(31 - e) is exact in the i64 lanes of extmul, so a shift by 31 (narrowShr31)
 * finishes it. `p` holds 2^(31 - e); 2^31 is no int32, so lanes with e = 0 take x as it is
 * through `keep` (all ones there). Eight cheap vector ops where lane-by-lane shifting takes
 * about sixteen extracts, shifts and inserts.
 */
@inline export function shrVecPerLane(x: v128, p: v128, keep: v128): v128 {
  const shifted = narrowShr31(i64x2.extmul_low_i32x4_s(x, p), i64x2.extmul_high_i32x4_s(x, p));
  return v128.bitselect(x, shifted, keep);
}

/** Four lanes of RoundingDivideByPOT with per-lane exponents (per-channel shifts): `mask`
 * holds (1 << e) - 1 per lane, `p` (2^(31 - e), written once in src/ops/epilogue.ts) and
 * `keep` (mask == 0) the constants of shrVecPerLane. */
@inline export function rdbpotVecPerLane(x: v128, mask: v128, p: v128, keep: v128): v128 {
  const remainder = v128.and(x, mask);
  const threshold = i32x4.sub(i32x4.shr_s(mask, 1), i32x4.shr_s(x, 31));
  return i32x4.sub(shrVecPerLane(x, p, keep), i32x4.gt_s(remainder, threshold));
}
