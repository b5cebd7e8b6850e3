import type { QuantDtype } from '../tensor.js';

/**
 * The integer range of a quantized dtype, optionally narrow ([-127, 127] for int8).
 *
 * @example
 * ```ts
 * qrange('int8');       // { qmin: -128, qmax: 127 }
 * qrange('int8', true); // { qmin: -127, qmax: 127 }
 * qrange('uint8');      // { qmin: 0, qmax: 255 }
 * ```
 */
export function qrange(
  dtype: QuantDtype,
  narrow = false,
): {
  /** Lowest code: -128 (int8), 0 (uint8), one higher when narrow. */
  qmin: number;
  /** Highest code: 127 (int8) or 255 (uint8). */
  qmax: number;
} {
  if (dtype === 'int8') return { qmin: narrow ? -127 : -128, qmax: 127 };
  return { qmin: narrow ? 1 : 0, qmax: 255 };
}

/** Allocates a typed array of a quantized dtype. */
export function newQuantArray(dtype: QuantDtype, n: number): Int8Array | Uint8Array {
  return dtype === 'int8' ? new Int8Array(n) : new Uint8Array(n);
}
