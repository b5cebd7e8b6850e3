// Plain scalar references for the quantization toolkit, written from the definitions
// (docs/calibration.md, the kernel headers), not from the implementations.
import { roundHalfEven } from './requant.js';

/** Signed value of nibble `hi` (0 low, 1 high) of a byte. */
export function nibble(b: number, hi: number): number {
  const v = (b >> (4 * hi)) & 15;
  return v >= 8 ? v - 16 : v;
}

/** Int4 GEMM, per-group scales: the float accumulation order of the grouped epilogue. */
export function int4GroupedRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  za: number,
  groupSize: number,
  mults: Float32Array,
  biasOut: Float32Array | undefined,
  zy: number,
  qmin: number,
  qmax: number,
): number[] {
  const groups = Math.ceil(K / groupSize);
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let f = 0;
      for (let g = 0; g < groups; g++) {
        let acc = 0;
        for (let k = g * groupSize; k < Math.min(K, (g + 1) * groupSize); k++)
          acc += (x[m * K + k]! - za) * w[n * K + k]!;
        f = Math.fround(f + Math.fround(Math.fround(acc) * mults[n * groups + g]!));
      }
      if (biasOut) f = Math.fround(f + biasOut[n]!);
      const c = Math.min(qmax - zy, Math.max(qmin - zy, f));
      out.push(roundHalfEven(c) + zy);
    }
  }
  return out;
}

/** int16 row quantization of the residual layer: scale = f32(absmax / 32767), q = rne(x / scale). */
export function quantizeRowS16(row: Float32Array): { q: Int32Array; scale: number } {
  let amax = 0;
  for (const v of row) amax = Math.max(amax, Math.abs(v));
  const scale = Math.fround(amax / 32767);
  const q = new Int32Array(row.length);
  if (amax === 0) return { q, scale };
  for (let i = 0; i < row.length; i++)
    q[i] = roundHalfEven(Math.min(32767, Math.max(-32767, Math.fround(row[i]! / scale))));
  return { q, scale };
}

/** The residual GEMM with the kernel's float32 order: blocks of 512 k, stage sums, then scales. */
export function residualGemmRef(
  x: Float32Array,
  q1: Int8Array,
  q2: Int8Array,
  s1: Float32Array,
  s2: Float32Array,
  bias: Float32Array | undefined,
  M: number,
  N: number,
  K: number,
  lo = -Infinity,
  hi = Infinity,
): Float32Array {
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const { q, scale } = quantizeRowS16(x.subarray(m * K, (m + 1) * K));
    for (let n = 0; n < N; n++) {
      let total = 0;
      for (const [st, s] of [
        [q1, s1],
        [q2, s2],
      ] as const) {
        let stage = 0;
        for (let k0 = 0; k0 < K; k0 += 512) {
          let acc = 0;
          for (let k = k0; k < Math.min(K, k0 + 512); k++) acc += q[k]! * st[n * K + k]!;
          stage = k0 === 0 ? Math.fround(acc) : Math.fround(stage + Math.fround(acc));
        }
        const v = Math.fround(stage * s[n]!);
        total = st === q1 ? v : Math.fround(total + v);
      }
      let y = Math.fround(total * scale);
      if (bias) y = Math.fround(y + bias[n]!);
      out[m * N + n] = Math.min(hi, Math.max(lo, y));
    }
  }
  return out;
}

/**
 * TensorRT's KL calibration on a histogram of |x|, straight from its description: for
 * i in [levels, J], P = bins[0..i) with the outliers added to P[i-1], Q = bins[0..i)
 * (no outliers) merged into `levels` runs (boundaries floor(c * i / levels)) and
 * expanded evenly over the bins where P is non-empty, KL(P || Q) on normalised
 * distributions (infinite where Q = 0 < P); returns the best i.
 */
export function klBestIndex(counts: ArrayLike<number>, levels: number): number {
  const J = counts.length;
  let best = J;
  let bestKl = Infinity;
  for (let i = levels; i <= J; i++) {
    const p = Array.from({ length: i }, (_, j) => counts[j]!);
    for (let j = i; j < J; j++) p[i - 1]! += counts[j]!;
    const q = new Array<number>(i).fill(0);
    for (let c = 0; c < levels; c++) {
      const a = Math.floor((c * i) / levels);
      const b = Math.floor(((c + 1) * i) / levels);
      let mass = 0;
      let nz = 0;
      for (let j = a; j < b; j++) {
        mass += counts[j]!;
        if (p[j]! > 0) nz++;
      }
      for (let j = a; j < b; j++) if (p[j]! > 0) q[j] = mass / nz;
    }
    const sp = p.reduce((s, v) => s + v, 0);
    const sq = q.reduce((s, v) => s + v, 0);
    if (sq === 0) continue;
    let kl = 0;
    for (let j = 0; j < i; j++) {
      if (p[j]! > 0) kl += q[j]! > 0 ? (p[j]! / sp) * Math.log(p[j]! / sp / (q[j]! / sq)) : Infinity;
    }
    if (kl < bestKl - 1e-12) {
      bestKl = kl;
      best = i;
    }
  }
  return best;
}

/** Data MSE of fake-quantizing x per tensor with scale s and zero point zp into [qmin, qmax]. */
export function fakeQuantMse(x: ArrayLike<number>, s: number, zp: number, qmin: number, qmax: number): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) {
    const q = Math.min(qmax, Math.max(qmin, roundHalfEven(Math.fround(x[i]! / s)) + zp));
    const d = x[i]! - Math.fround((q - zp) * s);
    e += d * d;
  }
  return e / x.length;
}

/** Seeded samples of the benchmark's distributions (Box-Muller normals). */
export function samples(
  r: () => number,
  kind: 'gaussian' | 'laplacian' | 'student-t' | 'relu',
  n: number,
): Float32Array {
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (kind === 'gaussian') out[i] = normal();
    else if (kind === 'relu') out[i] = Math.max(0, normal());
    else if (kind === 'laplacian') {
      const u = r() - 0.5;
      out[i] = -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    } else {
      // Student-t with 3 degrees of freedom: z / sqrt(chi2_3 / 3)
      let chi = 0;
      for (let j = 0; j < 3; j++) chi += normal() ** 2;
      out[i] = normal() / Math.sqrt(chi / 3);
    }
  }
  return out;
}

/** Rounds a double to the nearest float16 value (ties to even, subnormals, overflow to infinity). */
export function f16round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  // 10 fraction bits; below 2^-14 the quantum stays 2^-24 (subnormals)
  const q = 2 ** (Math.max(e, -14) - 10);
  return Math.sign(x) * roundHalfEven(a / q) * q;
}
