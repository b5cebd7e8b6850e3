// The optional `out` of the op forms: a caller's typed array the result is written into, in
// place of a new one. Every op form copies its inputs into wasm memory before it writes its
// result out, so `out` may be one of the inputs' arrays (the op then runs in place).
import { QwasmError } from '../errors.js';
import { article, describe } from '../args.js';
import type { QuantDtype } from '../tensor.js';
import { newQuantArray } from '../quant/dtype.js';

/**
 * Where an op form writes its result: a typed array of the output's dtype (Int8Array,
 * Uint8Array or Float32Array) and exact length. Omitted (or null), the op allocates a new
 * one. It may be an input's own array: inputs are read before the result is written.
 *
 * @example
 * ```ts
 * const y = new Int8Array(1 * 56 * 56 * 24);
 * const r = qw.qlinearAdd(a, 0.05, 0, b, 0.04, -3, 0.08, -10, undefined, y); // r.data === y
 * ```
 */
export type OpOutput = Int8Array | Uint8Array | Float32Array | null;

const CTORS = { int8: Int8Array, uint8: Uint8Array, float32: Float32Array } as const;

/** The caller's `out`, checked against the output's dtype and element count, or a new array. */
export function outputArray(out: OpOutput | undefined, dtype: 'float32', n: number): Float32Array;
export function outputArray(out: OpOutput | undefined, dtype: QuantDtype, n: number): Int8Array | Uint8Array;
export function outputArray(
  out: OpOutput | undefined,
  dtype: QuantDtype | 'float32',
  n: number,
): Int8Array | Uint8Array | Float32Array;
export function outputArray(
  out: OpOutput | undefined,
  dtype: QuantDtype | 'float32',
  n: number,
): Int8Array | Uint8Array | Float32Array {
  if (out === undefined || out === null) return dtype === 'float32' ? new Float32Array(n) : newQuantArray(dtype, n);
  const ctor = CTORS[dtype];
  if (!(out instanceof ctor)) {
    throw new QwasmError('out', `must be ${article(ctor.name)} (the output is ${dtype}), got ${describe(out)}`);
  }
  if (out.length !== n) throw new QwasmError('out', `has ${out.length} elements, the output has ${n}`);
  return out;
}
