// Elementwise int8 / uint8 add and multiply with two input quantizations and one output
// quantization (onnxruntime's com.microsoft QLinearAdd / QLinearMul), and their float32
// twins. The TypeScript side resolves broadcasting into `rows` runs of `n` elements:
// run r reads a + r * aStride and b + r * bStride and writes out + r * n, so a stride of
// 0 repeats an operand per run (NHWC [N, H, W, C] by [1, 1, 1, C]). The `_s` kernels take
// one value of the broadcast operand `u` per run (NCHW [N, C, H, W] by [N, C, 1, 1], or
// a scalar with rows = 1).
//
// add: y = (F + a * Ra) + b * Rb, float32 in that order (onnxruntime's x86 order, without
//   fused multiply-add), with Ra = f32(aScale / yScale), Rb = f32(bScale / yScale) and the
//   zero points folded into F = f32(yZp - f32(f32(Ra * aZp) + f32(Rb * bZp))); a and b are
//   the raw codes. When one operand is constant along a run (the `_s` kernels) its term
//   goes first, P = F + u * Ru, then y = P + v * Rv, as onnxruntime's scalar kernel does.
// mul: y = f32(f32((a - aZp) * (b - bZp)) * M) + f32(yZp), M = f32(f32(aScale * bScale) / yScale);
//   the integer product is exact (|p| <= 255 * 255 < 2^24, so its float conversion is too).
// Both then clamp to [lo, hi] (the dtype's range, or [yZp, qmax] for a fused ReLU) and round
// half to even. The bounds are integers, so clamping before rounding equals saturating after.
//
// Rounding: after the clamp |y| <= 255, so y + 1.5 * 2^23 lies in [2^23, 2^24) where the
// float32 spacing is 1: the addition itself rounds half to even, and the integer is the
// low mantissa bits. This is f32x4.nearest + a saturating truncation in two cheap
// instructions (V8 lowers i32x4.trunc_sat_f32x4_s to a longer sequence).

const MAGIC: f32 = 12582912.0; // 1.5 * 2^23
const MAGIC_BITS: i32 = 0x4b400000;

// ---- SIMD helpers ----------------------------------------------------------------------

/** The 16 codes of a vector as four float32 vectors (raw values, sign-extended when signed). */
@inline function widenLoLo<T>(v: v128): v128 {
  const signed = isSigned<T>();
  const h = signed ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_low_i8x16_u(v);
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h));
}
@inline function widenLoHi<T>(v: v128): v128 {
  const signed = isSigned<T>();
  const h = signed ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_low_i8x16_u(v);
  return f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h));
}
@inline function widenHiLo<T>(v: v128): v128 {
  const signed = isSigned<T>();
  const h = signed ? i16x8.extend_high_i8x16_s(v) : i16x8.extend_high_i8x16_u(v);
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h));
}
@inline function widenHiHi<T>(v: v128): v128 {
  const signed = isSigned<T>();
  const h = signed ? i16x8.extend_high_i8x16_s(v) : i16x8.extend_high_i8x16_u(v);
  return f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h));
}

/**
 * Clamp to [lo, hi] (pmin / pmax: no NaN can reach here) and round half to even. Without
 * `clamp` the caller has proven |y| < 2^21 (so the rounding trick holds) and lets the
 * saturating narrows clamp the integers instead, then applies the lower bound as codes.
 */
@inline function roundClamped(y: v128, lo: v128, hi: v128, magic: v128, clamp: bool): v128 {
  const c = clamp ? f32x4.pmax(f32x4.pmin(y, hi), lo) : y;
  return i32x4.sub(f32x4.add(c, magic), i32x4.splat(MAGIC_BITS));
}

/** The lower bound (a fused ReLU's zero point) on 16 saturated codes. */
@inline function codeFloor<T>(v: v128, floor: v128): v128 {
  const signed = isSigned<T>();
  return signed ? i8x16.max_s(v, floor) : i8x16.max_u(v, floor);
}

/** True when every |y| < 2^21 for codes in [-128, 255]: the float clamp may then be skipped. */
@inline function addInRange(F: f32, Ra: f32, Rb: f32): bool {
  return Math.abs(<f64>F) + 256 * (Math.abs(<f64>Ra) + Math.abs(<f64>Rb)) < 2097152;
}

@inline function mulInRange(M: f32, zy: f32): bool {
  return 65536 * Math.abs(<f64>M) + Math.abs(<f64>zy) < 2097152;
}

/** Four int32 vectors (already inside the output range) narrowed to 16 codes. */
@inline function packCodes<T>(q0: v128, q1: v128, q2: v128, q3: v128): v128 {
  const signed = isSigned<T>();
  const h0 = i16x8.narrow_i32x4_s(q0, q1);
  const h1 = i16x8.narrow_i32x4_s(q2, q3);
  return signed ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1);
}

@inline function loadCode<T>(p: usize): i32 {
  const signed = isSigned<T>();
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

@inline function roundScalar(y: f32, lo: f32, hi: f32): i32 {
  return <i32>nearest<f32>(min<f32>(max<f32>(y, lo), hi));
}

// ---- add -------------------------------------------------------------------------------

@inline function addVec<T>(
  va: v128,
  vb: v128,
  vf: v128,
  vra: v128,
  vrb: v128,
  lo: v128,
  hi: v128,
  magic: v128,
  clamp: bool,
): v128 {
  const y0 = f32x4.add(f32x4.add(vf, f32x4.mul(widenLoLo<T>(va), vra)), f32x4.mul(widenLoLo<T>(vb), vrb));
  const y1 = f32x4.add(f32x4.add(vf, f32x4.mul(widenLoHi<T>(va), vra)), f32x4.mul(widenLoHi<T>(vb), vrb));
  const y2 = f32x4.add(f32x4.add(vf, f32x4.mul(widenHiLo<T>(va), vra)), f32x4.mul(widenHiLo<T>(vb), vrb));
  const y3 = f32x4.add(f32x4.add(vf, f32x4.mul(widenHiHi<T>(va), vra)), f32x4.mul(widenHiHi<T>(vb), vrb));
  return packCodes<T>(
    roundClamped(y0, lo, hi, magic, clamp),
    roundClamped(y1, lo, hi, magic, clamp),
    roundClamped(y2, lo, hi, magic, clamp),
    roundClamped(y3, lo, hi, magic, clamp),
  );
}

@inline function addScalarTail<T>(
  pa: usize,
  pb: usize,
  po: usize,
  i: i32,
  n: i32,
  F: f32,
  Ra: f32,
  Rb: f32,
  lo: f32,
  hi: f32,
): void {
  for (; i < n; i++) {
    const y = F + <f32>loadCode<T>(pa + i) * Ra + <f32>loadCode<T>(pb + i) * Rb;
    store<u8>(po + i, <u8>roundScalar(y, lo, hi));
  }
}

/** qadd_s8 for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function qadd_s8Of<T>(
  a: usize,
  aStride: i32,
  b: usize,
  bStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  F: f32,
  Ra: f32,
  Rb: f32,
  lo: f32,
  hi: f32,
): void {
  if (ASC_FEATURE_SIMD) {
    // the constants splatted once, outside the runs (short NHWC runs of C codes are common)
    const vf = f32x4.splat(F);
    const vra = f32x4.splat(Ra);
    const vrb = f32x4.splat(Rb);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const magic = f32x4.splat(MAGIC);
    const floor = i8x16.splat(<i8>(<i32>lo));
    if (addInRange(F, Ra, Rb)) {
      for (let r = 0; r < rows; r++) {
        const pa = a + <usize>r * <usize>aStride;
        const pb = b + <usize>r * <usize>bStride;
        const po = out + <usize>r * <usize>n;
        let i = 0;
        for (; i + 16 <= n; i += 16) {
          v128.store(
            po + i,
            codeFloor<T>(addVec<T>(v128.load(pa + i), v128.load(pb + i), vf, vra, vrb, vlo, vhi, magic, false), floor),
          );
        }
        if (i + 8 <= n) {
          const y = addVec<T>(v128.load64_zero(pa + i), v128.load64_zero(pb + i), vf, vra, vrb, vlo, vhi, magic, false);
          v128.store64_lane(po + i, codeFloor<T>(y, floor), 0);
          i += 8;
        }
        addScalarTail<T>(pa, pb, po, i, n, F, Ra, Rb, lo, hi);
      }
      return;
    }
    for (let r = 0; r < rows; r++) {
      const pa = a + <usize>r * <usize>aStride;
      const pb = b + <usize>r * <usize>bStride;
      const po = out + <usize>r * <usize>n;
      let i = 0;
      for (; i + 16 <= n; i += 16) {
        v128.store(po + i, addVec<T>(v128.load(pa + i), v128.load(pb + i), vf, vra, vrb, vlo, vhi, magic, true));
      }
      if (i + 8 <= n) {
        const y = addVec<T>(v128.load64_zero(pa + i), v128.load64_zero(pb + i), vf, vra, vrb, vlo, vhi, magic, true);
        v128.store64_lane(po + i, y, 0);
        i += 8;
      }
      addScalarTail<T>(pa, pb, po, i, n, F, Ra, Rb, lo, hi);
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    addScalarTail<T>(
      a + <usize>r * <usize>aStride,
      b + <usize>r * <usize>bStride,
      out + <usize>r * <usize>n,
      0,
      n,
      F,
      Ra,
      Rb,
      lo,
      hi,
    );
  }
}

/** y = (F + a * Ra) + b * Rb over `rows` runs of n codes (see the file comment). */
export function qadd_s8(
  a: usize,
  aStride: i32,
  b: usize,
  bStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  signed: bool,
  F: f32,
  Ra: f32,
  Rb: f32,
  lo: f32,
  hi: f32,
): void {
  if (signed) qadd_s8Of<i8>(a, aStride, b, bStride, n, rows, out, F, Ra, Rb, lo, hi);
  else qadd_s8Of<u8>(a, aStride, b, bStride, n, rows, out, F, Ra, Rb, lo, hi);
}

@inline function addScalarVec<T>(
  vv: v128,
  vp: v128,
  vr: v128,
  lo: v128,
  hi: v128,
  magic: v128,
  clamp: bool = true,
): v128 {
  const y0 = f32x4.add(vp, f32x4.mul(widenLoLo<T>(vv), vr));
  const y1 = f32x4.add(vp, f32x4.mul(widenLoHi<T>(vv), vr));
  const y2 = f32x4.add(vp, f32x4.mul(widenHiLo<T>(vv), vr));
  const y3 = f32x4.add(vp, f32x4.mul(widenHiHi<T>(vv), vr));
  return packCodes<T>(
    roundClamped(y0, lo, hi, magic, clamp),
    roundClamped(y1, lo, hi, magic, clamp),
    roundClamped(y2, lo, hi, magic, clamp),
    roundClamped(y3, lo, hi, magic, clamp),
  );
}

/** qadd_s8_s for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function qadd_s8_sOf<T>(
  v: usize,
  vStride: i32,
  u: usize,
  uStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  F: f32,
  Rv: f32,
  Ru: f32,
  lo: f32,
  hi: f32,
): void {
  if (ASC_FEATURE_SIMD) {
    const vr = f32x4.splat(Rv);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const magic = f32x4.splat(MAGIC);
    const floor = i8x16.splat(<i8>(<i32>lo));
    const fast = addInRange(F, Ru, Rv);
    for (let r = 0; r < rows; r++) {
      const pv = v + <usize>r * <usize>vStride;
      const po = out + <usize>r * <usize>n;
      const P: f32 = F + <f32>loadCode<T>(u + <usize>r * <usize>uStride) * Ru;
      const vp = f32x4.splat(P);
      let i = 0;
      if (fast) {
        for (; i + 16 <= n; i += 16) {
          v128.store(po + i, codeFloor<T>(addScalarVec<T>(v128.load(pv + i), vp, vr, vlo, vhi, magic, false), floor));
        }
      }
      for (; i + 16 <= n; i += 16) {
        v128.store(po + i, addScalarVec<T>(v128.load(pv + i), vp, vr, vlo, vhi, magic));
      }
      if (i + 8 <= n) {
        v128.store64_lane(po + i, addScalarVec<T>(v128.load64_zero(pv + i), vp, vr, vlo, vhi, magic), 0);
        i += 8;
      }
      for (; i < n; i++) {
        const y = P + <f32>loadCode<T>(pv + i) * Rv;
        store<u8>(po + i, <u8>roundScalar(y, lo, hi));
      }
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const pv = v + <usize>r * <usize>vStride;
    const po = out + <usize>r * <usize>n;
    const P: f32 = F + <f32>loadCode<T>(u + <usize>r * <usize>uStride) * Ru;
    for (let i = 0; i < n; i++) {
      const y = P + <f32>loadCode<T>(pv + i) * Rv;
      store<u8>(po + i, <u8>roundScalar(y, lo, hi));
    }
  }
}

/** y = (F + u * Ru) + v * Rv with one code u per run (u + r * uStride). */
export function qadd_s8_s(
  v: usize,
  vStride: i32,
  u: usize,
  uStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  signed: bool,
  F: f32,
  Rv: f32,
  Ru: f32,
  lo: f32,
  hi: f32,
): void {
  if (signed) qadd_s8_sOf<i8>(v, vStride, u, uStride, n, rows, out, F, Rv, Ru, lo, hi);
  else qadd_s8_sOf<u8>(v, vStride, u, uStride, n, rows, out, F, Rv, Ru, lo, hi);
}

// ---- mul -------------------------------------------------------------------------------

/** The 16 codes of a vector minus the zero point, as two int16 vectors (exact: |d| <= 255). */
@inline function centredLo<T>(v: v128, z: v128): v128 {
  const signed = isSigned<T>();
  return i16x8.sub(signed ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_low_i8x16_u(v), z);
}
@inline function centredHi<T>(v: v128, z: v128): v128 {
  const signed = isSigned<T>();
  return i16x8.sub(signed ? i16x8.extend_high_i8x16_s(v) : i16x8.extend_high_i8x16_u(v), z);
}

@inline function mulScale(p: v128, vm: v128, vz: v128, lo: v128, hi: v128, magic: v128, clamp: bool): v128 {
  return roundClamped(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(p), vm), vz), lo, hi, magic, clamp);
}

@inline function mulCentred<T>(
  al: v128,
  ah: v128,
  bl: v128,
  bh: v128,
  vm: v128,
  vz: v128,
  lo: v128,
  hi: v128,
  magic: v128,
  clamp: bool = true,
): v128 {
  const q0 = mulScale(i32x4.extmul_low_i16x8_s(al, bl), vm, vz, lo, hi, magic, clamp);
  const q1 = mulScale(i32x4.extmul_high_i16x8_s(al, bl), vm, vz, lo, hi, magic, clamp);
  const q2 = mulScale(i32x4.extmul_low_i16x8_s(ah, bh), vm, vz, lo, hi, magic, clamp);
  const q3 = mulScale(i32x4.extmul_high_i16x8_s(ah, bh), vm, vz, lo, hi, magic, clamp);
  return packCodes<T>(q0, q1, q2, q3);
}

@inline function mulScalarTail<T>(
  pa: usize,
  pb: usize,
  po: usize,
  i: i32,
  n: i32,
  za: i32,
  zb: i32,
  M: f32,
  zy: f32,
  lo: f32,
  hi: f32,
): void {
  for (; i < n; i++) {
    const p = (loadCode<T>(pa + i) - za) * (loadCode<T>(pb + i) - zb);
    store<u8>(po + i, <u8>roundScalar(<f32>p * M + zy, lo, hi));
  }
}

/** Quarter k (0-3) of the 16 codes of v minus the zero point, as float32 (exact: |d| <= 255). */
@inline function centredF32<T>(v: v128, z: v128, k: i32): v128 {
  const h = k < 2 ? centredLo<T>(v, z) : centredHi<T>(v, z);
  return f32x4.convert_i32x4_s((k & 1) == 0 ? i32x4.extend_low_i16x8_s(h) : i32x4.extend_high_i16x8_s(h));
}

/**
 * One column block of 16 codes (or 8 when `half`) over `rows` runs of a against b's codes,
 * constant across runs (bStride 0: a squeeze-excite gate [1, 1, 1, C] over NHWC rows). b's
 * centred codes become float32 once per block; per run f32(a - za) * f32(b - zb) is the exact
 * integer product (|p| <= 65025 < 2^24), so the result is qmul_s8's bit for bit, without b's
 * load, widening and the integer multiply in every run.
 */
@inline function mulColumn<T>(
  pa: usize,
  aStride: usize,
  pb: usize,
  po: usize,
  n: usize,
  rows: i32,
  half: bool,
  vza: v128,
  vzb: v128,
  vm: v128,
  vz: v128,
  vlo: v128,
  vhi: v128,
  magic: v128,
  floor: v128,
  fast: bool,
): void {
  const vb = half ? v128.load64_zero(pb) : v128.load(pb);
  const b0 = centredF32<T>(vb, vzb, 0);
  const b1 = centredF32<T>(vb, vzb, 1);
  const b2 = centredF32<T>(vb, vzb, 2);
  const b3 = centredF32<T>(vb, vzb, 3);
  for (let r = 0; r < rows; r++) {
    const va = half ? v128.load64_zero(pa) : v128.load(pa);
    const q0 = roundClamped(
      f32x4.add(f32x4.mul(f32x4.mul(centredF32<T>(va, vza, 0), b0), vm), vz),
      vlo,
      vhi,
      magic,
      !fast,
    );
    const q1 = roundClamped(
      f32x4.add(f32x4.mul(f32x4.mul(centredF32<T>(va, vza, 1), b1), vm), vz),
      vlo,
      vhi,
      magic,
      !fast,
    );
    let y: v128;
    if (half) {
      const h = i16x8.narrow_i32x4_s(q0, q1);
      y = isSigned<T>() ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h);
    } else {
      const q2 = roundClamped(
        f32x4.add(f32x4.mul(f32x4.mul(centredF32<T>(va, vza, 2), b2), vm), vz),
        vlo,
        vhi,
        magic,
        !fast,
      );
      const q3 = roundClamped(
        f32x4.add(f32x4.mul(f32x4.mul(centredF32<T>(va, vza, 3), b3), vm), vz),
        vlo,
        vhi,
        magic,
        !fast,
      );
      y = packCodes<T>(q0, q1, q2, q3);
    }
    if (fast) y = codeFloor<T>(y, floor);
    if (half) v128.store64_lane(po, y, 0);
    else v128.store(po, y);
    pa += aStride;
    po += n;
  }
}

/** qmul_s8 for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function qmul_s8Of<T>(
  a: usize,
  aStride: i32,
  b: usize,
  bStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  za: i32,
  zb: i32,
  M: f32,
  zy: f32,
  lo: f32,
  hi: f32,
): void {
  if (ASC_FEATURE_SIMD) {
    const vza = i16x8.splat(<i16>za);
    const vzb = i16x8.splat(<i16>zb);
    const vm = f32x4.splat(M);
    const vz = f32x4.splat(zy);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const magic = f32x4.splat(MAGIC);
    const floor = i8x16.splat(<i8>(<i32>lo));
    const fast = mulInRange(M, zy);
    if (bStride == 0 && rows > 1) {
      // b repeats in every run: column blocks outside, runs inside (see mulColumn)
      const on = <usize>n;
      const as = <usize>aStride;
      let i = 0;
      for (; i + 16 <= n; i += 16) {
        const pa = a + <usize>i,
          pb = b + <usize>i,
          po = out + <usize>i;
        if (fast) mulColumn<T>(pa, as, pb, po, on, rows, false, vza, vzb, vm, vz, vlo, vhi, magic, floor, true);
        else mulColumn<T>(pa, as, pb, po, on, rows, false, vza, vzb, vm, vz, vlo, vhi, magic, floor, false);
      }
      if (i + 8 <= n) {
        const pa = a + <usize>i,
          pb = b + <usize>i,
          po = out + <usize>i;
        if (fast) mulColumn<T>(pa, as, pb, po, on, rows, true, vza, vzb, vm, vz, vlo, vhi, magic, floor, true);
        else mulColumn<T>(pa, as, pb, po, on, rows, true, vza, vzb, vm, vz, vlo, vhi, magic, floor, false);
        i += 8;
      }
      if (i < n)
        for (let r = 0; r < rows; r++)
          mulScalarTail<T>(a + <usize>r * as, b, out + <usize>r * on, i, n, za, zb, M, zy, lo, hi);
      return;
    }
    for (let r = 0; r < rows; r++) {
      const pa = a + <usize>r * <usize>aStride;
      const pb = b + <usize>r * <usize>bStride;
      const po = out + <usize>r * <usize>n;
      let i = 0;
      if (fast) {
        for (; i + 16 <= n; i += 16) {
          const va = v128.load(pa + i);
          const vb = v128.load(pb + i);
          const y = mulCentred<T>(
            centredLo<T>(va, vza),
            centredHi<T>(va, vza),
            centredLo<T>(vb, vzb),
            centredHi<T>(vb, vzb),
            vm,
            vz,
            vlo,
            vhi,
            magic,
            false,
          );
          v128.store(po + i, codeFloor<T>(y, floor));
        }
      }
      for (; i + 16 <= n; i += 16) {
        const va = v128.load(pa + i);
        const vb = v128.load(pb + i);
        const y = mulCentred<T>(
          centredLo<T>(va, vza),
          centredHi<T>(va, vza),
          centredLo<T>(vb, vzb),
          centredHi<T>(vb, vzb),
          vm,
          vz,
          vlo,
          vhi,
          magic,
        );
        v128.store(po + i, y);
      }
      if (i + 8 <= n) {
        const va = v128.load64_zero(pa + i);
        const vb = v128.load64_zero(pb + i);
        const y = mulCentred<T>(
          centredLo<T>(va, vza),
          centredHi<T>(va, vza),
          centredLo<T>(vb, vzb),
          centredHi<T>(vb, vzb),
          vm,
          vz,
          vlo,
          vhi,
          magic,
        );
        v128.store64_lane(po + i, y, 0);
        i += 8;
      }
      mulScalarTail<T>(pa, pb, po, i, n, za, zb, M, zy, lo, hi);
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    mulScalarTail<T>(
      a + <usize>r * <usize>aStride,
      b + <usize>r * <usize>bStride,
      out + <usize>r * <usize>n,
      0,
      n,
      za,
      zb,
      M,
      zy,
      lo,
      hi,
    );
  }
}

/** y = f32(f32((a - za) * (b - zb)) * M) + zy over `rows` runs of n codes. */
export function qmul_s8(
  a: usize,
  aStride: i32,
  b: usize,
  bStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  signed: bool,
  za: i32,
  zb: i32,
  M: f32,
  zy: f32,
  lo: f32,
  hi: f32,
): void {
  // the product is symmetric: the operand that repeats across runs goes second
  if (aStride == 0 && bStride != 0) {
    if (signed) qmul_s8Of<i8>(b, bStride, a, aStride, n, rows, out, zb, za, M, zy, lo, hi);
    else qmul_s8Of<u8>(b, bStride, a, aStride, n, rows, out, zb, za, M, zy, lo, hi);
    return;
  }
  if (signed) qmul_s8Of<i8>(a, aStride, b, bStride, n, rows, out, za, zb, M, zy, lo, hi);
  else qmul_s8Of<u8>(a, aStride, b, bStride, n, rows, out, za, zb, M, zy, lo, hi);
}

/** qmul_s8_s for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function qmul_s8_sOf<T>(
  v: usize,
  vStride: i32,
  u: usize,
  uStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  zv: i32,
  zu: i32,
  M: f32,
  zy: f32,
  lo: f32,
  hi: f32,
): void {
  if (ASC_FEATURE_SIMD) {
    const vzv = i16x8.splat(<i16>zv);
    const vm = f32x4.splat(M);
    const vz = f32x4.splat(zy);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const magic = f32x4.splat(MAGIC);
    const floor = i8x16.splat(<i8>(<i32>lo));
    const fast = mulInRange(M, zy);
    for (let r = 0; r < rows; r++) {
      const pv = v + <usize>r * <usize>vStride;
      const po = out + <usize>r * <usize>n;
      const du = loadCode<T>(u + <usize>r * <usize>uStride) - zu;
      const vdu = i16x8.splat(<i16>du);
      let i = 0;
      if (fast) {
        for (; i + 16 <= n; i += 16) {
          const vv = v128.load(pv + i);
          const y = mulCentred<T>(
            centredLo<T>(vv, vzv),
            centredHi<T>(vv, vzv),
            vdu,
            vdu,
            vm,
            vz,
            vlo,
            vhi,
            magic,
            false,
          );
          v128.store(po + i, codeFloor<T>(y, floor));
        }
      }
      for (; i + 16 <= n; i += 16) {
        const vv = v128.load(pv + i);
        v128.store(
          po + i,
          mulCentred<T>(centredLo<T>(vv, vzv), centredHi<T>(vv, vzv), vdu, vdu, vm, vz, vlo, vhi, magic),
        );
      }
      if (i + 8 <= n) {
        const vv = v128.load64_zero(pv + i);
        v128.store64_lane(
          po + i,
          mulCentred<T>(centredLo<T>(vv, vzv), centredHi<T>(vv, vzv), vdu, vdu, vm, vz, vlo, vhi, magic),
          0,
        );
        i += 8;
      }
      for (; i < n; i++) {
        const p = (loadCode<T>(pv + i) - zv) * du;
        store<u8>(po + i, <u8>roundScalar(<f32>p * M + zy, lo, hi));
      }
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const pv = v + <usize>r * <usize>vStride;
    const po = out + <usize>r * <usize>n;
    const du = loadCode<T>(u + <usize>r * <usize>uStride) - zu;
    for (let i = 0; i < n; i++) {
      const p = (loadCode<T>(pv + i) - zv) * du;
      store<u8>(po + i, <u8>roundScalar(<f32>p * M + zy, lo, hi));
    }
  }
}

/** qmul_s8 with one code u per run (u + r * uStride). */
export function qmul_s8_s(
  v: usize,
  vStride: i32,
  u: usize,
  uStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  signed: bool,
  zv: i32,
  zu: i32,
  M: f32,
  zy: f32,
  lo: f32,
  hi: f32,
): void {
  if (signed) qmul_s8_sOf<i8>(v, vStride, u, uStride, n, rows, out, zv, zu, M, zy, lo, hi);
  else qmul_s8_sOf<u8>(v, vStride, u, uStride, n, rows, out, zv, zu, M, zy, lo, hi);
}

// ---- float32 twins ---------------------------------------------------------------------
// The same run structure over float32 elements: y = op(a, b), clamped to [lo, hi]
// (-Inf / +Inf, or 0 / +Inf for a fused ReLU). op 0 is add, 1 is mul.

@inline function opF32(op: i32, a: v128, b: v128): v128 {
  return op == 0 ? f32x4.add(a, b) : f32x4.mul(a, b);
}

/** Elementwise float32 add (op 0) or mul (op 1) over `rows` runs of n elements. */
export function binary_f32(
  op: i32,
  a: usize,
  aStride: i32,
  b: usize,
  bStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  lo: f32,
  hi: f32,
): void {
  for (let r = 0; r < rows; r++) {
    const pa = a + ((<usize>r * <usize>aStride) << 2);
    const pb = b + ((<usize>r * <usize>bStride) << 2);
    const po = out + ((<usize>r * <usize>n) << 2);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vlo = f32x4.splat(lo);
      const vhi = f32x4.splat(hi);
      for (; i + 8 <= n; i += 8) {
        const o = (<usize>i) << 2;
        v128.store(po + o, f32x4.pmax(f32x4.pmin(opF32(op, v128.load(pa + o), v128.load(pb + o)), vhi), vlo));
        v128.store(
          po + o,
          f32x4.pmax(f32x4.pmin(opF32(op, v128.load(pa + o, 16), v128.load(pb + o, 16)), vhi), vlo),
          16,
        );
      }
    }
    for (; i < n; i++) {
      const o = (<usize>i) << 2;
      const x = load<f32>(pa + o);
      const y = load<f32>(pb + o);
      const z: f32 = op == 0 ? x + y : x * y;
      store<f32>(po + o, z < lo ? lo : z > hi ? hi : z);
    }
  }
}

/** binary_f32 with one value u per run (u + r * uStride), v the full operand. */
export function binary_f32_s(
  op: i32,
  v: usize,
  vStride: i32,
  u: usize,
  uStride: i32,
  n: i32,
  rows: i32,
  out: usize,
  lo: f32,
  hi: f32,
): void {
  for (let r = 0; r < rows; r++) {
    const pv = v + ((<usize>r * <usize>vStride) << 2);
    const po = out + ((<usize>r * <usize>n) << 2);
    const s = load<f32>(u + ((<usize>r * <usize>uStride) << 2));
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      const vlo = f32x4.splat(lo);
      const vhi = f32x4.splat(hi);
      for (; i + 8 <= n; i += 8) {
        const o = (<usize>i) << 2;
        v128.store(po + o, f32x4.pmax(f32x4.pmin(opF32(op, v128.load(pv + o), vs), vhi), vlo));
        v128.store(po + o, f32x4.pmax(f32x4.pmin(opF32(op, v128.load(pv + o, 16), vs), vhi), vlo), 16);
      }
    }
    for (; i < n; i++) {
      const o = (<usize>i) << 2;
      const x = load<f32>(pv + o);
      const z: f32 = op == 0 ? x + s : x * s;
      store<f32>(po + o, z < lo ? lo : z > hi ? hi : z);
    }
  }
}
