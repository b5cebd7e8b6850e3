// Int4-weight GEMM: signed 4-bit weights, two per byte, unpacked inside the microkernel
// (no int8 or int16 copy of the weights ever exists), int16-widened activation panels
// from pack_a_s16, i32x4.dot_i16x8_s, and the same fused epilogues as gemm_s16.
//
// Weight layout (written once by src/layers/linear-int4.ts): NR = 8 columns per panel;
// a panel holds kQuads = ceil(K / 4) "quads" of 16 bytes, each covering k = 4q .. 4q+3, read
// as eight 16-bit lanes. Lane i belongs to column c = i >> 1 (and c + 4) and kk = i & 1,
// the lane order of gemm_s16's weight vectors ((w[c][k], w[c][k+1]) per column), and
// holds four nibbles:
//   bits  0-3   w[c][4q + kk]          (k-pair 2q,     columns 0-3)
//   bits  4-7   w[c + 4][4q + kk]      (k-pair 2q,     columns 4-7)
//   bits  8-11  w[c][4q + 2 + kk]      (k-pair 2q + 1, columns 0-3)
//   bits 12-15  w[c + 4][4q + 2 + kk]  (k-pair 2q + 1, columns 4-7)
// One 16-byte load and seven int16 shifts give the four weight vectors of two k-pairs,
// sign-extended: (v << (12 - 4j)) >> 12 (arithmetic) is nibble j. int16 lanes, not
// i8x16: x86 has no byte shifts (V8 emulates i8x16.shl / shr_s with several
// instructions) while psllw / psraw are one each, and no widening step is needed.
// The unpacking is the only work beyond gemm_s16's multiply-adds, 7 shifts per 2 k-pairs
// shared by the MR rows. Padding columns and k are zero.
//
// The kernels take kPairs = 2 * kQuads (even): src/ widens the activations with K rounded
// up to a multiple of 4, so no k-pair tail needs its own code. The rounded-up columns read
// whatever follows each row; the weights there are zero, so they add nothing.
//
// Range: |a - za| <= 255 and |w| <= 8, so each int32 accumulator is exact for any
// K < 2^31 / 2040 (checked in src/).
//
// Per-group scales (groupSize along K, a multiple of 4 so groups start on a quad): the
// plain kernel computes each group's exact int32 tile, which is converted to float32 and
// accumulated as tileF = f32(acc_0) * m_0[n], tileF += f32(acc_g) * m_g[n], with
// m_g[n] = f32(f32(sx * sw[n, g]) / sy), groups in ascending order, a separate multiply
// and add (never fused), so every build rounds the same way; the grouped epilogue then
// adds the bias (already divided by sy) and rounds. A group loop inside the kernel
// (float accumulators around the int loop) measured slower on Node 20 than this tile
// round trip per group: 86 against 89-92 GOPS in cache at groupSize 128.
import { NR } from './ukernels.generated';
import { epilogue, outputBytes } from './epilogue';

/**
 * Rows of the int4 register tile: 5 x 8 (10 accumulators), its own activation panel
 * height (src/ packs activations with pack_a_s16 at this MR). In cache on Node 20 (Zen 4,
 * K = 4096) this kernel reaches ~100 GOPS at 5 x 8 against ~88 at 4 x 8, where
 * gemm_s16's 4 x 8 reaches ~114: the 7 unpacking shifts per quad are shared by more rows.
 */
const MR: i32 = 5;
const MC: i32 = MR * 16;
// the tiles live in static memory on the main instance; a thread pool's worker points
// them at its own block (int4_thread_scratch), since every instance shares the memory
let tileI: usize = memory.data(MR * NR * 4, 16);
let tileF: usize = memory.data(MR * NR * 4, 16);

/** Bytes of per-thread scratch gemm_s4 / gemm_s4_grouped need. */
export const INT4_SCRATCH_BYTES: i32 = 2 * MR * NR * 4;

/** Points this instance's int4 tiles at `t` (INT4_SCRATCH_BYTES, 16-byte aligned). */
export function int4_thread_scratch(t: usize): void {
  tileI = t;
  tileF = t + MR * NR * 4;
}

/** The activation panel height gemm_s4 / gemm_s4_grouped expect from pack_a_s16. */
export function gemm_s4_mr(): i32 {
  return MR;
}

// ---------------------------------------------------------------------------------
// SIMD microkernel, one template for every MR: `mr` is a literal at each call site, so
// after inlining the optimiser folds the `mr > r` tests and drops unused accumulators.

@inline function dot2(c: v128, a: v128, w: v128): v128 {
  return i32x4.add(c, i32x4.dot_i16x8_s(a, w));
}

/**
 * `mr` rows x 8 columns over `kQuads` quads into the int32 tile (row r at tile + 32 r).
 */
@inline function gemm_s4_mrx8c4__simd_dot16(mr: i32, a: usize, w: usize, kQuads: i32, tile: usize): void {
  const stride: usize = (<usize>mr) << 2; // bytes of one k-pair in the activation panel
  let c00 = i32x4.splat(0),
    c01 = i32x4.splat(0),
    c10 = i32x4.splat(0),
    c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0),
    c21 = i32x4.splat(0),
    c30 = i32x4.splat(0),
    c31 = i32x4.splat(0);
  let c40 = i32x4.splat(0),
    c41 = i32x4.splat(0);
  for (let q = 0; q < kQuads; q++) {
    let w0 = i16x8.shr_s(i16x8.shl(v128.load(w), 12), 12);
    let w1 = i16x8.shr_s(i16x8.shl(v128.load(w), 8), 12);
    let x = v128.load32_splat(a);
    c00 = dot2(c00, x, w0);
    c01 = dot2(c01, x, w1);
    if (mr > 1) {
      x = v128.load32_splat(a, 4);
      c10 = dot2(c10, x, w0);
      c11 = dot2(c11, x, w1);
    }
    if (mr > 2) {
      x = v128.load32_splat(a, 8);
      c20 = dot2(c20, x, w0);
      c21 = dot2(c21, x, w1);
    }
    if (mr > 3) {
      x = v128.load32_splat(a, 12);
      c30 = dot2(c30, x, w0);
      c31 = dot2(c31, x, w1);
    }
    if (mr > 4) {
      x = v128.load32_splat(a, 16);
      c40 = dot2(c40, x, w0);
      c41 = dot2(c41, x, w1);
    }
    w0 = i16x8.shr_s(i16x8.shl(v128.load(w), 4), 12);
    w1 = i16x8.shr_s(v128.load(w), 12);
    const b = a + stride;
    x = v128.load32_splat(b);
    c00 = dot2(c00, x, w0);
    c01 = dot2(c01, x, w1);
    if (mr > 1) {
      x = v128.load32_splat(b, 4);
      c10 = dot2(c10, x, w0);
      c11 = dot2(c11, x, w1);
    }
    if (mr > 2) {
      x = v128.load32_splat(b, 8);
      c20 = dot2(c20, x, w0);
      c21 = dot2(c21, x, w1);
    }
    if (mr > 3) {
      x = v128.load32_splat(b, 12);
      c30 = dot2(c30, x, w0);
      c31 = dot2(c31, x, w1);
    }
    if (mr > 4) {
      x = v128.load32_splat(b, 16);
      c40 = dot2(c40, x, w0);
      c41 = dot2(c41, x, w1);
    }
    a += stride << 1;
    w += 16;
  }
  v128.store(tile, c00);
  v128.store(tile, c01, 16);
  if (mr > 1) {
    v128.store(tile, c10, 32);
    v128.store(tile, c11, 48);
  }
  if (mr > 2) {
    v128.store(tile, c20, 64);
    v128.store(tile, c21, 80);
  }
  if (mr > 3) {
    v128.store(tile, c30, 96);
    v128.store(tile, c31, 112);
  }
  if (mr > 4) {
    v128.store(tile, c40, 128);
    v128.store(tile, c41, 144);
  }
}

/** Nibble j (0..3) of a 16-bit lane, sign-extended to i32. */
@inline function nibble(lane: i32, j: i32): i32 {
  return (lane << (28 - 4 * j)) >> 28;
}

/** Scalar microkernel (the `scalar` build): the same packed layouts, one column at a time. */
function gemm_s4_mrx8c4__scalar(mr: i32, a: usize, w: usize, kQuads: i32, tile: usize): void {
  const stride: usize = (<usize>mr) << 2;
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < NR; j++) {
      // column j: lanes 2 * (j & 3) and 2 * (j & 3) + 1 (kk = 0, 1), nibble (j >> 2) + 2 * (p & 1)
      const lane = (<usize>(j & 3)) << 2;
      const half = j >> 2;
      let acc: i32 = 0;
      for (let p = 0; p < kQuads * 2; p++) {
        const pa = a + <usize>p * stride + ((<usize>r) << 2);
        const pw = w + ((<usize>(p >> 1)) << 4) + lane;
        const nj = half + ((p & 1) << 1);
        acc +=
          <i32>load<i16>(pa) * nibble(<i32>load<u16>(pw), nj) +
          <i32>load<i16>(pa, 2) * nibble(<i32>load<u16>(pw, 2), nj);
      }
      store<i32>(tile + ((<usize>(r * NR + j)) << 2), acc);
    }
  }
}

// One function per MR: V8 allocates registers better in small functions (one function
// holding every variant cost Node 20 a quarter of its speed).
function s4_5x8(a: usize, w: usize, q: i32, tile: usize): void {
  gemm_s4_mrx8c4__simd_dot16(5, a, w, q, tile);
}
function s4_4x8(a: usize, w: usize, q: i32, tile: usize): void {
  gemm_s4_mrx8c4__simd_dot16(4, a, w, q, tile);
}
function s4_3x8(a: usize, w: usize, q: i32, tile: usize): void {
  gemm_s4_mrx8c4__simd_dot16(3, a, w, q, tile);
}
function s4_2x8(a: usize, w: usize, q: i32, tile: usize): void {
  gemm_s4_mrx8c4__simd_dot16(2, a, w, q, tile);
}
function s4_1x8(a: usize, w: usize, q: i32, tile: usize): void {
  gemm_s4_mrx8c4__simd_dot16(1, a, w, q, tile);
}

/** The int32 tile of `mr` rows x 8 columns over `kQuads` quads. */
function tile_s4(mr: i32, a: usize, w: usize, kQuads: i32, tile: usize): void {
  if (ASC_FEATURE_SIMD) {
    switch (mr) {
      case 5:
        s4_5x8(a, w, kQuads, tile);
        break;
      case 4:
        s4_4x8(a, w, kQuads, tile);
        break;
      case 3:
        s4_3x8(a, w, kQuads, tile);
        break;
      case 2:
        s4_2x8(a, w, kQuads, tile);
        break;
      default:
        s4_1x8(a, w, kQuads, tile);
        break;
    }
  } else {
    gemm_s4_mrx8c4__scalar(mr, a, w, kQuads, tile);
  }
}

/**
 * Int4-weight GEMM with per-tensor or per-channel weight scales: out[M, N] =
 * epilogue(A_packed x W_s4). `a` from pack_a_s16 (MR rows per block), `w` in the
 * quad layout above; `kind` and `params` as gemm_s16 (epilogue.ts).
 */
export function gemm_s4(
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
  const panels = (N + NR - 1) / NR;
  const kQuads = kPairs >> 1;
  const panelBytes = (<usize>kQuads) << 4;
  for (let mc0 = 0; mc0 < M; mc0 += MC) {
    const mcEnd = min(M, mc0 + MC);
    for (let p = 0; p < panels; p++) {
      const n0 = p * NR;
      const nc = min(NR, N - n0);
      const wp = w + <usize>p * panelBytes;
      for (let m0 = mc0; m0 < mcEnd; m0 += MR) {
        const mr = min(MR, M - m0);
        tile_s4(mr, a + <usize>m0 * <usize>kPairs * 4, wp, kQuads, tileI);
        epilogue(kind, tileI, mr, nc, n0, out + (<usize>m0 * ldo + n0) * outputBytes(kind), ldo, params);
      }
    }
  }
}

// Grouped parameter block (written by src/layers/linear-int4.ts, 4-byte fields):
//   0 mults   float32[panels][groups][8]: m_g[n] = f32(f32(sx * sw[n, g]) / sy)
//   4 bias    float32[Np] (bias / sy) or 0
//   8 zp      output zero point
//  12 qmin    lowest output value (after the activation clamp)
//  16 qmax    highest output value
//  20 signed  1: int8 output, 0: uint8
//  24 groupPairs  k-pairs per group (groupSize / 2, even)

/** tileF (+)= f32(tileI) * scales[0..7] per row (= for the first group). */
function scaleAdd(mr: i32, scales: usize, first: bool): void {
  if (ASC_FEATURE_SIMD) {
    const s0 = v128.load(scales);
    const s1 = v128.load(scales, 16);
    for (let r = 0; r < mr; r++) {
      const o = (<usize>(r * NR)) << 2;
      const f0 = f32x4.mul(f32x4.convert_i32x4_s(v128.load(tileI + o)), s0);
      const f1 = f32x4.mul(f32x4.convert_i32x4_s(v128.load(tileI + o, 16)), s1);
      v128.store(tileF + o, first ? f0 : f32x4.add(v128.load(tileF + o), f0));
      v128.store(tileF + o, first ? f1 : f32x4.add(v128.load(tileF + o, 16), f1), 16);
    }
  } else {
    for (let r = 0; r < mr; r++) {
      for (let j = 0; j < NR; j++) {
        const o = (<usize>(r * NR + j)) << 2;
        const f = <f32>load<i32>(tileI + o) * load<f32>(scales + ((<usize>j) << 2));
        store<f32>(tileF + o, first ? f : load<f32>(tileF + o) + f);
      }
    }
  }
}

/** y = clamp(nearest(tileF + bias), qmin - zp, qmax - zp) + zp, stored as 8-bit. */
@inline function epilogueGrouped(t: usize, mr: i32, nc: i32, n0: i32, out: usize, ldo: i32, params: usize): void {
  const bias = load<usize>(params, 4);
  const zp = load<i32>(params, 8);
  const qmin = load<i32>(params, 12);
  const qmax = load<i32>(params, 16);
  const signed = load<i32>(params, 20) != 0;
  const lo = <f32>(qmin - zp);
  const hi = <f32>(qmax - zp);
  if (ASC_FEATURE_SIMD && nc == NR) {
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    if (bias != 0) {
      b0 = v128.load(bias + ((<usize>n0) << 2));
      b1 = v128.load(bias + ((<usize>n0) << 2), 16);
    }
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const vz = i32x4.splat(zp);
    for (let r = 0; r < mr; r++) {
      const src = t + ((<usize>(r * NR)) << 2);
      const f0 = f32x4.nearest(f32x4.min(f32x4.max(f32x4.add(v128.load(src), b0), vlo), vhi));
      const f1 = f32x4.nearest(f32x4.min(f32x4.max(f32x4.add(v128.load(src, 16), b1), vlo), vhi));
      const h = i16x8.narrow_i32x4_s(
        i32x4.add(i32x4.trunc_sat_f32x4_s(f0), vz),
        i32x4.add(i32x4.trunc_sat_f32x4_s(f1), vz),
      );
      v128.store64_lane(out + <usize>r * ldo, signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h), 0);
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      let f = load<f32>(t + ((<usize>(r * NR + j)) << 2));
      if (bias != 0) f += load<f32>(bias + ((<usize>(n0 + j)) << 2));
      f = nearest<f32>(min<f32>(max<f32>(f, lo), hi));
      store<u8>(out + <usize>r * ldo + j, <u8>(<i32>f + zp));
    }
  }
}

/**
 * Int4-weight GEMM with per-group weight scales along K (fp32 requantization only):
 * each group's exact int32 sum is scaled by its own multiplier into a float32 tile,
 * then biased, rounded and clamped to 8 bits. `params` is the grouped block above.
 */
export function gemm_s4_grouped(
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  kPairs: i32,
  out: usize,
  ldo: i32,
  params: usize,
): void {
  const mults = load<usize>(params, 0);
  const groupPairs = load<i32>(params, 24);
  const groups = (kPairs + groupPairs - 1) / groupPairs;
  const panels = (N + NR - 1) / NR;
  const panelBytes = (<usize>(kPairs >> 1)) << 4;
  const groupQuads = groupPairs >> 1;
  const kQuads = kPairs >> 1;
  for (let mc0 = 0; mc0 < M; mc0 += MC) {
    const mcEnd = min(M, mc0 + MC);
    for (let p = 0; p < panels; p++) {
      const n0 = p * NR;
      const nc = min(NR, N - n0);
      const wp = w + <usize>p * panelBytes;
      const mp = mults + <usize>p * <usize>groups * (NR * 4);
      for (let m0 = mc0; m0 < mcEnd; m0 += MR) {
        const mr = min(MR, M - m0);
        const ap = a + <usize>m0 * <usize>kPairs * 4;
        // one int32 tile per group from the plain kernel, scaled into the float tile:
        // V8 compiles the plain kernel's loop better than one with the group loop around it
        for (let g = 0; g < groups; g++) {
          const q0 = g * groupQuads;
          tile_s4(mr, ap + <usize>q0 * <usize>mr * 8, wp + ((<usize>q0) << 4), min(groupQuads, kQuads - q0), tileI);
          scaleAdd(mr, mp + <usize>g * (NR * 4), g == 0);
        }
        epilogueGrouped(tileF, mr, nc, n0, out + <usize>m0 * ldo + n0, ldo, params);
      }
    }
  }
}
