// Error metrics between a tensor and its quantized reconstruction, computed from six
// float64 sums so the pure-TS function and the wasm kernel (assembly/metrics.ts,
// qw.quantError) share one definition.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { describe } from '../args.js';

/**
 * How far a reconstruction `xHat` is from `x`. With e = x - xHat over n values:
 * - `maxAbs` = max |e|, `meanAbs` = sum |e| / n;
 * - `mse` = sum e^2 / n, `rmse` = sqrt(mse);
 * - `relative` = ||e||_2 / ||x||_2, the zero-safe relative error: 0 when both are 0,
 *   Infinity when x is all zeros and e is not (no per-element division, so zeros in x
 *   never blow it up);
 * - `sqnrDb` = 10 log10(sum x^2 / sum e^2): Infinity when e is 0, -Infinity when x is 0
 *   and e is not;
 * - `cosine` = x . xHat / (||x|| ||xHat||): 1 when both are all zeros, 0 when only one is.
 * NaN in either input makes the sums, and so every metric, NaN. Empty inputs give
 * zeros, `sqnrDb` Infinity and `cosine` 1.
 *
 * @example
 * ```ts
 * const e: QuantErrorReport = quantError(x, fakeQuantize(x, p));
 * console.log(e.sqnrDb.toFixed(1), 'dB');
 * ```
 */
export interface QuantErrorReport {
  /** Largest absolute error, max |e|. */
  maxAbs: number;
  /** Mean absolute error, sum |e| / n. */
  meanAbs: number;
  /** ||e||_2 / ||x||_2 (0 when both are 0, Infinity when only x is). */
  relative: number;
  /** Mean squared error, sum e^2 / n. */
  mse: number;
  /** sqrt(mse), in x's units. */
  rmse: number;
  /** Signal-to-quantization-noise ratio in dB, 10 log10(sum x^2 / sum e^2): higher is better. */
  sqnrDb: number;
  /** Cosine similarity of x and xHat, in [-1, 1]: 1 is the same direction. */
  cosine: number;
}

/**
 * The names of the metrics, as search objectives (lower is better after orientation,
 * see {@link metricLoss}).
 *
 * @example
 * ```ts
 * const metric: ErrorMetric = 'sqnrDb';
 * searchClipRange(x, { metric });
 * ```
 */
export type ErrorMetric = keyof QuantErrorReport;

/** The six float64 sums both implementations accumulate (layout of quant_error_f32's out). */
export interface ErrorSums {
  /** sum (x - xHat)^2 */
  see: number;
  /** sum |x - xHat| */
  sae: number;
  /** max |x - xHat| */
  mae: number;
  /** sum x^2 */
  sxx: number;
  /** sum xHat^2 */
  syy: number;
  /** sum x * xHat */
  sxy: number;
}

/** The sums over n pairs, in float64, in index order. */
export function errorSums(x: ArrayLike<number>, xHat: ArrayLike<number>): ErrorSums {
  let see = 0;
  let sae = 0;
  let mae = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = xHat[i]!;
    const e = a - b;
    const ae = Math.abs(e);
    see += e * e;
    sae += ae;
    mae = Math.max(mae, ae);
    sxx += a * a;
    syy += b * b;
    sxy += a * b;
  }
  return { see, sae, mae, sxx, syy, sxy };
}

/** Turns the sums of n pairs into the metrics (see {@link QuantErrorReport}). */
export function metricsFromSums(s: ErrorSums, n: number): QuantErrorReport {
  if (n === 0) return { maxAbs: 0, meanAbs: 0, relative: 0, mse: 0, rmse: 0, sqnrDb: Infinity, cosine: 1 };
  const mse = s.see / n;
  let relative: number;
  if (s.sxx > 0) relative = Math.sqrt(s.see / s.sxx);
  else relative = s.see > 0 ? Infinity : s.see === 0 ? 0 : NaN;
  let sqnrDb: number;
  if (s.see > 0) sqnrDb = s.sxx > 0 ? 10 * Math.log10(s.sxx / s.see) : -Infinity;
  else sqnrDb = s.see === 0 ? Infinity : NaN;
  let cosine: number;
  if (s.sxx > 0 && s.syy > 0) cosine = s.sxy / Math.sqrt(s.sxx * s.syy);
  else if (s.sxx === 0 && s.syy === 0) cosine = 1;
  else cosine = s.sxx === s.sxx && s.syy === s.syy ? 0 : NaN;
  return { maxAbs: s.mae, meanAbs: s.sae / n, relative, mse, rmse: Math.sqrt(mse), sqnrDb, cosine };
}

/**
 * Error metrics of a reconstruction, in plain TypeScript with float64 sums: the right
 * tool for small tensors; `qw.quantError` runs the same sums in a SIMD wasm kernel for
 * large ones.
 *
 * @example
 * ```ts
 * const p = computeQuantParams(w, { bits: 4, axis: 0 });
 * const { sqnrDb, cosine } = quantError(w, fakeQuantize(w, p));
 * ```
 */
export function quantError(x: ArrayLike<number>, xHat: ArrayLike<number>): QuantErrorReport {
  checkNumeric(x, 'x');
  checkNumeric(xHat, 'xHat');
  check(x.length === xHat.length, 'xHat', `has ${xHat.length} values, x has ${x.length}`);
  return metricsFromSums(errorSums(x, xHat), x.length);
}

/** A typed array of numbers (not BigInt64Array / BigUint64Array) or an array holding only numbers. */
function checkNumeric(a: unknown, name: string): asserts a is ArrayLike<number> {
  if (ArrayBuffer.isView(a) && !(a instanceof DataView)) {
    check(
      !(a instanceof BigInt64Array || a instanceof BigUint64Array),
      name,
      () => `must hold numbers, got ${describe(a)}`,
    );
    return;
  }
  check(Array.isArray(a), name, () => `must be an array or typed array of numbers, got ${describe(a)}`);
  const arr = a as unknown[];
  for (let i = 0; i < arr.length; i++) {
    check(typeof arr[i] === 'number', name, () => `must hold numbers, got ${describe(arr[i])} at ${i}`);
  }
}

/**
 * A metric as a quantity to minimise: the error metrics as they are, `sqnrDb` negated,
 * `cosine` as 1 - cosine.
 *
 * @example
 * ```ts
 * metricLoss(quantError(x, xHat), 'sqnrDb'); // -SQNR: smaller is better
 * ```
 */
export function metricLoss(r: QuantErrorReport, metric: ErrorMetric): number {
  checkMetric(metric, 'metric');
  check(
    typeof r === 'object' && r !== null && typeof r[metric] === 'number',
    'report',
    `must be a QuantErrorReport with a number '${metric}', got ${describe(r)}`,
  );
  if (metric === 'sqnrDb') return -r.sqnrDb;
  if (metric === 'cosine') return 1 - r.cosine;
  return r[metric];
}

/** Checks a metric name. */
export function checkMetric(m: unknown, name: string): asserts m is ErrorMetric {
  check(
    m === 'maxAbs' ||
      m === 'meanAbs' ||
      m === 'relative' ||
      m === 'mse' ||
      m === 'rmse' ||
      m === 'sqnrDb' ||
      m === 'cosine',
    name,
    `must be one of 'maxAbs', 'meanAbs', 'relative', 'mse', 'rmse', 'sqnrDb', 'cosine', got ${describe(m)}`,
  );
}

/** Elements per kernel call: bounds the wasm scratch to 2 x 1 MiB however long the tensors. */
const CHUNK = 1 << 18;

/**
 * {@link quantError} on the engine's SIMD kernel (assembly/metrics.ts): the tensors are
 * copied into wasm memory in chunks of 2^18 values, so memory stays bounded.
 */
export function quantErrorWasm(rt: Runtime, x: Float32Array, xHat: Float32Array): QuantErrorReport {
  check(x instanceof Float32Array, 'x', 'must be a Float32Array');
  check(xHat instanceof Float32Array, 'xHat', 'must be a Float32Array');
  check(x.length === xHat.length, 'xHat', `has ${xHat.length} values, x has ${x.length}`);
  const n = x.length;
  if (n === 0) return metricsFromSums({ see: 0, sae: 0, mae: 0, sxx: 0, syy: 0, sxy: 0 }, 0);
  const k = rt.live().kernels;
  return rt.scoped((alloc) => {
    const c = Math.min(n, CHUNK);
    const xp = alloc(c * 4, 'x');
    const yp = alloc(c * 4, 'xHat');
    const sp = alloc(48);
    new Float64Array(rt.heap.memory.buffer, sp, 6).fill(0);
    for (let i = 0; i < n; i += CHUNK) {
      const m = Math.min(CHUNK, n - i);
      const f32 = rt.heap.f32;
      f32.set(x.subarray(i, i + m), xp >> 2);
      f32.set(xHat.subarray(i, i + m), yp >> 2);
      k.quant_error_f32(xp, yp, m, sp);
    }
    const s = new Float64Array(rt.heap.memory.buffer, sp, 6);
    return metricsFromSums({ see: s[0]!, sae: s[1]!, mae: s[2]!, sxx: s[3]!, syy: s[4]!, sxy: s[5]! }, n);
  });
}
