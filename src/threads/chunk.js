// @ts-check
// One chunk of a thread-pool job: the kernel call for units [u0, u1) of the job whose
// arguments sit in the control block (kernels.ts writes them, each at its named word of
// layout.generated.js). Plain JavaScript because a worker runs it straight from src/
// (worker.js) as well as from dist/; the calling thread runs the very same function for
// its own chunks (kernels.ts), so caller and workers cannot compute a chunk differently.

import {
  BgemmArg,
  Col2imArg,
  ConvF32Arg,
  ConvS16Arg,
  Fn,
  GemmF32Arg,
  GemmResidualArg,
  GemmS16Arg,
  GemmS4Arg,
  MapKernel,
  MapRowsArg,
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
    case Fn.Col2im: {
      // units are blocks of input rows (every other block in a phase); each block's
      // pixels, clipped to the call's, go through the kernel in one piece
      const A = Col2imArg;
      const W = i32[A.W];
      const p0 = i32[A.p0];
      const end = p0 + i32[A.pixels];
      const pixelBytes = i32[A.kH] * i32[A.kW] * i32[A.Mg] * 4;
      const block = i32[A.block];
      const kernel = i32[A.float] !== 0 ? k.convt_col2im_f32 : k.convt_col2im_s32;
      for (let u = u0; u < u1; u++) {
        const row = i32[A.firstRow] + (u * i32[A.stride] + i32[A.phase]) * block;
        const pa = Math.max(p0, row * W);
        const pb = Math.min(end, (row + block) * W);
        if (pb <= pa) continue;
        kernel(
          i32[A.col] + (pa - p0) * pixelBytes,
          pa,
          pb - pa,
          i32[A.H],
          W,
          i32[A.kH],
          i32[A.kW],
          i32[A.sH],
          i32[A.sW],
          i32[A.dH],
          i32[A.dW],
          i32[A.pT],
          i32[A.pL],
          i32[A.OH],
          i32[A.OW],
          i32[A.M],
          i32[A.Mg],
          i32[A.g0],
          i32[A.acc],
        );
      }
      break;
    }
    case Fn.MapRows: {
      // output rows [u0, u1) of all N images, cut at image boundaries
      const A = MapRowsArg;
      const OH = i32[A.OH];
      const pix = i32[A.pixBytes];
      const inImage = i32[A.H] * i32[A.W] * pix;
      const outRow = i32[A.OW] * pix;
      for (let r = u0; r < u1;) {
        const n = Math.floor(r / OH);
        const oh0 = r - n * OH;
        const count = Math.min(OH - oh0, u1 - r);
        mapRows(k, i32, f32, i32[A.x] + n * inImage, oh0, count, i32[A.out] + (n * OH + oh0) * outRow);
        r += count;
      }
      break;
    }
  }
}

/**
 * Runs a MapRows job's kernel on `count` output rows of one image from row `oh0`: its
 * row table from that row's entry, the rest of the arguments as the job has them.
 * @param {Kernels} k
 * @param {Int32Array} i32
 * @param {Float32Array} f32
 * @param {number} x
 * @param {number} oh0
 * @param {number} count
 * @param {number} out
 */
function mapRows(k, i32, f32, x, oh0, count, out) {
  const A = MapRowsArg;
  const H = i32[A.H];
  const W = i32[A.W];
  const C = i32[A.C];
  const OW = i32[A.OW];
  const rows = i32[A.rows] + oh0 * i32[A.rowEntry];
  const cols = i32[A.cols];
  switch (i32[A.kernel]) {
    case MapKernel.PoolMaxQ8:
      k.pool_max_q8(x, 1, H, W, C, count, OW, rows, cols, i32[A.dH], i32[A.dW], i32[A.signed], out);
      break;
    case MapKernel.PoolMaxF32:
      k.pool_max_f32(x, 1, H, W, C, count, OW, rows, cols, i32[A.dH], i32[A.dW], out);
      break;
    case MapKernel.PoolAvgQ8:
      k.pool_avg_q8(
        x,
        1,
        H,
        W,
        C,
        count,
        OW,
        rows,
        cols,
        i32[A.signed],
        f32[A.xScale],
        i32[A.xZp],
        f32[A.yScale],
        i32[A.yZp],
        i32[A.qmin],
        i32[A.qmax],
        out,
      );
      break;
    case MapKernel.PoolAvgF32:
      k.pool_avg_f32(x, 1, H, W, C, count, OW, rows, cols, out);
      break;
    case MapKernel.ResizeNearest:
      k.resize_nearest(x, 1, H, W, C, count, OW, rows, cols, out);
      break;
    case MapKernel.ResizeLinearQ8:
      k.resize_linear_q8(x, 1, H, W, C, count, OW, rows, cols, i32[A.signed], out);
      break;
    case MapKernel.ResizeLinearF32:
      k.resize_linear_f32(x, 1, H, W, C, count, OW, rows, cols, out);
      break;
  }
}
