// ConvTranspose: the int8 form (QLinearConv's quantization around a transposed
// convolution: exact int32 sums, then the fp32 or fixed-point requantization, per tensor or
// per output channel) and the float32 twin. validate -> resolve geometry -> rearrange and
// pack the weights as GEMM columns (kh, kw, m) -> GEMM per block of input pixels -> col2im
// (or, when taps cannot overlap, the GEMM's epilogue writes the output directly) -> view.
// assembly/conv-transpose.ts says why the sums are exact in any order.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray, dtypeRange } from '../quant/dtype.js';
import { resolveScale, resolveZeroPoint, zeroPointDtype, type Scale, type ZeroPoint } from '../quant/params.js';
import { EpilogueParams, type Requant, type RequantSpec } from './epilogue.js';
import { checkAccumulation, maxCentred, packedWeightBytes } from './gemm.js';
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
  // taps cannot overlap and nothing is cropped: the GEMM epilogue writes the output rows
  // directly (no int32 accumulator, no col2im). 2x2 s2 96->96 on 1x160x160x96, simd build,
  // Intel Xeon 2 vCPUs, median of 7: int8 55-61 ms direct vs 67-91 ms through col2im
  // (alternating runs on a busy machine); float32 about even (103-136 vs 111-126 ms)
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

/**
 * The weights of convt_direct_narrow_s16: int16 [4][C], column j = (kh, kw, m) holding
 * w - zw[m] over the input channels, columns from kH * kW * M on zero.
 */
function narrowWeights(rt: Runtime, w: Tensor, g: ConvTransposeGeometry, q: QuantOperands, dst: number): void {
  const { kH, kW, M, Cg } = g;
  rt.scoped((alloc) => {
    const wr = alloc(w.data.length, 'w');
    copyWeightColumns(rt, w, g, wr, 1);
    const src = q.wType === 'int8' ? rt.heap.i8 : rt.heap.u8;
    const i16 = rt.heap.i16;
    const d = dst >> 1;
    i16.fill(0, d, d + 4 * Cg);
    for (let j = 0; j < kH * kW * M; j++) {
      const z = q.zw[q.zw.length === 1 ? 0 : j % M]!;
      for (let c = 0; c < Cg; c++) i16[d + j * Cg + c] = src[wr + j * Cg + c]! - z;
    }
  });
}

/** Input pixels per GEMM block of the col2im path: its int32 columns stay within 256 KiB (L2). */
function blockRows(columns: number, mr: number): number {
  return Math.max(mr, Math.floor(65536 / columns / mr) * mr);
}

/** Everything the int8 path needs besides the geometry. */
export interface QuantOperands {
  xType: QuantDtype;
  wType: QuantDtype;
  zx: number;
  zw: Int32Array;
}

/** Repeats per-channel values (1 or `per`) over `n` columns. */
function tileColumns<T extends Int32Array | Float32Array>(a: T, per: number, n: number): T {
  const t = new (a.constructor as new (n: number) => T)(n);
  for (let i = 0; i < n; i++) t[i] = a[a.length === 1 ? 0 : i % per]!;
  return t;
}

/**
 * A transposed convolution's weights packed once as GEMM columns (int16 panels for int8,
 * float32 panels for the twin) and its epilogue, for one geometry: the op builds one per
 * call, the layer once. `run` reads NHWC x at `xp`, writes NHWC out at `op` and uses
 * `scratchBytes` at `sp`; it allocates nothing.
 */
export class ConvTransposePlan {
  readonly scratchBytes: number;
  private readonly blocks: number[] = [];
  private readonly epi: EpilogueParams | null = null;
  private readonly weights: number;
  private readonly weightBytes: number;
  private readonly bias: number = 0;
  private readonly mc: number;
  /** int16 [4][C] weights of convt_direct_narrow_s16, or 0 (see narrowWeights). */
  private readonly narrow: number = 0;

  constructor(
    private readonly rt: Runtime,
    readonly g: ConvTransposeGeometry,
    w: Tensor,
    private readonly q: QuantOperands | null,
    spec: RequantSpec | null,
    biasF32?: Float32Array,
  ) {
    const { M, Mg, Cg, kH, kW, group } = g;
    const f32 = q === null;
    const es = f32 ? 4 : 1;
    const nr = rt.config.nr;
    const mr = rt.config.mr;
    // direct: one packed block of kW * M columns per kernel row; else kH * kW * Mg per group
    const cols = g.direct ? kW * M : kH * kW * Mg;
    const blocks = g.direct ? kH : group;
    this.weightBytes = f32 ? Math.ceil(cols / nr) * nr * Cg * 4 : packedWeightBytes(rt, cols, Cg);
    try {
      this.weights = this.alloc(blocks * this.weightBytes, 'w');
      rt.scoped((alloc) => {
        const wr = alloc(w.data.length * es, 'w');
        copyWeightColumns(rt, w, g, wr, es);
        const zp = alloc(cols * 4);
        for (let b = 0; b < blocks; b++) {
          const src = wr + b * cols * Cg * es;
          const dst = this.weights + b * this.weightBytes;
          if (f32) {
            rt.kernels.pack_w_f32(src, cols, Cg, Cg, 1, dst);
            continue;
          }
          const zw = q.zw;
          const i32 = rt.heap.i32;
          for (let i = 0; i < cols; i++) {
            i32[(zp >> 2) + i] = zw[zw.length === 1 ? 0 : g.direct ? i % M : b * Mg + (i % Mg)]!;
          }
          rt.kernels.pack_w_s16(src, cols, Cg, Cg, 1, q.wType === 'int8' ? 1 : 0, 0, zp, dst);
        }
      });
      if (spec !== null) {
        this.epi = g.direct
          ? EpilogueParams.requant(rt, cols, {
              ...spec,
              weightScale: tileColumns(spec.weightScale, M, cols),
              bias: spec.bias ? tileColumns(spec.bias, M, cols) : undefined,
            })
          : EpilogueParams.requant(rt, M, spec);
      }
      if (
        q !== null &&
        g.direct &&
        rt.backend !== 'scalar' &&
        kH * kW * M <= 4 &&
        Cg % 8 === 0 &&
        this.epi !== null &&
        this.epi.kind === EpilogueKind.Fp32
      ) {
        // taps never overlap and at most 4 columns per pixel: one pass, a pixel at a time
        this.narrow = this.alloc(4 * Cg * 2, 'w');
        narrowWeights(rt, w, g, q, this.narrow);
      }
      if (biasF32 !== undefined) {
        const n = g.direct ? cols : M;
        this.bias = this.alloc(Math.ceil(n / nr) * nr * 4, 'bias');
        rt.heap.f32.set(tileColumns(biasF32, M, n), this.bias >> 2);
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
    const { N, H, W } = g.input;
    const P = N * H * W;
    const kPairs = Math.ceil(Cg / 2);
    if (g.direct) {
      this.mc = 0;
      // int8: one widened image row; float32 reads its rows in place
      this.scratchBytes = f32 ? 0 : Math.ceil(W / mr) * mr * kPairs * 4;
    } else {
      this.mc = Math.min(blockRows(cols, mr), Math.ceil(P / mr) * mr);
      const out = N * g.output.H * g.output.W * M * 4;
      // int8: widened block + int32 columns + int32 accumulator; float32: columns
      this.scratchBytes = f32 ? this.mc * cols * 4 : this.mc * kPairs * 4 + this.mc * cols * 4 + out;
    }
  }

  private alloc(bytes: number, what: string): number {
    const p = this.rt.heap.alloc(bytes, what);
    this.blocks.push(p);
    return p;
  }

  run(xp: number, op: number, sp: number): void {
    const { rt, g, q } = this;
    const { N, H, W, C } = g.input;
    const { H: OH, W: OW } = g.output;
    const { M, Mg, Cg, kH, kW } = g;
    const k = rt.kernels;
    const f32 = q === null;
    const cols = g.direct ? kW * M : kH * kW * Mg;
    const kPairs = Math.ceil(Cg / 2);
    const signed = q !== null && q.xType === 'int8' ? 1 : 0;
    if (this.narrow !== 0) {
      k.convt_direct_narrow_s16(xp, N, H, W, C, q!.zx, this.narrow, kH, kW, M, this.epi!.ptr, kW * M, op);
      return;
    }
    if (g.direct) {
      for (let n = 0; n < N; n++) {
        for (let h = 0; h < H; h++) {
          const row = (n * H + h) * W * C;
          if (!f32) k.pack_a_s16(xp + row, W, C, C, signed, q.zx, rt.config.mr, sp);
          for (let kh = 0; kh < kH; kh++) {
            const o = (n * OH + h * g.sH + kh) * OW * M;
            const wp = this.weights + kh * this.weightBytes;
            if (f32) k.gemm_f32(xp + row * 4, C, wp, W, cols, C, this.bias, -Infinity, Infinity, op + o * 4, g.sW * M);
            else k.gemm_s16(sp, wp, W, cols, kPairs, op + o, g.sW * M, this.epi!.kind, this.epi!.ptr);
          }
        }
      }
      return;
    }
    const P = N * H * W;
    const mc = this.mc;
    const ap = sp;
    const cp = f32 ? sp : sp + mc * kPairs * 4;
    const acc = f32 ? op : cp + mc * cols * 4;
    const pixels = N * OH * OW;
    if (f32) k.convt_fill_bias_f32(op, pixels, M, this.bias);
    else rt.heap.i32.fill(0, acc >> 2, (acc >> 2) + pixels * M);
    for (let gi = 0; gi < g.group; gi++) {
      const wp = this.weights + gi * this.weightBytes;
      for (let p0 = 0; p0 < P; p0 += mc) {
        const rows = Math.min(mc, P - p0);
        if (f32) {
          k.gemm_f32(xp + (p0 * C + gi * Cg) * 4, C, wp, rows, cols, Cg, 0, -Infinity, Infinity, cp, cols);
        } else {
          k.pack_a_s16(xp + p0 * C + gi * Cg, rows, Cg, C, signed, q.zx, rt.config.mr, ap);
          k.gemm_s16(ap, wp, rows, cols, kPairs, cp, cols, EpilogueKind.I32, 0);
        }
        const col2im = f32 ? k.convt_col2im_f32 : k.convt_col2im_s32;
        col2im(cp, p0, rows, H, W, kH, kW, g.sH, g.sW, g.dH, g.dW, g.pads[0], g.pads[1], OH, OW, M, Mg, gi * Mg, acc);
      }
    }
    if (!f32) k.convt_requant(acc, pixels, M, this.epi!.kind, this.epi!.ptr, op);
  }

  dispose(): void {
    this.epi?.dispose();
    for (const p of this.blocks) this.rt.heap.release(p);
    this.blocks.length = 0;
  }
}

/** Runs a plan once on x into `out` (the op form): copy in, run, copy out. */
function runOnce(rt: Runtime, x: Tensor, plan: ConvTransposePlan, out: Int8Array | Uint8Array | Float32Array): void {
  const es = out.BYTES_PER_ELEMENT;
  try {
    rt.scoped((alloc) => {
      const xp = alloc(x.data.length * es, 'x');
      const op = alloc(out.length * es, 'x');
      const sp = alloc(plan.scratchBytes, 'x');
      copyMapIn(rt, x.data as Int8Array | Uint8Array | Float32Array, plan.g.input, plan.g.nchw, xp);
      plan.run(xp, op, sp);
      copyMapOut(rt, op, plan.g.output, plan.g.nchw, out);
    });
  } finally {
    plan.dispose();
  }
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
  const { qmin, qmax } = dtypeRange(yType);
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
  runOnce(rt, x, new ConvTransposePlan(rt, g, w, { xType, wType, zx: zx[0]!, zw }, spec), data);
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
  const data = new Float32Array(g.output.N * g.output.H * g.output.W * g.M);
  const shape = mapShape(g.output, g.nchw);
  if (data.length === 0) return { data, shape };
  runOnce(rt, x, new ConvTransposePlan(rt, g, w, null, null, bias), data);
  return { data, shape };
}
