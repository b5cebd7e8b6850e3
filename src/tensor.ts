import { QwasmError, check } from './errors.js';

/**
 * The typed arrays qwasm tensors hold.
 *
 * @example
 * ```ts
 * const data: TypedArray = new Uint8Array([0, 128, 255]);
 * const t: Tensor = { data, shape: [3] };
 * ```
 */
export type TypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array;

/**
 * A plain tensor: row-major data and its shape.
 *
 * @example
 * ```ts
 * const x: Tensor<Float32Array> = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
 * ```
 */
export interface Tensor<T extends TypedArray = TypedArray> {
  /** The elements, row-major (last dimension fastest); as many as the product of `shape`. */
  data: T;
  /** The dimensions, outermost first: non-negative integers; `[]` is a scalar of one element. */
  shape: readonly number[];
}

/**
 * Integer element types of quantized tensors: `'int8'` is an Int8Array, `'uint8'` a
 * Uint8Array.
 *
 * @example
 * ```ts
 * const dtype: QuantDtype = 'int8';
 * qrange(dtype); // { qmin: -128, qmax: 127 }
 * ```
 */
export type QuantDtype = 'int8' | 'uint8';

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Checks that `t` is a tensor with integral non-negative dims whose data length matches. */
export function checkTensor(t: unknown, name: string): asserts t is Tensor {
  if (typeof t !== 'object' || t === null) throw new QwasmError(name, 'expected a tensor { data, shape }');
  const { data, shape } = t as { data?: unknown; shape?: unknown };
  check(ArrayBuffer.isView(data) && !(data instanceof DataView), name, 'data must be a typed array');
  check(Array.isArray(shape), name, 'shape must be an array of dimensions');
  for (const d of shape as unknown[]) {
    check(
      typeof d === 'number' && Number.isInteger(d) && d >= 0,
      name,
      `shape [${String(shape)}] has an invalid dimension`,
    );
  }
  const n = sizeOf(shape as number[]);
  check(
    (data as TypedArray).length === n,
    name,
    `data has ${(data as TypedArray).length} elements but shape [${(shape as number[]).join(', ')}] needs ${n}`,
  );
}

/** Checks the element type of a tensor's data. */
export function checkDtype(t: Tensor, name: string, ...types: Array<new (n: number) => TypedArray>): void {
  if (!types.some((T) => t.data instanceof T)) {
    throw new QwasmError(name, `expected ${types.map((T) => T.name).join(' or ')}, got ${t.data.constructor.name}`);
  }
}

/** The quantized dtype of an Int8Array / Uint8Array. */
export function dtypeOf(data: TypedArray, name: string): QuantDtype {
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  throw new QwasmError(name, `expected Int8Array or Uint8Array, got ${data.constructor.name}`);
}

/** Normalises an ONNX axis (negative counts from the end) against a rank. */
export function normalizeAxis(axis: number, rank: number, name: string): number {
  check(Number.isInteger(axis) && axis >= -rank && axis < rank, name, `axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}
