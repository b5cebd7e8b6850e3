// QLinearSoftmax (onnxruntime's com.microsoft contrib operator, opset-13 semantics: the
// softmax runs along one axis) and its float32 twin: validate -> build the exp table ->
// copy in -> kernel call (assembly/softmax.ts) -> view.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, normalizeAxis, type Tensor } from '../tensor.js';
import { dtypeRange } from '../quant/dtype.js';
import { outputArray, type OpOutput } from './out.js';
import { resolveScale, resolveZeroPoint, type Scale, type ZeroPoint } from '../quant/params.js';

/**
 * Attributes of qlinearSoftmax and softmaxF32.
 *
 * @example
 * ```ts
 * const attrs: SoftmaxAttributes = { axis: 1 };
 * const y = qw.qlinearSoftmax({ data: x, shape: [2, 10] }, 0.1, 0, 1 / 256, 0, attrs);
 * ```
 */
export interface SoftmaxAttributes {
  /**
   * The axis the softmax normalizes along (default -1, the last; negative counts from the
   * end). As in ONNX opset 13: one axis, not the flattened tail of opset 12 and earlier.
   */
  axis?: number;
}

const FLT_MAX = 3.4028234663852886e38;

/**
 * onnxruntime's exp table for a softmax over D codes of scale xScale, indexed by how far a
 * code lies below its row's maximum: table[d] = f32(exp((shift - d) * xScale)), where
 * shift = max(0, log(f32(FLT_MAX / D)) - 5) / xScale (in float64) leaves the float32 row sum
 * 5 e-folds below overflow.
 */
export function softmaxTable(xScale: number, D: number): Float32Array {
  const xs = Math.fround(xScale);
  // a network calls the same softmax again and again: the last table is kept
  if (lastTable !== null && lastTable.xs === xs && lastTable.D === D) return lastTable.table;
  let shift = Math.log(Math.fround(FLT_MAX / Math.fround(D)));
  shift = Math.max(0, shift - 5) / xs;
  const table = new Float32Array(256);
  for (let d = 0; d < 256; d++) table[d] = Math.exp((255 - d - 255 + shift) * xs);
  lastTable = { xs, D, table };
  return table;
}

let lastTable: { xs: number; D: number; table: Float32Array } | null = null;

/** The shape as [outer, D, inner] around `axis`. */
function splitAxis(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return [outer, shape[axis]!, inner];
}

function readAxis(attrs: SoftmaxAttributes | undefined, rank: number): number {
  check(attrs === undefined || (typeof attrs === 'object' && attrs !== null), 'attrs', 'expected an object');
  const axis = attrs?.axis ?? -1;
  check(typeof axis === 'number' && Number.isInteger(axis), 'attrs.axis', `must be an integer, got ${String(axis)}`);
  check(rank > 0, 'x', 'softmax needs a tensor of rank >= 1');
  return normalizeAxis(axis, rank, 'attrs.axis');
}

/**
 * com.microsoft QLinearSoftmax: per row, y_k = roundHalfEven(f32(f32(e_k * Y) / sum)) + yZp
 * with e_k from {@link softmaxTable}, sum their float32 sum in element order and
 * Y = floor(f32(1 / yScale)); codes above the dtype's maximum saturate.
 */
export function qlinearSoftmax(
  rt: Runtime,
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint?: ZeroPoint,
  attrs?: SoftmaxAttributes,
  out?: OpOutput,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  checkTensor(x, 'x');
  const dtype = dtypeOf(x.data, 'x');
  const sx = resolveScale(xScale, 'xScale')[0]!;
  resolveZeroPoint(xZeroPoint, 'xZeroPoint', dtype);
  const sy = resolveScale(yScale, 'yScale')[0]!;
  const zy = resolveZeroPoint(yZeroPoint, 'yZeroPoint', dtype)[0]!;
  const axis = readAxis(attrs, x.shape.length);
  const [outer, D, inner] = splitAxis(x.shape, axis);
  const n = x.data.length;
  const data = outputArray(out, dtype, n);
  if (n === 0) return { data, shape: [...x.shape] };
  const table = softmaxTable(sx, D);
  const Y = Math.floor(Math.fround(1 / Math.fround(sy)));
  const src = x.data as Int8Array | Uint8Array;
  rt.scoped((alloc) => {
    const pt = alloc(256 * 4);
    const px = alloc(n, 'x');
    const po = alloc(n, 'x');
    rt.heap.f32.set(table, pt >> 2);
    rt.heap.u8.set(new Uint8Array(src.buffer, src.byteOffset, n), px);
    rt.kernels.qsoftmax(px, outer, D, inner, dtype === 'int8' ? 1 : 0, pt, Y, zy, dtypeRange(dtype).qmax, po);
    data.set(dtype === 'int8' ? rt.heap.i8.subarray(po, po + n) : rt.heap.u8.subarray(po, po + n));
  });
  return { data, shape: [...x.shape] };
}

/** softmaxF32: exp(x - max) / sum along one axis, float32. */
export function softmaxF32(rt: Runtime, x: Tensor, attrs?: SoftmaxAttributes, out?: OpOutput): Tensor<Float32Array> {
  rt.live();
  checkTensor(x, 'x');
  check(x.data instanceof Float32Array, 'x', `expected Float32Array, got ${x.data.constructor.name}`);
  const axis = readAxis(attrs, x.shape.length);
  const [outer, D, inner] = splitAxis(x.shape, axis);
  const n = x.data.length;
  const data = outputArray(out, 'float32', n);
  if (n === 0) return { data, shape: [...x.shape] };
  rt.scoped((alloc) => {
    const px = alloc(n * 4, 'x');
    const po = alloc(n * 4, 'x');
    rt.heap.f32.set(x.data as Float32Array, px >> 2);
    rt.kernels.softmax_f32(px, outer, D, inner, po);
    data.set(rt.heap.f32.subarray(po >> 2, (po >> 2) + n));
  });
  return { data, shape: [...x.shape] };
}
