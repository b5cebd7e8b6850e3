// Quantization parameters for any bit width from 2 to 8: the scheme (signed or not,
// symmetric or not, narrow range), the granularity (per tensor, per channel along any
// axis, per group of consecutive elements along one axis) and the arithmetic that turns
// a real range into a scale and a zero point. Pure TypeScript: no engine needed.
//
// The arithmetic follows the project's contract (`real = scale * (q - zeroPoint)`,
// `q = saturate(roundHalfEven(f32(x / scale)) + zeroPoint)`, NaN -> zero point, +-Inf
// saturate), so a toolkit quantization of 8-bit data matches qw.quantizeLinear bit for bit.
import { QwasmError, check } from '../errors.js';
import { readTensorOrArray, normalizeAxis, readShape, type Tensor } from '../tensor.js';
import { describe, readOptions } from '../args.js';
import { given, readBoolean } from './args.js';
import { roundHalfEven } from '../quant/multiplier.js';
import { dtypeRange, type CodeRange } from '../quant/dtype.js';
import type { QuantDtype } from '../tensor.js';

/**
 * How real values map to integers. Every field is optional; defaults give symmetric
 * signed 8-bit (`q in [-128, 127]`, zero point 0).
 *
 * @example
 * ```ts
 * const int4Weights: QuantScheme = { bits: 4, signed: true, symmetric: true };
 * const uint8Activations: QuantScheme = { bits: 8, signed: false, symmetric: false };
 * ```
 */
export interface QuantScheme {
  /** Bit width, an integer from 2 to 8 (default 8). */
  bits?: number;
  /** Signed integers `[-2^(b-1), 2^(b-1) - 1]` (default) or unsigned `[0, 2^b - 1]`. */
  signed?: boolean;
  /**
   * Symmetric (default): the zero point is fixed (0 when signed, `2^(b-1)` when unsigned)
   * and the scale covers `max(|min|, |max|)`. Asymmetric: the range is widened to include
   * 0, and the zero point is nudged to an integer so 0.0 is exactly representable.
   */
  symmetric?: boolean;
  /** Drop the lowest code: `[-127, 127]` for int8 (TFLite weights), `[1, 255]` for uint8. */
  narrow?: boolean;
}

/**
 * Which elements share one scale and zero point.
 * - neither field: one pair for the whole tensor;
 * - `axis`: one pair per index along `axis` (per channel; negative counts from the end);
 * - `groupSize` (with `axis`, default -1): blocks of `groupSize` consecutive elements
 *   along `axis`, every other index separate: a weight [N, K] with `groupSize: 32` gets
 *   scales of shape [N, ceil(K / 32)].
 *
 * @example
 * ```ts
 * const perChannel: Granularity = { axis: 0 };
 * const perGroupAlongK: Granularity = { axis: -1, groupSize: 64 };
 * ```
 */
export interface Granularity {
  /** The channel axis, or with `groupSize` the grouped axis (default -1 there); negative counts from the end. */
  axis?: number;
  /** Consecutive elements along `axis` sharing one scale and zero point; the last group may be shorter. */
  groupSize?: number;
}

/**
 * A resolved quantization: the scheme, its integer range and the scales / zero points
 * for every slot of the granularity (row-major over {@link paramsShape}).
 *
 * @example
 * ```ts
 * const p = computeQuantParams({ data: w, shape: [64, 256] }, { bits: 4, axis: 0 });
 * p.scale.length; // 64
 * ```
 */
export interface QuantParams {
  /** Bit width, 2 to 8. */
  readonly bits: number;
  /** Signed codes (quantized into an Int8Array) or unsigned (a Uint8Array). */
  readonly signed: boolean;
  /** Whether the zero points are fixed (symmetric) or nudged from each range (asymmetric). */
  readonly symmetric: boolean;
  /** Whether the lowest code is dropped (e.g. [-127, 127] for signed 8-bit). */
  readonly narrow: boolean;
  /** Lowest integer code. */
  readonly qmin: number;
  /** Highest integer code. */
  readonly qmax: number;
  /** Which elements share a scale: the whole tensor, one index along `axis`, or one group of `groupSize` along it. */
  readonly granularity: 'tensor' | 'channel' | 'group';
  /** The channel axis (per channel) or the grouped axis (per group), normalised; 0 per tensor. */
  readonly axis: number;
  /** Elements per group along `axis` (per group), else 0. */
  readonly groupSize: number;
  /** One scale per slot, row-major over {@link paramsShape}; positive and finite. */
  readonly scale: Float32Array;
  /** One zero point per slot (the code of real 0), in [qmin, qmax]. */
  readonly zeroPoint: Int32Array;
}

/**
 * A scheme with defaults filled in and its integer range.
 *
 * @example
 * ```ts
 * const s: ResolvedScheme = resolveScheme({ bits: 4, signed: false, symmetric: false });
 * console.log(s.qmin, s.qmax); // 0 15
 * ```
 */
export interface ResolvedScheme {
  /** Bit width, 2 to 8 (default 8). */
  bits: number;
  /** Signed codes (default) or unsigned. */
  signed: boolean;
  /** Symmetric (default) or asymmetric ranges. */
  symmetric: boolean;
  /** Whether the lowest code is dropped (default false). */
  narrow: boolean;
  /** Lowest integer code of the range. */
  qmin: number;
  /** Highest integer code of the range. */
  qmax: number;
}

/** Smallest normal float32: scales below it would make `x / scale` overflow needlessly. */
const FLT_MIN = 2 ** -126;

/**
 * The integer code range of a quantization: of an 8-bit dtype (`'int8'` [-128, 127],
 * `'uint8'` [0, 255]) or of a bit width (signed `[-2^(b-1), 2^(b-1) - 1]`, unsigned
 * `[0, 2^b - 1]`); the lowest code dropped when `narrow`.
 *
 * @example
 * ```ts
 * quantRange('int8');         // { qmin: -128, qmax: 127 }
 * quantRange('int8', true);   // { qmin: -127, qmax: 127 }
 * quantRange(4, true);        // { qmin: -8, qmax: 7 }
 * quantRange(8, true, true);  // { qmin: -127, qmax: 127 }
 * quantRange(8, false);       // { qmin: 0, qmax: 255 }
 * ```
 */
export function quantRange(dtype: QuantDtype, narrow?: boolean): CodeRange;
/** The code range of a bit width from 2 to 8, signed or unsigned, optionally narrow. */
export function quantRange(bits: number, signed: boolean, narrow?: boolean): CodeRange;
export function quantRange(bitsOrDtype: number | QuantDtype, signedOrNarrow?: boolean, narrow = false): CodeRange {
  if (bitsOrDtype === 'int8' || bitsOrDtype === 'uint8')
    return dtypeRange(bitsOrDtype, readBoolean(signedOrNarrow, 'narrow', false));
  const bits = bitsOrDtype;
  const signed = signedOrNarrow;
  check(
    Number.isInteger(bits) && bits >= 2 && bits <= 8,
    'bits',
    () => `must be an integer from 2 to 8, or 'int8' / 'uint8', got ${describe(bits)}`,
  );
  check(typeof signed === 'boolean', 'signed', () => `must be true or false, got ${describe(signed)}`);
  const n = readBoolean(narrow, 'narrow', false) ? 1 : 0;
  if (signed) return { qmin: -(2 ** (bits - 1)) + n, qmax: 2 ** (bits - 1) - 1 };
  return { qmin: n, qmax: 2 ** bits - 1 };
}

/**
 * Fills in a scheme's defaults and validates it; `null` or no scheme is the default one.
 *
 * @example
 * ```ts
 * resolveScheme({ bits: 6 }); // { bits: 6, signed: true, symmetric: true, narrow: false, qmin: -32, qmax: 31 }
 * ```
 */
export function resolveScheme(scheme?: QuantScheme | null): ResolvedScheme {
  const sc = readOptions(scheme, 'scheme');
  const bits = sc.bits ?? 8;
  const signed = readBoolean(sc.signed, 'scheme.signed', true);
  const symmetric = readBoolean(sc.symmetric, 'scheme.symmetric', true);
  const narrow = readBoolean(sc.narrow, 'scheme.narrow', false);
  const { qmin, qmax } = quantRange(bits, signed, narrow);
  return { bits, signed, symmetric, narrow, qmin, qmax };
}

/** The zero point a symmetric scheme uses: 0 signed, the middle code 2^(b-1) unsigned. */
function symmetricZeroPoint(s: ResolvedScheme): number {
  return s.signed ? 0 : 2 ** (s.bits - 1);
}

/**
 * The asymmetric scale and the nudged zero point of a range: the range is widened to
 * include 0, `scale = (max - min) / (qmax - qmin)` (float32), and the real zero point
 * `qmin - min / scale` is rounded (half to even) and clamped to an integer code, so 0.0
 * maps exactly to `zeroPoint`. `nudgedMin` / `nudgedMax` are the range actually
 * represented, `scale * (qmin - zeroPoint)` and `scale * (qmax - zeroPoint)`; they move
 * by less than one step from the requested ends.
 *
 * @example
 * ```ts
 * const n = nudgeZeroPoint(-0.3, 1.7, 0, 255);
 * n.zeroPoint;                    // 38: 0.0 is the code 38 exactly
 * n.nudgedMin <= 0 && 0 <= n.nudgedMax; // true
 * ```
 */
export function nudgeZeroPoint(
  min: number,
  max: number,
  qmin: number,
  qmax: number,
): {
  /** (max - min) / (qmax - qmin) in float32, over the range widened to include 0; 1 for an empty range. */
  scale: number;
  /** The integer code of 0.0, in [qmin, qmax]. */
  zeroPoint: number;
  /** The lowest value represented: scale * (qmin - zeroPoint). */
  nudgedMin: number;
  /** The highest value represented: scale * (qmax - zeroPoint). */
  nudgedMax: number;
} {
  checkRange(min, max);
  check(
    Number.isInteger(qmin) && Number.isInteger(qmax) && qmin < qmax,
    'qmin',
    () => `[${describe(qmin)}, ${describe(qmax)}] is not an integer range`,
  );
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  let scale = hi > lo ? Math.fround((hi - lo) / (qmax - qmin)) : 1;
  if (scale < FLT_MIN) scale = FLT_MIN;
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - lo / scale)));
  return { scale, zeroPoint, nudgedMin: scale * (qmin - zeroPoint), nudgedMax: scale * (qmax - zeroPoint) };
}

/**
 * Scale and zero point of one range under a scheme (see {@link QuantScheme}; `null` or
 * none is the default one).
 * Symmetric signed: `scale = max(|min|, |max|) / qmax`, zero point 0, so the largest
 * magnitude is a code exactly and nothing clips at the positive end. Symmetric unsigned:
 * zero point `2^(b-1)`, `scale = max(|min|, |max|) / (qmax - 2^(b-1))`. Asymmetric:
 * {@link nudgeZeroPoint}. An empty range (all zeros) gets scale 1; scales never go
 * below the smallest normal float32.
 *
 * @example
 * ```ts
 * rangeParams(-1, 2, { bits: 4 }); // { scale: 2 / 7, zeroPoint: 0 }
 * ```
 */
export function rangeParams(
  min: number,
  max: number,
  scheme?: ResolvedScheme | QuantScheme | null,
): {
  /** Positive float32 scale, at least the smallest normal float32. */
  scale: number;
  /** The integer code of 0.0, in [s.qmin, s.qmax]. */
  zeroPoint: number;
} {
  return resolvedRangeParams(min, max, resolveScheme(scheme));
}

/** {@link rangeParams} under a scheme already resolved (the searches' inner loops). */
export function resolvedRangeParams(min: number, max: number, s: ResolvedScheme): { scale: number; zeroPoint: number } {
  checkRange(min, max);
  if (!s.symmetric) {
    const n = nudgeZeroPoint(min, max, s.qmin, s.qmax);
    return { scale: n.scale, zeroPoint: n.zeroPoint };
  }
  const zp = symmetricZeroPoint(s);
  const amax = Math.max(Math.abs(min), Math.abs(max));
  let scale = amax > 0 ? Math.fround(amax / (s.qmax - zp)) : 1;
  if (scale < FLT_MIN) scale = FLT_MIN;
  return { scale, zeroPoint: zp };
}

/** Refuses a range that is not two finite numbers with min <= max. */
function checkRange(min: number, max: number): void {
  check(
    typeof min === 'number' && typeof max === 'number' && Number.isFinite(min) && Number.isFinite(max),
    'range',
    () => `must be finite numbers, got [${describe(min)}, ${describe(max)}]`,
  );
  check(min <= max, 'range', () => `min ${min} is above max ${max}`);
}

/** An axis option: an integer, normalised against the rank (negative counts from the end). */
export function readAxis(axis: unknown, rank: number, name: string): number {
  check(typeof axis === 'number' && Number.isInteger(axis), name, () => `must be an integer, got ${describe(axis)}`);
  return normalizeAxis(axis, rank, name);
}

/** Elements of a tensor seen as [outer, A, inner] around `axis`. */
export interface AxisSplit {
  outer: number;
  A: number;
  inner: number;
}

export function splitAxis(shape: readonly number[], axis: number): AxisSplit {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, A: shape[axis] ?? 1, inner };
}

/** A granularity resolved against a tensor shape. */
interface Layout {
  granularity: 'tensor' | 'channel' | 'group';
  axis: number;
  groupSize: number;
  split: AxisSplit;
  /** Groups along the axis (per group). */
  groups: number;
  slots: number;
}

function resolveLayout(shape: readonly number[], granularity: Granularity | null | undefined): Layout {
  const g = readOptions(granularity, 'granularity');
  const n = shape.reduce((a, b) => a * b, 1);
  const groupSize = given(g.groupSize);
  const axisOption = given(g.axis);
  if (groupSize !== undefined) {
    check(
      typeof groupSize === 'number' && Number.isInteger(groupSize) && groupSize > 0,
      'groupSize',
      `must be a positive integer, got ${describe(groupSize)}`,
    );
    check(shape.length > 0, 'groupSize', 'per-group parameters need a tensor of rank >= 1');
    const axis = readAxis(axisOption ?? -1, shape.length, 'axis');
    const split = splitAxis(shape, axis);
    const groups = Math.ceil(split.A / groupSize);
    return {
      granularity: 'group',
      axis,
      groupSize,
      split,
      groups,
      slots: split.outer * groups * split.inner,
    };
  }
  if (axisOption !== undefined) {
    check(shape.length > 0, 'axis', 'per-channel parameters need a tensor of rank >= 1');
    const axis = readAxis(axisOption, shape.length, 'axis');
    const split = splitAxis(shape, axis);
    return { granularity: 'channel', axis, groupSize: 0, split, groups: 0, slots: split.A };
  }
  return { granularity: 'tensor', axis: 0, groupSize: 0, split: { outer: 1, A: n, inner: 1 }, groups: 0, slots: 1 };
}

/**
 * Calls `fn(start, count, stride, slot)` for every run of elements sharing one parameter
 * slot: the elements start, start + stride, ... (count of them).
 */
function forEachRun(L: Layout, fn: (start: number, count: number, stride: number, slot: number) => void): void {
  const { outer, A, inner } = L.split;
  if (L.granularity === 'tensor') {
    fn(0, outer * A * inner, 1, 0);
  } else if (L.granularity === 'channel') {
    for (let o = 0; o < outer; o++) for (let c = 0; c < A; c++) fn((o * A + c) * inner, inner, 1, c);
  } else {
    const g = L.groupSize;
    for (let o = 0; o < outer; o++) {
      for (let gi = 0; gi < L.groups; gi++) {
        const count = Math.min(g, A - gi * g);
        for (let i = 0; i < inner; i++) {
          fn((o * A + gi * g) * inner + i, count, inner, (o * L.groups + gi) * inner + i);
        }
      }
    }
  }
}

/**
 * The shape of the scale / zero-point arrays for a tensor of `shape`: `[]` per tensor,
 * `[C]` per channel, and per group the tensor's shape with the grouped axis replaced by
 * its number of groups.
 *
 * @example
 * ```ts
 * paramsShape([4096, 4096], { axis: -1, groupSize: 128 }); // [4096, 32]
 * paramsShape([64, 3, 3, 3], { axis: 0 });                  // [64]
 * ```
 */
export function paramsShape(shape: readonly number[], granularity?: Granularity | QuantParams | null): number[] {
  const dims = readShape(shape, 'shape');
  const g = toGranularity(granularity);
  const L = resolveLayout(dims, g);
  if (L.granularity === 'tensor') return [];
  if (L.granularity === 'channel') return [L.split.A];
  const out = [...dims];
  out[L.axis] = L.groups;
  return out;
}

function toGranularity(granularity: Granularity | QuantParams | null | undefined): Granularity {
  const g = readOptions(granularity, 'granularity');
  if ('granularity' in g) {
    if (g.granularity === 'tensor') return {};
    if (g.granularity === 'channel') return { axis: g.axis };
    if (g.granularity === 'group') return { axis: g.axis, groupSize: g.groupSize };
    throw new QwasmError('granularity', `must be 'tensor', 'channel' or 'group', got ${describe(g.granularity)}`);
  }
  return g;
}

/** Shape and data of a float tensor argument (a bare Float32Array is a 1-D tensor). */
function asTensor(
  x: Tensor<Float32Array> | Float32Array,
  name: string,
): { data: Float32Array; shape: readonly number[] } {
  return readTensorOrArray(x, name, Float32Array);
}

/** Finite min and max of every slot (NaN and +-Inf ignored; a slot with none gets [0, 0]). */
function slotRanges(data: Float32Array, L: Layout): { min: Float64Array; max: Float64Array } {
  const min = new Float64Array(L.slots).fill(Infinity);
  const max = new Float64Array(L.slots).fill(-Infinity);
  forEachRun(L, (start, count, stride, slot) => {
    let lo = min[slot]!;
    let hi = max[slot]!;
    for (let i = 0, j = start; i < count; i++, j += stride) {
      const v = data[j]!;
      // v - v is NaN for NaN and +-Inf: only finite values count
      if (v - v === 0) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    min[slot] = lo;
    max[slot] = hi;
  });
  for (let s = 0; s < L.slots; s++) {
    if (min[s]! > max[s]!) {
      min[s] = 0;
      max[s] = 0;
    }
  }
  return { min, max };
}

/** The ends of per-slot ranges: one finite number, or an array of them. */
function readEnds(v: number | ArrayLike<number>, name: string): number[] {
  let a: unknown[];
  if (typeof v === 'number') a = [v];
  else if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)))
    a = Array.from(v as ArrayLike<unknown>);
  else throw new QwasmError(name, `must be a number or an array of numbers, got ${describe(v)}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    check(
      typeof x === 'number' && Number.isFinite(x),
      name,
      `must hold finite numbers, got ${describe(x)}${a.length > 1 ? ` at ${i}` : ''}`,
    );
  }
  return a as number[];
}

/**
 * Builds quantization parameters from per-slot ranges. `min` / `max` hold one value per
 * slot of the granularity (1 per tensor, C per channel); `axis` gives the channel axis
 * when there are several.
 *
 * @example
 * ```ts
 * const p = paramsFromRange([-1, -2], [1, 3], { bits: 8, symmetric: false, signed: false, axis: 0 });
 * p.granularity; // 'channel'
 * ```
 */
export function paramsFromRange(
  min: number | ArrayLike<number>,
  max: number | ArrayLike<number>,
  options?: (QuantScheme & Granularity) | null,
): QuantParams {
  const o = readOptions(options, 'options');
  const s = resolveScheme(o);
  const lo = readEnds(min, 'min');
  const hi = readEnds(max, 'max');
  check(lo.length === hi.length && lo.length > 0, 'max', `has ${hi.length} values, min has ${lo.length}`);
  for (let i = 0; i < lo.length; i++) {
    check(lo[i]! <= hi[i]!, 'max', `${hi[i]} at ${i} is below min ${lo[i]}`);
  }
  check(
    given(o.groupSize) === undefined,
    'groupSize',
    'per-group parameters come from computeQuantParams (they need the tensor)',
  );
  const axis = given(o.axis);
  if (axis !== undefined) {
    check(
      typeof axis === 'number' && Number.isInteger(axis),
      'axis',
      () => `must be an integer, got ${describe(axis)}`,
    );
  }
  if (lo.length > 1) check(axis !== undefined, 'axis', `is needed for ${lo.length} per-channel ranges`);
  const scale = new Float32Array(lo.length);
  const zeroPoint = new Int32Array(lo.length);
  for (let i = 0; i < lo.length; i++) {
    const r = resolvedRangeParams(lo[i]!, hi[i]!, s);
    scale[i] = r.scale;
    zeroPoint[i] = r.zeroPoint;
  }
  return {
    ...s,
    granularity: axis !== undefined ? 'channel' : 'tensor',
    axis: axis ?? 0,
    groupSize: 0,
    scale,
    zeroPoint,
  };
}

/**
 * Quantization parameters of a float32 tensor from its own min and max, per tensor, per
 * channel or per group (see {@link Granularity}). NaN and +-Inf are ignored when finding
 * the ranges (and saturate when quantized); a slot holding no finite value gets the
 * range [0, 0] (scale 1).
 *
 * @example
 * ```ts
 * const w = { data: new Float32Array(64 * 256), shape: [64, 256] };
 * const p = computeQuantParams(w, { bits: 4, axis: -1, groupSize: 32 });
 * p.scale.length; // 64 * 8
 * ```
 */
export function computeQuantParams(
  x: Tensor<Float32Array> | Float32Array,
  options?: (QuantScheme & Granularity) | null,
): QuantParams {
  const t = asTensor(x, 'x');
  const o = readOptions(options, 'options');
  const s = resolveScheme(o);
  const L = resolveLayout(t.shape, o);
  const { min, max } = slotRanges(t.data, L);
  const scale = new Float32Array(L.slots);
  const zeroPoint = new Int32Array(L.slots);
  for (let i = 0; i < L.slots; i++) {
    const r = resolvedRangeParams(min[i]!, max[i]!, s);
    scale[i] = r.scale;
    zeroPoint[i] = r.zeroPoint;
  }
  return { ...s, granularity: L.granularity, axis: L.axis, groupSize: L.groupSize, scale, zeroPoint };
}

/** Validates parameters against a tensor shape and returns the layout they imply. */
function checkParams(p: QuantParams, shape: readonly number[]): Layout {
  check(typeof p === 'object' && p !== null, 'params', () => `expected QuantParams, got ${describe(p)}`);
  const { qmin, qmax } = quantRange(p.bits, p.signed, p.narrow);
  check(
    p.qmin === qmin && p.qmax === qmax,
    'params',
    `qmin/qmax [${describe(p.qmin)}, ${describe(p.qmax)}] do not match ${p.bits}-bit ${p.signed ? 'signed' : 'unsigned'}${p.narrow ? ' narrow' : ''}`,
  );
  let L: Layout;
  if (p.granularity === 'tensor') L = resolveLayout(shape, {});
  else if (p.granularity === 'channel') L = resolveLayout(shape, { axis: p.axis });
  else if (p.granularity === 'group') L = resolveLayout(shape, { axis: p.axis, groupSize: p.groupSize });
  else
    throw new QwasmError(
      'params.granularity',
      `must be 'tensor', 'channel' or 'group', got ${describe(p.granularity)}`,
    );
  check(
    p.scale instanceof Float32Array && p.scale.length === L.slots,
    'params.scale',
    `needs a Float32Array of ${L.slots} values for this tensor, got ${describe(p.scale)}`,
  );
  check(
    p.zeroPoint instanceof Int32Array && p.zeroPoint.length === L.slots,
    'params.zeroPoint',
    `needs an Int32Array of ${L.slots} values for this tensor, got ${describe(p.zeroPoint)}`,
  );
  for (let i = 0; i < L.slots; i++) {
    const sc = p.scale[i]!;
    check(Number.isFinite(sc) && sc > 0, 'params.scale', `must be positive and finite, got ${sc} at ${i}`);
    const z = p.zeroPoint[i]!;
    check(z >= qmin && z <= qmax, 'params.zeroPoint', `${z} at ${i} is outside [${qmin}, ${qmax}]`);
  }
  return L;
}

/**
 * Quantizes a float32 tensor with given parameters:
 * `q = saturate(roundHalfEven(f32(x / scale)) + zeroPoint)` into `[qmin, qmax]`; NaN ->
 * zero point, +-Inf saturate. Signed schemes give an Int8Array, unsigned a Uint8Array.
 * A bare Float32Array is a 1-D tensor.
 *
 * @example
 * ```ts
 * const p = computeQuantParams(x, { bits: 4 });
 * const q = quantizeTensor(x, p); // Int8Array with values in [-8, 7]
 * ```
 */
export function quantizeTensor(x: Tensor<Float32Array> | Float32Array, params: QuantParams): Int8Array | Uint8Array {
  const t = asTensor(x, 'x');
  const L = checkParams(params, t.shape);
  const out = params.signed ? new Int8Array(t.data.length) : new Uint8Array(t.data.length);
  const { qmin, qmax } = params;
  const data = t.data;
  forEachRun(L, (start, count, stride, slot) => {
    const s = params.scale[slot]!;
    const zp = params.zeroPoint[slot]!;
    const lo = qmin - zp;
    const hi = qmax - zp;
    for (let i = 0, j = start; i < count; i++, j += stride) {
      const v = Math.fround(data[j]! / s);
      out[j] = v !== v ? zp : roundHalfEven(v < lo ? lo : v > hi ? hi : v) + zp;
    }
  });
  return out;
}

/**
 * The float32 values of quantized codes: `f32((q - zeroPoint) * scale)`.
 *
 * @example
 * ```ts
 * const xHat = dequantizeTensor({ data: q, shape: [64, 256] }, p);
 * ```
 */
export function dequantizeTensor(
  q: Tensor<Int8Array | Uint8Array> | Int8Array | Uint8Array,
  params: QuantParams,
): Float32Array {
  const t = readTensorOrArray<Int8Array | Uint8Array>(q, 'q', Int8Array, Uint8Array);
  const L = checkParams(params, t.shape);
  const out = new Float32Array(t.data.length);
  const data = t.data;
  forEachRun(L, (start, count, stride, slot) => {
    const s = params.scale[slot]!;
    const zp = params.zeroPoint[slot]!;
    for (let i = 0, j = start; i < count; i++, j += stride) out[j] = (data[j]! - zp) * s;
  });
  return out;
}

/**
 * Fake quantization for quantization-aware training: quantize, then dequantize, in
 * float32 — the values the integer kernels will effectively see. Writes into `out`
 * when given.
 *
 * @example
 * ```ts
 * const p = computeQuantParams(w, { bits: 4, axis: 0 });
 * const wq = fakeQuantize(w, p); // same shape, every value on the 4-bit grid
 * ```
 */
export function fakeQuantize(
  x: Tensor<Float32Array> | Float32Array,
  params: QuantParams,
  out?: Float32Array,
): Float32Array {
  const t = asTensor(x, 'x');
  const L = checkParams(params, t.shape);
  const y = out ?? new Float32Array(t.data.length);
  check(
    y instanceof Float32Array && y.length >= t.data.length,
    'out',
    `must be a Float32Array of at least ${t.data.length} values`,
  );
  const { qmin, qmax } = params;
  const data = t.data;
  forEachRun(L, (start, count, stride, slot) => {
    const s = params.scale[slot]!;
    const zp = params.zeroPoint[slot]!;
    const lo = qmin - zp;
    const hi = qmax - zp;
    for (let i = 0, j = start; i < count; i++, j += stride) {
      const v = Math.fround(data[j]! / s);
      y[j] = v !== v ? 0 : roundHalfEven(v < lo ? lo : v > hi ? hi : v) * s;
    }
  });
  return y;
}

/**
 * The straight-through estimator's gradient mask of {@link fakeQuantize}: 1 where the
 * rounded code `roundHalfEven(x / scale) + zeroPoint` lies inside `[qmin, qmax]` (the
 * gradient passes unchanged), 0 where it was clamped or x is NaN (the gradient is
 * zero). Multiply the upstream gradient by it.
 *
 * @example
 * ```ts
 * const mask = steGradientMask(x, p);
 * for (let i = 0; i < grad.length; i++) grad[i] *= mask[i];
 * ```
 */
export function steGradientMask(
  x: Tensor<Float32Array> | Float32Array,
  params: QuantParams,
  out?: Uint8Array,
): Uint8Array {
  const t = asTensor(x, 'x');
  const L = checkParams(params, t.shape);
  const m = out ?? new Uint8Array(t.data.length);
  check(
    m instanceof Uint8Array && m.length >= t.data.length,
    'out',
    `must be a Uint8Array of at least ${t.data.length} values`,
  );
  const { qmin, qmax } = params;
  const data = t.data;
  forEachRun(L, (start, count, stride, slot) => {
    const s = params.scale[slot]!;
    const zp = params.zeroPoint[slot]!;
    for (let i = 0, j = start; i < count; i++, j += stride) {
      const v = Math.fround(data[j]! / s);
      // an infinite v rounds to itself and fails the test, as it should
      const q = v !== v ? qmin - 1 : roundHalfEven(v) + zp;
      m[j] = q >= qmin && q <= qmax ? 1 : 0;
    }
  });
  return m;
}
