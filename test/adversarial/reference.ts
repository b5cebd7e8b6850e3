// Plain scalar references the adversarial suite needs beyond test/reference: numpy
// broadcasting matmul, requantization per column (fp32 with exact semantics where the
// float32 multiplier overflows, TFLite fixed point with a saturating left shift),
// ONNX convolution geometry (layouts, autoPad, groups), and the layer epilogues.
import { refConvInteger, type RefConvShape } from '../reference/conv.js';
import { clamp, rdbpot, roundHalfEven, srdhm } from '../reference/requant.js';

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

export function qrangeOf(signed: boolean): { qmin: number; qmax: number } {
  return signed ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 };
}

// ---------------------------------------------------------------------------------
// Quantize / dequantize

/** ONNX QuantizeLinear of one value in float32 arithmetic. */
export function quantizeOne(x: number, scale: number, zp: number, qmin: number, qmax: number): number {
  if (Number.isNaN(x)) return zp;
  const v = Math.fround(Math.fround(x) / Math.fround(scale));
  if (v === Infinity) return qmax;
  if (v === -Infinity) return qmin;
  return clamp(roundHalfEven(v) + zp, qmin, qmax);
}

/** Splits a shape around an axis: [outer, C, inner]. */
export function splitAxis(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return [outer, shape[axis]!, inner];
}

/** Per-tensor (1 value) or per-axis quantization of x. */
export function quantizeRef(
  x: ArrayLike<number>,
  shape: readonly number[],
  scales: readonly number[],
  zps: readonly number[],
  axis: number,
  signed: boolean,
): number[] {
  const { qmin, qmax } = qrangeOf(signed);
  const out: number[] = [];
  if (scales.length === 1) {
    for (let i = 0; i < x.length; i++) out.push(quantizeOne(x[i]!, scales[0]!, zps[0]!, qmin, qmax));
    return out;
  }
  const [outer, C, inner] = splitAxis(shape, axis);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < inner; i++) {
        const j = (o * C + c) * inner + i;
        out[j] = quantizeOne(x[j]!, scales[c]!, zps.length > 1 ? zps[c]! : zps[0]!, qmin, qmax);
      }
  return out;
}

export function dequantizeRef(
  q: ArrayLike<number>,
  shape: readonly number[],
  scales: readonly number[],
  zps: readonly number[],
  axis: number,
): number[] {
  const one = (v: number, s: number, z: number) => Math.fround((v - z) * Math.fround(s));
  const out: number[] = [];
  if (scales.length === 1) {
    for (let i = 0; i < q.length; i++) out.push(one(q[i]!, scales[0]!, zps[0]!));
    return out;
  }
  const [outer, C, inner] = splitAxis(shape, axis);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < inner; i++) {
        const j = (o * C + c) * inner + i;
        out[j] = one(q[j]!, scales[c]!, zps.length > 1 ? zps[c]! : zps[0]!);
      }
  return out;
}

/**
 * DynamicQuantizeLinear's quantization of x with a given scale: the zero point
 * roundHalfEven(clamp(0 - lo / scale, 0, 255)) and the uint8 codes.
 */
export function dynamicWith(x: ArrayLike<number>, lo: number, scale: number): { zeroPoint: number; y: number[] } {
  const zeroPoint = roundHalfEven(clamp(Math.fround(0 - Math.fround(lo / scale)), 0, 255));
  const y: number[] = [];
  for (let i = 0; i < x.length; i++) y.push(quantizeOne(x[i]!, scale, zeroPoint, 0, 255));
  return { zeroPoint, y };
}

/**
 * DynamicQuantizeLinear (NaN ignored in the range): scale f32(f32(max - min) / 255) over
 * the range widened to 0. `overflow` when max - min overflows float32 though both ends
 * are finite (no ONNX answer: any finite scale near the double range is sound);
 * null when an end is infinite.
 */
export function dynamicRef(
  x: ArrayLike<number>,
): { scale: number; zeroPoint: number; y: number[]; overflow: boolean; lo: number; hi: number } | null {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  lo = Math.fround(lo);
  hi = Math.fround(hi);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  const range = Math.fround(hi - lo);
  let scale = hi === lo ? 1 : !Number.isFinite(range) ? Math.fround((hi - lo) / 255) : Math.fround(range / 255);
  // no float32 scale for the range: max - min overflows, or / 255 underflows to 0
  const overflow = !Number.isFinite(range) || scale === 0;
  if (scale === 0) scale = 2 ** -149;
  return { scale, ...dynamicWith(x, lo, scale), overflow, lo, hi };
}

// ---------------------------------------------------------------------------------
// MatMul with numpy broadcasting

export interface MatMulRef {
  acc: number[];
  shape: number[];
  M: number;
  N: number;
  K: number;
}

/** null when the shapes do not go together (K differs, batches do not broadcast, rank 0). */
export function matMulRef(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  za: number,
  zb: readonly number[],
): MatMulRef | null {
  if (aShape.length < 1 || bShape.length < 1) return null;
  const as = aShape.length === 1 ? [1, aShape[0]!] : [...aShape];
  const bs = bShape.length === 1 ? [bShape[0]!, 1] : [...bShape];
  const M = as[as.length - 2]!;
  const K = as[as.length - 1]!;
  const N = bs[bs.length - 1]!;
  if (bs[bs.length - 2] !== K) return null;
  const ab = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = ab[i - (rank - ab.length)] ?? 1;
    const db = bb[i - (rank - bb.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    batch.push(da === 1 ? db : da);
  }
  const total = batch.reduce((x, y) => x * y, 1);
  const acc: number[] = [];
  const idx = new Array<number>(rank).fill(0);
  for (let t = 0; t < total; t++) {
    let ai = 0;
    let bi = 0;
    for (let i = 0; i < rank; i++) {
      const da = ab[i - (rank - ab.length)] ?? 1;
      const db = bb[i - (rank - bb.length)] ?? 1;
      ai = ai * da + (da === 1 ? 0 : idx[i]!);
      bi = bi * db + (db === 1 ? 0 : idx[i]!);
    }
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        const z = zb.length > 1 ? zb[n]! : zb[0]!;
        let s = 0;
        for (let k = 0; k < K; k++) s += (a[ai * M * K + m * K + k]! - za) * (b[bi * K * N + k * N + n]! - z);
        acc.push(s);
      }
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < batch[i]!) break;
      idx[i] = 0;
    }
  }
  const shape = [...batch];
  if (aShape.length > 1) shape.push(M);
  if (bShape.length > 1) shape.push(N);
  return { acc, shape, M, N, K };
}

// ---------------------------------------------------------------------------------
// Requantization

/**
 * ONNX fp32 requantization of acc with m = f32(f32(sa * sb) / sy). Where that float32
 * multiplier is not finite (the scales' product overflows), the exact answer is the
 * real product's sign saturated (and 0 -> the zero point).
 */
export function requantFp32Ref(
  acc: number,
  sa: number,
  sb: number,
  sy: number,
  zp: number,
  qmin: number,
  qmax: number,
): number {
  const m = Math.fround(Math.fround(Math.fround(sa) * Math.fround(sb)) / Math.fround(sy));
  if (!Number.isFinite(m)) return acc === 0 ? clamp(zp, qmin, qmax) : acc > 0 ? qmax : qmin;
  const f = Math.fround(Math.fround(acc) * m);
  return clamp(roundHalfEven(f) + zp, qmin, qmax);
}

/** TFLite QuantizeMultiplier on a double: { multiplier in [2^30, 2^31), shift }, 0 when flushed. */
export function quantizeMultiplierRef(m: number): { multiplier: number; shift: number } {
  if (m === 0) return { multiplier: 0, shift: 0 };
  let q = m;
  let shift = 0;
  while (q >= 1) {
    q /= 2;
    shift++;
  }
  while (q < 0.5) {
    q *= 2;
    shift--;
  }
  let fixed = Math.round(q * 2 ** 31);
  if (fixed === 2 ** 31) {
    fixed /= 2;
    shift++;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: fixed, shift };
}

/**
 * TFLite fixed-point requantization with the real multiplier (f32(sa) * f32(sb)) / f32(sy)
 * in double: x * 2^left saturated to int32 (a saturating left shift; TFLite's C code
 * overflows there), SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, + zp, clamp.
 * Multipliers of 2^31 and more saturate by sign (0 -> the zero point).
 */
export function requantFixedRef(
  acc: number,
  sa: number,
  sb: number,
  sy: number,
  zp: number,
  qmin: number,
  qmax: number,
): number {
  const real = (Math.fround(sa) * Math.fround(sb)) / Math.fround(sy);
  if (acc === 0) return clamp(zp, qmin, qmax);
  const { multiplier, shift } = quantizeMultiplierRef(real);
  if (!Number.isFinite(real) || shift > 31) return acc > 0 ? qmax : qmin;
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const shifted = clamp(acc * 2 ** left, INT32_MIN, INT32_MAX);
  const v = rdbpot(srdhm(shifted, multiplier), right);
  return clamp(v + zp, qmin, qmax);
}

/** The output range of a fused activation (TFLite CalculateActivationRangeQuantized). */
export function activationRangeRef(
  activation: string | undefined,
  scale: number,
  zp: number,
  qmin: number,
  qmax: number,
): { qmin: number; qmax: number } {
  if (activation === 'relu') return { qmin: Math.max(qmin, zp), qmax };
  if (activation === 'relu6') {
    const six = 6 / Math.fround(scale);
    return { qmin: Math.max(qmin, zp), qmax: Math.min(qmax, zp + Math.sign(six) * Math.round(Math.abs(six))) };
  }
  return { qmin, qmax };
}

// ---------------------------------------------------------------------------------
// Convolution geometry (ONNX)

export interface ConvAttrsRef {
  layout: 'NCHW' | 'NHWC';
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
  autoPad: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
}

export interface ConvGeoRef extends RefConvShape {
  OH: number;
  OW: number;
  pads: [number, number, number, number];
}

/** The geometry of a conv (x and w shapes in `layout`), or a reason it is invalid. */
export function convGeometryRef(
  xShape: readonly number[],
  wShape: readonly number[],
  a: ConvAttrsRef,
): ConvGeoRef | string {
  if (xShape.length !== 4) return 'x';
  if (wShape.length !== 4) return 'w';
  const nchw = a.layout === 'NCHW';
  const [N, H, W, C] = (nchw ? [xShape[0], xShape[2], xShape[3], xShape[1]] : xShape) as [
    number,
    number,
    number,
    number,
  ];
  const [M, kH, kW, Cg] = (nchw ? [wShape[0], wShape[2], wShape[3], wShape[1]] : wShape) as [
    number,
    number,
    number,
    number,
  ];
  if (!(H > 0 && W > 0 && C > 0)) return 'x';
  if (!(M > 0 && kH > 0 && kW > 0 && Cg > 0)) return 'w';
  const g = a.group;
  if (C % g !== 0 || M % g !== 0) return 'group';
  if (Cg !== C / g) return 'w';
  const [sH, sW] = a.strides;
  const [dH, dW] = a.dilations;
  const eH = (kH - 1) * dH + 1;
  const eW = (kW - 1) * dW + 1;
  let pads = a.pads;
  let OH: number;
  let OW: number;
  if (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') {
    OH = Math.ceil(H / sH);
    OW = Math.ceil(W / sW);
    const tH = Math.max(0, (OH - 1) * sH + eH - H);
    const tW = Math.max(0, (OW - 1) * sW + eW - W);
    const up = a.autoPad === 'SAME_UPPER';
    const top = up ? Math.floor(tH / 2) : Math.ceil(tH / 2);
    const left = up ? Math.floor(tW / 2) : Math.ceil(tW / 2);
    pads = [top, left, tH - top, tW - left];
  } else {
    if (a.autoPad === 'VALID') pads = [0, 0, 0, 0];
    const hp = H + pads[0] + pads[2];
    const wp = W + pads[1] + pads[3];
    if (eH > hp || eW > wp) return 'kernel';
    OH = Math.floor((hp - eH) / sH) + 1;
    OW = Math.floor((wp - eW) / sW) + 1;
  }
  return { N, H, W, C, M, kH, kW, strides: [sH, sW], pads, dilations: [dH, dW], group: g, OH, OW };
}

/** NCHW [N, C, H, W] data as NHWC. */
export function nchwToNhwc(a: ArrayLike<number>, N: number, C: number, H: number, W: number): number[] {
  const out = new Array<number>(a.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) out[(n * H * W + i) * C + c] = a[(n * C + c) * H * W + i]!;
  return out;
}

/** NHWC [N, H, W, C] data as NCHW. */
export function nhwcToNchw(a: ArrayLike<number>, N: number, H: number, W: number, C: number): number[] {
  const out = new Array<number>(a.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) out[(n * C + c) * H * W + i] = a[(n * H * W + i) * C + c]!;
  return out;
}

/** int32 accumulators of an ONNX conv, in the layout's order (NCHW or NHWC output). */
export function convAccRef(
  geo: ConvGeoRef,
  layout: 'NCHW' | 'NHWC',
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  zx: number,
  zw: readonly number[],
): number[] {
  const nchw = layout === 'NCHW';
  const Cg = geo.C / geo.group!;
  const xs = nchw ? nchwToNhwc(x, geo.N, geo.C, geo.H, geo.W) : x;
  // weights [M, Cg, kH, kW] -> [M, kH, kW, Cg]: the same transpose with N = M, C = Cg
  const ws = nchw ? nchwToNhwc(w, geo.M, Cg, geo.kH, geo.kW) : w;
  const acc = Array.from(refConvInteger(geo, xs, ws, zx, zw));
  return nchw ? nhwcToNchw(acc, geo.N, geo.OH, geo.OW, geo.M) : acc;
}

/** Output channel of element i of a conv output in `layout`. */
export function channelOf(i: number, geo: ConvGeoRef, layout: 'NCHW' | 'NHWC'): number {
  return layout === 'NHWC' ? i % geo.M : Math.floor(i / (geo.OH * geo.OW)) % geo.M;
}

// ---------------------------------------------------------------------------------
// Comparisons

/** The first index where `got` differs from `want` (Object.is on each value), as text, or null. */
export function diffExact(got: ArrayLike<number>, want: ArrayLike<number>, what = 'data'): string | null {
  if (got.length !== want.length) return `${what} has ${got.length} elements, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && !(got[i] === 0 && want[i] === 0)) {
      return `${what}[${i}] = ${got[i]}, expected ${want[i]} (first of ${countDiffs(got, want)} differences)`;
    }
  }
  return null;
}

function countDiffs(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i]) && !(got[i] === 0 && want[i] === 0)) n++;
  return n;
}

/**
 * Float comparison: |got - want| <= tol[i]; where `want` is not finite, `got` must be
 * the same infinity or NaN.
 */
export function diffClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: ArrayLike<number> | number,
  what = 'data',
): string | null {
  if (got.length !== want.length) return `${what} has ${got.length} elements, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const t = typeof tol === 'number' ? tol : tol[i]!;
    if (Number.isNaN(w)) {
      if (!Number.isNaN(g)) return `${what}[${i}] = ${g}, expected NaN`;
    } else if (!Number.isFinite(w) || !Number.isFinite(t)) {
      if (!Object.is(g, w) && !Number.isNaN(g) && Number.isFinite(w)) return `${what}[${i}] = ${g}, expected ${w}`;
    } else if (!(Math.abs(g - w) <= t)) {
      return `${what}[${i}] = ${g}, expected ${w} +- ${t}`;
    }
  }
  return null;
}

/** Shape equality as text. */
export function diffShape(got: unknown, want: readonly number[]): string | null {
  if (!Array.isArray(got) || got.length !== want.length || got.some((d, i) => d !== want[i])) {
    return `shape [${String(got)}], expected [${want.join(', ')}]`;
  }
  return null;
}
