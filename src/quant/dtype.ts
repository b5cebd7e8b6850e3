import type { QuantDtype } from '../tensor.js';

/** The integer range of a quantized dtype, optionally narrow ([-127, 127] for int8). */
export function qrange(dtype: QuantDtype, narrow = false): { qmin: number; qmax: number } {
  if (dtype === 'int8') return { qmin: narrow ? -127 : -128, qmax: 127 };
  return { qmin: narrow ? 1 : 0, qmax: 255 };
}

/** Allocates a typed array of a quantized dtype. */
export function newQuantArray(dtype: QuantDtype, n: number): Int8Array | Uint8Array {
  return dtype === 'int8' ? new Int8Array(n) : new Uint8Array(n);
}
