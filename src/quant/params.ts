import { QwasmError, check } from '../errors.js';
import { article, describe } from '../args.js';
import { typedArrayOf, type QuantDtype } from '../tensor.js';
import { dtypeRange } from './dtype.js';

/**
 * A scale per tensor (number) or per channel.
 *
 * @example
 * ```ts
 * const perTensor: Scale = 0.02;
 * const perChannel: Scale = new Float32Array([0.01, 0.02, 0.015]);
 * ```
 */
export type Scale = number | Float32Array | readonly number[];
/**
 * A zero point per tensor (number) or per channel; an Int8Array / Uint8Array also fixes the dtype.
 *
 * @example
 * ```ts
 * const perTensor: ZeroPoint = 128;
 * const perChannel: ZeroPoint = [0, 0, 0];
 * const int8: ZeroPoint = Int8Array.of(-5); // also makes quantizeLinear's output int8
 * ```
 */
export type ZeroPoint = number | Int8Array | Uint8Array | Int32Array | readonly number[];

/**
 * Reads a scale or zero point argument once into plain numbers: a number, a typed array
 * (through its built-in getters) or a plain array of numbers; undefined for anything else.
 */
function readNumbers(v: unknown, name: string): number[] | undefined {
  if (typeof v === 'number') return [v];
  const typed = typedArrayOf(v, name);
  if (typed !== undefined) return Array.from(typed);
  if (!Array.isArray(v)) return undefined;
  const n = v.length;
  check(n <= MAX_CHANNELS, name, `has ${n} values, more than any tensor has channels`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x: unknown = (v as unknown[])[i];
    check(typeof x === 'number', name, () => `must hold numbers, got ${describe(x)} at ${i}`);
    out.push(x);
  }
  return out;
}

/** No tensor qwasm handles has more channels than this (wasm memory is 4 GiB). */
const MAX_CHANNELS = 2 ** 31;

/** Validates a scale and returns it as a Float32Array of 1 (per tensor) or `channels` values. */
export function resolveScale(scale: Scale, name: string, channels?: number): Float32Array {
  const values = readNumbers(scale, name);
  if (values === undefined) throw new QwasmError(name, `expected a number or a Float32Array, got ${describe(scale)}`);
  check(values.length > 0, name, 'is empty');
  if (values.length !== 1) {
    check(channels !== undefined, name, `has ${values.length} values but only a per-tensor scale is allowed here`);
    check(values.length === channels, name, `has ${values.length} values, expected 1 or ${channels} (one per channel)`);
  }
  const s = Float32Array.from(values);
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    // checked after the float32 rounding: 1e-50 or 1e39 become 0 or Infinity there
    check(
      Number.isFinite(v) && v > 0,
      name,
      `must be positive and finite in float32, got ${values[i]}${s.length > 1 ? ` at ${i}` : ''}`,
    );
  }
  return s;
}

/** The dtype a zero point's typed array implies, if any. */
export function zeroPointDtype(zp: ZeroPoint | undefined): QuantDtype | undefined {
  if (zp instanceof Int8Array) return 'int8';
  if (zp instanceof Uint8Array) return 'uint8';
  return undefined;
}

/**
 * Validates zero points for `dtype` and returns them as an Int32Array of 1 or `channels`
 * values (0 when absent).
 */
export function resolveZeroPoint(
  zp: ZeroPoint | undefined | null,
  name: string,
  dtype: QuantDtype,
  channels?: number,
): Int32Array {
  if (zp === undefined || zp === null) return Int32Array.of(0);
  const values = readNumbers(zp, name);
  if (values === undefined) throw new QwasmError(name, `expected a number or a typed array, got ${describe(zp)}`);
  const implied = zeroPointDtype(zp);
  check(implied === undefined || implied === dtype, name, `is ${implied} but the tensor is ${dtype}`);
  check(values.length > 0, name, 'is empty');
  if (values.length !== 1) {
    check(channels !== undefined, name, `has ${values.length} values but only a per-tensor zero point is allowed here`);
    check(values.length === channels, name, `has ${values.length} values, expected 1 or ${channels} (one per channel)`);
  }
  const { qmin, qmax } = dtypeRange(dtype);
  // checked before any conversion to int32, which would wrap 2^32 + 3 to 3
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    check(Number.isInteger(v), name, `must be an integer, got ${v}${values.length > 1 ? ` at ${i}` : ''}`);
    check(v >= qmin && v <= qmax, name, `${v} is outside the ${dtype} range [${qmin}, ${qmax}]`);
  }
  return Int32Array.from(values);
}

/** Spreads a 1-element array to `n` channels. */
export function broadcastChannels<T extends Float32Array | Int32Array>(a: T, n: number): T {
  if (a.length === n) return a;
  const out = new (a.constructor as new (n: number) => T)(n);
  out.fill(a[0]!);
  return out;
}

/** An optional bias of N values of `type`, read through its true length. */
export function readBias<T extends Int32Array | Float32Array>(
  b: unknown,
  type: new (n: number) => T,
  N: number,
): T | undefined {
  if (b === undefined || b === null) return undefined;
  const a = typedArrayOf(b, 'bias');
  check(a instanceof type, 'bias', () => `must be ${article(type.name)}, got ${describe(b)}`);
  check(a.length === N, 'bias', `has ${a.length} values, expected ${N}`);
  return a as T;
}
