// ConvInteger and QLinearConv with ONNX semantics: validate -> resolve geometry and
// quantization -> convert layouts (NCHW input and ONNX [M, C/group, kH, kW] weights to
// NHWC and [M, kH, kW, C/group]) -> pack -> one kernel call -> view the NHWC result out.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { dtypeOf, readTensor, type QuantDtype, type Tensor } from '../tensor.js';
import { describe, readOptions } from '../args.js';
import { newQuantArray, dtypeRange } from '../quant/dtype.js';
import {
  readBias,
  resolveScale,
  resolveZeroPoint,
  zeroPointDtype,
  type Scale,
  type ZeroPoint,
} from '../quant/params.js';
import { EpilogueParams, type Requant } from './epilogue.js';
import { checkAccumulation, checkBiasRange, maxCentred } from './gemm.js';
import {
  CONV_PARAMS_BYTES,
  choosePath,
  epilogueFor,
  epilogueKind,
  groupHeadersBytes,
  makePlan,
  packConvWeightsS16,
  packedConvWeightBytes,
  resolveGeometry,
  writeParams,
  type ConvAttributes,
  type ConvGeometry,
} from './conv-plan.js';

/**
 * Attributes of convInteger / qlinearConv: ONNX's, plus the tensor layout.
 *
 * @example
 * ```ts
 * const attrs: ConvOpAttributes = { layout: 'NHWC', pads: [1, 1, 1, 1] };
 * const y = qw.convInteger({ data: x, shape: [1, 32, 32, 3] }, { data: w, shape: [16, 3, 3, 3] }, 0, 0, attrs);
 * // Int32Array, shape [1, 32, 32, 16]
 * ```
 */
export interface ConvOpAttributes extends ConvAttributes {
  /**
   * 'NCHW' (default, ONNX): x [N, C, H, W], w [M, C/group, kH, kW], output [N, M, OH, OW].
   * 'NHWC': x [N, H, W, C], w [M, kH, kW, C/group], output [N, OH, OW, M].
   */
  layout?: 'NCHW' | 'NHWC';
}

/**
 * Attributes of qlinearConv: also the requantization arithmetic.
 *
 * @example
 * ```ts
 * const attrs: QLinearConvAttributes = { layout: 'NHWC', pads: [1, 1, 1, 1], requant: 'fixedpoint' };
 * const y = qw.qlinearConv(x, 0.02, 0, w, 0.01, 0, 0.05, 0, bias, attrs);
 * ```
 */
export interface QLinearConvAttributes extends ConvOpAttributes {
  /** 'fp32' (ONNX, default: bit-exact with onnxruntime) or 'fixedpoint' (TFLite). */
  requant?: Requant;
}

interface Operands {
  /** Snapshots of the caller's tensors: the only copies read after validation. */
  x: Tensor;
  w: Tensor;
  geo: ConvGeometry;
  nchw: boolean;
  xType: QuantDtype;
  wType: QuantDtype;
}

function resolveOperands(xArg: Tensor, wArg: Tensor, attrs: ConvOpAttributes): Operands {
  const x = readTensor(xArg, 'x');
  const w = readTensor(wArg, 'w');
  const xType = dtypeOf(x.data, 'x');
  const wType = dtypeOf(w.data, 'w');
  const layout = attrs.layout ?? 'NCHW';
  check(
    layout === 'NCHW' || layout === 'NHWC',
    'attrs.layout',
    () => `must be 'NCHW' or 'NHWC', got ${describe(layout)}`,
  );
  const nchw = layout === 'NCHW';
  check(x.shape.length === 4, 'x', `must be 4-D ${layout}, got shape [${x.shape.join(', ')}]`);
  check(
    w.shape.length === 4,
    'w',
    `must be 4-D ${nchw ? '[M, C/group, kH, kW]' : '[M, kH, kW, C/group]'}, got shape [${w.shape.join(', ')}]`,
  );
  const [n, a, b, c] = x.shape as [number, number, number, number];
  const input = nchw ? { N: n, C: a, H: b, W: c } : { N: n, H: a, W: b, C: c };
  const [m, wa, wb, wc] = w.shape as [number, number, number, number];
  const weights = nchw ? { M: m, Cg: wa, kH: wb, kW: wc } : { M: m, kH: wa, kW: wb, Cg: wc };
  const geo = resolveGeometry(input, weights, attrs, 'attrs.', 'x', 'w');
  return { x, w, geo, nchw, xType, wType };
}

/** Copies x into wasm memory at `dst` as NHWC bytes. */
function copyInput(rt: Runtime, x: Tensor, geo: ConvGeometry, nchw: boolean, dst: number): void {
  const src = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.length);
  const u8 = rt.heap.u8;
  if (!nchw) {
    u8.set(src, dst);
    return;
  }
  const { N, C, H, W } = geo;
  const plane = H * W;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const s = (n * C + c) * plane;
      let d = dst + n * plane * C + c;
      for (let i = 0; i < plane; i++, d += C) u8[d] = src[s + i]!;
    }
  }
}

/** Copies weights into wasm memory at `dst` as [M, kH, kW, Cg] bytes. */
function copyWeights(rt: Runtime, w: Tensor, geo: ConvGeometry, nchw: boolean, dst: number): void {
  const src = new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.length);
  const u8 = rt.heap.u8;
  if (!nchw) {
    u8.set(src, dst);
    return;
  }
  const { M, Cg, kH, kW } = geo;
  const taps = kH * kW;
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < Cg; c++) {
      const s = (m * Cg + c) * taps;
      let d = dst + m * taps * Cg + c;
      for (let t = 0; t < taps; t++, d += Cg) u8[d] = src[s + t]!;
    }
  }
}

/** Reads the NHWC result at `src` (elements of `bytes`) into `out`, transposing to NCHW when asked. */
function readOutput(
  rt: Runtime,
  geo: ConvGeometry,
  nchw: boolean,
  src: number,
  out: Int32Array | Int8Array | Uint8Array,
): void {
  const count = out.length;
  const view =
    out instanceof Int32Array
      ? rt.heap.i32.subarray(src >> 2, (src >> 2) + count)
      : out instanceof Int8Array
        ? rt.heap.i8.subarray(src, src + count)
        : rt.heap.u8.subarray(src, src + count);
  if (!nchw) {
    out.set(view);
    return;
  }
  const { N, M, OH, OW } = geo;
  const plane = OH * OW;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const d = (n * M + m) * plane;
      let s = n * plane * M + m;
      for (let i = 0; i < plane; i++, s += M) out[d + i] = view[s]!;
    }
  }
}

function outShape(geo: ConvGeometry, nchw: boolean): number[] {
  return nchw ? [geo.N, geo.M, geo.OH, geo.OW] : [geo.N, geo.OH, geo.OW, geo.M];
}

/** Runs the conv kernel on validated operands; `epi` null gives int32 output. */
function runConv(
  rt: Runtime,
  ops: Operands,
  za: number,
  zw: Int32Array,
  epi: EpilogueParams | null,
  out: Int32Array | Int8Array | Uint8Array,
): void {
  const { x, w, geo, nchw } = ops;
  const path = choosePath(geo, rt.config);
  const plan = makePlan(geo, path, false, rt.config);
  rt.scoped((alloc) => {
    const xp = alloc(x.data.length, 'x');
    const ws = alloc(w.data.length, 'w');
    const wp = alloc(packedConvWeightBytes(rt, geo, path, false), 'w');
    const pp = alloc(CONV_PARAMS_BYTES);
    const hp = alloc(groupHeadersBytes(geo, path));
    const sp = alloc(plan.scratchBytes, 'x');
    const op = alloc(out.length * out.BYTES_PER_ELEMENT, 'x');
    copyInput(rt, x, geo, nchw, xp);
    copyWeights(rt, w, geo, nchw, ws);
    packConvWeightsS16(rt, geo, path, ws, ops.wType === 'int8', zw, wp);
    writeParams(rt, pp, plan, za, ops.xType === 'int8');
    const params = epilogueFor(rt, geo, path, epi, hp);
    rt.kernels.conv2d_s16(pp, xp, wp, op, epilogueKind(epi), params, sp);
    readOutput(rt, geo, nchw, op, out);
  });
}

/**
 * ONNX ConvInteger: int32 `conv(x - xZeroPoint, w - wZeroPoint)`; x int8 or uint8 with a
 * per-tensor zero point, w int8 or uint8 with a per-tensor or per-output-channel one.
 */
export function convInteger(
  rt: Runtime,
  x: Tensor,
  w: Tensor,
  xZeroPoint?: ZeroPoint,
  wZeroPoint?: ZeroPoint,
  attrs: ConvOpAttributes | null = {},
): Tensor<Int32Array> {
  rt.live();
  const ops = resolveOperands(x, w, readOptions(attrs, 'attrs'));
  const { geo } = ops;
  const zx = resolveZeroPoint(xZeroPoint, 'xZeroPoint', ops.xType);
  const zw = resolveZeroPoint(wZeroPoint, 'wZeroPoint', ops.wType, geo.M);
  checkAccumulation(geo.kH * geo.kW * geo.Cg, maxCentred(ops.xType, zx), maxCentred(ops.wType, zw), 'w');
  const data = new Int32Array(geo.N * geo.M * geo.OH * geo.OW);
  if (data.length > 0) runConv(rt, ops, zx[0]!, zw, null, data);
  return { data, shape: outShape(geo, ops.nchw) };
}

/**
 * ONNX QLinearConv: the int8 conv requantized to yScale / yZeroPoint, with the int32 bias
 * (scale xScale * wScale) added first. Bit-exact with onnxruntime for 'fp32'.
 */
export function qlinearConv(
  rt: Runtime,
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  w: Tensor,
  wScale: Scale,
  wZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint?: ZeroPoint,
  biasArg?: Int32Array | null,
  attrsArg: QLinearConvAttributes | null = {},
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  const attrs = readOptions(attrsArg, 'attrs');
  const ops = resolveOperands(x, w, attrs);
  const { geo } = ops;
  const sx = resolveScale(xScale, 'xScale');
  const zx = resolveZeroPoint(xZeroPoint, 'xZeroPoint', ops.xType);
  const sw = resolveScale(wScale, 'wScale', geo.M);
  const zw = resolveZeroPoint(wZeroPoint, 'wZeroPoint', ops.wType, geo.M);
  const sy = resolveScale(yScale, 'yScale');
  const yType = zeroPointDtype(yZeroPoint) ?? ops.xType;
  const zy = resolveZeroPoint(yZeroPoint, 'yZeroPoint', yType);
  const bias = readBias(biasArg, Int32Array, geo.M);
  const requant = attrs.requant ?? 'fp32';
  check(
    requant === 'fp32' || requant === 'fixedpoint',
    'attrs.requant',
    `must be 'fp32' or 'fixedpoint', got ${describe(requant)}`,
  );
  checkAccumulation(geo.kH * geo.kW * geo.Cg, maxCentred(ops.xType, zx), maxCentred(ops.wType, zw), 'w');
  checkBiasRange(bias, geo.kH * geo.kW * geo.Cg, maxCentred(ops.xType, zx), maxCentred(ops.wType, zw));
  const data = newQuantArray(yType, geo.N * geo.M * geo.OH * geo.OW);
  if (data.length === 0) return { data, shape: outShape(geo, ops.nchw) };
  const { qmin, qmax } = dtypeRange(yType);
  const epi = EpilogueParams.requant(rt, geo.M, {
    requant,
    outputScaleName: 'yScale',
    inputScale: sx[0]!,
    weightScale: sw,
    outputScale: sy[0]!,
    outputZeroPoint: zy[0]!,
    qmin,
    qmax,
    signed: yType === 'int8',
    bias,
  });
  try {
    runConv(rt, ops, zx[0]!, zw, epi, data);
  } finally {
    epi.dispose();
  }
  return { data, shape: outShape(geo, ops.nchw) };
}
