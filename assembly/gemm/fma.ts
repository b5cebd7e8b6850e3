/** a * b + c on four float32 lanes: fused (relaxed_madd) on the relaxed build, where tests
 * compare float32 results with a tolerance; an unfused multiply and add elsewhere. */
@inline export function fmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}
