// Pooling with onnxruntime's semantics: com.microsoft QLinearAveragePool and
// QLinearGlobalAveragePool, ONNX MaxPool on int8 / uint8, and the float32 AveragePool,
// GlobalAveragePool and MaxPool twins. validate -> resolve the windows into per-row and
// per-column tables -> copy in as NHWC -> one kernel call -> view the result out.
// The arithmetic each rounds by is written down in assembly/pool.ts.
import { QwasmError, check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { dtypeRange } from '../quant/dtype.js';
import { outputArray, type OpOutput } from './out.js';
import { resolveScale, resolveZeroPoint, zeroPointDtype, type Scale, type ZeroPoint } from '../quant/params.js';
import {
  checkOutputSize,
  copyMapIn,
  copyMapOut,
  flagAttr,
  mapDims,
  mapShape,
  padsAttr,
  pairAttr,
  type Layout,
  type MapDims,
} from './nhwc.js';

/**
 * Window attributes of the pooling ops, as ONNX names them (camelCase).
 *
 * @example
 * ```ts
 * const attrs: PoolAttributes = { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: true };
 * const y = qw.maxPool({ data: x, shape: [1, 64, 112, 112] }, attrs); // shape [1, 64, 57, 57]
 * ```
 */
export interface PoolAttributes {
  /** [kH, kW]. */
  kernelShape: readonly number[];
  /** [strideH, strideW], default [1, 1]. */
  strides?: readonly number[];
  /** [top, left, bottom, right], default zeros; each pad smaller than the kernel (as onnxruntime requires). */
  pads?: readonly number[];
  /**
   * ceil_mode: output sizes rounded up instead of down; a last window that would start
   * in the bottom / right padding is dropped (onnxruntime's rule). Default false.
   */
  ceilMode?: boolean | 0 | 1;
  /** 'NCHW' (default) or 'NHWC'; the output has the same layout. */
  layout?: Layout;
}

/**
 * Attributes of maxPool: the window's, plus dilations.
 *
 * @example
 * ```ts
 * const attrs: MaxPoolAttributes = { kernelShape: [2, 2], dilations: [2, 2], layout: 'NHWC' };
 * ```
 */
export interface MaxPoolAttributes extends PoolAttributes {
  /** [dilationH, dilationW], default [1, 1]. */
  dilations?: readonly number[];
}

/**
 * Attributes of qlinearAveragePool and averagePool: the window's, plus count_include_pad.
 *
 * @example
 * ```ts
 * const attrs: AveragePoolAttributes = { kernelShape: [3, 3], pads: [1, 1, 1, 1], countIncludePad: true };
 * ```
 */
export interface AveragePoolAttributes extends PoolAttributes {
  /**
   * Whether padded positions count in the divisor (default false). With it, the int8 op
   * divides by the kernel size (onnxruntime's QLinearAveragePool, also for ceil-mode
   * windows that reach past the padding); the float32 op by the taps inside the padded
   * extent (ONNX AveragePool).
   */
  countIncludePad?: boolean | 0 | 1;
}

/**
 * Attributes of the global pools: only the layout.
 *
 * @example
 * ```ts
 * const y = qw.qlinearGlobalAveragePool(x, 0.05, 0, 0.02, 0, { layout: 'NHWC' } satisfies GlobalPoolAttributes);
 * ```
 */
export interface GlobalPoolAttributes {
  /** 'NCHW' (default) or 'NHWC'; the output ([N, C, 1, 1] or [N, 1, 1, C]) has the same layout. */
  layout?: Layout;
}

/** A pooling's shapes, NHWC, and its windows per output row and column (3 int32 each). */
export interface PoolGeometry {
  input: MapDims;
  output: MapDims;
  nchw: boolean;
  kH: number;
  kW: number;
  dH: number;
  dW: number;
  /** QLinearAveragePool turns into the global pool when the kernel covers the unpadded image. */
  global: boolean;
  /** rows (3 * OH int32) then cols (3 * OW int32), see assembly/pool.ts. */
  tables: Int32Array;
}

/** How an average divides: clipped taps, kernel size (QLinearAveragePool) or padded extent (AveragePool). */
export type PoolCount = 'clipped' | 'kernel' | 'padded';

/** Output length along one axis (onnxruntime's ComputeOutputSize, ceil-mode correction included). */
function outputLength(len: number, k: number, s: number, d: number, head: number, tail: number, ceil: boolean): number {
  const span = len + head + tail - ((k - 1) * d + 1);
  if (!ceil) return Math.floor(span / s) + 1;
  let out = Math.ceil(span / s) + 1;
  // the last window must start inside the image or its leading padding
  if ((out - 1) * s >= len + head) out--;
  return out;
}

/** One axis's window table: first input index, taps, averaging factor per output index. */
function axisTable(
  t: Int32Array,
  at: number,
  out: number,
  len: number,
  k: number,
  s: number,
  d: number,
  head: number,
  tail: number,
  count: PoolCount,
): void {
  for (let o = 0; o < out; o++) {
    const start = o * s - head;
    const first = start >= 0 ? 0 : Math.ceil(-start / d);
    const end = Math.min(k, Math.ceil((len - start) / d));
    const taps = Math.max(0, end - first);
    t[at + 3 * o] = taps > 0 ? start + first * d : 0;
    t[at + 3 * o + 1] = taps;
    t[at + 3 * o + 2] = count === 'clipped' ? taps : count === 'kernel' ? k : Math.min(start + k, len + tail) - start;
  }
}

/**
 * Validates and resolves the window attributes against x (any layout); the tables are
 * built only after the output size has been checked.
 */
export function resolvePool(
  x: Tensor,
  attrs: MaxPoolAttributes,
  prefix: string,
  count: PoolCount,
  dilations: boolean,
  elementBytes: number,
): PoolGeometry {
  check(typeof attrs === 'object' && attrs !== null, prefix ? prefix.slice(0, -1) : 'config', 'expected an object');
  const { dims: input, nchw } = mapDims(x, attrs.layout, `${prefix}layout`);
  const { N, H, W, C } = input;
  check(H > 0 && W > 0 && C > 0, 'x', `must have non-empty spatial and channel dims, got H = ${H}, W = ${W}, C = ${C}`);
  check(attrs.kernelShape !== undefined, `${prefix}kernelShape`, 'is required');
  const [kH, kW] = pairAttr(attrs.kernelShape, `${prefix}kernelShape`, 1, 1);
  const [sH, sW] = pairAttr(attrs.strides, `${prefix}strides`, 1, 1);
  const [dH, dW] = dilations ? pairAttr(attrs.dilations, `${prefix}dilations`, 1, 1) : [1, 1];
  const pads = padsAttr(attrs.pads, `${prefix}pads`);
  const ceil = flagAttr(attrs.ceilMode, `${prefix}ceilMode`);
  check(
    pads[0] < kH && pads[2] < kH && pads[1] < kW && pads[3] < kW,
    `${prefix}pads`,
    `must each be smaller than the kernel [${kH}, ${kW}], got [${pads.join(', ')}]`,
  );
  const eH = (kH - 1) * dH + 1;
  const eW = (kW - 1) * dW + 1;
  const hp = H + pads[0] + pads[2];
  const wp = W + pads[1] + pads[3];
  if (eH > hp || eW > wp) {
    throw new QwasmError(
      `${prefix}kernelShape`,
      `the ${kH}x${kW} kernel (${eH}x${eW} with dilations [${dH}, ${dW}]) is larger than the padded ${hp}x${wp} input`,
    );
  }
  const OH = outputLength(H, kH, sH, dH, pads[0], pads[2], ceil);
  const OW = outputLength(W, kW, sW, dW, pads[1], pads[3], ceil);
  checkOutputSize(N * OH * OW * C, elementBytes, `${prefix}pads`);
  const tables = new Int32Array(3 * (OH + OW));
  axisTable(tables, 0, OH, H, kH, sH, dH, pads[0], pads[2], count);
  axisTable(tables, 3 * OH, OW, W, kW, sW, dW, pads[1], pads[3], count);
  const global = kH === H && kW === W && pads.every((p) => p === 0);
  return { input, output: { N, C, H: OH, W: OW }, nchw, kH, kW, dH, dW, global, tables };
}

/** Which element type a pooled map holds. */
type PoolDtype = QuantDtype | 'float32';

/** Runs one pooling kernel: copies x in as NHWC, writes the tables, calls, copies out. */
function runPool<T extends Int8Array | Uint8Array | Float32Array>(
  rt: Runtime,
  x: Tensor,
  geo: PoolGeometry,
  out: T,
  call: (xp: number, rows: number, cols: number, op: number) => void,
): Tensor<T> {
  const shape = mapShape(geo.output, geo.nchw);
  if (out.length === 0) return { data: out, shape };
  const es = out.BYTES_PER_ELEMENT;
  rt.scoped((alloc) => {
    const xp = alloc(x.data.length * es, 'x');
    const tp = alloc(geo.tables.length * 4);
    const op = alloc(out.length * es, 'x');
    copyMapIn(rt, x.data as T, geo.input, geo.nchw, xp);
    rt.heap.i32.set(geo.tables, tp >> 2);
    call(xp, tp, tp + 12 * geo.output.H, op);
    copyMapOut(rt, op, geo.output, geo.nchw, out);
  });
  return { data: out, shape };
}

/** Runs the max pool kernel of x's dtype. */
function runMaxPool(
  rt: Runtime,
  x: Tensor,
  attrs: MaxPoolAttributes,
  dtype: PoolDtype,
  given: OpOutput | undefined,
): Tensor<Int8Array | Uint8Array | Float32Array> {
  const f32 = dtype === 'float32';
  const geo = resolvePool(x, attrs, 'attrs.', 'clipped', true, f32 ? 4 : 1);
  const { N, H, W, C } = geo.input;
  const { H: OH, W: OW } = geo.output;
  const out = outputArray(given, dtype, N * OH * OW * C);
  return runPool(rt, x, geo, out, (xp, rows, cols, op) => {
    if (f32) rt.kernels.pool_max_f32(xp, N, H, W, C, OH, OW, rows, cols, geo.dH, geo.dW, op);
    else rt.kernels.pool_max_q8(xp, N, H, W, C, OH, OW, rows, cols, geo.dH, geo.dW, dtype === 'int8' ? 1 : 0, op);
  });
}

/**
 * ONNX MaxPool over an int8 or uint8 map (2-D windows), the output in x's dtype and
 * layout: exact, and padding never wins a window.
 */
export function maxPool(
  rt: Runtime,
  x: Tensor,
  attrs: MaxPoolAttributes,
  out?: OpOutput,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  checkTensor(x, 'x');
  return runMaxPool(rt, x, attrs, dtypeOf(x.data, 'x'), out) as Tensor<Int8Array | Uint8Array>;
}

/** The float32 ONNX MaxPool (the baseline of maxPool). */
export function maxPoolF32(rt: Runtime, x: Tensor, attrs: MaxPoolAttributes, out?: OpOutput): Tensor<Float32Array> {
  rt.live();
  checkTensor(x, 'x');
  check(x.data instanceof Float32Array, 'x', `expected Float32Array, got ${x.data.constructor.name}`);
  return runMaxPool(rt, x, attrs, 'float32', out) as Tensor<Float32Array>;
}

/** The quantization of a pooled int8 / uint8 map: input and output scale and zero point. */
interface PoolQuant {
  dtype: QuantDtype;
  xScale: number;
  xZp: number;
  yScale: number;
  yZp: number;
}

function resolvePoolQuant(
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint: ZeroPoint | undefined,
): PoolQuant {
  const dtype = dtypeOf(x.data, 'x');
  const sx = resolveScale(xScale, 'xScale');
  const zx = resolveZeroPoint(xZeroPoint, 'xZeroPoint', dtype);
  const sy = resolveScale(yScale, 'yScale');
  const yType = zeroPointDtype(yZeroPoint);
  check(
    yType === undefined || yType === dtype,
    'yZeroPoint',
    `is ${yType} but x is ${dtype} (the output has x's dtype)`,
  );
  const zy = resolveZeroPoint(yZeroPoint, 'yZeroPoint', dtype);
  return { dtype, xScale: sx[0]!, xZp: zx[0]!, yScale: sy[0]!, yZp: zy[0]! };
}

/** Largest image the global pool sums exactly in int32 (255 per pixel, zero point folded in). */
const MAX_GLOBAL_PIXELS = 2 ** 23;

/** m = xScale / (yScale * HW) in float32, MLAS's order. */
export function globalPoolMultiplier(xScale: number, yScale: number, pixels: number): number {
  return Math.fround(xScale / Math.fround(yScale * pixels));
}

function runGlobalQ8(rt: Runtime, q: PoolQuant, N: number, HW: number, C: number, xp: number, op: number): void {
  const { qmin, qmax } = dtypeRange(q.dtype);
  rt.kernels.pool_global_avg_q8(
    xp,
    N,
    HW,
    C,
    q.dtype === 'int8' ? 1 : 0,
    globalPoolMultiplier(q.xScale, q.yScale, HW),
    -q.xZp * HW,
    q.yZp,
    qmin,
    qmax,
    op,
  );
}

/**
 * com.microsoft QLinearAveragePool: int8 / uint8 in and out (x's dtype), bit-exact with
 * onnxruntime: the float32 average of dequantized taps, requantized round-half-even; a
 * kernel covering the whole unpadded image takes the global pool's integer rule, as
 * onnxruntime does.
 */
export function qlinearAveragePool(
  rt: Runtime,
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint: ZeroPoint | undefined,
  attrs: AveragePoolAttributes,
  given?: OpOutput,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  checkTensor(x, 'x');
  const q = resolvePoolQuant(x, xScale, xZeroPoint, yScale, yZeroPoint);
  const count = flagAttr(attrs?.countIncludePad, 'attrs.countIncludePad') ? 'kernel' : 'clipped';
  const geo = resolvePool(x, attrs, 'attrs.', count, false, 1);
  const { N, H, W, C } = geo.input;
  const { H: OH, W: OW } = geo.output;
  check(!geo.global || H * W < MAX_GLOBAL_PIXELS, 'x', `has ${H * W} pixels per map, more than ${MAX_GLOBAL_PIXELS}`);
  const out = outputArray(given, q.dtype, N * OH * OW * C);
  const { qmin, qmax } = dtypeRange(q.dtype);
  return runPool(rt, x, geo, out, (xp, rows, cols, op) => {
    if (geo.global) runGlobalQ8(rt, q, N, H * W, C, xp, op);
    else {
      const signed = q.dtype === 'int8' ? 1 : 0;
      rt.kernels.pool_avg_q8(
        xp,
        N,
        H,
        W,
        C,
        OH,
        OW,
        rows,
        cols,
        signed,
        q.xScale,
        q.xZp,
        q.yScale,
        q.yZp,
        qmin,
        qmax,
        op,
      );
    }
  });
}

/** The float32 ONNX AveragePool (the baseline of qlinearAveragePool). */
export function averagePoolF32(
  rt: Runtime,
  x: Tensor,
  attrs: AveragePoolAttributes,
  out?: OpOutput,
): Tensor<Float32Array> {
  rt.live();
  checkTensor(x, 'x');
  check(x.data instanceof Float32Array, 'x', `expected Float32Array, got ${x.data.constructor.name}`);
  const count = flagAttr(attrs?.countIncludePad, 'attrs.countIncludePad') ? 'padded' : 'clipped';
  const geo = resolvePool(x, attrs, 'attrs.', count, false, 4);
  const { N, H, W, C } = geo.input;
  const { H: OH, W: OW } = geo.output;
  return runPool(rt, x, geo, outputArray(out, 'float32', N * OH * OW * C), (xp, rows, cols, op) =>
    rt.kernels.pool_avg_f32(xp, N, H, W, C, OH, OW, rows, cols, op),
  );
}

/** Geometry of a global pool: the whole map in one window. */
function globalGeometry(x: Tensor, attrs: GlobalPoolAttributes, elementBytes: number): PoolGeometry {
  check(typeof attrs === 'object' && attrs !== null, 'attrs', 'expected an object');
  const { dims: input, nchw } = mapDims(x, attrs.layout, 'attrs.layout');
  const { N, H, W, C } = input;
  check(H > 0 && W > 0 && C > 0, 'x', `must have non-empty spatial and channel dims, got H = ${H}, W = ${W}, C = ${C}`);
  checkOutputSize(N * C, elementBytes, 'x');
  return {
    input,
    output: { N, C, H: 1, W: 1 },
    nchw,
    kH: H,
    kW: W,
    dH: 1,
    dW: 1,
    global: true,
    tables: new Int32Array([0, H, H, 0, W, W]),
  };
}

/**
 * com.microsoft QLinearGlobalAveragePool: the exact int32 sum of each channel, requantized
 * with m = xScale / (yScale * H * W) in float32, round half to even (onnxruntime's x86
 * rule). Output [N, C, 1, 1] (NCHW) or [N, 1, 1, C] (NHWC), x's dtype.
 */
export function qlinearGlobalAveragePool(
  rt: Runtime,
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint: ZeroPoint | undefined,
  attrs: GlobalPoolAttributes = {},
  out?: OpOutput,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  checkTensor(x, 'x');
  const q = resolvePoolQuant(x, xScale, xZeroPoint, yScale, yZeroPoint);
  const geo = globalGeometry(x, attrs, 1);
  const { N, H, W, C } = geo.input;
  check(H * W < MAX_GLOBAL_PIXELS, 'x', `has ${H * W} pixels per map, more than ${MAX_GLOBAL_PIXELS}`);
  return runPool(rt, x, geo, outputArray(out, q.dtype, N * C), (xp, _rows, _cols, op) =>
    runGlobalQ8(rt, q, N, H * W, C, xp, op),
  );
}

/** The float32 ONNX GlobalAveragePool (the baseline of qlinearGlobalAveragePool). */
export function globalAveragePoolF32(
  rt: Runtime,
  x: Tensor,
  attrs: GlobalPoolAttributes = {},
  out?: OpOutput,
): Tensor<Float32Array> {
  rt.live();
  checkTensor(x, 'x');
  check(x.data instanceof Float32Array, 'x', `expected Float32Array, got ${x.data.constructor.name}`);
  const geo = globalGeometry(x, attrs, 4);
  const { N, H, W, C } = geo.input;
  return runPool(rt, x, geo, outputArray(out, 'float32', N * C), (xp, _rows, _cols, op) =>
    rt.kernels.pool_global_avg_f32(xp, N, H * W, C, op),
  );
}
