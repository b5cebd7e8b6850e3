// Indirect GEMM (IGEMM) for the general KxK convolution.
//
// int8: the input is widened to int16 once per call (zero point subtracted, NHWC, so a
// tap's channels are contiguous pairs), with a row of zeros after it for padding taps.
// For each block of output pixels an indirection buffer lists, per MR-row tile and per
// tap, the MR input pixels the tile reads (or the zero row); the microkernel walks taps
// and, inside a tap, the channel pairs, exactly as the GEMM walks k-pairs, so the inner
// loop is the GEMM's. Against packing im2col panels (im2col.ts) this reads each input
// pixel where it lies instead of copying it kH * kW times: 2-5% faster on 3x3 layers
// with 64-256 channels (bench/conv.bench.mjs).
//
// Odd channel counts per group: each tap's segment is rounded up to whole pairs; the
// extra element read (the next channel, or past the end of the zero row / buffer,
// which src/ leaves room for) meets a zero weight, so it contributes 0.
//
// float32 (the baseline): the same indirection over the input rows in place, an MR x 8
// f32x4 tile per panel.
//
// Measured on 3x3 96 -> 24 at 160x160 (PP-OCRv4 detection; simd, Node 20, AMD EPYC 2
// vCPUs, interleaved rounds), against this 4 x 8 tile: 5 x 8 0.54x and 6 x 8 0.59x (V8
// spills), the channel-pair loop unrolled by 2 / 4 with static offsets 0.79x / 0.75x (V8
// floats every load of the unrolled body to its top and spills; it already unrolls the
// plain loop 4 times itself), indirection blocks of 128 / 256 pixels instead of 64 the
// same (1.00x), widening the input skipped 1.02x (so it is not worth a per-block ring).
// The inner loop is 30 instructions per k-pair and tile (6 loads, 8 dots, 8 adds, 5
// pointer steps, the loop test): about 43 GMAC/s, 1.87x the float32 IGEMM.
import { NR } from '../gemm/ukernels.generated';
import { Epilogue, outputBytes, residualAddSpan, lookupSpan } from '../gemm/epilogue';
import { EP_BYTES } from '../layouts.generated';
import { fmadd } from '../gemm/fma';
import { epilogue, epilogueF32 } from '../gemm/epilogue';
import {
  cp,
  CP_N,
  CP_H,
  CP_W,
  CP_C,
  CP_OH,
  CP_OW,
  CP_M,
  CP_KH,
  CP_KW,
  CP_SH,
  CP_SW,
  CP_DH,
  CP_DW,
  CP_PT,
  CP_PL,
  CP_GROUP,
  CP_CG,
  CP_MG,
  CP_ZA,
  CP_SIGNED,
  CP_KPAIRS,
  CP_GROUP_WBYTES,
  CP_MC,
} from './params';

/** Rows of the IGEMM register tile: 4 x 8 fits V8's vector registers on Node 20 and 24. */
export const IGEMM_MR: i32 = 4;
/** Bytes between the per-group epilogue parameter headers (src/ops/epilogue.ts's HEADER). */
const EPI_HEADER: usize = EP_BYTES;

// Per instance: a thread pool's worker points it at its own block (useIgemmTile).
let tile: usize = memory.data(IGEMM_MR * NR * 4, 16);

/** Moves this instance's IGEMM tile to `t` (IGEMM_MR * NR * 4 bytes): one per thread. */
export function useIgemmTile(t: usize): void {
  tile = t;
}

/** Widens elements [i0, i1) of x (int8 / uint8) to int16 minus the zero point, at the same index of dst. */
function widenInput(x: usize, i0: i32, i1: i32, signed: bool, za: i32, dst: usize): void {
  let i = i0;
  if (ASC_FEATURE_SIMD) {
    const zv = i16x8.splat(<i16>za);
    for (; i + 8 <= i1; i += 8) {
      const v = signed ? v128.load8x8_s(x + i) : v128.load8x8_u(x + i);
      v128.store(dst + ((<usize>i) << 1), i16x8.sub(v, zv));
    }
  }
  for (; i < i1; i++) {
    store<i16>(dst + ((<usize>i) << 1), <i16>((signed ? <i32>load<i8>(x + i) : <i32>load<u8>(x + i)) - za));
  }
}

/** First element and one past the last of the input rows output pixels [r0, r1) read. */
@inline function inputSpan(p: usize, r0: i32, r1: i32, first: bool): i32 {
  const H = cp(p, CP_H),
    W = cp(p, CP_W),
    C = cp(p, CP_C);
  const OH = cp(p, CP_OH),
    OW = cp(p, CP_OW);
  const r = first ? r0 : r1 - 1;
  const oh = (r / OW) % OH;
  const n = r / (OW * OH);
  const top = oh * cp(p, CP_SH) - cp(p, CP_PT);
  const ih = first ? max(0, top) : min(H - 1, top + (cp(p, CP_KH) - 1) * cp(p, CP_DH));
  return (n * H + ih + (first ? 0 : 1)) * W * C;
}

/**
 * Fills the indirection buffer for output pixels m0 .. m0 + mc: per tile of IGEMM_MR rows,
 * per tap, IGEMM_MR pointers (element size `es`); rows past the block repeat the last row.
 */
function buildIndirection(p: usize, base: usize, zero: usize, es: usize, m0: i32, mc: i32, ind: usize): void {
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
  const taps = kH * kW;
  const pix = <usize>C * es;
  const rowsPadded = ((mc + IGEMM_MR - 1) / IGEMM_MR) * IGEMM_MR;
  let ow = m0 % OW;
  const t = m0 / OW;
  let oh = t % OH;
  let n = t / OH;
  for (let r = 0; r < rowsPadded; r++) {
    const slot = ind + ((<usize>((r / IGEMM_MR) * taps * IGEMM_MR + (r % IGEMM_MR))) << 2);
    if (r >= mc) {
      // a tail row repeats row mc - 1: computed, never stored
      const src = ind + ((<usize>(((mc - 1) / IGEMM_MR) * taps * IGEMM_MR + ((mc - 1) % IGEMM_MR))) << 2);
      for (let k = 0; k < taps; k++)
        store<usize>(slot + ((<usize>(k * IGEMM_MR)) << 2), load<usize>(src + ((<usize>(k * IGEMM_MR)) << 2)));
      continue;
    }
    const ih0 = oh * sH - pT;
    const iw0 = ow * sW - pL;
    let k = 0;
    for (let kh = 0; kh < kH; kh++) {
      const ih = ih0 + kh * dH;
      const inRow = ih >= 0 && ih < H;
      const line = base + <usize>((n * H + ih) * W) * pix;
      for (let kw = 0; kw < kW; kw++) {
        const iw = iw0 + kw * dW;
        store<usize>(slot + ((<usize>(k * IGEMM_MR)) << 2), inRow && iw >= 0 && iw < W ? line + <usize>iw * pix : zero);
        k++;
      }
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

/** 4 x 8 int16 IGEMM tile: per tap, four input pointers (+ goff), cPairs channel pairs each. */
@inline function igemm_s16_4x8c2__simd_dot16(
  ind: usize,
  taps: i32,
  cPairs: i32,
  goff: usize,
  w: usize,
  t: usize,
): void {
  let c00 = i32x4.splat(0),
    c01 = i32x4.splat(0),
    c10 = i32x4.splat(0),
    c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0),
    c21 = i32x4.splat(0),
    c30 = i32x4.splat(0),
    c31 = i32x4.splat(0);
  for (let tp = 0; tp < taps; tp++) {
    let a0 = load<usize>(ind) + goff;
    let a1 = load<usize>(ind, 4) + goff;
    let a2 = load<usize>(ind, 8) + goff;
    let a3 = load<usize>(ind, 12) + goff;
    ind += 16;
    for (let k = 0; k < cPairs; k++) {
      const w0 = v128.load(w);
      const w1 = v128.load(w, 16);
      const x0 = v128.load32_splat(a0);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, w0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, w1));
      const x1 = v128.load32_splat(a1);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, w0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, w1));
      const x2 = v128.load32_splat(a2);
      c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x2, w0));
      c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x2, w1));
      const x3 = v128.load32_splat(a3);
      c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x3, w0));
      c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x3, w1));
      a0 += 4;
      a1 += 4;
      a2 += 4;
      a3 += 4;
      w += 32;
    }
  }
  v128.store(t, c00);
  v128.store(t, c01, 16);
  v128.store(t, c10, 32);
  v128.store(t, c11, 48);
  v128.store(t, c20, 64);
  v128.store(t, c21, 80);
  v128.store(t, c30, 96);
  v128.store(t, c31, 112);
}

/** The scalar build's tile: the same indirection and packed weights, one output at a time. */
function igemm_s16_4x8c2__scalar(ind: usize, taps: i32, cPairs: i32, goff: usize, w: usize, t: usize): void {
  for (let r = 0; r < IGEMM_MR; r++) {
    for (let j = 0; j < NR; j++) {
      let acc = 0;
      let pw = w + ((<usize>j) << 2);
      for (let tp = 0; tp < taps; tp++) {
        let a = load<usize>(ind + ((<usize>(tp * IGEMM_MR + r)) << 2)) + goff;
        for (let k = 0; k < cPairs; k++) {
          acc += <i32>load<i16>(a) * <i32>load<i16>(pw) + <i32>load<i16>(a, 2) * <i32>load<i16>(pw, 2);
          a += 4;
          pw += NR * 4;
        }
      }
      store<i32>(t + ((<usize>(r * NR + j)) << 2), acc);
    }
  }
}

/**
 * int8 / uint8 KxK convolution by IGEMM over output pixels [r0, r1). `w`: per group, NR
 * panels of taps * cPairs int16 pairs (pack_w_s16 over each tap's channels rounded up to
 * pairs); `scratch`: the widened input (only the rows these pixels read are written) and
 * its zero row, then the indirection buffer (src/ sizes both).
 */
export function conv_igemm_s16(
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
  const N = cp(p, CP_N),
    H = cp(p, CP_H),
    W = cp(p, CP_W),
    C = cp(p, CP_C);
  const M = cp(p, CP_M),
    group = cp(p, CP_GROUP),
    Cg = cp(p, CP_CG),
    Mg = cp(p, CP_MG);
  const taps = cp(p, CP_KH) * cp(p, CP_KW);
  const cPairs = (Cg + 1) >> 1;
  const kPairs = cp(p, CP_KPAIRS);
  const wBytes = <usize>cp(p, CP_GROUP_WBYTES);
  const MC = cp(p, CP_MC);
  const count = N * H * W * C;
  widenInput(x, inputSpan(p, r0, r1, true), inputSpan(p, r0, r1, false), cp(p, CP_SIGNED) != 0, cp(p, CP_ZA), scratch);
  const zero = scratch + ((<usize>count) << 1);
  memory.fill(zero, 0, (<usize>(C + 8)) << 1);
  const ind = (zero + ((<usize>(C + 8)) << 1) + 15) & ~(<usize>15);
  const es: usize = outputBytes(kind);
  const panels = (Mg + NR - 1) / NR;
  const panelBytes = <usize>kPairs * NR * 4;
  const tileInd = (<usize>(taps * IGEMM_MR)) << 2;
  for (let m0 = r0; m0 < r1; m0 += MC) {
    const mc = min(MC, r1 - m0);
    buildIndirection(p, scratch, zero, 2, m0, mc, ind);
    for (let g = 0; g < group; g++) {
      const goff = (<usize>(g * Cg)) << 1;
      const wg = w + <usize>g * wBytes;
      const epi: usize = kind == Epilogue.I32 ? 0 : params + <usize>g * EPI_HEADER;
      for (let pp = 0; pp < panels; pp++) {
        const n0 = pp * NR;
        const nc = min(NR, Mg - n0);
        const wp = wg + <usize>pp * panelBytes;
        let ti = ind;
        for (let r0 = 0; r0 < mc; r0 += IGEMM_MR) {
          const mr = min(IGEMM_MR, mc - r0);
          if (ASC_FEATURE_SIMD) {
            igemm_s16_4x8c2__simd_dot16(ti, taps, cPairs, goff, wp, tile);
          } else {
            igemm_s16_4x8c2__scalar(ti, taps, cPairs, goff, wp, tile);
          }
          const o = out + (<usize>(m0 + r0) * <usize>M + <usize>(g * Mg + n0)) * es;
          epilogue(kind, tile, mr, nc, n0, o, M, epi);
          ti += tileInd;
        }
      }
    }
    residualAddSpan(kind, params, out + <usize>m0 * <usize>M, mc * M);
    lookupSpan(kind, params, out + <usize>m0 * <usize>M, mc * M);
  }
}

/** 4 x 8 float32 IGEMM tile: per tap, four input row pointers (+ goff), Cg channels each. */
@inline function igemm_f32_4x8__simd(ind: usize, taps: i32, Cg: i32, goff: usize, w: usize, t: usize): void {
  let c00 = f32x4.splat(0),
    c01 = f32x4.splat(0),
    c10 = f32x4.splat(0),
    c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0),
    c21 = f32x4.splat(0),
    c30 = f32x4.splat(0),
    c31 = f32x4.splat(0);
  for (let tp = 0; tp < taps; tp++) {
    let a0 = load<usize>(ind) + goff;
    let a1 = load<usize>(ind, 4) + goff;
    let a2 = load<usize>(ind, 8) + goff;
    let a3 = load<usize>(ind, 12) + goff;
    ind += 16;
    for (let k = 0; k < Cg; k++) {
      const w0 = v128.load(w);
      const w1 = v128.load(w, 16);
      const x0 = v128.load32_splat(a0);
      c00 = fmadd(x0, w0, c00);
      c01 = fmadd(x0, w1, c01);
      const x1 = v128.load32_splat(a1);
      c10 = fmadd(x1, w0, c10);
      c11 = fmadd(x1, w1, c11);
      const x2 = v128.load32_splat(a2);
      c20 = fmadd(x2, w0, c20);
      c21 = fmadd(x2, w1, c21);
      const x3 = v128.load32_splat(a3);
      c30 = fmadd(x3, w0, c30);
      c31 = fmadd(x3, w1, c31);
      a0 += 4;
      a1 += 4;
      a2 += 4;
      a3 += 4;
      w += 32;
    }
  }
  v128.store(t, c00);
  v128.store(t, c01, 16);
  v128.store(t, c10, 32);
  v128.store(t, c11, 48);
  v128.store(t, c20, 64);
  v128.store(t, c21, 80);
  v128.store(t, c30, 96);
  v128.store(t, c31, 112);
}

function igemm_f32_4x8__scalar(ind: usize, taps: i32, Cg: i32, goff: usize, w: usize, t: usize): void {
  for (let r = 0; r < IGEMM_MR; r++) {
    for (let j = 0; j < NR; j++) {
      let acc: f32 = 0;
      let pw = w + ((<usize>j) << 2);
      for (let tp = 0; tp < taps; tp++) {
        let a = load<usize>(ind + ((<usize>(tp * IGEMM_MR + r)) << 2)) + goff;
        for (let k = 0; k < Cg; k++) {
          acc += load<f32>(a) * load<f32>(pw);
          a += 4;
          pw += NR * 4;
        }
      }
      store<f32>(t + ((<usize>(r * NR + j)) << 2), acc);
    }
  }
}

/**
 * The float32 baseline's KxK convolution by IGEMM over output pixels [r0, r1), over the
 * input in place; `w` per group as pack_w_f32 panels of K = taps * Cg; `scratch` holds C
 * zeros (the padding row) and the indirection buffer; + bias, clamp to [lo, hi].
 */
export function conv_igemm_f32(
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
  const C = cp(p, CP_C),
    M = cp(p, CP_M),
    group = cp(p, CP_GROUP),
    Cg = cp(p, CP_CG),
    Mg = cp(p, CP_MG);
  const taps = cp(p, CP_KH) * cp(p, CP_KW);
  const K = cp(p, CP_KPAIRS);
  const wBytes = <usize>cp(p, CP_GROUP_WBYTES);
  const MC = cp(p, CP_MC);
  const zero = scratch;
  memory.fill(zero, 0, (<usize>C) << 2);
  const ind = (zero + ((<usize>C) << 2) + 15) & ~(<usize>15);
  const panels = (Mg + NR - 1) / NR;
  const panelBytes = <usize>K * NR * 4;
  const tileInd = (<usize>(taps * IGEMM_MR)) << 2;
  for (let m0 = r0; m0 < r1; m0 += MC) {
    const mc = min(MC, r1 - m0);
    buildIndirection(p, x, zero, 4, m0, mc, ind);
    for (let g = 0; g < group; g++) {
      const goff = (<usize>(g * Cg)) << 2;
      const wg = w + <usize>g * wBytes;
      const b: usize = bias != 0 ? bias + ((<usize>(g * Mg)) << 2) : 0;
      for (let pp = 0; pp < panels; pp++) {
        const n0 = pp * NR;
        const nc = min(NR, Mg - n0);
        const wp = wg + <usize>pp * panelBytes;
        let ti = ind;
        for (let r0 = 0; r0 < mc; r0 += IGEMM_MR) {
          const mr = min(IGEMM_MR, mc - r0);
          if (ASC_FEATURE_SIMD) {
            igemm_f32_4x8__simd(ti, taps, Cg, goff, wp, tile);
          } else {
            igemm_f32_4x8__scalar(ti, taps, Cg, goff, wp, tile);
          }
          const o = out + ((<usize>(m0 + r0) * <usize>M + <usize>(g * Mg)) << 2);
          epilogueF32(tile, mr, nc, n0, o + ((<usize>n0) << 2), M, b, lo, hi, p);
          ti += tileInd;
        }
      }
    }
  }
}
