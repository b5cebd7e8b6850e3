// Every microkernel called directly, on every remainder of its register tile: M rows from
// 1 to 2 * MR + 1, N columns from 1 to 2 * NR + 1, K around the packing steps. The
// op-level tests reach the kernels through layouts and blocking that may never hit a given
// (m, n, k) remainder; these do, and they also check that nothing is written past the
// output (a guard region after it keeps its sentinel bytes).
import { afterAll, describe, expect, it } from 'vitest';
import { loadBuild } from '../src/loader.js';
import { Runtime } from '../src/runtime.js';
import { EpilogueKind } from '../src/kernels.js';
import { GemvWeights } from '../src/ops/gemm.js';
import { backends, randInt, rng } from './helpers.js';
import { gemmNK } from './reference/gemm.js';

const runtimes = await Promise.all(
  backends.map(async (b) => {
    const l = await loadBuild(b);
    return Runtime.single(l.kernels, l.memory, l.backend);
  }),
);
afterAll(() => runtimes.forEach((rt) => rt.dispose()));

const KS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33];
const GUARD = 64;
const SENTINEL = 0x5a;

/** Fills `bytes` after `ptr` with the sentinel; returns a check that they are untouched. */
function guard(rt: Runtime, ptr: number): () => boolean {
  rt.heap.u8.fill(SENTINEL, ptr, ptr + GUARD);
  return () => rt.heap.u8.subarray(ptr, ptr + GUARD).every((v) => v === SENTINEL);
}

describe.each(runtimes.map((rt) => [rt.backend, rt] as const))('microkernels on %s', (_name, rt) => {
  const { mr, nr } = rt.config;
  const k = rt.kernels;

  it('gemm_s16 (pack_a_s16 + pack_w_s16, int32 epilogue) is exact for every M, N, K remainder', () => {
    const r = rng(11);
    let cases = 0;
    for (const K of KS) {
      for (let M = 1; M <= 2 * mr + 1; M++) {
        for (let N = 1; N <= 2 * nr + 1; N++) {
          const a = new Int8Array(M * K).map(() => randInt(r, -128, 127));
          const w = new Int8Array(N * K).map(() => randInt(r, -128, 127));
          const za = randInt(r, -128, 127);
          const got = rt.scoped((alloc) => {
            const ap = alloc(M * K);
            const wp = alloc(N * K);
            rt.heap.i8.set(a, ap);
            rt.heap.i8.set(w, wp);
            const kPairs = Math.ceil(K / 2);
            const pa = alloc(Math.ceil(M / mr) * mr * kPairs * 4);
            const pw = alloc(Math.ceil(N / nr) * nr * kPairs * 4);
            k.pack_a_s16(ap, M, K, K, 1, za, mr, pa);
            k.pack_w_s16(wp, N, K, K, 1, 1, 0, 0, pw);
            const out = alloc(M * N * 4 + GUARD);
            const untouched = guard(rt, out + M * N * 4);
            k.gemm_s16(pa, pw, M, N, kPairs, out, N, EpilogueKind.I32, 0);
            expect(untouched(), `wrote past the output at M=${M} N=${N} K=${K}`).toBe(true);
            return rt.heap.i32.slice(out >> 2, (out >> 2) + M * N);
          });
          const want = gemmNK(a, w, M, N, K, za, [0]);
          expect(Array.from(got), `M=${M} N=${N} K=${K}`).toEqual(Array.from(want));
          cases++;
        }
      }
    }
    expect(cases).toBe(KS.length * (2 * mr + 1) * (2 * nr + 1));
  });

  it('gemm_f32 (pack_w_f32) is exact on integer-valued floats for every M, N, K remainder', () => {
    const r = rng(12);
    for (const K of KS) {
      for (let M = 1; M <= 2 * mr + 1; M++) {
        for (let N = 1; N <= 2 * nr + 1; N++) {
          // small integers: every partial sum is exact in float32, whatever the order
          const x = new Float32Array(M * K).map(() => randInt(r, -8, 8));
          const w = new Float32Array(N * K).map(() => randInt(r, -8, 8));
          const got = rt.scoped((alloc) => {
            const xp = alloc(M * K * 4);
            const wp = alloc(N * K * 4);
            rt.heap.f32.set(x, xp >> 2);
            rt.heap.f32.set(w, wp >> 2);
            const pw = alloc(Math.ceil(N / nr) * nr * K * 4);
            k.pack_w_f32(wp, N, K, K, 1, pw);
            const out = alloc(M * N * 4 + GUARD);
            const untouched = guard(rt, out + M * N * 4);
            k.gemm_f32(xp, K, pw, M, N, K, 0, -Infinity, Infinity, out, N);
            expect(untouched(), `wrote past the output at M=${M} N=${N} K=${K}`).toBe(true);
            return rt.heap.f32.slice(out >> 2, (out >> 2) + M * N);
          });
          const want = gemmNK(x, w, M, N, K, 0, [0]);
          expect(Array.from(got), `M=${M} N=${N} K=${K}`).toEqual(Array.from(want));
        }
      }
    }
  });

  it.skipIf(rt.config.gemvRows === 0)(
    'the gemv kernels (GemvWeights: int8 k-quads from the int16 panels) are exact for every N, K remainder',
    () => {
      const r = rng(13);
      for (const K of KS) {
        for (let M = 1; M <= 3; M++) {
          for (let N = 1; N <= 2 * nr + 1; N++) {
            for (const signed of [true, false]) {
              const a = signed
                ? new Int8Array(M * K).map(() => randInt(r, -128, 127))
                : new Uint8Array(M * K).map(() => randInt(r, 0, 255));
              const w = new Int8Array(N * K).map(() => randInt(r, -128, 127));
              const za = signed ? randInt(r, -128, 127) : randInt(r, 0, 255);
              const kPairs = Math.ceil(K / 2);
              const pw = rt.heap.alloc(Math.ceil(N / nr) * nr * kPairs * 4);
              const gemv = new GemvWeights(rt, pw, N, K);
              const got = rt.scoped((alloc) => {
                const wp = alloc(N * K);
                rt.heap.i8.set(w, wp);
                k.pack_w_s16(wp, N, K, K, 1, 1, 0, 0, pw);
                const xp = alloc(M * K);
                rt.heap.u8.set(new Uint8Array(a.buffer, a.byteOffset, a.length), xp);
                const lo = alloc(GemvWeights.splitBytes(M, K));
                const hi = alloc(GemvWeights.splitBytes(M, K));
                const out = alloc(M * N * 4 + GUARD);
                const untouched = guard(rt, out + M * N * 4);
                gemv.run(xp, M, signed, za, lo, hi, out, EpilogueKind.I32, 0);
                expect(untouched(), `wrote past the output at M=${M} N=${N} K=${K}`).toBe(true);
                return rt.heap.i32.slice(out >> 2, (out >> 2) + M * N);
              });
              gemv.free();
              rt.heap.release(pw);
              const want = gemmNK(a, w, M, N, K, za, [0]);
              expect(Array.from(got), `M=${M} N=${N} K=${K} signed=${signed}`).toEqual(Array.from(want));
            }
          }
        }
      }
    },
  );
});
