// Transposed convolution (ConvTranspose), NHWC, int8 / uint8 and float32.
//
// Every input pixel p contributes x[p, :] . W[:, m, kh, kw] to output pixel
// (h * sH - pT + kh * dH, w * sW - pL + kw * dW). src/ops/conv-transpose.ts runs that
// product for all taps at once as one GEMM per group, X [pixels, C/group] x
// W [C/group, kH * kW * M/group] (the existing packed GEMM, int32 out), a block of input
// pixels at a time; convt_col2im_* then adds each row's kH x kW x M/group results into
// the output accumulator. Integer sums are exact (int32, no rounding anywhere), so the
// order of the additions does not matter; the int8 result is then requantized by the
// GEMM epilogue (fp32 or fixed point, per output channel), bias included.
//
// When the stride equals the kernel (no dilation, no padding, one group) taps never
// overlap: src/ then points the GEMM's epilogue straight at the output, no col2im.
import { NR } from './gemm/ukernels.generated';
import { epilogue } from './gemm/epilogue';

/**
 * Adds `rows` GEMM rows (input pixels p0.., each kH * kW * Mg int32 at `col`) into the
 * int32 NHWC accumulator acc [N, OH, OW, M] at channel offset g0.
 */
export function convt_col2im_s32(
  col: usize,
  p0: i32,
  rows: i32,
  H: i32,
  W: i32,
  kH: i32,
  kW: i32,
  sH: i32,
  sW: i32,
  dH: i32,
  dW: i32,
  pT: i32,
  pL: i32,
  OH: i32,
  OW: i32,
  M: i32,
  Mg: i32,
  g0: i32,
  acc: usize,
): void {
  const tapBytes = (<usize>Mg) << 2;
  let src = col;
  for (let r = 0; r < rows; r++) {
    const p = p0 + r;
    const n = p / (H * W);
    const hw = p - n * H * W;
    const h = hw / W;
    const w = hw - h * W;
    for (let kh = 0; kh < kH; kh++) {
      const oh = h * sH - pT + kh * dH;
      if (oh < 0 || oh >= OH) {
        src += <usize>kW * tapBytes;
        continue;
      }
      const orow = acc + ((<usize>(n * OH + oh) * <usize>OW * <usize>M + <usize>g0) << 2);
      for (let kw = 0; kw < kW; kw++) {
        const ow = w * sW - pL + kw * dW;
        if (ow >= 0 && ow < OW) {
          const d = orow + ((<usize>ow * <usize>M) << 2);
          let m = 0;
          if (ASC_FEATURE_SIMD) {
            for (; m + 4 <= Mg; m += 4) {
              const o = (<usize>m) << 2;
              v128.store(d + o, i32x4.add(v128.load(d + o), v128.load(src + o)));
            }
          }
          for (; m < Mg; m++) {
            const o = (<usize>m) << 2;
            store<i32>(d + o, load<i32>(d + o) + load<i32>(src + o));
          }
        }
        src += tapBytes;
      }
    }
  }
}

/**
 * The float32 col2im: the same scatter with float adds, in this order (rows, then kh, kw),
 * into an output that already holds the bias.
 */
export function convt_col2im_f32(
  col: usize,
  p0: i32,
  rows: i32,
  H: i32,
  W: i32,
  kH: i32,
  kW: i32,
  sH: i32,
  sW: i32,
  dH: i32,
  dW: i32,
  pT: i32,
  pL: i32,
  OH: i32,
  OW: i32,
  M: i32,
  Mg: i32,
  g0: i32,
  acc: usize,
): void {
  const tapBytes = (<usize>Mg) << 2;
  let src = col;
  for (let r = 0; r < rows; r++) {
    const p = p0 + r;
    const n = p / (H * W);
    const hw = p - n * H * W;
    const h = hw / W;
    const w = hw - h * W;
    for (let kh = 0; kh < kH; kh++) {
      const oh = h * sH - pT + kh * dH;
      if (oh < 0 || oh >= OH) {
        src += <usize>kW * tapBytes;
        continue;
      }
      const orow = acc + ((<usize>(n * OH + oh) * <usize>OW * <usize>M + <usize>g0) << 2);
      for (let kw = 0; kw < kW; kw++) {
        const ow = w * sW - pL + kw * dW;
        if (ow >= 0 && ow < OW) {
          const d = orow + ((<usize>ow * <usize>M) << 2);
          let m = 0;
          if (ASC_FEATURE_SIMD) {
            for (; m + 4 <= Mg; m += 4) {
              const o = (<usize>m) << 2;
              v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(src + o)));
            }
          }
          for (; m < Mg; m++) {
            const o = (<usize>m) << 2;
            store<f32>(d + o, load<f32>(d + o) + load<f32>(src + o));
          }
        }
        src += tapBytes;
      }
    }
  }
}

/**
 * Requantizes `pixels` int32 accumulator rows of M channels into out (int8 / uint8,
 * pixel stride M) through epilogue `kind`, NR channels per call, each row a one-row tile.
 */
export function convt_requant(acc: usize, pixels: i32, M: i32, kind: i32, params: usize, out: usize): void {
  for (let p = 0; p < pixels; p++) {
    const row = acc + ((<usize>p * <usize>M) << 2);
    const dst = out + <usize>p * <usize>M;
    for (let c0 = 0; c0 < M; c0 += NR) {
      epilogue(kind, row + ((<usize>c0) << 2), 1, min(NR, M - c0), c0, dst + <usize>c0, M, params);
    }
  }
}

/** Fills `pixels` float32 rows of M channels with the bias (float32[M]) or zeros. */
export function convt_fill_bias_f32(out: usize, pixels: i32, M: i32, bias: usize): void {
  const rowBytes = (<usize>M) << 2;
  if (bias == 0) {
    memory.fill(out, 0, <usize>pixels * rowBytes);
    return;
  }
  for (let p = 0; p < pixels; p++) memory.copy(out + <usize>p * rowBytes, bias, rowBytes);
}
