// What the layers over int8 / uint8 codes share (elementwise, softmax, concat): their
// configs read once, codes copied into wasm memory without allocating, a caller's `out`
// checked, shapes compared without allocating.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { resolveScale, resolveZeroPoint } from '../quant/params.js';

/**
 * The quantization of a layer's input or output.
 *
 * @example
 * ```ts
 * const q: ElementwiseQuant = { scale: 0.05, zeroPoint: -3, dtype: 'int8' };
 * ```
 */
export interface ElementwiseQuant {
  /** Per-tensor scale. */
  scale: number;
  /** Per-tensor zero point (0 by default). */
  zeroPoint?: number;
  /** 'int8' (default) or 'uint8'; every input and the output share it. */
  dtype?: QuantDtype;
}

/** A config object, or a QwasmError naming it. */
export function readConfig<T extends object>(v: T | null | undefined, name: string, expected: string): T {
  check(typeof v === 'object' && v !== null, name, `expected ${expected}`);
  return v;
}

/** A layer's input or output quantization: scale, zero point and dtype. */
export function readQuant(q: unknown, name: string, dtype?: QuantDtype): { s: number; z: number; dtype: QuantDtype } {
  const o = readConfig(q as ElementwiseQuant, name, 'an object { scale, zeroPoint?, dtype? }');
  const dt = dtype ?? o.dtype ?? 'int8';
  check(dt === 'int8' || dt === 'uint8', `${name}.dtype`, `must be 'int8' or 'uint8', got ${String(dt)}`);
  check(o.dtype === undefined || o.dtype === dt, `${name}.dtype`, `is ${String(o.dtype)} but the layer is ${dt}`);
  return {
    s: resolveScale(o.scale, `${name}.scale`)[0]!,
    z: resolveZeroPoint(o.zeroPoint, `${name}.zeroPoint`, dt)[0]!,
    dtype: dt,
  };
}

/** Same dims? Compared without allocating. */
export function sameShape(a: readonly number[], b: readonly number[] | null): boolean {
  if (b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Copies an int8 / uint8 array into wasm memory at `dst` without allocating. */
export function copyCodes(rt: Runtime, data: Int8Array | Uint8Array, dst: number): void {
  if (data instanceof Int8Array) rt.heap.i8.set(data, dst);
  else rt.heap.u8.set(data, dst);
}

/** Checks a caller's output tensor: the layer's dtype and `count` elements. */
export function checkOut(out: Tensor<Int8Array | Uint8Array>, dtype: QuantDtype, count: number): void {
  checkTensor(out, 'out');
  check(dtypeOf(out.data, 'out') === dtype, 'out', `must be ${dtype}`);
  check(out.data.length === count, 'out', `has ${out.data.length} elements, expected ${count}`);
}
