import { QwasmError, check } from './errors.js';
import { describe } from './args.js';

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
 * dtypeRange(dtype); // { qmin: -128, qmax: 127 }
 * ```
 */
export type QuantDtype = 'int8' | 'uint8';

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The most bytes one tensor may take: everything an op touches lives in one wasm32
 * memory, which cannot exceed 4 GiB.
 */
export const MAX_TENSOR_BYTES = 2 ** 32 - 65536;
/** The highest rank a shape may have (ONNX models stay far below it). */
const MAX_RANK = 32;

const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
} as const;
const typedArrayProto = Object.getPrototypeOf(Int8Array.prototype) as object;
const intrinsic = (key: PropertyKey) => Object.getOwnPropertyDescriptor(typedArrayProto, key)!.get!;
// %TypedArray%.prototype's own getters read the internal slots, so a subclass that
// overrides `length` (or `buffer`, `byteOffset`) cannot make qwasm copy or check a
// different number of bytes than the array really holds.
const tagOf = intrinsic(Symbol.toStringTag);
const bufferOf = intrinsic('buffer');
const byteOffsetOf = intrinsic('byteOffset');
const lengthOf = intrinsic('length');

/** The name of a {@link TypedArray} kind, e.g. `'Int8Array'`. */
export type TypedArrayKind = keyof typeof TYPED_ARRAYS;

/** A new zero-filled typed array of `kind` with n elements. */
export function newTypedArray(kind: TypedArrayKind, n: number): TypedArray {
  return new TYPED_ARRAYS[kind](n);
}

/**
 * The true length of `x` when it is a typed array of `kind` (read through the built-in
 * getters, so a subclass cannot lie about it; allocates nothing), else -1. Layers' hot
 * paths use it instead of a snapshot: `heap.set(x)` copies by the same internal length.
 */
export function lengthOfKind(x: unknown, kind: TypedArrayKind): number {
  if (!ArrayBuffer.isView(x) || tagOf.call(x) !== kind) return -1;
  return lengthOf.call(x) as number;
}

const intrinsicSet = (typedArrayProto as { set: (this: TypedArray, src: ArrayLike<number>, offset?: number) => void })
  .set;

/** `dst.set(src)` through the built-in method, whatever a subclass of dst overrides. */
export function copyInto(dst: TypedArray, src: TypedArray): void {
  intrinsicSet.call(dst, src);
}

/**
 * A plain typed array over exactly the memory `data` covers, read through the built-in
 * getters, or undefined when `data` is not one of the {@link TypedArray} kinds. Proxies,
 * DataViews and array-likes are refused; subclasses come back as their base class.
 */
export function typedArrayOf(data: unknown, _name?: string): TypedArray | undefined {
  if (!ArrayBuffer.isView(data)) return undefined;
  const tag = tagOf.call(data) as string | undefined;
  if (tag === undefined || !Object.hasOwn(TYPED_ARRAYS, tag)) return undefined;
  const Ctor = TYPED_ARRAYS[tag as keyof typeof TYPED_ARRAYS];
  const length = lengthOf.call(data) as number;
  // a view of a detached (or shrunk) buffer has length 0 in JavaScript: it is empty
  if (length === 0) return new Ctor(0);
  return new Ctor(bufferOf.call(data) as ArrayBuffer, byteOffsetOf.call(data) as number, length);
}

/** {@link typedArrayOf}, throwing a QwasmError naming `name` for anything else. */
export function readTypedArray(data: unknown, name: string): TypedArray {
  const a = typedArrayOf(data, name);
  if (a === undefined) {
    throw new QwasmError(
      name,
      `expected a typed array (${Object.keys(TYPED_ARRAYS).join(', ')}), got ${describe(data)}`,
    );
  }
  return a;
}

/** Reads `obj[key]` once; a throwing getter becomes a QwasmError naming `name`. */
export function readField(obj: object, key: string, name: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch (e) {
    throw new QwasmError(name, `reading .${key} failed: ${e instanceof Error ? e.message : describe(e)}`);
  }
}

/**
 * Reads and validates a shape once: an array of at most 32 integral dims in
 * [0, 2^32), copied so later reads cannot change it.
 */
export function readShape(shape: unknown, name: string): number[] {
  check(Array.isArray(shape), name, () => `shape must be an array of dimensions, got ${describe(shape)}`);
  let rank: unknown;
  try {
    rank = (shape as unknown[]).length;
  } catch {
    rank = undefined;
  }
  check(typeof rank === 'number' && rank <= MAX_RANK, name, `shape must have at most ${MAX_RANK} dimensions`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const d = readField(shape as object, String(i), name);
    check(
      typeof d === 'number' && Number.isInteger(d) && d >= 0 && d < 2 ** 32,
      name,
      `shape has an invalid dimension ${describe(d)} at ${i} (dimensions are integers in [0, 2^32))`,
    );
    dims.push(d);
  }
  return dims;
}

/**
 * Reads a tensor argument once and validates that snapshot: `data` a plain typed array
 * (see {@link typedArrayOf}), `shape` a copied array of integral dims whose product is
 * the data's true length. Ops use only the returned snapshot, so getters or proxies that
 * answer differently on a second read cannot bypass the checks.
 */
export function readTensor(t: unknown, name: string): Tensor {
  if (typeof t !== 'object' || t === null)
    throw new QwasmError(name, `expected a tensor { data, shape }, got ${describe(t)}`);
  const rawData = readField(t, 'data', name);
  const rawShape = readField(t, 'shape', name);
  const data = readTypedArray(rawData, name);
  const shape = readShape(rawShape, name);
  const n = sizeOf(shape);
  check(data.length === n, name, `data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
  return { data, shape };
}

/** Checks that `t` is a tensor with integral non-negative dims whose data length matches. */
export function checkTensor(t: unknown, name: string): asserts t is Tensor {
  readTensor(t, name);
}

/**
 * Refuses a result of `count` elements of `bytesPerElement` bytes that could not fit in
 * wasm memory, before anything is allocated for it.
 */
export function checkResultSize(count: number, bytesPerElement: number, name: string): void {
  check(
    count * bytesPerElement <= MAX_TENSOR_BYTES,
    name,
    `the result would have ${count} elements (${count * bytesPerElement} bytes), more than wasm memory can hold (4 GiB)`,
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

/**
 * Reads a tensor argument, or a bare typed array taken as 1-D, once (see
 * {@link readTensor}); its data must be one of `types`.
 */
export function readTensorOrArray<T extends TypedArray>(
  x: unknown,
  name: string,
  ...types: Array<new (n: number) => T>
): Tensor<T> {
  const bare = typedArrayOf(x, name);
  const t = bare !== undefined ? { data: bare, shape: [bare.length] } : readTensor(x, name);
  checkDtype(t, name, ...types);
  return t as Tensor<T>;
}
