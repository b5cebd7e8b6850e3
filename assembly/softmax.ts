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

@inline function code(p: usize, signed: bool): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

/** Quantized softmax (see the file comment); `qmax` is the output dtype's largest code. */
export function qsoftmax(x: usize, outer: i32, D: i32, inner: i32, signed: bool, table: usize, Y: f32, zy: i32, qmax: i32, out: usize): void {
  const step = <usize>inner;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = <usize>(o * D * inner + j);
      let mx = -128;
      for (let k = 0; k < D; k++) {
        const v = code(x + base + <usize>k * step, signed);
        if (v > mx) mx = v;
      }
      let sum: f32 = 0;
      for (let k = 0; k < D; k++) {
        const d = mx - code(x + base + <usize>k * step, signed);
        sum += load<f32>(table + (<usize>d << 2));
      }
      for (let k = 0; k < D; k++) {
        const p = base + <usize>k * step;
        const d = mx - code(x + p, signed);
        // compared before the zero point is added: f32(e * Y) overflows to infinity for
        // D < Y / e^5, and an infinity must saturate, not wrap
        const v = nearest<f32>((load<f32>(table + (<usize>d << 2)) * Y) / sum);
        store<u8>(out + p, <u8>(v > <f32>(qmax - zy) ? qmax : <i32>v + zy));
      }
    }
  }
}

/** float32 softmax over the same [outer, D, inner] view: exp(x - max) / sum. */
export function softmax_f32(x: usize, outer: i32, D: i32, inner: i32, out: usize): void {
  const step = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = <usize>(o * D * inner + j) << 2;
      let mx: f32 = -Infinity;
      for (let k = 0; k < D; k++) {
        const v = load<f32>(x + base + <usize>k * step);
        if (v > mx) mx = v;
      }
      let sum: f32 = 0;
      for (let k = 0; k < D; k++) {
        const p = base + <usize>k * step;
        const e = Mathf.exp(load<f32>(x + p) - mx);
        store<f32>(out + p, e);
        sum += e;
      }
      const inv: f32 = 1 / sum;
      for (let k = 0; k < D; k++) {
        const p = out + base + <usize>k * step;
        store<f32>(p, load<f32>(p) * inv);
      }
    }
  }
}
