// ConvTranspose: the int8 form (QLinearConv's quantization around a transposed
// convolution: exact int32 sums, then the fp32 or fixed-point requantization, per tensor or
// per output channel) and the float32 twin. validate -> resolve geometry -> rearrange and
// pack the weights as GEMM columns (kh, kw, m) -> GEMM per block of input pixels -> col2im
// (or, when taps cannot overlap, the GEMM's epilogue writes the output directly) -> view.
// assembly/conv-transpose.ts says why the sums are exact in any order.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray, qrange } from '../quant/dtype.js';
import { resolveScale, resolveZeroPoint, zeroPointDtype, type Scale, type ZeroPoint } from '../quant/params.js';
import { EpilogueParams, type Requant, type RequantSpec } from './epilogue.js';
import { checkAccumulation, maxCentred, packedActivationBytes, packedWeightBytes } from './gemm.js';
import { EpilogueKind } from '../kernels.js';
import {
  checkOutputSize,
  copyMapIn,
  copyMapOut,
  mapDims,
  mapShape,
  padsAttr,
  pairAttr,
  type Layout,
  type MapDims,
} from './nhwc.js';

/**
 * Attributes of qlinearConvTranspose and convTranspose, as ONNX names them (camelCase).
 *
 * @example
 * ```ts
 * const attrs: ConvTransposeAttributes = { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] };
 * ```
 */
export interface ConvTransposeAttributes {
  /** [strideH, strideW], default [1, 1]. */
  strides?: readonly number[];
  /** [top, left, bottom, right] cropped from the full output, default zeros. */
  pads?: readonly number[];
  /** [h, w] added at the bottom / right of the output, each below the stride; default zeros. */
  outputPadding?: readonly number[];
  /** [dilationH, dilationW], default [1, 1]. */
  dilations?: readonly number[];
  /** Groups: input and output channels both split into `group` blocks, default 1. */
  group?: number;
  /**
   * 'NCHW' (default, ONNX): x [N, C, H, W], w [C, M/group, kH, kW], output [N, M, OH, OW].
   * 'NHWC': x [N, H, W, C], w [C, kH, kW, M/group], output [N, OH, OW, M].
   */
  layout?: Layout;
}

/**
 * Attributes of qlinearConvTranspose: also the requantization arithmetic.
 *
 * @example
 * ```ts
 * const attrs: QLinearConvTransposeAttributes = { strides: [2, 2], requant: 'fixedpoint' };
 * ```
 */
export interface QLinearConvTransposeAttributes extends ConvTransposeAttributes {
  /** 'fp32' (ONNX, default) or 'fixedpoint' (TFLite). */
  requant?: Requant;
}

/** A transposed convolution's shapes (NHWC) and how it runs. */
export interface ConvTransposeGeometry {
  input: MapDims;
  /** Output map: C is the output channels M. */
  output: MapDims;
  nchw: boolean;
  M: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  dH: number;
  dW: number;
  pads: [number, number, number, number];
  group: number;
  Cg: number;
  Mg: number;
  /** Taps never overlap and nothing is cropped: the GEMM writes the output directly. */
  direct: boolean;
}

/** Output length along one axis (ONNX ConvTranspose without output_shape). */
function outputLength(len: number, k: number, s: number, d: number, head: number, tail: number, extra: number): number {
  return s * (len - 1) + extra + (k - 1) * d + 1 - head - tail;
}

/** Validates x, w and attributes; checks the output size before anything is allocated. */
export function resolveConvTranspose(
  x: Tensor,
  w: Tensor,
  attrs: ConvTransposeAttributes,
  elementBytes: number,
): ConvTransposeGeometry {
  check(typeof attrs === 'object' && attrs !== null, 'attrs', 'expected an object');
  const { dims: input, nchw } = mapDims(x, attrs.layout, 'attrs.layout');
  const { N, H, W, C } = input;
  check(H > 0 && W > 0 && C > 0, 'x', `must have non-empty spatial and channel dims, got H = ${H}, W = ${W}, C = ${C}`);
  check(
    w.shape.length === 4,
    'w',
    `must be 4-D ${nchw ? '[C, M/group, kH, kW]' : '[C, kH, kW, M/group]'}, got shape [${w.shape.join(', ')}]`,
  );
  const [wc, a, b, c] = w.shape as [number, number, number, number];
  const [Mg, kH, kW] = nchw ? [a, b, c] : [c, a, b];
  check(wc === C, 'w', `has ${wc} input channels (dim 0), x has ${C}`);
  check(Mg > 0 && kH > 0 && kW > 0, 'w', `must not be empty, got M/group = ${Mg}, kH = ${kH}, kW = ${kW}`);
  const group = attrs.group ?? 1;
  check(
    Number.isSafeInteger(group) && group >= 1 && C % group === 0,
    'attrs.group',
    `must be a positive integer dividing the ${C} input channels, got ${String(group)}`,
  );
  const [sH, sW] = pairAttr(attrs.strides, 'attrs.strides', 1, 1);
  const [dH, dW] = pairAttr(attrs.dilations, 'attrs.dilations', 1, 1);
  const [oH, oW] = pairAttr(attrs.outputPadding, 'attrs.outputPadding', 0, 0);
  check(
    oH < sH && oW < sW,
    'attrs.outputPadding',
    `must be smaller than the stride (as onnxruntime requires), got [${oH}, ${oW}]`,
  );
  const pads = padsAttr(attrs.pads, 'attrs.pads');
  const OH = outputLength(H, kH, sH, dH, pads[0], pads[2], oH);
  const OW = outputLength(W, kW, sW, dW, pads[1], pads[3], oW);
  check(
    OH >= 1 && OW >= 1,
    'attrs.pads',
    `crop the whole output ([${pads.join(', ')}] from ${OH + pads[0] + pads[2]}x${OW + pads[1] + pads[3]})`,
  );
  const M = Mg * group;
  checkOutputSize(N * OH * OW * M, elementBytes, 'attrs.strides');
  // the int32 accumulator / float32 output plus the GEMM's columns of one block
  checkOutputSize(N * OH * OW * M, 4, 'attrs.strides');
  const direct =
    group === 1 && sH === kH && sW === kW && dH === 1 && dW === 1 && oH === 0 && oW === 0 && pads.every((p) => p === 0);
  return {
    input,
    output: { N, C: M, H: OH, W: OW },
    nchw,
    M,
    kH,
    kW,
    sH,
    sW,
    dH,
    dW,
    pads,
    group,
    Cg: C / group,
    Mg,
    direct,
  };
}

/**
 * Writes the weights as GEMM rows [group][kh][kw][m][c] (one row per output column,
 * K = C/group contiguous) at `dst`, elements of `es` bytes, whichever layout w has.
 */
function copyWeightColumns(rt: Runtime, w: Tensor, g: ConvTransposeGeometry, dst: number, es: number): void {
  const { kH, kW, Mg, Cg, group, nchw } = g;
  const src =
    es === 4
      ? new Int32Array(w.data.buffer, w.data.byteOffset, w.data.length)
      : new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.length);
  const heap = es === 4 ? rt.heap.i32 : rt.heap.u8;
  let d = es === 4 ? dst >> 2 : dst;
  for (let gi = 0; gi < group; gi++) {
    for (let kh = 0; kh < kH; kh++) {
      for (let kw = 0; kw < kW; kw++) {
        for (let m = 0; m < Mg; m++) {
          for (let c = 0; c < Cg; c++) {
            const ci = gi * Cg + c;
            heap[d++] = src[nchw ? ((ci * Mg + m) * kH + kh) * kW + kw : ((ci * kH + kh) * kW + kw) * Mg + m]!;
          }
        }
      }
    }
  }
}

/** Input pixels per GEMM block of the col2im path: its int32 columns stay within 256 KiB (L2). */
function blockRows(columns: number, mr: number): number {
  return Math.max(mr, Math.floor(65536 / columns / mr) * mr);
}

/** Everything the int8 path needs besides the geometry. */
interface QuantOperands {
  xType: QuantDtype;
  wType: QuantDtype;
  zx: number;
  zw: Int32Array;
}

/** Runs the int8 transposed convolution on validated operands into `out` (NHWC or NCHW). */
function runQ8(
  rt: Runtime,
  x: Tensor,
  w: Tensor,
  g: ConvTransposeGeometry,
  q: QuantOperands,
  spec: RequantSpec,
  out: Int8Array | Uint8Array,
): void {
  const { N, H, W, C } = g.input;
  const { H: OH, W: OW } = g.output;
  const { M, Mg, Cg, kH, kW } = g;
  const signed = q.xType === 'int8' ? 1 : 0;
  const wSigned = q.wType === 'int8';
  const kPairs = Math.ceil(Cg / 2);
  const mr = rt.config.mr;
  const cols = kH * kW * Mg;
  // per output column (kh, kw, m): the channel's zero point, scale and bias
  const colZp = new Int32Array(cols);
  const tile = <T extends Int32Array | Float32Array>(a: T, per: number, n: number): T => {
    const t = new (a.constructor as new (n: number) => T)(n);
    for (let i = 0; i < n; i++) t[i] = a[a.length === 1 ? 0 : i % per]!;
    return t;
  };
  rt.scoped((alloc) => {
    const xp = alloc(x.data.length, 'x');
    const wr = alloc(w.data.length, 'w');
    const op = alloc(out.length, 'x');
    copyMapIn(rt, x.data as Int8Array | Uint8Array, g.input, g.nchw, xp);
    copyWeightColumns(rt, w, g, wr, 1);
    const zp = alloc(cols * 4);
    if (g.direct) {
      // one packed block of kW * M columns per kernel row; its epilogue sees those columns
      const rowCols = kW * M;
      const epi = EpilogueParams.requant(rt, rowCols, {
        ...spec,
        weightScale: tile(spec.weightScale, M, rowCols),
        bias: spec.bias ? tile(spec.bias, M, rowCols) : undefined,
      });
      try {
        for (let i = 0; i < rowCols; i++) colZp[i] = q.zw[q.zw.length === 1 ? 0 : i % M]!;
        rt.heap.i32.set(colZp.subarray(0, rowCols), zp >> 2);
        const wBytes = packedWeightBytes(rt, rowCols, Cg);
        const wp = alloc(kH * wBytes, 'w');
        for (let kh = 0; kh < kH; kh++) {
          rt.kernels.pack_w_s16(wr + kh * rowCols * Cg, rowCols, Cg, Cg, 1, wSigned ? 1 : 0, 0, zp, wp + kh * wBytes);
        }
        const ap = alloc(packedActivationBytes(Math.ceil(W / mr) * mr, Cg), 'x');
        for (let n = 0; n < N; n++) {
          for (let h = 0; h < H; h++) {
            rt.kernels.pack_a_s16(xp + (n * H + h) * W * C, W, C, C, signed, q.zx, mr, ap);
            for (let kh = 0; kh < kH; kh++) {
              const o = op + (n * OH + h * g.sH + kh) * OW * M;
              rt.kernels.gemm_s16(ap, wp + kh * wBytes, W, rowCols, kPairs, o, g.sW * M, epi.kind, epi.ptr);
            }
          }
        }
      } finally {
        epi.dispose();
      }
    } else {
      const epi = EpilogueParams.requant(rt, M, spec);
      try {
        const wBytes = packedWeightBytes(rt, cols, Cg);
        const wp = alloc(g.group * wBytes, 'w');
        for (let gi = 0; gi < g.group; gi++) {
          for (let i = 0; i < cols; i++) colZp[i] = q.zw[q.zw.length === 1 ? 0 : gi * Mg + (i % Mg)]!;
          rt.heap.i32.set(colZp, zp >> 2);
          rt.kernels.pack_w_s16(wr + gi * cols * Cg, cols, Cg, Cg, 1, wSigned ? 1 : 0, 0, zp, wp + gi * wBytes);
        }
        const P = N * H * W;
        const mc = Math.min(blockRows(cols, mr), Math.ceil(P / mr) * mr);
        const ap = alloc(packedActivationBytes(mc, Cg), 'x');
        const cp = alloc(mc * cols * 4, 'x');
        const acc = alloc(N * OH * OW * M * 4, 'x');
        rt.heap.i32.fill(0, acc >> 2, (acc >> 2) + N * OH * OW * M);
        for (let gi = 0; gi < g.group; gi++) {
          for (let p0 = 0; p0 < P; p0 += mc) {
            const rows = Math.min(mc, P - p0);
            rt.kernels.pack_a_s16(xp + p0 * C + gi * Cg, rows, Cg, C, signed, q.zx, mr, ap);
            rt.kernels.gemm_s16(ap, wp + gi * wBytes, rows, cols, kPairs, cp, cols, EpilogueKind.I32, 0);
            rt.kernels.convt_col2im_s32(
              cp,
              p0,
              rows,
              H,
              W,
              kH,
              kW,
              g.sH,
              g.sW,
              g.dH,
              g.dW,
              g.pads[0],
              g.pads[1],
              OH,
              OW,
              M,
              Mg,
              gi * Mg,
              acc,
            );
          }
        }
        rt.kernels.convt_requant(acc, N * OH * OW, M, epi.kind, epi.ptr, op);
      } finally {
        epi.dispose();
      }
    }
    copyMapOut(rt, op, g.output, g.nchw, out);
  });
}

/**
 * The int8 ConvTranspose: QLinearConv's quantization (x, w int8 or uint8 with their scales
 * and zero points; w's per tensor or per output channel; int32 bias of scale
 * xScale * wScale) around an exact int32 transposed convolution, requantized with
 * m = (xScale * wScale) / yScale in float32 ('fp32', default) or TFLite fixed point.
 */
export function qlinearConvTranspose(
  rt: Runtime,
  x: Tensor,
  xScale: Scale,
  xZeroPoint: ZeroPoint | undefined,
  w: Tensor,
  wScale: Scale,
  wZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint?: ZeroPoint,
  bias?: Int32Array,
  attrs: QLinearConvTransposeAttributes = {},
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  checkTensor(x, 'x');
  checkTensor(w, 'w');
  const xType = dtypeOf(x.data, 'x');
  const wType = dtypeOf(w.data, 'w');
  const g = resolveConvTranspose(x, w, attrs, 1);
  const sx = resolveScale(xScale, 'xScale');
  const zx = resolveZeroPoint(xZeroPoint, 'xZeroPoint', xType);
  const sw = resolveScale(wScale, 'wScale', g.M);
  const zw = resolveZeroPoint(wZeroPoint, 'wZeroPoint', wType, g.M);
  const sy = resolveScale(yScale, 'yScale');
  const yType = zeroPointDtype(yZeroPoint) ?? xType;
  check(yType === xType, 'yZeroPoint', `is ${yType} but x is ${xType} (the output has x's dtype)`);
  const zy = resolveZeroPoint(yZeroPoint, 'yZeroPoint', yType);
  if (bias !== undefined) {
    check(bias instanceof Int32Array, 'bias', 'must be an Int32Array');
    check(bias.length === g.M, 'bias', `has ${bias.length} values, expected ${g.M} (one per output channel)`);
  }
  const requant = attrs.requant ?? 'fp32';
  check(
    requant === 'fp32' || requant === 'fixedpoint',
    'attrs.requant',
    `must be 'fp32' or 'fixedpoint', got ${String(requant)}`,
  );
  checkAccumulation(g.Cg * g.kH * g.kW, maxCentred(xType, zx), maxCentred(wType, zw), 'w');
  const data = newQuantArray(yType, g.output.N * g.output.H * g.output.W * g.M);
  const shape = mapShape(g.output, g.nchw);
  if (data.length === 0) return { data, shape };
  const { qmin, qmax } = qrange(yType);
  const spec: RequantSpec = {
    requant,
    inputScale: sx[0]!,
    weightScale: sw,
    outputScale: sy[0]!,
    outputScaleName: 'yScale',
    outputZeroPoint: zy[0]!,
    qmin,
    qmax,
    signed: yType === 'int8',
    bias,
  };
  runQ8(rt, x, w, g, { xType, wType, zx: zx[0]!, zw }, spec, data);
  return { data, shape };
}

/**
 * The float32 ONNX ConvTranspose (the baseline of qlinearConvTranspose): the same GEMM
 * and col2im structure in float32, bias (float32[M]) added.
 */
export function convTransposeF32(
  rt: Runtime,
  x: Tensor,
  w: Tensor,
  bias?: Float32Array,
  attrs: ConvTransposeAttributes = {},
): Tensor<Float32Array> {
  rt.live();
  checkTensor(x, 'x');
  checkTensor(w, 'w');
  check(x.data instanceof Float32Array, 'x', `expected Float32Array, got ${x.data.constructor.name}`);
  check(w.data instanceof Float32Array, 'w', `expected Float32Array, got ${w.data.constructor.name}`);
  const g = resolveConvTranspose(x, w, attrs, 4);
  if (bias !== undefined) {
    check(bias instanceof Float32Array, 'bias', 'must be a Float32Array');
    check(bias.length === g.M, 'bias', `has ${bias.length} values, expected ${g.M} (one per output channel)`);
  }
  const { N, H, W, C } = g.input;
  const { H: OH, W: OW } = g.output;
  const { M, Mg, Cg, kH, kW } = g;
  const data = new Float32Array(N * OH * OW * M);
  const shape = mapShape(g.output, g.nchw);
  if (data.length === 0) return { data, shape };
  const nr = rt.config.nr;
  const cols = kH * kW * Mg;
  rt.scoped((alloc) => {
    const xp = alloc(x.data.length * 4, 'x');
    const wr = alloc(w.data.length * 4, 'w');
    const op = alloc(data.length * 4, 'x');
    copyMapIn(rt, x.data as Float32Array, g.input, g.nchw, xp);
    copyWeightColumns(rt, w, g, wr, 4);
    if (g.direct) {
      const rowCols = kW * M;
      const wBytes = Math.ceil(rowCols / nr) * nr * Cg * 4;
      const wp = alloc(kH * wBytes, 'w');
      for (let kh = 0; kh < kH; kh++)
        rt.kernels.pack_w_f32(wr + kh * rowCols * Cg * 4, rowCols, Cg, Cg, 1, wp + kh * wBytes);
      let bp = 0;
      if (bias) {
        bp = alloc(Math.ceil(rowCols / nr) * nr * 4);
        for (let i = 0; i < rowCols; i++) rt.heap.f32[(bp >> 2) + i] = bias[i % M]!;
      }
      for (let n = 0; n < N; n++) {
        for (let h = 0; h < H; h++) {
          for (let kh = 0; kh < kH; kh++) {
            const o = op + (n * OH + h * g.sH + kh) * OW * M * 4;
            const xr = xp + (n * H + h) * W * C * 4;
            rt.kernels.gemm_f32(xr, C, wp + kh * wBytes, W, rowCols, C, bp, -Infinity, Infinity, o, g.sW * M);
          }
        }
      }
    } else {
      const wBytes = Math.ceil(cols / nr) * nr * Cg * 4;
      const wp = alloc(g.group * wBytes, 'w');
      for (let gi = 0; gi < g.group; gi++)
        rt.kernels.pack_w_f32(wr + gi * cols * Cg * 4, cols, Cg, Cg, 1, wp + gi * wBytes);
      let bp = 0;
      if (bias) {
        bp = alloc(M * 4);
        rt.heap.f32.set(bias, bp >> 2);
      }
      rt.kernels.convt_fill_bias_f32(op, N * OH * OW, M, bp);
      const P = N * H * W;
      const mc = Math.min(blockRows(cols, rt.config.mr), Math.ceil(P / rt.config.mr) * rt.config.mr);
      const cp = alloc(mc * cols * 4, 'x');
      for (let gi = 0; gi < g.group; gi++) {
        for (let p0 = 0; p0 < P; p0 += mc) {
          const rows = Math.min(mc, P - p0);
          rt.kernels.gemm_f32(
            xp + (p0 * C + gi * Cg) * 4,
            C,
            wp + gi * wBytes,
            rows,
            cols,
            Cg,
            0,
            -Infinity,
            Infinity,
            cp,
            cols,
          );
          rt.kernels.convt_col2im_f32(
            cp,
            p0,
            rows,
            H,
            W,
            kH,
            kW,
            g.sH,
            g.sW,
            g.dH,
            g.dW,
            g.pads[0],
            g.pads[1],
            OH,
            OW,
            M,
            Mg,
            gi * Mg,
            op,
          );
        }
      }
    }
    copyMapOut(rt, op, g.output, g.nchw, data);
  });
  return { data, shape };
}
