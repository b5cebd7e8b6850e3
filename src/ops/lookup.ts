// Unary int8 / uint8 ops as 256-entry lookup tables (onnxruntime's QLinearLookupBase:
// QLinearSigmoid, QLinearLeakyRelu, and any function the caller gives), and the float32
// twins of the usual activations: validate -> build the table (once per quantization) ->
// copy in -> kernel call -> view.
import { QwasmError, check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { dtypeRange } from '../quant/dtype.js';
import { resolveScale, resolveZeroPoint, type Scale, type ZeroPoint } from '../quant/params.js';
import { roundHalfEven } from '../quant/multiplier.js';
import { outputArray, type OpOutput } from './out.js';

/**
 * A unary function on real values, `(x) => y`, or a ready table of 256 outputs indexed by
 * the input code's byte (an int8 code -1 is entry 255): output bytes in a Uint8Array or
 * Int8Array, or codes of the dtype in a plain array.
 *
 * @example
 * ```ts
 * const fn: LookupFunction = (x) => x * Math.min(Math.max(x + 3, 0), 6) / 6; // hard-swish
 * const table: LookupFunction = new Uint8Array(256).map((_, i) => 255 - i);  // a ready table
 * ```
 */
export type LookupFunction = ((x: number) => number) | Uint8Array | Int8Array | readonly number[];

/**
 * The float32 activations of {@link Qwasm.unaryF32}.
 *
 * @example
 * ```ts
 * const kind: UnaryKind = 'hardSwish';
 * const y = qw.unaryF32({ data: x, shape: [1, 112, 112, 16] }, kind);
 * ```
 */
export type UnaryKind = 'sigmoid' | 'tanh' | 'silu' | 'gelu' | 'hardSwish' | 'leakyRelu';

const UNARY_CODES: Record<UnaryKind, number> = { sigmoid: 0, tanh: 1, silu: 2, gelu: 3, hardSwish: 4, leakyRelu: 5 };

/**
 * onnxruntime's QuantizeLinear of one float32 value (MlasQuantizeLinear): a float32
 * division, clamped to the dtype's range less the zero point, rounded half to even. NaN
 * maps to the zero point, as qwasm's quantizeLinear does.
 */
export function quantizeValue(y: number, scale: number, zp: number, qmin: number, qmax: number): number {
  const v = Math.fround(Math.fround(y) / Math.fround(scale));
  if (Number.isNaN(v)) return zp;
  return roundHalfEven(Math.min(Math.max(v, qmin - zp), qmax - zp)) + zp;
}

/**
 * The 256-entry table of y = fn(x) from x's quantization to y's, built as onnxruntime's
 * QlinearBuildLookupTable does: x = f32(xScale * (code - xZeroPoint)), y = f32(fn(x)),
 * quantized by {@link quantizeValue}. Entry i holds the output for the input byte i.
 */
export function buildLookupTable(
  fn: (x: number) => number,
  dtype: QuantDtype,
  xScale: number,
  xZeroPoint: number,
  yScale: number,
  yZeroPoint: number,
): Uint8Array {
  const { qmin, qmax } = dtypeRange(dtype);
  const table = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    const code = dtype === 'int8' ? (i << 24) >> 24 : i;
    const x = Math.fround(Math.fround(xScale) * (code - xZeroPoint));
    table[i] = quantizeValue(Math.fround(fn(x)), yScale, yZeroPoint, qmin, qmax) & 0xff;
  }
  return table;
}

/**
 * A caller's ready table, checked: 256 entries. A Uint8Array or Int8Array holds the output
 * bytes as they are stored (an int8 code -1 is the byte 255); a plain array holds codes of
 * the dtype.
 */
function readTable(table: Uint8Array | Int8Array | readonly number[], dtype: QuantDtype, name: string): Uint8Array {
  check(table.length === 256, name, `a table needs 256 entries (one per input byte), got ${table.length}`);
  if (table instanceof Uint8Array || table instanceof Int8Array) {
    return new Uint8Array(table.buffer, table.byteOffset, 256).slice();
  }
  const { qmin, qmax } = dtypeRange(dtype);
  const out = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    const v = table[i]!;
    check(Number.isInteger(v) && v >= qmin && v <= qmax, name, `table entry ${i} is ${v}, outside the ${dtype} range`);
    out[i] = v & 0xff;
  }
  return out;
}

/**
 * onnxruntime's MlasComputeLogistic for one float32 value: Eigen's rational approximation
 * p(x) / q(x) + 0.5 on x clamped to [-18, 18], its polynomials in multiply-adds that round
 * once (the FMA3 kernel x86-64 hosts run, and NEON's), clamped to [0, 1].
 */
export function mlasLogistic(x: number): number {
  const f = Math.fround;
  const v = f(Math.min(Math.max(x, -18), 18));
  const v2 = f(v * v);
  let p = fmaf(v2, f(4.37031012579801e-11), f(1.15627324459942e-7));
  p = fmaf(p, v2, f(6.08574864600143e-5));
  p = fmaf(p, v2, f(8.51377133304701e-3));
  p = fmaf(p, v2, f(2.48287947061529e-1));
  p = f(p * v);
  let q = fmaf(v2, f(6.10247389755681e-13), f(5.76102136993427e-9));
  q = fmaf(q, v2, f(6.2910678501704e-6));
  q = fmaf(q, v2, f(1.70198817374094e-3));
  q = fmaf(q, v2, f(1.16817656904453e-1));
  q = fmaf(q, v2, f(9.9315192102318e-1));
  return Math.min(Math.max(f(f(p / q) + 0.5), 0), 1);
}

const F32_BITS = new Float32Array(1);
const U32_BITS = new Uint32Array(F32_BITS.buffer);

/** The float32 next to `r` toward `dir` (+1 or -1), for finite nonzero r. */
function nextFloat32(r: number, dir: number): number {
  F32_BITS[0] = r;
  U32_BITS[0]! += r > 0 === dir > 0 ? 1 : -1;
  return F32_BITS[0]!;
}

/**
 * float32 fused multiply-add a * b + c rounded once. a * b of two float32 values is exact
 * in float64; the float64 sum s and its exact error e (TwoSum) give the true value s + e,
 * and only when s sits exactly half-way between two float32 values does e decide the
 * direction (rounding s alone would break the tie to even).
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bp = s - c;
  const e = p - bp + (c - (s - bp));
  const r = Math.fround(s);
  if (e === 0 || r === s || !Number.isFinite(r) || r === 0) return r;
  const other = nextFloat32(r, s > r ? 1 : -1);
  if (Math.abs(s - r) !== Math.abs(other - s)) return r;
  return e > 0 === other > r ? other : r;
}

/**
 * From this many codes a call expands its table into the 128 KiB pair table first
 * (lookup_pairs_build, ~10 us): the pair lookup saves ~0.2 ns per code here.
 */
export const PAIRS_MIN_CODES = 32768;

/** Bytes of the pair table of a 256-entry table. */
export const PAIRS_BYTES = 131072;

/**
 * Runs a table over `rows` runs of n codes (strides as lookup_u8) with the table at
 * `table`: through the pair table (built in a scoped block) when the call is large enough.
 */
export function runLookup(
  rt: Runtime,
  alloc: (bytes: number, what?: string) => number,
  table: number,
  x: number,
  xStride: number,
  n: number,
  rows: number,
  out: number,
  outStride: number,
): void {
  if (n * rows >= PAIRS_MIN_CODES) {
    const pairs = alloc(PAIRS_BYTES);
    rt.kernels.lookup_pairs_build(table, pairs);
    rt.kernels.lookup_u8_pairs(x, xStride, n, rows, pairs, out, outStride);
  } else rt.kernels.lookup_u8(x, xStride, n, rows, table, out, outStride);
}

/** Applies a table to x's codes: copy in, one kernel call, view. */
function applyTable(
  rt: Runtime,
  x: Tensor,
  dtype: QuantDtype,
  table: Uint8Array,
  out: OpOutput | undefined,
): Tensor<Int8Array | Uint8Array> {
  const n = x.data.length;
  const data = outputArray(out, dtype, n);
  if (n === 0) return { data, shape: [...x.shape] };
  const src = x.data as Int8Array | Uint8Array;
  rt.scoped((alloc) => {
    const pt = alloc(256);
    const px = alloc(n, 'x');
    const po = alloc(n, 'x');
    const u8 = rt.heap.u8;
    u8.set(table, pt);
    u8.set(new Uint8Array(src.buffer, src.byteOffset, n), px);
    runLookup(rt, alloc, pt, px, n, n, 1, po, n);
    data.set(dtype === 'int8' ? rt.heap.i8.subarray(po, po + n) : rt.heap.u8.subarray(po, po + n));
  });
  return { data, shape: [...x.shape] };
}

interface UnaryQuant {
  dtype: QuantDtype;
  sx: number;
  zx: number;
  sy: number;
  zy: number;
}

function resolveUnary(
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint: ZeroPoint | undefined,
): UnaryQuant {
  checkTensor(x, 'x');
  const dtype = dtypeOf(x.data, 'x');
  return {
    dtype,
    sx: resolveScale(xScale, 'xScale')[0]!,
    zx: resolveZeroPoint(xZeroPoint, 'xZeroPoint', dtype)[0]!,
    sy: resolveScale(yScale, 'yScale')[0]!,
    zy: resolveZeroPoint(yZeroPoint, 'yZeroPoint', dtype)[0]!,
  };
}

/**
 * The table of `fn` (a function or a ready table) for x's dtype and the given
 * quantizations; `name` is the argument a bad table is blamed on.
 */
export function tableFor(fn: LookupFunction, q: UnaryQuant, name = 'fn'): Uint8Array {
  if (typeof fn === 'function') return buildLookupTable(fn, q.dtype, q.sx, q.zx, q.sy, q.zy);
  if (fn instanceof Uint8Array || fn instanceof Int8Array || Array.isArray(fn)) return readTable(fn, q.dtype, name);
  throw new QwasmError(name, 'expected a function (x) => y or a table of 256 codes');
}

/** qlinearLookup: y = fn(x) through a 256-entry table; see the engine's TSDoc. */
export function qlinearLookup(
  rt: Runtime,
  x: Tensor,
  fn: LookupFunction,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint?: ZeroPoint,
  out?: OpOutput,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  const q = resolveUnary(x, xScale, xZeroPoint, yScale, yZeroPoint);
  return applyTable(rt, x, q.dtype, tableFor(fn, q), out);
}

/** com.microsoft QLinearSigmoid. */
export function qlinearSigmoid(
  rt: Runtime,
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint?: ZeroPoint,
  out?: OpOutput,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  const q = resolveUnary(x, xScale, xZeroPoint, yScale, yZeroPoint);
  return applyTable(rt, x, q.dtype, tableFor(mlasLogistic, q), out);
}

/**
 * Attributes of qlinearLeakyRelu.
 *
 * @example
 * ```ts
 * const attrs: LeakyReluAttributes = { alpha: 0.1 };
 * const y = qw.qlinearLeakyRelu(x, 0.05, 0, 0.05, 0, attrs);
 * ```
 */
export interface LeakyReluAttributes {
  /** The slope below zero (ONNX default 0.01), used as a float32. */
  alpha?: number;
}

/** The float32 alpha of a leaky ReLU attribute set. */
export function readAlpha(attrs: LeakyReluAttributes | undefined): number {
  check(attrs === undefined || (typeof attrs === 'object' && attrs !== null), 'attrs', 'expected an object');
  const alpha = attrs?.alpha ?? 0.01;
  check(
    typeof alpha === 'number' && Number.isFinite(alpha),
    'attrs.alpha',
    `must be a finite number, got ${String(alpha)}`,
  );
  return Math.fround(alpha);
}

/** onnxruntime's leaky ReLU transformer: v >= 0 ? v : f32(alpha * v). */
export function leakyRelu(alpha: number): (v: number) => number {
  return (v) => (v >= 0 ? v : Math.fround(alpha * v));
}

/** com.microsoft QLinearLeakyRelu. */
export function qlinearLeakyRelu(
  rt: Runtime,
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint?: ZeroPoint,
  attrs?: LeakyReluAttributes,
  out?: OpOutput,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  const q = resolveUnary(x, xScale, xZeroPoint, yScale, yZeroPoint);
  return applyTable(rt, x, q.dtype, tableFor(leakyRelu(readAlpha(attrs)), q), out);
}

/** The kernel code of a float32 activation name. */
export function unaryCode(kind: UnaryKind, name: string): number {
  const code = (UNARY_CODES as Record<string, number | undefined>)[kind as string];
  if (code === undefined) {
    throw new QwasmError(name, `must be one of ${Object.keys(UNARY_CODES).join(', ')}, got ${String(kind)}`);
  }
  return code;
}

/** unaryF32: a float32 activation in f32x4 (assembly/unary.ts). */
export function unaryF32(
  rt: Runtime,
  x: Tensor,
  kind: UnaryKind,
  attrs?: LeakyReluAttributes,
  out?: OpOutput,
): Tensor<Float32Array> {
  rt.live();
  checkTensor(x, 'x');
  check(x.data instanceof Float32Array, 'x', `expected Float32Array, got ${x.data.constructor.name}`);
  const code = unaryCode(kind, 'kind');
  const alpha = readAlpha(attrs);
  const n = x.data.length;
  const data = outputArray(out, 'float32', n);
  if (n === 0) return { data, shape: [...x.shape] };
  rt.scoped((alloc) => {
    const px = alloc(n * 4, 'x');
    const po = alloc(n * 4, 'x');
    rt.heap.f32.set(x.data as Float32Array, px >> 2);
    rt.kernels.unary_f32(px, n, code, alpha, po);
    data.set(rt.heap.f32.subarray(po >> 2, (po >> 2) + n));
  });
  return { data, shape: [...x.shape] };
}
