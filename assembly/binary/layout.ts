// The packed layouts the XNOR-popcount kernels read, and the tables built around them.
//
// A row of bits (K bits in ceil(K / 32) words, as qw.bitpack writes it) is cut into
// chunks of 128 bits. On the `simd` and `scalar` builds a chunk is those 16 bytes as is.
// On the `relaxed` build it is 32 bytes, the low and the high nibble of every byte in
// separate vectors (`nibble-split`): the kernel then xors nibbles and looks their
// popcounts up with one relaxed swizzle each, 6 vector ops per 128 bit-MACs instead of 8
// (the nibble split of i8x16.popcnt is done once here rather than for every pair).
// Bits past K are zero in both operands, so they xor to 0 and never count.
import { CHUNK, BNR } from './config';

/**
 * Writes chunk `c` of a bit row (Cw words at `row`, the last one masked by `lastMask`,
 * words past Cw read as 0) at `dst` in the build's chunk format.
 */
@inline function writeChunk(row: usize, c: i32, Cw: i32, lastMask: u32, dst: usize): void {
  const w0 = c << 2;
  if (ASC_FEATURE_SIMD && w0 + 4 < Cw) {
    storeChunk(dst, v128.load(row + ((<usize>w0) << 2)));
    return;
  }
  for (let i = 0; i < 4; i++) {
    const w = w0 + i;
    let v: u32 = 0;
    if (w < Cw) v = load<u32>(row + ((<usize>w) << 2));
    if (w == Cw - 1) v &= lastMask;
    store<u32>(dst + ((<usize>i) << 2), v);
  }
  if (ASC_FEATURE_RELAXED_SIMD) storeChunk(dst, v128.load(dst));
}

/** Stores 128 bits at dst: as is, or nibble-split on the relaxed build. */
@inline function storeChunk(dst: usize, x: v128): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const m = i8x16.splat(15);
    v128.store(dst, v128.and(x, m));
    v128.store(dst, v128.and(i16x8.shr_u(x, 4), m), 16);
  } else {
    v128.store(dst, x);
  }
}

/**
 * Re-lays `rows` bit rows (Cw words each, contiguous at src) as rows of Cv chunks at dst
 * (row stride Cv * CHUNK bytes), masking each row's last word with lastMask.
 */
export function bits_to_chunks(src: usize, rows: i32, Cw: i32, lastMask: u32, Cv: i32, dst: usize): void {
  const rowBytes = (<usize>Cw) << 2;
  let d = dst;
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>r * rowBytes;
    for (let c = 0; c < Cv; c++) {
      writeChunk(row, c, Cw, lastMask, d);
      d += CHUNK;
    }
  }
}

/**
 * Packs weights: N output channels x T taps, each a bit row of Cw words (row (n, t) at
 * src + (n * T + t) * Cw * 4), into panels of BNR channels: panel p holds, for every tap
 * t and chunk c in order, the BNR channels' chunks side by side. Channels past N are 0.
 */
export function bits_pack_w(src: usize, N: i32, T: i32, Cw: i32, lastMask: u32, Cv: i32, dst: usize): void {
  const rowBytes = (<usize>Cw) << 2;
  const panels = (N + BNR - 1) / BNR;
  let d = dst;
  for (let p = 0; p < panels; p++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < Cv; c++) {
        for (let j = 0; j < BNR; j++) {
          const n = p * BNR + j;
          if (n < N) writeChunk(src + (<usize>n * T + t) * rowBytes, c, Cw, lastMask, d);
          else memory.fill(d, 0, CHUNK);
          d += CHUNK;
        }
      }
    }
  }
}

/** Popcount of each of `rows` bit rows (Cw words, last word masked) into int32 at dst. */
export function bits_row_popcounts(src: usize, rows: i32, Cw: i32, lastMask: u32, dst: usize): void {
  let s = src;
  for (let r = 0; r < rows; r++) {
    let n: i32 = 0;
    for (let w = 0; w < Cw - 1; w++) n += popcnt<i32>(load<i32>(s + ((<usize>w) << 2)));
    n += popcnt<i32>(load<i32>(s + ((<usize>(Cw - 1)) << 2)) & lastMask);
    store<i32>(dst + ((<usize>r) << 2), n);
    s += (<usize>Cw) << 2;
  }
}

/**
 * GEMM records for the kernel: row m is [base, its `splits` taps] (u32 each), tap s at
 * a + m * rowBytes + s * splitBytes (long rows are cut into taps of at most FLUSH
 * chunks), `base` pointing at the int32 row of per-column K totals.
 */
export function bgemm_records(
  a: usize,
  M: i32,
  rowBytes: i32,
  splits: i32,
  splitBytes: i32,
  base: usize,
  dst: usize,
): void {
  let d = dst;
  for (let m = 0; m < M; m++) {
    store<u32>(d, <u32>base);
    d += 4;
    const row = a + <usize>m * rowBytes;
    for (let s = 0; s < splits; s++) {
      store<u32>(d, <u32>(row + <usize>s * splitBytes));
      d += 4;
    }
  }
}

/**
 * Lays out convolution input bits (Nb x H x W pixels of Cw words at src) as chunk rows
 * of a zero-padded image: Nb x (pT + H + pB) x (pL + W + pR) pixels of Cv chunks at dst.
 * The pad pixels are 0 bits (+1): every tap then reads real memory, and the taps of one
 * kernel row are contiguous when the width dilation is 1 (see bconv_records).
 */
export function bits_to_padded_chunks(
  src: usize,
  Nb: i32,
  H: i32,
  W: i32,
  Cw: i32,
  lastMask: u32,
  Cv: i32,
  pT: i32,
  pL: i32,
  pB: i32,
  pR: i32,
  dst: usize,
): void {
  const Wp = pL + W + pR;
  const pixelBytes = <usize>Cv * CHUNK;
  const rowBytes = <usize>Wp * pixelBytes;
  const imageBytes = <usize>(pT + H + pB) * rowBytes;
  const srcPixel = (<usize>Cw) << 2;
  for (let n = 0; n < Nb; n++) {
    const img = dst + <usize>n * imageBytes;
    memory.fill(img, 0, <usize>pT * rowBytes);
    memory.fill(img + <usize>(pT + H) * rowBytes, 0, <usize>pB * rowBytes);
    for (let h = 0; h < H; h++) {
      const row = img + <usize>(pT + h) * rowBytes;
      memory.fill(row, 0, <usize>pL * pixelBytes);
      memory.fill(row + <usize>(pL + W) * pixelBytes, 0, <usize>pR * pixelBytes);
      let d = row + <usize>pL * pixelBytes;
      let s = src + <usize>(n * H + h) * W * srcPixel;
      for (let w = 0; w < W; w++) {
        for (let c = 0; c < Cv; c++) {
          writeChunk(s, c, Cw, lastMask, d);
          d += CHUNK;
        }
        s += srcPixel;
      }
    }
  }
}

/**
 * Convolution records (indirection buffer) over a padded input (bits_to_padded_chunks,
 * Nb x Hp x Wp pixels of pixelBytes). Output pixel (n, oh, ow) gets [base, then for each
 * kernel row kh: `runs` runs of pixels, run r starting at padded column ow * sW + r *
 * runStride, each cut into `pieces` pointers pieceBytes apart]. With width dilation 1 one
 * run covers all kW taps of the row (their pixels are adjacent); otherwise each tap is a
 * run. base = table + (rowId[oh] * nColIds + colId[ow]) * tableRowBytes (rowId / colId 0:
 * all ids 0).
 */
export function bconv_records(
  x: usize,
  pixelBytes: i32,
  Nb: i32,
  Hp: i32,
  Wp: i32,
  OH: i32,
  OW: i32,
  kH: i32,
  sH: i32,
  sW: i32,
  dH: i32,
  runs: i32,
  runStride: i32,
  pieces: i32,
  pieceBytes: i32,
  rowId: usize,
  colId: usize,
  nColIds: i32,
  table: usize,
  tableRowBytes: i32,
  dst: usize,
): void {
  let d = dst;
  for (let n = 0; n < Nb; n++) {
    const img = x + <usize>n * Hp * Wp * pixelBytes;
    for (let oh = 0; oh < OH; oh++) {
      const ri = rowId != 0 ? load<i32>(rowId + ((<usize>oh) << 2)) : 0;
      for (let ow = 0; ow < OW; ow++) {
        const ci = colId != 0 ? load<i32>(colId + ((<usize>ow) << 2)) : 0;
        store<u32>(d, <u32>(table + <usize>(ri * nColIds + ci) * tableRowBytes));
        d += 4;
        for (let kh = 0; kh < kH; kh++) {
          const rowStart = img + (<usize>(oh * sH + kh * dH) * Wp + ow * sW) * pixelBytes;
          for (let r = 0; r < runs; r++) {
            const run = rowStart + <usize>(r * runStride) * pixelBytes;
            for (let q = 0; q < pieces; q++) {
              store<u32>(d, <u32>(run + <usize>q * pieceBytes));
              d += 4;
            }
          }
        }
      }
    }
  }
}

/**
 * The base table of zero-padded convolution: for each border pattern (row pattern r,
 * column pattern c) and output channel o, Ktot minus the +-1 sums of the taps that
 * pattern puts outside the image. The kernel reads pad pixels as +1 (bits 0), so
 * subtracting those taps' weight sums gives the zero-padded result.
 * tapSums[o * T + t] = sum of weight tap t of channel o; rowOut[r * kH + kh] and
 * colOut[c * kW + kw] are 1 where that tap row / column is outside. Rows hold Np values.
 */
export function bconv_base_table(
  tapSums: usize,
  O: i32,
  kH: i32,
  kW: i32,
  rowOut: usize,
  R: i32,
  colOut: usize,
  Cn: i32,
  Ktot: i32,
  Np: i32,
  dst: usize,
): void {
  const T = kH * kW;
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < Cn; c++) {
      const row = dst + ((<usize>(r * Cn + c) * Np) << 2);
      for (let o = 0; o < Np; o++) {
        let v = 0;
        if (o < O) {
          v = Ktot;
          for (let kh = 0; kh < kH; kh++) {
            const rOut = load<u8>(rowOut + r * kH + kh);
            for (let kw = 0; kw < kW; kw++) {
              if (rOut | load<u8>(colOut + c * kW + kw))
                v -= load<i32>(tapSums + ((<usize>(o * T + kh * kW + kw)) << 2));
            }
          }
        }
        store<i32>(row + ((<usize>o) << 2), v);
      }
    }
  }
}
