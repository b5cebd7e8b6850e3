// The int4, residual and binary GEMMs of a threaded engine, split over row blocks: their
// epilogue arrays are indexed from column 0, so a panel split would need column offsets
// the kernels do not take. Each row block is computed exactly as in the one-thread call.
import type { Kernels } from '../kernels.js';
import type { Dispatch } from './dispatch.js';
import { BgemmArg, Fn, GemmResidualArg, GemmS4Arg, Split } from './layout.generated.js';
import { minOpsPerPart } from './partition.js';

/** Rows per unit of a binary GEMM split: a multiple of every build's tile height (4, 2). */
const BINARY_ROWS = 4;
/** assembly/binary/bgemm.ts BinaryEpilogue.I8: one byte per output. */
const BINARY_I8 = 2;

/** Points `target`'s int4, residual and binary GEMMs at split versions; `mr`: the GEMM's MR. */
export function installRowGemms(target: Kernels, d: Dispatch, mr: number): void {
  const { pool, raw, i32, f32 } = d;
  // int4 GEMMs: row blocks of the int4 activation panel height (the epilogue arrays are
  // indexed from column 0, so a panel split would need column offsets the kernels lack)
  const int4Mr = raw.gemm_s4_mr();
  function int4Job(
    a: number,
    w: number,
    M: number,
    N: number,
    kPairs: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
    grouped: number,
  ): boolean {
    pool.ready();
    const n = d.rowChunks(4 * M * N * kPairs, minOpsPerPart.s16, M, int4Mr);
    if (n === 0) return false;
    const units = Math.ceil(M / int4Mr);
    pool.job(Fn.GemmS4, Split.Rows, n, units);
    const A = GemmS4Arg;
    i32[A.a] = a;
    i32[A.w] = w;
    i32[A.M] = M;
    i32[A.N] = N;
    i32[A.kPairs] = kPairs;
    i32[A.out] = out;
    i32[A.ldo] = ldo;
    i32[A.kind] = kind;
    i32[A.params] = params;
    i32[A.grouped] = grouped;
    i32[A.mr] = int4Mr;
    d.launch(Fn.GemmS4, true, n, units, 0);
    return true;
  }
  target.gemm_s4 = (a, w, M, N, kPairs, out, ldo, kind, params) => {
    if (!int4Job(a, w, M, N, kPairs, out, ldo, kind, params, 0))
      raw.gemm_s4(a, w, M, N, kPairs, out, ldo, kind, params);
  };
  target.gemm_s4_grouped = (a, w, M, N, kPairs, out, ldo, params) => {
    if (!int4Job(a, w, M, N, kPairs, out, ldo, 0, params, 1)) raw.gemm_s4_grouped(a, w, M, N, kPairs, out, ldo, params);
  };

  // the residual GEMM: two int8 stages, row blocks of the GEMM's MR (pack_a_f32_s16's)
  target.gemm_s16_residual = (a, w1, w2, M, N, kPairs, rowScales, s1, s2, bias, lo, hi, out, ldo) => {
    pool.ready();
    const n = d.rowChunks(8 * M * N * kPairs, minOpsPerPart.s16, M, mr);
    if (n === 0) {
      raw.gemm_s16_residual(a, w1, w2, M, N, kPairs, rowScales, s1, s2, bias, lo, hi, out, ldo);
      return;
    }
    const units = Math.ceil(M / mr);
    pool.job(Fn.GemmResidual, Split.Rows, n, units);
    const A = GemmResidualArg;
    i32[A.a] = a;
    i32[A.w1] = w1;
    i32[A.w2] = w2;
    i32[A.M] = M;
    i32[A.N] = N;
    i32[A.kPairs] = kPairs;
    i32[A.rowScales] = rowScales;
    i32[A.s1] = s1;
    i32[A.s2] = s2;
    i32[A.bias] = bias;
    f32[A.lo] = lo;
    f32[A.hi] = hi;
    i32[A.out] = out;
    i32[A.ldo] = ldo;
    i32[A.mr] = mr;
    d.launch(Fn.GemmResidual, true, n, units, 0);
  };

  // the binary GEMM (each thread has its own popcount tile: assembly/threads.ts)
  const chunkBits = raw.binary_chunk_bytes() * 8;
  target.bgemm = (rec, M, T, Cv, w, N, out, ldo, kind, params) => {
    pool.ready();
    const n = d.rowChunks(2 * M * N * T * Cv * chunkBits, minOpsPerPart.binary, M, BINARY_ROWS);
    if (n === 0) {
      raw.bgemm(rec, M, T, Cv, w, N, out, ldo, kind, params);
      return;
    }
    const units = Math.ceil(M / BINARY_ROWS);
    pool.job(Fn.Bgemm, Split.Rows, n, units);
    const A = BgemmArg;
    i32[A.rec] = rec;
    i32[A.M] = M;
    i32[A.T] = T;
    i32[A.Cv] = Cv;
    i32[A.w] = w;
    i32[A.N] = N;
    i32[A.out] = out;
    i32[A.ldo] = ldo;
    i32[A.kind] = kind;
    i32[A.params] = params;
    i32[A.mr] = BINARY_ROWS;
    i32[A.rowBytes] = kind === BINARY_I8 ? ldo : 4 * ldo;
    d.launch(Fn.Bgemm, true, n, units, 0);
  };
}
