// The XNOR-popcount GEMM driver, shared by binary matmul (one tap per row) and binary
// convolution (kH * kW taps per output pixel, through the indirection records).
//
// For record (row / pixel) m and output column n:
//   acc = base_m[n] - 2 * popcount(a_m xor w_n)
// where base_m[n] is K (matmul, one-padded convolution) or K minus the weight sums of
// the taps outside the image (zero-padded convolution, see bconv_base_table): the sum
// over +-1 of a * w is K - 2 * (number of differing signs).
//
// Epilogue parameter block (4-byte fields, written by src/ops/binary.ts):
//   0  p0   F32 / I8: float32[Np] multipliers; Bits: int32[Np] lower bounds
//   4  p1   F32 / I8: float32[Np] offsets;     Bits: int32[Np] upper bounds
//   8  lo   I8: float32 qmin - zp
//  12  hi   I8: float32 qmax - zp
//  16  zp   I8: int32 output zero point
// Np = N rounded up to BNR, so a tile never reads past the arrays.
import { BP_A0, BP_A1, BP_LO, BP_HI, BP_ZP } from '../layouts.generated';
import { BMR, BNR, CHUNK } from './config';
import {
  bgemm_1x2__simd_popcnt,
  bgemm_2x2__simd_popcnt,
  bgemm_3x2__simd_popcnt,
  bgemm_4x2__simd_popcnt,
  bgemm_1x2__relaxed_nibble,
  bgemm_2x2__relaxed_nibble,
  bgemm_1x2__scalar_popcnt64,
  bgemm_2x2__scalar_popcnt64,
} from './ukernels.generated';

export enum BinaryEpilogue {
  /** int32 acc (binaryMatMul, binaryConv2d). */
  I32 = 0,
  /** float32 f32(acc) * p0[n] + p1[n], multiply then add (no fused multiply-add). */
  F32 = 1,
  /** int8 clamp(roundHalfEven(f32(acc) * p0[n] + p1[n]), lo, hi) + zp. */
  I8 = 2,
  /** bit (p0[n] <= acc <= p1[n]) at bit n of the output row; 1 means -1. */
  Bits = 3,
}

/** Input bytes per row block (see bgemm). */
const MC_BYTES: i32 = 1 << 15;

/** Bytes of a popcount tile, int32 [BMR][BNR] row-major, plus spare lanes: the tile
 * stores whole vectors. */
export const BINARY_TILE_BYTES: i32 = BMR * BNR * 4 + 16;

// The popcounts of one tile. In static memory on the main instance; a thread pool's worker
// points it at a block of its own (binary_thread_scratch), since every instance of a
// threaded build shares the memory.
let tile: usize = memory.data(BINARY_TILE_BYTES, 16);

/** Points this instance's popcount tile at `t` (BINARY_TILE_BYTES <= 64, 16-byte aligned). */
export function binary_thread_scratch(t: usize): void {
  tile = t;
}

@inline function runTile(mr: i32, rec: usize, rs: usize, T: i32, Cv: i32, w: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (mr == 2) bgemm_2x2__relaxed_nibble(rec, rs, T, Cv, w, tile);
    else bgemm_1x2__relaxed_nibble(rec, rs, T, Cv, w, tile);
  } else if (ASC_FEATURE_SIMD) {
    if (mr == 4) bgemm_4x2__simd_popcnt(rec, rs, T, Cv, w, tile);
    else if (mr == 3) bgemm_3x2__simd_popcnt(rec, rs, T, Cv, w, tile);
    else if (mr == 2) bgemm_2x2__simd_popcnt(rec, rs, T, Cv, w, tile);
    else bgemm_1x2__simd_popcnt(rec, rs, T, Cv, w, tile);
  } else {
    if (mr == 2) bgemm_2x2__scalar_popcnt64(rec, rs, T, Cv, w, tile);
    else bgemm_1x2__scalar_popcnt64(rec, rs, T, Cv, w, tile);
  }
}

/**
 * out = epilogue(base - 2 * popcount(a xor w)) for M records x N columns.
 * rec: M records of (1 + T) u32 [base, taps...]; each tap addresses Cv chunks. w: the
 * panels of bits_pack_w. ldo: output row stride in elements (Bits: in words).
 */
export function bgemm(
  rec: usize,
  M: i32,
  T: i32,
  Cv: i32,
  w: usize,
  N: i32,
  out: usize,
  ldo: i32,
  kind: i32,
  params: usize,
): void {
  const rs = (<usize>(T + 1)) << 2;
  const panels = (N + BNR - 1) / BNR;
  const panelBytes = <usize>T * Cv * BNR * CHUNK;
  if (kind == BinaryEpilogue.Bits) memory.fill(out, 0, (<usize>M * ldo) << 2);
  // Rows per block: their input chunks (about T * Cv * CHUNK bytes each, less when
  // convolution taps overlap) stay in L1 / L2 while every weight panel passes over them.
  let mc = MC_BYTES / max(1, T * Cv * CHUNK);
  mc = max(BMR, mc - (mc % BMR));
  for (let m0 = 0; m0 < M; m0 += mc) {
    const mEnd = min(M, m0 + mc);
    for (let p = 0; p < panels; p++) {
      const n0 = p * BNR;
      const nc = min(BNR, N - n0);
      const wp = w + <usize>p * panelBytes;
      for (let m = m0; m < mEnd; m += BMR) {
        const mr = min(BMR, mEnd - m);
        const r = rec + <usize>m * rs;
        runTile(mr, r, rs, T, Cv, wp);
        epilogue(kind, mr, nc, r, rs, m, n0, out, ldo, params);
      }
    }
  }
}

/** acc of tile element (i, j): base - 2 * popcount. */
@inline function accAt(base: usize, i: i32, j: i32): i32 {
  return load<i32>(base + ((<usize>j) << 2)) - 2 * load<i32>(tile + ((<usize>(i * BNR + j)) << 2));
}

/**
 * The SIMD epilogue of a full-width tile (BNR = 2 columns), two rows per vector: lanes
 * (i, 0), (i, 1), (i + 1, 0), (i + 1, 1). The same float32 operations lane by lane as
 * the scalar epilogue, so every build rounds alike. A last odd row fills both halves
 * with itself and stores one.
 */
@inline function epilogueVec(
  kind: i32,
  mr: i32,
  rec: usize,
  rs: usize,
  m: i32,
  n0: i32,
  out: usize,
  ldo: i32,
  params: usize,
): void {
  const col = (<usize>n0) << 2;
  let p0: usize = 0;
  let p1: usize = 0;
  if (kind != BinaryEpilogue.I32) {
    p0 = load<usize>(params, BP_A0) + col;
    p1 = load<usize>(params, BP_A1) + col;
  }
  for (let i = 0; i < mr; i += 2) {
    const pair = i + 1 < mr;
    const i1 = pair ? i + 1 : i;
    let base = v128.load64_zero(<usize>load<u32>(rec + <usize>i * rs) + col);
    base = v128.load64_lane(<usize>load<u32>(rec + <usize>i1 * rs) + col, base, 1);
    let pops = v128.load(tile + ((<usize>(i * BNR)) << 2));
    if (!pair) pops = v128.shuffle<i32>(pops, pops, 0, 1, 0, 1);
    const acc = i32x4.sub(base, i32x4.shl(pops, 1));
    const row0 = <usize>(m + i) * ldo;
    const row1 = <usize>(m + i1) * ldo;
    if (kind == BinaryEpilogue.I32) {
      v128.store64_lane(out + ((row0 + n0) << 2), acc, 0);
      if (pair) v128.store64_lane(out + ((row1 + n0) << 2), acc, 1);
    } else if (kind == BinaryEpilogue.F32) {
      const f = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(acc), v128.load64_splat(p0)), v128.load64_splat(p1));
      v128.store64_lane(out + ((row0 + n0) << 2), f, 0);
      if (pair) v128.store64_lane(out + ((row1 + n0) << 2), f, 1);
    } else if (kind == BinaryEpilogue.I8) {
      let f = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(acc), v128.load64_splat(p0)), v128.load64_splat(p1));
      f = f32x4.nearest(
        f32x4.min(f32x4.max(f, f32x4.splat(load<f32>(params, BP_LO))), f32x4.splat(load<f32>(params, BP_HI))),
      );
      const q = i32x4.add(i32x4.trunc_sat_f32x4_s(f), i32x4.splat(load<i32>(params, BP_ZP)));
      const h = i16x8.narrow_i32x4_s(q, q);
      const b = i8x16.narrow_i16x8_s(h, h);
      v128.store16_lane(out + row0 + n0, b, 0);
      if (pair) v128.store16_lane(out + row1 + n0, b, 1);
    } else {
      const inside = v128.and(i32x4.ge_s(acc, v128.load64_splat(p0)), i32x4.le_s(acc, v128.load64_splat(p1)));
      const bits = <u32>i32x4.bitmask(inside);
      const shift = n0 & 31;
      const w0 = out + ((row0 + (n0 >> 5)) << 2);
      store<u32>(w0, load<u32>(w0) | ((bits & 3) << shift));
      if (pair) {
        const w1 = out + ((row1 + (n0 >> 5)) << 2);
        store<u32>(w1, load<u32>(w1) | ((bits >> 2) << shift));
      }
    }
  }
}

@inline function epilogue(
  kind: i32,
  mr: i32,
  nc: i32,
  rec: usize,
  rs: usize,
  m: i32,
  n0: i32,
  out: usize,
  ldo: i32,
  params: usize,
): void {
  if (ASC_FEATURE_SIMD && nc == BNR) {
    epilogueVec(kind, mr, rec, rs, m, n0, out, ldo, params);
    return;
  }
  const col = (<usize>n0) << 2;
  if (kind == BinaryEpilogue.I32) {
    for (let i = 0; i < mr; i++) {
      const base = <usize>load<u32>(rec + <usize>i * rs) + col;
      const dst = out + ((<usize>(m + i) * ldo + n0) << 2);
      for (let j = 0; j < nc; j++) store<i32>(dst + ((<usize>j) << 2), accAt(base, i, j));
    }
    return;
  }
  const p0 = load<usize>(params, BP_A0) + col;
  const p1 = load<usize>(params, BP_A1) + col;
  if (kind == BinaryEpilogue.F32) {
    for (let i = 0; i < mr; i++) {
      const base = <usize>load<u32>(rec + <usize>i * rs) + col;
      const dst = out + ((<usize>(m + i) * ldo + n0) << 2);
      for (let j = 0; j < nc; j++) {
        const jo = (<usize>j) << 2;
        store<f32>(dst + jo, <f32>accAt(base, i, j) * load<f32>(p0 + jo) + load<f32>(p1 + jo));
      }
    }
  } else if (kind == BinaryEpilogue.I8) {
    const lo = load<f32>(params, BP_LO);
    const hi = load<f32>(params, BP_HI);
    const zp = load<i32>(params, BP_ZP);
    for (let i = 0; i < mr; i++) {
      const base = <usize>load<u32>(rec + <usize>i * rs) + col;
      const dst = out + <usize>(m + i) * ldo + n0;
      for (let j = 0; j < nc; j++) {
        const jo = (<usize>j) << 2;
        const f = <f32>accAt(base, i, j) * load<f32>(p0 + jo) + load<f32>(p1 + jo);
        store<i8>(dst + j, <i8>(<i32>nearest<f32>(min<f32>(max<f32>(f, lo), hi)) + zp));
      }
    }
  } else {
    // BNR divides 32, so a tile's bits land in one word per row
    const shift = n0 & 31;
    for (let i = 0; i < mr; i++) {
      const base = <usize>load<u32>(rec + <usize>i * rs) + col;
      let bits: u32 = 0;
      for (let j = 0; j < nc; j++) {
        const acc = accAt(base, i, j);
        const jo = (<usize>j) << 2;
        bits |= (<u32>(acc >= load<i32>(p0 + jo) && acc <= load<i32>(p1 + jo))) << j;
      }
      const word = out + ((<usize>(m + i) * ldo + (n0 >> 5)) << 2);
      store<u32>(word, load<u32>(word) | (bits << shift));
    }
  }
}

/** Panel width of the packed weights. */
export function binary_nr(): i32 {
  return BNR;
}

/** Bytes per 128-bit chunk of the packed layout. */
export function binary_chunk_bytes(): i32 {
  return CHUNK;
}
