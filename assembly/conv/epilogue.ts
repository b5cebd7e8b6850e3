// Conv epilogues: the GEMM's parameter block (assembly/gemm/epilogue.ts, written by
// src/ops/epilogue.ts) and the GEMM's arithmetic, with the fp32 requantization's
// rounding done by the float adder instead of f32x4.nearest + i32x4.trunc_sat_f32x4_s.
//
// Why that is exact: after the clamp to [qmin - zp, qmax - zp], |f| <= 255. Adding
// 1.5 * 2^23 lands in [2^23, 2^24), where float32 spacing is exactly 1, so the IEEE add
// rounds f to an integer, ties to even, as f32x4.nearest does; the sum's bit pattern is
// then 0x4B400000 + round(f), and subtracting (0x4B400000 - zp) leaves round(f) + zp.
// Two cheap ops replace a rounding plus a saturating truncation that x64 engines expand
// to about eight instructions, and the clamp uses pmin / pmax (one instruction each)
// instead of min / max (NaN-propagating sequences); in a 1x1 conv with K = 64 or a
// depthwise conv the epilogue is a third to a half of the time. Fixed-point and int32
// outputs use the GEMM's epilogues unchanged.
import { NR } from '../gemm/ukernels.generated';
import { Epilogue, epilogueI32, epilogueFp32, epilogueFixed } from '../gemm/epilogue';

const MAGIC: f32 = 12582912.0; // 1.5 * 2^23
const MAGIC_BITS: i32 = 0x4b400000;

/** 8 accumulators (two i32x4) of one output row -> bytes, fp32 requantization; low 8 bytes hold the row. */
@inline export function requantRowFp32(
  a0: v128, a1: v128, b0: v128, b1: v128, m0: v128, m1: v128,
  lo: v128, hi: v128, magic: v128, magicZp: v128, signed: bool,
): v128 {
  let f0 = f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(a0, b0)), m0);
  let f1 = f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(a1, b1)), m1);
  // pmin / pmax are single minps / maxps on x64; they differ from min / max only for NaN
  // and signed zeros, and f is neither (finite accumulator times a finite multiplier)
  f0 = f32x4.pmin(f32x4.pmax(f0, lo), hi);
  f1 = f32x4.pmin(f32x4.pmax(f1, lo), hi);
  const i0 = i32x4.sub(f32x4.add(f0, magic), magicZp);
  const i1 = i32x4.sub(f32x4.add(f1, magic), magicZp);
  const h = i16x8.narrow_i32x4_s(i0, i1);
  return signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h);
}

/** fp32 requantization of an mr x nc tile (rows NR apart), as epilogueFp32 computes it. */
@inline function convEpilogueFp32(t: usize, mr: i32, nc: i32, n0: i32, out: usize, ldo: i32, params: usize): void {
  if (ASC_FEATURE_SIMD && nc == NR) {
    const bias = load<usize>(params, 0);
    const mult = load<usize>(params, 4) + (<usize>n0 << 2);
    const zp = load<i32>(params, 20);
    const qmin = load<i32>(params, 24);
    const qmax = load<i32>(params, 28);
    const signed = load<i32>(params, 32) != 0;
    let b0 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    if (bias != 0) {
      b0 = v128.load(bias + (<usize>n0 << 2));
      b1 = v128.load(bias + (<usize>n0 << 2), 16);
    }
    const m0 = v128.load(mult);
    const m1 = v128.load(mult, 16);
    const lo = f32x4.splat(<f32>(qmin - zp));
    const hi = f32x4.splat(<f32>(qmax - zp));
    const magic = f32x4.splat(MAGIC);
    const magicZp = i32x4.splat(MAGIC_BITS - zp);
    for (let r = 0; r < mr; r++) {
      const src = t + (<usize>(r * NR) << 2);
      const y = requantRowFp32(v128.load(src), v128.load(src, 16), b0, b1, m0, m1, lo, hi, magic, magicZp, signed);
      v128.store64_lane(out + <usize>r * ldo, y, 0);
    }
    return;
  }
  epilogueFp32(t, mr, nc, n0, out, ldo, params);
}

/**
 * Runs epilogue `kind` on an mr x nc tile of int32 accumulators (rows NR apart); `out`
 * already points at the tile's first output, `n0` is the tile's first column in the
 * parameter block's per-column arrays.
 */
@inline export function convEpilogue(kind: i32, t: usize, mr: i32, nc: i32, n0: i32, out: usize, ldo: i32, params: usize): void {
  switch (kind) {
    case Epilogue.I32:
      epilogueI32(t, mr, nc, out, ldo);
      break;
    case Epilogue.Fp32:
      convEpilogueFp32(t, mr, nc, n0, out, ldo, params);
      break;
    case Epilogue.Fixed:
      epilogueFixed(t, mr, nc, n0, out, ldo, params);
      break;
  }
}

/**
 * The float32 baseline's epilogue: + bias (float32[N] or 0), clamp to [lo, hi], store
 * an mr x nc tile of float32 sums (rows NR apart); pmin / pmax as in the int8 path.
 */
@inline export function convEpilogueF32(t: usize, mr: i32, nc: i32, n0: i32, out: usize, ldo: i32, bias: usize, lo: f32, hi: f32): void {
  const rowBytes = <usize>ldo << 2;
  if (ASC_FEATURE_SIMD && nc == NR) {
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    if (bias != 0) {
      b0 = v128.load(bias + (<usize>n0 << 2));
      b1 = v128.load(bias + (<usize>n0 << 2), 16);
    }
    for (let r = 0; r < mr; r++) {
      const src = t + (<usize>(r * NR) << 2);
      const o = out + <usize>r * rowBytes;
      v128.store(o, f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(src), b0), vlo), vhi));
      v128.store(o, f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(src, 16), b1), vlo), vhi), 16);
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      let v = load<f32>(t + (<usize>(r * NR + j) << 2));
      if (bias != 0) v += load<f32>(bias + (<usize>(n0 + j) << 2));
      store<f32>(out + <usize>r * rowBytes + (<usize>j << 2), min(max(v, lo), hi));
    }
  }
}
