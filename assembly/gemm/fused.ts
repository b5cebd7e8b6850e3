// The int16 GEMM's 4 x 8 tile with the fp32 requantization fused (simd builds; the tile,
// tile4x8Fp32, is generated with the GEMM's k loop by scripts/gen-gemm.mjs): the
// accumulators start at the bias and the four rows are requantized from registers, so the
// int32 tile never goes through memory and the epilogue's parameters are read once per
// tile. For small K (1x1 convs over 12-96 channels, transposed convs) the separate
// epilogue was a third of the time: 1x1 16 -> 32 at 320x320 1.155x (bench/det-conv).
import { EP_ZP, EP_QMIN, EP_QMAX, EP_SIGNED } from '../layouts.generated';

const MAGIC: f32 = 12582912.0; // 1.5 * 2^23
const MAGIC_BITS: i32 = 0x4b400000;

/**
 * The four rows of a 4 x 8 int32 tile (bias already in the accumulators) requantized in
 * fp32 from registers to codes at out, ldo bytes apart: the tail of the generated
 * tile4x8Fp32 (ukernels.generated.ts), whose k loop is the int16 GEMM's own.
 */
@inline export function requantTile4x8(
  c00: v128,
  c01: v128,
  c10: v128,
  c11: v128,
  c20: v128,
  c21: v128,
  c30: v128,
  c31: v128,
  out: usize,
  ldo: i32,
  mult: usize,
  params: usize,
): void {
  const zp = load<i32>(params, EP_ZP);
  const qmax = load<i32>(params, EP_QMAX);
  const signed = load<i32>(params, EP_SIGNED) != 0;
  const m0 = v128.load(mult);
  const m1 = v128.load(mult, 16);
  const lo = f32x4.splat(<f32>(load<i32>(params, EP_QMIN) - zp));
  const hi = f32x4.splat(<f32>(qmax - zp));
  const magic = f32x4.splat(MAGIC);
  const magicZp = i32x4.splat(MAGIC_BITS - zp);
  const o1 = out + <usize>ldo;
  const o2 = out + <usize>(2 * ldo);
  const o3 = out + <usize>(3 * ldo);
  if (qmax == (signed ? 127 : 255)) {
    // no clamp at the top (see rowFp32): 1x1 16 -> 32 at 320x320 1.10x, 48 -> 48 at 160x160 1.04x
    rowFp32(c00, c01, m0, m1, lo, hi, magic, magicZp, signed, false, out);
    rowFp32(c10, c11, m0, m1, lo, hi, magic, magicZp, signed, false, o1);
    rowFp32(c20, c21, m0, m1, lo, hi, magic, magicZp, signed, false, o2);
    rowFp32(c30, c31, m0, m1, lo, hi, magic, magicZp, signed, false, o3);
  } else {
    rowFp32(c00, c01, m0, m1, lo, hi, magic, magicZp, signed, true, out);
    rowFp32(c10, c11, m0, m1, lo, hi, magic, magicZp, signed, true, o1);
    rowFp32(c20, c21, m0, m1, lo, hi, magic, magicZp, signed, true, o2);
    rowFp32(c30, c31, m0, m1, lo, hi, magic, magicZp, signed, true, o3);
  }
}

/**
 * One row of epilogue.ts's fp32 requantization (requantRowFp32, bias already in the
 * accumulators), its 8 codes stored at `out`. Without `clampHi` the clamp at the top is
 * left to the narrowing, for an output range that reaches the dtype's top (qmax 127 for
 * int8, 255 for uint8): above qmax - zp, f + 1.5 * 2^23 only grows with f (up to +Inf), its
 * bits minus (0x4B400000 - zp) stay a positive int32 above qmax, and the saturating
 * narrowings give qmax, as the clamp would.
 */
@inline function rowFp32(
  a0: v128,
  a1: v128,
  m0: v128,
  m1: v128,
  lo: v128,
  hi: v128,
  magic: v128,
  magicZp: v128,
  signed: bool,
  clampHi: bool,
  out: usize,
): void {
  let f0 = f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(a0), m0), lo);
  let f1 = f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(a1), m1), lo);
  if (clampHi) {
    f0 = f32x4.pmin(f0, hi);
    f1 = f32x4.pmin(f1, hi);
  }
  const i0 = i32x4.sub(f32x4.add(f0, magic), magicZp);
  const i1 = i32x4.sub(f32x4.add(f1, magic), magicZp);
  const h = i16x8.narrow_i32x4_s(i0, i1);
  v128.store64_lane(out, signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h), 0);
}
