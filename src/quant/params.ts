import { QwasmError, check } from '../errors.js';
import type { QuantDtype } from '../tensor.js';
import { qrange } from './dtype.js';

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

/** Validates a scale and returns it as a Float32Array of 1 (per tensor) or `channels` values. */
export function resolveScale(scale: Scale, name: string, channels?: number): Float32Array {
  let s: Float32Array;
  if (typeof scale === 'number') s = Float32Array.of(scale);
  else if (scale instanceof Float32Array || Array.isArray(scale)) s = Float32Array.from(scale);
  else throw new QwasmError(name, 'expected a number or a Float32Array');
  check(s.length > 0, name, 'is empty');
  if (s.length !== 1) {
    check(channels !== undefined, name, `has ${s.length} values but only a per-tensor scale is allowed here`);
    check(s.length === channels, name, `has ${s.length} values, expected 1 or ${channels} (one per channel)`);
  }
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    check(Number.isFinite(v) && v > 0, name, `must be positive and finite, got ${v}${s.length > 1 ? ` at ${i}` : ''}`);
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
  zp: ZeroPoint | undefined,
  name: string,
  dtype: QuantDtype,
  channels?: number,
): Int32Array {
  if (zp === undefined) return Int32Array.of(0);
  let z: Int32Array;
  if (typeof zp === 'number') z = Int32Array.of(zp);
  else if (ArrayBuffer.isView(zp) || Array.isArray(zp)) {
    const implied = zeroPointDtype(zp);
    check(implied === undefined || implied === dtype, name, `is ${implied} but the tensor is ${dtype}`);
    z = Int32Array.from(zp as ArrayLike<number>);
    for (let i = 0; i < z.length; i++) {
      check(z[i] === (zp as ArrayLike<number>)[i], name, `must hold integers, got ${(zp as ArrayLike<number>)[i]}`);
    }
  } else throw new QwasmError(name, 'expected a number or a typed array');
  check(z.length > 0, name, 'is empty');
  if (z.length !== 1) {
    check(channels !== undefined, name, `has ${z.length} values but only a per-tensor zero point is allowed here`);
    check(z.length === channels, name, `has ${z.length} values, expected 1 or ${channels} (one per channel)`);
  }
  const { qmin, qmax } = qrange(dtype);
  if (typeof zp === 'number') check(Number.isInteger(zp), name, `must be an integer, got ${zp}`);
  for (let i = 0; i < z.length; i++) {
    check(z[i]! >= qmin && z[i]! <= qmax, name, `${z[i]} is outside the ${dtype} range [${qmin}, ${qmax}]`);
  }
  return z;
}

/** Spreads a 1-element array to `n` channels. */
export function broadcastChannels<T extends Float32Array | Int32Array>(a: T, n: number): T {
  if (a.length === n) return a;
  const out = new (a.constructor as new (n: number) => T)(n);
  out.fill(a[0]!);
  return out;
}
