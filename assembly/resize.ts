// Resize (nearest, bilinear), NHWC with channels in SIMD lanes; int8 / uint8 and float32.
//
// src/ops/resize.ts turns the ONNX attributes (scales or sizes, coordinate transformation
// mode, nearest mode) into per-axis tables once, with onnxruntime's float32 coordinate
// arithmetic, so the kernels only gather:
//   nearest: rows[oh] = input row, cols[ow] = input column
//   linear:  rows[oh] = (row y1, row y2, dy1, dy2), cols[ow] = (col x1, col x2, dx1, dx2),
//            16 bytes each (two int32 indices, two float32 weights)
//
// Bilinear rounding (onnxruntime's NCHW UpsampleBilinear, the oracle): per output pixel
// the four float32 weights c11 = dx2 * dy2, c21 = dx1 * dy2, c12 = dx2 * dy1, c22 = dx1 * dy1,
// then y = ((c11 * x11 + c21 * x21) + c12 * x12) + c22 * x22 in float32 in that order, and
// int8 / uint8 outputs TRUNCATE toward zero (a C++ static_cast), not round: bilinear
// upsampling of quantized data is biased toward zero by up to one step, exactly as
// onnxruntime computes it. The value is a convex combination of the four inputs, so it
// never leaves the dtype's range and no clamp is needed. Float32 outputs keep y as is.
// Lane-wise IEEE operations in a fixed order: SIMD and scalar builds agree bit for bit.

/** Copies `bytes` bytes (a whole pixel) from `src` to `dst`, 16 at a time where it can. */
@inline function copyPixel(dst: usize, src: usize, bytes: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= bytes; i += 16) v128.store(dst + i, v128.load(src + i));
  }
  for (; i + 4 <= bytes; i += 4) store<u32>(dst + i, load<u32>(src + i));
  for (; i < bytes; i++) store<u8>(dst + i, load<u8>(src + i));
}

/**
 * Nearest resize of NHWC x [N, H, W, pixel bytes] into out [N, OH, OW, pixel bytes] (any
 * element type: only bytes move). An output row that reads the same input row as the
 * one before it is copied from that row whole.
 */
export function resize_nearest(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  pixBytes: i32,
  OH: i32,
  OW: i32,
  rows: usize,
  cols: usize,
  out: usize,
): void {
  const pb = <usize>pixBytes;
  const inRow = <usize>W * pb;
  const outRow = <usize>OW * pb;
  let dst = out;
  for (let n = 0; n < N; n++) {
    const img = x + <usize>n * <usize>H * inRow;
    let prev = -1;
    for (let oh = 0; oh < OH; oh++) {
      const ih = load<i32>(rows + ((<usize>oh) << 2));
      if (ih == prev) {
        memory.copy(dst, dst - outRow, outRow);
      } else {
        const src = img + <usize>ih * inRow;
        let d = dst;
        for (let ow = 0; ow < OW; ow++) {
          copyPixel(d, src + <usize>load<i32>(cols + ((<usize>ow) << 2)) * pb, pb);
          d += pb;
        }
        prev = ih;
      }
      dst += outRow;
    }
  }
}

@inline function widen4<T>(v: v128, g: i32): v128 {
  const signed = isSigned<T>();
  let h: v128;
  if (signed) h = g < 2 ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_high_i8x16_s(v);
  else h = g < 2 ? i16x8.extend_low_i8x16_u(v) : i16x8.extend_high_i8x16_u(v);
  return f32x4.convert_i32x4_s((g & 1) == 0 ? i32x4.extend_low_i16x8_s(h) : i32x4.extend_high_i16x8_s(h));
}

@inline function lerp4<T>(
  a: v128,
  b: v128,
  c: v128,
  d: v128,
  g: i32,
  c11: v128,
  c21: v128,
  c12: v128,
  c22: v128,
): v128 {
  let y = f32x4.add(f32x4.mul(c11, widen4<T>(a, g)), f32x4.mul(c21, widen4<T>(b, g)));
  y = f32x4.add(y, f32x4.mul(c12, widen4<T>(c, g)));
  y = f32x4.add(y, f32x4.mul(c22, widen4<T>(d, g)));
  return i32x4.trunc_sat_f32x4_s(y);
}

/** resize_linear_q8 for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function resize_linear_q8Of<T>(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  rows: usize,
  cols: usize,
  out: usize,
): void {
  const signed = isSigned<T>();
  const pix = <usize>C;
  const inRow = <usize>W * pix;
  const last = C >= 16 ? C - 16 : -1;
  let dst = out;
  for (let n = 0; n < N; n++) {
    const img = x + <usize>n * <usize>H * inRow;
    for (let oh = 0; oh < OH; oh++) {
      const ry = rows + ((<usize>oh) << 4);
      const r1 = img + <usize>load<i32>(ry) * inRow;
      const r2 = img + <usize>load<i32>(ry, 4) * inRow;
      const dy1 = load<f32>(ry, 8);
      const dy2 = load<f32>(ry, 12);
      for (let ow = 0; ow < OW; ow++) {
        const rx = cols + ((<usize>ow) << 4);
        const o1 = <usize>load<i32>(rx) * pix;
        const o2 = <usize>load<i32>(rx, 4) * pix;
        const dx1 = load<f32>(rx, 8);
        const dx2 = load<f32>(rx, 12);
        const f11 = dx2 * dy2;
        const f21 = dx1 * dy2;
        const f12 = dx2 * dy1;
        const f22 = dx1 * dy1;
        const p11 = r1 + o1;
        const p21 = r1 + o2;
        const p12 = r2 + o1;
        const p22 = r2 + o2;
        if (ASC_FEATURE_SIMD && last >= 0) {
          const c11 = f32x4.splat(f11);
          const c21 = f32x4.splat(f21);
          const c12 = f32x4.splat(f12);
          const c22 = f32x4.splat(f22);
          for (let c = 0; c <= last; c = c + 16 > last && c < last ? last : c + 16) {
            const a = v128.load(p11 + <usize>c);
            const b = v128.load(p21 + <usize>c);
            const e = v128.load(p12 + <usize>c);
            const f = v128.load(p22 + <usize>c);
            const q0 = lerp4<T>(a, b, e, f, 0, c11, c21, c12, c22);
            const q1 = lerp4<T>(a, b, e, f, 1, c11, c21, c12, c22);
            const q2 = lerp4<T>(a, b, e, f, 2, c11, c21, c12, c22);
            const q3 = lerp4<T>(a, b, e, f, 3, c11, c21, c12, c22);
            const h0 = i16x8.narrow_i32x4_s(q0, q1);
            const h1 = i16x8.narrow_i32x4_s(q2, q3);
            v128.store(dst + <usize>c, signed ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1));
          }
        } else {
          for (let c = 0; c < C; c++) {
            const o = <usize>c;
            const a: f32 = signed ? <f32>load<i8>(p11 + o) : <f32>load<u8>(p11 + o);
            const b: f32 = signed ? <f32>load<i8>(p21 + o) : <f32>load<u8>(p21 + o);
            const e: f32 = signed ? <f32>load<i8>(p12 + o) : <f32>load<u8>(p12 + o);
            const f: f32 = signed ? <f32>load<i8>(p22 + o) : <f32>load<u8>(p22 + o);
            const y: f32 = f11 * a + f21 * b + f12 * e + f22 * f;
            store<u8>(dst + o, <u8>(<i32>y));
          }
        }
        dst += pix;
      }
    }
  }
}

/** Bilinear resize of int8 (signed) or uint8 NHWC x [N, H, W, C] with the linear tables. */
export function resize_linear_q8(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  rows: usize,
  cols: usize,
  signed: bool,
  out: usize,
): void {
  if (signed) resize_linear_q8Of<i8>(x, N, H, W, C, OH, OW, rows, cols, out);
  else resize_linear_q8Of<u8>(x, N, H, W, C, OH, OW, rows, cols, out);
}

/** Bilinear resize of float32 NHWC x [N, H, W, C]: the same weights and order, no rounding. */
export function resize_linear_f32(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  rows: usize,
  cols: usize,
  out: usize,
): void {
  const pix = (<usize>C) << 2;
  const inRow = <usize>W * pix;
  const last = C >= 4 ? C - 4 : -1;
  let dst = out;
  for (let n = 0; n < N; n++) {
    const img = x + <usize>n * <usize>H * inRow;
    for (let oh = 0; oh < OH; oh++) {
      const ry = rows + ((<usize>oh) << 4);
      const r1 = img + <usize>load<i32>(ry) * inRow;
      const r2 = img + <usize>load<i32>(ry, 4) * inRow;
      const dy1 = load<f32>(ry, 8);
      const dy2 = load<f32>(ry, 12);
      for (let ow = 0; ow < OW; ow++) {
        const rx = cols + ((<usize>ow) << 4);
        const o1 = <usize>load<i32>(rx) * pix;
        const o2 = <usize>load<i32>(rx, 4) * pix;
        const dx1 = load<f32>(rx, 8);
        const dx2 = load<f32>(rx, 12);
        const f11 = dx2 * dy2;
        const f21 = dx1 * dy2;
        const f12 = dx2 * dy1;
        const f22 = dx1 * dy1;
        const p11 = r1 + o1;
        const p21 = r1 + o2;
        const p12 = r2 + o1;
        const p22 = r2 + o2;
        if (ASC_FEATURE_SIMD && last >= 0) {
          const c11 = f32x4.splat(f11);
          const c21 = f32x4.splat(f21);
          const c12 = f32x4.splat(f12);
          const c22 = f32x4.splat(f22);
          for (let c = 0; c <= last; c = c + 4 > last && c < last ? last : c + 4) {
            const o = (<usize>c) << 2;
            let y = f32x4.add(f32x4.mul(c11, v128.load(p11 + o)), f32x4.mul(c21, v128.load(p21 + o)));
            y = f32x4.add(y, f32x4.mul(c12, v128.load(p12 + o)));
            y = f32x4.add(y, f32x4.mul(c22, v128.load(p22 + o)));
            v128.store(dst + o, y);
          }
        } else {
          for (let c = 0; c < C; c++) {
            const o = (<usize>c) << 2;
            const y: f32 =
              f11 * load<f32>(p11 + o) + f21 * load<f32>(p21 + o) + f12 * load<f32>(p12 + o) + f22 * load<f32>(p22 + o);
            store<f32>(dst + o, y);
          }
        }
        dst += pix;
      }
    }
  }
}
