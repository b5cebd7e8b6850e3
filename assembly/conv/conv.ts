// Convolution drivers: one call per op, the parameter block (params.ts) says which path.
//
// KxK layers run as an indirect GEMM (igemm.ts). The 1x1 and im2col paths run block by
// block over output pixels: MC rows of the implicit GEMM are widened into a scratch block
// that stays in L2 (1x1: pack_a_s16 over the input rows in place; im2col: the im2col
// packer), then conv_gemm_s16 multiplies them by one group's packed weights and writes
// the block's outputs through the epilogue. Packing per block instead of the whole
// im2col matrix keeps a KxK conv from writing and re-reading kH * kW widened copies of
// its input through memory.
//
// Groups: weights of group g are packed at w + g * groupWeightBytes, and epilogue
// parameter headers are laid out one per group (EPI_HEADER bytes apart, src/ makes each
// point at its group's columns), so the GEMM's column 0 is the group's first channel.
import { MR, NR } from '../gemm/ukernels.generated';
import { pack_a_s16 } from '../gemm/pack';
import { conv_gemm_s16, conv_gemm_f32, useConvGemmTile } from './gemm';
import { Epilogue, outputBytes, residualAddSpan, lookupSpan } from '../gemm/epilogue';
import { EP_BYTES } from '../layouts.generated';
import { conv_pack_im2col_s16, conv_pack_im2col_f32 } from './im2col';
import { conv_dw_s16, conv_dw_f32, useDepthwiseScratch, DW_SCRATCH } from './depthwise';
import { conv_igemm_s16, conv_igemm_f32, useIgemmTile, IGEMM_MR } from './igemm';
import {
  cp,
  ConvPath,
  CP_N,
  CP_C,
  CP_OH,
  CP_OW,
  CP_M,
  CP_GROUP,
  CP_CG,
  CP_MG,
  CP_ZA,
  CP_SIGNED,
  CP_PATH,
  CP_KPAIRS,
  CP_GROUP_WBYTES,
  CP_MC,
} from './params';

/** Bytes between the per-group epilogue parameter headers (src/ops/epilogue.ts's HEADER). */
const EPI_HEADER: usize = EP_BYTES;

/**
 * int8 / uint8 convolution, NHWC: x [N, H, W, C] -> out [N, OH, OW, M] through epilogue
 * `kind` (int32 for convInteger, requantized int8 / uint8 otherwise). `w` holds the
 * packed weights of the plan's path; `scratch` the path's work buffer (src/ sizes it).
 */
export function conv2d_s16(p: usize, x: usize, w: usize, out: usize, kind: i32, params: usize, scratch: usize): void {
  conv2d_s16_rows(p, x, w, out, kind, params, scratch, 0, convRows(p));
}

/**
 * Output rows of a plan as conv2d_*_rows counts them: pixels (N * OH * OW) on the GEMM
 * paths, image rows (N * OH) for depthwise.
 */
function convRows(p: usize): i32 {
  const rows = cp(p, CP_N) * cp(p, CP_OH);
  return cp(p, CP_PATH) == ConvPath.Depthwise ? rows : rows * cp(p, CP_OW);
}

/**
 * conv2d_s16 over output rows [r0, r1) (see convRows) with its own `scratch`: one
 * thread's chunk (src/threads/). On the GEMM paths r0 is a multiple of MR, so its blocks
 * hold the tiles of the one-call run.
 */
export function conv2d_s16_rows(
  p: usize,
  x: usize,
  w: usize,
  out: usize,
  kind: i32,
  params: usize,
  scratch: usize,
  r0: i32,
  r1: i32,
): void {
  const path = cp(p, CP_PATH);
  if (path == ConvPath.Depthwise) {
    const OH = cp(p, CP_OH);
    for (let r = r0; r < r1;) {
      const n = r / OH;
      const end = min(r1, (n + 1) * OH);
      conv_dw_s16(p, x, n, w, out, kind, params, scratch, r - n * OH, end - n * OH);
      const rowCodes = cp(p, CP_OW) * cp(p, CP_M);
      lookupSpan(kind, params, out + <usize>r * <usize>rowCodes, (end - r) * rowCodes);
      r = end;
    }
    return;
  }
  if (path == ConvPath.Igemm) {
    conv_igemm_s16(p, x, w, out, kind, params, scratch, r0, r1);
    return;
  }
  const C = cp(p, CP_C),
    M = cp(p, CP_M);
  const group = cp(p, CP_GROUP),
    Cg = cp(p, CP_CG),
    Mg = cp(p, CP_MG);
  const kPairs = cp(p, CP_KPAIRS);
  const wBytes = <usize>cp(p, CP_GROUP_WBYTES);
  const MC = cp(p, CP_MC);
  const signed = cp(p, CP_SIGNED) != 0;
  const za = cp(p, CP_ZA);
  const es: usize = outputBytes(kind);
  for (let m0 = r0; m0 < r1; m0 += MC) {
    const mc = min(MC, r1 - m0);
    for (let g = 0; g < group; g++) {
      if (path == ConvPath.Gemm1x1) {
        pack_a_s16(x + <usize>m0 * <usize>C + <usize>(g * Cg), mc, Cg, C, signed, za, MR, scratch);
      } else {
        conv_pack_im2col_s16(p, x, m0, mc, g, scratch);
      }
      const o = out + (<usize>m0 * <usize>M + <usize>(g * Mg)) * es;
      const epi: usize = kind == Epilogue.I32 ? 0 : params + <usize>g * EPI_HEADER;
      conv_gemm_s16(scratch, w + <usize>g * wBytes, mc, Mg, kPairs, o, M, kind, epi);
    }
    residualAddSpan(kind, params, out + <usize>m0 * <usize>M, mc * M);
    lookupSpan(kind, params, out + <usize>m0 * <usize>M, mc * M);
  }
}

/**
 * The float32 baseline with the same structure: 1x1 stride 1 reads the input rows in
 * place, KxK runs the same IGEMM (or im2col rows per block for conv_gemm_f32), depthwise
 * has its own f32x4 kernel. `bias` (float32[M] or 0) and the [lo, hi] clamp are fused.
 */
export function conv2d_f32(
  p: usize,
  x: usize,
  w: usize,
  bias: usize,
  lo: f32,
  hi: f32,
  out: usize,
  scratch: usize,
): void {
  conv2d_f32_rows(p, x, w, bias, lo, hi, out, scratch, 0, convRows(p));
}

/** conv2d_f32 over output rows [r0, r1) with its own `scratch` (see conv2d_s16_rows). */
export function conv2d_f32_rows(
  p: usize,
  x: usize,
  w: usize,
  bias: usize,
  lo: f32,
  hi: f32,
  out: usize,
  scratch: usize,
  r0: i32,
  r1: i32,
): void {
  const path = cp(p, CP_PATH);
  if (path == ConvPath.Depthwise) {
    const OH = cp(p, CP_OH);
    for (let r = r0; r < r1;) {
      const n = r / OH;
      const end = min(r1, (n + 1) * OH);
      conv_dw_f32(p, x, n, w, bias, lo, hi, out, scratch, r - n * OH, end - n * OH);
      r = end;
    }
    return;
  }
  if (path == ConvPath.Igemm) {
    conv_igemm_f32(p, x, w, bias, lo, hi, out, scratch, r0, r1);
    return;
  }
  const C = cp(p, CP_C),
    M = cp(p, CP_M);
  const group = cp(p, CP_GROUP),
    Cg = cp(p, CP_CG),
    Mg = cp(p, CP_MG);
  const K = cp(p, CP_KPAIRS);
  const wBytes = <usize>cp(p, CP_GROUP_WBYTES);
  const MC = cp(p, CP_MC);
  for (let m0 = r0; m0 < r1; m0 += MC) {
    const mc = min(MC, r1 - m0);
    for (let g = 0; g < group; g++) {
      const b: usize = bias != 0 ? bias + ((<usize>(g * Mg)) << 2) : 0;
      const o = out + ((<usize>m0 * <usize>M + <usize>(g * Mg)) << 2);
      const wg = w + <usize>g * wBytes;
      if (path == ConvPath.Gemm1x1) {
        conv_gemm_f32(x + ((<usize>m0 * <usize>C + <usize>(g * Cg)) << 2), C, wg, mc, Mg, Cg, b, lo, hi, o, M, p);
      } else {
        conv_pack_im2col_f32(p, x, m0, mc, g, scratch);
        conv_gemm_f32(scratch, K, wg, mc, Mg, K, b, lo, hi, o, M, p);
      }
    }
  }
}

/** Bytes of per-thread scratch the conv kernels need besides their work buffer. */
export function conv_thread_scratch_bytes(): i32 {
  return max(MR, IGEMM_MR) * NR * 4 + <i32>DW_SCRATCH;
}

/**
 * Points this instance's conv scratch (the GEMM tile, the depthwise tile and ring row
 * pointers) at `t`, conv_thread_scratch_bytes() long. A thread pool's worker calls it once
 * with a block of its own; the main instance keeps its static ones.
 */
export function conv_thread_scratch(t: usize): void {
  // the GEMM and IGEMM tiles are never live at once in one thread: they share a block
  useConvGemmTile(t);
  useIgemmTile(t);
  useDepthwiseScratch(t + max(MR, IGEMM_MR) * NR * 4);
}
