// im2col packers: the rows of the convolution's implicit GEMM, one output pixel per row,
// written straight into the layout the GEMM microkernel reads, for one block of rows.
//
// Row k order is (kh, kw, c), matching weights [M, kH, kW, C/group]. The int16 packer
// writes pack_a_s16's panels (blocks of MR rows, per k-pair the MR rows' (k, k+1)
// pairs) with the zero point subtracted, so padding taps are plain zeros that the
// GEMM multiplies away and no zero-point correction is left for the epilogue.
// The float32 packer writes plain rows for conv_gemm_f32.
import { MR } from '../gemm/ukernels.generated';
import {
  cp,
  CP_H,
  CP_W,
  CP_C,
  CP_OH,
  CP_OW,
  CP_KH,
  CP_KW,
  CP_SH,
  CP_SW,
  CP_DH,
  CP_DW,
  CP_PT,
  CP_PL,
  CP_CG,
  CP_ZA,
  CP_SIGNED,
  CP_KPAIRS,
} from './params';

@inline function centred(src: usize, signed: bool, za: i32): i32 {
  return (signed ? <i32>load<i8>(src) : <i32>load<u8>(src)) - za;
}

/**
 * Writes `len` centred input values from `src` as elements k.. of one packed row: element
 * k lives at row + (k >> 1) * stride + (k & 1) * 2. Runs start and end at any parity, so
 * odd channel counts need no padding.
 */
@inline function putRun(src: usize, len: i32, k: i32, row: usize, stride: usize, signed: bool, za: i32): void {
  let i = 0;
  if (k & 1) {
    store<i16>(row + <usize>(k >> 1) * stride, <i16>centred(src, signed, za), 2);
    i = 1;
  }
  let d = row + <usize>((k + i) >> 1) * stride;
  if (ASC_FEATURE_SIMD) {
    const zv = i16x8.splat(<i16>za);
    const s4 = stride * 4;
    for (; i + 8 <= len; i += 8) {
      const v = i16x8.sub(signed ? v128.load8x8_s(src + i) : v128.load8x8_u(src + i), zv);
      v128.store32_lane(d, v, 0);
      v128.store32_lane(d + stride, v, 1);
      v128.store32_lane(d + 2 * stride, v, 2);
      v128.store32_lane(d + 3 * stride, v, 3);
      d += s4;
    }
  }
  for (; i + 2 <= len; i += 2) {
    store<i16>(d, <i16>centred(src + i, signed, za));
    store<i16>(d, <i16>centred(src + i + 1, signed, za), 2);
    d += stride;
  }
  // a last odd element takes the even slot; the next run (or the K tail) fills the odd one
  if (i < len) store<i16>(d, <i16>centred(src + i, signed, za));
}

/** Writes `len` zeros (padding taps) as elements k.. of one packed row. */
@inline function putZeros(len: i32, k: i32, row: usize, stride: usize): void {
  let i = 0;
  if (k & 1) {
    store<i16>(row + <usize>(k >> 1) * stride, 0, 2);
    i = 1;
  }
  let d = row + <usize>((k + i) >> 1) * stride;
  for (; i + 2 <= len; i += 2) {
    store<i32>(d, 0);
    d += stride;
  }
  if (i < len) store<i16>(d, 0);
}

/** First kw whose column iw0 + kw * dW is >= 0, and one past the last one < W. */
@inline function kwFirst(iw0: i32, dW: i32, kW: i32): i32 {
  return iw0 >= 0 ? 0 : min(kW, (dW - 1 - iw0) / dW);
}
@inline function kwEnd(iw0: i32, dW: i32, kW: i32, W: i32): i32 {
  return iw0 >= W ? 0 : min(kW, (W - 1 - iw0) / dW + 1);
}

/**
 * One interior pixel of a 3x3 conv over 3 contiguous channels (the RGB stem): its 27
 * centred values (3 kernel rows of 9 bytes, `step` bytes apart from `p`) and a zero as 14
 * int16 pairs of a full MR = 4 panel row at `row` (pairs 16 bytes apart). The three rows
 * are gathered into two vectors by shuffles, widened and stored a pair per lane: about a
 * third of the generic per-run packing's work.
 */
@inline function packRgb3x3(p: usize, step: usize, row: usize, signed: bool, za: i32): void {
  const r0 = i8x16.replace_lane(v128.load64_zero(p), 8, load<u8>(p, 8));
  const r1 = i8x16.replace_lane(v128.load64_zero(p + step), 8, load<u8>(p + step, 8));
  const p2 = p + (step << 1);
  const r2 = i8x16.replace_lane(v128.load64_zero(p2), 8, load<u8>(p2, 8));
  // elements 0..15 and 16..26 (the lanes after 26 are never stored as they are)
  const a = i8x16.shuffle(r0, r1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 18, 19, 20, 21, 22);
  const b = i8x16.shuffle(r1, r2, 7, 8, 16, 17, 18, 19, 20, 21, 22, 23, 24, 0, 0, 0, 0, 0);
  const zv = i16x8.splat(<i16>za);
  const a0 = i16x8.sub(signed ? i16x8.extend_low_i8x16_s(a) : i16x8.extend_low_i8x16_u(a), zv);
  const a1 = i16x8.sub(signed ? i16x8.extend_high_i8x16_s(a) : i16x8.extend_high_i8x16_u(a), zv);
  const b0 = i16x8.sub(signed ? i16x8.extend_low_i8x16_s(b) : i16x8.extend_low_i8x16_u(b), zv);
  // element 27, past K = 27, is the zero the generic packer writes
  const b1 = i16x8.replace_lane(
    i16x8.sub(signed ? i16x8.extend_high_i8x16_s(b) : i16x8.extend_high_i8x16_u(b), zv),
    3,
    0,
  );
  v128.store32_lane(row, a0, 0, 0);
  v128.store32_lane(row, a0, 1, 16);
  v128.store32_lane(row, a0, 2, 32);
  v128.store32_lane(row, a0, 3, 48);
  v128.store32_lane(row, a1, 0, 64);
  v128.store32_lane(row, a1, 1, 80);
  v128.store32_lane(row, a1, 2, 96);
  v128.store32_lane(row, a1, 3, 112);
  v128.store32_lane(row, b0, 0, 128);
  v128.store32_lane(row, b0, 1, 144);
  v128.store32_lane(row, b0, 2, 160);
  v128.store32_lane(row, b0, 3, 176);
  v128.store32_lane(row, b1, 0, 192);
  v128.store32_lane(row, b1, 1, 208);
}

/**
 * Packs output pixels m0 .. m0 + mc (flattened over N, OH, OW) of group g into int16
 * panels at dst (blocks of MR rows, kPairs pairs each), ready for conv_gemm_s16 with M = mc.
 */
export function conv_pack_im2col_s16(p: usize, x: usize, m0: i32, mc: i32, g: i32, dst: usize): void {
  const H = cp(p, CP_H),
    W = cp(p, CP_W),
    C = cp(p, CP_C);
  const OH = cp(p, CP_OH),
    OW = cp(p, CP_OW);
  const kH = cp(p, CP_KH),
    kW = cp(p, CP_KW);
  const sH = cp(p, CP_SH),
    sW = cp(p, CP_SW),
    dH = cp(p, CP_DH),
    dW = cp(p, CP_DW);
  const pT = cp(p, CP_PT),
    pL = cp(p, CP_PL);
  const Cg = cp(p, CP_CG),
    za = cp(p, CP_ZA),
    signed = cp(p, CP_SIGNED) != 0;
  const kPairs = cp(p, CP_KPAIRS);
  const K = kH * kW * Cg;
  const tapRow = kW * Cg;
  // with one group and no column dilation, the taps of one kernel row are adjacent in memory
  const contiguous = dW == 1 && Cg == C;
  // the RGB stem's shape: interior pixels of full panels take packRgb3x3
  const rgb = ASC_FEATURE_SIMD && MR == 4 && contiguous && kH == 3 && kW == 3 && C == 3;
  const rowStep = <usize>(dH * W * 3);
  const xg = x + <usize>(g * Cg);
  let ow = m0 % OW;
  const t = m0 / OW;
  let oh = t % OH;
  let n = t / OH;
  for (let b0 = 0; b0 < mc; b0 += MR) {
    const mrb = min(MR, mc - b0);
    const stride = <usize>mrb * 4;
    const block = dst + <usize>b0 * <usize>kPairs * 4;
    for (let rr = 0; rr < mrb; rr++) {
      const row = block + ((<usize>rr) << 2);
      const ih0 = oh * sH - pT;
      const iw0 = ow * sW - pL;
      if (rgb && mrb == 4 && ih0 >= 0 && ih0 + 2 * dH < H && iw0 >= 0 && iw0 + 2 < W) {
        packRgb3x3(xg + <usize>((n * H + ih0) * W + iw0) * 3, rowStep, row, signed, za);
        if (++ow == OW) {
          ow = 0;
          if (++oh == OH) {
            oh = 0;
            n++;
          }
        }
        continue;
      }
      const lo = kwFirst(iw0, dW, kW);
      const hi = max(lo, kwEnd(iw0, dW, kW, W));
      let k = 0;
      for (let kh = 0; kh < kH; kh++) {
        const ih = ih0 + kh * dH;
        if (ih < 0 || ih >= H) {
          putZeros(tapRow, k, row, stride);
        } else {
          const line = xg + <usize>((n * H + ih) * W) * <usize>C;
          if (lo > 0) putZeros(lo * Cg, k, row, stride);
          if (contiguous) {
            putRun(line + <usize>(iw0 + lo) * <usize>C, (hi - lo) * Cg, k + lo * Cg, row, stride, signed, za);
          } else {
            for (let kw = lo; kw < hi; kw++) {
              putRun(line + <usize>(iw0 + kw * dW) * <usize>C, Cg, k + kw * Cg, row, stride, signed, za);
            }
          }
          if (hi < kW) putZeros((kW - hi) * Cg, k + hi * Cg, row, stride);
        }
        k += tapRow;
      }
      if (K & 1) store<i16>(row + <usize>(K >> 1) * stride, 0, 2);
      if (++ow == OW) {
        ow = 0;
        if (++oh == OH) {
          oh = 0;
          n++;
        }
      }
    }
  }
}

/** Packs output pixels m0 .. m0 + mc of group g as float32 rows of K at dst (for conv_gemm_f32). */
export function conv_pack_im2col_f32(p: usize, x: usize, m0: i32, mc: i32, g: i32, dst: usize): void {
  const H = cp(p, CP_H),
    W = cp(p, CP_W),
    C = cp(p, CP_C);
  const OH = cp(p, CP_OH),
    OW = cp(p, CP_OW);
  const kH = cp(p, CP_KH),
    kW = cp(p, CP_KW);
  const sH = cp(p, CP_SH),
    sW = cp(p, CP_SW),
    dH = cp(p, CP_DH),
    dW = cp(p, CP_DW);
  const pT = cp(p, CP_PT),
    pL = cp(p, CP_PL);
  const Cg = cp(p, CP_CG);
  const K = kH * kW * Cg;
  const tapRowBytes = (<usize>(kW * Cg)) << 2;
  const tapBytes = (<usize>Cg) << 2;
  const contiguous = dW == 1 && Cg == C;
  const xg = x + ((<usize>(g * Cg)) << 2);
  let ow = m0 % OW;
  const t = m0 / OW;
  let oh = t % OH;
  let n = t / OH;
  for (let r = 0; r < mc; r++) {
    let d = dst + ((<usize>r * <usize>K) << 2);
    const ih0 = oh * sH - pT;
    const iw0 = ow * sW - pL;
    const lo = kwFirst(iw0, dW, kW);
    const hi = max(lo, kwEnd(iw0, dW, kW, W));
    for (let kh = 0; kh < kH; kh++) {
      const ih = ih0 + kh * dH;
      if (ih < 0 || ih >= H) {
        memory.fill(d, 0, tapRowBytes);
      } else {
        const line = xg + ((<usize>((n * H + ih) * W) * <usize>C) << 2);
        if (lo > 0) memory.fill(d, 0, <usize>lo * tapBytes);
        if (contiguous) {
          memory.copy(
            d + <usize>lo * tapBytes,
            line + ((<usize>(iw0 + lo) * <usize>C) << 2),
            <usize>(hi - lo) * tapBytes,
          );
        } else {
          for (let kw = lo; kw < hi; kw++) {
            memory.copy(d + <usize>kw * tapBytes, line + ((<usize>(iw0 + kw * dW) * <usize>C) << 2), tapBytes);
          }
        }
        if (hi < kW) memory.fill(d + <usize>hi * tapBytes, 0, <usize>(kW - hi) * tapBytes);
      }
      d += tapRowBytes;
    }
    if (++ow == OW) {
      ow = 0;
      if (++oh == OH) {
        oh = 0;
        n++;
      }
    }
  }
}
