// Requantization constants, computed once per layer in src/ and handed to kernels.

/**
 * The float32 multiplier of 'fp32' requantization: m = f32(f32(sa * sb) / sy), as onnxruntime computes it.
 *
 * @example
 * ```ts
 * fp32Multiplier(0.02, 0.01, 0.05); // 0.0039999997..., one float32 step below f32(0.004)
 * ```
 */
export function fp32Multiplier(sa: number, sb: number, sy: number): number {
  return Math.fround(Math.fround(Math.fround(sa) * Math.fround(sb)) / Math.fround(sy));
}

/**
 * A real multiplier as TFLite's fixed point: m ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31).
 *
 * @example
 * ```ts
 * const fm: FixedMultiplier = quantizeMultiplier(0.25); // { multiplier: 2 ** 30, shift: -1 }
 * ```
 */
export interface FixedMultiplier {
  /** The mantissa as a Q0.31 integer: |multiplier| in [2^30, 2^31), negative for a negative m; 0 when m is 0 or flushed. */
  multiplier: number;
  /** The power of two: m ~= multiplier * 2^(shift - 31); positive shifts left, negative right (0 when flushed). */
  shift: number;
}

/**
 * TFLite's QuantizeMultiplier: frexp the double, round the mantissa to 31 bits
 * (std::round, ties away from zero), renormalise when rounding reaches 2^31, and flush
 * multipliers too small to represent (shift < -31) to zero.
 *
 * @example
 * ```ts
 * quantizeMultiplier(0.004); // { multiplier: 1099511628, shift: -7 }: 0.004 = 0.512 * 2^-7
 * ```
 */
export function quantizeMultiplier(m: number): FixedMultiplier {
  if (m === 0) return { multiplier: 0, shift: 0 };
  let shift = Math.floor(Math.log2(Math.abs(m))) + 1;
  let q = m / 2 ** shift;
  // frexp: q in [0.5, 1); log2 may be off by one near powers of two
  if (Math.abs(q) >= 1) {
    q /= 2;
    shift += 1;
  } else if (Math.abs(q) < 0.5) {
    q *= 2;
    shift -= 1;
  }
  let qFixed = Math.sign(q) * Math.round(Math.abs(q) * 2 ** 31);
  if (qFixed === 2 ** 31) {
    qFixed /= 2;
    shift += 1;
  }
  if (shift < -31) {
    shift = 0;
    qFixed = 0;
  }
  return { multiplier: qFixed, shift };
}

/**
 * The real multiplier of 'fixedpoint' requantization, in double as TFLite's conv and fully-connected do.
 *
 * @example
 * ```ts
 * const { multiplier, shift } = quantizeMultiplier(fixedRealMultiplier(0.02, 0.01, 0.05));
 * ```
 */
export function fixedRealMultiplier(sa: number, sb: number, sy: number): number {
  return (Math.fround(sa) * Math.fround(sb)) / Math.fround(sy);
}

/** Rounds half away from zero (TFLite's TfLiteRound). */
export function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/**
 * Rounds a finite double half to even (ONNX, IEEE nearest). Never returns -0, so a
 * fake-quantized zero is +0 as a dequantized one is.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}
