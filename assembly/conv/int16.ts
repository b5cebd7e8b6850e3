// Dense 2-D convolution of float32 inputs on a 16-bit grid (qwasm/onnx quantize's `int16`
// convolutions), with float32 outputs equal bit for bit to the float32 conv of the inputs
// rounded to the grid.
//
// The input x is any float32, read as codes on the grid of step 2^a (below); weights are int16
// codes per output channel (step 2^e_c), the bias int32 codes at 2^(a + e_c). The caller
// guarantees that every output channel's sum_k |w| * max(|lo|, |hi|) + |bias| stays below 2^24,
// so the int32 accumulator converts to float32 exactly, and f32(acc) * 2^(a + e_c) is the exact
// value the float32 conv computes (its partial sums are exact too).
//
// conv_i16_pad converts the input (NHWC, or NCHW read plane by plane) to codes with
// QuantizeLinear's arithmetic, code = clamp(roundHalfEven(f32(x / 2^a)), lo, hi), NaN to 0 (the
// steps of quantize_dequantize_f32, so a raw float input gives the codes of its rounding to the
// grid, and a value already on the grid within [lo, hi] is its own code), into a zero-padded
// NHWC image [N, H + pT + pB, W + pL + pR, C] of int16, so the tap loops have no bounds checks.
// conv_i16_f32 gathers, per output row, each pixel's kH * kW * C codes (order kh, kw, c) into a
// row of Kp = K rounded up to even codes (im2col: one kernel row of every pixel at a time,
// copied in exact 8-code vectors; a 1x1 stride-1 conv with even C and no pads reads the padded
// image itself, and conv_i16_1x1_f32 converts such a conv's NHWC input 64 pixels at a time
// instead), then runs a tile of 4 pixels x 8 output channels: one i32x4.splat of a pixel's code
// pair against two weight vectors, each holding 4 channels x the same 2 taps, and
// i32x4.dot_i16x8_s (pairs of int16 products, exact in int32). Accumulators start from the bias
// codes; the epilogue converts, multiplies by the channel's scale 2^(a + e_c), clamps to the
// activation's bounds and stores float32 NHWC, or quantizes that value to int8 (the plan's next
// QuantizeLinear, done in the epilogue) and stores the codes.
//
// Packed weights (see src/layers/conv-i16.ts): blocks of 8 output channels (M rounded up to
// Mp, a multiple of 8, with zero codes), each Kp / 2 pairs x 16 int16:
// [c0 k, c0 k+1, c1 k, c1 k+1, c2 k, c2 k+1, c3 k, c3 k+1, c4 k, ..., c7 k+1]. Bias (int32)
// and scale (float32) hold Mp values, zero past M.
//
// The scalar build runs the same loops with scalar int32 sums: the same integers, the same
// conversion and product, so the same bits.

/**
 * x (float32, NHWC or, with nchw != 0, NCHW) -> zero-padded NHWC int16 codes [N, Hp, Wp, C]:
 * clamp(roundHalfEven(x / step), lo, hi), NaN to 0; step = 2^a, lo and hi whole codes in int16.
 */
export function conv_i16_pad(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  pT: i32,
  pL: i32,
  pB: i32,
  pR: i32,
  step: f32,
  lo: f32,
  hi: f32,
  nchw: i32,
  dst: usize,
): void {
  const Hp = H + pT + pB;
  const Wp = W + pL + pR;
  const rowCodes = Wp * C;
  const plane = (<usize>(H * W)) << 2;
  let d = dst;
  for (let n = 0; n < N; n++) {
    const img = x + <usize>n * <usize>C * plane;
    for (let r = 0; r < Hp; r++) {
      if (r < pT || r >= pT + H) {
        memory.fill(d, 0, (<usize>rowCodes) << 1);
        d += (<usize>rowCodes) << 1;
        continue;
      }
      const lead = (<usize>(pL * C)) << 1;
      memory.fill(d, 0, lead);
      d += lead;
      const h = r - pT;
      if (nchw != 0) {
        gatherPlanes(img + ((<usize>(h * W)) << 2), plane, W, C, step, lo, hi, d);
      } else {
        toCodes(img + ((<usize>(h * W * C)) << 2), W * C, step, lo, hi, d);
      }
      d += (<usize>(W * C)) << 1;
      const trail = (<usize>(pR * C)) << 1;
      memory.fill(d, 0, trail);
      d += trail;
    }
  }
}

/** n float32 values -> int16 codes (see codes4). */
function toCodes(s: usize, n: i32, step: f32, lo: f32, hi: f32, d: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(step);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    for (; i + 8 <= n; i += 8) {
      const p = s + ((<usize>i) << 2);
      const c0 = codes4(v128.load(p), vs, vlo, vhi);
      const c1 = codes4(v128.load(p, 16), vs, vlo, vhi);
      v128.store(d + ((<usize>i) << 1), i16x8.narrow_i32x4_s(c0, c1));
    }
  }
  for (; i < n; i++) store<i16>(d + ((<usize>i) << 1), code(load<f32>(s + ((<usize>i) << 2)), step, lo, hi));
}

/**
 * 1.5 * 2^23: x + ROUNDER, for |x| <= 2^22, lands in [2^23, 2^24), where float32 steps by 1,
 * so the addition rounds x half to even (IEEE's rounding, the only one wasm has) and the sum's
 * bits are ROUNDER_BITS + roundHalfEven(x): one add and one integer subtract in place of
 * f32x4.nearest and i32x4.trunc_sat_f32x4_s (conversion alone on the detection stem's shapes:
 * about half the cost).
 */
const ROUNDER: f32 = 12582912;
const ROUNDER_BITS: i32 = 0x4b400000;

/**
 * Four values' codes as int32 lanes, quantize_dequantize_f32's steps: a true division (the
 * quotient QuantizeLinear rounds), NaN masked to 0, clamped to [lo, hi] (pmax / pmin: NaN is
 * gone, and -0 or +0 both give code 0), then rounded half to even by ROUNDER (|x| <= 32768
 * once clamped).
 */
@inline function codes4(v: v128, vs: v128, vlo: v128, vhi: v128): v128 {
  let f = f32x4.div(v, vs);
  f = v128.and(f, f32x4.eq(f, f));
  f = f32x4.pmin(f32x4.pmax(f, vlo), vhi);
  return i32x4.sub(f32x4.add(f, f32x4.splat(ROUNDER)), i32x4.splat(ROUNDER_BITS));
}

@inline function code(v: f32, step: f32, lo: f32, hi: f32): i16 {
  let f = v / step;
  if (f != f) f = 0;
  return <i16>(<i32>nearest<f32>(min<f32>(max<f32>(f, lo), hi)));
}

/** One row of W pixels from C planes `plane` bytes apart -> W x C codes, pixel-major. */
function gatherPlanes(s: usize, plane: usize, W: i32, C: i32, step: f32, lo: f32, hi: f32, d: usize): void {
  const pix = (<usize>C) << 1;
  let w = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(step);
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    if (C == 3) {
      // RGB: 4 pixels from 3 planes, interleaved by two shuffles into 12 codes
      for (; w + 4 <= W; w += 4) {
        const p = s + ((<usize>w) << 2);
        const r = codes4(v128.load(p), vs, vlo, vhi);
        const g = codes4(v128.load(p + plane), vs, vlo, vhi);
        const b = codes4(v128.load(p + 2 * plane), vs, vlo, vhi);
        const rg = i16x8.narrow_i32x4_s(r, g);
        const bb = i16x8.narrow_i32x4_s(b, b);
        const lo = i8x16.shuffle(rg, bb, 0, 1, 8, 9, 16, 17, 2, 3, 10, 11, 18, 19, 4, 5, 12, 13);
        const hi = i8x16.shuffle(rg, bb, 20, 21, 6, 7, 14, 15, 22, 23, 0, 1, 0, 1, 0, 1, 0, 1);
        const dw = d + <usize>w * 6;
        v128.store(dw, lo);
        store<i64>(dw + 16, i64x2.extract_lane(hi, 0));
      }
    }
    for (; w + 8 <= W; w += 8) {
      const dw = d + <usize>w * pix;
      for (let c = 0; c < C; c++) {
        const p = s + <usize>c * plane + ((<usize>w) << 2);
        const v = i16x8.narrow_i32x4_s(codes4(v128.load(p), vs, vlo, vhi), codes4(v128.load(p, 16), vs, vlo, vhi));
        const dc = dw + ((<usize>c) << 1);
        store<i16>(dc, i16x8.extract_lane_s(v, 0));
        store<i16>(dc + pix, i16x8.extract_lane_s(v, 1));
        store<i16>(dc + 2 * pix, i16x8.extract_lane_s(v, 2));
        store<i16>(dc + 3 * pix, i16x8.extract_lane_s(v, 3));
        store<i16>(dc + 4 * pix, i16x8.extract_lane_s(v, 4));
        store<i16>(dc + 5 * pix, i16x8.extract_lane_s(v, 5));
        store<i16>(dc + 6 * pix, i16x8.extract_lane_s(v, 6));
        store<i16>(dc + 7 * pix, i16x8.extract_lane_s(v, 7));
      }
    }
  }
  for (; w < W; w++) {
    for (let c = 0; c < C; c++) {
      const v = load<f32>(s + <usize>c * plane + ((<usize>w) << 2));
      store<i16>(d + <usize>w * pix + ((<usize>c) << 1), code(v, step, lo, hi));
    }
  }
}

/** Codes kept per pixel by the im2col rows: kH * kW * C rounded up to even. */
@inline function kPairs(K: i32): i32 {
  return (K + 1) >> 1;
}

/**
 * P pixels (rows of A, Kp = 2 * KP codes apart) x M channels -> y (rows of M float32, or with
 * qs != 0 of M int8 codes: the float32 value quantized as quantize_f32 does, with the scale qs
 * and zero point qzp). w: packed weights of Mp / 8 blocks; bias, scale: Mp values.
 */
function tiles(
  A: usize,
  KP: i32,
  P: i32,
  w: usize,
  M: i32,
  bias: usize,
  scale: usize,
  lo: f32,
  hi: f32,
  y: usize,
  qs: f32,
  qzp: i32,
): void {
  const q8 = qs != 0;
  const aStride = (<usize>KP) << 2;
  const yStride = q8 ? <usize>M : (<usize>M) << 2;
  const yShift: usize = q8 ? 0 : 2;
  const blockBytes = (<usize>KP) << 5;
  const Mp = (M + 7) & ~7;
  let p = 0;
  if (ASC_FEATURE_SIMD) {
    const vlo = f32x4.splat(lo);
    const vhi = f32x4.splat(hi);
    const clamp = lo != <f32>-Infinity || hi != <f32>Infinity;
    const vqs = f32x4.splat(qs);
    const vqlo = f32x4.splat(<f32>(<i32>-128 - qzp));
    const vqhi = f32x4.splat(<f32>(<i32>127 - qzp));
    const vqz = i32x4.splat(ROUNDER_BITS - qzp);
    for (; p + 4 <= P; p += 4) {
      const a0 = A + <usize>p * aStride;
      const a1 = a0 + aStride;
      const a2 = a1 + aStride;
      const a3 = a2 + aStride;
      const y0 = y + <usize>p * yStride;
      for (let m = 0; m < Mp; m += 8) {
        const wb = w + <usize>(m >> 3) * blockBytes;
        const b0 = v128.load(bias + ((<usize>m) << 2));
        const b1 = v128.load(bias + ((<usize>m) << 2), 16);
        let c00 = b0,
          c01 = b1,
          c10 = b0,
          c11 = b1,
          c20 = b0,
          c21 = b1,
          c30 = b0,
          c31 = b1;
        for (let k = 0; k < KP; k++) {
          const o = (<usize>k) << 2;
          const wp = wb + ((<usize>k) << 5);
          const w0 = v128.load(wp);
          const w1 = v128.load(wp, 16);
          let av = v128.load32_splat(a0 + o);
          c00 = i32x4.add(c00, i32x4.dot_i16x8_s(av, w0));
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(av, w1));
          av = v128.load32_splat(a1 + o);
          c10 = i32x4.add(c10, i32x4.dot_i16x8_s(av, w0));
          c11 = i32x4.add(c11, i32x4.dot_i16x8_s(av, w1));
          av = v128.load32_splat(a2 + o);
          c20 = i32x4.add(c20, i32x4.dot_i16x8_s(av, w0));
          c21 = i32x4.add(c21, i32x4.dot_i16x8_s(av, w1));
          av = v128.load32_splat(a3 + o);
          c30 = i32x4.add(c30, i32x4.dot_i16x8_s(av, w0));
          c31 = i32x4.add(c31, i32x4.dot_i16x8_s(av, w1));
        }
        const s0 = v128.load(scale + ((<usize>m) << 2));
        const s1 = v128.load(scale + ((<usize>m) << 2), 16);
        const yo = y0 + ((<usize>m) << yShift);
        storePair(yo, c00, c01, s0, s1, vlo, vhi, clamp, M - m, q8, vqs, vqlo, vqhi, vqz);
        storePair(yo + yStride, c10, c11, s0, s1, vlo, vhi, clamp, M - m, q8, vqs, vqlo, vqhi, vqz);
        storePair(yo + 2 * yStride, c20, c21, s0, s1, vlo, vhi, clamp, M - m, q8, vqs, vqlo, vqhi, vqz);
        storePair(yo + 3 * yStride, c30, c31, s0, s1, vlo, vhi, clamp, M - m, q8, vqs, vqlo, vqhi, vqz);
      }
    }
    for (; p < P; p++) {
      const a0 = A + <usize>p * aStride;
      const y0 = y + <usize>p * yStride;
      for (let m = 0; m < Mp; m += 8) {
        const wb = w + <usize>(m >> 3) * blockBytes;
        let c00 = v128.load(bias + ((<usize>m) << 2));
        let c01 = v128.load(bias + ((<usize>m) << 2), 16);
        for (let k = 0; k < KP; k++) {
          const wp = wb + ((<usize>k) << 5);
          const av = v128.load32_splat(a0 + ((<usize>k) << 2));
          c00 = i32x4.add(c00, i32x4.dot_i16x8_s(av, v128.load(wp)));
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(av, v128.load(wp, 16)));
        }
        const s0 = v128.load(scale + ((<usize>m) << 2));
        const s1 = v128.load(scale + ((<usize>m) << 2), 16);
        storePair(y0 + ((<usize>m) << yShift), c00, c01, s0, s1, vlo, vhi, clamp, M - m, q8, vqs, vqlo, vqhi, vqz);
      }
    }
    return;
  }
  for (; p < P; p++) {
    const a0 = A + <usize>p * aStride;
    const y0 = y + <usize>p * yStride;
    for (let m = 0; m < M; m++) {
      const wb = w + <usize>(m >> 3) * blockBytes + ((<usize>(m & 7)) << 2);
      let acc = load<i32>(bias + ((<usize>m) << 2));
      for (let k = 0; k < KP; k++) {
        const wp = wb + ((<usize>k) << 5);
        const ap = a0 + ((<usize>k) << 2);
        acc += <i32>load<i16>(ap) * <i32>load<i16>(wp) + <i32>load<i16>(ap, 2) * <i32>load<i16>(wp, 2);
      }
      const v = min<f32>(max<f32>(<f32>acc * load<f32>(scale + ((<usize>m) << 2)), lo), hi);
      if (q8) {
        const qlo = <f32>(<i32>-128 - qzp);
        const qhi = <f32>(<i32>127 - qzp);
        store<i8>(y0 + <usize>m, <i8>(<i32>nearest<f32>(min<f32>(max<f32>(v / qs, qlo), qhi)) + qzp));
      } else store<f32>(y0 + ((<usize>m) << 2), v);
    }
  }
}

/**
 * Converts, scales, clamps and stores 8 channels (fewer when `left` < 8): float32, or with q8
 * int8 codes quantized as quantize_f32's quantizeVec does (a true division by the output scale,
 * the clamp to [-128 - zp, 127 - zp], ROUNDER; the values are finite, so no NaN to mask).
 */
@inline function storePair(
  y: usize,
  c0: v128,
  c1: v128,
  s0: v128,
  s1: v128,
  vlo: v128,
  vhi: v128,
  clamp: bool,
  left: i32,
  q8: bool,
  vqs: v128,
  vqlo: v128,
  vqhi: v128,
  vqz: v128,
): void {
  let v0 = f32x4.mul(f32x4.convert_i32x4_s(c0), s0);
  let v1 = f32x4.mul(f32x4.convert_i32x4_s(c1), s1);
  if (clamp) {
    v0 = f32x4.pmin(f32x4.pmax(v0, vlo), vhi);
    v1 = f32x4.pmin(f32x4.pmax(v1, vlo), vhi);
  }
  if (q8) {
    const rounder = f32x4.splat(ROUNDER);
    const q0 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(f32x4.div(v0, vqs), vqlo), vqhi), rounder), vqz);
    const q1 = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(f32x4.div(v1, vqs), vqlo), vqhi), rounder), vqz);
    const h = i16x8.narrow_i32x4_s(q0, q1);
    const codes = i64x2.extract_lane(i8x16.narrow_i16x8_s(h, h), 0);
    if (left >= 8) {
      store<i64>(y, codes);
      return;
    }
    for (let i = 0; i < left; i++) store<i8>(y + <usize>i, <i8>(codes >> ((<i64>i) << 3)));
    return;
  }
  if (left >= 8) {
    v128.store(y, v0);
    v128.store(y, v1, 16);
    return;
  }
  storeLanes(y, v0, left);
  if (left > 4) storeLanes(y + 16, v1, left - 4);
}

@inline function storeLanes(y: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(y, v);
    return;
  }
  store<f32>(y, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(y, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(y, f32x4.extract_lane(v, 2), 8);
}

/**
 * The conv on the padded codes xc [N, Hp, Wp, C] (conv_i16_pad) into y [N, OH, OW, M] float32
 * (or int8 codes with qs != 0, see tiles). col: scratch of OW * Kp int16 (Kp = kH * kW * C rounded up to even), or 0 when the conv is
 * 1x1, stride 1, unpadded with C even (xc is then read as the rows themselves).
 */
export function conv_i16_f32(
  xc: usize,
  N: i32,
  Hp: i32,
  Wp: i32,
  C: i32,
  kH: i32,
  kW: i32,
  sH: i32,
  sW: i32,
  dH: i32,
  dW: i32,
  OH: i32,
  OW: i32,
  M: i32,
  w: usize,
  bias: usize,
  scale: usize,
  lo: f32,
  hi: f32,
  y: usize,
  col: usize,
  qs: f32,
  qzp: i32,
): void {
  const K = kH * kW * C;
  const KP = kPairs(K);
  if (col == 0) {
    tiles(xc, KP, N * OH * OW, w, M, bias, scale, lo, hi, y, qs, qzp);
    return;
  }
  const Kp = KP << 1;
  // codes copied per run: a whole kernel row when its taps are adjacent
  const run = dW == 1 ? kW * C : C;
  const runs = dW == 1 ? 1 : kW;
  const rowBytes = (<usize>(Wp * C)) << 1;
  const yRow = (<usize>(OW * M)) << (qs != 0 ? 0 : 2);
  let yp = y;
  const runBytes = (<usize>run) << 1;
  const pixBytes = (<usize>Kp) << 1;
  const srcStep = (<usize>(sW * C)) << 1;
  for (let n = 0; n < N; n++) {
    const img = xc + <usize>n * <usize>Hp * rowBytes;
    for (let oh = 0; oh < OH; oh++) {
      const top = img + <usize>(oh * sH) * rowBytes;
      // one run (a kernel row, or one tap) of every pixel at a time; exact copies, any order
      let off: usize = 0;
      for (let i = 0; i < kH; i++) {
        for (let j = 0; j < runs; j++) {
          let src = top + <usize>(i * dH) * rowBytes + ((<usize>(j * dW * C)) << 1);
          let dst = col + off;
          for (let ow = 0; ow < OW; ow++) {
            copyCodes(dst, src, run);
            src += srcStep;
            dst += pixBytes;
          }
          off += runBytes;
        }
      }
      if (K & 1) {
        for (let ow = 0; ow < OW; ow++) store<i16>(col + <usize>ow * pixBytes + ((<usize>K) << 1), 0);
      }
      tiles(col, KP, OW, w, M, bias, scale, lo, hi, yp, qs, qzp);
      yp += yRow;
    }
  }
}

/** Copies n int16 codes, writing none past them (runs of n >= 8 overlap their own last vector). */
@inline function copyCodes(d: usize, s: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (n >= 8) {
      let t = 0;
      for (; t + 8 <= n; t += 8) {
        const o = (<usize>t) << 1;
        v128.store(d + o, v128.load(s + o));
      }
      if (t < n) {
        const o = (<usize>(n - 8)) << 1;
        v128.store(d + o, v128.load(s + o));
      }
      return;
    }
  }
  for (let t = 0; t < n; t++) {
    const o = (<usize>t) << 1;
    store<i16>(d + o, load<i16>(s + o));
  }
}

/** Pixels converted per chunk by conv_i16_1x1_f32 (their codes stay in L1 across channel blocks). */
const CHUNK = 64;

/**
 * A 1x1 stride-1 unpadded conv on NHWC float32 x (P pixels of C channels, C even): each chunk of
 * pixels converted to codes (as conv_i16_pad: step, xLo, xHi) into buf (CHUNK * C int16), then
 * the tiles of conv_i16_f32 (float32 out, or int8 codes with qs != 0).
 */
export function conv_i16_1x1_f32(
  x: usize,
  P: i32,
  C: i32,
  step: f32,
  xLo: f32,
  xHi: f32,
  M: i32,
  w: usize,
  bias: usize,
  scale: usize,
  lo: f32,
  hi: f32,
  y: usize,
  buf: usize,
  qs: f32,
  qzp: i32,
): void {
  const KP = C >> 1;
  for (let p = 0; p < P; p += CHUNK) {
    const n = min<i32>(CHUNK, P - p);
    toCodes(x + ((<usize>(p * C)) << 2), n * C, step, xLo, xHi, buf);
    tiles(buf, KP, n, w, M, bias, scale, lo, hi, y + ((<usize>(p * M)) << (qs != 0 ? 0 : 2)), qs, qzp);
  }
}
