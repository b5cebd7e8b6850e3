// @ts-check
// One chunk of a thread-pool job: the kernel call for units [u0, u1) of the job whose
// arguments sit in the control block (pool.ts writes them, from word ARGS on). Plain
// JavaScript because a worker runs it straight from src/ (worker.js) as well as from
// dist/; the calling thread runs the very same function for its own chunks
// (kernels.ts), so caller and workers cannot compute a chunk differently.

/** First word of a job's arguments in the control block (pool.ts: ARGS). */
const ARGS = 36;
/** Kernel ids (pool.ts: Fn). */
const GEMM_S16 = 1;
const GEMM_F32 = 2;
const CONV_S16 = 3;
const CONV_F32 = 4;
/** Epilogue kinds that store int32 / float32 (kernels.ts: EpilogueKind.I32, Dequant). */
const EPI_I32 = 0;
const EPI_DEQUANT = 3;

/**
 * @typedef {Record<string, (...args: number[]) => void>} Kernels
 */

/**
 * Runs chunks [u0, u1) of units of the job in the control block (`a`: its first argument).
 * @param {Kernels} k
 * @param {Int32Array} i32
 * @param {Float32Array} f32
 * @param {number} fn
 * @param {boolean} rows
 * @param {number} u0
 * @param {number} u1
 * @param {number} tile
 * @param {number} scratch
 */
export function runChunk(k, i32, f32, fn, rows, u0, u1, tile, scratch) {
  const a = ARGS;
  switch (fn) {
    case GEMM_S16: {
      // a, w, M, N, kPairs, out, ldo, kind, params, MR, NR
      const M = i32[a + 2];
      const N = i32[a + 3];
      const kPairs = i32[a + 4];
      const ldo = i32[a + 6];
      const kind = i32[a + 7];
      if (rows) {
        const mr = i32[a + 9];
        const r0 = u0 * mr;
        const r1 = Math.min(M, u1 * mr);
        const es = kind === EPI_I32 || kind === EPI_DEQUANT ? 4 : 1;
        k.gemm_s16_panels(
          i32[a] + r0 * kPairs * 4,
          i32[a + 1],
          r1 - r0,
          N,
          kPairs,
          i32[a + 5] + r0 * ldo * es,
          ldo,
          kind,
          i32[a + 8],
          0,
          Math.ceil(N / i32[a + 10]),
          tile,
        );
      } else {
        k.gemm_s16_panels(i32[a], i32[a + 1], M, N, kPairs, i32[a + 5], ldo, kind, i32[a + 8], u0, u1, tile);
      }
      break;
    }
    case GEMM_F32: {
      // x, lda, w, M, N, K, bias, lo, hi, out, ldo, MR, NR
      const lda = i32[a + 1];
      const M = i32[a + 3];
      const N = i32[a + 4];
      const ldo = i32[a + 10];
      if (rows) {
        const mr = i32[a + 11];
        const r0 = u0 * mr;
        const r1 = Math.min(M, u1 * mr);
        k.gemm_f32_panels(
          i32[a] + r0 * lda * 4,
          lda,
          i32[a + 2],
          r1 - r0,
          N,
          i32[a + 5],
          i32[a + 6],
          f32[a + 7],
          f32[a + 8],
          i32[a + 9] + r0 * ldo * 4,
          ldo,
          0,
          Math.ceil(N / i32[a + 12]),
          tile,
        );
      } else {
        k.gemm_f32_panels(
          i32[a],
          lda,
          i32[a + 2],
          M,
          N,
          i32[a + 5],
          i32[a + 6],
          f32[a + 7],
          f32[a + 8],
          i32[a + 9],
          ldo,
          u0,
          u1,
          tile,
        );
      }
      break;
    }
    case CONV_S16: {
      // p, x, w, out, kind, params, rows, MR
      const mr = i32[a + 7];
      k.conv2d_s16_rows(
        i32[a],
        i32[a + 1],
        i32[a + 2],
        i32[a + 3],
        i32[a + 4],
        i32[a + 5],
        scratch,
        u0 * mr,
        Math.min(i32[a + 6], u1 * mr),
      );
      break;
    }
    case CONV_F32: {
      // p, x, w, bias, lo, hi, out, rows, MR
      const mr = i32[a + 8];
      k.conv2d_f32_rows(
        i32[a],
        i32[a + 1],
        i32[a + 2],
        i32[a + 3],
        f32[a + 4],
        f32[a + 5],
        i32[a + 6],
        scratch,
        u0 * mr,
        Math.min(i32[a + 7], u1 * mr),
      );
      break;
    }
  }
}
