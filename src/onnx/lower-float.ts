// Lowerings of the float32 ops (and the shape arithmetic around them). Weighted ops plan onto
// the engine's prepacked layers (conv2dF32, linearF32) and its NHWC network ops (pools,
// resize, transposed convolution); the data-movement ops run the loops of kernels.ts.
import { QwasmError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { Activation } from '../ops/epilogue.js';
import type { ActivationF32, Conv2dF32 } from '../layers/conv.js';
import { ConvI16 } from '../layers/conv-i16.js';
import type { MapTensor } from '../layers/network.js';
import type { Graph, GraphNode } from './graph.js';
import { inputCodeBound } from './int16.js';
import { attrFloat, attrInt, attrInts, attrString, attrTensor, refuse } from './attrs.js';
import {
  broadcastBinary,
  broadcastPlan,
  concatRowsF32,
  depthToSpaceF32,
  hardSwishAffine,
  hardSwishAffineExactF32,
  hardSwishAffineF32,
  quantizeDequantizeF32,
  matmulBatched,
  PointwiseRunner,
  rowsF32,
  sameShapeF32,
  softmaxRows,
  type BinaryOp,
  type PointwiseInst,
  type PointwiseProgram,
} from './kernels.js';
import { at, permute, permuteInto, physShape, type Lowering, type Planner, type Val, type ValQuant } from './plan.js';
import { allocArray, dtypeOfCode, elementBytes, numel, stridesOf, type OnnxArray, type OnnxDtype } from './tensor.js';
import { unaryCode } from '../ops/lookup.js';

/** Fused information the rewrite passes attach to nodes (see fuse.ts). */
export interface FusedConv {
  activation: Activation;
}

/** A node with the fusion pass's extras. */
export interface PlannedNode extends GraphNode {
  /** Conv: the clamp fused into its epilogue. */
  activation?: Activation;
  /** qwasm.Pointwise: the fused program. */
  program?: PointwiseProgram;
  /**
   * Conv on a 16-bit grid (quantize's `int16`, int16.ts): input step 2^a, weight codes (the
   * weight tensor's OIHW shape) with their step per output channel, bias codes at
   * 2^(a + e_c). The node's weight and bias initializers hold the same values as floats.
   */
  int16?: { a: number; wq: Int16Array; wScales: Float32Array; bq: Int32Array | null };
}

const Q_NHWC = [0, 2, 3, 1];
/** Physical position of each logical NCHW dim in NHWC storage. */
const QINV = [0, 3, 1, 2];

function normAxis(n: GraphNode, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  refuse(n, a >= 0 && a < Math.max(rank, 1), `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function need(n: GraphNode, v: Val | null | undefined, what: string): Val {
  if (v === null || v === undefined) throw new QwasmError(at(n), `is missing its ${what} input`);
  return v;
}

function float(n: GraphNode, v: Val, what: string): void {
  refuse(n, v.dtype === 'float32', `needs a float32 ${what}, got ${v.dtype}`);
}

/**
 * Where a step finds a value in wasm memory: the value itself (its `ptr`, set when the arena
 * is bound) or, for a constant, a block the plan copied it into.
 */
function addressOf(p: Planner, v: Val): { readonly ptr: number } {
  return v.isConst ? { ptr: p.constPtr(v) } : v;
}

// ---------------------------------------------------------------- convolution

interface Geometry2d {
  pads: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  out: [number, number];
}

/** Conv / pool output geometry with ONNX's auto_pad and ceil_mode rules. */
export function convGeometry(n: GraphNode, H: number, W: number, kH: number, kW: number, ceil = false): Geometry2d {
  const strides = (attrInts(n, 'strides') ?? [1, 1]) as [number, number];
  const dilations = (attrInts(n, 'dilations') ?? [1, 1]) as [number, number];
  refuse(n, strides.length === 2 && dilations.length === 2, 'runs 2-D (4-D tensors) only');
  refuse(n, strides.every((s) => s >= 1) && dilations.every((d) => d >= 1), 'strides and dilations must be >= 1');
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  let pads = (attrInts(n, 'pads') ?? [0, 0, 0, 0]) as [number, number, number, number];
  refuse(n, pads.length === 4 && pads.every((v) => v >= 0), 'pads must be 4 non-negative values');
  const ek = [(kH - 1) * dilations[0] + 1, (kW - 1) * dilations[1] + 1];
  const size = [H, W];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const p = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const o = Math.ceil(size[i]! / strides[i]!);
      const total = Math.max(0, (o - 1) * strides[i]! + ek[i]! - size[i]!);
      const small = Math.floor(total / 2);
      p[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      p[i + 2] = total - p[i]!;
    }
    pads = p as [number, number, number, number];
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  else refuse(n, autoPad === 'NOTSET', `auto_pad ${autoPad} is not an ONNX value`);
  const out = [0, 0] as [number, number];
  for (let i = 0; i < 2; i++) {
    const span = size[i]! + pads[i]! + pads[i + 2]! - ek[i]!;
    refuse(n, span >= 0, `kernel larger than the padded input (${size[i]} + pads)`);
    let o = (ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1;
    // ceil mode: a last window starting inside the end padding is dropped (onnxruntime)
    if (ceil && (o - 1) * strides[i]! >= size[i]! + pads[i]!) o--;
    out[i] = o;
  }
  return { pads, strides, dilations, out };
}

/** OIHW weights as OHWI (the conv layers' [O, kH, kW, C/group]). */
export function weightsOhwi(w: Float32Array, shape: readonly number[]): Float32Array {
  return permute(w, shape, [0, 2, 3, 1]) as Float32Array;
}

const lowerConv: Lowering = (p, node, ins) => {
  const n = node as PlannedNode;
  // meant for this lowering only (the node may be planned again, in another plan)
  const q8 = int8OutputOf.get(n);
  int8OutputOf.delete(n);
  const x = need(n, ins[0], 'X');
  float(n, x, 'input');
  const wv = need(n, ins[1], 'W');
  refuse(n, x.shape.length === 4 && wv.shape.length === 4, 'runs 2-D convolutions (4-D tensors) only');
  const w = p.constData(wv, n, 'the weights') as Float32Array;
  const [M, Cg, kH, kW] = wv.shape as [number, number, number, number];
  const group = attrInt(n, 'group', 1);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  refuse(
    n,
    group >= 1 && C === Cg * group && M % group === 0,
    `weights [${wv.shape.join(', ')}] do not fit ${C} input channels in ${group} groups`,
  );
  const ks = attrInts(n, 'kernel_shape');
  refuse(n, ks === undefined || (ks[0] === kH && ks[1] === kW), 'kernel_shape disagrees with the weights');
  const g = convGeometry(n, H, W, kH, kW);
  const bias = ins[2] ? (p.constData(ins[2], n, 'the bias') as Float32Array) : undefined;
  refuse(n, bias === undefined || bias.length === M, `bias must have ${M} values`);
  const hs = (n.activation ?? 'none') === 'none' && !x.isConst ? hardSwishAfter(p, n) : null;
  const activation: ActivationF32 = hs !== null ? 'hardswish' : (n.activation ?? 'none');
  const affine = hs !== null && (hs.m !== 1 || hs.c !== 0);
  const rounding = roundedByConv.get(x);
  if (runsInt16(p, n, x)) return lowerConvI16(p, n, n.int16!, rounding ?? null, q8 ?? null, x, wv.shape, g);
  // a rounding left to this conv (runsInt16 said yes to its QuantizeDequantize): run it here
  if (rounding !== undefined) roundingStep(p, rounding, x);
  // the pads join the key: with auto_pad they follow the input size
  const key = `${n.name}:conv2dF32:${g.pads.join(',')}${hs !== null ? `:hardswish:${hs.m},${hs.c}` : ''}`;
  const layer = p.layer(key, () =>
    p.qw.conv2dF32({
      weights: { data: weightsOhwi(w, wv.shape), shape: [M, kH, kW, Cg] },
      bias,
      strides: g.strides,
      pads: g.pads,
      dilations: g.dilations,
      group,
      activation,
      ...(affine ? { activationScale: hs.m, activationShift: hs.c } : {}),
    }),
  );
  const xin = p.nhwc(x);
  const y = p.val([N, M, g.out[0], g.out[1]], 'float32', true, n.outputs[0]);
  // the hard-swish node after the conv passes this value on as its own
  if (hs !== null) fusedHardSwish.add(y);
  const label = activation === 'none' ? '' : ` + ${activation}${affine ? ' + affine' : ''}`;
  convStep(p, n.name, `Conv (conv2dF32${label})`, layer, xin, y);
  return [y];
};

/**
 * Whether a conv runs the int16 kernel: a dense conv on a 16-bit grid, on one thread (the int16
 * kernel is not split over workers, the float32 conv is), without a hard-swish to take into
 * its epilogue.
 */
function runsInt16(p: Planner, n: PlannedNode, x: Val): boolean {
  if (n.int16 === undefined || attrInt(n, 'group', 1) !== 1 || p.isFolding || x.isConst || p.rt.pool !== null) {
    return false;
  }
  return (n.activation ?? 'none') !== 'none' || hardSwishAfter(p, n) === null;
}

/**
 * Convs of a quantized plan whose float32 output is quantized to int8 right after (set by the
 * quantized lowerings, lower-int8.ts): a conv running the int16 kernel writes those codes itself.
 */
export const int8OutputOf = new WeakMap<GraphNode, ValQuant>();

/** The largest input code bound a 16-bit grid's sums allow: every sum stays below 2^24. */
function int16InputBound(grid: NonNullable<PlannedNode['int16']>): number {
  return inputCodeBound(grid.wq, grid.wScales.length, grid.bq);
}

/**
 * A conv on a 16-bit grid (quantize's `int16`): the integer kernel (layers/conv-i16.ts), whose
 * float32 output has the bits of the float32 conv of the grid's values. Its input bound is
 * the one the grid's sums allow. With `rounding` (the QuantizeDequantize node before it, whose
 * output is never written) the kernel reads that node's input and rounds it to the grid as it
 * converts it to codes, with the node's clamp. With `q8` (the quantization of the int8 value the
 * plan makes of its output) it writes those int8 codes.
 */
function lowerConvI16(
  p: Planner,
  n: PlannedNode,
  grid: NonNullable<PlannedNode['int16']>,
  rounding: GridRounding | null,
  q8: ValQuant | null,
  xv: Val,
  wShape: readonly number[],
  g: { strides: number[]; pads: number[]; dilations: number[]; out: number[] },
): Val[] {
  const [M, C] = wShape as [number, number];
  const q = int16InputBound(grid);
  const range: [number, number] = rounding === null ? [-q, q] : [rounding.lo, rounding.hi];
  const x = rounding === null ? xv : rounding.x;
  const activation = n.activation ?? 'none';
  const layer = p.layer(
    `${n.name}:convI16:${g.pads.join(',')}:${range.join(',')}`,
    () =>
      new ConvI16(p.rt, {
        weights: { data: grid.wq, shape: wShape },
        inputExponent: grid.a,
        weightSteps: grid.wScales,
        bias: grid.bq,
        inputCodes: q,
        inputRange: range,
        strides: g.strides,
        pads: g.pads,
        dilations: g.dilations,
        activation,
      }),
  );
  // an NCHW input is read as it is (the kernel converts it to NHWC codes)
  const N = x.shape[0]!;
  // an int8 output: the epilogue quantizes the float32 value (QuantizeLinear's arithmetic)
  const y = p.val([N, M, g.out[0]!, g.out[1]!], q8 === null ? 'float32' : 'int8', true, n.outputs[0]);
  y.quant = q8;
  const plan = layer.planInput([N, x.shape[2]!, x.shape[3]!, C], !x.nhwc);
  const label =
    (activation === 'none' ? '' : ` + ${activation}`) +
    (rounding === null ? '' : ' + rounding') +
    (q8 === null ? '' : ' + quantize');
  const out = q8 ?? undefined;
  p.step(n.name, `Conv (conv2d int16${label})`, [x], [y], () => layer.runAt(plan, x.ptr, y.ptr, out));
  return [y];
}

/** A float32 conv step: on the arena's addresses, or (folding constants) on arrays. */
function convStep(p: Planner, node: string, op: string, layer: Conv2dF32, x: Val, y: Val): void {
  const xs = physShape(x);
  if (p.isFolding || numel(y.shape) === 0) {
    const xt: Tensor<Float32Array> = { data: new Float32Array(0), shape: xs };
    const yt: Tensor<Float32Array> = { data: new Float32Array(0), shape: physShape(y) };
    p.step(node, op, [x], [y], () => {
      xt.data = x.data as Float32Array;
      yt.data = y.data as Float32Array;
      layer.run(xt, yt);
    });
    return;
  }
  const plan = layer.planInput(xs);
  p.step(node, op, [x], [y], () => layer.runAt(plan, x.ptr, y.ptr));
}

/** Conv outputs that already hold the hard-swish of the node after the conv. */
const fusedHardSwish = new WeakSet<Val>();

/** Nodes reading each value, per graph (built once per graph). */
const readersByGraph = new WeakMap<Graph, Map<string, GraphNode[]>>();

/** The nodes reading value `name` of the plan's graph. */
function readersOf(p: Planner, name: string): GraphNode[] {
  let readers = readersByGraph.get(p.graph);
  if (readers === undefined) {
    readers = new Map();
    for (const m of p.graph.nodes) {
      for (const i of new Set(m.inputs)) {
        const list = readers.get(i);
        if (list === undefined) readers.set(i, [m]);
        else list.push(m);
      }
    }
    readersByGraph.set(p.graph, readers);
  }
  return readers.get(name) ?? [];
}

/**
 * The hard-swish (HardSwish, or a pointwise chain of hard-swish and `* m + c`) that is the only
 * reader of a float conv's output, as its scale m and shift c; null when there is none or
 * the plan keeps the conv's own output (calibration, quantized plans, a graph output).
 */
function hardSwishAfter(p: Planner, n: GraphNode): { m: number; c: number } | null {
  if (!p.fuseEpilogues) return null;
  const y = n.outputs[0]!;
  if (p.graph.outputs.some((o) => o.name === y)) return null;
  const rs = readersOf(p, y);
  if (rs.length !== 1) return null;
  const r = rs[0] as PlannedNode;
  if (r.inputs.length !== 1) return null;
  if (r.domain === '' && r.opType === 'HardSwish') return { m: 1, c: 0 };
  if (r.domain === 'qwasm' && r.opType === 'Pointwise' && r.program !== undefined) return hardSwishAffine(r.program);
  return null;
}

/** Output size and pads of a transposed convolution (ONNX, with output_shape and auto_pad). */
export function convTransposeGeometry(
  n: GraphNode,
  H: number,
  W: number,
  kH: number,
  kW: number,
): { pads: number[]; strides: number[]; dilations: number[]; outputPadding: number[]; out: number[] } {
  const strides = attrInts(n, 'strides') ?? [1, 1];
  const dilations = attrInts(n, 'dilations') ?? [1, 1];
  const outputPadding = attrInts(n, 'output_padding') ?? [0, 0];
  let pads = attrInts(n, 'pads') ?? [0, 0, 0, 0];
  const outputShape = attrInts(n, 'output_shape');
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  const size = [H, W];
  const k = [kH, kW];
  if (outputShape !== undefined || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const target = outputShape?.slice(-2) ?? [H * strides[0]!, W * strides[1]!];
    const p = [0, 0, 0, 0];
    for (let i = 0; i < 2; i++) {
      const total = strides[i]! * (size[i]! - 1) + outputPadding[i]! + (k[i]! - 1) * dilations[i]! + 1 - target[i]!;
      refuse(n, total >= 0, 'output_shape is larger than the transposed convolution can make');
      const half = Math.floor(total / 2);
      p[i] = autoPad === 'SAME_UPPER' ? half : total - half;
      p[i + 2] = total - p[i]!;
    }
    pads = p;
  }
  const out = [0, 1].map(
    (i) => strides[i]! * (size[i]! - 1) + outputPadding[i]! + (k[i]! - 1) * dilations[i]! + 1 - pads[i]! - pads[i + 2]!,
  );
  refuse(
    n,
    out.every((o) => o > 0),
    'output would be empty',
  );
  return { pads, strides, dilations, outputPadding, out };
}

/**
 * Whether a transposed convolution's windows tile its output without overlap (strides equal
 * to the kernel, one group, no dilation, pads or output padding): then it is a 1x1
 * convolution to kH * kW * M channels followed by a depth-to-space shuffle (the FPN heads'
 * 2x2 stride-2 upsamplers), which runs on the conv kernels.
 */
export function convTransposeIsShuffle(n: GraphNode, kH: number, kW: number): boolean {
  const strides = attrInts(n, 'strides') ?? [1, 1];
  const dilations = attrInts(n, 'dilations') ?? [1, 1];
  const pads = attrInts(n, 'pads') ?? [0, 0, 0, 0];
  const outputPadding = attrInts(n, 'output_padding') ?? [0, 0];
  return (
    strides[0] === kH &&
    strides[1] === kW &&
    attrInt(n, 'group', 1) === 1 &&
    dilations.every((d) => d === 1) &&
    pads.every((v) => v === 0) &&
    outputPadding.every((v) => v === 0) &&
    attrInts(n, 'output_shape') === undefined &&
    attrString(n, 'auto_pad', 'NOTSET') === 'NOTSET'
  );
}

/**
 * Transposed-conv weights [C, M, kH, kW] as 1x1 conv weights [kH * kW * M, 1, 1, C]
 * (output channel (i * kW + j) * M + m), and the bias repeated per kernel position.
 */
export function shuffleConvWeights(
  w: Float32Array,
  shape: readonly number[],
  bias: Float32Array | undefined,
): { w: Float32Array; bias: Float32Array | undefined } {
  const [C, M, kH, kW] = shape as [number, number, number, number];
  const O = kH * kW * M;
  const out = new Float32Array(O * C);
  for (let c = 0; c < C; c++) {
    for (let m = 0; m < M; m++) {
      for (let i = 0; i < kH; i++) {
        for (let j = 0; j < kW; j++) out[((i * kW + j) * M + m) * C + c] = w[((c * M + m) * kH + i) * kW + j]!;
      }
    }
  }
  let b: Float32Array | undefined;
  if (bias !== undefined) {
    b = new Float32Array(O);
    for (let o = 0; o < O; o++) b[o] = bias[o % M]!;
  }
  return { w: out, bias: b };
}

const lowerConvTranspose: Lowering = (p, node, ins) => {
  const n = node as PlannedNode;
  const x = need(n, ins[0], 'X');
  float(n, x, 'input');
  const wv = need(n, ins[1], 'W');
  refuse(n, x.shape.length === 4 && wv.shape.length === 4, 'runs 2-D transposed convolutions (4-D tensors) only');
  const w = p.constData(wv, n, 'the weights') as Float32Array;
  const [C, Mg, kH, kW] = wv.shape as [number, number, number, number];
  const group = attrInt(n, 'group', 1);
  const [N, Cx, H, W] = x.shape as [number, number, number, number];
  refuse(n, Cx === C && C % group === 0, `weights [${wv.shape.join(', ')}] do not fit ${Cx} input channels`);
  const g = convTransposeGeometry(n, H, W, kH, kW);
  const bias = ins[2] ? (p.constData(ins[2], n, 'the bias') as Float32Array) : undefined;
  const M = Mg * group;
  const xin = p.nhwc(x);
  const y = p.val([N, M, g.out[0]!, g.out[1]!], 'float32', true, n.outputs[0]);
  const activation = n.activation ?? 'none';
  if (convTransposeIsShuffle(n, kH, kW)) {
    const O = kH * kW * M;
    const layer = p.layer(`${n.name}:conv2dF32:shuffle`, () => {
      const s = shuffleConvWeights(w, wv.shape, bias);
      return p.qw.conv2dF32({ weights: { data: s.w, shape: [O, 1, 1, C] }, bias: s.bias, activation });
    });
    const mid = p.val([N, O, H, W], 'float32', true, `${n.outputs[0]}::1x1`);
    const act = activation !== 'none' ? ` + ${activation}` : '';
    convStep(p, n.name, `ConvTranspose (conv2dF32 1x1${act})`, layer, xin, mid);
    if (p.isFolding) {
      p.step(n.name, 'ConvTranspose (depth to space)', [mid], [y], () => {
        depthToSpaceF32(mid.data as Float32Array, y.data as Float32Array, N * H, W, kH, kW, M);
      });
      return [y];
    }
    // each output row (one input row, one kernel row i) gathers W runs of kW * M channels
    const blk = kW * M * 4;
    const pix = kH * blk;
    const k = p.rt.kernels;
    p.step(n.name, 'ConvTranspose (depth to space, copy_rows)', [mid], [y], () => {
      let d = y.ptr;
      for (let r = 0, src = mid.ptr; r < N * H; r++, src += W * pix) {
        for (let i = 0; i < kH; i++, d += W * blk) k.copy_rows(src + i * blk, pix, blk, W, d, blk);
      }
    });
    return [y];
  }
  refuse(n, activation === 'none', 'has a fused activation only as a 1x1 shuffle');
  const wt = { data: permute(w, wv.shape, [0, 2, 3, 1]) as Float32Array, shape: [C, kH, kW, Mg] };
  const attrs = {
    strides: g.strides,
    pads: g.pads,
    dilations: g.dilations,
    outputPadding: g.outputPadding,
    group,
    layout: 'NHWC' as const,
  };
  const xt: Tensor<Float32Array> = { data: new Float32Array(0), shape: [N, H, W, C] };
  p.step(n.name, 'ConvTranspose (convTransposeF32)', [xin], [y], () => {
    xt.data = xin.data as Float32Array;
    (y.data as Float32Array).set(p.qw.convTransposeF32(xt, wt, bias, attrs).data);
  });
  return [y];
};

// ---------------------------------------------------------------- pools and resize

function poolLowering(kind: 'MaxPool' | 'AveragePool'): Lowering {
  return (p, n, ins) => {
    const x = need(n, ins[0], 'X');
    float(n, x, 'input');
    refuse(n, x.shape.length === 4, 'runs 2-D pooling (4-D tensors) only');
    refuse(n, n.outputs.length < 2 || n.outputs[1] === '', 'cannot return MaxPool indices');
    const k = attrInts(n, 'kernel_shape');
    refuse(n, k !== undefined && k.length === 2, 'needs a 2-D kernel_shape');
    refuse(n, attrInt(n, 'storage_order', 0) === 0, 'storage_order 1 is not run');
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const ceil = attrInt(n, 'ceil_mode', 0) === 1;
    const g = convGeometry(n, H, W, k[0]!, k[1]!, ceil);
    const xin = p.nhwc(x);
    const y = p.val([N, C, g.out[0], g.out[1]], 'float32', true, n.outputs[0]);
    const base = { kernelShape: k, strides: g.strides, pads: g.pads, ceilMode: ceil, layout: 'NHWC' as const };
    const xt: Tensor<Float32Array> = { data: new Float32Array(0), shape: [N, H, W, C] };
    const countIncludePad = attrInt(n, 'count_include_pad', 0) === 1;
    const avgAttrs = { ...base, countIncludePad };
    if (kind === 'MaxPool') {
      const { layout: _layout, ...poolAttrs } = { ...base, dilations: g.dilations };
      void _layout;
      const layer = p.layer(`${n.name}:maxPool2d:${JSON.stringify(poolAttrs)}`, () => p.qw.maxPool2d(poolAttrs));
      mapStep(p, n.name, 'MaxPool (maxPool2d)', layer, xin, y);
      return [y];
    }
    p.step(n.name, 'AveragePool (averagePoolF32)', [xin], [y], () => {
      xt.data = xin.data as Float32Array;
      p.qw.averagePoolF32(xt, avgAttrs, y.data as Float32Array);
    });
    return [y];
  };
}

const lowerGlobalAveragePool: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'X');
  float(n, x, 'input');
  refuse(n, x.shape.length === 4, 'runs 4-D tensors only');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const xin = p.nhwc(x);
  const y = p.val([N, C, 1, 1], 'float32', true, n.outputs[0]);
  if (!p.isFolding && N * C > 0) {
    const k = p.rt.kernels;
    p.step(n.name, 'GlobalAveragePool (pool_global_avg_f32)', [xin], [y], () => {
      k.pool_global_avg_f32(xin.ptr, N, H * W, C, y.ptr);
    });
    return [y];
  }
  const xt: Tensor<Float32Array> = { data: new Float32Array(0), shape: [N, H, W, C] };
  const attrs = { layout: 'NHWC' as const };
  p.step(n.name, 'GlobalAveragePool (globalAveragePoolF32)', [xin], [y], () => {
    xt.data = xin.data as Float32Array;
    p.qw.globalAveragePoolF32(xt, attrs, y.data as Float32Array);
  });
  return [y];
};

/** Resize's scales / sizes over H and W, and its mode attributes, as the engine's resize takes them. */
export function resizeAttributes(
  p: Planner,
  n: GraphNode,
  ins: (Val | null)[],
): {
  attrs: {
    scales?: number[];
    sizes?: number[];
    mode: 'nearest' | 'linear';
    coordinateTransformationMode: 'half_pixel' | 'asymmetric' | 'align_corners' | 'pytorch_half_pixel';
    nearestMode: 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';
  };
  out: [number, number];
} {
  const x = need(n, ins[0], 'X');
  refuse(n, x.shape.length === 4, 'resizes 4-D tensors only');
  const opset = p.graph.opset;
  const scalesIn = opset < 11 ? ins[1] : ins[2];
  const sizesIn = opset < 11 ? null : ins[3];
  const mode = attrString(n, 'mode', 'nearest');
  refuse(n, mode === 'nearest' || mode === 'linear', `mode ${mode} is not run (nearest and linear are)`);
  const ctm = opset < 11 ? 'asymmetric' : attrString(n, 'coordinate_transformation_mode', 'half_pixel');
  refuse(
    n,
    ['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel'].includes(ctm),
    `coordinate_transformation_mode ${ctm} is not run`,
  );
  const nearestMode = opset < 11 ? 'floor' : attrString(n, 'nearest_mode', 'round_prefer_floor');
  refuse(
    n,
    ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'].includes(nearestMode),
    `nearest_mode ${nearestMode} is not run`,
  );
  refuse(n, attrInt(n, 'antialias', 0) === 0, 'antialias is not run');
  refuse(n, attrInts(n, 'axes') === undefined, 'the axes attribute is not run');
  const [, , H, W] = x.shape as [number, number, number, number];
  const sizes =
    sizesIn !== null && sizesIn !== undefined && numel(sizesIn.shape) > 0 ? p.constData(sizesIn, n, 'sizes') : null;
  const scales =
    scalesIn !== null && scalesIn !== undefined && numel(scalesIn.shape) > 0
      ? p.constData(scalesIn, n, 'scales')
      : null;
  const base = {
    mode: mode as 'nearest' | 'linear',
    coordinateTransformationMode: ctm as 'half_pixel',
    nearestMode: nearestMode as 'floor',
  };
  if (sizes !== null) {
    refuse(n, sizes.length === 4 && sizes[0] === x.shape[0] && sizes[1] === x.shape[1], 'resizes H and W only');
    return { attrs: { ...base, sizes: [sizes[2]!, sizes[3]!] }, out: [sizes[2]!, sizes[3]!] };
  }
  refuse(n, scales !== null && scales.length === 4, 'needs scales or sizes');
  refuse(n, scales[0] === 1 && scales[1] === 1, 'resizes H and W only');
  const f = Math.fround;
  return {
    attrs: { ...base, scales: [scales[2]!, scales[3]!] },
    out: [Math.floor(f(f(scales[2]!) * H)), Math.floor(f(f(scales[3]!) * W))],
  };
}

const lowerResize: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'X');
  float(n, x, 'input');
  const { attrs, out } = resizeAttributes(p, n, ins);
  const [N, C] = x.shape as [number, number, number, number];
  const xin = p.nhwc(x);
  const y = p.val([N, C, out[0], out[1]], 'float32', true, n.outputs[0]);
  const layer = p.layer(`${n.name}:resize2d:${JSON.stringify(attrs)}`, () => p.qw.resize2d(attrs));
  mapStep(p, n.name, `Resize (resize2d ${attrs.mode})`, layer, xin, y);
  return [y];
};

/**
 * A step of an NHWC map layer (pools, resize, transposed convolution): on the arena's
 * addresses, or (folding constants) on arrays; `after` runs on the output once it is written.
 */
export function mapStep(
  p: Planner,
  node: string,
  op: string,
  layer: MapLayerAt,
  x: Val,
  y: Val,
  after?: () => void,
): void {
  const xt: MapTensor = { data: new Float32Array(0), shape: physShape(x) };
  if (p.isFolding) {
    const yt: MapTensor = { data: new Float32Array(0), shape: physShape(y) };
    p.step(node, op, [x], [y], () => {
      xt.data = x.data as MapTensor['data'];
      yt.data = y.data as MapTensor['data'];
      layer.run(xt, yt);
      after?.();
    });
    return;
  }
  p.step(node, op, [x], [y], () => {
    xt.data = x.data as MapTensor['data'];
    layer.runAt(xt, x.ptr, y.ptr);
    after?.();
  });
}

/** What mapStep needs of a map layer. */
interface MapLayerAt {
  run(x: MapTensor, out?: MapTensor): MapTensor;
  runAt(x: MapTensor, xp: number, yp: number): void;
}

// ---------------------------------------------------------------- elementwise

/** Brings a broadcast operand of a 4-D NHWC result into NHWC storage (rank padded to 4). */
function asNhwcOperand(p: Planner, n: GraphNode, v: Val): Val {
  if (numel(v.shape) === 1) return v;
  if (v.shape.length === 4) return p.nhwc(v);
  const shape4 = [...new Array<number>(4 - v.shape.length).fill(1), ...v.shape];
  if (v.isConst) return p.nhwc({ ...v, shape: shape4 });
  const r = p.val(shape4, v.dtype, false, v.name);
  p.step(n.name, 'reshape to 4-D', [v], [r], () => r.data!.set(v.data as never));
  return p.nhwc(r);
}

function binaryLowering(op: BinaryOp): Lowering {
  return (p, n, ins) => {
    let a = need(n, ins[0], 'A');
    let b = need(n, ins[1], 'B');
    refuse(n, a.dtype === b.dtype || (op === 'Pow' && b.dtype !== 'bool'), `mixes ${a.dtype} and ${b.dtype} inputs`);
    const logical = broadcastPlan(a.shape, b.shape);
    refuse(n, logical !== null, `cannot broadcast [${a.shape.join(', ')}] with [${b.shape.join(', ')}]`);
    const nhwc = logical.shape.length === 4 && (a.nhwc || b.nhwc);
    if (nhwc) {
      a = asNhwcOperand(p, n, a);
      b = asNhwcOperand(p, n, b);
    } else {
      a = p.nchw(a);
      b = p.nchw(b);
    }
    const pa = a.nhwc ? physShape(a) : [...a.shape];
    const pb = b.nhwc ? physShape(b) : [...b.shape];
    const phys = broadcastPlan(pa, pb)!;
    const y = p.val(logical.shape, a.dtype, nhwc, n.outputs[0]);
    const isFloat = a.dtype === 'float32' || a.dtype === 'float64';
    const fast = a.dtype === 'float32' && (op === 'Add' || op === 'Sub' || op === 'Mul' || op === 'Div');
    const count = numel(phys.shape);
    const na = numel(pa);
    const nb = numel(pb);
    const A = a;
    const B = b;
    // add and mul on the engine's SIMD kernel (binary_f32), over the arena's addresses
    const code = op === 'Add' ? 0 : op === 'Mul' ? 1 : -1;
    const inWasm = fast && code >= 0 && !p.isFolding && count > 0;
    if (fast && na === count && nb === count) {
      if (inWasm) {
        const [ra, rb] = [addressOf(p, A), addressOf(p, B)];
        const k = p.rt.kernels;
        p.step(n.name, `${op} (binary_f32)`, [a, b], [y], () => {
          k.binary_f32(code, ra.ptr, 0, rb.ptr, 0, count, 1, y.ptr, -Infinity, Infinity);
        });
        return [y];
      }
      p.step(n.name, op, [a, b], [y], () => {
        sameShapeF32(op, A.data as Float32Array, B.data as Float32Array, y.data as Float32Array);
      });
      return [y];
    }
    // one operand whole, the other a row repeated over the leading dims (or a scalar)
    const isRow = (s: readonly number[], m: number): boolean =>
      m === 1 || (m === phys.shape[phys.shape.length - 1] && s[s.length - 1] === m);
    if (fast && (na === count || nb === count) && (na === count ? isRow(pb, nb) : isRow(pa, na))) {
      const [x, v] = na === count ? [A, B] : [B, A];
      const vFirst = na !== count;
      if (inWasm) {
        // add and mul commute: which operand is the row does not change a bit of the result
        const [rx, rv] = [addressOf(p, x), addressOf(p, v)];
        const m = numel(v.shape);
        const k = p.rt.kernels;
        const label = m === 1 ? `${op} (binary_f32_s, scalar)` : `${op} (binary_f32, rows of ${m})`;
        p.step(n.name, label, [a, b], [y], () => {
          if (m === 1) k.binary_f32_s(code, rx.ptr, 0, rv.ptr, 0, count, 1, y.ptr, -Infinity, Infinity);
          else k.binary_f32(code, rx.ptr, m, rv.ptr, 0, m, count / m, y.ptr, -Infinity, Infinity);
        });
        return [y];
      }
      p.step(n.name, op, [a, b], [y], () => {
        rowsF32(op, x.data as Float32Array, v.data as Float32Array, y.data as Float32Array, vFirst);
      });
      return [y];
    }
    p.step(n.name, op, [a, b], [y], () => {
      broadcastBinary(op, A.data!, phys.sa, B.data!, phys.sb, phys.shape, y.data!, isFloat);
    });
    return [y];
  };
}

/** Max / Min take any number of inputs: a chain of binary steps. */
function variadicLowering(op: 'Max' | 'Min' | 'Sum'): Lowering {
  const bin = binaryLowering(op === 'Sum' ? 'Add' : op);
  return (p, n, ins) => {
    const vals = ins.filter((v): v is Val => v !== null);
    refuse(n, vals.length >= 1, 'needs at least one input');
    let acc = vals[0]!;
    if (vals.length === 1) {
      const y = p.val(acc.shape, acc.dtype, acc.nhwc, n.outputs[0]);
      const src = acc;
      p.step(n.name, 'copy', [src], [y], () => y.data!.set(src.data as never));
      return [y];
    }
    for (let i = 1; i < vals.length; i++) acc = bin(p, n, [acc, vals[i]!])[0]!;
    return [acc];
  };
}

/** A one-instruction pointwise program for a unary op node. */
export function unaryInst(p: Planner, n: GraphNode, ins: (Val | null)[]): PointwiseInst {
  const base = { dst: 1, a: 0, b: -1, c: 0, lo: 0, hi: 0, swap: false };
  switch (n.opType) {
    case 'Clip': {
      let lo = -Infinity;
      let hi = Infinity;
      if (p.graph.opset < 11) {
        lo = attrFloat(n, 'min', -3.4028234663852886e38);
        hi = attrFloat(n, 'max', 3.4028234663852886e38);
      } else {
        if (ins[1]) lo = p.constData(ins[1], n, 'min')[0]!;
        if (ins[2]) hi = p.constData(ins[2], n, 'max')[0]!;
      }
      return { ...base, op: 'Clip', lo, hi };
    }
    case 'HardSigmoid':
      return { ...base, op: 'HardSigmoid', lo: attrFloat(n, 'alpha', 0.2), hi: attrFloat(n, 'beta', 0.5) };
    case 'LeakyRelu':
      return { ...base, op: 'LeakyRelu', lo: attrFloat(n, 'alpha', 0.01) };
    case 'Relu':
    case 'Sigmoid':
    case 'Tanh':
    case 'Erf':
    case 'Sqrt':
    case 'Neg':
    case 'Exp':
    case 'Abs':
    case 'HardSwish':
      return { ...base, op: n.opType };
    default:
      throw new QwasmError(at(n), `is not a unary op`);
  }
}

function pointwiseStep(p: Planner, n: GraphNode, x: Val, program: PointwiseProgram, label: string): Val {
  float(n, x, 'input');
  const runner = new PointwiseRunner(program, p.exactFloat);
  const y = p.val(x.shape, 'float32', x.nhwc, n.outputs[0]);
  p.step(n.name, label, [x], [y], () => runner.run(x.data as Float32Array, y.data as Float32Array));
  return y;
}

const lowerUnary: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'X');
  if (n.opType === 'HardSwish' && fusedHardSwish.has(x)) return [x];
  if (n.opType === 'Relu' && x.dtype !== 'float32') {
    const y = p.val(x.shape, x.dtype, x.nhwc, n.outputs[0]);
    p.step(n.name, 'Relu', [x], [y], () => {
      const s = x.data!;
      const d = y.data!;
      for (let i = 0; i < s.length; i++) d[i] = Math.max(0, s[i]!);
    });
    return [y];
  }
  if ((n.opType === 'Sigmoid' || n.opType === 'Tanh') && x.dtype === 'float32' && !x.isConst) {
    // the engine's SIMD float32 kernels (onnxruntime's rational approximations)
    const kind = n.opType === 'Sigmoid' ? 'sigmoid' : 'tanh';
    const y = p.val(x.shape, 'float32', x.nhwc, n.outputs[0]);
    if (!p.isFolding) {
      const code = unaryCode(kind, 'kind');
      const count = numel(x.shape);
      const k = p.rt.kernels;
      p.step(n.name, `${n.opType} (unary_f32)`, [x], [y], () => k.unary_f32(x.ptr, count, code, 0, y.ptr));
      return [y];
    }
    const xt: Tensor<Float32Array> = { data: new Float32Array(0), shape: [numel(x.shape)] };
    p.step(n.name, `${n.opType} (unaryF32)`, [x], [y], () => {
      xt.data = x.data as Float32Array;
      p.qw.unaryF32(xt, kind, undefined, y.data as Float32Array);
    });
    return [y];
  }
  const inst = unaryInst(p, n, ins);
  return [pointwiseStep(p, n, x, { insts: [inst], registers: 2, result: 1 }, n.opType)];
};

/**
 * A 16-bit grid rounding (qwasm.QuantizeDequantize) left to the conv reading its output `y`:
 * nothing writes y; the conv reads x and rounds it to the grid as it converts it to codes.
 */
interface GridRounding {
  node: string;
  x: Val;
  scale: number;
  lo: number;
  hi: number;
}

/** QuantizeDequantize outputs whose rounding the conv reading them does. */
const roundedByConv = new WeakMap<Val, GridRounding>();

/**
 * Whether the only reader of a QuantizeDequantize node's output is a conv running the int16
 * kernel on that grid (step 2^a, a clamp within the bound its sums allow): that conv can round
 * the raw input itself, with the same arithmetic, while it converts it to codes.
 */
function convTakesRounding(p: Planner, n: GraphNode, x: Val, r: Omit<GridRounding, 'node' | 'x'>): boolean {
  const y = n.outputs[0]!;
  if (p.graph.outputs.some((o) => o.name === y)) return false;
  const rs = readersOf(p, y);
  if (rs.length !== 1) return false;
  const c = rs[0] as PlannedNode;
  if (c.domain !== '' || c.opType !== 'Conv' || c.inputs[0] !== y || c.inputs.indexOf(y, 1) !== -1) return false;
  if (c.int16 === undefined || !runsInt16(p, c, x) || r.scale !== 2 ** c.int16.a) return false;
  const q = int16InputBound(c.int16);
  return Number.isInteger(r.lo) && Number.isInteger(r.hi) && -q <= r.lo && r.lo <= r.hi && r.hi <= q;
}

/** The rounding step: y = x rounded to the grid (quantize_dequantize_f32). */
function roundingStep(p: Planner, r: GridRounding, y: Val): void {
  const { x, scale, lo, hi } = r;
  const count = numel(x.shape);
  const k = p.rt.kernels;
  p.step(r.node, 'QuantizeDequantize (quantize_dequantize_f32)', [x], [y], () =>
    k.quantize_dequantize_f32(x.ptr, count, scale, lo, hi, y.ptr),
  );
}

/** qwasm.QuantizeDequantize: x rounded to a grid (the 16-bit inputs of quantize's `int16` convolutions). */
const lowerQuantizeDequantize: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'X');
  float(n, x, 'input');
  const scale = Math.fround(attrFloat(n, 'scale', 1));
  const lo = attrFloat(n, 'lo', -32768);
  const hi = attrFloat(n, 'hi', 32767);
  const y = p.val(x.shape, 'float32', x.nhwc, n.outputs[0]);
  if (!p.isFolding) {
    const r = { node: n.name, x, scale, lo, hi };
    if (convTakesRounding(p, n, x, r)) roundedByConv.set(y, r);
    else roundingStep(p, r, y);
    return [y];
  }
  p.step(n.name, 'QuantizeDequantize (16-bit grid)', [x], [y], () =>
    quantizeDequantizeF32(x.data as Float32Array, y.data as Float32Array, scale, lo, hi),
  );
  return [y];
};

const lowerPointwise: Lowering = (p, node, ins) => {
  const n = node as PlannedNode;
  const x = need(n, ins[0], 'X');
  const hs = x.dtype === 'float32' && !x.isConst ? hardSwishAffine(n.program!) : null;
  if (hs !== null && fusedHardSwish.has(x)) return [x];
  if (hs !== null && p.exactFloat) {
    const y = p.val(x.shape, 'float32', x.nhwc, n.outputs[0]);
    const affine = n.program!.insts.length > 4;
    if (!p.isFolding) {
      const count = numel(x.shape);
      const k = p.rt.kernels;
      const [m, c] = [Math.fround(hs.m), Math.fround(hs.c)];
      p.step(n.name, 'pointwise (hard_swish_exact_f32)', [x], [y], () =>
        k.hard_swish_exact_f32(x.ptr, count, m, c, affine ? 1 : 0, y.ptr),
      );
      return [y];
    }
    p.step(n.name, 'pointwise (hardSwish + affine, op by op)', [x], [y], () => {
      hardSwishAffineExactF32(x.data as Float32Array, y.data as Float32Array, hs.m, hs.c, affine);
    });
    return [y];
  }
  if (hs !== null) {
    // hard-swish alone on the engine's SIMD kernel; with affine scalars after it, one JavaScript pass
    const y = p.val(x.shape, 'float32', x.nhwc, n.outputs[0]);
    const xt: Tensor<Float32Array> = { data: new Float32Array(0), shape: [numel(x.shape)] };
    const { m, c } = hs;
    if (m !== 1 || c !== 0) {
      // with the affine scalars, one JavaScript pass costs less than the kernel's copies and a second pass
      p.step(n.name, 'pointwise (hardSwish + affine)', [x], [y], () => {
        hardSwishAffineF32(x.data as Float32Array, y.data as Float32Array, m, c);
      });
      return [y];
    }
    if (!p.isFolding) {
      const code = unaryCode('hardSwish', 'kind');
      const count = numel(x.shape);
      const k = p.rt.kernels;
      p.step(n.name, 'pointwise (unary_f32 hardSwish)', [x], [y], () => k.unary_f32(x.ptr, count, code, 0, y.ptr));
      return [y];
    }
    p.step(n.name, 'pointwise (unaryF32 hardSwish)', [x], [y], () => {
      xt.data = x.data as Float32Array;
      p.qw.unaryF32(xt, 'hardSwish', undefined, y.data as Float32Array);
    });
    return [y];
  }
  return [pointwiseStep(p, n, x, n.program!, `pointwise (${n.program!.insts.map((i) => i.op).join(', ')})`)];
};

const lowerBatchNorm: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'X');
  float(n, x, 'input');
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => p.constData(ins[i] ?? null, n, 'its statistics'));
  const eps = attrFloat(n, 'epsilon', 1e-5);
  const C = x.shape[1]!;
  const s = new Float32Array(C);
  const t = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    s[c] = scale![c]! / Math.sqrt(variance![c]! + eps);
    t[c] = bias![c]! - mean![c]! * s[c]!;
  }
  const y = p.val(x.shape, 'float32', x.nhwc, n.outputs[0]);
  const inner = x.nhwc ? 1 : numel(x.shape.slice(2));
  p.step(n.name, 'BatchNormalization (affine)', [x], [y], () => {
    const a = x.data as Float32Array;
    const o = y.data as Float32Array;
    if (x.nhwc) {
      for (let i = 0; i < a.length; i += C) for (let c = 0; c < C; c++) o[i + c] = a[i + c]! * s[c]! + t[c]!;
      return;
    }
    for (let i = 0, c = 0; i < a.length; i += inner, c = (c + 1) % C) {
      for (let j = 0; j < inner; j++) o[i + j] = a[i + j]! * s[c]! + t[c]!;
    }
  });
  return [y];
};

// ---------------------------------------------------------------- matmul

const lowerMatMul: Lowering = (p, n, ins) => {
  const a = p.nchw(need(n, ins[0], 'A'));
  const b = p.nchw(need(n, ins[1], 'B'));
  float(n, a, 'A');
  float(n, b, 'B');
  refuse(n, a.shape.length >= 2 && b.shape.length >= 2, 'runs matrices of rank >= 2');
  const K = a.shape[a.shape.length - 1]!;
  refuse(n, b.shape[b.shape.length - 2] === K, `inner dims differ: [${a.shape.join(', ')}] x [${b.shape.join(', ')}]`);
  const N = b.shape[b.shape.length - 1]!;
  const M = a.shape[a.shape.length - 2]!;
  if (b.isConst && b.shape.length === 2) {
    const bd = b.data!;
    // a third input is the bias fuse.ts moved in from an Add
    const bias = ins[2] ? Float32Array.from(p.constData(ins[2], n, 'the bias')) : undefined;
    const layer = p.layer(`${n.name}:linearF32`, () =>
      p.qw.linearF32({ weights: { data: permute(bd, b.shape, [1, 0]) as Float32Array, shape: [N, K] }, bias }),
    );
    const y = p.val([...a.shape.slice(0, -1), N], 'float32', false, n.outputs[0]);
    const M = numel(a.shape) / K;
    if (!p.isFolding && !a.isConst && M > 0) {
      p.step(n.name, 'MatMul (linearF32)', [a], [y], () => layer.runAt(a.ptr, M, y.ptr));
      return [y];
    }
    p.step(n.name, 'MatMul (linearF32)', [a], [y], () => {
      layer.run(a.data as Float32Array, y.data as Float32Array);
    });
    return [y];
  }
  const ba = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const bp = broadcastPlan(ba, bb);
  refuse(n, bp !== null, 'batch dims do not broadcast');
  const batch = numel(bp.shape);
  const na = numel(ba);
  const nb = numel(bb);
  refuse(n, (na === batch || na === 1) && (nb === batch || nb === 1), 'batch dims broadcast only as a whole');
  const y = p.val([...bp.shape, M, N], 'float32', false, n.outputs[0]);
  if (!p.isFolding && batch * M * N * K > 0) {
    // the engine's f32x4 GEMM per batch: B packed into panels (a plan-owned block), then the
    // same kernel as linearF32 over A's rows in place
    const k = p.rt.kernels;
    const nr = p.rt.config.nr;
    const panels = p.block(Math.ceil(N / nr) * nr * K * 4);
    const sa = na === 1 ? 0 : M * K * 4;
    const sb = nb === 1 ? 0 : K * N * 4;
    const av = addressOf(p, a);
    const bv = addressOf(p, b);
    p.step(n.name, 'MatMul (batched, gemm_f32)', [a, b], [y], () => {
      for (let t = 0; t < batch; t++) {
        if (t === 0 || sb !== 0) k.pack_w_f32(bv.ptr + t * sb, N, K, 1, N, panels);
        k.gemm_f32(av.ptr + t * sa, K, panels, M, N, K, 0, -Infinity, Infinity, y.ptr + t * M * N * 4, N);
      }
    });
    return [y];
  }
  p.step(n.name, 'MatMul (batched)', [a, b], [y], () => {
    matmulBatched(
      a.data as Float32Array,
      b.data as Float32Array,
      y.data as Float32Array,
      batch,
      M,
      K,
      N,
      na === 1 ? 0 : M * K,
      nb === 1 ? 0 : K * N,
    );
  });
  return [y];
};

const lowerGemm: Lowering = (p, n, ins) => {
  const a0 = p.nchw(need(n, ins[0], 'A'));
  const bv = p.nchw(need(n, ins[1], 'B'));
  float(n, a0, 'A');
  refuse(n, a0.shape.length === 2 && bv.shape.length === 2, 'needs 2-D A and B');
  const transA = attrInt(n, 'transA', 0) === 1;
  const transB = attrInt(n, 'transB', 0) === 1;
  const alpha = attrFloat(n, 'alpha', 1);
  const beta = attrFloat(n, 'beta', 1);
  const b = p.constData(bv, n, 'B') as Float32Array;
  const [K, N] = transB ? [bv.shape[1]!, bv.shape[0]!] : [bv.shape[0]!, bv.shape[1]!];
  const w = (transB ? Float32Array.from(b) : (permute(b, bv.shape, [1, 0]) as Float32Array)).map((v) => v * alpha);
  let a = a0;
  if (transA) {
    a = p.val([a0.shape[1]!, a0.shape[0]!], 'float32', false, a0.name);
    const src = a0;
    const dst = a;
    p.step(n.name, 'transpose A', [src], [dst], () => permuteInto(src.data!, src.shape, [1, 0], dst.data!));
  }
  refuse(n, a.shape[1] === K, `inner dims differ: A has ${a.shape[1]}, B ${K}`);
  const M = a.shape[0]!;
  let bias: Float32Array | undefined;
  let full: Float32Array | null = null;
  if (ins[2]) {
    const c = p.constData(ins[2], n, 'C');
    if (c.length === N || c.length === 1)
      bias = Float32Array.from({ length: N }, (_, i) => beta * c[c.length === 1 ? 0 : i]!);
    else {
      refuse(n, c.length === M * N, 'C does not broadcast to [M, N]');
      full = Float32Array.from(c, (v) => beta * v);
    }
  }
  const layer = p.layer(`${n.name}:linearF32`, () => p.qw.linearF32({ weights: { data: w, shape: [N, K] }, bias }));
  const y = p.val([M, N], 'float32', false, n.outputs[0]);
  const inWasm = !p.isFolding && !a.isConst && M > 0;
  p.step(n.name, 'Gemm (linearF32)', [a], [y], () => {
    const o = y.data as Float32Array;
    if (inWasm) layer.runAt(a.ptr, M, y.ptr);
    else layer.run(a.data as Float32Array, o);
    if (full !== null) for (let i = 0; i < o.length; i++) o[i]! += full[i]!;
  });
  return [y];
};

// ---------------------------------------------------------------- normalizations and reductions

function softmaxLowering(kind: 'Softmax' | 'LogSoftmax'): Lowering {
  return (p, n, ins) => {
    const x = p.nchw(need(n, ins[0], 'X'));
    float(n, x, 'input');
    const r = x.shape.length;
    const opset = p.graph.opset;
    const axis = normAxis(n, attrInt(n, 'axis', opset < 13 ? 1 : -1), r);
    const y = p.val(x.shape, 'float32', false, n.outputs[0]);
    // before opset 13 Softmax flattens from `axis` on; from 13 it normalizes one axis
    const inner = opset < 13 ? 1 : numel(x.shape.slice(axis + 1));
    const d = opset < 13 ? numel(x.shape.slice(axis)) : x.shape[axis]!;
    const log = kind === 'LogSoftmax';
    if (!log) {
      // the engine's SIMD softmax, written into the arena
      const xt: Tensor<Float32Array> = {
        data: new Float32Array(0),
        shape: opset < 13 ? [numel(x.shape.slice(0, axis)), d] : [...x.shape],
      };
      const sa = { axis: opset < 13 ? 1 : axis };
      const count = numel(x.shape);
      if (!p.isFolding && count > 0) {
        // the kernel over [outer, d, inner] on the arena's addresses
        const outer = count / (d * inner);
        const k = p.rt.kernels;
        p.step(n.name, 'Softmax (softmax_f32)', [x], [y], () => k.softmax_f32(x.ptr, outer, d, inner, y.ptr));
        return [y];
      }
      p.step(n.name, 'Softmax (softmaxF32)', [x], [y], () => {
        xt.data = x.data as Float32Array;
        p.qw.softmaxF32(xt, sa, y.data as Float32Array);
      });
      return [y];
    }
    const tmp = inner === 1 ? null : { a: new Float32Array(d), b: new Float32Array(d) };
    p.step(n.name, kind, [x], [y], () => {
      const xs = x.data as Float32Array;
      const ys = y.data as Float32Array;
      if (tmp === null) softmaxRows(xs, ys, d);
      else {
        const outer = xs.length / (d * inner);
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            const base = o * d * inner + i;
            for (let k = 0; k < d; k++) tmp.a[k] = xs[base + k * inner]!;
            softmaxRows(tmp.a, tmp.b, d);
            for (let k = 0; k < d; k++) ys[base + k * inner] = tmp.b[k]!;
          }
        }
      }
      if (log) for (let i = 0; i < ys.length; i++) ys[i] = Math.log(ys[i]!);
    });
    return [y];
  };
}

function reduceAxes(p: Planner, n: GraphNode, ins: (Val | null)[], rank: number): number[] {
  let axes: number[] | undefined;
  if (p.graph.opset >= 18 || (n.opType === 'ReduceSum' && p.graph.opset >= 13)) {
    if (ins[1] && numel(ins[1].shape) > 0) axes = Array.from(p.constData(ins[1], n, 'axes'));
  } else axes = attrInts(n, 'axes');
  if (axes === undefined || axes.length === 0) {
    if (attrInt(n, 'noop_with_empty_axes', 0) === 1) return [];
    return [...Array(rank).keys()];
  }
  return [...new Set(axes.map((a) => normAxis(n, a, rank)))].sort((u, v) => u - v);
}

function reduceLowering(kind: 'ReduceMean' | 'ReduceSum' | 'ReduceMax'): Lowering {
  return (p, n, ins) => {
    const x = p.nchw(need(n, ins[0], 'X'));
    float(n, x, 'input');
    const r = x.shape.length;
    const axes = reduceAxes(p, n, ins, r);
    const keep = attrInt(n, 'keepdims', 1) === 1;
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const outShape = keep ? kept : x.shape.filter((_, i) => !axes.includes(i));
    const y = p.val(outShape, 'float32', false, n.outputs[0]);
    const count = numel(axes.map((a) => x.shape[a]!));
    const ks = stridesOf(kept).map((s, i) => (axes.includes(i) ? 0 : s));
    const acc = new Float64Array(numel(kept));
    p.step(n.name, kind, [x], [y], () => {
      const xs = x.data as Float32Array;
      const ys = y.data as Float32Array;
      acc.fill(kind === 'ReduceMax' ? -Infinity : 0);
      const idx = new Array<number>(r).fill(0);
      let o = 0;
      for (let i = 0; i < xs.length; i++) {
        acc[o] = kind === 'ReduceMax' ? Math.max(acc[o]!, xs[i]!) : acc[o]! + xs[i]!;
        for (let k = r - 1; k >= 0; k--) {
          idx[k]!++;
          o += ks[k]!;
          if (idx[k]! < x.shape[k]!) break;
          o -= ks[k]! * x.shape[k]!;
          idx[k] = 0;
        }
      }
      for (let i = 0; i < acc.length; i++) ys[i] = kind === 'ReduceMean' ? acc[i]! / count : acc[i]!;
    });
    return [y];
  };
}

const lowerLayerNorm: Lowering = (p, n, ins) => {
  const x = p.nchw(need(n, ins[0], 'X'));
  float(n, x, 'input');
  refuse(
    n,
    n.outputs.slice(1).every((o) => o === ''),
    'Mean and InvStdDev outputs are not produced',
  );
  const axis = normAxis(n, attrInt(n, 'axis', -1), x.shape.length);
  const eps = attrFloat(n, 'epsilon', 1e-5);
  const d = numel(x.shape.slice(axis));
  const scale = p.constData(need(n, ins[1], 'Scale'), n, 'Scale');
  const bias = ins[2] ? p.constData(ins[2], n, 'B') : null;
  refuse(n, scale.length === d && (bias === null || bias.length === d), 'Scale and B must cover the normalized dims');
  const y = p.val(x.shape, 'float32', false, n.outputs[0]);
  p.step(n.name, 'LayerNormalization', [x], [y], () => {
    const xs = x.data as Float32Array;
    const ys = y.data as Float32Array;
    for (let o = 0; o < xs.length; o += d) {
      let mean = 0;
      for (let i = 0; i < d; i++) mean += xs[o + i]!;
      mean /= d;
      let v = 0;
      for (let i = 0; i < d; i++) v += (xs[o + i]! - mean) ** 2;
      const inv = 1 / Math.sqrt(v / d + eps);
      for (let i = 0; i < d; i++) ys[o + i] = (xs[o + i]! - mean) * inv * scale[i]! + (bias === null ? 0 : bias[i]!);
    }
  });
  return [y];
};

// ---------------------------------------------------------------- shapes and data movement

function copyLowering(p: Planner, n: GraphNode, x: Val, shape: number[], label: string): Val {
  refuse(n, numel(shape) === numel(x.shape), `cannot reshape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  const src = p.nchw(x);
  const y = p.val(shape, src.dtype, false, n.outputs[0]);
  y.quant = src.quant;
  p.step(n.name, label, [src], [y], () => y.data!.set(src.data as never));
  return y;
}

const lowerReshape: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'data');
  const spec =
    p.graph.opset < 5 ? attrInts(n, 'shape')! : Array.from(p.constData(need(n, ins[1], 'shape'), n, 'the shape'));
  const allowZero = attrInt(n, 'allowzero', 0) === 1;
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d));
  const neg = shape.indexOf(-1);
  if (neg >= 0) {
    const known = numel(shape.filter((_, i) => i !== neg));
    refuse(
      n,
      known > 0 && numel(x.shape) % known === 0,
      `cannot infer -1 in [${spec.join(', ')}] for [${x.shape.join(', ')}]`,
    );
    shape[neg] = numel(x.shape) / known;
  }
  return [copyLowering(p, n, x, shape, 'Reshape')];
};

const lowerFlatten: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'input');
  const axis = normAxis(n, attrInt(n, 'axis', 1), x.shape.length + 1);
  return [copyLowering(p, n, x, [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))], 'Flatten')];
};

function axesOf(p: Planner, n: GraphNode, ins: (Val | null)[]): number[] | undefined {
  if (p.graph.opset >= 13) return ins[1] ? Array.from(p.constData(ins[1], n, 'axes')) : undefined;
  return attrInts(n, 'axes');
}

const lowerSqueeze: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'data');
  const r = x.shape.length;
  const axes = axesOf(p, n, ins)?.map((a) => normAxis(n, a, r));
  refuse(n, axes === undefined || axes.every((a) => x.shape[a] === 1), 'squeezes a dim that is not 1');
  const shape = x.shape.filter((d, i) => (axes === undefined ? d !== 1 : !axes.includes(i)));
  return [copyLowering(p, n, x, shape, 'Squeeze')];
};

const lowerUnsqueeze: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'data');
  const axesRaw = axesOf(p, n, ins);
  refuse(n, axesRaw !== undefined, 'needs axes');
  const r = x.shape.length + axesRaw.length;
  const axes = axesRaw.map((a) => normAxis(n, a, r));
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++]!);
  return [copyLowering(p, n, x, shape, 'Unsqueeze')];
};

const lowerIdentity: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'input');
  const y = p.val(x.shape, x.dtype, x.nhwc, n.outputs[0]);
  y.quant = x.quant;
  p.step(n.name, n.opType, [x], [y], () => y.data!.set(x.data as never));
  return [y, ...n.outputs.slice(1).map(() => null)];
};

const lowerTranspose: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'data');
  const r = x.shape.length;
  const perm = attrInts(n, 'perm') ?? [...Array(r).keys()].reverse();
  refuse(
    n,
    perm.length === r && [...perm].sort().every((v, i) => v === i),
    `perm [${perm.join(', ')}] is not a permutation of ${r} dims`,
  );
  const shape = perm.map((i) => x.shape[i]!);
  const y = p.val(shape, x.dtype, false, n.outputs[0]);
  y.quant = x.quant;
  // a value stored NHWC is transposed from its storage directly
  const physPerm = x.nhwc ? perm.map((i) => QINV[i]!) : perm;
  const src = physShape(x);
  p.step(n.name, 'Transpose', [x], [y], () => permuteInto(x.data!, src, physPerm, y.data!));
  return [y];
};

const lowerConcat: Lowering = (p, n, ins) => {
  let vals = ins.filter((v): v is Val => v !== null && numel(v.shape) > 0);
  refuse(n, vals.length > 0, 'needs inputs');
  const r = vals[0]!.shape.length;
  const axis = normAxis(n, attrInt(n, 'axis', 0), r);
  refuse(
    n,
    vals.every((v) => v.shape.length === r && v.dtype === vals[0]!.dtype),
    'inputs differ in rank or dtype',
  );
  for (const v of vals) {
    refuse(
      n,
      v.shape.every((d, i) => i === axis || d === vals[0]!.shape[i]),
      'inputs differ off the concat axis',
    );
  }
  const shape = [...vals[0]!.shape];
  shape[axis] = vals.reduce((s, v) => s + v.shape[axis]!, 0);
  const nhwc = r === 4 && vals.some((v) => v.nhwc);
  vals = vals.map((v) => (nhwc ? p.nhwc(v) : p.nchw(v)));
  const y = p.val(shape, vals[0]!.dtype, nhwc, n.outputs[0]);
  const pAxis = nhwc ? QINV[axis]! : axis;
  const physOut = nhwc ? Q_NHWC.map((i) => shape[i]!) : shape;
  const outer = numel(physOut.slice(0, pAxis));
  const blocks = vals.map((v) => numel((v.nhwc ? physShape(v) : v.shape).slice(pAxis)));
  const rowOut = numel(physOut.slice(pAxis));
  if (!p.isFolding && numel(shape) > 0 && (y.dtype === 'float32' || y.dtype === 'int8' || y.dtype === 'uint8')) {
    // one concat_rows call over the arena: its address tables written once the arena is bound
    const es = elementBytes(y.dtype);
    const refs = vals.map((v) => addressOf(p, v));
    const table = p.block(vals.length * 12);
    const k = p.rt.kernels;
    p.onBind(() => {
      const i32 = p.rt.heap.i32;
      const t = table >> 2;
      refs.forEach((r, i) => {
        i32[t + i] = r.ptr;
        i32[t + vals.length + i] = blocks[i]! * es;
        i32[t + 2 * vals.length + i] = 0;
      });
    });
    const stride = rowOut * es;
    const count = vals.length;
    p.step(n.name, 'Concat (concat_rows)', vals, [y], () => {
      k.concat_rows(table, table + 4 * count, table + 8 * count, count, outer, y.ptr, stride);
    });
    return [y];
  }
  if (y.dtype === 'float32' && blocks.every((b) => b < 256)) {
    // short rows (channels-last concat): one loop that only sees Float32Array
    const srcs: Float32Array[] = vals.map(() => new Float32Array(0));
    p.step(n.name, 'Concat', vals, [y], () => {
      for (let k = 0; k < vals.length; k++) srcs[k] = vals[k]!.data as Float32Array;
      concatRowsF32(srcs, blocks, y.data as Float32Array, outer);
    });
    return [y];
  }
  p.step(n.name, 'Concat', vals, [y], () => {
    const out = y.data!;
    let off = 0;
    vals.forEach((v, k) => {
      const blk = blocks[k]!;
      const src = v.data!;
      if (blk >= 256) {
        for (let o = 0; o < outer; o++) out.set(src.subarray(o * blk, (o + 1) * blk) as never, o * rowOut + off);
      } else {
        // short rows (channels-last concat): a plain loop, no subarray per row
        for (let o = 0, si = 0; o < outer; o++) {
          const d = o * rowOut + off;
          for (let j = 0; j < blk; j++) out[d + j] = src[si++]!;
        }
      }
      off += blk;
    });
  });
  return [y];
};

const lowerSlice: Lowering = (p, n, ins) => {
  const x = p.nchw(need(n, ins[0], 'data'));
  const r = x.shape.length;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (p.graph.opset < 10) {
    starts = attrInts(n, 'starts')!;
    ends = attrInts(n, 'ends')!;
    axes = attrInts(n, 'axes');
  } else {
    starts = Array.from(p.constData(need(n, ins[1], 'starts'), n, 'starts'));
    ends = Array.from(p.constData(need(n, ins[2], 'ends'), n, 'ends'));
    if (ins[3]) axes = Array.from(p.constData(ins[3], n, 'axes'));
    if (ins[4]) steps = Array.from(p.constData(ins[4], n, 'steps'));
  }
  refuse(
    n,
    starts !== undefined && ends !== undefined && starts.length === ends.length,
    'starts and ends differ in length',
  );
  const begin = new Array<number>(r).fill(0);
  const step = new Array<number>(r).fill(1);
  const shape = [...x.shape];
  starts.forEach((s0, k) => {
    const a = normAxis(n, axes?.[k] ?? k, r);
    const d = x.shape[a]!;
    const st = steps?.[k] ?? 1;
    refuse(n, st !== 0, 'steps must not be 0');
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
    let s = s0 < 0 ? s0 + d : s0;
    let e = ends[k]! < 0 ? ends[k]! + d : ends[k]!;
    if (st > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      shape[a] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = clamp(s, -1, d - 1);
      e = clamp(e, -1, d - 1);
      shape[a] = Math.max(0, Math.ceil((s - e) / -st));
    }
    begin[a] = s;
    step[a] = st;
  });
  const y = p.val(shape, x.dtype, false, n.outputs[0]);
  y.quant = x.quant;
  const xs = stridesOf(x.shape);
  const base = begin.reduce((acc, b, i) => acc + b * xs[i]!, 0);
  const st = step.map((s, i) => s * xs[i]!);
  p.step(n.name, 'Slice', [x], [y], () => {
    const src = x.data!;
    const out = y.data!;
    const idx = new Array<number>(r).fill(0);
    let i = base;
    for (let o = 0; o < out.length; o++) {
      out[o] = src[i]!;
      for (let k = r - 1; k >= 0; k--) {
        idx[k]!++;
        i += st[k]!;
        if (idx[k]! < shape[k]!) break;
        i -= st[k]! * shape[k]!;
        idx[k] = 0;
      }
    }
  });
  return [y];
};

const lowerGather: Lowering = (p, n, ins) => {
  const x = p.nchw(need(n, ins[0], 'data'));
  const ind = p.nchw(need(n, ins[1], 'indices'));
  const r = x.shape.length;
  const axis = normAxis(n, attrInt(n, 'axis', 0), r);
  const shape = [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)];
  const y = p.val(shape, x.dtype, false, n.outputs[0]);
  const outer = numel(x.shape.slice(0, axis));
  const inner = numel(x.shape.slice(axis + 1));
  const d = x.shape[axis]!;
  p.step(n.name, 'Gather', [x, ind], [y], () => {
    const src = x.data!;
    const idx = ind.data!;
    const out = y.data!;
    let o = 0;
    for (let a = 0; a < outer; a++) {
      for (let k = 0; k < idx.length; k++) {
        let j = idx[k]!;
        if (j < 0) j += d;
        if (j < 0 || j >= d) throw new QwasmError(at(n), `index ${idx[k]} is out of range for a dim of ${d}`);
        const s = (a * d + j) * inner;
        for (let t = 0; t < inner; t++) out[o++] = src[s + t]!;
      }
    }
  });
  return [y];
};

const lowerCast: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'input');
  const to = dtypeOfCode(attrInt(n, 'to', 1));
  refuse(n, to !== undefined, `casts to element type ${attrInt(n, 'to', 1)}, which qwasm/onnx does not run`);
  const y = p.val(x.shape, to, x.nhwc, n.outputs[0]);
  const intTarget = to !== 'float32' && to !== 'float64';
  p.step(n.name, 'Cast', [x], [y], () => {
    const s = x.data!;
    const d = y.data!;
    if (to === 'bool') for (let i = 0; i < s.length; i++) d[i] = s[i] !== 0 ? 1 : 0;
    else if (intTarget) for (let i = 0; i < s.length; i++) d[i] = Math.trunc(s[i]!);
    else d.set(s as never);
  });
  return [y];
};

const lowerShape: Lowering = (p, n, ins) => {
  const x = need(n, ins[0], 'data');
  const r = x.shape.length;
  let start = attrInt(n, 'start', 0);
  let end = attrInt(n, 'end', r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  const dims = x.shape.slice(Math.max(0, start), Math.min(r, end));
  return [p.constant({ data: Float64Array.from(dims), shape: [dims.length], dtype: 'int64' }, false, n.outputs[0])];
};

const lowerConstant: Lowering = (p, n) => {
  const t = attrTensor(n, 'value');
  if (t !== undefined) return [p.constant(t, false, n.outputs[0])];
  const vf = n.attrs.get('value_float');
  if (typeof vf === 'number') return [p.constant({ data: Float32Array.of(vf), shape: [], dtype: 'float32' })];
  const vfs = attrInts(n, 'value_floats');
  if (vfs !== undefined) return [p.constant({ data: Float32Array.from(vfs), shape: [vfs.length], dtype: 'float32' })];
  const vi = n.attrs.get('value_int');
  if (typeof vi === 'number') return [p.constant({ data: Float64Array.of(vi), shape: [], dtype: 'int64' })];
  const vis = attrInts(n, 'value_ints');
  if (vis !== undefined) return [p.constant({ data: Float64Array.from(vis), shape: [vis.length], dtype: 'int64' })];
  throw new QwasmError(at(n), 'has no value attribute qwasm/onnx reads');
};

const lowerConstantOfShape: Lowering = (p, n, ins) => {
  const shape = Array.from(p.constData(need(n, ins[0], 'input'), n, 'the shape'));
  const t = attrTensor(n, 'value');
  const dtype: OnnxDtype = t?.dtype ?? 'float32';
  const data = allocArray(dtype, numel(shape));
  data.fill(t === undefined ? 0 : t.data[0]!);
  return [p.constant({ data, shape, dtype }, false, n.outputs[0])];
};

/** The float32 and shape lowerings, by op type. */
export const FLOAT_LOWERINGS: ReadonlyMap<string, Lowering> = new Map<string, Lowering>([
  ['Conv', lowerConv],
  ['ConvTranspose', lowerConvTranspose],
  ['MaxPool', poolLowering('MaxPool')],
  ['AveragePool', poolLowering('AveragePool')],
  ['GlobalAveragePool', lowerGlobalAveragePool],
  ['Resize', lowerResize],
  ['Add', binaryLowering('Add')],
  ['Sub', binaryLowering('Sub')],
  ['Mul', binaryLowering('Mul')],
  ['Div', binaryLowering('Div')],
  ['Pow', binaryLowering('Pow')],
  ['Max', variadicLowering('Max')],
  ['Min', variadicLowering('Min')],
  ['Sum', variadicLowering('Sum')],
  ['Relu', lowerUnary],
  ['LeakyRelu', lowerUnary],
  ['Clip', lowerUnary],
  ['HardSigmoid', lowerUnary],
  ['HardSwish', lowerUnary],
  ['Sigmoid', lowerUnary],
  ['Tanh', lowerUnary],
  ['Erf', lowerUnary],
  ['Sqrt', lowerUnary],
  ['Neg', lowerUnary],
  ['Exp', lowerUnary],
  ['Abs', lowerUnary],
  ['qwasm.Pointwise', lowerPointwise],
  ['qwasm.QuantizeDequantize', lowerQuantizeDequantize],
  ['BatchNormalization', lowerBatchNorm],
  ['MatMul', lowerMatMul],
  ['Gemm', lowerGemm],
  ['Softmax', softmaxLowering('Softmax')],
  ['LogSoftmax', softmaxLowering('LogSoftmax')],
  ['ReduceMean', reduceLowering('ReduceMean')],
  ['ReduceSum', reduceLowering('ReduceSum')],
  ['ReduceMax', reduceLowering('ReduceMax')],
  ['LayerNormalization', lowerLayerNorm],
  ['Reshape', lowerReshape],
  ['Flatten', lowerFlatten],
  ['Squeeze', lowerSqueeze],
  ['Unsqueeze', lowerUnsqueeze],
  ['Identity', lowerIdentity],
  ['Dropout', lowerIdentity],
  ['Transpose', lowerTranspose],
  ['Concat', lowerConcat],
  ['Slice', lowerSlice],
  ['Gather', lowerGather],
  ['Cast', lowerCast],
  ['Shape', lowerShape],
  ['Constant', lowerConstant],
  ['ConstantOfShape', lowerConstantOfShape],
]);

export type { OnnxArray };
