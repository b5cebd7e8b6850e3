// GEMM drivers: block over rows (MC) and NR-wide weight panels, run the MR x NR
// microkernel into a small int32 tile, then apply the named epilogue to the tile.
// The tile round trip costs MR*NR stores and loads against K/2 inner iterations.
import {
  MR,
  NR,
  gemm_s16_mr,
  gemm_f32_mr,
  gemm_s16_mrx8c2__scalar,
  gemm_f32_mrx8__scalar,
  tile4x8Fp32,
} from './ukernels.generated';
import { Epilogue, epilogue, epilogueF32, outputBytes } from './epilogue';
import { EP_BIAS, EP_MULT } from '../layouts.generated';

/**
 * Rows per outer block: the widened activations of one block (rows * kPairs * 4 bytes) stay
 * within this L2 budget, so each weight panel is fetched once per block from wherever it
 * lives. Fewer, larger blocks matter when the weights outgrow L2 (768 x 3072 int16 is 4.7 MB).
 */
const BLOCK_BYTES: i32 = 384 << 10;

@inline function rowsPerBlock(kPairs: i32): i32 {
  return max(MR, (BLOCK_BYTES / (kPairs * 4) / MR) * MR);
}
const tile = memory.data(MR * NR * 4, 16);

/**
 * int16-widened GEMM: out[M, N] = epilogue(A_packed x W_packed). `a` from pack_a_s16 with
 * MR rows per block, `w` from pack_w_s16; `ldo` is the output row stride in elements;
 * `params` points at the epilogue's parameter block (see epilogue.ts).
 */
export function gemm_s16(
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  kPairs: i32,
  out: usize,
  ldo: i32,
  kind: i32,
  params: usize,
): void {
  gemm_s16_panels(a, w, M, N, kPairs, out, ldo, kind, params, 0, (N + NR - 1) / NR, tile);
}

/**
 * gemm_s16 over weight panels [pBegin, pEnd) only, with a caller-owned tile scratch of
 * MR * NR * 4 bytes: the unit of work a thread takes. Splitting over M needs no extra
 * argument: offset `a` by m0 * kPairs * 4 (m0 a multiple of MR) and `out` by m0 rows.
 */
export function gemm_s16_panels(
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  kPairs: i32,
  out: usize,
  ldo: i32,
  kind: i32,
  params: usize,
  pBegin: i32,
  pEnd: i32,
  tile: usize,
): void {
  const panelBytes = <usize>kPairs * NR * 4;
  const es = outputBytes(kind);
  const MC = rowsPerBlock(kPairs);
  // fp32 requantization on the simd builds: full 4 x 8 tiles fused (fused.ts)
  const fuse = ASC_FEATURE_SIMD && MR == 4 && kind == Epilogue.Fp32;
  const bias: usize = fuse ? load<usize>(params, EP_BIAS) : 0;
  const mult: usize = fuse ? load<usize>(params, EP_MULT) : 0;
  for (let mc0 = 0; mc0 < M; mc0 += MC) {
    const mcEnd = min(M, mc0 + MC);
    for (let p = pBegin; p < pEnd; p++) {
      const n0 = p * NR;
      const nc = min(NR, N - n0);
      const wp = w + <usize>p * panelBytes;
      let m0 = mc0;
      if (fuse && nc == NR) {
        const b: usize = bias != 0 ? bias + ((<usize>n0) << 2) : 0;
        const mu = mult + ((<usize>n0) << 2);
        const m4 = mc0 + ((mcEnd - mc0) & ~3);
        for (; m0 < m4; m0 += 4) {
          tile4x8Fp32(a + <usize>m0 * <usize>kPairs * 4, wp, kPairs, out + <usize>m0 * ldo + n0, ldo, b, mu, params);
        }
      }
      for (; m0 < mcEnd; m0 += MR) {
        const mr = min(MR, M - m0);
        const ap = a + <usize>m0 * <usize>kPairs * 4;
        if (ASC_FEATURE_SIMD) {
          gemm_s16_mr(mr, ap, wp, kPairs, tile);
        } else {
          gemm_s16_mrx8c2__scalar(mr, ap, wp, kPairs, tile);
        }
        epilogue(kind, tile, mr, nc, n0, out + (<usize>m0 * ldo + n0) * es, ldo, params);
      }
    }
  }
}

/**
 * float32 GEMM, the honest baseline: out[M, N] = clamp(x[M, K] * W + bias, lo, hi) with W
 * packed by pack_w_f32. x rows are read in place (stride lda elements).
 */
export function gemm_f32(
  x: usize,
  lda: i32,
  w: usize,
  M: i32,
  N: i32,
  K: i32,
  bias: usize,
  lo: f32,
  hi: f32,
  out: usize,
  ldo: i32,
): void {
  gemm_f32_panels(x, lda, w, M, N, K, bias, lo, hi, out, ldo, 0, (N + NR - 1) / NR, tile);
}

/** gemm_f32 over weight panels [pBegin, pEnd) with a caller-owned tile (see gemm_s16_panels). */
export function gemm_f32_panels(
  x: usize,
  lda: i32,
  w: usize,
  M: i32,
  N: i32,
  K: i32,
  bias: usize,
  lo: f32,
  hi: f32,
  out: usize,
  ldo: i32,
  pBegin: i32,
  pEnd: i32,
  tile: usize,
): void {
  const panelBytes = <usize>K * NR * 4;
  const rowBytes = (<usize>lda) << 2;
  // float rows are read in place: K * 4 bytes each, twice the int16 pairs
  const MC = rowsPerBlock(K);
  for (let mc0 = 0; mc0 < M; mc0 += MC) {
    const mcEnd = min(M, mc0 + MC);
    for (let p = pBegin; p < pEnd; p++) {
      const n0 = p * NR;
      const nc = min(NR, N - n0);
      const wp = w + <usize>p * panelBytes;
      for (let m0 = mc0; m0 < mcEnd; m0 += MR) {
        const mr = min(MR, M - m0);
        const xp = x + <usize>m0 * rowBytes;
        if (ASC_FEATURE_SIMD) {
          gemm_f32_mr(mr, xp, rowBytes, wp, K, tile);
        } else {
          gemm_f32_mrx8__scalar(mr, xp, rowBytes, wp, K, tile);
        }
        epilogueF32(tile, mr, nc, n0, out + ((<usize>m0 * ldo + n0) << 2), ldo, bias, lo, hi, 0);
      }
    }
  }
}
