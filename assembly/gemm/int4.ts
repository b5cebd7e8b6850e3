// Int4-weight GEMM: signed 4-bit weights, two per byte, unpacked inside the microkernel
// (no int8 or int16 copy of the weights ever exists), int16-widened activation panels
// from pack_a_s16, i32x4.dot_i16x8_s, and the same fused epilogues as gemm_s16.
//
// Weight layout (written once by src/layers/linear-int4.ts): NR = 8 columns per panel;
// a panel holds ceil(kPairs / 2) "quads" of 16 bytes, each covering k = 4q .. 4q+3.
// Byte i of quad q belongs to column c = i >> 1 and kk = i & 1:
//   low nibble  = w[c][4q + kk]       (k-pair 2q)
//   high nibble = w[c][4q + 2 + kk]   (k-pair 2q + 1)
// so v128.load8x8_s of bytes 0..7 (columns 0-3) sign-extends them to int16 lanes
// ordered exactly as gemm_s16's weight vectors, (w[c][k], w[c][k+1]) per column:
//   (e << 12) >> 12  is the sign-extended low nibble  -> k-pair 2q
//   e >> 4           is the sign-extended high nibble -> k-pair 2q + 1
// (arithmetic shifts of the sign-extended byte). The shifts run on int16 lanes, not
// i8x16 lanes, because x86 has no byte shifts and V8 emulates i8x16.shl / shr_s with
// several instructions; psllw / psraw are one each. Padding columns and k are zero.
//
// Range: |a - za| <= 255 and |w| <= 8, so each int32 accumulator is exact for any
// K < 2^31 / 2040 (checked in src/).
//
// Per-group scales (groupSize along K, a multiple of 4 so groups start on a quad):
// the int32 sum of each group is converted to float32 and accumulated in a float tile
// as tileF += f32(acc_g) * m_g[n], with m_g[n] = f32(f32(sx * sw[n, g]) / sy), groups in
// ascending order, a separate multiply and add (never fused), so every build rounds the
// same way; the grouped epilogue then adds the bias (already divided by sy) and rounds.
import { MR, NR } from './ukernels.generated';
import { epilogueI32, epilogueFp32, epilogueFixed, epilogueDequant, Epilogue } from './epilogue';

const MC: i32 = MR * 16;
const tileI = memory.data(MR * NR * 4, 16);
const tileF = memory.data(MR * NR * 4, 16);

// ---------------------------------------------------------------------------------
// SIMD microkernel, one template for every MR: `mr` is a literal at each call site, so
// after inlining the optimiser folds the `mr > r` tests and drops unused accumulators.

@inline function dot2(c: v128, a: v128, w: v128): v128 {
  return i32x4.add(c, i32x4.dot_i16x8_s(a, w));
}

@inline function finish(grouped: bool, c0: v128, c1: v128, t: usize, s0: v128, s1: v128): void {
  if (grouped) {
    v128.store(t, f32x4.add(v128.load(t), f32x4.mul(f32x4.convert_i32x4_s(c0), s0)));
    v128.store(t, f32x4.add(v128.load(t, 16), f32x4.mul(f32x4.convert_i32x4_s(c1), s1)), 16);
  } else {
    v128.store(t, c0);
    v128.store(t, c1, 16);
  }
}

/**
 * `mr` rows x 8 columns over `kQuads` quads (+ one trailing k-pair when `tail`): stores
 * the int32 tile, or (grouped) adds f32(acc) * scales[0..7] into the float tile.
 */
@inline function gemm_s4_mrx8c4__simd_dot16(
  mr: i32, a: usize, w: usize, kQuads: i32, tail: bool, grouped: bool, scales: usize, tile: usize,
): void {
  const stride: usize = <usize>mr << 2; // bytes of one k-pair in the activation panel
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  let c40 = i32x4.splat(0), c41 = i32x4.splat(0);
  for (let q = 0; q < kQuads; q++) {
    const e0 = v128.load8x8_s(w);
    const e1 = v128.load8x8_s(w, 8);
    let w0 = i16x8.shr_s(i16x8.shl(e0, 12), 12);
    let w1 = i16x8.shr_s(i16x8.shl(e1, 12), 12);
    let x = v128.load32_splat(a);
    c00 = dot2(c00, x, w0);
    c01 = dot2(c01, x, w1);
    if (mr > 1) { x = v128.load32_splat(a + 4); c10 = dot2(c10, x, w0); c11 = dot2(c11, x, w1); }
    if (mr > 2) { x = v128.load32_splat(a + 8); c20 = dot2(c20, x, w0); c21 = dot2(c21, x, w1); }
    if (mr > 3) { x = v128.load32_splat(a + 12); c30 = dot2(c30, x, w0); c31 = dot2(c31, x, w1); }
    if (mr > 4) { x = v128.load32_splat(a + 16); c40 = dot2(c40, x, w0); c41 = dot2(c41, x, w1); }
    w0 = i16x8.shr_s(e0, 4);
    w1 = i16x8.shr_s(e1, 4);
    const b = a + stride;
    x = v128.load32_splat(b);
    c00 = dot2(c00, x, w0);
    c01 = dot2(c01, x, w1);
    if (mr > 1) { x = v128.load32_splat(b + 4); c10 = dot2(c10, x, w0); c11 = dot2(c11, x, w1); }
    if (mr > 2) { x = v128.load32_splat(b + 8); c20 = dot2(c20, x, w0); c21 = dot2(c21, x, w1); }
    if (mr > 3) { x = v128.load32_splat(b + 12); c30 = dot2(c30, x, w0); c31 = dot2(c31, x, w1); }
    if (mr > 4) { x = v128.load32_splat(b + 16); c40 = dot2(c40, x, w0); c41 = dot2(c41, x, w1); }
    a += stride << 1;
    w += 16;
  }
  if (tail) {
    // the last quad holds only k-pair 2q (its high nibbles are zero padding)
    const w0 = i16x8.shr_s(i16x8.shl(v128.load8x8_s(w), 12), 12);
    const w1 = i16x8.shr_s(i16x8.shl(v128.load8x8_s(w, 8), 12), 12);
    let x = v128.load32_splat(a);
    c00 = dot2(c00, x, w0);
    c01 = dot2(c01, x, w1);
    if (mr > 1) { x = v128.load32_splat(a + 4); c10 = dot2(c10, x, w0); c11 = dot2(c11, x, w1); }
    if (mr > 2) { x = v128.load32_splat(a + 8); c20 = dot2(c20, x, w0); c21 = dot2(c21, x, w1); }
    if (mr > 3) { x = v128.load32_splat(a + 12); c30 = dot2(c30, x, w0); c31 = dot2(c31, x, w1); }
    if (mr > 4) { x = v128.load32_splat(a + 16); c40 = dot2(c40, x, w0); c41 = dot2(c41, x, w1); }
  }
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  if (grouped) {
    s0 = v128.load(scales);
    s1 = v128.load(scales, 16);
  }
  finish(grouped, c00, c01, tile, s0, s1);
  if (mr > 1) finish(grouped, c10, c11, tile + 32, s0, s1);
  if (mr > 2) finish(grouped, c20, c21, tile + 64, s0, s1);
  if (mr > 3) finish(grouped, c30, c31, tile + 96, s0, s1);
  if (mr > 4) finish(grouped, c40, c41, tile + 128, s0, s1);
}

/** Signed nibble `hi ? high : low` of a byte, sign-extended to i32. */
@inline function nibble(b: i32, hi: bool): i32 {
  return hi ? (b << 24) >> 28 : (b << 28) >> 28;
}

/** Scalar microkernel (the `scalar` build): the same packed layouts, one column at a time. */
function gemm_s4_mrx8c4__scalar(mr: i32, a: usize, w: usize, kQuads: i32, tail: bool, grouped: bool, scales: usize, tile: usize): void {
  const stride: usize = <usize>mr << 2;
  const pairs = kQuads * 2 + (tail ? 1 : 0);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < NR; j++) {
      let acc: i32 = 0;
      for (let p = 0; p < pairs; p++) {
        const pa = a + <usize>p * stride + (<usize>r << 2);
        const pw = w + (<usize>(p >> 1) << 4) + (<usize>j << 1);
        const hi = (p & 1) != 0;
        acc += <i32>load<i16>(pa) * nibble(<i32>load<u8>(pw), hi) + <i32>load<i16>(pa, 2) * nibble(<i32>load<u8>(pw, 1), hi);
      }
      const t = tile + (<usize>(r * NR + j) << 2);
      if (grouped) store<f32>(t, load<f32>(t) + <f32>acc * load<f32>(scales + (<usize>j << 2)));
      else store<i32>(t, acc);
    }
  }
}

function tile_s4(mr: i32, a: usize, w: usize, kQuads: i32, tail: bool, grouped: bool, scales: usize, tile: usize): void {
  if (ASC_FEATURE_SIMD) {
    switch (mr) {
      case 5: gemm_s4_mrx8c4__simd_dot16(5, a, w, kQuads, tail, grouped, scales, tile); break;
      case 4: gemm_s4_mrx8c4__simd_dot16(4, a, w, kQuads, tail, grouped, scales, tile); break;
      case 3: gemm_s4_mrx8c4__simd_dot16(3, a, w, kQuads, tail, grouped, scales, tile); break;
      case 2: gemm_s4_mrx8c4__simd_dot16(2, a, w, kQuads, tail, grouped, scales, tile); break;
      default: gemm_s4_mrx8c4__simd_dot16(1, a, w, kQuads, tail, grouped, scales, tile); break;
    }
  } else {
    gemm_s4_mrx8c4__scalar(mr, a, w, kQuads, tail, grouped, scales, tile);
  }
}

/**
 * Int4-weight GEMM with per-tensor or per-channel weight scales: out[M, N] =
 * epilogue(A_packed x W_s4). `a` from pack_a_s16 (MR rows per block), `w` in the
 * quad layout above; `kind` and `params` as gemm_s16 (epilogue.ts).
 */
export function gemm_s4(a: usize, w: usize, M: i32, N: i32, kPairs: i32, out: usize, ldo: i32, kind: i32, params: usize): void {
  const panels = (N + NR - 1) / NR;
  const kQuads = kPairs >> 1;
  const tail = (kPairs & 1) != 0;
  const panelBytes = <usize>((kPairs + 1) >> 1) << 4;
  for (let mc0 = 0; mc0 < M; mc0 += MC) {
    const mcEnd = min(M, mc0 + MC);
    for (let p = 0; p < panels; p++) {
      const n0 = p * NR;
      const nc = min(NR, N - n0);
      const wp = w + <usize>p * panelBytes;
      for (let m0 = mc0; m0 < mcEnd; m0 += MR) {
        const mr = min(MR, M - m0);
        tile_s4(mr, a + <usize>m0 * <usize>kPairs * 4, wp, kQuads, tail, false, 0, tileI);
        switch (kind) {
          case Epilogue.I32:
            epilogueI32(tileI, mr, nc, out + ((<usize>m0 * ldo + n0) << 2), ldo);
            break;
          case Epilogue.Fp32:
            epilogueFp32(tileI, mr, nc, n0, out + <usize>m0 * ldo + n0, ldo, params);
            break;
          case Epilogue.Fixed:
            epilogueFixed(tileI, mr, nc, n0, out + <usize>m0 * ldo + n0, ldo, params);
            break;
          case Epilogue.Dequant:
            epilogueDequant(tileI, mr, nc, n0, out + ((<usize>m0 * ldo + n0) << 2), ldo, params);
            break;
        }
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
      b0 = v128.load(bias + (<usize>n0 << 2));
      b1 = v128.load(bias + (<usize>n0 << 2), 16);
    }
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const vz = i32x4.splat(zp);
    for (let r = 0; r < mr; r++) {
      const src = t + (<usize>(r * NR) << 2);
      const f0 = f32x4.nearest(f32x4.min(f32x4.max(f32x4.add(v128.load(src), b0), vlo), vhi));
      const f1 = f32x4.nearest(f32x4.min(f32x4.max(f32x4.add(v128.load(src, 16), b1), vlo), vhi));
      const h = i16x8.narrow_i32x4_s(i32x4.add(i32x4.trunc_sat_f32x4_s(f0), vz), i32x4.add(i32x4.trunc_sat_f32x4_s(f1), vz));
      v128.store64_lane(out + <usize>r * ldo, signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h), 0);
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      let f = load<f32>(t + (<usize>(r * NR + j) << 2));
      if (bias != 0) f += load<f32>(bias + (<usize>(n0 + j) << 2));
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
export function gemm_s4_grouped(a: usize, w: usize, M: i32, N: i32, kPairs: i32, out: usize, ldo: i32, params: usize): void {
  const mults = load<usize>(params, 0);
  const groupPairs = load<i32>(params, 24);
  const groups = (kPairs + groupPairs - 1) / groupPairs;
  const panels = (N + NR - 1) / NR;
  const panelBytes = <usize>((kPairs + 1) >> 1) << 4;
  const groupQuads = groupPairs >> 1;
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
        memory.fill(tileF, 0, MR * NR * 4);
        for (let g = 0; g < groups; g++) {
          const p0 = g * groupPairs;
          const np = min(groupPairs, kPairs - p0);
          tile_s4(
            mr,
            ap + <usize>p0 * <usize>mr * 4,
            wp + (<usize>(g * groupQuads) << 4),
            np >> 1,
            (np & 1) != 0,
            true,
            mp + <usize>g * (NR * 4),
            tileF,
          );
        }
        epilogueGrouped(tileF, mr, nc, n0, out + <usize>m0 * ldo + n0, ldo, params);
      }
    }
  }
}
