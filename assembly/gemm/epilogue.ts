// GEMM epilogues: each turns an MR x NR int32 tile (row-major, NR = 8) into output.
// Parameter block (written once per layer by src/, 4-byte fields):
//   0 bias      int32[Np] or 0        (Dequant: float32[Np] or 0)
//   4 mult      fp32: float32[Np]; fixed: int32[Np] multipliers; dequant: float32[Np] column scales
//   8 lmul      fixed: int32[Np], 1 << leftShift
//  12 rshift    fixed: int32[Np], right shift
//  16 rmask     fixed: int32[Np], (1 << rshift) - 1
//  20 zp        output zero point
//  24 qmin      lowest output value (after activation clamp)
//  28 qmax      highest output value
//  32 signed    1: int8 output, 0: uint8
//  36 xScale    Dequant: float32 input scale (dynamic quantization, per call)
// Arrays are padded to a whole number of NR panels, so an 8-wide load never leaves them.
import { NR } from './ukernels.generated';
import { srdhmScalar, rdbpotScalar, srdhmVec, rdbpotVecPerLane } from '../requant';

export enum Epilogue {
  I32 = 0,
  Fp32 = 1,
  Fixed = 2,
  Dequant = 3,
}

/** Stores the int32 tile as is (matMulInteger, convInteger). */
@inline export function epilogueI32(t: usize, mr: i32, nc: i32, out: usize, ldo: i32): void {
  const rowBytes = <usize>ldo << 2;
  for (let r = 0; r < mr; r++) {
    const src = t + (<usize>(r * NR) << 2);
    const dst = out + <usize>r * rowBytes;
    if (ASC_FEATURE_SIMD && nc == NR) {
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
    } else {
      for (let j = 0; j < nc; j++) store<i32>(dst + (<usize>j << 2), load<i32>(src + (<usize>j << 2)));
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

/** fp32 requantization: y = clamp(nearest(f32(acc + bias) * mult) + zp, qmin, qmax). */
@inline export function epilogueFp32(t: usize, mr: i32, nc: i32, n0: i32, out: usize, ldo: i32, params: usize): void {
  const bias = load<usize>(params, 0);
  const mult = load<usize>(params, 4) + (<usize>n0 << 2);
  const zp = load<i32>(params, 20);
  const qmin = load<i32>(params, 24);
  const qmax = load<i32>(params, 28);
  const signed = load<i32>(params, 32) != 0;
  if (ASC_FEATURE_SIMD && nc == NR) {
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
    const vz = i32x4.splat(zp);
    for (let r = 0; r < mr; r++) {
      const src = t + (<usize>(r * NR) << 2);
      let f0 = f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(v128.load(src), b0)), m0);
      let f1 = f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(v128.load(src, 16), b1)), m1);
      f0 = f32x4.nearest(f32x4.min(f32x4.max(f0, lo), hi));
      f1 = f32x4.nearest(f32x4.min(f32x4.max(f1, lo), hi));
      const i0 = i32x4.add(i32x4.trunc_sat_f32x4_s(f0), vz);
      const i1 = i32x4.add(i32x4.trunc_sat_f32x4_s(f1), vz);
      narrowStore8(out + <usize>r * ldo, i0, i1, signed);
    }
    return;
  }
  const lo = <f32>(qmin - zp);
  const hi = <f32>(qmax - zp);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      let acc = load<i32>(t + (<usize>(r * NR + j) << 2));
      if (bias != 0) acc += load<i32>(bias + (<usize>(n0 + j) << 2));
      let f = <f32>acc * load<f32>(mult + (<usize>j << 2));
      f = nearest<f32>(min<f32>(max<f32>(f, lo), hi));
      storeByte(out + <usize>r * ldo + j, <i32>f + zp);
    }
  }
}

/** Fixed-point requantization (TFLite reference, double rounding). */
@inline export function epilogueFixed(t: usize, mr: i32, nc: i32, n0: i32, out: usize, ldo: i32, params: usize): void {
  const bias = load<usize>(params, 0);
  const off = <usize>n0 << 2;
  const mult = load<usize>(params, 4) + off;
  const lmul = load<usize>(params, 8) + off;
  const rshift = load<usize>(params, 12) + off;
  const rmask = load<usize>(params, 16) + off;
  const zp = load<i32>(params, 20);
  const qmin = load<i32>(params, 24);
  const qmax = load<i32>(params, 28);
  const signed = load<i32>(params, 32) != 0;
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
    const s0 = v128.load(rshift);
    const s1 = v128.load(rshift, 16);
    const k0 = v128.load(rmask);
    const k1 = v128.load(rmask, 16);
    const vz = i32x4.splat(zp);
    const vmin = i32x4.splat(qmin);
    const vmax = i32x4.splat(qmax);
    for (let r = 0; r < mr; r++) {
      const src = t + (<usize>(r * NR) << 2);
      const a0 = i32x4.mul(i32x4.add(v128.load(src), b0), l0);
      const a1 = i32x4.mul(i32x4.add(v128.load(src, 16), b1), l1);
      let i0 = i32x4.add(rdbpotVecPerLane(srdhmVec(a0, m0), s0, k0), vz);
      let i1 = i32x4.add(rdbpotVecPerLane(srdhmVec(a1, m1), s1, k1), vz);
      i0 = i32x4.min_s(i32x4.max_s(i0, vmin), vmax);
      i1 = i32x4.min_s(i32x4.max_s(i1, vmin), vmax);
      narrowStore8(out + <usize>r * ldo, i0, i1, signed);
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      const jo = <usize>j << 2;
      let acc = load<i32>(t + (<usize>(r * NR + j) << 2));
      if (bias != 0) acc += load<i32>(bias + off + jo);
      const x = acc * load<i32>(lmul + jo);
      let y = rdbpotScalar(srdhmScalar(x, load<i32>(mult + jo)), load<i32>(rshift + jo)) + zp;
      y = min(max(y, qmin), qmax);
      storeByte(out + <usize>r * ldo + j, y);
    }
  }
}

/** Dequantizing epilogue (dynamic quantization): y = f32(acc) * (xScale * colScale[n]) + bias[n]. */
@inline export function epilogueDequant(t: usize, mr: i32, nc: i32, n0: i32, out: usize, ldo: i32, params: usize): void {
  const bias = load<usize>(params, 0);
  const off = <usize>n0 << 2;
  const cs = load<usize>(params, 4) + off;
  const xs = load<f32>(params, 36);
  const rowBytes = <usize>ldo << 2;
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
    for (let r = 0; r < mr; r++) {
      const src = t + (<usize>(r * NR) << 2);
      const dst = out + <usize>r * rowBytes;
      v128.store(dst, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.load(src)), c0), b0));
      v128.store(dst, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.load(src, 16)), c1), b1), 16);
    }
    return;
  }
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nc; j++) {
      const jo = <usize>j << 2;
      let y = <f32>load<i32>(t + (<usize>(r * NR + j) << 2)) * (xs * load<f32>(cs + jo));
      if (bias != 0) y += load<f32>(bias + off + jo);
      store<f32>(out + <usize>r * rowBytes + jo, y);
    }
  }
}
