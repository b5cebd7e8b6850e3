// Depthwise convolution (group == C): channels in SIMD lanes.
//
// Each image is first copied into a padded NHWC buffer [Hp][Wp][Cp] holding exactly the
// rows and columns the kernel reads, with output channel order already applied (input
// channel o / cm at lane o, for channel multiplier cm) and Cp rounded up to the SIMD
// block. The int8 buffer is widened to int16 with the zero point subtracted, so padding
// is a plain 0 and the tap loop has no bounds checks and no zero-point term.
//
// int8: |x - zx| <= 255 and |w - zw| <= 255, so a product needs 17 bits: the taps use
// i32x4.extmul_{low,high}_i16x8_s (exact) and accumulate in int32; K = kH * kW is
// bounded in src/ so the sum fits. Outputs go through the GEMM's epilogues, a tile of
// up to CHUNK pixels x 8 channels at a time.
import { NR } from '../gemm/ukernels.generated';
import { Epilogue } from '../gemm/epilogue';
import { convEpilogue } from './epilogue';
import {
  cp, CP_H, CP_W, CP_C, CP_OH, CP_OW, CP_M, CP_KH, CP_KW, CP_SH, CP_SW, CP_DH, CP_DW,
  CP_PT, CP_PL, CP_ZA, CP_SIGNED, CP_CM, CP_CP, CP_HP, CP_WP,
} from './params';

/** Output pixels accumulated per epilogue call: its per-channel constants load once per chunk. */
const CHUNK: i32 = 16;
const tile = memory.data(CHUNK * NR * 4, 16);

/** Copies image n of the int8 / uint8 input into the widened, padded, channel-expanded buffer. */
export function dw_widen_s16(p: usize, x: usize, n: i32, dst: usize): void {
  const H = cp(p, CP_H), W = cp(p, CP_W), C = cp(p, CP_C), M = cp(p, CP_M);
  const pT = cp(p, CP_PT), pL = cp(p, CP_PL);
  const cm = cp(p, CP_CM), Cp = cp(p, CP_CP), Hp = cp(p, CP_HP), Wp = cp(p, CP_WP);
  const za = cp(p, CP_ZA), signed = cp(p, CP_SIGNED) != 0;
  const pixBytes = <usize>Cp << 1;
  const rowBytes = <usize>Wp * pixBytes;
  const a = min(pL, Wp);
  const b = min(pL + W, Wp);
  for (let hp = 0; hp < Hp; hp++) {
    const ih = hp - pT;
    const drow = dst + <usize>hp * rowBytes;
    if (ih < 0 || ih >= H) {
      memory.fill(drow, 0, rowBytes);
      continue;
    }
    if (a > 0) memory.fill(drow, 0, <usize>a * pixBytes);
    if (b < Wp) memory.fill(drow + <usize>b * pixBytes, 0, <usize>(Wp - b) * pixBytes);
    const srow = x + <usize>((n * H + ih) * W - pL) * <usize>C;
    if (cm == 1 && C == Cp) {
      // the row is one run: widen (b - a) * C values in one sweep
      const s = srow + <usize>a * <usize>C;
      const d = drow + <usize>a * pixBytes;
      const len = (b - a) * C;
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const zv = i16x8.splat(<i16>za);
        for (; i + 8 <= len; i += 8) {
          const v = signed ? v128.load8x8_s(s + i) : v128.load8x8_u(s + i);
          v128.store(d + (<usize>i << 1), i16x8.sub(v, zv));
        }
      }
      for (; i < len; i++) {
        const v = signed ? <i32>load<i8>(s + i) : <i32>load<u8>(s + i);
        store<i16>(d + (<usize>i << 1), <i16>(v - za));
      }
      continue;
    }
    for (let wp = a; wp < b; wp++) {
      const s = srow + <usize>wp * <usize>C;
      const d = drow + <usize>wp * pixBytes;
      let o = 0;
      if (cm == 1) {
        if (ASC_FEATURE_SIMD) {
          const zv = i16x8.splat(<i16>za);
          for (; o + 8 <= C; o += 8) {
            const v = signed ? v128.load8x8_s(s + o) : v128.load8x8_u(s + o);
            v128.store(d + (<usize>o << 1), i16x8.sub(v, zv));
          }
        }
        for (; o < C; o++) {
          const v = signed ? <i32>load<i8>(s + o) : <i32>load<u8>(s + o);
          store<i16>(d + (<usize>o << 1), <i16>(v - za));
        }
      } else {
        for (let c = 0; c < C; c++) {
          const v = <i16>((signed ? <i32>load<i8>(s + c) : <i32>load<u8>(s + c)) - za);
          for (let j = 0; j < cm; j++) store<i16>(d + (<usize>(o + j) << 1), v);
          o += cm;
        }
      }
      for (; o < Cp; o++) store<i16>(d + (<usize>o << 1), 0);
    }
  }
}

/**
 * One output pixel x 8 channels of a 3x3 depthwise conv: `s` is the top-left tap in the
 * widened buffer, rs / cs the byte steps between kernel rows / columns.
 */
@inline function dw3x3_s16(
  s: usize, rs: usize, cs: usize,
  w0: v128, w1: v128, w2: v128, w3: v128, w4: v128, w5: v128, w6: v128, w7: v128, w8: v128,
  t: usize,
): void {
  const s1 = s + rs;
  const s2 = s1 + rs;
  let v = v128.load(s);
  let lo = i32x4.extmul_low_i16x8_s(v, w0);
  let hi = i32x4.extmul_high_i16x8_s(v, w0);
  v = v128.load(s + cs);
  lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, w1));
  hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, w1));
  v = v128.load(s + 2 * cs);
  lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, w2));
  hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, w2));
  v = v128.load(s1);
  lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, w3));
  hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, w3));
  v = v128.load(s1 + cs);
  lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, w4));
  hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, w4));
  v = v128.load(s1 + 2 * cs);
  lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, w5));
  hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, w5));
  v = v128.load(s2);
  lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, w6));
  hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, w6));
  v = v128.load(s2 + cs);
  lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, w7));
  hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, w7));
  v = v128.load(s2 + 2 * cs);
  lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, w8));
  hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, w8));
  v128.store(t, lo);
  v128.store(t, hi, 16);
}

/** One output pixel x 8 channels, kernel rows of 5 unrolled, weights read per tap. */
@inline function dw5xN_s16(s: usize, rs: usize, cs: usize, w: usize, kH: i32, t: usize): void {
  let lo = i32x4.splat(0);
  let hi = i32x4.splat(0);
  for (let kh = 0; kh < kH; kh++) {
    let v = v128.load(s);
    let wv = v128.load(w);
    lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, wv));
    hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, wv));
    v = v128.load(s + cs);
    wv = v128.load(w, 16);
    lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, wv));
    hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, wv));
    v = v128.load(s + 2 * cs);
    wv = v128.load(w, 32);
    lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, wv));
    hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, wv));
    v = v128.load(s + 3 * cs);
    wv = v128.load(w, 48);
    lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, wv));
    hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, wv));
    v = v128.load(s + 4 * cs);
    wv = v128.load(w, 64);
    lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, wv));
    hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, wv));
    s += rs;
    w += 80;
  }
  v128.store(t, lo);
  v128.store(t, hi, 16);
}

/** One output pixel x 8 channels for any kernel size. */
@inline function dwAny_s16(s: usize, rs: usize, cs: usize, w: usize, kH: i32, kW: i32, t: usize): void {
  let lo = i32x4.splat(0);
  let hi = i32x4.splat(0);
  for (let kh = 0; kh < kH; kh++) {
    let q = s;
    for (let kw = 0; kw < kW; kw++) {
      const v = v128.load(q);
      const wv = v128.load(w);
      lo = i32x4.add(lo, i32x4.extmul_low_i16x8_s(v, wv));
      hi = i32x4.add(hi, i32x4.extmul_high_i16x8_s(v, wv));
      q += cs;
      w += 16;
    }
    s += rs;
  }
  v128.store(t, lo);
  v128.store(t, hi, 16);
}

/** The scalar build's pixel: the same buffer and weight layout, one lane at a time. */
@inline function dwScalar_s16(s: usize, rs: usize, cs: usize, w: usize, kH: i32, kW: i32, t: usize): void {
  for (let c = 0; c < NR; c++) {
    let acc = 0;
    let r = s + (<usize>c << 1);
    let pw = w + (<usize>c << 1);
    for (let kh = 0; kh < kH; kh++) {
      let q = r;
      for (let kw = 0; kw < kW; kw++) {
        acc += <i32>load<i16>(q) * <i32>load<i16>(pw);
        q += cs;
        pw += 16;
      }
      r += rs;
    }
    store<i32>(t + (<usize>c << 2), acc);
  }
}

/**
 * Depthwise int8 conv of image n from the widened buffer `buf` (dw_widen_s16) with
 * weights [Cp / 8][kH * kW][8] int16 (zero point subtracted), through epilogue `kind`.
 */
export function conv_dw_s16(p: usize, buf: usize, n: i32, w: usize, out: usize, kind: i32, params: usize): void {
  const OH = cp(p, CP_OH), OW = cp(p, CP_OW), M = cp(p, CP_M);
  const kH = cp(p, CP_KH), kW = cp(p, CP_KW);
  const sH = cp(p, CP_SH), sW = cp(p, CP_SW), dH = cp(p, CP_DH), dW = cp(p, CP_DW);
  const Cp = cp(p, CP_CP), Wp = cp(p, CP_WP);
  const es: usize = kind == Epilogue.I32 ? 4 : 1;
  const pixBytes = <usize>Cp << 1;
  const rs = <usize>dH * <usize>Wp * pixBytes;
  const cs = <usize>dW * pixBytes;
  const step = <usize>sW * pixBytes;
  const taps = kH * kW;
  const outPix = <usize>M * es;
  const is3x3 = kH == 3 && kW == 3;
  const is5 = kW == 5;
  const outImg = out + <usize>n * <usize>(OH * OW) * outPix;
  for (let oh = 0; oh < OH; oh++) {
    const inRow = buf + <usize>(oh * sH) * <usize>Wp * pixBytes;
    const outRow = outImg + <usize>(oh * OW) * outPix;
    for (let c0 = 0; c0 < Cp; c0 += NR) {
      const nc = min(NR, M - c0);
      const wb = w + <usize>(c0 * taps) * 2;
      const src = inRow + (<usize>c0 << 1);
      if (ASC_FEATURE_SIMD && is3x3) {
        const w0 = v128.load(wb), w1 = v128.load(wb, 16), w2 = v128.load(wb, 32);
        const w3 = v128.load(wb, 48), w4 = v128.load(wb, 64), w5 = v128.load(wb, 80);
        const w6 = v128.load(wb, 96), w7 = v128.load(wb, 112), w8 = v128.load(wb, 128);
        for (let ow0 = 0; ow0 < OW; ow0 += CHUNK) {
          const np = min(CHUNK, OW - ow0);
          let s = src + <usize>ow0 * step;
          for (let j = 0; j < np; j++) {
            dw3x3_s16(s, rs, cs, w0, w1, w2, w3, w4, w5, w6, w7, w8, tile + (<usize>j << 5));
            s += step;
          }
          convEpilogue(kind, tile, np, nc, c0, outRow + (<usize>ow0 * <usize>M + <usize>c0) * es, M, params);
        }
      } else {
        for (let ow0 = 0; ow0 < OW; ow0 += CHUNK) {
          const np = min(CHUNK, OW - ow0);
          let s = src + <usize>ow0 * step;
          for (let j = 0; j < np; j++) {
            const t = tile + (<usize>j << 5);
            if (ASC_FEATURE_SIMD) {
              if (is5) dw5xN_s16(s, rs, cs, wb, kH, t);
              else dwAny_s16(s, rs, cs, wb, kH, kW, t);
            } else {
              dwScalar_s16(s, rs, cs, wb, kH, kW, t);
            }
            s += step;
          }
          convEpilogue(kind, tile, np, nc, c0, outRow + (<usize>ow0 * <usize>M + <usize>c0) * es, M, params);
        }
      }
    }
  }
}

/** Copies image n of the float32 input into the padded, channel-expanded float32 buffer. */
export function dw_pad_f32(p: usize, x: usize, n: i32, dst: usize): void {
  const H = cp(p, CP_H), W = cp(p, CP_W), C = cp(p, CP_C);
  const pT = cp(p, CP_PT), pL = cp(p, CP_PL);
  const cm = cp(p, CP_CM), Cp = cp(p, CP_CP), Hp = cp(p, CP_HP), Wp = cp(p, CP_WP);
  const pixBytes = <usize>Cp << 2;
  const rowBytes = <usize>Wp * pixBytes;
  const a = min(pL, Wp);
  const b = min(pL + W, Wp);
  for (let hp = 0; hp < Hp; hp++) {
    const ih = hp - pT;
    const drow = dst + <usize>hp * rowBytes;
    if (ih < 0 || ih >= H) {
      memory.fill(drow, 0, rowBytes);
      continue;
    }
    if (a > 0) memory.fill(drow, 0, <usize>a * pixBytes);
    if (b < Wp) memory.fill(drow + <usize>b * pixBytes, 0, <usize>(Wp - b) * pixBytes);
    const srow = x + (<usize>((n * H + ih) * W - pL) * <usize>C << 2);
    if (cm == 1 && C == Cp) {
      memory.copy(drow + <usize>a * pixBytes, srow + (<usize>a * <usize>C << 2), <usize>(b - a) * pixBytes);
      continue;
    }
    for (let wp = a; wp < b; wp++) {
      const s = srow + (<usize>wp * <usize>C << 2);
      const d = drow + <usize>wp * pixBytes;
      let o = 0;
      if (cm == 1) {
        memory.copy(d, s, <usize>C << 2);
        o = C;
      } else {
        for (let c = 0; c < C; c++) {
          const v = load<f32>(s + (<usize>c << 2));
          for (let j = 0; j < cm; j++) store<f32>(d + (<usize>(o + j) << 2), v);
          o += cm;
        }
      }
      if (o < Cp) memory.fill(d + (<usize>o << 2), 0, <usize>(Cp - o) << 2);
    }
  }
}

@inline function storeF32x4(d: usize, v: v128, nc: i32): void {
  if (nc >= 4) {
    v128.store(d, v);
  } else {
    store<f32>(d, f32x4.extract_lane(v, 0));
    if (nc > 1) store<f32>(d, f32x4.extract_lane(v, 1), 4);
    if (nc > 2) store<f32>(d, f32x4.extract_lane(v, 2), 8);
  }
}

/**
 * Depthwise float32 conv of image n from the padded buffer (dw_pad_f32) with weights
 * [Cp / 4][kH * kW][4], then + bias, clamp to [lo, hi]. The same loop structure as
 * conv_dw_s16 in f32x4: four channels per vector, 3x3 weights held in registers.
 */
export function conv_dw_f32(p: usize, buf: usize, n: i32, w: usize, bias: usize, lo: f32, hi: f32, out: usize): void {
  const OH = cp(p, CP_OH), OW = cp(p, CP_OW), M = cp(p, CP_M);
  const kH = cp(p, CP_KH), kW = cp(p, CP_KW);
  const sH = cp(p, CP_SH), sW = cp(p, CP_SW), dH = cp(p, CP_DH), dW = cp(p, CP_DW);
  const Cp = cp(p, CP_CP), Wp = cp(p, CP_WP);
  const pixBytes = <usize>Cp << 2;
  const rs = <usize>dH * <usize>Wp * pixBytes;
  const cs = <usize>dW * pixBytes;
  const step = <usize>sW * pixBytes;
  const taps = kH * kW;
  const outPix = <usize>M << 2;
  const outImg = out + <usize>n * <usize>(OH * OW) * outPix;
  for (let oh = 0; oh < OH; oh++) {
    const inRow = buf + <usize>(oh * sH) * <usize>Wp * pixBytes;
    const outRow = outImg + <usize>(oh * OW) * outPix;
    for (let c0 = 0; c0 < M; c0 += 4) {
      const nc = min(4, M - c0);
      const wb = w + (<usize>(c0 * taps) << 2);
      const src = inRow + (<usize>c0 << 2);
      let d = outRow + (<usize>c0 << 2);
      if (ASC_FEATURE_SIMD) {
        const vb = bias != 0 ? v128.load(bias + (<usize>c0 << 2)) : f32x4.splat(0);
        const vlo = f32x4.splat(lo);
        const vhi = f32x4.splat(hi);
        if (kH == 3 && kW == 3) {
          const w0 = v128.load(wb), w1 = v128.load(wb, 16), w2 = v128.load(wb, 32);
          const w3 = v128.load(wb, 48), w4 = v128.load(wb, 64), w5 = v128.load(wb, 80);
          const w6 = v128.load(wb, 96), w7 = v128.load(wb, 112), w8 = v128.load(wb, 128);
          let s = src;
          for (let ow = 0; ow < OW; ow++) {
            const s1 = s + rs;
            const s2 = s1 + rs;
            let acc = f32x4.add(vb, f32x4.mul(v128.load(s), w0));
            acc = f32x4.add(acc, f32x4.mul(v128.load(s + cs), w1));
            acc = f32x4.add(acc, f32x4.mul(v128.load(s + 2 * cs), w2));
            acc = f32x4.add(acc, f32x4.mul(v128.load(s1), w3));
            acc = f32x4.add(acc, f32x4.mul(v128.load(s1 + cs), w4));
            acc = f32x4.add(acc, f32x4.mul(v128.load(s1 + 2 * cs), w5));
            acc = f32x4.add(acc, f32x4.mul(v128.load(s2), w6));
            acc = f32x4.add(acc, f32x4.mul(v128.load(s2 + cs), w7));
            acc = f32x4.add(acc, f32x4.mul(v128.load(s2 + 2 * cs), w8));
            storeF32x4(d, f32x4.pmin(f32x4.pmax(acc, vlo), vhi), nc);
            s += step;
            d += outPix;
          }
        } else {
          let s = src;
          for (let ow = 0; ow < OW; ow++) {
            let acc = vb;
            let r = s;
            let pw = wb;
            for (let kh = 0; kh < kH; kh++) {
              let q = r;
              for (let kw = 0; kw < kW; kw++) {
                acc = f32x4.add(acc, f32x4.mul(v128.load(q), v128.load(pw)));
                q += cs;
                pw += 16;
              }
              r += rs;
            }
            storeF32x4(d, f32x4.pmin(f32x4.pmax(acc, vlo), vhi), nc);
            s += step;
            d += outPix;
          }
        }
      } else {
        let s = src;
        for (let ow = 0; ow < OW; ow++) {
          for (let c = 0; c < nc; c++) {
            let acc: f32 = bias != 0 ? load<f32>(bias + (<usize>(c0 + c) << 2)) : 0;
            let r = s + (<usize>c << 2);
            let pw = wb + (<usize>c << 2);
            for (let kh = 0; kh < kH; kh++) {
              let q = r;
              for (let kw = 0; kw < kW; kw++) {
                acc += load<f32>(q) * load<f32>(pw);
                q += cs;
                pw += 16;
              }
              r += rs;
            }
            store<f32>(d + (<usize>c << 2), min(max(acc, lo), hi));
          }
          s += step;
          d += outPix;
        }
      }
    }
  }
}
