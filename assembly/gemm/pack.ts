// Packers for the int16 GEMM. Both subtract the zero point while widening, so the
// microkernel multiplies centred values and no zero-point term is left for the epilogue:
// |a - za| <= 255 and |w - zw| <= 255, so each dot_i16x8_s pair sum stays below 2^17
// and the int32 accumulator is exact while K * 255 * 255 fits (checked in src/).
import { NR } from './ukernels.generated';

/**
 * Widens activations a[M, K] (row stride lda bytes, int8 or uint8) into int16 panels of
 * `mr` rows: block b (rows m0..m0+mr) is kPairs x mr x (a[m][2p] - za, a[m][2p+1] - za),
 * starting at dst + m0 * kPairs * 4. The odd K tail is padded with 0.
 */
export function pack_a_s16(a: usize, M: i32, K: i32, lda: i32, signed: bool, za: i32, MR: i32, dst: usize): void {
  const kPairs = (K + 1) >> 1;
  for (let m0 = 0; m0 < M; m0 += MR) {
    const mr = min(MR, M - m0);
    const block = dst + <usize>m0 * <usize>kPairs * 4;
    for (let r = 0; r < mr; r++) {
      const row = a + <usize>(m0 + r) * lda;
      let d = block + <usize>r * 4;
      const stride = <usize>mr * 4;
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        // 8 bytes -> 4 int16 pairs per step, scattered to stride `mr * 4`
        const zv = i16x8.splat(<i16>za);
        for (; k + 8 <= K; k += 8) {
          const v = signed ? i16x8.sub(v128.load8x8_s(row + k), zv) : i16x8.sub(v128.load8x8_u(row + k), zv);
          v128.store32_lane(d, v, 0);
          v128.store32_lane(d + stride, v, 1);
          v128.store32_lane(d + 2 * stride, v, 2);
          v128.store32_lane(d + 3 * stride, v, 3);
          d += 4 * stride;
        }
      }
      for (; k < K; k += 2) {
        const x0 = (signed ? <i32>load<i8>(row + k) : <i32>load<u8>(row + k)) - za;
        let x1 = 0;
        if (k + 1 < K) x1 = (signed ? <i32>load<i8>(row + k + 1) : <i32>load<u8>(row + k + 1)) - za;
        store<i16>(d, <i16>x0);
        store<i16>(d, <i16>x1, 2);
        d += stride;
      }
    }
  }
}

/**
 * Packs weights into NR-wide int16 panels: element (n, k) read at w + n*sn + k*sk,
 * minus the column's zero point (zw[n] when zwPtr != 0, else zw). Panel p holds, per
 * k-pair, columns n0..n3 then n4..n7 as (w[k], w[k+1]) pairs; padding is 0.
 */
export function pack_w_s16(
  w: usize,
  N: i32,
  K: i32,
  sn: i32,
  sk: i32,
  signed: bool,
  zw: i32,
  zwPtr: usize,
  dst: usize,
): void {
  const kPairs = (K + 1) >> 1;
  const panels = (N + NR - 1) / NR;
  let d = dst;
  for (let p = 0; p < panels; p++) {
    for (let kp = 0; kp < kPairs; kp++) {
      for (let j = 0; j < NR; j++) {
        const n = p * NR + j;
        let v0 = 0;
        let v1 = 0;
        if (n < N) {
          const z = zwPtr != 0 ? load<i32>(zwPtr + ((<usize>n) << 2)) : zw;
          const base = w + <usize>(n * sn);
          const k = kp * 2;
          v0 = (signed ? <i32>load<i8>(base + k * sk) : <i32>load<u8>(base + k * sk)) - z;
          if (k + 1 < K) v1 = (signed ? <i32>load<i8>(base + (k + 1) * sk) : <i32>load<u8>(base + (k + 1) * sk)) - z;
        }
        store<i16>(d, <i16>v0);
        store<i16>(d, <i16>v1, 2);
        d += 4;
      }
    }
  }
}

/** Packs float32 weights (n, k) at w + 4*(n*sn + k*sk) into NR-wide panels, k-major. */
export function pack_w_f32(w: usize, N: i32, K: i32, sn: i32, sk: i32, dst: usize): void {
  const panels = (N + NR - 1) / NR;
  let d = dst;
  for (let p = 0; p < panels; p++) {
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < NR; j++) {
        const n = p * NR + j;
        store<f32>(d, n < N ? load<f32>(w + ((<usize>(n * sn + k * sk)) << 2)) : 0);
        d += 4;
      }
    }
  }
}
