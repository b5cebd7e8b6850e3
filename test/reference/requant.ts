// Plain scalar references of the requantization arithmetic, written from the
// formulas (ONNX spec, gemmlowp fixedpoint, TFLite reference kernels), not from the kernels.

/** Round half to even on an exact double. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** ONNX fp32 requantization of one accumulator. */
export function requantFp32(acc: number, m: number, zp: number, qmin: number, qmax: number): number {
  const f = Math.fround(Math.fround(acc) * m);
  return clamp(roundHalfEven(f) + zp, qmin, qmax);
}

/** gemmlowp SaturatingRoundingDoublingHighMul with BigInt. */
export function srdhm(a: number, b: number): number {
  if (a === -2147483648 && b === -2147483648) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  // BigInt division truncates toward zero, as C does
  return Number((ab + nudge) / (1n << 31n));
}

/** gemmlowp RoundingDivideByPOT. */
export function rdbpot(x: number, e: number): number {
  const mask = Number((1n << BigInt(e)) - 1n);
  const remainder = Number(BigInt(x) & BigInt(mask));
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

/** TFLite MultiplyByQuantizedMultiplier (double rounding). */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return rdbpot(srdhm(Math.imul(x, 2 ** left) | 0, multiplier), right);
}
