// float32 twins of the lookup-table activations: the honest baseline for a layer a user
// keeps in float. f32x4 throughout; exp by range reduction (x = n ln2 + r, |r| <= ln2 / 2,
// ln2 split in two so n * ln2_hi is exact) and a degree-5 polynomial for e^r (Cephes'
// expf coefficients, ~2 ulp), scaled by 2^n through the exponent bits.
//
// kind: 0 sigmoid, 1 tanh, 2 SiLU (x * sigmoid(x)), 3 GELU (tanh form:
// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))), 4 hard-swish (x * relu6(x + 3) / 6),
// 5 leaky ReLU (x >= 0 ? x : alpha * x).

@inline export function expVec(x: v128): v128 {
  const c = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.3762626647949)), f32x4.splat(-87.3365447504019));
  const n = f32x4.nearest(f32x4.mul(c, f32x4.splat(1.4426950408889634)));
  let r = f32x4.sub(c, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.1219444e-4)));
  let p = f32x4.splat(1.98756915e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

@inline function sigmoidVec(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, expVec(f32x4.neg(x))));
}

@inline function tanhVec(x: v128): v128 {
  const two = f32x4.splat(2);
  return f32x4.sub(f32x4.mul(two, sigmoidVec(f32x4.mul(two, x))), f32x4.splat(1));
}

@inline function unaryVec(kind: i32, x: v128, alpha: f32): v128 {
  if (kind == 0) return sigmoidVec(x);
  if (kind == 1) return tanhVec(x);
  if (kind == 2) return f32x4.mul(x, sigmoidVec(x));
  if (kind == 3) {
    const inner = f32x4.mul(
      f32x4.splat(0.7978845608),
      f32x4.add(x, f32x4.mul(f32x4.splat(0.044715), f32x4.mul(x, f32x4.mul(x, x)))),
    );
    return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(f32x4.splat(1), tanhVec(inner)));
  }
  if (kind == 4) {
    const r6 = f32x4.pmin(f32x4.pmax(f32x4.add(x, f32x4.splat(3)), f32x4.splat(0)), f32x4.splat(6));
    return f32x4.mul(x, f32x4.mul(r6, f32x4.splat(<f32>(1.0 / 6.0))));
  }
  return v128.bitselect(x, f32x4.mul(x, f32x4.splat(alpha)), f32x4.ge(x, f32x4.splat(0)));
}

// The scalar build runs the same operations one lane at a time, so both builds agree bit for bit.
@inline function pminS(a: f32, b: f32): f32 {
  return b < a ? b : a;
}
@inline function pmaxS(a: f32, b: f32): f32 {
  return a < b ? b : a;
}

@inline export function expScalar(x: f32): f32 {
  const c = pmaxS(pminS(x, 88.3762626647949), -87.3365447504019);
  const n = nearest<f32>(c * <f32>1.4426950408889634);
  let r: f32 = c - n * <f32>0.693359375;
  r = r - n * <f32>-2.1219444e-4;
  let p: f32 = 1.98756915e-4;
  p = p * r + <f32>1.3981999507e-3;
  p = p * r + <f32>8.3334519073e-3;
  p = p * r + <f32>4.1665795894e-2;
  p = p * r + <f32>1.6666665459e-1;
  p = p * r + <f32>5.0000001201e-1;
  const r2 = r * r;
  p = p * r2 + r + <f32>1;
  return p * reinterpret<f32>((<i32>n + 127) << 23);
}

@inline function sigmoidScalar(x: f32): f32 {
  return <f32>1 / (<f32>1 + expScalar(-x));
}

@inline function tanhScalar(x: f32): f32 {
  return <f32>2 * sigmoidScalar(<f32>2 * x) - <f32>1;
}

@inline function unaryScalar(kind: i32, x: f32, alpha: f32): f32 {
  if (kind == 0) return sigmoidScalar(x);
  if (kind == 1) return tanhScalar(x);
  if (kind == 2) return x * sigmoidScalar(x);
  if (kind == 3) {
    const inner: f32 = <f32>0.7978845608 * (x + <f32>0.044715 * (x * (x * x)));
    return <f32>0.5 * x * (<f32>1 + tanhScalar(inner));
  }
  if (kind == 4) return x * (pminS(pmaxS(x + <f32>3, 0), 6) * <f32>(1.0 / 6.0));
  return x >= 0 ? x : x * alpha;
}

/** y = f(x) over n float32 values (kind as in the file comment). */
export function unary_f32(x: usize, n: i32, kind: i32, alpha: f32, out: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(out + o, unaryVec(kind, v128.load(x + o), alpha));
    }
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, unaryScalar(kind, load<f32>(x + o), alpha));
  }
}

/**
 * Hard-swish as an ONNX graph writes it, each operation rounded to float32 in graph order:
 * t = min(max(x + 3, 0), 6), h = (x * t) / 6, then with `affine` h * m + c (a Mul and an Add):
 * the bits onnxruntime's float32 gives on that graph (the float region of a quantized model's
 * 16-bit convs). A true division by 6, no fused multiply-add.
 */
export function hard_swish_exact_f32(x: usize, n: i32, m: f32, c: f32, affine: i32, out: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const three = f32x4.splat(3);
    const zero = f32x4.splat(0);
    const six = f32x4.splat(6);
    const vm = f32x4.splat(m);
    const vc = f32x4.splat(c);
    for (; i + 4 <= n; i += 4) {
      const p = (<usize>i) << 2;
      const v = v128.load(x + p);
      const t = f32x4.pmin(f32x4.pmax(f32x4.add(v, three), zero), six);
      let h = f32x4.div(f32x4.mul(v, t), six);
      if (affine) h = f32x4.add(f32x4.mul(h, vm), vc);
      v128.store(out + p, h);
    }
  }
  for (; i < n; i++) {
    const p = (<usize>i) << 2;
    const v = load<f32>(x + p);
    const t = min<f32>(max<f32>(v + 3, 0), 6);
    let h = (v * t) / 6;
    if (affine) h = h * m + c;
    store<f32>(out + p, h);
  }
}
