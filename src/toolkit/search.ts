// Range search: choose the clipping range [min, max] that minimises an objective,
// spending at most `budget` objective evaluations. The search runs over clip fractions
// alpha in [minFraction, 1] of the full range: one fraction of max|x| for symmetric
// ranges (and for one-sided data), one per end for asymmetric ranges on two-sided data.
// Every method evaluates the full range (alpha = 1, the min-max choice) first, so the
// answer is never worse than min-max on the objective it was given. Ranges are taken
// with 0 inside, as every quantization range is: all-positive bounds [5, 10] are
// searched as [0, t] for t up to 10, all-negative ones as [-t, 0].
import { QwasmError, check } from '../errors.js';
import { readTensorOrArray, type Tensor } from '../tensor.js';
import { describe, readOptions } from '../args.js';
import { given, readBoolean } from './args.js';
import { roundHalfEven } from '../quant/multiplier.js';
import { paramsFromRange, resolvedRangeParams, resolveScheme, type QuantParams, type QuantScheme } from './scheme.js';
import { checkMetric, metricLoss, metricsFromSums, type ErrorMetric } from './metrics.js';

/**
 * An objective over clipping ranges: lower is better. NaN counts as +Infinity.
 *
 * @example
 * ```ts
 * const objective: RangeObjective = (lo, hi) => outputError(lo, hi); // any function of the range
 * ```
 */
export type RangeObjective = (min: number, max: number) => number;

/**
 * The search strategies (see {@link RangeSearchOptions}).
 *
 * @example
 * ```ts
 * const method: SearchMethod = 'golden';
 * ```
 */
export type SearchMethod = 'grid' | 'golden' | 'random' | 'pso';

/**
 * Options of {@link searchRange}.
 *
 * @example
 * ```ts
 * const o: RangeSearchOptions = { method: 'golden', budget: 32, symmetric: true };
 * ```
 */
export interface RangeSearchOptions {
  /**
   * - `'grid'`: evenly spaced fractions (a square grid in 2-D);
   * - `'golden'` (default): golden-section search, assuming one minimum; in 2-D, a pass
   *   on a shared fraction, then one per end (coordinate descent);
   * - `'random'`: uniform random fractions (seeded);
   * - `'pso'`: particle-swarm optimisation (seeded), constriction coefficients.
   */
  method?: SearchMethod;
  /** Most objective evaluations to spend (>= 1; default 64). */
  budget?: number;
  /** Seed of `'random'` and `'pso'` (default 1). */
  seed?: number;
  /** Smallest clip as a fraction of the full range, in (0, 1] (default 0.01). */
  minFraction?: number;
  /** Search symmetric ranges [-t, t] (1-D; default true) or both ends separately. */
  symmetric?: boolean;
}

/**
 * What a search found.
 *
 * @example
 * ```ts
 * const r: RangeSearchResult = searchRange(objective, { min: -4, max: 4 });
 * console.log(r.loss / r.fullRangeLoss); // < 1: clipping helped
 * ```
 */
export interface RangeSearchResult {
  /** The low end of the best range found. */
  min: number;
  /** The high end of the best range found. */
  max: number;
  /** Objective at [min, max]. */
  loss: number;
  /** Objective of the full range (what min-max calibration gives). */
  fullRangeLoss: number;
  /** Objective evaluations spent (<= budget). */
  evaluations: number;
}

/** mulberry32: small, seeded, reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INV_PHI = (Math.sqrt(5) - 1) / 2;

/** A counted, memoised objective over fraction vectors. */
class Evaluator {
  evaluations = 0;
  best: number[] = [];
  bestLoss = Infinity;
  constructor(
    private readonly f: (a: readonly number[]) => number,
    readonly budget: number,
  ) {}

  get left(): number {
    return this.budget - this.evaluations;
  }

  eval(a: readonly number[]): number {
    if (this.evaluations >= this.budget) return Infinity;
    this.evaluations++;
    const r: unknown = this.f(a);
    if (typeof r !== 'number') throw new QwasmError('objective', `must return a number, returned ${describe(r)}`);
    const v = r !== r ? Infinity : r;
    if (v < this.bestLoss) {
      this.bestLoss = v;
      this.best = [...a];
    }
    return v;
  }
}

/** Golden-section search of coordinate `dim` (others fixed at `base`) with n evaluations. */
function golden1d(ev: Evaluator, base: number[], dim: number[], lo: number, hi: number, n: number): void {
  if (n <= 0) return;
  const at = (t: number) => {
    const a = [...base];
    for (const d of dim) a[d] = t;
    return a;
  };
  let a = lo;
  let b = hi;
  let c = b - INV_PHI * (b - a);
  let d = a + INV_PHI * (b - a);
  let fc = ev.eval(at(c));
  if (n === 1) return;
  let fd = ev.eval(at(d));
  for (let i = 2; i < n; i++) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - INV_PHI * (b - a);
      fc = ev.eval(at(c));
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + INV_PHI * (b - a);
      fd = ev.eval(at(d));
    }
  }
}

function runGrid(ev: Evaluator, dims: number, lo: number): void {
  if (dims === 1) {
    const n = ev.left;
    for (let i = 0; i < n; i++) ev.eval([lo + ((1 - lo) * i) / n]);
    return;
  }
  const g = Math.max(1, Math.floor(Math.sqrt(ev.left + 1)));
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      if (i === g - 1 && j === g - 1) continue; // (1, 1): the full range, already evaluated
      ev.eval([lo + ((1 - lo) * (i + 1)) / g, lo + ((1 - lo) * (j + 1)) / g]);
    }
  }
}

function runGolden(ev: Evaluator, dims: number, lo: number): void {
  if (dims === 1) {
    golden1d(ev, [1], [0], lo, 1, ev.left);
    return;
  }
  // a shared fraction first (both ends together), then each end alone (coordinate descent)
  golden1d(ev, [1, 1], [0, 1], lo, 1, Math.ceil(ev.left / 3));
  golden1d(ev, [...ev.best], [0], lo, 1, Math.ceil(ev.left / 2));
  golden1d(ev, [...ev.best], [1], lo, 1, ev.left);
}

function runRandom(ev: Evaluator, dims: number, lo: number, seed: number): void {
  const r = rng(seed);
  while (ev.left > 0) {
    const a: number[] = [];
    for (let d = 0; d < dims; d++) a.push(lo + (1 - lo) * r());
    ev.eval(a);
  }
}

/** Particle-swarm optimisation with Clerc's constriction (w = 0.7298, c1 = c2 = 1.49618). */
function runPso(ev: Evaluator, dims: number, lo: number, seed: number): void {
  const r = rng(seed);
  const P = Math.max(3, Math.min(16, Math.round(Math.sqrt(ev.budget))));
  const W = 0.7298;
  const C = 1.49618;
  const span = 1 - lo;
  const xs: number[][] = [];
  const vs: number[][] = [];
  const pb: number[][] = [];
  const pbf: number[] = [];
  for (let p = 0; p < P && ev.left > 0; p++) {
    const x: number[] = [];
    const v: number[] = [];
    for (let d = 0; d < dims; d++) {
      // particle 0 starts at the full range (already evaluated as the baseline)
      x.push(p === 0 ? 1 : lo + span * r());
      v.push((r() - 0.5) * span * 0.5);
    }
    xs.push(x);
    vs.push(v);
    pb.push([...x]);
    pbf.push(p === 0 ? ev.bestLoss : ev.eval(x));
  }
  while (ev.left > 0) {
    for (let p = 0; p < xs.length && ev.left > 0; p++) {
      const x = xs[p]!;
      const v = vs[p]!;
      const g = ev.best;
      for (let d = 0; d < dims; d++) {
        v[d] = W * v[d]! + C * r() * (pb[p]![d]! - x[d]!) + C * r() * (g[d]! - x[d]!);
        x[d] = x[d]! + v[d]!;
        if (x[d]! < lo) {
          x[d] = lo;
          v[d] = 0;
        } else if (x[d]! > 1) {
          x[d] = 1;
          v[d] = 0;
        }
      }
      const f = ev.eval(x);
      if (f < pbf[p]!) {
        pbf[p] = f;
        pb[p] = [...x];
      }
    }
  }
}

/**
 * Searches the clipping range in `bounds` (the full range, e.g. the data's min and max,
 * widened to include 0) that minimises `objective`, within `budget` evaluations. See
 * {@link RangeSearchOptions}; `null` options are the defaults.
 *
 * @example
 * ```ts
 * const obj = (lo: number, hi: number) => myValidationLoss(lo, hi);
 * const r = searchRange(obj, { min: -6, max: 6 }, { method: 'pso', budget: 48 });
 * console.log(r.min, r.max, r.evaluations);
 * ```
 */
export function searchRange(
  objective: RangeObjective,
  bounds: { min: number; max: number },
  options?: RangeSearchOptions | null,
): RangeSearchResult {
  check(typeof objective === 'function', 'objective', 'must be a function (min, max) => loss');
  check(
    typeof bounds === 'object' && bounds !== null,
    'bounds',
    () => `expected { min, max }, got ${describe(bounds)}`,
  );
  const { min, max } = bounds;
  check(
    typeof min === 'number' && typeof max === 'number' && Number.isFinite(min) && Number.isFinite(max) && min <= max,
    'bounds',
    `must be finite numbers with min <= max, got [${describe(min)}, ${describe(max)}]`,
  );
  const o = readOptions(options, 'options');
  const method = given(o.method) ?? 'golden';
  check(
    method === 'grid' || method === 'golden' || method === 'random' || method === 'pso',
    'method',
    `must be 'grid', 'golden', 'random' or 'pso', got ${describe(method)}`,
  );
  const budget = given(o.budget) ?? 64;
  check(Number.isInteger(budget) && budget >= 1, 'budget', () => `must be a positive integer, got ${describe(budget)}`);
  const lo = given(o.minFraction) ?? 0.01;
  check(typeof lo === 'number' && lo > 0 && lo <= 1, 'minFraction', () => `must be in (0, 1], got ${describe(lo)}`);
  const seed = given(o.seed) ?? 1;
  check(Number.isInteger(seed), 'seed', () => `must be an integer, got ${describe(seed)}`);
  const symmetric = readBoolean(o.symmetric, 'symmetric', true);

  // the fractions -> range map, over the bounds widened to include 0
  const L = Math.min(min, 0);
  const H = Math.max(max, 0);
  let dims: number;
  let toRange: (a: readonly number[]) => [number, number];
  if (symmetric || L === 0 || H === 0) {
    dims = 1;
    const amax = Math.max(-L, H);
    toRange = (a) => {
      const t = a[0]! * amax;
      return [Math.max(L, -t), Math.min(H, t)];
    };
  } else {
    dims = 2;
    toRange = (a) => [a[0]! * L, a[1]! * H];
  }
  const ev = new Evaluator((a) => {
    const [x, y] = toRange(a);
    return objective(x, y);
  }, budget);
  const full = dims === 1 ? [1] : [1, 1];
  const fullRangeLoss = ev.eval(full);
  if (method === 'grid') runGrid(ev, dims, lo);
  else if (method === 'golden') runGolden(ev, dims, lo);
  else if (method === 'random') runRandom(ev, dims, lo, seed);
  else runPso(ev, dims, lo, seed);
  const [bmin, bmax] = toRange(ev.best.length ? ev.best : full);
  return { min: bmin, max: bmax, loss: ev.bestLoss, fullRangeLoss, evaluations: ev.evaluations };
}

/**
 * A custom data objective: loss of reconstruction xHat against x (lower is better).
 *
 * @example
 * ```ts
 * const worstRelative: ReconstructionLoss = (x, xHat) => quantError(x, xHat).maxAbs / quantError(x, xHat).rmse;
 * ```
 */
export type ReconstructionLoss = (x: Float32Array, xHat: Float32Array) => number;

/**
 * Options of {@link searchClipRange}.
 *
 * @example
 * ```ts
 * const o: ClipSearchOptions = { scheme: { bits: 4 }, metric: 'mse', method: 'golden', budget: 32 };
 * ```
 */
export interface ClipSearchOptions extends Omit<RangeSearchOptions, 'symmetric'> {
  /** The quantization the range is for (default symmetric signed 8-bit). */
  scheme?: QuantScheme;
  /** What to minimise: an error metric (default `'mse'`) or a custom loss. */
  metric?: ErrorMetric | ReconstructionLoss;
}

/**
 * What {@link searchClipRange} found.
 *
 * @example
 * ```ts
 * const r: ClipSearchResult = searchClipRange(x, { scheme: { bits: 4 } });
 * const xq = fakeQuantize(x, r.params);
 * ```
 */
export interface ClipSearchResult extends RangeSearchResult {
  /** Per-tensor parameters of the range found. */
  params: QuantParams;
}

/**
 * Searches the per-tensor clipping range of data `x` that minimises a quantization error
 * metric of its fake-quantized reconstruction (MSE by default), with the scheme's
 * own rounding and zero-point nudging. Symmetric schemes search one threshold;
 * asymmetric schemes search both ends; one-sided and constant data search [0, t] or
 * [-t, 0]. NaN and +-Inf in `x` are left out of the bounds and of the error. `null`
 * options (or a `null` scheme or metric) are the defaults.
 *
 * @example
 * ```ts
 * const r = searchClipRange(weights, { scheme: { bits: 4 }, method: 'golden', budget: 32 });
 * console.log(`MSE ${r.loss} vs min-max ${r.fullRangeLoss} in ${r.evaluations} evaluations`);
 * ```
 */
export function searchClipRange(
  x: Tensor<Float32Array> | Float32Array,
  options?: ClipSearchOptions | null,
): ClipSearchResult {
  const data = readTensorOrArray(x, 'x', Float32Array).data;
  const o = readOptions(options, 'options');
  const s = resolveScheme(o.scheme);
  const metric = given(o.metric) ?? 'mse';
  if (typeof metric !== 'function') checkMetric(metric, 'metric');
  // finite values only
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v === 0) {
      n++;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  check(n > 0, 'x', 'holds no finite values');
  const finite = n === data.length ? data : new Float32Array(n);
  if (finite !== data) {
    let j = 0;
    for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! === 0) finite[j++] = data[i]!;
  }
  const { qmin, qmax } = s;
  let objective: RangeObjective;
  if (typeof metric === 'function') {
    const buf = new Float32Array(n);
    objective = (lo, hi) => {
      const p = resolvedRangeParams(lo, hi, s);
      fakeQuantizeInto(finite, p.scale, p.zeroPoint, qmin, qmax, buf);
      return metric(finite, buf);
    };
  } else {
    objective = (lo, hi) => {
      const p = resolvedRangeParams(lo, hi, s);
      return metricLoss(metricsFromSums(fakeQuantizeSums(finite, p.scale, p.zeroPoint, qmin, qmax), n), metric);
    };
  }
  const r = searchRange(objective, { min, max }, { ...o, symmetric: s.symmetric });
  const params = paramsFromRange(r.min, r.max, s);
  return { ...r, params };
}

/** Per-tensor fake quantization into a buffer (the search's inner loop). */
function fakeQuantizeInto(x: Float32Array, s: number, zp: number, qmin: number, qmax: number, out: Float32Array): void {
  const lo = qmin - zp;
  const hi = qmax - zp;
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i]! / s);
    out[i] = roundHalfEven(v < lo ? lo : v > hi ? hi : v) * s;
  }
}

/** The error sums of x against its per-tensor fake quantization, without a buffer. */
function fakeQuantizeSums(x: Float32Array, s: number, zp: number, qmin: number, qmax: number) {
  const lo = qmin - zp;
  const hi = qmax - zp;
  let see = 0;
  let sae = 0;
  let mae = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const v = Math.fround(a / s);
    const b = Math.fround(roundHalfEven(v < lo ? lo : v > hi ? hi : v) * s);
    const e = a - b;
    const ae = Math.abs(e);
    see += e * e;
    sae += ae;
    if (ae > mae) mae = ae;
    sxx += a * a;
    syy += b * b;
    sxy += a * b;
  }
  return { see, sae, mae, sxx, syy, sxy };
}
