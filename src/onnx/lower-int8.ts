// Lowerings of the int8 path. A quantized graph is the float graph plus quantization
// annotations (value name -> scale, zero point) and per-channel weight scales. A node whose
// activation inputs and output are annotated runs through the engine's int8 ops (conv2d,
// linear, qlinearAdd / qlinearMul, lookup tables, pools, resize, qlinearConcat,
// qlinearConvTranspose); any other node runs in float32 with a dequantize before it and a
// quantize after it, so the boundaries cost what they must and no more.
import type { Tensor } from '../tensor.js';
import type { Requant } from '../ops/epilogue.js';
import { buildLookupTable } from '../ops/lookup.js';
import { roundHalfEven } from '../quant/multiplier.js';
import type { GraphNode } from './graph.js';
import { attrFloat, attrInt, attrInts } from './attrs.js';
import { PointwiseRunner } from './kernels.js';
import { LinearDequant } from '../layers/linear-dequant.js';
import {
  convGeometry,
  convTransposeGeometry,
  int8OutputOf,
  mapStep,
  resizeAttributes,
  unaryInst,
  weightsOhwi,
  type PlannedNode,
} from './lower-float.js';
import { permute, physShape, type Lowering, type Planner, type Val, type ValQuant } from './plan.js';
import { numel } from './tensor.js';
import { channelTableLowering } from './lower-channel-table.js';

/** What a quantized graph adds to the float graph. */
export interface QuantAnnotations {
  /** Activations kept in int8, by value name. */
  values: Map<string, ValQuant>;
  /** Per-output-channel weight scales, by weight initializer name (symmetric int8, zero point 0). */
  weights: Map<string, Float32Array>;
  /** Node names left in float32. */
  keepFloat: Set<string>;
  requant: Requant;
  /** Dynamic quantization: MatMul / Gemm weights int8, activations quantized per call. */
  dynamic?: boolean;
}

/** Ops that move int8 data without arithmetic: the output keeps the input's quantization. */
export const PASS_THROUGH = new Set([
  'Reshape',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'Transpose',
  'Identity',
  'Slice',
  'MaxPool',
  'Resize',
  'Dropout',
]);

const UNARY = new Set([
  'Relu',
  'LeakyRelu',
  'Clip',
  'HardSigmoid',
  'HardSwish',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Sqrt',
  'Neg',
  'Exp',
  'Abs',
]);

/**
 * Whether a node has an int8 kernel, given which of its inputs are constants: the quantizer
 * annotates these nodes' activations, the planner runs them in int8 when annotated.
 */
export function int8Capable(n: GraphNode, isConst: (name: string) => boolean): boolean {
  const key = n.domain === '' ? n.opType : `${n.domain}.${n.opType}`;
  switch (key) {
    case 'Conv':
    case 'ConvTranspose':
      return isConst(n.inputs[1]!) && (n.inputs[2] === undefined || n.inputs[2] === '' || isConst(n.inputs[2]));
    case 'MatMul':
      return isConst(n.inputs[1]!) && !isConst(n.inputs[0]!);
    case 'Add':
    case 'Mul':
      return !isConst(n.inputs[0]!) && !isConst(n.inputs[1]!);
    case 'qwasm.Pointwise':
    case 'GlobalAveragePool':
    case 'AveragePool':
    case 'Concat':
      return true;
    default:
      return UNARY.has(key) || PASS_THROUGH.has(key);
  }
}

/** Symmetric per-output-channel int8 scales of weights [M, ...] (max |w| / 127; 1 for an all-zero channel). */
export function channelScales(w: Float32Array, M: number): Float32Array {
  const per = w.length / M;
  const s = new Float32Array(M);
  for (let o = 0; o < M; o++) {
    let m = 0;
    for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(w[o * per + i]!));
    s[o] = m > 0 ? m / 127 : 1;
  }
  return s;
}

/**
 * Widens weight scales where the bias would not fit int32 comfortably at xScale * wScale
 * (a channel with near-zero weights and a large bias after BatchNorm folding): the bias
 * codes stay within 2^29, leaving the accumulator its headroom.
 */
export function fitBias(scales: Float32Array, b: ArrayLike<number> | undefined, xScale: number): Float32Array {
  if (b === undefined) return scales;
  const out = Float32Array.from(scales);
  for (let o = 0; o < b.length; o++) {
    const i = out.length === 1 ? 0 : o;
    out[i] = Math.max(out[i]!, Math.abs(b[o]!) / (xScale * 2 ** 29));
  }
  return out;
}

/** Quantizes weights [M, ...] with per-channel (or one) scales (codes stay in [-127, 127] for scales from channelScales; a file may also use -128). */
export function quantizeWeights(w: Float32Array, scales: Float32Array): Int8Array {
  const M = scales.length;
  const per = w.length / M;
  const q = new Int8Array(w.length);
  for (let o = 0; o < M; o++) {
    const s = scales[o]!;
    for (let i = 0; i < per; i++)
      q[o * per + i] = Math.max(-128, Math.min(127, roundHalfEven(Math.fround(w[o * per + i]! / s))));
  }
  return q;
}

/** int32 bias codes at scale xScale * wScale[o] (float32, in that order, as the export writes it). */
export function quantizeBias(
  b: Float32Array | undefined,
  xScale: number,
  wScales: Float32Array,
  M: number,
): Int32Array {
  const q = new Int32Array(M);
  if (b === undefined) return q;
  for (let o = 0; o < M; o++) {
    const s = Math.fround(Math.fround(xScale) * wScales[wScales.length === 1 ? 0 : o]!);
    q[o] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, roundHalfEven(b[o]! / s)));
  }
  return q;
}

/** ONNX QuantizeLinear of float32 data into int8: saturate(roundHalfEven(x / scale) + zp). */
export function quantizeInto(x: Float32Array, q: Int8Array, scale: number, zp: number): void {
  const s = Math.fround(scale);
  // adding and subtracting 1.5 * 2^52 rounds a double to an integer, ties to even
  const RNE = 6755399441055744;
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i]! / s);
    const r = v + RNE - RNE + zp;
    q[i] = v !== v ? zp : r < -128 ? -128 : r > 127 ? 127 : r;
  }
}

/** {@link quantizeInto} of NCHW float32 data [N, C, HW] into NHWC int8 codes [N, HW, C]. */
export function quantizeNchwToNhwc(
  x: Float32Array,
  q: Int8Array,
  N: number,
  C: number,
  HW: number,
  scale: number,
  zp: number,
): void {
  const s = Math.fround(scale);
  const RNE = 6755399441055744;
  for (let n = 0; n < N; n++) {
    const base = n * C * HW;
    for (let c = 0; c < C; c++) {
      const src = base + c * HW;
      for (let i = 0, o = base + c; i < HW; i++, o += C) {
        const v = Math.fround(x[src + i]! / s);
        const r = v + RNE - RNE + zp;
        q[o] = v !== v ? zp : r < -128 ? -128 : r > 127 ? 127 : r;
      }
    }
  }
}

/** ONNX DequantizeLinear of int8 data: (q - zp) * scale in float32. */
export function dequantizeInto(q: Int8Array, x: Float32Array, scale: number, zp: number): void {
  for (let i = 0; i < q.length; i++) x[i] = (q[i]! - zp) * scale;
}

/** A planner that knows the annotations: dequantizes / quantizes at float boundaries. */
export class QuantContext {
  private readonly dq = new Map<Val, Val>();
  /** Table nodes a conv before them applies in its own call (their lowering passes its output on). */
  readonly tables = new Set<GraphNode>();

  constructor(readonly ann: QuantAnnotations) {}

  dequantize(p: Planner, v: Val): Val {
    if (v.quant === null || v.dtype === 'float32') return v;
    const hit = this.dq.get(v);
    if (hit !== undefined) return hit;
    const y = p.val(v.shape, 'float32', v.nhwc, v.name);
    const { scale, zeroPoint } = v.quant;
    if (v.isConst) {
      const data = new Float32Array(numel(v.shape));
      dequantizeInto(v.data as Int8Array, data, scale, zeroPoint);
      const c = { ...y, isConst: true, data };
      this.dq.set(v, c);
      return c;
    }
    if (!p.isFolding && scale === Math.fround(scale)) {
      // the engine's SIMD dequantize: f32(q - zp) * scale, the same float32 product
      const k = p.rt.kernels;
      const count = numel(v.shape);
      p.step(v.name, 'DequantizeLinear (dequantize)', [v], [y], () =>
        k.dequantize(v.ptr, count, 1, scale, zeroPoint, y.ptr),
      );
    } else {
      p.step(v.name, 'DequantizeLinear', [v], [y], () =>
        dequantizeInto(v.data as Int8Array, y.data as Float32Array, scale, zeroPoint),
      );
    }
    this.dq.set(v, y);
    return y;
  }

  quantize(p: Planner, v: Val, q: ValQuant): Val {
    if (v.shape.length === 4 && !v.nhwc && !v.isConst) {
      // a 4-D NCHW value (a model input) is quantized straight into the NHWC order the
      // int8 kernels read: one pass instead of a quantize and a transpose
      const y = p.val(v.shape, 'int8', true, v.name);
      y.quant = q;
      const [N, C, H, W] = v.shape as [number, number, number, number];
      if (!p.isFolding) {
        // the engine's SIMD quantize (the same rounding, bit for bit) into NCHW codes, then
        // its transpose to NHWC: cheaper than a division per element in JavaScript
        const codes = p.val(v.shape, 'int8', false, `${v.name}::codes`);
        const count = numel(v.shape);
        const k = p.rt.kernels;
        p.step(v.name, 'QuantizeLinear (quantize_f32)', [v], [codes], () =>
          k.quantize_f32(v.ptr, count, Math.fround(q.scale), q.zeroPoint, -128, 127, codes.ptr),
        );
        p.step(v.name, 'QuantizeLinear (to NHWC, transpose_x8)', [codes], [y], () =>
          k.transpose_x8(codes.ptr, N, C, H * W, y.ptr),
        );
        return y;
      }
      p.step(v.name, 'QuantizeLinear (to NHWC)', [v], [y], () =>
        quantizeNchwToNhwc(v.data as Float32Array, y.data as Int8Array, N, C, H * W, q.scale, q.zeroPoint),
      );
      return y;
    }
    const y = p.val(v.shape, 'int8', v.nhwc, v.name);
    y.quant = q;
    if (!p.isFolding && !v.isConst) {
      const count = numel(v.shape);
      const k = p.rt.kernels;
      p.step(v.name, 'QuantizeLinear (quantize_f32)', [v], [y], () =>
        k.quantize_f32(v.ptr, count, Math.fround(q.scale), q.zeroPoint, -128, 127, y.ptr),
      );
      return y;
    }
    p.step(v.name, 'QuantizeLinear', [v], [y], () =>
      quantizeInto(v.data as Float32Array, y.data as Int8Array, q.scale, q.zeroPoint),
    );
    return y;
  }
}

type Int8Lowering = (p: Planner, n: GraphNode, ins: Val[], out: ValQuant, c: QuantContext) => Val;

function tensorOf(v: Val): Tensor<Int8Array> {
  return { data: new Int8Array(0), shape: physShape(v) };
}

const conv: Int8Lowering = (p, node, ins, out, c) => {
  const n = node as PlannedNode;
  const x = p.nhwc(ins[0]!);
  const wv = ins[1]!;
  const w = p.constData(wv, n, 'the weights') as Float32Array;
  const [M, Cg, kH, kW] = wv.shape as [number, number, number, number];
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const g = convGeometry(n, H, W, kH, kW);
  const xq = x.quant!;
  const bf = ins[2] ? (p.constData(ins[2], n, 'the bias') as Float32Array) : undefined;
  const ws = c.ann.weights.get(n.inputs[1]!) ?? fitBias(channelScales(w, M), bf, xq.scale);
  const after = tableAfter(p, n, out, c);
  // the pads join the key: with auto_pad they follow the input size
  const layer = p.layer(`${n.name}:conv2d:${g.pads.join(',')}${after === null ? '' : ':lookup'}`, () =>
    p.qw.conv2d({
      weights: { data: quantizeWeights(weightsOhwi(w, wv.shape), ws), shape: [M, kH, kW, Cg] },
      weightScale: ws,
      bias: quantizeBias(bf, xq.scale, ws, M),
      input: { scale: xq.scale, zeroPoint: xq.zeroPoint },
      output: { scale: out.scale, zeroPoint: out.zeroPoint },
      strides: g.strides,
      pads: g.pads,
      dilations: g.dilations,
      group: attrInt(n, 'group', 1),
      activation: n.activation ?? 'none',
      requant: c.ann.requant,
      lookup: after === null ? undefined : { fn: after.table, output: after.quant },
    }),
  );
  void C;
  // with the table fused the codes are the reader's: its name and quantization
  const y = p.val([N, M, g.out[0], g.out[1]], 'int8', true, after === null ? n.outputs[0] : after.node.outputs[0]);
  y.quant = after === null ? out : after.quant;
  if (after !== null) c.tables.add(after.node);
  const op = `Conv (conv2d int8, ${layer.path}${after === null ? '' : ` + ${after.node.opType} table`})`;
  if (!p.isFolding && numel(y.shape) > 0) {
    const plan = layer.planInput(physShape(x));
    p.step(n.name, op, [x], [y], () => layer.runAt(plan, x.ptr, y.ptr));
    return y;
  }
  const xt = tensorOf(x);
  const yt = tensorOf(y);
  p.step(n.name, op, [x], [y], () => {
    xt.data = x.data as Int8Array;
    yt.data = y.data as Int8Array;
    layer.run(xt, yt);
  });
  return y;
};

/**
 * The node after a conv whose table the conv can apply in its own call: the conv's only
 * reader (its output no graph output), a pointwise or unary op the int8 plan runs as a
 * lookup table, with its output annotated. Returns the reader, its table from the conv's
 * output codes and its output quantization, or null.
 */
function tableAfter(
  p: Planner,
  n: GraphNode,
  out: ValQuant,
  c: QuantContext,
): { node: GraphNode; table: Int8Array; quant: ValQuant } | null {
  const y = n.outputs[0]!;
  if (p.graph.outputs.some((o) => o.name === y)) return null;
  let reader: GraphNode | null = null;
  for (const m of p.graph.nodes) {
    if (!m.inputs.includes(y)) continue;
    if (reader !== null) return null;
    reader = m;
  }
  if (reader === null || reader.inputs.length !== 1 || c.ann.keepFloat.has(reader.name)) return null;
  const key = reader.domain === '' ? reader.opType : `${reader.domain}.${reader.opType}`;
  if (key !== 'qwasm.Pointwise' && !UNARY.has(key)) return null;
  const quant = c.ann.values.get(reader.outputs[0]!);
  if (quant === undefined) return null;
  const r = reader as PlannedNode;
  const program = r.program ?? { insts: [unaryInst(p, r, [])], registers: 2, result: 1 };
  const runner = new PointwiseRunner(program);
  const table = new Int8Array(
    buildLookupTable((v) => runner.scalar(v), 'int8', out.scale, out.zeroPoint, quant.scale, quant.zeroPoint).buffer,
  );
  return { node: reader, table, quant };
}

const convTranspose: Int8Lowering = (p, node, ins, out, c) => {
  const n = node as PlannedNode;
  const wv = ins[1]!;
  const nScales = c.ann.weights.get(n.inputs[1]!)?.length ?? 1;
  if (nScales !== 1 && nScales !== wv.shape[1]) return null as unknown as Val; // not along axis 1: float
  const x = p.nhwc(ins[0]!);
  const w = p.constData(wv, n, 'the weights') as Float32Array;
  const [C, Mg, kH, kW] = wv.shape as [number, number, number, number];
  const group = attrInt(n, 'group', 1);
  const [N, , H, W] = x.shape as [number, number, number, number];
  const g = convTransposeGeometry(n, H, W, kH, kW);
  const xq = x.quant!;
  const M = Mg * group;
  const b = ins[2] ? (p.constData(ins[2], n, 'the bias') as Float32Array) : undefined;
  // a QDQ file's per-channel scales run along axis 1 (M/group of them, repeated per group)
  const fileScales = c.ann.weights.get(n.inputs[1]!);
  const ws = fileScales ?? fitBias(channelScales(w, 1), b, xq.scale);
  const wsM = ws.length === 1 ? ws : Float32Array.from({ length: M }, (_, o) => ws[o % Mg]!);
  const y = p.val([N, M, g.out[0]!, g.out[1]!], 'int8', true, n.outputs[0]);
  y.quant = out;
  const layer = p.layer(`${n.name}:convTranspose2d`, () =>
    p.qw.convTranspose2d({
      weights: {
        data: quantizeAxis1(w, [C, Mg, kH * kW], ws),
        shape: [C, kH, kW, Mg],
      },
      weightScale: wsM,
      bias: quantizeBias(b, xq.scale, wsM, M),
      input: { scale: xq.scale, zeroPoint: xq.zeroPoint },
      output: { scale: out.scale, zeroPoint: out.zeroPoint },
      strides: g.strides,
      pads: g.pads,
      dilations: g.dilations,
      outputPadding: g.outputPadding,
      group,
      requant: c.ann.requant,
    }),
  );
  // a fused Relu / Clip(0, 6) clamps the codes as the conv epilogue does
  const act = n.activation ?? 'none';
  const lo = act === 'none' ? -128 : out.zeroPoint;
  const hi = act === 'relu6' ? Math.min(127, roundHalfEven(6 / out.scale) + out.zeroPoint) : 127;
  const op = `ConvTranspose (convTranspose2d int8${act !== 'none' ? ` + ${act}` : ''})`;
  const clamp = lo > -128 || hi < 127 ? (): void => clampCodes(y.data as Int8Array, lo, hi) : undefined;
  mapStep(p, n.name, op, layer, x, y, clamp);
  return y;
};

/**
 * Quantizes ConvTranspose weights [C, Mg, taps] with one scale or one per axis-1 channel
 * into the layer's [C, taps, Mg] layout.
 */
function quantizeAxis1(w: Float32Array, [C, Mg, T]: [number, number, number], scales: Float32Array): Int8Array {
  const q = new Int8Array(w.length);
  for (let ci = 0; ci < C; ci++)
    for (let m = 0; m < Mg; m++) {
      const s = scales[scales.length === 1 ? 0 : m]!;
      for (let t = 0; t < T; t++) {
        const v = roundHalfEven(Math.fround(w[(ci * Mg + m) * T + t]! / s));
        q[(ci * T + t) * Mg + m] = Math.max(-128, Math.min(127, v));
      }
    }
  return q;
}

/** Clamps int8 codes to [lo, hi] in place. */
function clampCodes(q: Int8Array, lo: number, hi: number): void {
  for (let i = 0; i < q.length; i++) {
    const v = q[i]!;
    q[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

const matmul: Int8Lowering = (p, n, ins, out, c) => {
  const a = p.nchw(ins[0]!);
  const bv = ins[1]!;
  if (bv.shape.length !== 2 || a.shape[a.shape.length - 1] !== bv.shape[0]) return null as unknown as Val;
  const [K, N] = bv.shape as [number, number];
  const wt = permute(p.constData(bv, n, 'B'), bv.shape, [1, 0]) as Float32Array;
  // a third input is the bias fuse.ts moved in from an Add: int32 codes in the epilogue
  const bf = ins[2] ? Float32Array.from(p.constData(ins[2], n, 'the bias')) : undefined;
  const ws = c.ann.weights.get(n.inputs[1]!) ?? fitBias(channelScales(wt, N), bf, a.quant!.scale);
  const layer = p.layer(`${n.name}:linear`, () =>
    p.qw.linear({
      weights: { data: quantizeWeights(wt, ws), shape: [N, K] },
      weightScale: ws,
      bias: quantizeBias(bf, a.quant!.scale, ws, N),
      input: { scale: a.quant!.scale, zeroPoint: a.quant!.zeroPoint },
      output: { scale: out.scale, zeroPoint: out.zeroPoint },
      requant: c.ann.requant,
    }),
  );
  const y = p.val([...a.shape.slice(0, -1), N], 'int8', false, n.outputs[0]);
  y.quant = out;
  const M = numel(a.shape) / K;
  if (!p.isFolding && !a.isConst && M > 0) {
    p.step(n.name, 'MatMul (linear int8)', [a], [y], () => layer.runAt(a.ptr, M, y.ptr));
    return y;
  }
  p.step(n.name, 'MatMul (linear int8)', [a], [y], () => {
    layer.run(a.data as Int8Array, y.data as Int8Array);
  });
  return y;
};

/**
 * An int8 MatMul whose product only float ops read (the quantizer leaves it unannotated):
 * the int8 GEMM with a dequantizing epilogue writes float32 at once (a fused bias in float),
 * no requantize to int8 and no dequantize pass after it.
 */
function matmulToFloat(p: Planner, n: GraphNode, ins: Val[], c: QuantContext): Val | null {
  const a = p.nchw(ins[0]!);
  const bv = ins[1]!;
  const K = a.shape[a.shape.length - 1]!;
  if (a.dtype !== 'int8' || bv.shape.length !== 2 || K !== bv.shape[0]) return null;
  const N = bv.shape[1]!;
  const wt = permute(p.constData(bv, n, 'B'), bv.shape, [1, 0]) as Float32Array;
  const bias = ins[2] ? Float32Array.from(p.constData(ins[2], n, 'the bias')) : undefined;
  const ws = c.ann.weights.get(n.inputs[1]!) ?? channelScales(wt, N);
  const xq = a.quant!;
  const layer = p.layer(
    `${n.name}:linearDequant`,
    () =>
      new LinearDequant(p.rt, {
        weights: quantizeWeights(wt, ws),
        N,
        K,
        weightScale: ws,
        inputScale: xq.scale,
        inputZeroPoint: xq.zeroPoint,
        bias,
      }),
  );
  const y = p.val([...a.shape.slice(0, -1), N], 'float32', false, n.outputs[0]);
  const M = numel(a.shape) / K;
  const op = 'MatMul (linear int8, float32 out)';
  if (p.isFolding || M === 0) {
    p.step(n.name, op, [a], [y], () => {
      layer.run(a.data as Int8Array, y.data as Float32Array);
    });
  } else p.step(n.name, op, [a], [y], () => layer.runAt(a.ptr, M, y.ptr));
  return y;
}

function binary(kind: 'Add' | 'Mul'): Int8Lowering {
  return (p, n, ins, out) => {
    let [a, b] = ins as [Val, Val];
    const r4 = Math.max(a.shape.length, b.shape.length) === 4 && (a.nhwc || b.nhwc);
    const as4 = (v: Val): Val => {
      if (!r4) return p.nchw(v);
      if (v.shape.length === 4) return p.nhwc(v);
      return p.nchw(v);
    };
    a = as4(a);
    b = as4(b);
    if (r4 && (a.shape.length !== 4 || b.shape.length !== 4)) return null as unknown as Val;
    const shape = a.shape.map((d, i) => Math.max(d, b.shape[i] ?? 1));
    if (a.shape.length !== b.shape.length) return null as unknown as Val;
    const y = p.val(shape, 'int8', r4, n.outputs[0]);
    y.quant = out;
    const at = tensorOf(a);
    const bt = tensorOf(b);
    const yt = tensorOf(y);
    const qa = a.quant!;
    const qb = b.quant!;
    const config = {
      a: { scale: qa.scale, zeroPoint: qa.zeroPoint },
      b: { scale: qb.scale, zeroPoint: qb.zeroPoint },
      output: { scale: out.scale, zeroPoint: out.zeroPoint },
    };
    const layer = p.layer(`${n.name}:${kind}`, () => (kind === 'Add' ? p.qw.addLayer(config) : p.qw.mulLayer(config)));
    if (!p.isFolding && !a.isConst && !b.isConst) {
      const [sa, sb] = [physShape(a), physShape(b)];
      p.step(n.name, `${kind} (qlinear${kind} layer)`, [a, b], [y], () => layer.runAt(sa, sb, a.ptr, b.ptr, y.ptr));
      return y;
    }
    const pair = [at, bt] as const;
    p.step(n.name, `${kind} (qlinear${kind} layer)`, [a, b], [y], () => {
      at.data = a.data as Int8Array;
      bt.data = b.data as Int8Array;
      yt.data = y.data as Int8Array;
      layer.run(pair, yt);
    });
    return y;
  };
}

const lookup: Int8Lowering = (p, node, ins, out, c) => {
  const n = node as PlannedNode;
  const x = ins[0]!;
  // the conv before it applied the table already (tableAfter)
  if (c.tables.has(node)) return x;
  const program = n.program ?? { insts: [unaryInst(p, n, ins)], registers: 2, result: 1 };
  const runner = new PointwiseRunner(program);
  const xq = x.quant!;
  const table = new Int8Array(
    buildLookupTable((v) => runner.scalar(v), 'int8', xq.scale, xq.zeroPoint, out.scale, out.zeroPoint).buffer,
  );
  const y = p.val(x.shape, 'int8', x.nhwc, n.outputs[0]);
  y.quant = out;
  const layer = p.layer(`${n.name}:lookup`, () =>
    p.qw.lookupLayer({
      fn: table,
      input: { scale: xq.scale, zeroPoint: xq.zeroPoint },
      output: { scale: out.scale, zeroPoint: out.zeroPoint },
    }),
  );
  if (!p.isFolding && !x.isConst) {
    const count = numel(x.shape);
    p.step(n.name, `${n.opType} (lookup table)`, [x], [y], () => layer.runAt(count, x.ptr, y.ptr));
    return y;
  }
  const xt: Tensor<Int8Array> = { data: new Int8Array(0), shape: [numel(x.shape)] };
  const yt: Tensor<Int8Array> = { data: new Int8Array(0), shape: [numel(x.shape)] };
  p.step(n.name, `${n.opType} (lookup table)`, [x], [y], () => {
    xt.data = x.data as Int8Array;
    yt.data = y.data as Int8Array;
    layer.run(xt, yt);
  });
  return y;
};

const globalAveragePool: Int8Lowering = (p, n, ins, out) => {
  const x = p.nhwc(ins[0]!);
  const [N, C] = x.shape as [number, number];
  const y = p.val([N, C, 1, 1], 'int8', true, n.outputs[0]);
  y.quant = out;
  const xq = x.quant!;
  const layer = p.layer(`${n.name}:globalAveragePool`, () =>
    p.qw.averagePool2d({
      global: true,
      input: { scale: xq.scale, zeroPoint: xq.zeroPoint },
      output: { scale: out.scale, zeroPoint: out.zeroPoint },
    }),
  );
  mapStep(p, n.name, 'GlobalAveragePool (qlinearGlobalAveragePool layer)', layer, x, y);
  return y;
};

const averagePool: Int8Lowering = (p, n, ins, out) => {
  const x = p.nhwc(ins[0]!);
  const k = attrInts(n, 'kernel_shape')!;
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const ceil = attrInt(n, 'ceil_mode', 0) === 1;
  const g = convGeometry(n, H, W, k[0]!, k[1]!, ceil);
  const y = p.val([N, C, g.out[0], g.out[1]], 'int8', true, n.outputs[0]);
  y.quant = out;
  const xq = x.quant!;
  const attrs = {
    kernelShape: k,
    strides: g.strides,
    pads: g.pads,
    ceilMode: ceil,
    countIncludePad: attrInt(n, 'count_include_pad', 0) === 1,
    layout: 'NHWC' as const,
  };
  const { layout: _layout, ...poolAttrs } = attrs;
  void _layout;
  const layer = p.layer(`${n.name}:averagePool2d:${JSON.stringify(attrs)}`, () =>
    p.qw.averagePool2d({
      ...poolAttrs,
      input: { scale: xq.scale, zeroPoint: xq.zeroPoint },
      output: { scale: out.scale, zeroPoint: out.zeroPoint },
    }),
  );
  mapStep(p, n.name, 'AveragePool (qlinearAveragePool layer)', layer, x, y);
  return y;
};

const maxPool: Int8Lowering = (p, n, ins) => {
  const x = p.nhwc(ins[0]!);
  const k = attrInts(n, 'kernel_shape')!;
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const ceil = attrInt(n, 'ceil_mode', 0) === 1;
  const g = convGeometry(n, H, W, k[0]!, k[1]!, ceil);
  const y = p.val([N, C, g.out[0], g.out[1]], 'int8', true, n.outputs[0]);
  y.quant = x.quant;
  const attrs = {
    kernelShape: k,
    strides: g.strides,
    pads: g.pads,
    dilations: g.dilations,
    ceilMode: ceil,
    layout: 'NHWC' as const,
  };
  const { layout: _layout, ...poolAttrs } = attrs;
  void _layout;
  const layer = p.layer(`${n.name}:maxPool2d:${JSON.stringify(attrs)}`, () => p.qw.maxPool2d(poolAttrs));
  mapStep(p, n.name, 'MaxPool (maxPool2d int8)', layer, x, y);
  return y;
};

const resize: Int8Lowering = (p, n, ins) => {
  const x = p.nhwc(ins[0]!);
  const { attrs, out } = resizeAttributes(p, n, ins);
  const [N, C] = x.shape as [number, number];
  const y = p.val([N, C, out[0], out[1]], 'int8', true, n.outputs[0]);
  y.quant = x.quant;
  const layer = p.layer(`${n.name}:resize2d:${JSON.stringify(attrs)}`, () => p.qw.resize2d(attrs));
  mapStep(p, n.name, `Resize (resize2d int8 ${attrs.mode})`, layer, x, y);
  return y;
};

const concat: Int8Lowering = (p, n, ins, out) => {
  const r = ins[0]!.shape.length;
  let axis = attrInt(n, 'axis', 0);
  if (axis < 0) axis += r;
  const nhwc = r === 4 && ins.some((v) => v.nhwc);
  const vals = ins.map((v) => (nhwc ? p.nhwc(v) : p.nchw(v)));
  const shape = [...vals[0]!.shape];
  shape[axis] = vals.reduce((s, v) => s + v.shape[axis]!, 0);
  const y = p.val(shape, 'int8', nhwc, n.outputs[0]);
  y.quant = out;
  const pAxis = nhwc ? [0, 3, 1, 2][axis]! : axis;
  const ts = vals.map((v) => tensorOf(v));
  const yt = tensorOf(y);
  const layer = p.layer(`${n.name}:concat:${pAxis}`, () =>
    p.qw.concatLayer({
      inputs: vals.map((v) => ({ scale: v.quant!.scale, zeroPoint: v.quant!.zeroPoint })),
      output: { scale: out.scale, zeroPoint: out.zeroPoint },
      axis: pAxis,
    }),
  );
  if (!p.isFolding && vals.every((v) => !v.isConst)) {
    const ptrs = vals.map(() => 0);
    p.step(n.name, 'Concat (qlinearConcat layer)', vals, [y], () => {
      for (let i = 0; i < vals.length; i++) {
        ts[i]!.data = vals[i]!.data as Int8Array;
        ptrs[i] = vals[i]!.ptr;
      }
      layer.runAt(ts, ptrs, y.ptr);
    });
    return y;
  }
  p.step(n.name, 'Concat (qlinearConcat layer)', vals, [y], () => {
    for (let i = 0; i < vals.length; i++) ts[i]!.data = vals[i]!.data as Int8Array;
    yt.data = y.data as Int8Array;
    layer.run(ts, yt);
  });
  return y;
};

const INT8: ReadonlyMap<string, Int8Lowering> = new Map<string, Int8Lowering>([
  ['Conv', conv],
  ['ConvTranspose', convTranspose],
  ['MatMul', matmul],
  ['Add', binary('Add')],
  ['Mul', binary('Mul')],
  ['qwasm.Pointwise', lookup],
  ['GlobalAveragePool', globalAveragePool],
  ['AveragePool', averagePool],
  ['MaxPool', maxPool],
  ['Resize', resize],
  ['Concat', concat],
  ...[...UNARY].map((u): [string, Int8Lowering] => [u, lookup]),
]);

/** Data-movement lowerings that run on int8 data as is (the output keeps the input's quantization). */
const MOVES = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Identity', 'Slice', 'Dropout']);

/** MatMul / Gemm with constant 2-D weights on the engine's dynamicLinear (int8 GEMM, float32 in and out). */
function dynamicMatMul(p: Planner, n: GraphNode, ins: (Val | null)[]): Val | null {
  const a = ins[0];
  const bv = ins[1];
  if (
    a === null ||
    a === undefined ||
    bv === null ||
    bv === undefined ||
    !bv.isConst ||
    bv.shape.length !== 2 ||
    a.dtype !== 'float32'
  )
    return null;
  const gemm = n.opType === 'Gemm';
  if (gemm && (attrInt(n, 'transA', 0) !== 0 || a.shape.length !== 2)) return null;
  const transB = gemm && attrInt(n, 'transB', 0) === 1;
  const alpha = gemm ? attrFloat(n, 'alpha', 1) : 1;
  const beta = gemm ? attrFloat(n, 'beta', 1) : 1;
  const [K, N] = transB ? [bv.shape[1]!, bv.shape[0]!] : [bv.shape[0]!, bv.shape[1]!];
  const x = p.nchw(a);
  if (x.shape[x.shape.length - 1] !== K) return null;
  const b = p.constData(bv, n, 'B') as Float32Array;
  const w = (transB ? Float32Array.from(b) : (permute(b, bv.shape, [1, 0]) as Float32Array)).map((v) => v * alpha);
  let bias: Float32Array | undefined;
  // Gemm's C, or the bias fuse.ts moved into a MatMul
  const cv = ins[2];
  if (cv !== null && cv !== undefined) {
    const cd = p.constData(cv, n, 'C');
    if (cd.length !== N && cd.length !== 1) return null;
    bias = Float32Array.from({ length: N }, (_, i) => beta * cd[cd.length === 1 ? 0 : i]!);
  }
  const layer = p.layer(`${n.name}:dynamicLinear`, () =>
    p.qw.dynamicLinear({ weights: { data: w, shape: [N, K] }, bias }),
  );
  const y = p.val([...x.shape.slice(0, -1), N], 'float32', false, n.outputs[0]);
  p.step(n.name, `${n.opType} (dynamicLinear)`, [x], [y], () => {
    layer.run(x.data as Float32Array, y.data as Float32Array);
  });
  return y;
}

/**
 * The lowerings of a quantized graph: each node runs in int8 when its activations are
 * annotated and it has an int8 kernel, else in float32 between a dequantize and a quantize.
 */
export function quantizedLowerings(
  c: QuantContext,
  base: ReadonlyMap<string, Lowering>,
): ReadonlyMap<string, Lowering> {
  const out = new Map<string, Lowering>();
  for (const [key, fl] of base) {
    const ql = INT8.get(key);
    out.set(key, (p, n, ins) => {
      if (c.ann.dynamic === true && (key === 'MatMul' || key === 'Gemm') && !c.ann.keepFloat.has(n.name)) {
        const y = dynamicMatMul(p, n, ins);
        if (y !== null) return [y];
      }
      const annotatedOut = c.ann.values.get(n.outputs[0] ?? '');
      const acts = ins.filter((v): v is Val => v !== null && !v.isConst);
      if (!c.ann.keepFloat.has(n.name)) {
        if (MOVES.has(key) && acts.length > 0 && acts.every((v) => v.quant !== null && v.dtype === 'int8')) {
          return fl(p, n, ins);
        }
        const dataIns = key === 'Resize' ? [ins[0]] : ins;
        if (
          ql !== undefined &&
          acts.length > 0 &&
          acts.every((v) => v.quant !== null && v.dtype === 'int8') &&
          dataIns.every((v) => v === null || v === undefined || v.isConst || v.quant !== null) &&
          (annotatedOut !== undefined || key === 'MaxPool' || key === 'Resize')
        ) {
          const y = ql(
            p,
            n,
            ins.filter((v): v is Val => v !== null),
            annotatedOut ?? acts[0]!.quant!,
            c,
          );
          if (y !== null) return [y];
        }
        if (key === 'MatMul' && annotatedOut === undefined && acts.length === 1 && acts[0]!.quant !== null) {
          const y = matmulToFloat(
            p,
            n,
            ins.filter((v): v is Val => v !== null),
            c,
          );
          if (y !== null) return [y];
        }
      }
      const fins = ins.map((v) => (v === null ? null : c.dequantize(p, v)));
      // a conv on a 16-bit grid may quantize its output in its own epilogue (lowerConvI16)
      if (key === 'Conv' && annotatedOut !== undefined && !c.ann.keepFloat.has(n.name))
        int8OutputOf.set(n, annotatedOut);
      const outs = fl(p, n, fins);
      return outs.map((o, i) => {
        const q = c.ann.values.get(n.outputs[i] ?? '');
        if (o === null || o.isConst || o.dtype !== 'float32' || q === undefined || c.ann.keepFloat.has(n.name))
          return o;
        return c.quantize(p, o, q);
      });
    });
  }
  out.set('qwasm.ChannelTable', channelTableLowering(c));
  return out;
}
