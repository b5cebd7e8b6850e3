// ONNX Resize (opset 13 semantics) over the spatial dims of a 4-D map, int8 / uint8 or
// float32: validate -> resolve the per-axis tables with onnxruntime's float32 coordinate
// arithmetic -> copy in as NHWC -> one kernel call -> view the result out. The kernels'
// rounding (bilinear int8 truncates, as onnxruntime) is written down in assembly/resize.ts.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, type Tensor } from '../tensor.js';
import { outputArray, type OpOutput } from './out.js';
import { checkOutputSize, copyMapIn, copyMapOut, mapDims, mapShape, type Layout, type MapDims } from './nhwc.js';

/**
 * How an output coordinate maps back onto the input (ONNX coordinate_transformation_mode).
 *
 * @example
 * ```ts
 * const mode: CoordinateTransformationMode = 'align_corners';
 * ```
 */
export type CoordinateTransformationMode = 'half_pixel' | 'asymmetric' | 'align_corners' | 'pytorch_half_pixel';

/**
 * How 'nearest' picks the input pixel from a fractional coordinate (ONNX nearest_mode).
 *
 * @example
 * ```ts
 * const nearestMode: NearestMode = 'floor';
 * ```
 */
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

/**
 * Attributes of resize: ONNX Resize's inputs and attributes, camelCase. Give exactly one
 * of `scales` and `sizes`, four values in x's layout order (batch and channels 1 /
 * unchanged) or two ([H, W]).
 *
 * @example
 * ```ts
 * const attrs: ResizeAttributes = { scales: [1, 1, 2, 2], mode: 'linear', coordinateTransformationMode: 'half_pixel' };
 * const y = qw.resize({ data: x, shape: [1, 96, 40, 40] }, attrs); // shape [1, 96, 80, 80]
 * ```
 */
export interface ResizeAttributes {
  /** Scale per dim; the output size is floor(scale * size) computed in float32. */
  scales?: readonly number[];
  /** Output size per dim; the scale is then size_out / size_in in float32. */
  sizes?: readonly number[];
  /** 'nearest' (default) or 'linear' (bilinear over H and W). */
  mode?: 'nearest' | 'linear';
  /** Default 'half_pixel'. */
  coordinateTransformationMode?: CoordinateTransformationMode;
  /** 'nearest' only; default 'round_prefer_floor'. */
  nearestMode?: NearestMode;
  /** 'NCHW' (default) or 'NHWC'; the output has the same layout. */
  layout?: Layout;
}

const TRANSFORMS: readonly string[] = ['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel'];
const NEAREST: readonly string[] = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/** A resize's shapes and its per-axis tables (int32 words; linear: 4 per entry). */
export interface ResizeGeometry {
  input: MapDims;
  output: MapDims;
  nchw: boolean;
  linear: boolean;
  /** rows (OH entries) then cols (OW entries). */
  tables: Int32Array;
}

const f = Math.fround;

/** The input coordinate of output index `o` along one axis, in float32 as onnxruntime computes it. */
function originalCoordinate(mode: string, o: number, scale: number, lenOut: number, lenIn: number): number {
  switch (mode) {
    case 'asymmetric':
      return f(o / scale);
    case 'pytorch_half_pixel':
      return lenOut > 1 ? f(f(f(o + 0.5) / scale) - 0.5) : 0;
    case 'align_corners':
      return lenOut === 1 ? 0 : f(f(o * (lenIn - 1)) / (lenOut - 1));
    default:
      return f(f(f(o + 0.5) / scale) - 0.5);
  }
}

/** C's round(): half away from zero. */
function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
}

function nearestIndex(mode: string, v: number): number {
  switch (mode) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_ceil':
      return roundHalfAway(v);
    default:
      return v === Math.trunc(v) + 0.5 ? Math.floor(v) : roundHalfAway(v);
  }
}

/** One axis of a nearest table: the input index per output index. */
function nearestAxis(t: Int32Array, at: number, lenIn: number, lenOut: number, scale: number, tr: string, nm: string) {
  for (let o = 0; o < lenOut; o++) {
    const i = scale === 1 ? o : nearestIndex(nm, originalCoordinate(tr, o, scale, lenOut, lenIn));
    t[at + o] = Math.min(Math.max(i, 0), lenIn - 1);
  }
}

/** One axis of a linear table: (i1, i2, d1, d2) per output index, d as float32 bits. */
function linearAxis(t: Int32Array, at: number, lenIn: number, lenOut: number, scale: number, tr: string) {
  const bits = new Float32Array(t.buffer, t.byteOffset, t.length);
  for (let o = 0; o < lenOut; o++) {
    let v = scale === 1 ? o : originalCoordinate(tr, o, scale, lenOut, lenIn);
    v = Math.max(0, Math.min(v, lenIn - 1));
    const i1 = Math.min(Math.trunc(v), lenIn - 1);
    const i2 = Math.min(i1 + 1, lenIn - 1);
    const e = at + 4 * o;
    t[e] = i1;
    t[e + 1] = i2;
    // both weights 0.5 where the two taps are one pixel (the last one), as onnxruntime
    bits[e + 2] = i1 === i2 ? 0.5 : Math.abs(f(v - i1));
    bits[e + 3] = i1 === i2 ? 0.5 : Math.abs(f(v - i2));
  }
}

/** Reads scales or sizes into the H and W scale and output size (x's layout order given). */
function resolveSizes(
  d: MapDims,
  nchw: boolean,
  attrs: ResizeAttributes,
): { sh: number; sw: number; OH: number; OW: number } {
  const { scales, sizes } = attrs;
  check((scales === undefined) !== (sizes === undefined), 'attrs.scales', 'give exactly one of scales and sizes');
  const name = scales !== undefined ? 'attrs.scales' : 'attrs.sizes';
  const v = (scales ?? sizes) as unknown;
  check(
    Array.isArray(v) && (v.length === 4 || v.length === 2),
    name,
    `must hold 4 values (x's dims) or 2 ([H, W]), got ${JSON.stringify(v)}`,
  );
  const a = v as number[];
  for (const s of a)
    check(typeof s === 'number' && Number.isFinite(s), name, `must hold finite numbers, got ${JSON.stringify(v)}`);
  // [N, C, H, W] or [N, H, W, C] -> (batch, channels, h, w)
  const [bn, bc, bh, bw] =
    a.length === 2
      ? [undefined, undefined, a[0]!, a[1]!]
      : nchw
        ? [a[0], a[1], a[2]!, a[3]!]
        : [a[0], a[3], a[1]!, a[2]!];
  if (scales !== undefined) {
    check(bh > 0 && bw > 0 && f(bh) > 0 && f(bw) > 0, name, `must be positive, got ${JSON.stringify(v)}`);
    check(
      bn === undefined || (bn === 1 && bc === 1),
      name,
      `can resize only H and W: batch and channel scales must be 1, got ${JSON.stringify(v)}`,
    );
    const sh = f(bh);
    const sw = f(bw);
    const OH = Math.trunc(f(sh * d.H));
    const OW = Math.trunc(f(sw * d.W));
    return { sh, sw, OH, OW };
  }
  for (const s of [bh, bw])
    check(Number.isSafeInteger(s) && s >= 0, name, `must hold integers >= 0, got ${JSON.stringify(v)}`);
  check(
    bn === undefined || (bn === d.N && bc === d.C),
    name,
    `can resize only H and W: batch and channels must stay ${d.N} and ${d.C}`,
  );
  return { sh: f(bh / d.H), sw: f(bw / d.W), OH: bh, OW: bw };
}

/** Validates and resolves resize attributes against x; tables built after the size check. */
export function resolveResize(x: Tensor, attrs: ResizeAttributes, elementBytes: number): ResizeGeometry {
  check(typeof attrs === 'object' && attrs !== null, 'attrs', 'expected an object');
  const { dims: input, nchw } = mapDims(x, attrs.layout, 'attrs.layout');
  const mode = attrs.mode ?? 'nearest';
  check(mode === 'nearest' || mode === 'linear', 'attrs.mode', `must be 'nearest' or 'linear', got ${String(mode)}`);
  const tr = attrs.coordinateTransformationMode ?? 'half_pixel';
  check(
    TRANSFORMS.includes(tr),
    'attrs.coordinateTransformationMode',
    `must be one of ${TRANSFORMS.join(', ')}, got ${String(tr)}`,
  );
  const nm = attrs.nearestMode ?? 'round_prefer_floor';
  check(NEAREST.includes(nm), 'attrs.nearestMode', `must be one of ${NEAREST.join(', ')}, got ${String(nm)}`);
  const sizes = resolveSizes(input, nchw, attrs);
  const { OH, OW } = sizes;
  // onnxruntime copies the input when the output shape equals it, whatever the scales
  // (a 1.3x scale of 3 rows gives 3 rows, which it leaves in place)
  const same = OH === input.H && OW === input.W;
  const sh = same ? 1 : sizes.sh;
  const sw = same ? 1 : sizes.sw;
  checkOutputSize(
    input.N * input.C * OH * OW,
    elementBytes,
    attrs.scales !== undefined ? 'attrs.scales' : 'attrs.sizes',
  );
  check((input.H > 0 && input.W > 0) || OH * OW === 0, 'x', 'has an empty spatial dim but the output does not');
  const linear = mode === 'linear';
  const per = linear ? 4 : 1;
  const tables = new Int32Array(per * (OH + OW));
  if (linear) {
    linearAxis(tables, 0, input.H, OH, sh, tr);
    linearAxis(tables, 4 * OH, input.W, OW, sw, tr);
  } else {
    nearestAxis(tables, 0, input.H, OH, sh, tr, nm);
    nearestAxis(tables, OH, input.W, OW, sw, tr, nm);
  }
  return { input, output: { N: input.N, C: input.C, H: OH, W: OW }, nchw, linear, tables };
}

/**
 * ONNX Resize of the H and W dims of an int8, uint8 or float32 map; the output has x's
 * dtype and layout. Bit-exact with onnxruntime's NCHW Resize for every build, whichever
 * layout is used.
 */
export function resize(
  rt: Runtime,
  x: Tensor,
  attrs: ResizeAttributes,
  given?: OpOutput,
): Tensor<Int8Array | Uint8Array | Float32Array> {
  rt.live();
  checkTensor(x, 'x');
  const f32 = x.data instanceof Float32Array;
  const dtype = f32 ? 'float32' : dtypeOf(x.data, 'x');
  const es = f32 ? 4 : 1;
  const geo = resolveResize(x, attrs, es);
  const { N, H, W, C } = geo.input;
  const { H: OH, W: OW } = geo.output;
  const n = N * C * OH * OW;
  const out = outputArray(given, dtype, n);
  const shape = mapShape(geo.output, geo.nchw);
  if (n === 0) return { data: out, shape };
  rt.scoped((alloc) => {
    const xp = alloc(x.data.length * es, 'x');
    const tp = alloc(geo.tables.length * 4);
    const op = alloc(n * es, 'x');
    copyMapIn(rt, x.data as Int8Array | Uint8Array | Float32Array, geo.input, geo.nchw, xp);
    rt.heap.i32.set(geo.tables, tp >> 2);
    const cols = tp + (geo.linear ? 16 : 4) * OH;
    if (!geo.linear) rt.kernels.resize_nearest(xp, N, H, W, C * es, OH, OW, tp, cols, op);
    else if (f32) rt.kernels.resize_linear_f32(xp, N, H, W, C, OH, OW, tp, cols, op);
    else rt.kernels.resize_linear_q8(xp, N, H, W, C, OH, OW, tp, cols, dtype === 'int8' ? 1 : 0, op);
    copyMapOut(rt, op, geo.output, geo.nchw, out);
  });
  return { data: out, shape };
}
