// The relaxed-SIMD probe: a tiny module, validated and then run on a known answer.
// Node 20's baseline compiler (behind --experimental-wasm-relaxed-simd) drops the
// accumulator and doubles the product of i32x4.relaxed_dot_i8x16_i7x16_add_s, so
// validating is not enough: the answer must be exact in the operand range qwasm uses
// (first operand any int8, second in [0, 127]), including the int16 pair-sum worst
// case 2 * (-128) * 127, which saturating engines would still compute exactly.

/** Returns 1 when relaxed_dot_i8x16_i7x16_add_s gives the exact answer for the cases qwasm relies on. */
export function probe(): i32 {
  const a = i8x16(-128, -128, -128, -128, 127, 127, 127, 127, 1, -1, 2, -2, 0, 5, -7, 100);
  const b = i8x16(127, 127, 127, 127, 127, 127, 127, 127, 3, 4, 5, 6, 0, 127, 1, 0);
  const c = i32x4(1000, -1000, 7, 123456);
  const r = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c);
  const e0 = 1000 + 4 * -128 * 127;
  const e1 = -1000 + 4 * 127 * 127;
  const e2 = 7 + (3 - 4 + 10 - 12);
  const e3 = 123456 + (0 + 5 * 127 - 7 + 0);
  const fm = f32x4.relaxed_madd(f32x4.splat(2), f32x4.splat(3), f32x4.splat(1));
  return i32(
    i32x4.extract_lane(r, 0) == e0 &&
      i32x4.extract_lane(r, 1) == e1 &&
      i32x4.extract_lane(r, 2) == e2 &&
      i32x4.extract_lane(r, 3) == e3 &&
      f32x4.extract_lane(fm, 0) == 7,
  );
}
