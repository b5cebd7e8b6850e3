// Tensors inside the graph layer: the ONNX element types a plan carries, and their arrays.
// int64 values (shapes, indices, Slice bounds) are held as float64 numbers: every int64 a
// model computes with here is a dimension or an index, exact in a double.
import { QwasmError } from '../errors.js';
import { MAX_TENSOR_BYTES } from '../tensor.js';
import type { TensorMessage } from './proto.js';
import { int64 } from './proto.js';

/**
 * Element types of ONNX tensors that qwasm/onnx runs.
 *
 * @example
 * ```ts
 * const dtype: OnnxDtype = 'float32';
 * ```
 */
export type OnnxDtype = 'float32' | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'bool' | 'float64';

/**
 * The arrays of {@link OnnxDtype}: float32 -> Float32Array, int8 -> Int8Array, uint8 and bool ->
 * Uint8Array, int16 -> Int16Array, int32 -> Int32Array, int64 and float64 -> Float64Array (int64
 * as exact doubles). int16 holds the zero points of 16-bit QuantizeLinear / DequantizeLinear.
 *
 * @example
 * ```ts
 * const data: OnnxArray = new Float32Array(4);
 * ```
 */
export type OnnxArray = Float32Array | Int8Array | Uint8Array | Int16Array | Int32Array | Float64Array;

/**
 * A tensor of the graph layer: row-major data, shape and element type.
 *
 * @example
 * ```ts
 * const t: OnnxTensor = { data: new Float32Array(6), shape: [2, 3], dtype: 'float32' };
 * ```
 */
export interface OnnxTensor {
  /** The elements, row-major. */
  data: OnnxArray;
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** Element type. */
  dtype: OnnxDtype;
}

/** TensorProto.DataType numbers of the dtypes above. */
export const DTYPE_CODES: Readonly<Record<OnnxDtype, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};

const CODE_NAMES: ReadonlyMap<number, OnnxDtype> = new Map(
  Object.entries(DTYPE_CODES).map(([k, v]) => [v, k as OnnxDtype]),
);

/** The dtype of a TensorProto.DataType number, or undefined when qwasm does not run it. */
export function dtypeOfCode(code: number): OnnxDtype | undefined {
  return CODE_NAMES.get(code);
}

/** Bytes one element of `dtype` takes in its array. */
export function elementBytes(dtype: OnnxDtype): number {
  switch (dtype) {
    case 'float32':
    case 'int32':
      return 4;
    case 'int16':
      return 2;
    case 'int8':
    case 'uint8':
    case 'bool':
      return 1;
    default:
      return 8;
  }
}

/** A zeroed array of `n` elements of `dtype`. */
export function allocArray(dtype: OnnxDtype, n: number): OnnxArray {
  return viewArray(dtype, new ArrayBuffer(n * elementBytes(dtype)), 0, n);
}

/** A view of `n` elements of `dtype` at `byteOffset` of `buffer`. */
export function viewArray(dtype: OnnxDtype, buffer: ArrayBuffer, byteOffset: number, n: number): OnnxArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, n);
    case 'int32':
      return new Int32Array(buffer, byteOffset, n);
    case 'int8':
      return new Int8Array(buffer, byteOffset, n);
    case 'int16':
      return new Int16Array(buffer, byteOffset, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, n);
    default:
      return new Float64Array(buffer, byteOffset, n);
  }
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** The dtype an array of the caller's holds, if it is one qwasm/onnx takes. */
export function dtypeOfArray(a: unknown): OnnxDtype | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  return undefined;
}

const f32 = new Float32Array(1);

/** Reads a TensorProto (raw_data or the typed fields) into a tensor; `where` names it in errors. */
export function tensorFromMessage(t: TensorMessage, where: string): OnnxTensor {
  const dtype = dtypeOfCode(t.dataType);
  if (dtype === undefined) throw new QwasmError(where, `has element type ${t.dataType}, which qwasm/onnx does not run`);
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0) {
    throw new QwasmError(where, 'keeps its data in an external file; give the model with its data embedded');
  }
  const shape = t.dims.map((d) => int64(d));
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new QwasmError(where, `has an invalid dimension ${d}`);
  }
  const n = numel(shape);
  const raw = t.rawData;
  const bytes = elementBytes(dtype);
  if (raw !== undefined && raw !== null && raw.length > 0 && raw.length !== n * bytes) {
    throw new QwasmError(where, `raw_data has ${raw.length} bytes, shape [${shape.join(', ')}] needs ${n * bytes}`);
  }
  if (n * bytes > MAX_TENSOR_BYTES) throw new QwasmError(where, `shape [${shape.join(', ')}] is too large`);
  const out = allocArray(dtype, n);
  if (raw !== undefined && raw !== null && raw.length > 0) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) {
      switch (dtype) {
        case 'float32':
          out[i] = dv.getFloat32(i * 4, true);
          break;
        case 'int32':
          out[i] = dv.getInt32(i * 4, true);
          break;
        case 'int8':
          out[i] = dv.getInt8(i);
          break;
        case 'int16':
          out[i] = dv.getInt16(i * 2, true);
          break;
        case 'uint8':
        case 'bool':
          out[i] = dv.getUint8(i);
          break;
        case 'int64':
          out[i] = Number(dv.getBigInt64(i * 8, true));
          break;
        default:
          out[i] = dv.getFloat64(i * 8, true);
      }
    }
    return { data: out, shape, dtype };
  }
  let src: ArrayLike<number>;
  switch (dtype) {
    case 'float32':
      src = t.floatData;
      break;
    case 'int64':
      src = t.int64Data.map((v) => int64(v));
      break;
    case 'float64':
      src = t.doubleData;
      break;
    default:
      src = t.int32Data;
  }
  if (src.length !== n) {
    throw new QwasmError(where, `holds ${src.length} values, shape [${shape.join(', ')}] needs ${n}`);
  }
  for (let i = 0; i < n; i++) {
    if (dtype === 'float32') {
      f32[0] = src[i]!;
      out[i] = f32[0];
    } else out[i] = src[i]!;
  }
  return { data: out, shape, dtype };
}
