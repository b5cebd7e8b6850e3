// 256-entry table lookup: y[i] = table[x[i]] over int8 / uint8 codes (an int8 code indexes by
// its byte, as onnxruntime's QLinearLookupBase does). The table is built once per (input,
// output) quantization on the TypeScript side; here it is applied. Also the row copy that
// QLinearConcat uses when an input's quantization equals the output's.

/**
 * Table lookup over `rows` runs of n codes: run r reads x + r * xStride and writes
 * out + r * outStride (concat writes each input's runs into the output's).
 *
 * Scalar loads, four codes per 32-bit load and store, on every build: measured faster than
 * the SIMD lookup below (lookup_u8_swizzle) on this project's x86-64 host, 0.43 against
 * 0.71 ns per code (Xeon, Sapphire Rapids class, Node 20; bench/elementwise.bench.mjs
 * measures both). Three load ports serve the table reads; the swizzle form spends four
 * vector instructions per 16-byte slice (V8 lowers each swizzle to a saturating add and a
 * pshufb), 64 per 16 codes.
 */
export function lookup_u8(x: usize, xStride: i32, n: i32, rows: i32, table: usize, out: usize, outStride: i32): void {
  for (let r = 0; r < rows; r++) lookupRun(x + <usize>r * <usize>xStride, n, table, out + <usize>r * <usize>outStride);
}

/** n codes from x through the 256-entry table to out, four per 32-bit load and store. */
@inline function lookupRun(px: usize, n: i32, table: usize, po: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w = load<u32>(px + i);
    const y =
      (<u32>load<u8>(table + (w & 0xff))) |
      ((<u32>load<u8>(table + ((w >> 8) & 0xff))) << 8) |
      ((<u32>load<u8>(table + ((w >> 16) & 0xff))) << 16) |
      ((<u32>load<u8>(table + (w >> 24))) << 24);
    store<u32>(po + i, y);
  }
  for (; i < n; i++) store<u8>(po + i, load<u8>(table + load<u8>(px + i)));
}

/**
 * One 256-entry table per channel over `pixels` runs of C codes (channels last): code i of a
 * run goes through the table at tables + (i % C) * 256, indexed by the code's byte. Scalar
 * loads, four codes per 32-bit load and store when C is a multiple of 4 (qwasm/onnx's table
 * ops equalized per channel).
 */
export function lookup_u8_channels(x: usize, pixels: i32, C: i32, tables: usize, out: usize): void {
  const run = <usize>C;
  if ((C & 3) == 0) {
    for (let p = 0; p < pixels; p++) {
      const px = x + <usize>p * run;
      const po = out + <usize>p * run;
      for (let c = 0; c < C; c += 4) {
        const w = load<u32>(px + c);
        const t = tables + ((<usize>c) << 8);
        store<u32>(
          po + c,
          (<u32>load<u8>(t + (w & 0xff))) |
            ((<u32>load<u8>(t + 256 + ((w >> 8) & 0xff))) << 8) |
            ((<u32>load<u8>(t + 512 + ((w >> 16) & 0xff))) << 16) |
            ((<u32>load<u8>(t + 768 + (w >> 24))) << 24),
        );
      }
    }
    return;
  }
  for (let p = 0; p < pixels; p++) {
    const px = x + <usize>p * run;
    const po = out + <usize>p * run;
    for (let c = 0; c < C; c++) store<u8>(po + c, load<u8>(tables + ((<usize>c) << 8) + load<u8>(px + c)));
  }
}

/**
 * Expands a 256-entry table into the 65536-entry table of code pairs: entry (hi << 8) | lo
 * holds table[lo] | table[hi] << 8, so one 16-bit read maps two codes (little-endian: the
 * first code is the low byte). 128 KiB at `dst`, written in 512-byte rows.
 */
export function lookup_pairs_build(table: usize, dst: usize): void {
  // row 0: table[lo] in the low byte of each 16-bit entry
  for (let lo = 0; lo < 256; lo++) store<u16>(dst + ((<usize>lo) << 1), <u16>load<u8>(table + lo));
  for (let hi = 1; hi < 256; hi++) {
    const row = dst + ((<usize>hi) << 9);
    const h = (<u32>load<u8>(table + hi)) << 8;
    let lo = 0;
    if (ASC_FEATURE_SIMD) {
      const vh = i16x8.splat(<i16>h);
      for (; lo < 256; lo += 8) v128.store(row + ((<usize>lo) << 1), v128.or(v128.load(dst + ((<usize>lo) << 1)), vh));
    }
    for (; lo < 256; lo++) store<u16>(row + ((<usize>lo) << 1), <u16>((<u32>load<u16>(dst + ((<usize>lo) << 1))) | h));
  }
  // row 0's own high byte last: the rows above were built from its low bytes alone
  const h0 = (<u32>load<u8>(table)) << 8;
  for (let lo = 0; lo < 256; lo++)
    store<u16>(dst + ((<usize>lo) << 1), <u16>((<u32>load<u16>(dst + ((<usize>lo) << 1))) | h0));
}

/**
 * lookup_u8 through the pair table of lookup_pairs_build: two 16-bit reads per four codes
 * instead of four byte reads, 1.85x faster here (46 against 86 us per 200704 codes, random
 * codes too: the 128 KiB table stays in L2). Worth its build (~10 us) from about 32K codes.
 */
export function lookup_u8_pairs(
  x: usize,
  xStride: i32,
  n: i32,
  rows: i32,
  pairs: usize,
  out: usize,
  outStride: i32,
): void {
  for (let r = 0; r < rows; r++) pairsRun(x + <usize>r * <usize>xStride, n, pairs, out + <usize>r * <usize>outStride);
}

/** n codes from x through the pair table to out: two 16-bit reads per four codes. */
@inline function pairsRun(px: usize, n: i32, pairs: usize, po: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w = load<u32>(px + i);
    store<u32>(
      po + i,
      (<u32>load<u16>(pairs + ((<usize>(w & 0xffff)) << 1))) |
        ((<u32>load<u16>(pairs + ((<usize>(w >> 16)) << 1))) << 16),
    );
  }
  // a single code reads row 0, whose low byte is table[code]
  for (; i < n; i++) store<u8>(po + i, load<u8>(pairs + ((<usize>load<u8>(px + i)) << 1)));
}

/**
 * The SIMD lookup, kept for the measurement above: the table as 16 slices of 16 bytes;
 * i8x16.swizzle returns 0 for an index >= 16, so swizzling slice k with (x - 16k) (wrapping
 * byte subtraction) contributes only in the lanes whose code falls in that slice, and OR-ing
 * the 16 results assembles the lookup. Exact on every engine (swizzle's out-of-range rule is
 * deterministic, unlike relaxed_swizzle's). The scalar build runs the scalar loop.
 */
export function lookup_u8_swizzle(x: usize, n: i32, table: usize, out: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const sixteen = i8x16.splat(16);
    for (; i + 16 <= n; i += 16) {
      let v = v128.load(x + i);
      let y = i8x16.swizzle(v128.load(table), v);
      for (let k = 1; k < 16; k++) {
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table + ((<usize>k) << 4)), v));
      }
      v128.store(out + i, y);
    }
  }
  for (; i < n; i++) store<u8>(out + i, load<u8>(table + load<u8>(x + i)));
}

@inline function copySmall(dst: usize, src: usize, bytes: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= bytes; i += 16) v128.store(dst + i, v128.load(src + i));
  }
  for (; i + 8 <= bytes; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i + 4 <= bytes; i += 4) store<u32>(dst + i, load<u32>(src + i));
  for (; i < bytes; i++) store<u8>(dst + i, load<u8>(src + i));
}

/**
 * Copies `rows` runs of `bytes` bytes: run r from x + r * xStride to out + r * outStride.
 * Short runs (an NHWC concat copies C channels per pixel) go through loads and stores:
 * memory.copy's fixed cost per call dominates below 64 bytes.
 */
export function copy_rows(x: usize, xStride: i32, bytes: i32, rows: i32, out: usize, outStride: i32): void {
  if (bytes >= 64) {
    for (let r = 0; r < rows; r++)
      memory.copy(out + <usize>r * <usize>outStride, x + <usize>r * <usize>xStride, <usize>bytes);
    return;
  }
  for (let r = 0; r < rows; r++) copySmall(out + <usize>r * <usize>outStride, x + <usize>r * <usize>xStride, bytes);
}

/** Output bytes per block of concat_rows: the block stays in L1 while every input writes its part. */
const CONCAT_BLOCK_BYTES = 16384;

/**
 * Concatenation of `inputs` int8 / uint8 inputs (or, with no tables, any bytes): output
 * row r is input 0's run r, then input 1's run r, ..., at out + r * outStride. srcs, runs
 * and tables are int32 arrays of `inputs` entries: the input's address in wasm memory, its
 * run in bytes (its rows contiguous, run bytes apart), and 0 for a straight copy or the
 * address of its requantizing table: a 256-byte table, or a pair table of
 * lookup_pairs_build with 1 added to its (64-byte aligned) address.
 *
 * Rows go in blocks of about 16 KiB of output, every input writing its part of the block in
 * turn, so each output cache line is filled while it sits in L1. Measured no faster than one
 * strided pass per input (copy_rows / lookup_u8_pairs): four 1 x 160 x 160 x 24 maps, copied
 * or two of them requantized, took the same time either way (within 5%, medians of 7 runs
 * in one process; Xeon, Sapphire Rapids class, Node 20), the output staying in L2. Kept for
 * the one call per concat and the table chosen per input.
 */
export function concat_rows(
  srcs: usize,
  runs: usize,
  tables: usize,
  inputs: i32,
  rows: i32,
  out: usize,
  outStride: i32,
): void {
  const block = max(1, CONCAT_BLOCK_BYTES / max(outStride, 1));
  for (let r0 = 0; r0 < rows; r0 += block) {
    const rn = min(block, rows - r0);
    let po = out + <usize>r0 * <usize>outStride;
    for (let i = 0; i < inputs; i++) {
      const o = (<usize>i) << 2;
      const n = load<i32>(runs + o);
      const px = <usize>load<u32>(srcs + o) + <usize>r0 * <usize>n;
      const table = <usize>load<u32>(tables + o);
      if (table == 0) {
        if (n >= 64)
          for (let r = 0; r < rn; r++)
            memory.copy(po + <usize>r * <usize>outStride, px + <usize>r * <usize>n, <usize>n);
        else for (let r = 0; r < rn; r++) copySmall(po + <usize>r * <usize>outStride, px + <usize>r * <usize>n, n);
      } else if (table & 1) {
        const pt = table - 1;
        for (let r = 0; r < rn; r++) pairsRun(px + <usize>r * <usize>n, n, pt, po + <usize>r * <usize>outStride);
      } else {
        for (let r = 0; r < rn; r++) lookupRun(px + <usize>r * <usize>n, n, table, po + <usize>r * <usize>outStride);
      }
      po += <usize>n;
    }
  }
}
