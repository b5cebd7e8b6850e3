// The conv's GEMMs over one block of im2col rows: the GEMM's loop and its generated
// MR x 8 microkernels (int16 and float32), with the conv epilogues (epilogue.ts). The
// block was sized in src/ to stay in L2, so the loop runs each NR-wide weight panel
// (kept in L1) over all the block's rows before moving to the next panel. The float32
// driver mirrors the int8 one step for step, so their ratio measures the arithmetic.
import {
  MR,
  NR,
  gemm_s16_mr,
  gemm_f32_mr,
  gemm_s16_mrx8c2__scalar,
  gemm_f32_mrx8__scalar,
  tile4x8Fp32,
} from '../gemm/ukernels.generated';
import { Epilogue, epilogue, epilogueF32, outputBytes } from '../gemm/epilogue';
import { EP_BIAS, EP_MULT } from '../layouts.generated';

// Per instance: a thread pool's worker points it at its own block (useConvGemmTile).
let tile: usize = memory.data(MR * NR * 4, 16);

/** Moves this instance's MR x NR tile to `t` (MR * NR * 4 bytes): one per thread. */
export function useConvGemmTile(t: usize): void {
  tile = t;
}

/**
 * out[M, N] (row stride ldo elements) = epilogue(A x W) for A packed by pack_a_s16 or the
 * im2col packer (MR-row blocks of kPairs int16 pairs) and W packed by pack_w_s16.
 */
export function conv_gemm_s16(
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
  if (ASC_FEATURE_SIMD && kind == Epilogue.Fp32) {
    conv_gemm_s16_fp32(a, w, M, N, kPairs, out, ldo, params);
    return;
  }
  const panels = (N + NR - 1) / NR;
  const panelBytes = <usize>kPairs * NR * 4;
  const es = outputBytes(kind);
  for (let p = 0; p < panels; p++) {
    const n0 = p * NR;
    const nc = min(NR, N - n0);
    const wp = w + <usize>p * panelBytes;
    for (let m0 = 0; m0 < M; m0 += MR) {
      const mr = min(MR, M - m0);
      const ap = a + <usize>m0 * <usize>kPairs * 4;
      if (ASC_FEATURE_SIMD) {
        gemm_s16_mr(mr, ap, wp, kPairs, tile);
      } else {
        gemm_s16_mrx8c2__scalar(mr, ap, wp, kPairs, tile);
      }
      epilogue(kind, tile, mr, nc, n0, out + (<usize>m0 * <usize>ldo + <usize>n0) * es, ldo, params);
    }
  }
}

/**
 * out[M, N] (row stride ldo floats) = clamp(x[M, K] (row stride lda floats) x W + bias,
 * lo, hi) for W packed by pack_w_f32, then the hard-swish of conv parameter block `act` (or 0).
 */
export function conv_gemm_f32(
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
  act: usize,
): void {
  const panels = (N + NR - 1) / NR;
  const panelBytes = <usize>K * NR * 4;
  const rowBytes = (<usize>lda) << 2;
  for (let p = 0; p < panels; p++) {
    const n0 = p * NR;
    const nc = min(NR, N - n0);
    const wp = w + <usize>p * panelBytes;
    for (let m0 = 0; m0 < M; m0 += MR) {
      const mr = min(MR, M - m0);
      const xp = x + <usize>m0 * rowBytes;
      if (ASC_FEATURE_SIMD) {
        gemm_f32_mr(mr, xp, rowBytes, wp, K, tile);
      } else {
        gemm_f32_mrx8__scalar(mr, xp, rowBytes, wp, K, tile);
      }
      epilogueF32(tile, mr, nc, n0, out + ((<usize>m0 * <usize>ldo + <usize>n0) << 2), ldo, bias, lo, hi, act);
    }
  }
}

/** conv_gemm_s16 with the fp32 requantization (simd builds): full tiles fused, the rest through the tile. */
function conv_gemm_s16_fp32(
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  kPairs: i32,
  out: usize,
  ldo: i32,
  params: usize,
): void {
  const panels = (N + NR - 1) / NR;
  const panelBytes = <usize>kPairs * NR * 4;
  const bias = load<usize>(params, EP_BIAS);
  const mult = load<usize>(params, EP_MULT);
  const M4 = M & ~3;
  for (let p = 0; p < panels; p++) {
    const n0 = p * NR;
    const nc = min(NR, N - n0);
    const wp = w + <usize>p * panelBytes;
    let m0 = 0;
    if (nc == NR && MR == 4) {
      const b = bias != 0 ? bias + ((<usize>n0) << 2) : 0;
      const mu = mult + ((<usize>n0) << 2);
      for (; m0 < M4; m0 += 4) {
        tile4x8Fp32(
          a + <usize>m0 * <usize>kPairs * 4,
          wp,
          kPairs,
          out + <usize>m0 * <usize>ldo + <usize>n0,
          ldo,
          b,
          mu,
          params,
        );
      }
    }
    for (; m0 < M; m0 += MR) {
      const mr = min(MR, M - m0);
      gemm_s16_mr(mr, a + <usize>m0 * <usize>kPairs * 4, wp, kPairs, tile);
      epilogue(Epilogue.Fp32, tile, mr, nc, n0, out + <usize>m0 * <usize>ldo + <usize>n0, ldo, params);
    }
  }
}
