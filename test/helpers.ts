// Shared test helpers: engines for every build the host runs, seeded random data.
import { Qwasm, supportedBackends, type Backend } from '../src/index.js';

/** Every build this host can run (relaxed only where the probe found it exact). */
export const backends: Backend[] = await supportedBackends();

/** One engine per runnable build, created once per test file. */
export async function engines(): Promise<Map<Backend, Qwasm>> {
  const m = new Map<Backend, Qwasm>();
  for (const b of backends) m.set(b, await Qwasm.create({ backend: b }));
  return m;
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integers in [lo, hi]. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function randomInt8(r: () => number, n: number, lo = -128, hi = 127): Int8Array {
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) a[i] = randInt(r, lo, hi);
  return a;
}

export function randomUint8(r: () => number, n: number, lo = 0, hi = 255): Uint8Array {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = randInt(r, lo, hi);
  return a;
}

export function randomFloat32(r: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** Index of the first difference between two arrays, or -1. */
export function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
