// Observers (calibrators): they consume batches of float32 values one at a time, keep a
// fixed-size state, and answer with a range and quantization parameters.
//
// Non-finite values: NaN, +Inf and -Inf are ignored (they cannot define a finite scale,
// and quantization saturates infinities and sends NaN to the zero point anyway) and
// counted in `nanCount`, `posInfCount` and `negInfCount`, so a caller can refuse data
// that had too many. An observer that has seen no finite value at all throws a
// QwasmError from range() and params(); per channel, a channel that has seen none gets
// the range [0, 0].
import { QwasmError, check } from '../errors.js';
import { readTensorOrArray, type Tensor } from '../tensor.js';
import { describe, readOptions } from '../args.js';
import { given } from './args.js';
import {
  paramsFromRange,
  readAxis,
  resolveScheme,
  splitAxis,
  type QuantParams,
  type QuantScheme,
  type ResolvedScheme,
} from './scheme.js';
import {
  StreamingHistogram,
  checkBins,
  entropyRange,
  histogramMse,
  mseRange,
  percentileRange,
  type HistogramMethod,
  type HistogramSnapshot,
} from './histogram.js';

/**
 * The range an observer reports: one min / max per tensor, or one per channel.
 *
 * @example
 * ```ts
 * const { min, max } = observer.range();
 * console.log(min[0], max[0]);
 * ```
 */
export interface ObservedRange {
  /** The low end, one value per tensor or per channel; 0 for a channel that saw no finite value. */
  min: Float32Array;
  /** The high end, one value per tensor or per channel; 0 for a channel that saw no finite value. */
  max: Float32Array;
}

/**
 * Options every observer takes.
 *
 * @example
 * ```ts
 * const perChannel: ObserverOptions = { axis: 0 };
 * ```
 */
export interface ObserverOptions {
  /** Per-channel observation along this axis (negative counts from the end); per tensor when absent. */
  axis?: number;
}

/**
 * A batch: a tensor, or a bare Float32Array (per-tensor observers only).
 *
 * @example
 * ```ts
 * const batch: ObserverInput = { data: activations, shape: [32, 256] };
 * new MinMaxObserver({ axis: 1 }).observe(batch);
 * ```
 */
export type ObserverInput = Tensor<Float32Array> | Float32Array;

/**
 * What every observer does: `observe` batches, then `range()` / `params()`.
 *
 * @example
 * ```ts
 * const obs: Observer = new MinMaxObserver();
 * for (const batch of batches) obs.observe(batch);
 * const p = obs.params({ bits: 8, signed: false, symmetric: false });
 * ```
 */
export interface Observer {
  /** Feeds one batch; returns the observer. */
  observe(x: ObserverInput): this;
  /** The clipping range per tensor or per channel (some methods depend on the scheme). */
  range(scheme?: QuantScheme | null): ObservedRange;
  /** Quantization parameters for the range under the scheme. */
  params(scheme?: QuantScheme | null): QuantParams;
  /** Forgets everything observed. */
  reset(): void;
  /** Finite values observed. */
  readonly count: number;
  /** NaN values seen (and ignored). */
  readonly nanCount: number;
  /** +Infinity values seen (and ignored). */
  readonly posInfCount: number;
  /** -Infinity values seen (and ignored). */
  readonly negInfCount: number;
  /** Bytes of internal state: constant however many values are fed. */
  readonly stateBytes: number;
}

/** Splits a batch into per-channel runs; shared by all observers. */
abstract class ObserverBase implements Observer {
  /** The channel axis from the options (negative counts from the end); undefined per tensor. */
  readonly axis: number | undefined;
  /** Channels (1 per tensor), fixed by the first batch. */
  protected channels = 0;
  count = 0;
  nanCount = 0;
  posInfCount = 0;
  negInfCount = 0;

  constructor(options?: ObserverOptions | null) {
    const axis = given(readOptions(options, 'options').axis);
    if (axis !== undefined) {
      check(
        typeof axis === 'number' && Number.isInteger(axis),
        'axis',
        () => `must be an integer, got ${describe(axis)}`,
      );
    }
    this.axis = axis;
  }

  abstract get stateBytes(): number;
  abstract range(scheme?: QuantScheme | null): ObservedRange;
  protected abstract allocate(channels: number): void;
  protected abstract clear(): void;
  /** Folds one batch whose per-channel finite ranges are bmin / bmax (NaN where none). */
  protected abstract accept(data: Float32Array, L: BatchLayout, bmin: Float64Array, bmax: Float64Array): void;

  observe(x: ObserverInput): this {
    const bare = ArrayBuffer.isView(x);
    check(!bare || this.axis === undefined, 'x', 'a per-channel observer needs a tensor { data, shape }');
    const t = readTensorOrArray(x, 'x', Float32Array);
    const data = t.data;
    const shape = t.shape;
    let L: BatchLayout;
    if (this.axis === undefined) L = { outer: 1, C: 1, inner: data.length };
    else {
      check(shape.length > 0, 'x', 'a per-channel observer needs a tensor of rank >= 1');
      const a = readAxis(this.axis, shape.length, 'axis');
      const s = splitAxis(shape, a);
      L = { outer: s.outer, C: s.A, inner: s.inner };
    }
    if (this.channels === 0) {
      if (L.C === 0 || data.length === 0) return this;
      this.channels = L.C;
      this.allocate(L.C);
    }
    check(L.C === this.channels, 'x', `has ${L.C} channels along axis ${this.axis}, the observer saw ${this.channels}`);
    const bmin = new Float64Array(L.C).fill(Infinity);
    const bmax = new Float64Array(L.C).fill(-Infinity);
    let nan = 0;
    let pinf = 0;
    let ninf = 0;
    for (let o = 0; o < L.outer; o++) {
      for (let c = 0; c < L.C; c++) {
        const start = (o * L.C + c) * L.inner;
        let lo = bmin[c]!;
        let hi = bmax[c]!;
        for (let i = start, end = start + L.inner; i < end; i++) {
          const v = data[i]!;
          if (v - v === 0) {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          } else if (v !== v) nan++;
          else if (v > 0) pinf++;
          else ninf++;
        }
        bmin[c] = lo;
        bmax[c] = hi;
      }
    }
    this.nanCount += nan;
    this.posInfCount += pinf;
    this.negInfCount += ninf;
    this.count += data.length - nan - pinf - ninf;
    for (let c = 0; c < L.C; c++) {
      if (bmin[c]! > bmax[c]!) {
        bmin[c] = NaN;
        bmax[c] = NaN;
      }
    }
    this.accept(data, L, bmin, bmax);
    return this;
  }

  params(scheme?: QuantScheme | null): QuantParams {
    const s = readOptions(scheme, 'scheme');
    const r = this.range(s);
    return paramsFromRange(r.min, r.max, { ...s, axis: this.axis });
  }

  reset(): void {
    this.count = 0;
    this.nanCount = 0;
    this.posInfCount = 0;
    this.negInfCount = 0;
    this.clear();
  }

  protected checkSeen(): void {
    if (this.count === 0) {
      throw new QwasmError(
        'observer',
        `has seen no finite values (${this.nanCount} NaN, ${this.posInfCount + this.negInfCount} infinite)`,
      );
    }
  }
}

/** A batch as [outer, C, inner]: channel c's values are the runs (o * C + c) * inner + [0, inner). */
interface BatchLayout {
  outer: number;
  C: number;
  inner: number;
}

/** Range arrays with empty channels reported as [0, 0]. */
function finishRange(min: Float64Array, max: Float64Array): ObservedRange {
  const lo = new Float32Array(min.length);
  const hi = new Float32Array(max.length);
  for (let c = 0; c < min.length; c++) {
    const a = min[c]!;
    const b = max[c]!;
    if (a <= b) {
      lo[c] = a;
      hi[c] = b;
    }
  }
  return { min: lo, max: hi };
}

/**
 * Running minimum and maximum: the range of everything observed.
 *
 * @example
 * ```ts
 * const obs = new MinMaxObserver();
 * obs.observe(new Float32Array([-1, 0.5, 2])).observe(new Float32Array([3]));
 * obs.range(); // { min: [-1], max: [3] }
 * const p = obs.params({ bits: 8, signed: false, symmetric: false });
 * ```
 */
export class MinMaxObserver extends ObserverBase {
  private min = new Float64Array(0);
  private max = new Float64Array(0);

  /** Bytes of state: a float64 min and max per channel. */
  get stateBytes(): number {
    return this.min.byteLength + this.max.byteLength;
  }

  protected allocate(C: number): void {
    this.min = new Float64Array(C).fill(Infinity);
    this.max = new Float64Array(C).fill(-Infinity);
  }

  protected clear(): void {
    this.channels = 0;
    this.min = new Float64Array(0);
    this.max = new Float64Array(0);
  }

  protected accept(_data: Float32Array, L: BatchLayout, bmin: Float64Array, bmax: Float64Array): void {
    for (let c = 0; c < L.C; c++) {
      if (bmin[c]! < this.min[c]!) this.min[c] = bmin[c]!;
      if (bmax[c]! > this.max[c]!) this.max[c] = bmax[c]!;
    }
  }

  /** The smallest and largest finite values seen; throws a QwasmError before any. */
  range(): ObservedRange {
    this.checkSeen();
    return finishRange(this.min, this.max);
  }
}

/**
 * Options of {@link MovingAverageMinMaxObserver}.
 *
 * @example
 * ```ts
 * const o: MovingAverageOptions = { averagingConstant: 0.05, axis: 1 };
 * ```
 */
export interface MovingAverageOptions extends ObserverOptions {
  /** Weight c of each new batch: min += c * (batchMin - min). Default 0.01; in (0, 1]. */
  averagingConstant?: number;
}

/**
 * Exponential moving average of each batch's minimum and maximum (the first batch sets
 * them): robust to a rare extreme batch, at the price of clipping values outside the
 * averaged range. Batches without a finite value (per channel) leave the average alone.
 *
 * @example
 * ```ts
 * const obs = new MovingAverageMinMaxObserver({ averagingConstant: 0.1 });
 * for (const batch of activations) obs.observe(batch);
 * const p = obs.params({ signed: false, symmetric: false });
 * ```
 */
export class MovingAverageMinMaxObserver extends ObserverBase {
  /** Weight of each new batch in the averages, in (0, 1] (default 0.01). */
  readonly averagingConstant: number;
  private min = new Float64Array(0);
  private max = new Float64Array(0);
  private seen = new Uint8Array(0);

  constructor(options?: MovingAverageOptions | null) {
    super(options);
    const c = given(readOptions(options, 'options').averagingConstant) ?? 0.01;
    check(typeof c === 'number' && c > 0 && c <= 1, 'averagingConstant', () => `must be in (0, 1], got ${describe(c)}`);
    this.averagingConstant = c;
  }

  /** Bytes of state: a float64 min and max and a seen flag per channel. */
  get stateBytes(): number {
    return this.min.byteLength + this.max.byteLength + this.seen.byteLength;
  }

  protected allocate(C: number): void {
    this.min = new Float64Array(C);
    this.max = new Float64Array(C);
    this.seen = new Uint8Array(C);
  }

  protected clear(): void {
    this.channels = 0;
    this.allocate(0);
  }

  protected accept(_data: Float32Array, L: BatchLayout, bmin: Float64Array, bmax: Float64Array): void {
    const k = this.averagingConstant;
    for (let c = 0; c < L.C; c++) {
      const lo = bmin[c]!;
      const hi = bmax[c]!;
      if (lo !== lo) continue;
      if (!this.seen[c]) {
        this.min[c] = lo;
        this.max[c] = hi;
        this.seen[c] = 1;
      } else {
        this.min[c] = this.min[c]! + k * (lo - this.min[c]!);
        this.max[c] = this.max[c]! + k * (hi - this.max[c]!);
      }
    }
  }

  /** The averaged minimum and maximum; throws a QwasmError before any finite value. */
  range(): ObservedRange {
    this.checkSeen();
    const min = new Float64Array(this.channels);
    const max = new Float64Array(this.channels);
    for (let c = 0; c < this.channels; c++) {
      min[c] = this.seen[c] ? this.min[c]! : Infinity;
      max[c] = this.seen[c] ? this.max[c]! : -Infinity;
    }
    return finishRange(min, max);
  }
}

/**
 * Options of {@link HistogramObserver}.
 *
 * @example
 * ```ts
 * const o: HistogramOptions = { method: 'percentile', percentile: 99.9, bins: 4096 };
 * ```
 */
export interface HistogramOptions extends ObserverOptions {
  /**
   * - `'mse'` (default): the range minimising the expected quantization MSE of the data,
   *   for the scheme passed to range() / params();
   * - `'percentile'`: clip at the `percentile`-th percentile of |x| (symmetric schemes) or
   *   at the (100 - p)-th and p-th percentiles of x (asymmetric);
   * - `'entropy'`: TensorRT's KL-divergence calibration on the histogram of |x|.
   */
  method?: HistogramMethod;
  /** Percentile for `'percentile'`, in (0, 100]; default 99.99. */
  percentile?: number;
  /** Bins per histogram (per channel when per channel); default 2048, from 16 to 2^20. */
  bins?: number;
}

/**
 * A streaming histogram per tensor (or per channel) with bounded memory, and a clipping
 * range chosen from it by percentile, minimum expected MSE or minimum KL divergence.
 * The histogram's bins are 0-aligned with a power-of-two width that doubles (merging
 * bins pairwise, losslessly) when data arrives outside the window, so feeding 10^7
 * values costs the same memory as feeding 10. See docs/calibration.md for which method
 * to use.
 *
 * @example
 * ```ts
 * const obs = new HistogramObserver({ method: 'mse' });
 * for (const batch of activations) obs.observe(batch);
 * const p = obs.params({ bits: 8, signed: false, symmetric: false });
 * ```
 */
export class HistogramObserver extends ObserverBase {
  /** How range() picks the clipping range (default 'mse'). */
  readonly method: HistogramMethod;
  /** The percentile of the 'percentile' method, in (0, 100] (default 99.99). */
  readonly percentile: number;
  /** Bins per histogram (default 2048). */
  readonly bins: number;
  private hists: StreamingHistogram[] = [];

  constructor(options?: HistogramOptions | null) {
    super(options);
    const o = readOptions(options, 'options');
    const method = given(o.method) ?? 'mse';
    check(
      method === 'mse' || method === 'percentile' || method === 'entropy',
      'method',
      `must be 'mse', 'percentile' or 'entropy', got ${describe(method)}`,
    );
    const p = given(o.percentile) ?? 99.99;
    check(typeof p === 'number' && p > 0 && p <= 100, 'percentile', () => `must be in (0, 100], got ${describe(p)}`);
    const bins = given(o.bins) ?? 2048;
    checkBins(bins);
    this.method = method;
    this.percentile = p;
    this.bins = bins;
  }

  /** Bytes of state: two float64 arrays of `bins` (counts and merge scratch) per channel. */
  get stateBytes(): number {
    let n = 0;
    for (const h of this.hists) n += h.stateBytes;
    return n;
  }

  protected allocate(C: number): void {
    this.hists = [];
    for (let c = 0; c < C; c++) this.hists.push(new StreamingHistogram(this.bins));
  }

  protected clear(): void {
    this.channels = 0;
    this.hists = [];
  }

  protected accept(data: Float32Array, L: BatchLayout, bmin: Float64Array, bmax: Float64Array): void {
    for (let c = 0; c < L.C; c++) {
      if (bmin[c]! === bmin[c]!) this.hists[c]!.cover(bmin[c]!, bmax[c]!);
    }
    for (let o = 0; o < L.outer; o++) {
      for (let c = 0; c < L.C; c++) {
        if (bmin[c]! !== bmin[c]!) continue;
        this.hists[c]!.add(data, (o * L.C + c) * L.inner, L.inner, 1);
      }
    }
  }

  /** A copy of channel c's histogram (c = 0 per tensor). */
  histogram(channel?: number | null): HistogramSnapshot {
    const c = given(channel) ?? 0;
    check(
      Number.isInteger(c) && c >= 0 && c < this.hists.length,
      'channel',
      `must be an integer in [0, ${this.hists.length}), got ${describe(c)}`,
    );
    return this.hists[c]!.snapshot();
  }

  /**
   * The expected MSE per value (from the histogram) of quantizing channel c's data with
   * the range [min, max] under `scheme`: what the `'mse'` method minimises.
   */
  expectedMse(min: number, max: number, scheme?: QuantScheme | null, channel?: number | null): number {
    check(
      typeof min === 'number' && typeof max === 'number' && Number.isFinite(min) && Number.isFinite(max) && min <= max,
      'range',
      `must be finite numbers with min <= max, got [${describe(min)}, ${describe(max)}]`,
    );
    return histogramMse(this.histogram(channel), min, max, resolveScheme(scheme));
  }

  /**
   * The clipping range `method` picks from each channel's histogram, for `scheme` (the
   * quantization grid 'mse' and 'entropy' optimise for; symmetric or not for
   * 'percentile'). Throws a QwasmError before any finite value.
   */
  range(scheme?: QuantScheme | null): ObservedRange {
    this.checkSeen();
    const s: ResolvedScheme = resolveScheme(scheme);
    const C = this.hists.length;
    const min = new Float64Array(C).fill(Infinity);
    const max = new Float64Array(C).fill(-Infinity);
    for (let c = 0; c < C; c++) {
      const h = this.hists[c]!.snapshot();
      if (h.total === 0) continue;
      let r: [number, number];
      if (this.method === 'percentile') r = percentileRange(h, this.percentile, s);
      else if (this.method === 'mse') r = mseRange(h, s);
      else r = entropyRange(h, s, this.bins);
      min[c] = r[0];
      max[c] = r[1];
    }
    return finishRange(min, max);
  }
}
