// Plain scalar references of the int8 elementwise ops (QLinearAdd / QLinearMul, lookup
// tables, QLinearSoftmax, QLinearConcat): one element at a time, numpy broadcasting by
// index arithmetic, float32 steps through Math.fround. Written from the arithmetic
// contracts in docs/elementwise.md, not from the kernels.

const f = Math.fround;

export type Dtype = 'int8' | 'uint8';

export function range(dtype: Dtype): [number, number] {
  return dtype === 'int8' ? [-128, 127] : [0, 255];
}

/** Round half to even. */
export function rne(x: number): number {
  const r = Math.round(x);
  // + 0 turns -0 into 0: codes are integers
  return (Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

/** The numpy broadcast output shape, or null when the shapes do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[i - rank + a.length] ?? 1;
    const db = b[i - rank + b.length] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** The flat index into `shape` (right-aligned, broadcast) of output multi-index `idx`. */
function sourceIndex(shape: readonly number[], idx: readonly number[]): number {
  let k = 0;
  const off = idx.length - shape.length;
  for (let i = 0; i < shape.length; i++) k = k * shape[i]! + (shape[i] === 1 ? 0 : idx[i + off]!);
  return k;
}

/** Calls fn(outIndex, aIndex, bIndex) for every output element. */
export function forEachBroadcast(
  a: readonly number[],
  b: readonly number[],
  fn: (o: number, ia: number, ib: number) => void,
): number[] {
  const out = broadcastShape(a, b)!;
  const n = out.reduce((p, d) => p * d, 1);
  const idx = new Array<number>(out.length).fill(0);
  for (let o = 0; o < n; o++) {
    fn(o, sourceIndex(a, idx), sourceIndex(b, idx));
    for (let k = out.length - 1; k >= 0; k--) {
      if (++idx[k]! < out[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * True when b is the operand constant along the output's innermost dim of size > 1 (and a
 * is not): onnxruntime then runs its scalar-operand kernel with b's term added first.
 */
export function bIsRunScalar(a: readonly number[], b: readonly number[]): boolean {
  const out = broadcastShape(a, b)!;
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] === 1) continue;
    const da = a[i - out.length + a.length] ?? 1;
    const db = b[i - out.length + b.length] ?? 1;
    return db === 1 && da !== 1;
  }
  return false;
}

export interface QuantArgs {
  sa: number;
  za: number;
  sb: number;
  zb: number;
  sy: number;
  zy: number;
  dtype: Dtype;
  relu?: boolean;
}

/** QLinearAdd: y = (F + a Ra) + b Rb (or (F + b Rb) + a Ra when b is the run's scalar), clamped, rounded half to even. */
export function refQAdd(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  q: QuantArgs,
): { data: number[]; shape: number[] } {
  const Ra = f(f(q.sa) / f(q.sy));
  const Rb = f(f(q.sb) / f(q.sy));
  const F = f(q.zy - f(f(Ra * q.za) + f(Rb * q.zb)));
  const [qmin, qmax] = range(q.dtype);
  const lo = q.relu ? Math.max(qmin, q.zy) : qmin;
  const bFirst = bIsRunScalar(aShape, bShape);
  const data: number[] = [];
  const shape = forEachBroadcast(aShape, bShape, (o, ia, ib) => {
    const ta = f(a[ia]! * Ra);
    const tb = f(b[ib]! * Rb);
    const y = bFirst ? f(f(F + tb) + ta) : f(f(F + ta) + tb);
    data[o] = rne(Math.min(Math.max(y, lo), qmax));
  });
  return { data, shape };
}

/**
 * QLinearAdd as onnxruntime's x86-64 AVX2 kernel evaluates it: the same formula with every
 * multiply-add fused (rounded once), the run's scalar operand (a when a is the one constant
 * along the run, else b) in the inner multiply-add.
 */
export function refQAddFused(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  q: QuantArgs,
  fma: (x: number, y: number, z: number) => number,
): number[] {
  const Ra = f(f(q.sa) / f(q.sy));
  const Rb = f(f(q.sb) / f(q.sy));
  const aFirst = bIsRunScalar(bShape, aShape);
  const F = aFirst ? f(q.zy - fma(Rb, q.zb, f(Ra * q.za))) : f(q.zy - fma(Ra, q.za, f(Rb * q.zb)));
  const [qmin, qmax] = range(q.dtype);
  const data: number[] = [];
  forEachBroadcast(aShape, bShape, (o, ia, ib) => {
    const y = aFirst ? fma(b[ib]!, Rb, fma(a[ia]!, Ra, F)) : fma(a[ia]!, Ra, fma(b[ib]!, Rb, F));
    data[o] = rne(Math.min(Math.max(y, qmin), qmax));
  });
  return data;
}

/** QLinearMul: y = f32(f32((a - za)(b - zb)) M) + zy, clamped, rounded half to even. */
export function refQMul(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  q: QuantArgs,
): { data: number[]; shape: number[] } {
  const M = f(f(f(q.sa) * f(q.sb)) / f(q.sy));
  const [qmin, qmax] = range(q.dtype);
  const lo = q.relu ? Math.max(qmin, q.zy) : qmin;
  const data: number[] = [];
  const shape = forEachBroadcast(aShape, bShape, (o, ia, ib) => {
    const p = (a[ia]! - q.za) * (b[ib]! - q.zb);
    const y = f(f(p * M) + q.zy);
    data[o] = rne(Math.min(Math.max(y, lo), qmax));
  });
  return { data, shape };
}

/** float32 add / mul with broadcasting (and ReLU). */
export function refF32(
  op: 'add' | 'mul',
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  relu = false,
): Float32Array {
  const out: number[] = [];
  forEachBroadcast(aShape, bShape, (o, ia, ib) => {
    const y = op === 'add' ? f(a[ia]! + b[ib]!) : f(a[ia]! * b[ib]!);
    out[o] = relu ? Math.max(y, 0) : y;
  });
  return Float32Array.from(out);
}

/** A lookup table applied code by code: entry = quantize(fn(dequantize(code))). */
export function refLookup(
  x: ArrayLike<number>,
  fn: (v: number) => number,
  sx: number,
  zx: number,
  sy: number,
  zy: number,
  dtype: Dtype,
): number[] {
  const [qmin, qmax] = range(dtype);
  return Array.from(x, (c) => {
    const v = f(f(sx) * (c - zx));
    const y = f(fn(v));
    const t = f(y / f(sy));
    if (Number.isNaN(t)) return zy;
    return rne(Math.min(Math.max(t, qmin - zy), qmax - zy)) + zy;
  });
}

/** QLinearSoftmax along `axis` with onnxruntime's exp table, float32 sum in order, saturating. */
export function refSoftmax(
  x: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  sx: number,
  sy: number,
  zy: number,
  dtype: Dtype,
  saturate = true,
): number[] {
  const D = shape[axis]!;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  const xs = f(sx);
  const shift = Math.max(0, Math.log(f(3.4028234663852886e38 / f(D))) - 5) / xs;
  const e = (d: number) => f(Math.exp((shift - d) * xs));
  const Y = Math.floor(f(1 / f(sy)));
  const qmax = range(dtype)[1];
  const out: number[] = new Array<number>(x.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const at = (k: number) => (o * D + k) * inner + j;
      let mx = -Infinity;
      for (let k = 0; k < D; k++) mx = Math.max(mx, x[at(k)]!);
      let sum = 0;
      for (let k = 0; k < D; k++) sum = f(sum + e(mx - x[at(k)]!));
      for (let k = 0; k < D; k++) {
        const q = rne(f(f(e(mx - x[at(k)]!) * Y) / sum)) + zy;
        out[at(k)] = saturate ? Math.min(q, qmax) : q;
      }
    }
  }
  return out;
}

/** QLinearConcat: each input requantized by the identity table (or copied when its quantization is the output's). */
export function refConcat(
  inputs: Array<{ data: ArrayLike<number>; shape: readonly number[]; s: number; z: number }>,
  axis: number,
  sy: number,
  zy: number,
  dtype: Dtype,
): { data: number[]; shape: number[] } {
  const shape = [...inputs[0]!.shape];
  shape[axis] = inputs.reduce((p, t) => p + t.shape[axis]!, 0);
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  const data: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const t of inputs) {
      const run = t.shape[axis]! * inner;
      const slice = Array.from({ length: run }, (_, k) => t.data[o * run + k]!);
      const same = f(t.s) === f(sy) && t.z === zy;
      data.push(...(same ? slice : refLookup(slice, (v) => v, t.s, t.z, sy, zy, dtype)));
    }
  }
  return { data, shape };
}
