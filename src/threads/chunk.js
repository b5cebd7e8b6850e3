// @ts-check
// One chunk of a thread-pool job: the kernel call for units [u0, u1) of the job whose
// arguments sit in the control block (kernels.ts writes them, each at its named word of
// layout.generated.js). Plain JavaScript because a worker runs it straight from src/
// (worker.js) as well as from dist/; the calling thread runs the very same function for
// its own chunks (kernels.ts), so caller and workers cannot compute a chunk differently.

import {
  BgemmArg,
  ConvF32Arg,
  ConvS16Arg,
  Fn,
  GemmF32Arg,
  GemmResidualArg,
  GemmS16Arg,
  GemmS4Arg,
} from './layout.generated.js';

/** Epilogue kinds that store int32 / float32 (kernels.ts: EpilogueKind.I32, Dequant). */
const EPI_I32 = 0;
const EPI_DEQUANT = 3;

/**
 * @typedef {Record<string, (...args: number[]) => void>} Kernels
 */

/**
 * Runs units [u0, u1) of the job in the control block.
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
  switch (fn) {
    case Fn.GemmS16: {
      const A = GemmS16Arg;
      const M = i32[A.M];
      const N = i32[A.N];
      const kPairs = i32[A.kPairs];
      const ldo = i32[A.ldo];
      const kind = i32[A.kind];
      if (rows) {
        const r0 = u0 * i32[A.mr];
        const r1 = Math.min(M, u1 * i32[A.mr]);
        const es = kind === EPI_I32 || kind === EPI_DEQUANT ? 4 : 1;
        k.gemm_s16_panels(
          i32[A.a] + r0 * kPairs * 4,
          i32[A.w],
          r1 - r0,
          N,
          kPairs,
          i32[A.out] + r0 * ldo * es,
          ldo,
          kind,
          i32[A.params],
          0,
          Math.ceil(N / i32[A.nr]),
          tile,
        );
      } else {
        k.gemm_s16_panels(i32[A.a], i32[A.w], M, N, kPairs, i32[A.out], ldo, kind, i32[A.params], u0, u1, tile);
      }
      break;
    }
    case Fn.GemmF32: {
      const A = GemmF32Arg;
      const lda = i32[A.lda];
      const M = i32[A.M];
      const N = i32[A.N];
      const ldo = i32[A.ldo];
      let x = i32[A.x];
      let out = i32[A.out];
      let m = M;
      let p0 = u0;
      let p1 = u1;
      if (rows) {
        const r0 = u0 * i32[A.mr];
        const r1 = Math.min(M, u1 * i32[A.mr]);
        x += r0 * lda * 4;
        out += r0 * ldo * 4;
        m = r1 - r0;
        p0 = 0;
        p1 = Math.ceil(N / i32[A.nr]);
      }
      k.gemm_f32_panels(x, lda, i32[A.w], m, N, i32[A.K], i32[A.bias], f32[A.lo], f32[A.hi], out, ldo, p0, p1, tile);
      break;
    }
    case Fn.ConvS16: {
      const A = ConvS16Arg;
      const step = i32[A.step];
      k.conv2d_s16_rows(
        i32[A.p],
        i32[A.x],
        i32[A.w],
        i32[A.out],
        i32[A.kind],
        i32[A.params],
        scratch,
        u0 * step,
        Math.min(i32[A.rows], u1 * step),
      );
      break;
    }
    case Fn.ConvF32: {
      const A = ConvF32Arg;
      const step = i32[A.step];
      k.conv2d_f32_rows(
        i32[A.p],
        i32[A.x],
        i32[A.w],
        i32[A.bias],
        f32[A.lo],
        f32[A.hi],
        i32[A.out],
        scratch,
        u0 * step,
        Math.min(i32[A.rows], u1 * step),
      );
      break;
    }
    case Fn.GemmS4: {
      // row blocks only: the epilogue arrays are indexed by column from 0
      const A = GemmS4Arg;
      const kPairs = i32[A.kPairs];
      const ldo = i32[A.ldo];
      const r0 = u0 * i32[A.mr];
      const r1 = Math.min(i32[A.M], u1 * i32[A.mr]);
      const a = i32[A.a] + r0 * kPairs * 4;
      if (i32[A.grouped] !== 0) {
        k.gemm_s4_grouped(a, i32[A.w], r1 - r0, i32[A.N], kPairs, i32[A.out] + r0 * ldo, ldo, i32[A.params]);
      } else {
        const kind = i32[A.kind];
        const es = kind === EPI_I32 || kind === EPI_DEQUANT ? 4 : 1;
        k.gemm_s4(a, i32[A.w], r1 - r0, i32[A.N], kPairs, i32[A.out] + r0 * ldo * es, ldo, kind, i32[A.params]);
      }
      break;
    }
    case Fn.GemmResidual: {
      const A = GemmResidualArg;
      const kPairs = i32[A.kPairs];
      const r0 = u0 * i32[A.mr];
      const r1 = Math.min(i32[A.M], u1 * i32[A.mr]);
      k.gemm_s16_residual(
        i32[A.a] + r0 * kPairs * 4,
        i32[A.w1],
        i32[A.w2],
        r1 - r0,
        i32[A.N],
        kPairs,
        i32[A.rowScales] + r0 * 4,
        i32[A.s1],
        i32[A.s2],
        i32[A.bias],
        f32[A.lo],
        f32[A.hi],
        i32[A.out] + r0 * i32[A.ldo] * 4,
        i32[A.ldo],
      );
      break;
    }
    case Fn.Bgemm: {
      const A = BgemmArg;
      const T = i32[A.T];
      const r0 = u0 * i32[A.mr];
      const r1 = Math.min(i32[A.M], u1 * i32[A.mr]);
      k.bgemm(
        i32[A.rec] + r0 * (T + 1) * 4,
        r1 - r0,
        T,
        i32[A.Cv],
        i32[A.w],
        i32[A.N],
        i32[A.out] + r0 * i32[A.rowBytes],
        i32[A.ldo],
        i32[A.kind],
        i32[A.params],
      );
      break;
    }
  }
}
