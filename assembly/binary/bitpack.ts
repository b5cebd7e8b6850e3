// Bit-packing: the sign of each element along the last axis, 32 per little-endian
// word (element c of a row is bit c & 31 of word c >> 5), rows padded to whole words
// with 0 bits. The bit is exactly `x < 0`: -0 and NaN give 0 (+1), like every x >= 0.
// Int8 needs no compare: its sign bit is `x < 0` (read as the top bit of the unsigned
// byte: the optimizer folded `load<i8>(p) < 0` to false). Float32 compares first, because the
// sign bit of -0 and of a negative NaN is set.

/** Sign bits of 32 floats at p (bit i = p[i] < 0). */
@inline function signs32F32(p: usize): u32 {
  const z = f32x4.splat(0);
  const m0 = i16x8.narrow_i32x4_s(f32x4.lt(v128.load(p), z), f32x4.lt(v128.load(p, 16), z));
  const m1 = i16x8.narrow_i32x4_s(f32x4.lt(v128.load(p, 32), z), f32x4.lt(v128.load(p, 48), z));
  const m2 = i16x8.narrow_i32x4_s(f32x4.lt(v128.load(p, 64), z), f32x4.lt(v128.load(p, 80), z));
  const m3 = i16x8.narrow_i32x4_s(f32x4.lt(v128.load(p, 96), z), f32x4.lt(v128.load(p, 112), z));
  const lo = <u32>i8x16.bitmask(i8x16.narrow_i16x8_s(m0, m1));
  const hi = <u32>i8x16.bitmask(i8x16.narrow_i16x8_s(m2, m3));
  return lo | (hi << 16);
}

/** Sign bits of 32 int8 at p. */
@inline function signs32I8(p: usize): u32 {
  return (<u32>i8x16.bitmask(v128.load(p))) | ((<u32>i8x16.bitmask(v128.load(p, 16))) << 16);
}

/**
 * Packs `rows` rows of C float32 (contiguous) into rows of ceil(C / 32) words at dst.
 */
export function bitpack_f32(x: usize, rows: i32, C: i32, dst: usize): void {
  const full = C >> 5;
  const tail = C & 31;
  let src = x;
  let d = dst;
  for (let r = 0; r < rows; r++) {
    for (let w = 0; w < full; w++) {
      if (ASC_FEATURE_SIMD) {
        store<u32>(d, signs32F32(src));
      } else {
        let bits: u32 = 0;
        for (let i = 0; i < 32; i++) bits |= (<u32>(load<f32>(src + ((<usize>i) << 2)) < 0)) << i;
        store<u32>(d, bits);
      }
      src += 128;
      d += 4;
    }
    if (tail != 0) {
      let bits: u32 = 0;
      for (let i = 0; i < tail; i++) bits |= (<u32>(load<f32>(src + ((<usize>i) << 2)) < 0)) << i;
      store<u32>(d, bits);
      src += (<usize>tail) << 2;
      d += 4;
    }
  }
}

/** Packs `rows` rows of C int8 (contiguous) into rows of ceil(C / 32) words at dst. */
export function bitpack_i8(x: usize, rows: i32, C: i32, dst: usize): void {
  const full = C >> 5;
  const tail = C & 31;
  let src = x;
  let d = dst;
  for (let r = 0; r < rows; r++) {
    for (let w = 0; w < full; w++) {
      if (ASC_FEATURE_SIMD) {
        store<u32>(d, signs32I8(src));
      } else {
        let bits: u32 = 0;
        for (let i = 0; i < 32; i++) bits |= ((<u32>load<u8>(src + i)) >> 7) << i;
        store<u32>(d, bits);
      }
      src += 32;
      d += 4;
    }
    if (tail != 0) {
      let bits: u32 = 0;
      for (let i = 0; i < tail; i++) bits |= ((<u32>load<u8>(src + i)) >> 7) << i;
      store<u32>(d, bits);
      src += tail;
      d += 4;
    }
  }
}

/** Unpacks rows of ceil(C / 32) words into rows of C float32 +-1 (bit 1 -> -1). */
export function bitunpack_f32(bits: usize, rows: i32, C: i32, dst: usize): void {
  const words = (C + 31) >> 5;
  let s = bits;
  let d = dst;
  for (let r = 0; r < rows; r++) {
    let c = 0;
    for (let w = 0; w < words; w++) {
      const word = load<u32>(s);
      s += 4;
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        if (C - c >= 32) {
          // each group of 4 bits selects -1 or +1 per lane
          const lane = i32x4(1, 2, 4, 8);
          const plus = f32x4.splat(1);
          const minus = f32x4.splat(-1);
          for (; i < 32; i += 4) {
            const set = i32x4.ne(v128.and(i32x4.splat(<i32>(word >> i)), lane), i32x4.splat(0));
            v128.store(d + ((<usize>i) << 2), v128.bitselect(minus, plus, set));
          }
        }
      }
      const n = min(32, C - c);
      for (; i < n; i++) store<f32>(d + ((<usize>i) << 2), (word >> i) & 1 ? -1 : 1);
      d += (<usize>n) << 2;
      c += n;
    }
  }
}
