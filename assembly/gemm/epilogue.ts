// GEMM epilogues: each turns an MR x NR int32 tile (row-major, NR = 8) into output.
// Parameter block: the `epilogue` layout of scripts/layouts.mjs (EP_* offsets), written
// once per layer by src/ops/epilogue.ts. Arrays are padded to a whole number of NR panels,
// so an 8-wide load never leaves them.
import { NR } from './ukernels.generated';
import {
  CP_ACT,
  CP_ACT_K,
  CP_ACT_C,
  EP_BIAS,
  EP_MULT,
  EP_LMUL,
  EP_RSHIFT,
  EP_RMASK,
  EP_ZP,
  EP_QMIN,
  EP_QMAX,
  EP_SIGNED,
  EP_XSCALE,
  EP_LFLOOR,
  EP_RPOW,
  EP_LEFT,
  EP_DQLO,
  EP_DQHI,
  EP_FMODE,
  EP_FMUL,
  EP_FADD,
  EP_FMAGIC,
  EP_RADD,
  EP_RDELTA,
  EP_RF,
  EP_RC,
  EP_RR,
  EP_RLO,
  EP_RHI,
  EP_LOOKUP,
} from '../layouts.generated';
import { srdhmScalar, rdbpotScalar, srdhmVec, rdbpotVecPerLane } from '../requant';
import { qadd_s8 } from '../elementwise';
import { lookup_u8_pairs } from '../lookup';

export enum Epilogue {
  I32 = 0,
  Fp32 = 1,
  Fixed = 2,
  Dequant = 3,
}

/** Stores the int32 tile as is (matMulInteger, convInteger). */
@inline export function epilogueI32(t: usize, mr: i32, nc: i32, out: usize, ldo: i32): void {
  const rowBytes = (<usize>ldo) << 2;
  for (let r = 0; r < mr; r++) {
    const src = t + ((<usize>(r * NR)) << 2);
    const dst = out + <usize>r * rowBytes;
    if (ASC_FEATURE_SIMD && nc == NR) {
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
    } else {
      for (let j = 0; j < nc; j++) store<i32>(dst + ((<usize>j) << 2), load<i32>(src + ((<usize>j) << 2)));
    }
  }
}

@inline function narrowStore8(dst: usize, lo: v128, hi: v128, signed: bool): void {
  const h = i16x8.narrow_i32x4_s(lo, hi);
  const b = signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h);
  v128.store64_lane(dst, b, 0);
}

@inline function storeByte(dst: usize, v: i32): void {
  store<u8>(dst, <u8>v);
}

const MAGIC: f32 = 12582912.0; // 1.5 * 2^23
const MAGIC_BITS: i32 = 0x4b400000;

/**
 * One output row of the fp32 requantization (two i32x4 accumulators + bias, times the
 * multipliers), rounded by the float adder: after the clamp to [qmin - zp, qmax - zp],
 * |f| <= 255, and adding 1.5 * 2^23 lands where float32 spacing is exactly 1, so the
 * IEEE add rounds f to an integer, ties to even, as f32x4.nearest does; the sum's bits
 * are 0x4B400000 + round(f), so subtracting (0x4B400000 - zp) leaves round(f) + zp. Two
 * cheap ops replace nearest + trunc_sat, which x64 engines expand to about eight. The
 * clamp uses pmin / pmax (one instruction each), equal to min / max here: f is finite.
 * Returns the row's bytes in the low 8 lanes.
 */
@inline export function requantRowFp32(
  a0: v128,
  a1: v128,
  b0: v128,
  b1: v128,
  m0: v128,
  m1: v128,
  lo: v128,
  hi: v128,
  magic: v128,
  magicZp: v128,
  signed: bool,
): v128 {
  let f0 = f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(a0, b0)), m0);
  let f1 = f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(a1, b1)), m1);
  f0 = f32x4.pmin(f32x4.pmax(f0, lo), hi);
  f1 = f32x4.pmin(f32x4.pmax(f1, lo), hi);
  const i0 = i32x4.sub(f32x4.add(f0, magic), magicZp);
  const i1 = i32x4.sub(f32x4.add(f1, magic), magicZp);
  const h = i16x8.narrow_i32x4_s(i0, i1);
  return signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h);
}

/** fp32 requantization: y = clamp(nearest(f32(acc + bias) * mult) + zp, qmin, qmax). */
@inline export function epilogueFp32(
  t: usize,
  mr: i32,
  nc: i32,
  n0: i32,
  out: usize,
  ldo: i32,
  params: usize,
): void {
  const bias = load<usize>(params, EP_BIAS);
  const mult = load<usize>(params, EP_MULT) + ((<usize>n0) << 2);
  const zp = load<i32>(params, EP_ZP);
  const qmin = load<i32>(params, EP_QMIN);
  const qmax = load<i32>(params, EP_QMAX);
  const signed = load<i32>(params, EP_SIGNED) != 0;
  if (ASC_FEATURE_SIMD && nc == NR) {
    let b0 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    if (bias != 0) {
      b0 = v128.load(bias + ((<usize>n0) << 2));
      b1 = v128.load(bias + ((<usize>n0) << 2), 16);
    }
    const m0 = v128.load(mult);
    const m1 = v128.load(mult, 16);
    const lo = f32x4.splat(<f32>(qmin - zp));
    const hi = f32x4.splat(<f32>(qmax - zp));
    const magic = f32x4.splat(MAGIC);
    const magicZp = i32x4.splat(MAGIC_BITS - zp);
    for (let r = 0; r < mr; r++) {
      const src = t + ((<usize>(r * NR)) << 2);
      const y = requantRowFp32(v128.load(src), v128.load(src, 16), b0, b1, m0, m1, lo, hi, magic, magicZp, signed);
      v128.store64_lane(out + <usize>r * ldo, y, 0);
    }
    return;
  }
  const lo = <f32>(qmin - zp);
  const hi = <f32>(qmax - zp);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      let acc = load<i32>(t + ((<usize>(r * NR + j)) << 2));
      if (bias != 0) acc += load<i32>(bias + ((<usize>(n0 + j)) << 2));
      let f = <f32>acc * load<f32>(mult + ((<usize>j) << 2));
      f = nearest<f32>(min<f32>(max<f32>(f, lo), hi));
      storeByte(out + <usize>r * ldo + j, <i32>f + zp);
    }
  }
}

/**
 * Clamps accumulators to [floor, ~floor] = [-2^(31-left), 2^(31-left) - 1] so that
 * acc << left stays inside int32 (TFLite's reference would overflow there). A channel
 * with left > 0 has a real multiplier >= 1, so any accumulator beyond the clamp already
 * saturates the output: the clamp changes no result that was right, and turns the
 * wrapped ones into the correct qmin / qmax. With left = 0 it clamps nothing.
 */
@inline function saturateForLeftShift(acc: v128, floor: v128): v128 {
  return i32x4.min_s(i32x4.max_s(acc, floor), v128.not(floor));
}

/**
 * FMODE bits: how the float64 fixed-point path runs the 8 columns from a given one, chosen
 * by src/ops/fixed-f64.ts (FixedF64 there, same values). 0 sends them to the int64 path.
 */
const F64_RELU: i32 = 1; // outputs >= the zero point: x < 0 needs no sign of its own
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the bit src/ops/fixed-f64.ts sets; its path is the else of F64_RELU
const F64_SIGNED: i32 = 2; // any output range: the rounding offset takes the sign of x
const F64_ADJUST: i32 = 4; // RELU: bias added as int32 (not folded into FADD); SIGNED: + 1/2 (ties possible)
const F64_CLAMP: i32 = 8; // RELU: min with qmax; SIGNED: clamp to [qmin, qmax] (else the narrowing saturates)

/**
 * One full panel (8 columns) of fixed-point requantization in float64, two lanes per
 * vector. TFLite's double rounding of x = acc + bias, RoundingDivideByPOT(SRDHM(x, M), e)
 * with e >= 1, equals one rounding of the exact product (test/requant-kernels.test.ts
 * checks it against gemmlowp in BigInt):
 *   z = floor((x * M + sgn(x) * 2^30 + 2^(30 + e)) / 2^(31 + e)),  sgn(0) = +1,
 * that is, with W = x * M + sgn(x) * 2^30 and D = 2^(31 + e), z = floor(W / D + 1/2).
 * Where the output cannot leave [-384, 384] (src/ops/fixed-f64.ts bounds x there),
 * |W| < 2^52, so x * M and W are exact doubles; adding FMAGIC = (1.5 * 2^52 + zp) * D,
 * whose binade has a spacing of exactly D, rounds W to a multiple of D once, and the low
 * 32 bits of the sum are round(W / D) + zp. Round-to-nearest equals the wanted
 * floor(W / D + 1/2) unless W / D is a half-integer; W + 1/2 never is, so adding 1/2
 * (ADJUST in SIGNED, always in RELU's FADD) makes every tie impossible. Beyond that range
 * each step is monotone in x, so the outputs saturate where they should, and e >= 1
 * keeps |z| below 2^30, so the low word never wraps.
 * RELU: when qmin >= zp, every x < 0 gives z <= 0 with +2^30 as with -2^30, and the
 * max with qmin maps both to qmin: the sign costs nothing, and the bias folds into FADD
 * (bias * M + 2^30 + 1/2) where that stays exact. The relaxed build fuses the multiply and
 * the add (exact either way); on Node 24 that brings 'fixedpoint' level with 'fp32'.
 */
@inline function fixedF64Rows(
  t: usize,
  mr: i32,
  out: usize,
  ldo: i32,
  bias: usize,
  fm: usize,
  fa: usize,
  fc: usize,
  relu: bool,
  adjust: bool,
  clamp: bool,
  vmin: v128,
  vmax: v128,
  signed: bool,
): void {
  const addBias = !relu || adjust;
  let b0 = i32x4.splat(0);
  let b1 = i32x4.splat(0);
  if (addBias && bias != 0) {
    b0 = v128.load(bias);
    b1 = v128.load(bias, 16);
  }
  const m0 = v128.load(fm);
  const m1 = v128.load(fm, 16);
  const m2 = v128.load(fm, 32);
  const m3 = v128.load(fm, 48);
  const c0 = v128.load(fc);
  const c1 = v128.load(fc, 16);
  const c2 = v128.load(fc, 32);
  const c3 = v128.load(fc, 48);
  const sign = i64x2.splat(i64.MIN_VALUE);
  const nudge = f64x2.splat(1073741824.0); // 2^30
  const half = f64x2.splat(0.5);
  for (let r = 0; r < mr; r++) {
    const src = t + ((<usize>(r * NR)) << 2);
    let a0 = v128.load(src);
    let a1 = v128.load(src, 16);
    if (addBias) {
      a0 = i32x4.add(a0, b0);
      a1 = i32x4.add(a1, b1);
    }
    const f0 = f64x2.convert_low_i32x4_s(a0);
    const f1 = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(a0, a0, 2, 3, 2, 3));
    const f2 = f64x2.convert_low_i32x4_s(a1);
    const f3 = f64x2.convert_low_i32x4_s(v128.shuffle<i32>(a1, a1, 2, 3, 2, 3));
    // RELU: + FADD; SIGNED: + copysign(2^30, x). The product and the sum are exact, so a
    // fused multiply-add (where relaxed_madd fuses) gives the same bits as two steps.
    const d0 = relu ? v128.load(fa) : v128.or(v128.and(f0, sign), nudge);
    const d1 = relu ? v128.load(fa, 16) : v128.or(v128.and(f1, sign), nudge);
    const d2 = relu ? v128.load(fa, 32) : v128.or(v128.and(f2, sign), nudge);
    const d3 = relu ? v128.load(fa, 48) : v128.or(v128.and(f3, sign), nudge);
    let w0: v128, w1: v128, w2: v128, w3: v128;
    if (ASC_FEATURE_RELAXED_SIMD) {
      w0 = f64x2.relaxed_madd(f0, m0, d0);
      w1 = f64x2.relaxed_madd(f1, m1, d1);
      w2 = f64x2.relaxed_madd(f2, m2, d2);
      w3 = f64x2.relaxed_madd(f3, m3, d3);
    } else {
      w0 = f64x2.add(f64x2.mul(f0, m0), d0);
      w1 = f64x2.add(f64x2.mul(f1, m1), d1);
      w2 = f64x2.add(f64x2.mul(f2, m2), d2);
      w3 = f64x2.add(f64x2.mul(f3, m3), d3);
    }
    if (!relu && adjust) {
      w0 = f64x2.add(w0, half);
      w1 = f64x2.add(w1, half);
      w2 = f64x2.add(w2, half);
      w3 = f64x2.add(w3, half);
    }
    let q0 = v128.shuffle<i32>(f64x2.add(w0, c0), f64x2.add(w1, c1), 0, 2, 4, 6);
    let q1 = v128.shuffle<i32>(f64x2.add(w2, c2), f64x2.add(w3, c3), 0, 2, 4, 6);
    if (relu) {
      q0 = i32x4.max_s(q0, vmin);
      q1 = i32x4.max_s(q1, vmin);
      if (clamp) {
        q0 = i32x4.min_s(q0, vmax);
        q1 = i32x4.min_s(q1, vmax);
      }
    } else if (clamp) {
      q0 = i32x4.min_s(i32x4.max_s(q0, vmin), vmax);
      q1 = i32x4.min_s(i32x4.max_s(q1, vmin), vmax);
    }
    narrowStore8(out + <usize>r * ldo, q0, q1, signed);
  }
}

/**
 * The float64 path over one full panel (columns n0 .. n0 + 7), in the variant FMODE
 * names; false when FMODE sends the panel to the int64 path. Not inlined: one copy of
 * its eight loops serves every driver.
 */
function epilogueFixedF64(t: usize, mr: i32, n0: i32, out: usize, ldo: i32, params: usize): bool {
  const mode = load<i32>(load<usize>(params, EP_FMODE) + ((<usize>n0) << 2));
  if (mode == 0) return false;
  const off8 = (<usize>n0) << 3;
  const bias = load<usize>(params, EP_BIAS);
  const b = bias != 0 ? bias + ((<usize>n0) << 2) : 0;
  const fm = load<usize>(params, EP_FMUL) + off8;
  const fa = load<usize>(params, EP_FADD) + off8;
  const fc = load<usize>(params, EP_FMAGIC) + off8;
  const vmin = i32x4.splat(load<i32>(params, EP_QMIN));
  const vmax = i32x4.splat(load<i32>(params, EP_QMAX));
  const signed = load<i32>(params, EP_SIGNED) != 0;
  const adjust = (mode & F64_ADJUST) != 0;
  const clamp = (mode & F64_CLAMP) != 0;
  if ((mode & F64_RELU) != 0) {
    if (adjust) {
      if (clamp) fixedF64Rows(t, mr, out, ldo, b, fm, fa, fc, true, true, true, vmin, vmax, signed);
      else fixedF64Rows(t, mr, out, ldo, b, fm, fa, fc, true, true, false, vmin, vmax, signed);
    } else {
      if (clamp) fixedF64Rows(t, mr, out, ldo, b, fm, fa, fc, true, false, true, vmin, vmax, signed);
      else fixedF64Rows(t, mr, out, ldo, b, fm, fa, fc, true, false, false, vmin, vmax, signed);
    }
  } else {
    if (adjust) {
      if (clamp) fixedF64Rows(t, mr, out, ldo, b, fm, fa, fc, false, true, true, vmin, vmax, signed);
      else fixedF64Rows(t, mr, out, ldo, b, fm, fa, fc, false, true, false, vmin, vmax, signed);
    } else {
      if (clamp) fixedF64Rows(t, mr, out, ldo, b, fm, fa, fc, false, false, true, vmin, vmax, signed);
      else fixedF64Rows(t, mr, out, ldo, b, fm, fa, fc, false, false, false, vmin, vmax, signed);
    }
  }
  return true;
}

/**
 * Fixed-point requantization (TFLite reference, double rounding; left shifts saturate).
 * Full panels take the float64 path where FMODE allows it, else the int64 one (lanes of
 * exact products); partial panels and the scalar build go one value at a time.
 */
@inline export function epilogueFixed(
  t: usize,
  mr: i32,
  nc: i32,
  n0: i32,
  out: usize,
  ldo: i32,
  params: usize,
): void {
  if (ASC_FEATURE_SIMD && nc == NR && epilogueFixedF64(t, mr, n0, out, ldo, params)) return;
  const bias = load<usize>(params, EP_BIAS);
  const off = (<usize>n0) << 2;
  const mult = load<usize>(params, EP_MULT) + off;
  const lmul = load<usize>(params, EP_LMUL) + off;
  const rshift = load<usize>(params, EP_RSHIFT) + off;
  const rmask = load<usize>(params, EP_RMASK) + off;
  const lfloor = load<usize>(params, EP_LFLOOR) + off;
  const zp = load<i32>(params, EP_ZP);
  const qmin = load<i32>(params, EP_QMIN);
  const qmax = load<i32>(params, EP_QMAX);
  const signed = load<i32>(params, EP_SIGNED) != 0;
  if (ASC_FEATURE_SIMD && nc == NR) {
    let b0 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    if (bias != 0) {
      b0 = v128.load(bias + off);
      b1 = v128.load(bias + off, 16);
    }
    const m0 = v128.load(mult);
    const m1 = v128.load(mult, 16);
    const l0 = v128.load(lmul);
    const l1 = v128.load(lmul, 16);
    const c0 = v128.load(lfloor);
    const c1 = v128.load(lfloor, 16);
    const k0 = v128.load(rmask);
    const k1 = v128.load(rmask, 16);
    const rpow = load<usize>(params, EP_RPOW) + off;
    const p0 = v128.load(rpow);
    const p1 = v128.load(rpow, 16);
    const keep0 = i32x4.eq(k0, i32x4.splat(0));
    const keep1 = i32x4.eq(k1, i32x4.splat(0));
    const left = load<i32>(params, EP_LEFT) != 0;
    const vz = i32x4.splat(zp);
    const vmin = i32x4.splat(qmin);
    const vmax = i32x4.splat(qmax);
    for (let r = 0; r < mr; r++) {
      const src = t + ((<usize>(r * NR)) << 2);
      let a0 = i32x4.add(v128.load(src), b0);
      let a1 = i32x4.add(v128.load(src, 16), b1);
      if (left) {
        a0 = i32x4.mul(saturateForLeftShift(a0, c0), l0);
        a1 = i32x4.mul(saturateForLeftShift(a1, c1), l1);
      }
      let i0 = i32x4.add(rdbpotVecPerLane(srdhmVec(a0, m0), k0, p0, keep0), vz);
      let i1 = i32x4.add(rdbpotVecPerLane(srdhmVec(a1, m1), k1, p1, keep1), vz);
      i0 = i32x4.min_s(i32x4.max_s(i0, vmin), vmax);
      i1 = i32x4.min_s(i32x4.max_s(i1, vmin), vmax);
      narrowStore8(out + <usize>r * ldo, i0, i1, signed);
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      const jo = (<usize>j) << 2;
      let acc = load<i32>(t + ((<usize>(r * NR + j)) << 2));
      if (bias != 0) acc += load<i32>(bias + off + jo);
      const lo = load<i32>(lfloor + jo);
      const x = min(max(acc, lo), ~lo) * load<i32>(lmul + jo);
      let y = rdbpotScalar(srdhmScalar(x, load<i32>(mult + jo)), load<i32>(rshift + jo)) + zp;
      y = min(max(y, qmin), qmax);
      storeByte(out + <usize>r * ldo + j, y);
    }
  }
}

/** Dequantizing epilogue (dynamic quantization): y = clamp(f32(acc) * (xScale * colScale[n]) + bias[n], lo, hi). */
@inline export function epilogueDequant(
  t: usize,
  mr: i32,
  nc: i32,
  n0: i32,
  out: usize,
  ldo: i32,
  params: usize,
): void {
  const bias = load<usize>(params, EP_BIAS);
  const off = (<usize>n0) << 2;
  const cs = load<usize>(params, EP_MULT) + off;
  const xs = load<f32>(params, EP_XSCALE);
  const lo = load<f32>(params, EP_DQLO);
  const hi = load<f32>(params, EP_DQHI);
  const rowBytes = (<usize>ldo) << 2;
  if (ASC_FEATURE_SIMD && nc == NR) {
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    if (bias != 0) {
      b0 = v128.load(bias + off);
      b1 = v128.load(bias + off, 16);
    }
    const s = f32x4.splat(xs);
    const c0 = f32x4.mul(s, v128.load(cs));
    const c1 = f32x4.mul(s, v128.load(cs, 16));
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    for (let r = 0; r < mr; r++) {
      const src = t + ((<usize>(r * NR)) << 2);
      const dst = out + <usize>r * rowBytes;
      // pmin / pmax: one instruction each, the same as min / max for these finite values
      const y0 = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.load(src)), c0), b0);
      const y1 = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.load(src, 16)), c1), b1);
      v128.store(dst, f32x4.pmax(f32x4.pmin(y0, vhi), vlo));
      v128.store(dst, f32x4.pmax(f32x4.pmin(y1, vhi), vlo), 16);
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      const jo = (<usize>j) << 2;
      let y = <f32>load<i32>(t + ((<usize>(r * NR + j)) << 2)) * (xs * load<f32>(cs + jo));
      if (bias != 0) y += load<f32>(bias + off + jo);
      store<f32>(out + <usize>r * rowBytes + jo, max(min(y, hi), lo));
    }
  }
}

/**
 * The residual add fused into a conv (RADD != 0 in its epilogue block `params`): `n`
 * finished output codes c at `out` and the residual codes r RDELTA bytes from them become
 * QLinearAdd(c, r) (RADD 1) or QLinearAdd(r, c) (RADD 2), written over c, by qadd_s8 itself
 * (assembly/elementwise.ts), so the sum is the separate add's bit for bit. The conv drivers
 * call it per block of whole output rows, once the block's last panel is written: the block
 * is still in L2 and the pass is contiguous and 16 codes wide (adding in the per-tile
 * epilogue, 8 strided codes per row, measured no faster than a separate addLayer).
 */
export function residualAddSpan(kind: i32, params: usize, out: usize, n: i32): void {
  if (kind != Epilogue.Fp32 && kind != Epilogue.Fixed) return;
  const mode = load<i32>(params, EP_RADD);
  if (mode == 0 || n <= 0) return;
  const r = out + <usize>load<i32>(params, EP_RDELTA);
  const signed = load<i32>(params, EP_SIGNED) != 0;
  const F = load<f32>(params, EP_RF);
  const Rc = load<f32>(params, EP_RC);
  const Rr = load<f32>(params, EP_RR);
  const lo = load<f32>(params, EP_RLO);
  const hi = load<f32>(params, EP_RHI);
  if (mode == 1) qadd_s8(out, 0, r, 0, n, 1, out, signed, F, Rc, Rr, lo, hi);
  else qadd_s8(r, 0, out, 0, n, 1, out, signed, F, Rr, Rc, lo, hi);
}

/**
 * The table fused after a requantizing conv (LOOKUP != 0 in its epilogue block `params`, a
 * pair table of lookup_pairs_build): `n` finished output codes at `out` go through it in
 * place. The conv drivers call it per block of whole output rows, after residualAddSpan,
 * while the block is still in cache, instead of one pass over the whole output afterwards.
 */
export function lookupSpan(kind: i32, params: usize, out: usize, n: i32): void {
  if (kind != Epilogue.Fp32 && kind != Epilogue.Fixed) return;
  const pairs = <usize>load<u32>(params, EP_LOOKUP);
  if (pairs == 0 || n <= 0) return;
  lookup_u8_pairs(out, n, n, 1, pairs, out, n);
}

/**
 * Runs epilogue `kind` on an mr x nc tile of int32 accumulators (rows NR apart). `out`
 * points at the tile's first output (byte offset already scaled by the output's element
 * size), `n0` is the tile's first column in the parameter block's per-column arrays.
 */
@inline export function epilogue(
  kind: i32,
  t: usize,
  mr: i32,
  nc: i32,
  n0: i32,
  out: usize,
  ldo: i32,
  params: usize,
): void {
  switch (kind) {
    case Epilogue.I32:
      epilogueI32(t, mr, nc, out, ldo);
      break;
    case Epilogue.Fp32:
      epilogueFp32(t, mr, nc, n0, out, ldo, params);
      break;
    case Epilogue.Fixed:
      epilogueFixed(t, mr, nc, n0, out, ldo, params);
      break;
    case Epilogue.Dequant:
      epilogueDequant(t, mr, nc, n0, out, ldo, params);
      break;
  }
}

/** Bytes per output element of an epilogue: int32 and float32 4, requantized int8 1. */
@inline export function outputBytes(kind: i32): usize {
  return kind == Epilogue.I32 || kind == Epilogue.Dequant ? 4 : 1;
}

/** Hard-swish, scaled and shifted, on four lanes: x * clamp(x + 3, 0, 6) * k + c (k the scale / 6). */
@inline export function hardSwishF32x4(v: v128, k: v128, c: v128): v128 {
  const t = f32x4.pmin(f32x4.pmax(f32x4.add(v, f32x4.splat(3)), f32x4.splat(0)), f32x4.splat(6));
  return f32x4.add(f32x4.mul(f32x4.mul(v, t), k), c);
}

/** hardSwishF32x4 on one float, the same operations in the same order. */
@inline export function hardSwishF32(v: f32, k: f32, c: f32): f32 {
  const t = min(max(v + 3, <f32>0), <f32>6);
  return v * t * k + c;
}

/** True when a conv parameter block (or 0: none) asks the float32 epilogue for hard-swish. */
@inline export function actHardSwish(act: usize): bool {
  return act != 0 && load<i32>(act + <usize>CP_ACT) == 1;
}

/**
 * The float32 baseline's epilogue: + bias (float32[N] or 0), clamp to [lo, hi], then the
 * hard-swish of a conv parameter block `act` (0: none; see actHardSwish), store an mr x nc
 * tile of float32 sums (rows NR apart). pmin / pmax: a NaN sum stays NaN (it is the first
 * operand), as min / max would leave it.
 */
@inline export function epilogueF32(
  t: usize,
  mr: i32,
  nc: i32,
  n0: i32,
  out: usize,
  ldo: i32,
  bias: usize,
  lo: f32,
  hi: f32,
  act: usize,
): void {
  const rowBytes = (<usize>ldo) << 2;
  const hs = actHardSwish(act);
  const k: f32 = hs ? load<f32>(act + <usize>CP_ACT_K) : 1;
  const c: f32 = hs ? load<f32>(act + <usize>CP_ACT_C) : 0;
  if (ASC_FEATURE_SIMD && nc == NR) {
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    if (bias != 0) {
      b0 = v128.load(bias + ((<usize>n0) << 2));
      b1 = v128.load(bias + ((<usize>n0) << 2), 16);
    }
    if (hs) {
      const vk = f32x4.splat(k);
      const vc = f32x4.splat(c);
      for (let r = 0; r < mr; r++) {
        const src = t + ((<usize>(r * NR)) << 2);
        const o = out + <usize>r * rowBytes;
        const y0 = f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(src), b0), vlo), vhi);
        const y1 = f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(src, 16), b1), vlo), vhi);
        v128.store(o, hardSwishF32x4(y0, vk, vc));
        v128.store(o, hardSwishF32x4(y1, vk, vc), 16);
      }
      return;
    }
    for (let r = 0; r < mr; r++) {
      const src = t + ((<usize>(r * NR)) << 2);
      const o = out + <usize>r * rowBytes;
      v128.store(o, f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(src), b0), vlo), vhi));
      v128.store(o, f32x4.pmin(f32x4.pmax(f32x4.add(v128.load(src, 16), b1), vlo), vhi), 16);
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      let v = load<f32>(t + ((<usize>(r * NR + j)) << 2));
      if (bias != 0) v += load<f32>(bias + ((<usize>(n0 + j)) << 2));
      v = min(max(v, lo), hi);
      if (hs) v = hardSwishF32(v, k, c);
      store<f32>(out + <usize>r * rowBytes + ((<usize>j) << 2), v);
    }
  }
}
