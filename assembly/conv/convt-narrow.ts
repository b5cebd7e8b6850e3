// Transposed convolution whose taps never overlap (stride == kernel, no pads or dilation)
// and whose output has few columns per input pixel: cols = kH * kW * M <= 4, C a multiple
// of 8 (a detection head's last 2x2 s2 upsampling to one channel: 4 columns per pixel).
// The GEMM path runs such a layer one NR = 8 panel per kernel row with 2 of its 8 columns
// used and a scalar epilogue for the partial panel; here each pixel's channels are widened
// once (8 per vector), dotted against the 4 columns' int16 weights, the four sums gathered
// into one vector, requantized in fp32 exactly as epilogue.ts requantRowFp32 does, and each
// code stored where its tap lands.
import { EP_BIAS, EP_MULT, EP_ZP, EP_QMIN, EP_QMAX, EP_SIGNED } from '../layouts.generated';

const MAGIC: f32 = 12582912.0; // 1.5 * 2^23
const MAGIC_BITS: i32 = 0x4b400000;

/** Lane j of an int32 / float32 per-column array of the epilogue block (column j % per). */
@inline function column(arr: usize, j: i32, per: i32): i32 {
  return arr == 0 ? 0 : load<i32>(arr + ((<usize>(j % per)) << 2));
}

/** Column j's float32 multiplier. */
@inline function multOf(arr: usize, j: i32, per: i32): f32 {
  return load<f32>(arr + ((<usize>(j % per)) << 2));
}

/**
 * x: [pixels = N * H * W, C] codes (int8 when `signed`, else uint8), zero point za; w:
 * int16 [4][C] (weights minus their zero points, column j = (kh, kw, m), columns from
 * `cols` on zero); out: [N, H * kH, W * kW, M]; params: an fp32 epilogue block whose
 * per-column arrays hold `per` columns (column j reads entry j % per).
 */
export function convt_direct_narrow_s16(
  x: usize,
  N: i32,
  H: i32,
  W: i32,
  C: i32,
  za: i32,
  w: usize,
  kH: i32,
  kW: i32,
  M: i32,
  params: usize,
  per: i32,
  out: usize,
): void {
  // the scalar build never calls it (src/ops/conv-transpose.ts checks the build)
  if (!ASC_FEATURE_SIMD) return;
  const cols = kH * kW * M;
  const OW = W * kW;
  const rowBytes = <usize>(OW * M);
  // offsets of the four columns' codes from the pixel's first output
  const o0: usize = 0;
  const o1: usize = cols > 1 ? <usize>(((1 / M / kW) * OW + ((1 / M) % kW)) * M + (1 % M)) : 0;
  const o2: usize = cols > 2 ? <usize>(((2 / M / kW) * OW + ((2 / M) % kW)) * M + (2 % M)) : 0;
  const o3: usize = cols > 3 ? <usize>(((3 / M / kW) * OW + ((3 / M) % kW)) * M + (3 % M)) : 0;
  const bias = load<usize>(params, EP_BIAS);
  const mult = load<usize>(params, EP_MULT);
  // column j's bias and multiplier in lane j (lanes past cols: any valid entry, never stored)
  const b = i32x4.replace_lane(
    i32x4.replace_lane(
      i32x4.replace_lane(i32x4.splat(column(bias, 0, per)), 1, column(bias, 1, per)),
      2,
      column(bias, 2, per),
    ),
    3,
    column(bias, 3, per),
  );
  const m = f32x4.replace_lane(
    f32x4.replace_lane(
      f32x4.replace_lane(f32x4.splat(multOf(mult, 0, per)), 1, multOf(mult, 1, per)),
      2,
      multOf(mult, 2, per),
    ),
    3,
    multOf(mult, 3, per),
  );
  const zp = load<i32>(params, EP_ZP);
  const signed = load<i32>(params, EP_SIGNED) != 0;
  const lo = f32x4.splat(<f32>(load<i32>(params, EP_QMIN) - zp));
  const hi = f32x4.splat(<f32>(load<i32>(params, EP_QMAX) - zp));
  const magic = f32x4.splat(MAGIC);
  const magicZp = i32x4.splat(MAGIC_BITS - zp);
  const zv = i16x8.splat(<i16>za);
  const cw = (<usize>C) << 1;
  const w1 = w + cw;
  const w2 = w1 + cw;
  const w3 = w2 + cw;
  let px = x;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      let o = out + <usize>((n * H + h) * kH) * rowBytes;
      for (let iw = 0; iw < W; iw++) {
        let s0 = i32x4.splat(0),
          s1 = i32x4.splat(0),
          s2 = i32x4.splat(0),
          s3 = i32x4.splat(0);
        for (let c = 0; c < C; c += 8) {
          const raw = v128.load64_zero(px + <usize>c);
          const xv = i16x8.sub(signed ? i16x8.extend_low_i8x16_s(raw) : i16x8.extend_low_i8x16_u(raw), zv);
          const wo = (<usize>c) << 1;
          s0 = i32x4.add(s0, i32x4.dot_i16x8_s(xv, v128.load(w + wo)));
          s1 = i32x4.add(s1, i32x4.dot_i16x8_s(xv, v128.load(w1 + wo)));
          s2 = i32x4.add(s2, i32x4.dot_i16x8_s(xv, v128.load(w2 + wo)));
          s3 = i32x4.add(s3, i32x4.dot_i16x8_s(xv, v128.load(w3 + wo)));
        }
        // the four sums in lanes 0..3
        const t01 = i32x4.add(i32x4.shuffle(s0, s1, 0, 4, 1, 5), i32x4.shuffle(s0, s1, 2, 6, 3, 7));
        const t23 = i32x4.add(i32x4.shuffle(s2, s3, 0, 4, 1, 5), i32x4.shuffle(s2, s3, 2, 6, 3, 7));
        const acc = i32x4.add(i32x4.shuffle(t01, t23, 0, 1, 4, 5), i32x4.shuffle(t01, t23, 2, 3, 6, 7));
        let f = f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(acc, b)), m);
        f = f32x4.pmin(f32x4.pmax(f, lo), hi);
        const q = i32x4.sub(f32x4.add(f, magic), magicZp);
        const hq = i16x8.narrow_i32x4_s(q, q);
        const y = signed ? i8x16.narrow_i16x8_s(hq, hq) : i8x16.narrow_i16x8_u(hq, hq);
        v128.store8_lane(o + o0, y, 0);
        if (cols > 1) v128.store8_lane(o + o1, y, 1);
        if (cols > 2) v128.store8_lane(o + o2, y, 2);
        if (cols > 3) v128.store8_lane(o + o3, y, 3);
        px += <usize>C;
        o += <usize>(kW * M);
      }
    }
  }
}
