// Weight quantization done once at layer creation.
import { roundHalfEven } from './multiplier.js';

/**
 * Symmetric int8 per row (one row per output channel): scale = f32(max |w| / 127) (1 for
 * an all-zero row), q = clamp(roundHalfEven(f32(w / scale)), -127, 127). The narrow range
 * keeps -128 out, so every code fits the 7-bit operand of the relaxed dot.
 */
export function quantizeRowsSymmetric(
  w: Float32Array,
  rows: number,
  cols: number,
): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(rows);
  const q = new Int8Array(rows * cols);
  for (let n = 0; n < rows; n++) {
    let m = 0;
    for (let k = 0; k < cols; k++) m = Math.max(m, Math.abs(w[n * cols + k]!));
    const s = m > 0 ? Math.fround(m / 127) : 1;
    scales[n] = s;
    for (let k = 0; k < cols; k++) {
      const v = Math.fround(w[n * cols + k]! / s);
      q[n * cols + k] = Math.max(-127, Math.min(127, roundHalfEven(v)));
    }
  }
  return { q, scales };
}
