import type { QuantDtype } from '../tensor.js';

/** The integer codes of a quantization: `[qmin, qmax]`. */
export interface CodeRange {
  /** Lowest code. */
  qmin: number;
  /** Highest code. */
  qmax: number;
}

/**
 * The code range of an 8-bit dtype: int8 [-128, 127] or uint8 [0, 255], one code higher
 * at the bottom when `narrow` (the toolkit's `quantRange('int8', narrow)` validates and
 * calls this).
 */
export function dtypeRange(dtype: QuantDtype, narrow = false): CodeRange {
  if (dtype === 'int8') return { qmin: narrow ? -127 : -128, qmax: 127 };
  return { qmin: narrow ? 1 : 0, qmax: 255 };
}

/**
 * The integer range of a quantized dtype, optionally narrow ([-127, 127] for int8).
 *
 * @deprecated Use `quantRange('int8' | 'uint8', narrow)`, the one name for a code range.
 */
export function qrange(dtype: QuantDtype, narrow = false): CodeRange {
  return dtypeRange(dtype, narrow);
}

/** Allocates a typed array of a quantized dtype. */
export function newQuantArray(dtype: QuantDtype, n: number): Int8Array | Uint8Array {
  return dtype === 'int8' ? new Int8Array(n) : new Uint8Array(n);
}
