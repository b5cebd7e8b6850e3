// Quantization error sums for large tensors: one pass over x and its reconstruction
// xHat, accumulating in float64. Every product of two float32 values is exact in
// float64 (24 + 24 significant bits fit in 53), so the only rounding is in the running
// sums, which keeps SQNR and cosine meaningful over 10^7 and more elements, where a
// float32 accumulator would have lost the small terms.
//
// out (float64[6], added to, so the caller can feed a long tensor in chunks):
//   0 sum (x - xHat)^2     1 sum |x - xHat|     2 max |x - xHat|
//   3 sum x^2              4 sum xHat^2         5 sum x * xHat
// NaN anywhere propagates into the sums and the max (f64x2.max and Math.max both do).

@inline function lowHalf(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

@inline function highHalf(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
}

/** Adds the error sums of n float32 pairs (x, xHat) into out (see the layout above). */
export function quant_error_f32(x: usize, xHat: usize, n: i32, out: usize): void {
  let see: f64 = 0;
  let sae: f64 = 0;
  let mae: f64 = load<f64>(out, 16);
  let sxx: f64 = 0;
  let syy: f64 = 0;
  let sxy: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    // two independent accumulators per sum (low and high lane pairs)
    let ee0 = f64x2.splat(0),
      ee1 = f64x2.splat(0);
    let ae0 = f64x2.splat(0),
      ae1 = f64x2.splat(0);
    let xx0 = f64x2.splat(0),
      xx1 = f64x2.splat(0);
    let yy0 = f64x2.splat(0),
      yy1 = f64x2.splat(0);
    let xy0 = f64x2.splat(0),
      xy1 = f64x2.splat(0);
    let mx = f64x2.splat(mae);
    for (; i + 4 <= n; i += 4) {
      const o = (<usize>i) << 2;
      const vx = v128.load(x + o);
      const vy = v128.load(xHat + o);
      const x0 = lowHalf(vx);
      const x1 = highHalf(vx);
      const y0 = lowHalf(vy);
      const y1 = highHalf(vy);
      const e0 = f64x2.sub(x0, y0);
      const e1 = f64x2.sub(x1, y1);
      const a0 = f64x2.abs(e0);
      const a1 = f64x2.abs(e1);
      ee0 = f64x2.add(ee0, f64x2.mul(e0, e0));
      ee1 = f64x2.add(ee1, f64x2.mul(e1, e1));
      ae0 = f64x2.add(ae0, a0);
      ae1 = f64x2.add(ae1, a1);
      mx = f64x2.max(mx, f64x2.max(a0, a1));
      xx0 = f64x2.add(xx0, f64x2.mul(x0, x0));
      xx1 = f64x2.add(xx1, f64x2.mul(x1, x1));
      yy0 = f64x2.add(yy0, f64x2.mul(y0, y0));
      yy1 = f64x2.add(yy1, f64x2.mul(y1, y1));
      xy0 = f64x2.add(xy0, f64x2.mul(x0, y0));
      xy1 = f64x2.add(xy1, f64x2.mul(x1, y1));
    }
    const ee = f64x2.add(ee0, ee1);
    const ae = f64x2.add(ae0, ae1);
    const xx = f64x2.add(xx0, xx1);
    const yy = f64x2.add(yy0, yy1);
    const xy = f64x2.add(xy0, xy1);
    see = f64x2.extract_lane(ee, 0) + f64x2.extract_lane(ee, 1);
    sae = f64x2.extract_lane(ae, 0) + f64x2.extract_lane(ae, 1);
    sxx = f64x2.extract_lane(xx, 0) + f64x2.extract_lane(xx, 1);
    syy = f64x2.extract_lane(yy, 0) + f64x2.extract_lane(yy, 1);
    sxy = f64x2.extract_lane(xy, 0) + f64x2.extract_lane(xy, 1);
    const m0 = f64x2.extract_lane(mx, 0);
    const m1 = f64x2.extract_lane(mx, 1);
    // propagate NaN like f64x2.max would
    mae = m0 != m0 || m1 != m1 ? NaN : max(m0, m1);
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const a = <f64>load<f32>(x + o);
    const b = <f64>load<f32>(xHat + o);
    const e = a - b;
    const ae = abs(e);
    see += e * e;
    sae += ae;
    mae = ae != ae || mae != mae ? NaN : max(mae, ae);
    sxx += a * a;
    syy += b * b;
    sxy += a * b;
  }
  store<f64>(out, load<f64>(out, 0) + see, 0);
  store<f64>(out, load<f64>(out, 8) + sae, 8);
  store<f64>(out, mae, 16);
  store<f64>(out, load<f64>(out, 24) + sxx, 24);
  store<f64>(out, load<f64>(out, 32) + syy, 32);
  store<f64>(out, load<f64>(out, 40) + sxy, 40);
}
