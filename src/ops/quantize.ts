// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear with ONNX semantics.
import { check } from '../errors.js';
import { readOptions } from '../args.js';
import type { Runtime } from '../runtime.js';
import { checkDtype, checkResultSize, normalizeAxis, readTensor, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray, dtypeRange } from '../quant/dtype.js';
import { resolveScale, resolveZeroPoint, zeroPointDtype, type Scale, type ZeroPoint } from '../quant/params.js';
import { roundHalfEven } from '../quant/multiplier.js';

/**
 * Options of quantizeLinear.
 *
 * @example
 * ```ts
 * const opts: QuantizeOptions = { axis: 1, dtype: 'int8' };
 * const q = qw.quantizeLinear({ data: x, shape: [2, 3] }, [0.1, 0.2, 0.05], 0, opts);
 * ```
 */
export interface QuantizeOptions {
  /** Channel axis for per-axis scales (ONNX default 1; negative counts from the end). */
  axis?: number;
  /** Output type; by default the zero point's typed array decides, else uint8 (as ONNX). */
  dtype?: QuantDtype;
}

/** Shape of x as [outer, C, inner] around `axis`. */
function splitAxis(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return [outer, shape[axis]!, inner];
}

/** Resolves scale and zero point of a (per tensor or per axis) quantization. */
function resolveAxisParams(
  shape: readonly number[],
  scale: Scale,
  zeroPoint: ZeroPoint | undefined,
  dtype: QuantDtype,
  axisOpt: number | undefined,
) {
  // per axis only for an array of several scales; anything else is resolveScale's to judge
  const perAxis = (Array.isArray(scale) || ArrayBuffer.isView(scale)) && (scale as ArrayLike<number>).length > 1;
  if (!perAxis) {
    const s = resolveScale(scale, 'scale');
    const z = resolveZeroPoint(zeroPoint, 'zeroPoint', dtype);
    return { perAxis, s, z, outer: 1, C: 1, inner: 1 };
  }
  check(shape.length > 0, 'scale', 'per-axis scales need a tensor of rank >= 1');
  const axis = normalizeAxis(axisOpt ?? 1, shape.length, 'axis');
  const [outer, C, inner] = splitAxis(shape, axis);
  const s = resolveScale(scale, 'scale', C);
  let z = resolveZeroPoint(zeroPoint, 'zeroPoint', dtype, C);
  if (z.length === 1) z = new Int32Array(C).fill(z[0]!);
  return { perAxis, s, z, outer, C, inner };
}

export function quantizeLinear(
  rt: Runtime,
  x: Tensor,
  scale: Scale,
  zeroPoint?: ZeroPoint,
  opts: QuantizeOptions | null = {},
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  x = readTensor(x, 'x');
  checkDtype(x, 'x', Float32Array);
  const o = readOptions(opts);
  const dtype = o.dtype ?? zeroPointDtype(zeroPoint) ?? 'uint8';
  check(dtype === 'int8' || dtype === 'uint8', 'dtype', `must be 'int8' or 'uint8', got ${String(dtype)}`);
  const p = resolveAxisParams(x.shape, scale, zeroPoint, dtype, o.axis);
  const { qmin, qmax } = dtypeRange(dtype);
  const n = x.data.length;
  const out = newQuantArray(dtype, n);
  if (n === 0) return { data: out, shape: [...x.shape] };
  const k = rt.live().kernels;
  rt.scoped((alloc) => {
    const xp = alloc(n * 4, 'x');
    const yp = alloc(n, 'x');
    rt.heap.f32.set(x.data as Float32Array, xp >> 2);
    if (p.perAxis) {
      const sp = alloc(p.C * 4);
      const zp = alloc(p.C * 4);
      rt.heap.f32.set(p.s, sp >> 2);
      rt.heap.i32.set(p.z, zp >> 2);
      k.quantize_axis_f32(xp, p.outer, p.C, p.inner, sp, zp, qmin, qmax, yp);
    } else {
      k.quantize_f32(xp, n, p.s[0]!, p.z[0]!, qmin, qmax, yp);
    }
    out.set(dtype === 'int8' ? rt.heap.i8.subarray(yp, yp + n) : rt.heap.u8.subarray(yp, yp + n));
  });
  return { data: out, shape: [...x.shape] };
}

export function dequantizeLinear(
  rt: Runtime,
  q: Tensor,
  scale: Scale,
  zeroPoint?: ZeroPoint,
  opts: { axis?: number } | null = {},
): Tensor<Float32Array> {
  rt.live();
  q = readTensor(q, 'q');
  checkDtype(q, 'q', Int8Array, Uint8Array);
  const dtype: QuantDtype = q.data instanceof Int8Array ? 'int8' : 'uint8';
  const p = resolveAxisParams(q.shape, scale, zeroPoint, dtype, readOptions(opts).axis);
  const n = q.data.length;
  checkResultSize(n, 4, 'q');
  const out = new Float32Array(n);
  if (n === 0) return { data: out, shape: [...q.shape] };
  const k = rt.live().kernels;
  const signed = dtype === 'int8' ? 1 : 0;
  rt.scoped((alloc) => {
    const qp = alloc(n, 'q');
    const yp = alloc(n * 4, 'q');
    rt.heap.u8.set(new Uint8Array(q.data.buffer, q.data.byteOffset, n), qp);
    if (p.perAxis) {
      const sp = alloc(p.C * 4);
      const zp = alloc(p.C * 4);
      rt.heap.f32.set(p.s, sp >> 2);
      rt.heap.i32.set(p.z, zp >> 2);
      k.dequantize_axis(qp, p.outer, p.C, p.inner, signed, sp, zp, yp);
    } else {
      k.dequantize(qp, n, signed, p.s[0]!, p.z[0]!, yp);
    }
    out.set(rt.heap.f32.subarray(yp >> 2, (yp >> 2) + n));
  });
  return { data: out, shape: [...q.shape] };
}

/**
 * The result of dynamicQuantizeLinear.
 *
 * @example
 * ```ts
 * const { y, scale, zeroPoint }: DynamicQuantized = qw.dynamicQuantizeLinear({ data: new Float32Array([-1, 0, 3]), shape: [3] });
 * // y.data = [0, 64, 255], scale = f32(4 / 255), zeroPoint = 64
 * ```
 */
export interface DynamicQuantized {
  /** The quantized tensor: uint8, x's shape. */
  y: Tensor<Uint8Array>;
  /** (max - min) / 255 in float32 over x's range widened to include 0; 1 when that range is empty (x empty or all zeros). */
  scale: number;
  /** The uint8 code of 0.0, in [0, 255]. */
  zeroPoint: number;
}

/**
 * ONNX DynamicQuantizeLinear's parameters from a range: the range is widened to include
 * 0, scale = (max - min) / 255 in float32 (1 when the range is empty, as onnxruntime),
 * zero point = roundHalfEven(clamp(0 - min / scale, 0, 255)).
 */
export function dynamicParams(min: number, max: number): { scale: number; zeroPoint: number } {
  const lo = Math.fround(Math.min(min, 0));
  const hi = Math.fround(Math.max(max, 0));
  const range = Math.fround(hi - lo);
  // a finite range wider than float32 holds ([-3e38, 3e38]) is divided before subtracting
  let scale =
    hi === lo
      ? 1
      : Number.isFinite(range)
        ? Math.fround(range / 255)
        : Math.fround(Math.fround(hi / 255) - Math.fround(lo / 255));
  // a range of subnormals divides to 0: the smallest float32 step is the nearest usable scale
  if (scale === 0) scale = 2 ** -149;
  const initial = Math.fround(0 - Math.fround(lo / scale));
  const zeroPoint = roundHalfEven(Math.max(0, Math.min(255, initial)));
  return { scale, zeroPoint };
}

export function dynamicQuantizeLinear(rt: Runtime, x: Tensor): DynamicQuantized {
  rt.live();
  x = readTensor(x, 'x');
  checkDtype(x, 'x', Float32Array);
  const n = x.data.length;
  const data = new Uint8Array(n);
  const k = rt.live().kernels;
  let scale = 1;
  let zeroPoint = 0;
  rt.scoped((alloc) => {
    const xp = alloc(n * 4, 'x');
    const yp = alloc(n, 'x');
    const mm = alloc(8);
    rt.heap.f32.set(x.data as Float32Array, xp >> 2);
    let min = 0;
    let max = 0;
    if (n > 0) {
      k.minmax_f32(xp, n, mm);
      min = rt.heap.f32[mm >> 2]!;
      max = rt.heap.f32[(mm >> 2) + 1]!;
    }
    ({ scale, zeroPoint } = dynamicParams(min, max));
    check(Number.isFinite(scale), 'x', 'holds infinite values; no finite scale covers them');
    k.quantize_f32(xp, n, scale, zeroPoint, 0, 255, yp);
    data.set(rt.heap.u8.subarray(yp, yp + n));
  });
  return { y: { data, shape: [...x.shape] }, scale, zeroPoint };
}
