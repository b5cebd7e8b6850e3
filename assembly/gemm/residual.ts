// Two-stage residual GEMM: near-16-bit accuracy from the int8 GEMM microkernel.
//
// Weights are two int8 stages per output channel, w ~ s1[n] * q1 + s2[n] * q2 (the
// second quantizes the residual of the first). The input is quantized per row to
// int16 (|a| <= 32767, the int16 panels the int8 GEMM already widens its activations
// to), once, and both stages read the same packed input: two int8 GEMMs sharing it.
//
// Exactness: |a| * |q| <= 32767 * 127, so an int32 sum of 512 products (256 k-pairs)
// stays below 2^31 (2,130,641,408). K is cut into blocks of 256 k-pairs; each block's
// exact int32 sum is converted to float32 and summed per stage, then
//   y[m, n] = (S1[m, n] * s1[n] + S2[m, n] * s2[n]) * sx[m] + bias[n]
// with float32 multiplies and adds in that order (never fused), so every build rounds
// identically.
import { MR, NR, gemm_s16_mr, gemm_s16_mrx8c2__scalar } from './ukernels.generated';

const MC: i32 = MR * 16;
/** k-pairs per exact int32 block (see above). */
const KB: i32 = 256;
// static tiles on the main instance; a thread pool's worker points them at its own block
let tileI: usize = memory.data(MR * NR * 4, 16);
let stageF: usize = memory.data(MR * NR * 4, 16);
let totalF: usize = memory.data(MR * NR * 4, 16);

/** Bytes of per-thread scratch gemm_s16_residual needs. */
export const RESIDUAL_SCRATCH_BYTES: i32 = 3 * MR * NR * 4;

/** Points this instance's residual GEMM tiles at `t` (RESIDUAL_SCRATCH_BYTES, 16-byte aligned). */
export function residual_thread_scratch(t: usize): void {
  tileI = t;
  stageF = t + MR * NR * 4;
  totalF = t + 2 * MR * NR * 4;
}

/**
 * Quantizes float32 rows x[M, K] (row stride lda elements) to int16 with one scale per
 * row, scale = absmax / 32767 (0 for an all-zero row, NaN for a row holding NaN or an
 * infinity, which the caller refuses), and writes them as pack_a_s16's panels of `mr`
 * rows of (k, k+1) pairs; rowScales[m] receives the scales.
 */
export function pack_a_f32_s16(x: usize, M: i32, K: i32, lda: i32, MR_: i32, rowScales: usize, dst: usize): void {
  const kPairs = (K + 1) >> 1;
  for (let m0 = 0; m0 < M; m0 += MR_) {
    const mr = min(MR_, M - m0);
    const block = dst + <usize>m0 * <usize>kPairs * 4;
    const stride = (<usize>mr) << 2;
    for (let r = 0; r < mr; r++) {
      const row = x + ((<usize>(m0 + r) * lda) << 2);
      // absmax; f32 max propagates NaN, and |inf| is inf, so a bad row shows in the scale
      let amax: f32 = 0;
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        let v = f32x4.splat(0);
        for (; k + 4 <= K; k += 4) v = f32x4.max(v, f32x4.abs(v128.load(row + ((<usize>k) << 2))));
        amax = max<f32>(
          max<f32>(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
          max<f32>(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)),
        );
      }
      for (; k < K; k++) amax = max<f32>(amax, abs<f32>(load<f32>(row + ((<usize>k) << 2))));
      const finite = amax - amax == 0;
      const scale: f32 = finite ? amax / 32767 : NaN;
      store<f32>(rowScales + ((<usize>(m0 + r)) << 2), scale);
      let d = block + ((<usize>r) << 2);
      if (!finite || amax == 0) {
        for (let p = 0; p < kPairs; p++) {
          store<i32>(d, 0);
          d += stride;
        }
        continue;
      }
      k = 0;
      if (ASC_FEATURE_SIMD) {
        const vs = f32x4.splat(scale);
        const lo = f32x4.splat(-32767);
        const hi = f32x4.splat(32767);
        for (; k + 8 <= K; k += 8) {
          const p = row + ((<usize>k) << 2);
          const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.min(f32x4.max(f32x4.div(v128.load(p), vs), lo), hi)));
          const q1 = i32x4.trunc_sat_f32x4_s(
            f32x4.nearest(f32x4.min(f32x4.max(f32x4.div(v128.load(p, 16), vs), lo), hi)),
          );
          const v = i16x8.narrow_i32x4_s(q0, q1);
          v128.store32_lane(d, v, 0);
          v128.store32_lane(d + stride, v, 1);
          v128.store32_lane(d + 2 * stride, v, 2);
          v128.store32_lane(d + 3 * stride, v, 3);
          d += 4 * stride;
        }
      }
      for (; k < K; k += 2) {
        const x0 = <i32>nearest<f32>(min<f32>(max<f32>(load<f32>(row + ((<usize>k) << 2)) / scale, -32767), 32767));
        let x1 = 0;
        if (k + 1 < K)
          x1 = <i32>nearest<f32>(min<f32>(max<f32>(load<f32>(row + ((<usize>(k + 1)) << 2)) / scale, -32767), 32767));
        store<i16>(d, <i16>x0);
        store<i16>(d, <i16>x1, 2);
        d += stride;
      }
    }
  }
}

/** dst[0..mr*NR) += f32(tileI) (or = when `first`). */
@inline function addTile(dst: usize, mr: i32, first: bool): void {
  const n = mr * NR;
  if (ASC_FEATURE_SIMD) {
    for (let i = 0; i < n; i += 4) {
      const o = (<usize>i) << 2;
      const f = f32x4.convert_i32x4_s(v128.load(tileI + o));
      v128.store(dst + o, first ? f : f32x4.add(v128.load(dst + o), f));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const o = (<usize>i) << 2;
      const f = <f32>load<i32>(tileI + o);
      store<f32>(dst + o, first ? f : load<f32>(dst + o) + f);
    }
  }
}

/** totalF (+)= stageF * colScale[n0 .. n0 + 8) per column. */
@inline function addStage(mr: i32, colScale: usize, first: bool): void {
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < NR; j += 4) {
      const o = (<usize>(r * NR + j)) << 2;
      if (ASC_FEATURE_SIMD) {
        const f = f32x4.mul(v128.load(stageF + o), v128.load(colScale + ((<usize>j) << 2)));
        v128.store(totalF + o, first ? f : f32x4.add(v128.load(totalF + o), f));
      } else {
        for (let l: usize = 0; l < 4; l++) {
          const f = load<f32>(stageF + o + (l << 2)) * load<f32>(colScale + ((<usize>j) << 2) + (l << 2));
          store<f32>(totalF + o + (l << 2), first ? f : load<f32>(totalF + o + (l << 2)) + f);
        }
      }
    }
  }
}

/**
 * out[M, N] (float32, row stride ldo) = clamp((S1 * s1 + S2 * s2) * sx[m] + bias[n], lo, hi),
 * with `a` from pack_a_f32_s16, `w1` / `w2` from pack_w_s16 (int8 stages, zero point 0),
 * s1 / s2 float32[Np] column scales, sx float32[M] row scales, bias float32[Np] or 0.
 */
export function gemm_s16_residual(
  a: usize,
  w1: usize,
  w2: usize,
  M: i32,
  N: i32,
  kPairs: i32,
  rowScales: usize,
  s1: usize,
  s2: usize,
  bias: usize,
  lo: f32,
  hi: f32,
  out: usize,
  ldo: i32,
): void {
  const panels = (N + NR - 1) / NR;
  const panelBytes = <usize>kPairs * NR * 4;
  for (let mc0 = 0; mc0 < M; mc0 += MC) {
    const mcEnd = min(M, mc0 + MC);
    for (let p = 0; p < panels; p++) {
      const n0 = p * NR;
      const nc = min(NR, N - n0);
      for (let m0 = mc0; m0 < mcEnd; m0 += MR) {
        const mr = min(MR, M - m0);
        const ap = a + <usize>m0 * <usize>kPairs * 4;
        for (let s = 0; s < 2; s++) {
          const wp = (s == 0 ? w1 : w2) + <usize>p * panelBytes;
          for (let p0 = 0; p0 < kPairs; p0 += KB) {
            const np = min(KB, kPairs - p0);
            const ab = ap + <usize>p0 * <usize>mr * 4;
            const wb = wp + <usize>p0 * (NR * 4);
            if (ASC_FEATURE_SIMD) gemm_s16_mr(mr, ab, wb, np, tileI);
            else gemm_s16_mrx8c2__scalar(mr, ab, wb, np, tileI);
            addTile(stageF, mr, p0 == 0);
          }
          addStage(mr, (s == 0 ? s1 : s2) + ((<usize>n0) << 2), s == 0);
        }
        const rowBytes = (<usize>ldo) << 2;
        for (let r = 0; r < mr; r++) {
          const sx = load<f32>(rowScales + ((<usize>(m0 + r)) << 2));
          const dst = out + <usize>(m0 + r) * rowBytes + ((<usize>n0) << 2);
          for (let j = 0; j < nc; j++) {
            let y = load<f32>(totalF + ((<usize>(r * NR + j)) << 2)) * sx;
            if (bias != 0) y += load<f32>(bias + ((<usize>(n0 + j)) << 2));
            store<f32>(dst + ((<usize>j) << 2), min<f32>(max<f32>(y, lo), hi));
          }
        }
      }
    }
  }
}
