import { expScalar, expVec } from './unary';

// Softmax over one axis of int8 / uint8 codes with onnxruntime's QLinearSoftmax arithmetic,
// and its float32 twin. x is viewed as [outer, D, inner]; each of the outer * inner rows
// reduces D codes spaced `inner` apart.
//
// The TypeScript side builds `table` (256 float32): table[d] = f32(exp((-d + shift) * xScale))
// for a code d steps below the row's maximum, where shift keeps the row sum below the
// float32 maximum (onnxruntime's "bit_shift"). Per row:
//   sum = table[max - x_0] + table[max - x_1] + ...   float32, in element order
//   y_k = roundHalfEven(f32(f32(table[max - x_k] * Y) / sum)) + yZp, at most qmax
// with Y = floor(1 / yScale) (a float32 integer), as onnxruntime rounds. The sum is
// sequential: float addition is not associative, so reordering it would change the codes.

@inline function code<T>(p: usize): i32 {
  const signed = isSigned<T>();
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

/** The largest code of a row of D codes spaced `step` apart. */
@inline function rowMax<T>(x: usize, base: usize, D: i32, step: usize): i32 {
  const signed = isSigned<T>();
  let mx = -128;
  let k0 = 0;
  if (ASC_FEATURE_SIMD) {
    if (step == 1 && D >= 16) {
      let vm = v128.load(x + base);
      for (k0 = 16; k0 + 16 <= D; k0 += 16) {
        const v = v128.load(x + base + <usize>k0);
        vm = signed ? i8x16.max_s(vm, v) : i8x16.max_u(vm, v);
      }
      // fold the 16 lanes in halves: 8, 4, 2, 1
      let h = i8x16.shuffle(vm, vm, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
      vm = signed ? i8x16.max_s(vm, h) : i8x16.max_u(vm, h);
      h = i8x16.shuffle(vm, vm, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3);
      vm = signed ? i8x16.max_s(vm, h) : i8x16.max_u(vm, h);
      h = i8x16.shuffle(vm, vm, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1);
      vm = signed ? i8x16.max_s(vm, h) : i8x16.max_u(vm, h);
      h = i8x16.shuffle(vm, vm, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0);
      vm = signed ? i8x16.max_s(vm, h) : i8x16.max_u(vm, h);
      // each branch cast to i32: the bare ternary would type as i8 and wrap codes above 127
      mx = signed ? <i32>i8x16.extract_lane_s(vm, 0) : <i32>i8x16.extract_lane_u(vm, 0);
    }
  }
  for (let k = k0; k < D; k++) {
    const v = code<T>(x + base + <usize>k * step);
    if (v > mx) mx = v;
  }
  return mx;
}

@inline function expAt<T>(x: usize, p: usize, mx: i32, table: usize): f32 {
  return load<f32>(table + ((<usize>(mx - code<T>(x + p))) << 2));
}

/** The output codes of one row, given its maximum and float32 sum. */
@inline function rowOut<T>(
  x: usize,
  base: usize,
  D: i32,
  step: usize,
  table: usize,
  Y: f32,
  zy: i32,
  qmax: i32,
  mx: i32,
  sum: f32,
  out: usize,
): void {
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    if (step == 1) {
      // four lanes of the same float32 steps (the table reads stay scalar); the clamp
      // happens before the zero point is added, as below (the quotient is >= 0)
      const vY = f32x4.splat(Y);
      const vsum = f32x4.splat(sum);
      const vhi = f32x4.splat(<f32>(qmax - zy));
      const vz = i32x4.splat(zy);
      for (; k + 4 <= D; k += 4) {
        const p = base + <usize>k;
        let e = f32x4.splat(expAt<T>(x, p, mx, table));
        e = f32x4.replace_lane(e, 1, expAt<T>(x, p + 1, mx, table));
        e = f32x4.replace_lane(e, 2, expAt<T>(x, p + 2, mx, table));
        e = f32x4.replace_lane(e, 3, expAt<T>(x, p + 3, mx, table));
        const v = f32x4.pmin(f32x4.nearest(f32x4.div(f32x4.mul(e, vY), vsum)), vhi);
        const q = i32x4.add(i32x4.trunc_sat_f32x4_s(v), vz);
        store<i32>(
          out + p,
          i32x4.extract_lane(i8x16.shuffle(q, q, 0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0),
        );
      }
    }
  }
  for (; k < D; k++) {
    const p = base + <usize>k * step;
    // compared before the zero point is added: f32(e * Y) overflows to infinity for
    // D < Y / e^5, and an infinity must saturate, not wrap
    const v = nearest<f32>((expAt<T>(x, p, mx, table) * Y) / sum);
    store<u8>(out + p, <u8>(v > <f32>(qmax - zy) ? qmax : <i32>v + zy));
  }
}

/** Where row r of the [outer, D, inner] view starts. */
@inline function rowBase(r: i32, D: i32, inner: i32): usize {
  const o = r / inner;
  return <usize>o * <usize>D * <usize>inner + <usize>(r - o * inner);
}

/** qsoftmax for codes T (i8 or u8): `signed` is a constant there, so its loops carry no select between the two. */
function qsoftmaxOf<T>(
  x: usize,
  outer: i32,
  D: i32,
  inner: i32,
  table: usize,
  Y: f32,
  zy: i32,
  qmax: i32,
  out: usize,
): void {
  const step = <usize>inner;
  const R = outer * inner;
  let r = 0;
  for (; r + 4 <= R; r += 4) {
    const b0 = rowBase(r, D, inner);
    const b1 = rowBase(r + 1, D, inner);
    const b2 = rowBase(r + 2, D, inner);
    const b3 = rowBase(r + 3, D, inner);
    const m0 = rowMax<T>(x, b0, D, step);
    const m1 = rowMax<T>(x, b1, D, step);
    const m2 = rowMax<T>(x, b2, D, step);
    const m3 = rowMax<T>(x, b3, D, step);
    let s0: f32 = 0;
    let s1: f32 = 0;
    let s2: f32 = 0;
    let s3: f32 = 0;
    for (let k = 0; k < D; k++) {
      const o = <usize>k * step;
      s0 += expAt<T>(x, b0 + o, m0, table);
      s1 += expAt<T>(x, b1 + o, m1, table);
      s2 += expAt<T>(x, b2 + o, m2, table);
      s3 += expAt<T>(x, b3 + o, m3, table);
    }
    rowOut<T>(x, b0, D, step, table, Y, zy, qmax, m0, s0, out);
    rowOut<T>(x, b1, D, step, table, Y, zy, qmax, m1, s1, out);
    rowOut<T>(x, b2, D, step, table, Y, zy, qmax, m2, s2, out);
    rowOut<T>(x, b3, D, step, table, Y, zy, qmax, m3, s3, out);
  }
  for (; r < R; r++) {
    const b = rowBase(r, D, inner);
    const m = rowMax<T>(x, b, D, step);
    let sum: f32 = 0;
    for (let k = 0; k < D; k++) sum += expAt<T>(x, b + <usize>k * step, m, table);
    rowOut<T>(x, b, D, step, table, Y, zy, qmax, m, sum, out);
  }
}

/**
 * Quantized softmax (see the file comment); `qmax` is the output dtype's largest code.
 * Rows go four at a time through the sum: four independent float32 chains, each still in
 * its own element order, hide the addition's latency.
 */
export function qsoftmax(
  x: usize,
  outer: i32,
  D: i32,
  inner: i32,
  signed: bool,
  table: usize,
  Y: f32,
  zy: i32,
  qmax: i32,
  out: usize,
): void {
  if (signed) qsoftmaxOf<i8>(x, outer, D, inner, table, Y, zy, qmax, out);
  else qsoftmaxOf<u8>(x, outer, D, inner, table, Y, zy, qmax, out);
}

/**
 * float32 softmax over the same [outer, D, inner] view: exp(x - max) / sum, with the exp of
 * assembly/unary.ts. The sum runs in four lanes (element k into lane k % 4, the lanes added
 * pairwise, then the tail in order) on both builds, so they agree bit for bit.
 */
export function softmax_f32(x: usize, outer: i32, D: i32, inner: i32, out: usize): void {
  const step = (<usize>inner) << 2;
  const D4 = D & ~3;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = (<usize>o * <usize>D * <usize>inner + <usize>j) << 2;
      // the maximum is exact in any order (pmax, like the comparison below, never takes a NaN)
      let mx: f32 = -Infinity;
      let k0 = 0;
      if (ASC_FEATURE_SIMD && inner == 1) {
        let vm = f32x4.splat(-Infinity);
        for (; k0 + 4 <= D; k0 += 4) vm = f32x4.pmax(vm, v128.load(x + base + ((<usize>k0) << 2)));
        for (let l = 0; l < 4; l++) {
          const v = f32x4.extract_lane(vm, 0);
          if (v > mx) mx = v;
          vm = v128.shuffle<f32>(vm, vm, 1, 2, 3, 0);
        }
      }
      for (let k = k0; k < D; k++) {
        const v = load<f32>(x + base + <usize>k * step);
        if (v > mx) mx = v;
      }
      let sum: f32 = 0;
      if (ASC_FEATURE_SIMD && inner == 1) {
        const vmx = f32x4.splat(mx);
        let vs = f32x4.splat(0);
        for (let k = 0; k < D4; k += 4) {
          const p = base + ((<usize>k) << 2);
          const e = expVec(f32x4.sub(v128.load(x + p), vmx));
          v128.store(out + p, e);
          vs = f32x4.add(vs, e);
        }
        sum =
          f32x4.extract_lane(vs, 0) +
          f32x4.extract_lane(vs, 1) +
          (f32x4.extract_lane(vs, 2) + f32x4.extract_lane(vs, 3));
      } else {
        let s0: f32 = 0;
        let s1: f32 = 0;
        let s2: f32 = 0;
        let s3: f32 = 0;
        for (let k = 0; k < D4; k += 4) {
          const p = base + <usize>k * step;
          const e0 = expScalar(load<f32>(x + p) - mx);
          const e1 = expScalar(load<f32>(x + p + step) - mx);
          const e2 = expScalar(load<f32>(x + p + 2 * step) - mx);
          const e3 = expScalar(load<f32>(x + p + 3 * step) - mx);
          store<f32>(out + p, e0);
          store<f32>(out + p + step, e1);
          store<f32>(out + p + 2 * step, e2);
          store<f32>(out + p + 3 * step, e3);
          s0 += e0;
          s1 += e1;
          s2 += e2;
          s3 += e3;
        }
        sum = s0 + s1 + (s2 + s3);
      }
      for (let k = D4; k < D; k++) {
        const p = base + <usize>k * step;
        const e = expScalar(load<f32>(x + p) - mx);
        store<f32>(out + p, e);
        sum += e;
      }
      const inv: f32 = 1 / sum;
      let k1 = 0;
      if (ASC_FEATURE_SIMD && inner == 1) {
        const vinv = f32x4.splat(inv);
        for (; k1 + 4 <= D; k1 += 4) {
          const p = out + base + ((<usize>k1) << 2);
          v128.store(p, f32x4.mul(v128.load(p), vinv));
        }
      }
      for (let k = k1; k < D; k++) {
        const p = out + base + <usize>k * step;
        store<f32>(p, load<f32>(p) * inv);
      }
    }
  }
}
