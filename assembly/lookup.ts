// 256-entry table lookup: y[i] = table[x[i]] over int8 / uint8 codes (an int8 code indexes by
// its byte, as onnxruntime's QLinearLookupBase does). The table is built once per (input,
// output) quantization on the TypeScript side; here it is applied. Also the row copy that
// QLinearConcat uses when an input's quantization equals the output's.

/**
 * Table lookup over `rows` runs of n codes: run r reads x + r * xStride and writes
 * out + r * outStride (concat writes each input's runs into the output's).
 *
 * SIMD: the table as 16 slices of 16 bytes; i8x16.swizzle returns 0 for an index >= 16, so
 * swizzling slice k with (x - 16k) (wrapping byte subtraction) contributes only in the lanes
 * whose code falls in that slice, and OR-ing the 16 results assembles the lookup. Exact on
 * every engine (the out-of-range rule of swizzle is deterministic, unlike relaxed_swizzle).
 */
export function lookup_u8(x: usize, xStride: i32, n: i32, rows: i32, table: usize, out: usize, outStride: i32): void {
  for (let r = 0; r < rows; r++) {
    const px = x + <usize>(r * xStride);
    const po = out + <usize>(r * outStride);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const t0 = v128.load(table);
      const t1 = v128.load(table, 16);
      const t2 = v128.load(table, 32);
      const t3 = v128.load(table, 48);
      const t4 = v128.load(table, 64);
      const t5 = v128.load(table, 80);
      const t6 = v128.load(table, 96);
      const t7 = v128.load(table, 112);
      const sixteen = i8x16.splat(16);
      for (; i + 16 <= n; i += 16) {
        let v = v128.load(px + i);
        let y = i8x16.swizzle(t0, v);
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(t1, v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(t2, v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(t3, v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(t4, v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(t5, v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(t6, v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(t7, v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table, 128), v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table, 144), v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table, 160), v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table, 176), v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table, 192), v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table, 208), v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table, 224), v));
        v = i8x16.sub(v, sixteen);
        y = v128.or(y, i8x16.swizzle(v128.load(table, 240), v));
        v128.store(po + i, y);
      }
    }
    for (; i + 4 <= n; i += 4) {
      const w = load<u32>(px + i);
      const y =
        <u32>load<u8>(table + (w & 0xff)) |
        (<u32>load<u8>(table + ((w >> 8) & 0xff)) << 8) |
        (<u32>load<u8>(table + ((w >> 16) & 0xff)) << 16) |
        (<u32>load<u8>(table + (w >> 24)) << 24);
      store<u32>(po + i, y);
    }
    for (; i < n; i++) store<u8>(po + i, load<u8>(table + load<u8>(px + i)));
  }
}

/** The scalar-load lookup (four codes per 32-bit load and store), for measuring against lookup_u8. */
export function lookup_u8_scalar(x: usize, n: i32, table: usize, out: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w = load<u32>(x + i);
    const y =
      <u32>load<u8>(table + (w & 0xff)) |
      (<u32>load<u8>(table + ((w >> 8) & 0xff)) << 8) |
      (<u32>load<u8>(table + ((w >> 16) & 0xff)) << 16) |
      (<u32>load<u8>(table + (w >> 24)) << 24);
    store<u32>(out + i, y);
  }
  for (; i < n; i++) store<u8>(out + i, load<u8>(table + load<u8>(x + i)));
}

/** Copies `rows` runs of `bytes` bytes: run r from x + r * xStride to out + r * outStride. */
export function copy_rows(x: usize, xStride: i32, bytes: i32, rows: i32, out: usize, outStride: i32): void {
  for (let r = 0; r < rows; r++) {
    memory.copy(out + <usize>(r * outStride), x + <usize>(r * xStride), <usize>bytes);
  }
}
