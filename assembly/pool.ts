// Pooling, NHWC with channels in SIMD lanes: max, average and global average, int8 /
// uint8 and the float32 baseline.
//
// src/ops/pool.ts resolves every attribute (kernel, strides, pads, dilations, ceil_mode,
// count_include_pad) into two window tables, one entry per output row and per output
// column, so the kernels hold no geometry rules and no bounds checks:
//   rows[3 * oh]     first input row the window reads (inside the image)
//   rows[3 * oh + 1] input rows it reads (dilation dH apart)
//   rows[3 * oh + 2] the row factor of the averaging count
// and the same for columns. A window's count is rowFactor * colFactor: the clipped taps
// (count_include_pad = 0), the kernel size (QLinearAveragePool with count_include_pad = 1)
// or the taps inside the padded extent (float AveragePool), whichever src/ chose.
//
// Arithmetic (onnxruntime's, so its kernels are the oracle):
// - max: exact; padding never wins (a window reads only input taps).
// - QLinearAveragePool: each tap dequantized in float32, xScale * f32(x - xZp), summed in
//   float32 in row-major tap order (h outer, w inner) from 0, divided by f32(count); then
//   y = roundHalfEven(f32(sum / count / yScale) + yZp), clamped. The float additions are
//   lane-wise IEEE operations in a fixed order, so SIMD and scalar builds agree bit for bit.
// - QLinearGlobalAveragePool (also QLinearAveragePool when the kernel covers the unpadded
//   image): exact int32 sum - xZp * HW, then the fp32 requantization of requant.ts with
//   m = xScale / (yScale * f32(HW)) (MLAS's x86 rule).
// Tails: with C >= 16 (4 for float32) the last SIMD block is moved back to end at C; it
// recomputes a few channels with the same result. Narrower maps take the scalar loop.

@inline function isSimd(): bool {
  return ASC_FEATURE_SIMD;
}

/** The start of the last whole SIMD block of `lanes` channels, or -1 when C < lanes. */
@inline function lastBlock(C: i32, lanes: i32): i32 {
  return C >= lanes ? C - lanes : -1;
}

@inline function maxLanes<T>(a: v128, b: v128): v128 {
  const signed = isSigned<T>();
  return signed ? i8x16.max_s(a, b) : i8x16.max_u(a, b);
}

/** pool_max_q8 for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function pool_max_q8Of<T>(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  rows: usize,
  cols: usize,
  dH: i32,
  dW: i32,
  out: usize,
): void {
  const signed = isSigned<T>();
  const rowStep = <usize>dH * <usize>W * <usize>C;
  const colStep = <usize>dW * <usize>C;
  const init: i32 = signed ? -128 : 0;
  const last = lastBlock(C, 16);
  let dst = out;
  for (let n = 0; n < N; n++) {
    const img = x + <usize>n * <usize>H * <usize>W * <usize>C;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = load<i32>(rows + <usize>oh * 12);
      const nh = load<i32>(rows + <usize>oh * 12, 4);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = load<i32>(cols + <usize>ow * 12);
        const nw = load<i32>(cols + <usize>ow * 12, 4);
        const base = img + (<usize>h0 * <usize>W + <usize>w0) * <usize>C;
        if (isSimd() && last >= 0) {
          for (let c = 0; c <= last; c = c + 16 > last && c < last ? last : c + 16) {
            let acc = i8x16.splat(<i8>init);
            let r = base + <usize>c;
            for (let i = 0; i < nh; i++) {
              let p = r;
              for (let j = 0; j < nw; j++) {
                acc = maxLanes<T>(acc, v128.load(p));
                p += colStep;
              }
              r += rowStep;
            }
            v128.store(dst + <usize>c, acc);
          }
        } else {
          for (let c = 0; c < C; c++) {
            let acc = init;
            let r = base + <usize>c;
            for (let i = 0; i < nh; i++) {
              let p = r;
              for (let j = 0; j < nw; j++) {
                const v: i32 = signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
                acc = max(acc, v);
                p += colStep;
              }
              r += rowStep;
            }
            store<u8>(dst + <usize>c, <u8>acc);
          }
        }
        dst += <usize>C;
      }
    }
  }
}

/**
 * Max pool of int8 (signed) or uint8 NHWC x [N, H, W, C] into out [N, OH, OW, C] with the
 * window tables `rows` / `cols` (3 int32 per entry) and dilations dH, dW.
 */
export function pool_max_q8(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  rows: usize,
  cols: usize,
  dH: i32,
  dW: i32,
  signed: bool,
  out: usize,
): void {
  if (signed) pool_max_q8Of<i8>(x, N, H, W, C, OH, OW, rows, cols, dH, dW, out);
  else pool_max_q8Of<u8>(x, N, H, W, C, OH, OW, rows, cols, dH, dW, out);
}

/** The float32 max pool: windows as pool_max_q8; a window's maximum starts at -Infinity. */
export function pool_max_f32(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  rows: usize,
  cols: usize,
  dH: i32,
  dW: i32,
  out: usize,
): void {
  const rowStep = (<usize>dH * <usize>W * <usize>C) << 2;
  const colStep = (<usize>dW * <usize>C) << 2;
  const last = lastBlock(C, 4);
  let dst = out;
  for (let n = 0; n < N; n++) {
    const img = x + ((<usize>n * <usize>H * <usize>W * <usize>C) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const h0 = load<i32>(rows + <usize>oh * 12);
      const nh = load<i32>(rows + <usize>oh * 12, 4);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = load<i32>(cols + <usize>ow * 12);
        const nw = load<i32>(cols + <usize>ow * 12, 4);
        const base = img + (((<usize>h0 * <usize>W + <usize>w0) * <usize>C) << 2);
        if (isSimd() && last >= 0) {
          for (let c = 0; c <= last; c = c + 4 > last && c < last ? last : c + 4) {
            let acc = f32x4.splat(-Infinity);
            let r = base + ((<usize>c) << 2);
            for (let i = 0; i < nh; i++) {
              let p = r;
              for (let j = 0; j < nw; j++) {
                acc = f32x4.pmax(acc, v128.load(p));
                p += colStep;
              }
              r += rowStep;
            }
            v128.store(dst + ((<usize>c) << 2), acc);
          }
        } else {
          for (let c = 0; c < C; c++) {
            let acc: f32 = -Infinity;
            let r = base + ((<usize>c) << 2);
            for (let i = 0; i < nh; i++) {
              let p = r;
              for (let j = 0; j < nw; j++) {
                const v = load<f32>(p);
                // pmax's rule, so both builds agree: the tap wins only when it is larger
                acc = acc < v ? v : acc;
                p += colStep;
              }
              r += rowStep;
            }
            store<f32>(dst + ((<usize>c) << 2), acc);
          }
        }
        dst += (<usize>C) << 2;
      }
    }
  }
}

/** Four lanes of x * f32(q - zp) for 16 bytes at `p`, group g (0..3) of the vector. */
@inline function dequant4<T>(v: v128, g: i32, zp: v128, scale: v128): v128 {
  const signed = isSigned<T>();
  let h: v128;
  if (signed) h = g < 2 ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_high_i8x16_s(v);
  else h = g < 2 ? i16x8.extend_low_i8x16_u(v) : i16x8.extend_high_i8x16_u(v);
  const w = (g & 1) == 0 ? i32x4.extend_low_i16x8_s(h) : i32x4.extend_high_i16x8_s(h);
  return f32x4.mul(scale, f32x4.convert_i32x4_s(i32x4.sub(w, zp)));
}

/** roundHalfEven(f32(avg / yScale) + yZp) clamped to [qmin, qmax], as int32 lanes. */
@inline function quantizeAverage(sum: v128, count: v128, yScale: v128, yZp: v128, lo: v128, hi: v128): v128 {
  const q = f32x4.add(f32x4.div(f32x4.div(sum, count), yScale), yZp);
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.pmin(f32x4.pmax(q, lo), hi)));
}

/** pool_avg_q8 for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function pool_avg_q8Of<T>(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  OH: i32,
  OW: i32,
  rows: usize,
  cols: usize,
  xScale: f32,
  xZp: i32,
  yScale: f32,
  yZp: i32,
  qmin: i32,
  qmax: i32,
  out: usize,
): void {
  const signed = isSigned<T>();
  const rowStep = <usize>W * <usize>C;
  const last = lastBlock(C, 16);
  const fzp = <f32>yZp;
  const flo = <f32>qmin;
  const fhi = <f32>qmax;
  let dst = out;
  for (let n = 0; n < N; n++) {
    const img = x + <usize>n * <usize>H * <usize>W * <usize>C;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = load<i32>(rows + <usize>oh * 12);
      const nh = load<i32>(rows + <usize>oh * 12, 4);
      const ch = load<i32>(rows + <usize>oh * 12, 8);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = load<i32>(cols + <usize>ow * 12);
        const nw = load<i32>(cols + <usize>ow * 12, 4);
        const count = <f32>(ch * load<i32>(cols + <usize>ow * 12, 8));
        const base = img + (<usize>h0 * <usize>W + <usize>w0) * <usize>C;
        if (isSimd() && last >= 0) {
          const vzx = i32x4.splat(xZp);
          const vxs = f32x4.splat(xScale);
          const vcount = f32x4.splat(count);
          const vys = f32x4.splat(yScale);
          const vzp = f32x4.splat(fzp);
          const vlo = f32x4.splat(flo);
          const vhi = f32x4.splat(fhi);
          for (let c = 0; c <= last; c = c + 16 > last && c < last ? last : c + 16) {
            let s0 = f32x4.splat(0);
            let s1 = f32x4.splat(0);
            let s2 = f32x4.splat(0);
            let s3 = f32x4.splat(0);
            let r = base + <usize>c;
            for (let i = 0; i < nh; i++) {
              let p = r;
              for (let j = 0; j < nw; j++) {
                const v = v128.load(p);
                s0 = f32x4.add(s0, dequant4<T>(v, 0, vzx, vxs));
                s1 = f32x4.add(s1, dequant4<T>(v, 1, vzx, vxs));
                s2 = f32x4.add(s2, dequant4<T>(v, 2, vzx, vxs));
                s3 = f32x4.add(s3, dequant4<T>(v, 3, vzx, vxs));
                p += <usize>C;
              }
              r += rowStep;
            }
            const q0 = quantizeAverage(s0, vcount, vys, vzp, vlo, vhi);
            const q1 = quantizeAverage(s1, vcount, vys, vzp, vlo, vhi);
            const q2 = quantizeAverage(s2, vcount, vys, vzp, vlo, vhi);
            const q3 = quantizeAverage(s3, vcount, vys, vzp, vlo, vhi);
            // values already lie in [qmin, qmax]: the saturating narrows only repack
            const h0v = i16x8.narrow_i32x4_s(q0, q1);
            const h1v = i16x8.narrow_i32x4_s(q2, q3);
            v128.store(dst + <usize>c, signed ? i8x16.narrow_i16x8_s(h0v, h1v) : i8x16.narrow_i16x8_u(h0v, h1v));
          }
        } else {
          for (let c = 0; c < C; c++) {
            let s: f32 = 0;
            let r = base + <usize>c;
            for (let i = 0; i < nh; i++) {
              let p = r;
              for (let j = 0; j < nw; j++) {
                const q: i32 = signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
                s += xScale * <f32>(q - xZp);
                p += <usize>C;
              }
              r += rowStep;
            }
            const y = s / count / yScale + fzp;
            store<u8>(dst + <usize>c, <u8>(<i32>nearest<f32>(min<f32>(max<f32>(y, flo), fhi))));
          }
        }
        dst += <usize>C;
      }
    }
  }
}

/**
 * QLinearAveragePool of int8 (signed) or uint8 NHWC x into out with the window tables
 * (counts included) and the float32 rule above.
 */
export function pool_avg_q8(
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
  xScale: f32,
  xZp: i32,
  yScale: f32,
  yZp: i32,
  qmin: i32,
  qmax: i32,
  out: usize,
): void {
  if (signed) pool_avg_q8Of<i8>(x, N, H, W, C, OH, OW, rows, cols, xScale, xZp, yScale, yZp, qmin, qmax, out);
  else pool_avg_q8Of<u8>(x, N, H, W, C, OH, OW, rows, cols, xScale, xZp, yScale, yZp, qmin, qmax, out);
}

/** The float32 average pool: the float sum in the same order, divided by the count. */
export function pool_avg_f32(
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
  const rowStep = (<usize>W * <usize>C) << 2;
  const colStep = (<usize>C) << 2;
  const last = lastBlock(C, 4);
  let dst = out;
  for (let n = 0; n < N; n++) {
    const img = x + ((<usize>n * <usize>H * <usize>W * <usize>C) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const h0 = load<i32>(rows + <usize>oh * 12);
      const nh = load<i32>(rows + <usize>oh * 12, 4);
      const ch = load<i32>(rows + <usize>oh * 12, 8);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = load<i32>(cols + <usize>ow * 12);
        const nw = load<i32>(cols + <usize>ow * 12, 4);
        const count = <f32>(ch * load<i32>(cols + <usize>ow * 12, 8));
        const base = img + (((<usize>h0 * <usize>W + <usize>w0) * <usize>C) << 2);
        if (isSimd() && last >= 0) {
          const vcount = f32x4.splat(count);
          for (let c = 0; c <= last; c = c + 4 > last && c < last ? last : c + 4) {
            let s = f32x4.splat(0);
            let r = base + ((<usize>c) << 2);
            for (let i = 0; i < nh; i++) {
              let p = r;
              for (let j = 0; j < nw; j++) {
                s = f32x4.add(s, v128.load(p));
                p += colStep;
              }
              r += rowStep;
            }
            v128.store(dst + ((<usize>c) << 2), f32x4.div(s, vcount));
          }
        } else {
          for (let c = 0; c < C; c++) {
            let s: f32 = 0;
            let r = base + ((<usize>c) << 2);
            for (let i = 0; i < nh; i++) {
              let p = r;
              for (let j = 0; j < nw; j++) {
                s += load<f32>(p);
                p += colStep;
              }
              r += rowStep;
            }
            store<f32>(dst + ((<usize>c) << 2), s / count);
          }
        }
        dst += (<usize>C) << 2;
      }
    }
  }
}

/**
 * Pixels summed in int16 lanes before they are widened into the int32 sums: 128 bytes of
 * at most 255 (or -128) stay within int16 (32640, -16384).
 */
const GAP_RUN: i32 = 128;

/** pool_global_avg_q8 for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function pool_global_avg_q8Of<T>(
  x: usize,
  N: i32,
  HW: i32,
  C: i32,
  m: f32,
  bias: i32,
  yZp: i32,
  qmin: i32,
  qmax: i32,
  out: usize,
): void {
  const signed = isSigned<T>();
  const last = lastBlock(C, 16);
  const lo = <f32>(qmin - yZp);
  const hi = <f32>(qmax - yZp);
  for (let n = 0; n < N; n++) {
    const img = x + <usize>n * <usize>HW * <usize>C;
    const dst = out + <usize>n * <usize>C;
    if (isSimd() && last >= 0) {
      const vb = i32x4.splat(bias);
      const vm = f32x4.splat(m);
      const vlo = f32x4.splat(lo);
      const vhi = f32x4.splat(hi);
      const vzp = i32x4.splat(yZp);
      for (let c = 0; c <= last; c = c + 16 > last && c < last ? last : c + 16) {
        let a0 = vb;
        let a1 = vb;
        let a2 = vb;
        let a3 = vb;
        let p = img + <usize>c;
        for (let i0 = 0; i0 < HW; i0 += GAP_RUN) {
          const run = min(GAP_RUN, HW - i0);
          let lo16 = i16x8.splat(0);
          let hi16 = i16x8.splat(0);
          for (let i = 0; i < run; i++) {
            const v = v128.load(p);
            lo16 = i16x8.add(lo16, signed ? i16x8.extend_low_i8x16_s(v) : i16x8.extend_low_i8x16_u(v));
            hi16 = i16x8.add(hi16, signed ? i16x8.extend_high_i8x16_s(v) : i16x8.extend_high_i8x16_u(v));
            p += <usize>C;
          }
          a0 = i32x4.add(a0, i32x4.extend_low_i16x8_s(lo16));
          a1 = i32x4.add(a1, i32x4.extend_high_i16x8_s(lo16));
          a2 = i32x4.add(a2, i32x4.extend_low_i16x8_s(hi16));
          a3 = i32x4.add(a3, i32x4.extend_high_i16x8_s(hi16));
        }
        const q0 = requantLanes(a0, vm, vlo, vhi, vzp);
        const q1 = requantLanes(a1, vm, vlo, vhi, vzp);
        const q2 = requantLanes(a2, vm, vlo, vhi, vzp);
        const q3 = requantLanes(a3, vm, vlo, vhi, vzp);
        const h0v = i16x8.narrow_i32x4_s(q0, q1);
        const h1v = i16x8.narrow_i32x4_s(q2, q3);
        v128.store(dst + <usize>c, signed ? i8x16.narrow_i16x8_s(h0v, h1v) : i8x16.narrow_i16x8_u(h0v, h1v));
      }
    } else {
      for (let c = 0; c < C; c++) {
        let acc = bias;
        let p = img + <usize>c;
        for (let i = 0; i < HW; i++) {
          acc += signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
          p += <usize>C;
        }
        const f = nearest<f32>(min<f32>(max<f32>(<f32>acc * m, lo), hi));
        store<u8>(dst + <usize>c, <u8>(<i32>f + yZp));
      }
    }
  }
}

/**
 * QLinearGlobalAveragePool of int8 (signed) or uint8 NHWC x [N, HW, C] into out [N, C]:
 * y = saturate(roundHalfEven(f32(sum - xZp * HW) * m) + yZp), m = xScale / (yScale * HW)
 * in float32 (src/ computes it), clamped to [qmin, qmax] before rounding (integers, so
 * the same). `bias` is -xZp * HW.
 */
export function pool_global_avg_q8(
  x: usize,
  N: i32,
  HW: i32,
  C: i32,
  signed: bool,
  m: f32,
  bias: i32,
  yZp: i32,
  qmin: i32,
  qmax: i32,
  out: usize,
): void {
  if (signed) pool_global_avg_q8Of<i8>(x, N, HW, C, m, bias, yZp, qmin, qmax, out);
  else pool_global_avg_q8Of<u8>(x, N, HW, C, m, bias, yZp, qmin, qmax, out);
}

/** Four lanes of the fp32 requantization (requant.ts): clamp, round half to even, + zp. */
@inline function requantLanes(acc: v128, m: v128, lo: v128, hi: v128, zp: v128): v128 {
  const f = f32x4.pmin(f32x4.pmax(f32x4.mul(f32x4.convert_i32x4_s(acc), m), lo), hi);
  return i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f)), zp);
}

/** The float32 global average pool: the float sum over HW pixels (in order) divided by f32(HW). */
export function pool_global_avg_f32(x: usize, N: i32, HW: i32, C: i32, out: usize): void {
  const last = lastBlock(C, 4);
  const count = <f32>HW;
  const pix = (<usize>C) << 2;
  for (let n = 0; n < N; n++) {
    const img = x + ((<usize>n * <usize>HW * <usize>C) << 2);
    const dst = out + ((<usize>n * <usize>C) << 2);
    if (isSimd() && last >= 0) {
      // four blocks at once while they fit: four independent add chains per pixel
      let c = 0;
      for (; c + 16 <= C; c += 16) {
        let s0 = f32x4.splat(0);
        let s1 = f32x4.splat(0);
        let s2 = f32x4.splat(0);
        let s3 = f32x4.splat(0);
        let p = img + ((<usize>c) << 2);
        for (let i = 0; i < HW; i++) {
          s0 = f32x4.add(s0, v128.load(p));
          s1 = f32x4.add(s1, v128.load(p, 16));
          s2 = f32x4.add(s2, v128.load(p, 32));
          s3 = f32x4.add(s3, v128.load(p, 48));
          p += pix;
        }
        const vc = f32x4.splat(count);
        v128.store(dst + ((<usize>c) << 2), f32x4.div(s0, vc));
        v128.store(dst + ((<usize>c) << 2), f32x4.div(s1, vc), 16);
        v128.store(dst + ((<usize>c) << 2), f32x4.div(s2, vc), 32);
        v128.store(dst + ((<usize>c) << 2), f32x4.div(s3, vc), 48);
      }
      while (c < C) {
        const b = min(c, last);
        let s = f32x4.splat(0);
        let p = img + ((<usize>b) << 2);
        for (let i = 0; i < HW; i++) {
          s = f32x4.add(s, v128.load(p));
          p += pix;
        }
        v128.store(dst + ((<usize>b) << 2), f32x4.div(s, f32x4.splat(count)));
        c = b + 4;
      }
    } else {
      for (let c = 0; c < C; c++) {
        let s: f32 = 0;
        let p = img + ((<usize>c) << 2);
        for (let i = 0; i < HW; i++) {
          s += load<f32>(p);
          p += pix;
        }
        store<f32>(dst + ((<usize>c) << 2), s / count);
      }
    }
  }
}
