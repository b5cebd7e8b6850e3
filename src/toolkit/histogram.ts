// A streaming histogram with bounded memory, and the clipping ranges computed from it:
// percentile, minimum expected quantization MSE, and minimum KL divergence (the
// entropy calibration TensorRT describes).
//
// Binning. Bin j covers [(origin + j) * width, (origin + j + 1) * width): the grid is
// aligned with 0 and `width` is a power of two. When a batch falls outside the window,
// the width doubles until the whole observed range fits and old bins merge pairwise
// into the coarser grid. Because the grid is 0-aligned and widths are powers of two,
// every old bin lands entirely inside one new bin, so merging loses nothing beyond
// the coarser resolution (no interpolation, no smearing), x / width is exact, and the
// histogram of |x| is an exact fold of it. The observed range always covers more
// than half of the window, so resolution is within 2x of `range / bins`. The state is
// `bins` float64 counts (exact to 2^53 values) plus the scratch array of a merge.
//
// Density model for the expected error: mass spread uniformly inside each bin, the
// first and last occupied bins clipped to the exact observed min and max.
import { check } from '../errors.js';
import { describe } from '../args.js';
import { resolvedRangeParams, type ResolvedScheme } from './scheme.js';

/**
 * A copy of a histogram's state: bin j covers [(origin + j) * width, (origin + j + 1) * width).
 *
 * @example
 * ```ts
 * const h: HistogramSnapshot = observer.histogram();
 * const lowEdge = h.origin * h.width; // value at the start of bin 0
 * ```
 */
export interface HistogramSnapshot {
  /** Values per bin, one entry per bin (float64: exact to 2^53). */
  counts: Float64Array;
  /** Bin width: a power of two, 0 before the first value. */
  width: number;
  /** Index of bin 0 on the 0-aligned grid: bin j starts at (origin + j) * width. */
  origin: number;
  /** The smallest value observed (Infinity before any). */
  min: number;
  /** The largest value observed (-Infinity before any). */
  max: number;
  /** Values counted, the sum of `counts`. */
  total: number;
  /** Values exactly 0 (counted in their bin too). */
  zeros: number;
}

/**
 * How a histogram observer turns its histogram into a clipping range (see HistogramOptions).
 *
 * @example
 * ```ts
 * const method: HistogramMethod = 'entropy';
 * const obs = new HistogramObserver({ method });
 * ```
 */
export type HistogramMethod = 'percentile' | 'mse' | 'entropy';

export class StreamingHistogram {
  readonly bins: number;
  private counts: Float64Array;
  private scratch: Float64Array;
  /** Bin width: a power of two, 0 until the first value. */
  width = 0;
  /** Index of bin 0 on the 0-aligned grid. */
  origin = 0;
  min = Infinity;
  max = -Infinity;
  total = 0;
  zeros = 0;

  constructor(bins: number) {
    this.bins = bins;
    this.counts = new Float64Array(bins);
    this.scratch = new Float64Array(bins);
  }

  get stateBytes(): number {
    return this.counts.byteLength + this.scratch.byteLength;
  }

  reset(): void {
    this.counts.fill(0);
    this.width = 0;
    this.origin = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.total = 0;
    this.zeros = 0;
  }

  snapshot(): HistogramSnapshot {
    return {
      counts: this.counts.slice(),
      width: this.width,
      origin: this.origin,
      min: this.min,
      max: this.max,
      total: this.total,
      zeros: this.zeros,
    };
  }

  /** Makes the window cover [lo, hi] (finite, lo <= hi) and everything seen so far. */
  cover(lo: number, hi: number): void {
    const B = this.bins;
    const newLo = Math.min(this.min, lo);
    const newHi = Math.max(this.max, hi);
    let w = this.width;
    if (w === 0) {
      const span = newHi - newLo;
      const mag = Math.max(Math.abs(newLo), Math.abs(newHi));
      // a constant stream gets bins ~2^-20 of its magnitude; later batches widen them
      if (span > 0) w = 2 ** Math.ceil(Math.log2(span / (B - 1)));
      else w = mag > 0 ? 2 ** (Math.floor(Math.log2(mag)) - 20) : 2 ** -126;
      while (Math.floor(newHi / w) - Math.floor(newLo / w) >= B) w *= 2;
      this.width = w;
      this.origin = Math.floor(newLo / w);
      this.min = newLo;
      this.max = newHi;
      return;
    }
    while (Math.floor(newHi / w) - Math.floor(newLo / w) >= B) w *= 2;
    const keep = w === this.width && Math.floor(newLo / w) >= this.origin && Math.floor(newHi / w) < this.origin + B;
    if (!keep) {
      const f = w / this.width;
      const newOrigin = Math.floor(newLo / w);
      const s = this.scratch;
      s.fill(0);
      for (let j = 0; j < B; j++) {
        const c = this.counts[j]!;
        if (c !== 0) s[Math.floor((this.origin + j) / f) - newOrigin]! += c;
      }
      this.scratch = this.counts;
      this.counts = s;
      this.width = w;
      this.origin = newOrigin;
    }
    this.min = newLo;
    this.max = newHi;
  }

  /** Adds finite values data[start + i * stride] (the caller called cover() with their range). */
  add(data: ArrayLike<number>, start: number, count: number, stride: number): void {
    const inv = 1 / this.width;
    const o = this.origin;
    const c = this.counts;
    let n = 0;
    let z = 0;
    for (let i = 0, j = start; i < count; i++, j += stride) {
      const v = data[j]!;
      if (v - v === 0) {
        c[Math.floor(v * inv) - o]! += 1;
        n++;
        if (v === 0) z++;
      }
    }
    this.total += n;
    this.zeros += z;
  }
}

/** Bin j of a snapshot as the interval its mass is spread over. */
function binInterval(h: HistogramSnapshot, j: number): [number, number] {
  const a = (h.origin + j) * h.width;
  return [Math.max(a, h.min), Math.min(a + h.width, h.max)];
}

/**
 * Cumulative moments of the histogram's density, about a centre c (so that the
 * subtraction in the expected error does not cancel catastrophically far from 0).
 */
class Moments {
  private readonly m0: Float64Array;
  private readonly m1: Float64Array;
  private readonly m2: Float64Array;
  readonly c: number;

  constructor(private readonly h: HistogramSnapshot) {
    const B = h.counts.length;
    this.m0 = new Float64Array(B + 1);
    this.m1 = new Float64Array(B + 1);
    this.m2 = new Float64Array(B + 1);
    this.c = (h.min + h.max) / 2;
    for (let j = 0; j < B; j++) {
      const m = h.counts[j]!;
      let e1 = 0;
      let e2 = 0;
      if (m > 0) {
        const [a0, b0] = binInterval(h, j);
        const a = a0 - this.c;
        const b = b0 - this.c;
        e1 = (a + b) / 2;
        e2 = (a * a + a * b + b * b) / 3;
      }
      this.m0[j + 1] = this.m0[j]! + m;
      this.m1[j + 1] = this.m1[j]! + m * e1;
      this.m2[j + 1] = this.m2[j]! + m * e2;
    }
  }

  /** [mass, first moment, second moment] of the density below t (absolute units; moments about c). */
  below(t: number): [number, number, number] {
    this.accumulate(t);
    return [this.s0, this.s1, this.s2];
  }

  // the result of accumulate(), in fields so the error search allocates nothing per cell
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;

  /** below(t) into s0, s1, s2. */
  private accumulate(t: number): void {
    const h = this.h;
    const B = h.counts.length;
    if (t <= h.min) {
      this.s0 = this.s1 = this.s2 = 0;
      return;
    }
    if (t > h.max) {
      this.s0 = this.m0[B]!;
      this.s1 = this.m1[B]!;
      this.s2 = this.m2[B]!;
      return;
    }
    let j = Math.floor(t / h.width) - h.origin;
    if (j < 0) j = 0;
    if (j >= B) j = B - 1;
    let s0 = this.m0[j]!;
    let s1 = this.m1[j]!;
    let s2 = this.m2[j]!;
    const m = h.counts[j]!;
    if (m > 0) {
      const a0 = Math.max((h.origin + j) * h.width, h.min);
      const b0 = Math.min((h.origin + j) * h.width + h.width, h.max);
      if (b0 > a0) {
        const tt = Math.min(Math.max(t, a0), b0);
        const a = a0 - this.c;
        const x = tt - this.c;
        const d = m / (b0 - a0);
        s0 += d * (tt - a0);
        s1 += (d * (x * x - a * a)) / 2;
        s2 += (d * (x * x * x - a * a * a)) / 3;
      } else if (a0 < t) {
        // a point mass (constant data): wholly below t
        const a = a0 - this.c;
        s0 += m;
        s1 += m * a;
        s2 += m * a * a;
      }
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
  }

  /**
   * Expected squared error (summed over the mass, not averaged) of quantizing the density
   * with scale s and zero point zp into [qmin, qmax], round to nearest.
   */
  error(s: number, zp: number, qmin: number, qmax: number): number {
    const h = this.h;
    // only the cells the data can reach
    const qa = Math.max(qmin, Math.min(qmax, Math.round(h.min / s) + zp));
    const qb = Math.max(qmin, Math.min(qmax, Math.round(h.max / s) + zp));
    let p0 = 0;
    let p1 = 0;
    let p2 = 0;
    let err = 0;
    for (let q = qa; q <= qb; q++) {
      this.accumulate(q === qb ? Infinity : (q - zp + 0.5) * s);
      const v = (q - zp) * s - this.c;
      const d0 = this.s0 - p0;
      const d1 = this.s1 - p1;
      const d2 = this.s2 - p2;
      err += d2 - 2 * v * d1 + v * v * d0;
      p0 = this.s0;
      p1 = this.s1;
      p2 = this.s2;
    }
    return Math.max(err, 0);
  }
}

/** Expected MSE per value of quantizing the histogram's data with the given range and scheme. */
export function histogramMse(h: HistogramSnapshot, lo: number, hi: number, s: ResolvedScheme): number {
  if (h.total === 0) return 0;
  const p = resolvedRangeParams(lo, hi, s);
  return new Moments(h).error(p.scale, p.zeroPoint, s.qmin, s.qmax) / h.total;
}

/** Mass of the density below t (linear inside a bin). */
function massBelow(h: HistogramSnapshot, t: number, mo: Moments): number {
  return mo.below(t)[0];
}

/** The value below which `q` of the mass lies (0 < q < 1), by bisection on the density. */
function quantile(h: HistogramSnapshot, mo: Moments, q: number): number {
  let lo = h.min;
  let hi = h.max;
  const target = q * h.total;
  for (let i = 0; i < 200 && hi - lo > 0; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid === lo || mid === hi) break;
    if (massBelow(h, mid, mo) < target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The clipping range of a percentile method (p in (0, 100]). */
export function percentileRange(h: HistogramSnapshot, p: number, s: ResolvedScheme): [number, number] {
  if (h.total === 0 || h.min === h.max || p >= 100) return [h.min, h.max];
  const mo = new Moments(h);
  const q = p / 100;
  if (s.symmetric) {
    // quantile of |x|: the t with mass(-t < x < t) = q, by bisection
    const amax = Math.max(Math.abs(h.min), Math.abs(h.max));
    let lo = 0;
    let hi = amax;
    for (let i = 0; i < 200; i++) {
      const mid = lo + (hi - lo) / 2;
      if (mid === lo || mid === hi) break;
      const inside = massBelow(h, mid, mo) - massBelow(h, -mid, mo);
      if (inside < q * h.total) lo = mid;
      else hi = mid;
    }
    return [Math.max(Math.min(h.min, 0), -hi), Math.min(Math.max(h.max, 0), hi)];
  }
  const lo = h.min >= 0 ? h.min : quantile(h, mo, 1 - q);
  const hi = h.max <= 0 ? h.max : quantile(h, mo, q);
  return [lo, Math.max(lo, hi)];
}

/** Candidate clip fractions: `n` evenly spaced in (0, 1], 1 included. */
function fractions(n: number): Float64Array {
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) f[i] = (i + 1) / n;
  return f;
}

/**
 * The range minimising the expected quantization MSE under the scheme. Symmetric schemes
 * and one-sided data: a 1-D scan of 2048 clips in (0, max|x|]. Asymmetric schemes on
 * two-sided data: a 128 x 128 grid of (lower, upper) fractions, then a 33 x 33 grid
 * within one coarse step of the best. The unclipped range is always a candidate.
 */
export function mseRange(h: HistogramSnapshot, s: ResolvedScheme): [number, number] {
  if (h.total === 0 || h.min === h.max) return [h.min, h.max];
  const mo = new Moments(h);
  const err = (lo: number, hi: number) => {
    const p = resolvedRangeParams(lo, hi, s);
    return mo.error(p.scale, p.zeroPoint, s.qmin, s.qmax);
  };
  const lo0 = Math.min(h.min, 0);
  const hi0 = Math.max(h.max, 0);
  let best: [number, number] = [h.min, h.max];
  let bestErr = err(h.min, h.max);
  const consider = (lo: number, hi: number) => {
    const e = err(lo, hi);
    if (e < bestErr) {
      bestErr = e;
      best = [lo, hi];
    }
  };
  if (s.symmetric || lo0 === 0 || hi0 === 0) {
    const amax = Math.max(-lo0, hi0);
    // candidates are cut to the range widened to 0, so they stay valid on one-sided data
    for (const f of fractions(2048)) {
      const t = f * amax;
      consider(Math.max(lo0, -t), Math.min(hi0, t));
    }
    return best;
  }
  const G = 128;
  let bi = G;
  let bj = G;
  let coarseErr = Infinity;
  for (let i = 1; i <= G; i++) {
    for (let j = 1; j <= G; j++) {
      const e = err((lo0 * i) / G, (hi0 * j) / G);
      if (e < coarseErr) {
        coarseErr = e;
        bi = i;
        bj = j;
      }
    }
  }
  consider((lo0 * bi) / G, (hi0 * bj) / G);
  const F = 16;
  for (let di = -F; di <= F; di++) {
    for (let dj = -F; dj <= F; dj++) {
      const fi = (bi + di / F) / G;
      const fj = (bj + dj / F) / G;
      if (fi <= 0 || fj <= 0 || fi > 1 || fj > 1) continue;
      consider(lo0 * fi, hi0 * fj);
    }
  }
  return best;
}

/**
 * The histogram of |x| from a 0-aligned histogram: folded bin j covers
 * [j * width, (j + 1) * width) of |x|, merged by a power of two until at most
 * `maxBins` bins remain.
 */
export function foldAbs(h: HistogramSnapshot, maxBins: number): { counts: Float64Array; width: number } {
  const B = h.counts.length;
  let hiIndex = 0;
  for (let j = 0; j < B; j++) {
    if (h.counts[j]! === 0) continue;
    const k = h.origin + j;
    hiIndex = Math.max(hiIndex, k >= 0 ? k : -k - 1);
  }
  let f = 1;
  while (Math.floor(hiIndex / f) + 1 > maxBins) f *= 2;
  const J = Math.floor(hiIndex / f) + 1;
  const counts = new Float64Array(J);
  for (let j = 0; j < B; j++) {
    const c = h.counts[j]!;
    if (c === 0) continue;
    const k = h.origin + j;
    counts[Math.floor((k >= 0 ? k : -k - 1) / f)]! += c;
  }
  return { counts, width: h.width * f };
}

/**
 * KL-divergence calibration (TensorRT's entropy method) on the histogram of |x|: for
 * every candidate i >= levels, the reference P is the first i bins with the mass beyond
 * them folded into bin i - 1 (what clipping at i does), and the candidate Q merges the
 * first i bins as they are (without the folded mass) into `levels` runs (boundaries
 * floor(c * i / levels)), spreading each run's mass evenly over the run's bins where P is
 * non-empty. The i minimising KL(P || Q), both normalised, gives the threshold i * width
 * (the upper edge of the last kept bin). A candidate where Q is empty but P is not (the
 * folded mass landed in a run with no data of its own) has infinite divergence.
 * Candidates start at bin max(levels, minIndex).
 */
export function entropyThreshold(
  counts: Float64Array,
  width: number,
  levels: number,
  minIndex = levels,
): { index: number; threshold: number } {
  const J = counts.length;
  if (J <= levels) return { index: J, threshold: J * width };
  let total = 0;
  for (let j = 0; j < J; j++) total += counts[j]!;
  // beyond[i]: mass in bins i .. J - 1 (what clipping at i folds into bin i - 1)
  const beyond = new Float64Array(J + 1);
  for (let j = J - 1; j >= 0; j--) beyond[j] = beyond[j + 1]! + counts[j]!;
  let bestI = J;
  let bestKl = Infinity;
  for (let i = Math.min(J, Math.max(levels, minIndex)); i <= J; i++) {
    const inside = total - beyond[i]!; // mass of Q (P's mass is the total)
    if (inside <= 0) continue;
    let kl = 0;
    for (let c = 0; c < levels && kl < Infinity; c++) {
      const start = Math.floor((c * i) / levels);
      const end = Math.floor(((c + 1) * i) / levels);
      let mass = 0;
      let nonzero = 0;
      for (let j = start; j < end; j++) {
        const pv = j === i - 1 ? counts[j]! + beyond[i]! : counts[j]!;
        mass += counts[j]!;
        if (pv > 0) nonzero++;
      }
      if (nonzero === 0) continue;
      const qv = mass / nonzero / inside;
      for (let j = start; j < end; j++) {
        const pv = (j === i - 1 ? counts[j]! + beyond[i]! : counts[j]!) / total;
        if (pv > 0) kl = qv > 0 ? kl + pv * Math.log(pv / qv) : Infinity;
      }
    }
    if (kl < bestKl) {
      bestKl = kl;
      bestI = i;
    }
  }
  return { index: bestI, threshold: bestI * width };
}

/** Positive-side levels of a scheme on data with this sign pattern (see entropyRange). */
export function entropyLevels(h: HistogramSnapshot, s: ResolvedScheme): number {
  if (!s.symmetric && h.min >= 0) return s.qmax - s.qmin + 1;
  return s.signed ? s.qmax + 1 : s.qmax - 2 ** (s.bits - 1) + 1;
}

/**
 * The entropy clipping range: a threshold t on |x| from {@link entropyThreshold}, with
 * as many levels as the scheme has codes on [0, t] (2^(b-1) for symmetric signed, all
 * 2^b for an asymmetric scheme on non-negative data), exact zeros left out, then
 * [-t, t] cut to the data.
 */
export function entropyRange(h: HistogramSnapshot, s: ResolvedScheme, maxBins = 2048): [number, number] {
  if (h.total === 0 || h.min === h.max) return [h.min, h.max];
  const levels = entropyLevels(h, s);
  const { counts, width } = foldAbs(h, Math.max(maxBins, levels));
  // Exact zeros are left out: every candidate represents 0 exactly (the zero point is
  // nudged onto it), so they cost nothing at any threshold, while their spike (ReLU's
  // half of the data) would make every merge of the first bins look expensive and
  // drag the threshold far down.
  counts[0] = counts[0]! - h.zeros;
  // The divergence sees the shape of the kept bins, not how much is clipped: on data away
  // from 0 (a LayerNorm's standard deviations in [0.4, 1.4]) a threshold at the data's lower
  // edge folds everything into one bin that Q matches exactly (divergence 0) and clips all
  // of it. Candidates start at the median of |x|, which no threshold should cut.
  let half = 0;
  for (let j = 0; j < counts.length; j++) half += counts[j]!;
  half /= 2;
  let median = 0;
  for (let acc = 0; median < counts.length && acc + counts[median]! < half; median++) acc += counts[median]!;
  const { threshold } = entropyThreshold(counts, width, levels, median + 1);
  return [Math.max(Math.min(h.min, 0), -threshold), Math.min(Math.max(h.max, 0), threshold)];
}

/** Validates a histogram bin count. */
export function checkBins(bins: number): void {
  check(
    Number.isInteger(bins) && bins >= 16 && bins <= 1 << 20,
    'bins',
    `must be an integer from 16 to 2^20, got ${describe(bins)}`,
  );
}
