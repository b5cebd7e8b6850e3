// QuantizeLinear / DequantizeLinear kernels (ONNX semantics).
// quantize: q = clamp(roundHalfEven(x / scale) + zp, qmin, qmax); a true division, as
// onnxruntime does, not a multiply by the reciprocal. NaN -> zp, +-Inf saturate:
// f32 min/max propagate NaN and the saturating truncation maps NaN to 0.

@inline function quantizeOne(x: f32, scale: f32, lo: f32, hi: f32, zp: i32): i32 {
  return <i32>nearest<f32>(min<f32>(max<f32>(x / scale, lo), hi)) + zp;
}

/**
 * Four lanes of quantizeOne, bit for bit: NaN lanes become 0 (x == x is false there), the
 * clamp to [qmin - zp, qmax - zp] uses pmax / pmin (one instruction each; they take -Inf and
 * +Inf to the ends), and adding 1.5 * 2^23 rounds |f| <= 255 to an integer, ties to even, as
 * f32x4.nearest does: the sum's bits are 0x4B400000 + round(f), so subtracting
 * (0x4B400000 - zp) leaves round(f) + zp. About half the instructions of nearest +
 * trunc_sat, which x64 engines expand to about ten.
 */
@inline function quantizeVec(x: v128, vs: v128, vlo: v128, vhi: v128, magic: v128, magicZp: v128): v128 {
  let f = f32x4.div(x, vs);
  f = v128.and(f, f32x4.eq(f, f));
  f = f32x4.pmin(f32x4.pmax(f, vlo), vhi);
  return i32x4.sub(f32x4.add(f, magic), magicZp);
}

/** Quantizes n floats with one scale and zero point into int8 (signed) or uint8. */
export function quantize_f32(x: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32, out: usize): void {
  const lo = <f32>(qmin - zp);
  const hi = <f32>(qmax - zp);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(scale);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const magic = f32x4.splat(12582912.0); // 1.5 * 2^23
    const magicZp = i32x4.splat(0x4b400000 - zp);
    for (; i + 16 <= n; i += 16) {
      const p = x + ((<usize>i) << 2);
      const q0 = quantizeVec(v128.load(p), vs, vlo, vhi, magic, magicZp);
      const q1 = quantizeVec(v128.load(p, 16), vs, vlo, vhi, magic, magicZp);
      const q2 = quantizeVec(v128.load(p, 32), vs, vlo, vhi, magic, magicZp);
      const q3 = quantizeVec(v128.load(p, 48), vs, vlo, vhi, magic, magicZp);
      // values are already inside [qmin, qmax], so the saturating narrows only pack
      const h0 = i16x8.narrow_i32x4_s(q0, q1);
      const h1 = i16x8.narrow_i32x4_s(q2, q3);
      v128.store(out + i, qmin < 0 ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1));
    }
  }
  for (; i < n; i++) {
    store<u8>(out + i, <u8>quantizeOne(load<f32>(x + ((<usize>i) << 2)), scale, lo, hi, zp));
  }
}

/**
 * Rounds n floats to the grid of `scale` (QuantizeLinear then DequantizeLinear, zero point 0):
 * out = clamp(roundHalfEven(x / scale), lo, hi) * scale with lo and hi integers, NaN to 0.
 * Clamping before the rounding is the same as after it, the bounds being integers.
 */
export function quantize_dequantize_f32(x: usize, n: i32, scale: f32, lo: f32, hi: f32, out: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(scale);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      const p = (<usize>i) << 2;
      let f = f32x4.div(v128.load(x + p), vs);
      f = v128.and(f, f32x4.eq(f, f));
      f = f32x4.pmin(f32x4.pmax(f, vlo), vhi);
      v128.store(out + p, f32x4.mul(f32x4.nearest(f), vs));
    }
  }
  for (; i < n; i++) {
    const p = (<usize>i) << 2;
    let f = load<f32>(x + p) / scale;
    if (f != f) f = 0;
    f = min<f32>(max<f32>(f, lo), hi);
    store<f32>(out + p, nearest<f32>(f) * scale);
  }
}

/**
 * Per-axis quantization of x viewed as [outer, C, inner]: channel c uses scales[c] and
 * zps[c] (int32 array).
 */
export function quantize_axis_f32(
  x: usize,
  outer: i32,
  C: i32,
  inner: i32,
  scales: usize,
  zps: usize,
  qmin: i32,
  qmax: i32,
  out: usize,
): void {
  let off: usize = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      quantize_f32(
        x + (off << 2),
        inner,
        load<f32>(scales + ((<usize>c) << 2)),
        load<i32>(zps + ((<usize>c) << 2)),
        qmin,
        qmax,
        out + off,
      );
      off += <usize>inner;
    }
  }
}

/** dequantize for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function dequantizeOf<T>(q: usize, n: i32, scale: f32, zp: i32, out: usize): void {
  const signed = isSigned<T>();
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(scale);
    const vz = i16x8.splat(<i16>zp);
    for (; i + 8 <= n; i += 8) {
      const w = signed ? v128.load8x8_s(q + i) : v128.load8x8_u(q + i);
      const c = i16x8.sub(w, vz);
      const p = out + ((<usize>i) << 2);
      v128.store(p, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(c)), vs));
      v128.store(p, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(c)), vs), 16);
    }
  }
  for (; i < n; i++) {
    const v = signed ? <i32>load<i8>(q + i) : <i32>load<u8>(q + i);
    store<f32>(out + ((<usize>i) << 2), <f32>(v - zp) * scale);
  }
}

/** y = f32(q - zp) * scale for n values of int8 (signed) or uint8. */
export function dequantize(q: usize, n: i32, signed: bool, scale: f32, zp: i32, out: usize): void {
  if (signed) dequantizeOf<i8>(q, n, scale, zp, out);
  else dequantizeOf<u8>(q, n, scale, zp, out);
}

/** dequantize_axis for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function dequantize_axisOf<T>(q: usize, outer: i32, C: i32, inner: i32, scales: usize, zps: usize, out: usize): void {
  let off: usize = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      dequantizeOf<T>(
        q + off,
        inner,
        load<f32>(scales + ((<usize>c) << 2)),
        load<i32>(zps + ((<usize>c) << 2)),
        out + (off << 2),
      );
      off += <usize>inner;
    }
  }
}

/** Per-axis dequantization of q viewed as [outer, C, inner]. */
export function dequantize_axis(
  q: usize,
  outer: i32,
  C: i32,
  inner: i32,
  signed: bool,
  scales: usize,
  zps: usize,
  out: usize,
): void {
  if (signed) dequantize_axisOf<i8>(q, outer, C, inner, scales, zps, out);
  else dequantize_axisOf<u8>(q, outer, C, inner, scales, zps, out);
}

/** Writes min(x) and max(x) over n > 0 floats to out[0], out[1]; NaN values are skipped. */
export function minmax_f32(x: usize, n: i32, out: usize): void {
  let lo: f32 = Infinity;
  let hi: f32 = -Infinity;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    // pmin/pmax keep the first operand when the second is NaN, so NaN never wins; four
    // pairs of accumulators, as one pair waits on the latency of each min / max
    let vlo = f32x4.splat(Infinity);
    let vhi = f32x4.splat(-Infinity);
    let lo1 = vlo,
      lo2 = vlo,
      lo3 = vlo;
    let hi1 = vhi,
      hi2 = vhi,
      hi3 = vhi;
    for (; i + 16 <= n; i += 16) {
      const p = x + ((<usize>i) << 2);
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      const v2 = v128.load(p, 32);
      const v3 = v128.load(p, 48);
      vlo = f32x4.pmin(vlo, v0);
      vhi = f32x4.pmax(vhi, v0);
      lo1 = f32x4.pmin(lo1, v1);
      hi1 = f32x4.pmax(hi1, v1);
      lo2 = f32x4.pmin(lo2, v2);
      hi2 = f32x4.pmax(hi2, v2);
      lo3 = f32x4.pmin(lo3, v3);
      hi3 = f32x4.pmax(hi3, v3);
    }
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + ((<usize>i) << 2));
      vlo = f32x4.pmin(vlo, v);
      vhi = f32x4.pmax(vhi, v);
    }
    // the accumulators hold no NaN: plain min / max combine them
    vlo = f32x4.min(f32x4.min(vlo, lo1), f32x4.min(lo2, lo3));
    vhi = f32x4.max(f32x4.max(vhi, hi1), f32x4.max(hi2, hi3));
    for (let l = 0; l < 4; l++) {
      const a = f32x4.extract_lane(vlo, 0);
      const b = f32x4.extract_lane(vhi, 0);
      if (a < lo) lo = a;
      if (b > hi) hi = b;
      vlo = v128.shuffle<f32>(vlo, vlo, 1, 2, 3, 0);
      vhi = v128.shuffle<f32>(vhi, vhi, 1, 2, 3, 0);
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  store<f32>(out, lo);
  store<f32>(out, hi, 4);
}
