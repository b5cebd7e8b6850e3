// Depthwise convolution (group == C): channels in SIMD lanes.
//
// The input is copied, one padded row at a time, into a ring of R = (kH - 1) * dH + 1
// rows (the rows one output row reads; they stay in L1), holding exactly the columns
// the kernel touches, output channel order already applied (input channel o / cm at
// lane o, for channel multiplier cm) and channels rounded up to the SIMD block Cp.
// Padding is stored as zeros, so the tap loops have no bounds checks.
//
// int8: the ring is widened to int16 with the zero point subtracted and stores each
// channel as a pair (x[iw], x[iw + dW]): two horizontally adjacent taps. One
// i32x4.dot_i16x8_s then multiplies two taps of four channels and adds them (exact:
// |x - zx|, |w - zw| <= 255, so a pair sum is below 2^17), where widening
// multiplies (i32x4.extmul_*) would need two instructions per tap and about three
// machine instructions each on x64. Weights are packed as the matching pairs, the odd
// last tap of a row paired with 0. Outputs go through the conv epilogue, CHUNK pixels x
// 8 channels at a time.
//
// 3x3 kernels hold their weights in registers; 5-wide kernels unroll each kernel row, four
// output pixels at a time when dW == sW (their pair loads overlap: 8 for 12 dots a row,
// 1.3-1.9x the one-pixel loop on the PaddleOCR shapes); other sizes take a generic loop.
// Every loop but the 3x3 one skips the kernel rows that read only padding, and those ring
// rows are never built: on the classifier's 2- and 3-row maps under 5x5 kernels that is
// half the work or more.
//
// float32 (the baseline): the same ring of padded rows and the same specializations, four
// channels per f32x4 (fmadd: fused on the relaxed build, as the float32 GEMM); bias and
// clamp fused.
import { NR } from '../gemm/ukernels.generated';
import { outputBytes, residualAddSpan } from '../gemm/epilogue';
import { fmadd } from '../gemm/fma';
import { epilogue, actHardSwish, hardSwishF32, hardSwishF32x4 } from '../gemm/epilogue';
import {
  cp,
  CP_H,
  CP_W,
  CP_C,
  CP_OH,
  CP_OW,
  CP_M,
  CP_KH,
  CP_KW,
  CP_SH,
  CP_SW,
  CP_DH,
  CP_DW,
  CP_PT,
  CP_PL,
  CP_ZA,
  CP_SIGNED,
  CP_CM,
  CP_CP,
  CP_HP,
  CP_WP,
  CP_ACT_K,
  CP_ACT_C,
} from './params';

/** The depthwise float32 store's activation: hard-swish (scaled, shifted) when `hs`. */
@inline function dwActF32x4(v: v128, hs: bool, k: v128, c: v128): v128 {
  return hs ? hardSwishF32x4(v, k, c) : v;
}

/** Output pixels accumulated per epilogue call: its per-channel constants load once per chunk. */
const CHUNK: i32 = 16;
/** Bytes of scratch the depthwise kernels use per thread: the tile, then the ring row pointers. */
export const DW_SCRATCH: usize = CHUNK * NR * 4 + 16 * 4;
// Per instance: a thread pool's worker points these at its own block (useDepthwiseScratch).
let tile: usize = memory.data(CHUNK * NR * 4, 16);

/** Offset in int16 of channel o's pair within a pixel: blocks of 4 channels x (x0, x1). */
@inline function pairSlot(o: i32): usize {
  return <usize>(((o >> 2) << 3) | ((o & 3) << 1));
}

/**
 * The kernel reads pairs at columns ow * sW + 2 * j * dW only: multiples of
 * gcd(sW, 2 * dW). With stride 2 that is every other column, so the rows build only those.
 */
@inline function pairColumnStep(sW: i32, dW: i32): i32 {
  let a = sW;
  let b = 2 * dW;
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/**
 * `len` codes T (i8 or u8; a multiple of 8) from s0 and their partners dC bytes on, zero
 * point zv subtracted, interleaved into pairs at d. One loop per code type, so it carries
 * no branch: a select per load made the whole depthwise conv 4-17% slower here.
 */
@inline function widenPairs<T>(s0: usize, dC: usize, d: usize, len: i32, zv: v128): void {
  for (let e = 0; e < len; e += 8) {
    const v0 = i16x8.sub(isSigned<T>() ? v128.load8x8_s(s0 + e) : v128.load8x8_u(s0 + e), zv);
    const v1 = i16x8.sub(isSigned<T>() ? v128.load8x8_s(s0 + dC + e) : v128.load8x8_u(s0 + dC + e), zv);
    v128.store(d + ((<usize>e) << 2), v128.shuffle<i16>(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11));
    v128.store(d + ((<usize>e) << 2), v128.shuffle<i16>(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
  }
}

/**
 * Writes padded row hp of image n into `dst` as Wq pixels of Cp channel pairs
 * (x[iw] - zx, x[iw + dW] - zx), iw = column - pL; taps outside the image are 0. Only the
 * columns the kernel reads (pairColumnStep) are written.
 */
function dwRowPairs_s16(p: usize, x: usize, n: i32, hp: i32, dst: usize): void {
  const H = cp(p, CP_H),
    W = cp(p, CP_W),
    C = cp(p, CP_C),
    M = cp(p, CP_M);
  const pT = cp(p, CP_PT),
    pL = cp(p, CP_PL),
    dW = cp(p, CP_DW);
  const colStep = pairColumnStep(cp(p, CP_SW), dW);
  const cm = cp(p, CP_CM),
    Cp = cp(p, CP_CP),
    Wq = cp(p, CP_WP);
  const za = cp(p, CP_ZA),
    signed = cp(p, CP_SIGNED) != 0;
  const pixBytes = (<usize>Cp) << 2;
  const ih = hp - pT;
  if (ih < 0 || ih >= H) {
    memory.fill(dst, 0, <usize>Wq * pixBytes);
    return;
  }
  const srow = x + <usize>((n * H + ih) * W) * <usize>C;
  // interior columns, both taps inside the image, without bounds checks when channels
  // fill whole SIMD blocks (one flat sweep when every column is read, else column by
  // column); the border columns take the general path below
  let a = 0;
  let b = 0;
  if (ASC_FEATURE_SIMD && cm == 1 && C == Cp) {
    a = min(((pL + colStep - 1) / colStep) * colStep, Wq);
    b = max(a, min(pL + W - dW, Wq));
    const zv = i16x8.splat(<i16>za);
    const dC = <usize>dW * <usize>C;
    if (colStep == 1) {
      const s0 = srow + <usize>(a - pL) * <usize>C;
      const d = dst + <usize>a * pixBytes;
      const len = (b - a) * C;
      if (signed) widenPairs<i8>(s0, dC, d, len, zv);
      else widenPairs<u8>(s0, dC, d, len, zv);
    } else {
      for (let wq = a; wq < b; wq += colStep) {
        const s0 = srow + <usize>(wq - pL) * <usize>C;
        const d = dst + <usize>wq * pixBytes;
        if (signed) widenPairs<i8>(s0, dC, d, C, zv);
        else widenPairs<u8>(s0, dC, d, C, zv);
      }
    }
  }
  for (let wq = 0; wq < Wq; wq += colStep) {
    if (wq == a && b > a) {
      // skip the interior, landing on the first read column at or after b
      wq = ((b + colStep - 1) / colStep) * colStep - colStep;
      continue;
    }
    const iw0 = wq - pL;
    const iw1 = iw0 + dW;
    const in0 = iw0 >= 0 && iw0 < W;
    const in1 = iw1 >= 0 && iw1 < W;
    const d = dst + <usize>wq * pixBytes;
    if (!in0 && !in1) {
      memory.fill(d, 0, pixBytes);
      continue;
    }
    const s0 = srow + <usize>iw0 * <usize>C;
    const s1 = srow + <usize>iw1 * <usize>C;
    let o = 0;
    if (cm == 1) {
      if (ASC_FEATURE_SIMD) {
        const zv = i16x8.splat(<i16>za);
        const zero = i16x8.splat(0);
        for (; o + 8 <= C; o += 8) {
          const v0 = in0 ? i16x8.sub(signed ? v128.load8x8_s(s0 + o) : v128.load8x8_u(s0 + o), zv) : zero;
          const v1 = in1 ? i16x8.sub(signed ? v128.load8x8_s(s1 + o) : v128.load8x8_u(s1 + o), zv) : zero;
          v128.store(d + ((<usize>o) << 2), v128.shuffle<i16>(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11));
          v128.store(d + ((<usize>o) << 2), v128.shuffle<i16>(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
        }
      }
      for (; o < C; o++) {
        const q = d + (pairSlot(o) << 1);
        store<i16>(q, in0 ? <i16>((signed ? <i32>load<i8>(s0 + o) : <i32>load<u8>(s0 + o)) - za) : 0);
        store<i16>(q, in1 ? <i16>((signed ? <i32>load<i8>(s1 + o) : <i32>load<u8>(s1 + o)) - za) : 0, 2);
      }
    } else {
      for (; o < M; o++) {
        const c = o / cm;
        const q = d + (pairSlot(o) << 1);
        store<i16>(q, in0 ? <i16>((signed ? <i32>load<i8>(s0 + c) : <i32>load<u8>(s0 + c)) - za) : 0);
        store<i16>(q, in1 ? <i16>((signed ? <i32>load<i8>(s1 + c) : <i32>load<u8>(s1 + c)) - za) : 0, 2);
      }
    }
    for (; o < Cp; o++) store<i32>(d + (pairSlot(o) << 1), 0);
  }
}

/**
 * Builds the ring rows output row oh needs that are not there yet; returns the next row to
 * build. With `skipPad` the rows of padding (outside [pT, pT + H)) are left unwritten: the
 * caller's tap loops skip their kernel rows (kernelRowsFrom / kernelRowsTo).
 */
@inline function fillRing_s16(
  p: usize,
  x: usize,
  n: i32,
  ring: usize,
  rowBytes: usize,
  R: i32,
  top: i32,
  bottom: i32,
  next: i32,
  skipPad: bool,
): i32 {
  const pT = cp(p, CP_PT);
  const H = cp(p, CP_H);
  for (let hp = max(next, top); hp <= bottom; hp++) {
    if (skipPad && (hp < pT || hp >= pT + H)) continue;
    dwRowPairs_s16(p, x, n, hp, ring + <usize>(hp % R) * rowBytes);
  }
  return bottom + 1;
}

/**
 * The first kernel row of an output row starting at padded row `top` that reads the
 * image (rows above are padding: zeros, whose products need not be computed). On maps of
 * a few rows (the PaddleOCR classifier's 2 x 96 and 3 x 96 under 5 x 5 kernels) most kernel
 * rows read padding.
 */
@inline function kernelRowsFrom(top: i32, pT: i32, dH: i32, kH: i32): i32 {
  return top >= pT ? 0 : min(kH, (pT - top + dH - 1) / dH);
}

/** One past the last kernel row of an output row at `top` that reads the image (rows H + pT on are padding). */
@inline function kernelRowsTo(top: i32, pT: i32, H: i32, dH: i32, kH: i32): i32 {
  const last = pT + H - 1 - top; // the last image row, relative to top
  return last < 0 ? 0 : min(kH, last / dH + 1);
}

/**
 * One output pixel x 4 channels of a 3x3 conv from three ring rows: per row the pair
 * (kw 0, kw 1) and the pair (kw 2, unused column x 0).
 */
@inline function dw3x3q_s16(
  s0: usize,
  s1: usize,
  s2: usize,
  pairStep: usize,
  w0: v128,
  w1: v128,
  w2: v128,
  w3: v128,
  w4: v128,
  w5: v128,
): v128 {
  let acc = i32x4.dot_i16x8_s(v128.load(s0), w0);
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(s0 + pairStep), w1));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(s1), w2));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(s1 + pairStep), w3));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(s2), w4));
  return i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(s2 + pairStep), w5));
}

/**
 * One output pixel x 4 channels of a 5xN conv (5 columns: pairs (0, 1), (2, 3), (4, x 0)),
 * a kernel row per step with its three pairs unrolled; weights read from L1 per tap pair.
 */
@inline function dw5x5q_s16(s: usize, rowsAt: usize, pairStep: usize, kh0: i32, kh1: i32, w: usize): v128 {
  let acc = i32x4.splat(0);
  for (let kh = kh0; kh < kh1; kh++) {
    const r = load<usize>(rowsAt + ((<usize>kh) << 2)) + s;
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(r), v128.load(w)));
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(r + pairStep), v128.load(w, 32)));
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(r + 2 * pairStep), v128.load(w, 64)));
    w += 96;
  }
  return acc;
}

/**
 * Four output pixels x 4 channels of a 5xN conv when the pair step is two pixel steps
 * (dW == sW, e.g. stride 1 undilated): pixel t reads the pairs at columns t, t + 2, t + 4
 * (in steps), so the four read eight columns, not twelve, and each weight pair loads once
 * for four dots. Accumulators go to the tile at t, t + 32, t + 64, t + 96.
 */
@inline function dw5x5x4q_s16(s: usize, rowsAt: usize, step: usize, kh0: i32, kh1: i32, w: usize, t: usize): void {
  let a0 = i32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  for (let kh = kh0; kh < kh1; kh++) {
    const r = load<usize>(rowsAt + ((<usize>kh) << 2)) + s;
    const wa = v128.load(w);
    const p0 = v128.load(r);
    const p1 = v128.load(r + step);
    const p2 = v128.load(r + 2 * step);
    const p3 = v128.load(r + 3 * step);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(p0, wa));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(p1, wa));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(p2, wa));
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(p3, wa));
    const wb = v128.load(w, 32);
    const p4 = v128.load(r + 4 * step);
    const p5 = v128.load(r + 5 * step);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(p2, wb));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(p3, wb));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(p4, wb));
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(p5, wb));
    const wc = v128.load(w, 64);
    const p6 = v128.load(r + 6 * step);
    const p7 = v128.load(r + 7 * step);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(p4, wc));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(p5, wc));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(p6, wc));
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(p7, wc));
    w += 96;
  }
  v128.store(t, a0);
  v128.store(t, a1, 32);
  v128.store(t, a2, 64);
  v128.store(t, a3, 96);
}

/** Ring row pointers of output row `top` (kH <= 16), refreshed per output row. */
let rows: usize = memory.data(16 * 4, 16);

/** Moves this instance's tile and ring row pointers to `t` (DW_SCRATCH bytes): one per thread. */
export function useDepthwiseScratch(t: usize): void {
  tile = t;
  rows = t + CHUNK * NR * 4;
}

/**
 * Depthwise int8 conv of image n with weights [Cp / 8][kH][ceil(kW / 2)][2 quads][4 x 2]
 * int16 (pairs of taps, zero point subtracted), through epilogue `kind`. `ring` holds
 * R x Wq pixels of Cp int16 pairs.
 */
export function conv_dw_s16(
  p: usize,
  x: usize,
  n: i32,
  w: usize,
  out: usize,
  kind: i32,
  params: usize,
  ring: usize,
  oh0: i32,
  oh1: i32,
): void {
  const OH = cp(p, CP_OH),
    OW = cp(p, CP_OW),
    M = cp(p, CP_M);
  const kH = cp(p, CP_KH),
    kW = cp(p, CP_KW);
  const sH = cp(p, CP_SH),
    sW = cp(p, CP_SW),
    dH = cp(p, CP_DH),
    dW = cp(p, CP_DW);
  const Cp = cp(p, CP_CP),
    R = cp(p, CP_HP),
    Wq = cp(p, CP_WP);
  const es: usize = outputBytes(kind);
  const pixBytes = (<usize>Cp) << 2;
  const rowBytes = <usize>Wq * pixBytes;
  const J = (kW + 1) >> 1;
  const pairStep = <usize>(2 * dW) * pixBytes;
  const step = <usize>sW * pixBytes;
  // the pair of taps (kw, kw + 1) of output pixel ow + 2 is the pair (kw + 2, kw + 3) of ow:
  // four pixels at a time share their loads (5-wide kernels; on the 3x3, pixels ow and
  // ow + 2 together measured no faster: its weights already sit in registers)
  const shared = dW == sW;
  const blockWeights = (<usize>(kH * J)) << 5;
  const outPix = <usize>M * es;
  const is3x3 = kH == 3 && kW == 3;
  // the 3x3 kernel keeps all nine weights in registers and reads every kernel row; the
  // other loops run over the kernel rows that read the image only
  const skipPad = !(ASC_FEATURE_SIMD && is3x3);
  const H = cp(p, CP_H),
    pT = cp(p, CP_PT);
  const outImg = out + <usize>n * <usize>(OH * OW) * outPix;
  let next = 0;
  for (let oh = oh0; oh < oh1; oh++) {
    const top = oh * sH;
    next = fillRing_s16(p, x, n, ring, rowBytes, R, top, top + (kH - 1) * dH, next, skipPad);
    const kh0 = skipPad ? kernelRowsFrom(top, pT, dH, kH) : 0;
    const kh1 = skipPad ? max(kh0, kernelRowsTo(top, pT, H, dH, kH)) : kH;
    const rowWeights = (<usize>(kh0 * J)) << 5;
    for (let kh = 0; kh < kH; kh++)
      store<usize>(rows + ((<usize>kh) << 2), ring + <usize>((top + kh * dH) % R) * rowBytes);
    const outRow = outImg + <usize>(oh * OW) * outPix;
    for (let c0 = 0; c0 < Cp; c0 += NR) {
      const nc = min(NR, M - c0);
      const wb = w + <usize>(c0 >> 3) * blockWeights;
      for (let ow0 = 0; ow0 < OW; ow0 += CHUNK) {
        const np = min(CHUNK, OW - ow0);
        const first = <usize>ow0 * step + ((<usize>c0) << 2);
        for (let q = 0; q < 2; q++) {
          const qo = (<usize>q) << 4;
          const t0 = tile + qo;
          if (ASC_FEATURE_SIMD) {
            if (is3x3) {
              const w0 = v128.load(wb + qo),
                w1 = v128.load(wb + qo, 32),
                w2 = v128.load(wb + qo, 64);
              const w3 = v128.load(wb + qo, 96),
                w4 = v128.load(wb + qo, 128),
                w5 = v128.load(wb + qo, 160);
              let s0 = load<usize>(rows) + first + qo;
              let s1 = load<usize>(rows, 4) + first + qo;
              let s2 = load<usize>(rows, 8) + first + qo;
              for (let j = 0; j < np; j++) {
                v128.store(t0 + ((<usize>j) << 5), dw3x3q_s16(s0, s1, s2, pairStep, w0, w1, w2, w3, w4, w5));
                s0 += step;
                s1 += step;
                s2 += step;
              }
            } else if (kW == 5) {
              let j = 0;
              if (shared) {
                for (; j + 4 <= np; j += 4) {
                  const px = first + qo + <usize>j * step;
                  dw5x5x4q_s16(px, rows, step, kh0, kh1, wb + rowWeights + qo, t0 + ((<usize>j) << 5));
                }
              }
              for (; j < np; j++) {
                v128.store(
                  t0 + ((<usize>j) << 5),
                  dw5x5q_s16(first + qo + <usize>j * step, rows, pairStep, kh0, kh1, wb + rowWeights + qo),
                );
              }
            } else {
              for (let j = 0; j < np; j++) {
                const px = first + qo + <usize>j * step;
                let acc = i32x4.splat(0);
                let pw = wb + rowWeights + qo;
                for (let kh = kh0; kh < kh1; kh++) {
                  let s = load<usize>(rows + ((<usize>kh) << 2)) + px;
                  for (let jj = 0; jj < J; jj++) {
                    acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(s), v128.load(pw)));
                    s += pairStep;
                    pw += 32;
                  }
                }
                v128.store(t0 + ((<usize>j) << 5), acc);
              }
            }
          } else {
            for (let j = 0; j < np; j++) {
              const px = first + qo + <usize>j * step;
              for (let l = 0; l < 4; l++) {
                let acc = 0;
                let pw = wb + rowWeights + qo + ((<usize>l) << 2);
                for (let kh = kh0; kh < kh1; kh++) {
                  let s = load<usize>(rows + ((<usize>kh) << 2)) + px + ((<usize>l) << 2);
                  for (let jj = 0; jj < J; jj++) {
                    acc += <i32>load<i16>(s) * <i32>load<i16>(pw) + <i32>load<i16>(s, 2) * <i32>load<i16>(pw, 2);
                    s += pairStep;
                    pw += 32;
                  }
                }
                store<i32>(t0 + ((<usize>j) << 5) + ((<usize>l) << 2), acc);
              }
            }
          }
        }
        epilogue(kind, tile, np, nc, c0, outRow + (<usize>ow0 * <usize>M + <usize>c0) * es, M, params);
      }
    }
    residualAddSpan(kind, params, outRow, OW * M);
  }
}

/** Writes padded row hp of image n into `dst` as Wq pixels of Cp floats; padding is 0. */
function dwRow_f32(p: usize, x: usize, n: i32, hp: i32, dst: usize): void {
  const H = cp(p, CP_H),
    W = cp(p, CP_W),
    C = cp(p, CP_C);
  const pT = cp(p, CP_PT),
    pL = cp(p, CP_PL);
  const cm = cp(p, CP_CM),
    Cp = cp(p, CP_CP),
    Wq = cp(p, CP_WP);
  const pixBytes = (<usize>Cp) << 2;
  const ih = hp - pT;
  if (ih < 0 || ih >= H) {
    memory.fill(dst, 0, <usize>Wq * pixBytes);
    return;
  }
  const a = min(pL, Wq);
  const b = max(a, min(pL + W, Wq));
  if (a > 0) memory.fill(dst, 0, <usize>a * pixBytes);
  if (b < Wq) memory.fill(dst + <usize>b * pixBytes, 0, <usize>(Wq - b) * pixBytes);
  const srow = x + ((<usize>((n * H + ih) * W) * <usize>C) << 2);
  if (cm == 1 && C == Cp) {
    memory.copy(dst + <usize>a * pixBytes, srow + ((<usize>(a - pL) * <usize>C) << 2), <usize>(b - a) * pixBytes);
    return;
  }
  for (let wq = a; wq < b; wq++) {
    const s = srow + ((<usize>(wq - pL) * <usize>C) << 2);
    const d = dst + <usize>wq * pixBytes;
    let o = 0;
    if (cm == 1) {
      memory.copy(d, s, (<usize>C) << 2);
      o = C;
    } else {
      for (let c = 0; c < C; c++) {
        const v = load<f32>(s + ((<usize>c) << 2));
        for (let j = 0; j < cm; j++) store<f32>(d + ((<usize>(o + j)) << 2), v);
        o += cm;
      }
    }
    if (o < Cp) memory.fill(d + ((<usize>o) << 2), 0, (<usize>(Cp - o)) << 2);
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
 * Depthwise float32 conv of image n with weights [Cp / 4][kH * kW][4], then + bias,
 * clamp to [lo, hi], and the hard-swish the parameter block asks for (CP_ACT). `ring` holds R x Wq pixels of Cp floats.
 */
export function conv_dw_f32(
  p: usize,
  x: usize,
  n: i32,
  w: usize,
  bias: usize,
  lo: f32,
  hi: f32,
  out: usize,
  ring: usize,
  oh0: i32,
  oh1: i32,
): void {
  const OH = cp(p, CP_OH),
    OW = cp(p, CP_OW),
    M = cp(p, CP_M);
  const kH = cp(p, CP_KH),
    kW = cp(p, CP_KW);
  const sH = cp(p, CP_SH),
    sW = cp(p, CP_SW),
    dH = cp(p, CP_DH),
    dW = cp(p, CP_DW);
  const Cp = cp(p, CP_CP),
    R = cp(p, CP_HP),
    Wq = cp(p, CP_WP);
  const pixBytes = (<usize>Cp) << 2;
  const rowBytes = <usize>Wq * pixBytes;
  const cs = <usize>dW * pixBytes;
  const step = <usize>sW * pixBytes;
  const taps = kH * kW;
  const outPix = (<usize>M) << 2;
  const outImg = out + <usize>n * <usize>(OH * OW) * outPix;
  const hs = actHardSwish(p);
  const ak: f32 = hs ? load<f32>(p + <usize>CP_ACT_K) : 1;
  const ac: f32 = hs ? load<f32>(p + <usize>CP_ACT_C) : 0;
  // as in conv_dw_s16: every loop but the 3x3 one skips the kernel rows of padding
  const skipPad = !(ASC_FEATURE_SIMD && kH == 3 && kW == 3);
  const H = cp(p, CP_H),
    pT = cp(p, CP_PT);
  let next = 0;
  for (let oh = oh0; oh < oh1; oh++) {
    const top = oh * sH;
    const bottom = top + (kH - 1) * dH;
    for (let hp = max(next, top); hp <= bottom; hp++) {
      if (skipPad && (hp < pT || hp >= pT + H)) continue;
      dwRow_f32(p, x, n, hp, ring + <usize>(hp % R) * rowBytes);
    }
    next = bottom + 1;
    const kh0 = skipPad ? kernelRowsFrom(top, pT, dH, kH) : 0;
    const kh1 = skipPad ? max(kh0, kernelRowsTo(top, pT, H, dH, kH)) : kH;
    const rowWeights = (<usize>(kh0 * kW)) << 4;
    for (let kh = 0; kh < kH; kh++)
      store<usize>(rows + ((<usize>kh) << 2), ring + <usize>((top + kh * dH) % R) * rowBytes);
    const outRow = outImg + <usize>(oh * OW) * outPix;
    for (let c0 = 0; c0 < M; c0 += 4) {
      const nc = min(4, M - c0);
      const wb = w + ((<usize>(c0 * taps)) << 2);
      const co = (<usize>c0) << 2;
      let d = outRow + co;
      if (ASC_FEATURE_SIMD) {
        const vb = bias != 0 ? v128.load(bias + co) : f32x4.splat(0);
        const vlo = f32x4.splat(lo);
        const vhi = f32x4.splat(hi);
        const vk = f32x4.splat(ak);
        const vc = f32x4.splat(ac);
        if (kH == 3 && kW == 3) {
          const w0 = v128.load(wb),
            w1 = v128.load(wb, 16),
            w2 = v128.load(wb, 32);
          const w3 = v128.load(wb, 48),
            w4 = v128.load(wb, 64),
            w5 = v128.load(wb, 80);
          const w6 = v128.load(wb, 96),
            w7 = v128.load(wb, 112),
            w8 = v128.load(wb, 128);
          let s0 = load<usize>(rows) + co;
          let s1 = load<usize>(rows, 4) + co;
          let s2 = load<usize>(rows, 8) + co;
          for (let ow = 0; ow < OW; ow++) {
            let acc = fmadd(v128.load(s0), w0, vb);
            acc = fmadd(v128.load(s0 + cs), w1, acc);
            acc = fmadd(v128.load(s0 + 2 * cs), w2, acc);
            acc = fmadd(v128.load(s1), w3, acc);
            acc = fmadd(v128.load(s1 + cs), w4, acc);
            acc = fmadd(v128.load(s1 + 2 * cs), w5, acc);
            acc = fmadd(v128.load(s2), w6, acc);
            acc = fmadd(v128.load(s2 + cs), w7, acc);
            acc = fmadd(v128.load(s2 + 2 * cs), w8, acc);
            storeF32x4(d, dwActF32x4(f32x4.pmin(f32x4.pmax(acc, vlo), vhi), hs, vk, vc), nc);
            s0 += step;
            s1 += step;
            s2 += step;
            d += outPix;
          }
        } else if (kW == 5) {
          // a kernel row per step, its five taps unrolled, weights read from L1
          for (let ow = 0; ow < OW; ow++) {
            let acc = vb;
            let pw = wb + rowWeights;
            const px = <usize>ow * step + co;
            for (let kh = kh0; kh < kh1; kh++) {
              const q = load<usize>(rows + ((<usize>kh) << 2)) + px;
              acc = fmadd(v128.load(q), v128.load(pw), acc);
              acc = fmadd(v128.load(q + cs), v128.load(pw, 16), acc);
              acc = fmadd(v128.load(q + 2 * cs), v128.load(pw, 32), acc);
              acc = fmadd(v128.load(q + 3 * cs), v128.load(pw, 48), acc);
              acc = fmadd(v128.load(q + 4 * cs), v128.load(pw, 64), acc);
              pw += 80;
            }
            storeF32x4(d, dwActF32x4(f32x4.pmin(f32x4.pmax(acc, vlo), vhi), hs, vk, vc), nc);
            d += outPix;
          }
        } else {
          for (let ow = 0; ow < OW; ow++) {
            let acc = vb;
            let pw = wb + rowWeights;
            const px = <usize>ow * step + co;
            for (let kh = kh0; kh < kh1; kh++) {
              let q = load<usize>(rows + ((<usize>kh) << 2)) + px;
              for (let kw = 0; kw < kW; kw++) {
                acc = fmadd(v128.load(q), v128.load(pw), acc);
                q += cs;
                pw += 16;
              }
            }
            storeF32x4(d, dwActF32x4(f32x4.pmin(f32x4.pmax(acc, vlo), vhi), hs, vk, vc), nc);
            d += outPix;
          }
        }
      } else {
        for (let ow = 0; ow < OW; ow++) {
          const px = <usize>ow * step + co;
          for (let c = 0; c < nc; c++) {
            let acc: f32 = bias != 0 ? load<f32>(bias + co + ((<usize>c) << 2)) : 0;
            let pw = wb + rowWeights + ((<usize>c) << 2);
            for (let kh = kh0; kh < kh1; kh++) {
              let q = load<usize>(rows + ((<usize>kh) << 2)) + px + ((<usize>c) << 2);
              for (let kw = 0; kw < kW; kw++) {
                acc += load<f32>(q) * load<f32>(pw);
                q += cs;
                pw += 16;
              }
            }
            acc = min(max(acc, lo), hi);
            if (hs) acc = hardSwishF32(acc, ak, ac);
            store<f32>(d + ((<usize>c) << 2), acc);
          }
          d += outPix;
        }
      }
    }
  }
}
