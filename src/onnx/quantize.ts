// Post-training static quantization of a planned float model: stream the calibration feeds
// through the float plan, observe the activations that int8 kernels will read and write
// (the toolkit's streaming observers), turn ranges into int8 parameters, choose per-channel
// symmetric weight scales, and measure each node's output against float (SQNR).
import { QwasmError } from '../errors.js';
import { MinMaxObserver, HistogramObserver, type Observer } from '../toolkit/observers.js';
import type { Requant } from '../ops/epilogue.js';
import { int8Capable, channelScales, fitBias, PASS_THROUGH, type QuantAnnotations } from './lower-int8.js';
import { PointwiseRunner } from './kernels.js';
import { unaryInst, type PlannedNode } from './lower-float.js';
import { OnnxModel, type FeedTensor } from './model.js';
import { permute, physShape, type Val, type ValQuant } from './plan.js';
import { numel } from './tensor.js';
import {
  applyEqualization,
  applyTableEqualization,
  equalizationPairs,
  equalizationScales,
  hasBias,
  insertTableScales,
  tableEqualizations,
  type TableEqualization,
} from './equalize.js';
import type { Graph, GraphNode } from './graph.js';
import type { ChannelTableNode } from './lower-channel-table.js';
import { biasErrors, type CorrectedConv } from './bias-correction.js';
import { applyInt16, int16Convs, int16Grid } from './int16.js';

/**
 * Options of {@link OnnxModel.quantize}.
 *
 * @example
 * ```ts
 * const opts: QuantizeOptions = { calibration: feeds, observer: 'percentile', keepFloat: ['conv_last'] };
 * ```
 */
export interface QuantizeOptions {
  /**
   * 'static' (default): activations int8 with ranges from calibration. 'dynamic': only
   * MatMul / Gemm with constant weights go int8 (qw.dynamicLinear: weights int8, activations
   * quantized per call); no calibration needed.
   */
  mode?: 'static' | 'dynamic';
  /** Input records (by input name), an Iterable or AsyncIterable; each is run through the float model once. */
  calibration?: Iterable<Record<string, FeedTensor>> | AsyncIterable<Record<string, FeedTensor>>;
  /** How activation ranges are chosen: 'minmax' (default), or from a histogram by 'mse', 'percentile' or 'entropy'. */
  observer?: 'minmax' | 'mse' | 'percentile' | 'entropy';
  /** Weight scales per output channel (default) or one per tensor; symmetric int8 either way. */
  weights?: 'per-channel' | 'per-tensor';
  /** Requantization arithmetic of the int8 kernels: 'fp32' (default, ONNX) or 'fixedpoint' (TFLite). */
  requant?: Requant;
  /** Node names left in float32. */
  keepFloat?: string[];
  /**
   * Convolutions (node names of `planGraph`) that read a 16-bit input instead of int8: the
   * input is rounded to an int16 grid with a power-of-two step, the weights and bias to
   * power-of-two steps per output channel, so float32 computes the conv exactly (every sum
   * bounded below 2^24 units, see int16.ts); a dense one runs an integer kernel at about int8's
   * speed, a grouped one float32's. The output stays float32 into pointwise readers (they run
   * op by op in float32) and is int8 for any other. For a network's first layers, where int8's
   * rounding costs the most: the QDQ export writes com.microsoft QuantizeLinear /
   * DequantizeLinear with int16 zero points there, and onnxruntime's float32 gives the same bits.
   */
  int16?: string[];
  /**
   * Cross-layer equalization (default true): where a convolution feeds only another (directly
   * or through a ReLU), their channels are rescaled, the function unchanged, so the tensor
   * between them quantizes with one scale (see docs/onnx.md). It runs the float model over the
   * first records once more, so a calibration that is not an Array is held in memory.
   */
  equalize?: boolean;
  /**
   * Equalization through table ops (default false): where a convolution A feeds only a
   * one-input table op P (hard-swish, a fused pointwise chain, a sigmoid) that feeds only a
   * convolution B, A's output channels are mapped affinely (weights and bias) so that each
   * channel's useful range (where P moves) lands on the widest one's, and B's input channels
   * are scaled as cross-layer equalization does; P becomes one 256-entry table per channel
   * (a Mul, an Add and a Mul around P in the QDQ export, which onnxruntime runs in float32 to
   * the same codes). It lifts PP-OCRv4 detection and the direction classifier and lowers
   * PP-OCRv4 recognition: measure before turning it on (docs/onnx.md). Needs `equalize`.
   * An array names the convs A whose chains to equalize (the others keep one table per
   * tensor, which a conv applies in its own epilogue, where a per-channel table is a pass of
   * its own).
   */
  equalizeTables?: boolean | string[];
  /**
   * Bias correction (default false): once the int8 parameters are chosen, the int8 model runs
   * over the calibration records once more and each int8 convolution's bias is corrected by
   * the mean per output channel of the error its rounded weights add, (W_q - W) x, with x its
   * int8 input on those records (Nagel et al., 2019). The corrected bias is what the int8 plan
   * and the QDQ export quantize (the same int32 codes). One int8 run per record; a
   * calibration that is not an Array is held in memory. Measured on the PaddleOCR models it
   * is mixed (docs/onnx.md): measure before turning it on.
   */
  biasCorrection?: boolean;
  /** Called after each calibration record with the number run so far. */
  onProgress?: (done: number) => void;
}

/**
 * One line of the sensitivity report: a node's output in the int8 model against float, on the
 * first calibration record (errors accumulate along the graph, as they do in the model).
 *
 * @example
 * ```ts
 * const worst = q.report!.nodes.sort((a, b) => a.sqnrDb - b.sqnrDb)[0];
 * ```
 */
export interface NodeSensitivity {
  /** The node (after fusion: a conv with its folded BatchNorm, a pointwise chain, ...). */
  node: string;
  /** The value measured: the node's output. */
  output: string;
  /** 10 log10(sum f^2 / sum (f - q)^2) in dB; Infinity when equal. */
  sqnrDb: number;
}

/**
 * What quantization found.
 *
 * @example
 * ```ts
 * console.log(q.report!.records, q.report!.int8Values);
 * ```
 */
export interface QuantizedReport {
  /** Calibration records run. */
  records: number;
  /** Activations kept in int8. */
  int8Values: number;
  /** Per-node SQNR of the int8 model against float. */
  nodes: NodeSensitivity[];
}

const SCHEME = { bits: 8, signed: true, symmetric: false };

/** Asymmetric int8 parameters of a range (widened to include 0). */
export function activationParams(min: number, max: number): ValQuant {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? Math.fround((hi - lo) / 255) : 1;
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  return { scale, zeroPoint };
}

function newObserver(kind: QuantizeOptions['observer']): Observer {
  if (kind === undefined || kind === 'minmax') return new MinMaxObserver();
  return new HistogramObserver({ method: kind });
}

/** A value's data in NCHW order (copy). */
function logical(v: Val): Float32Array {
  const d = v.data as Float32Array;
  return v.nhwc ? (permute(d, physShape(v), [0, 3, 1, 2]) as Float32Array) : Float32Array.from(d);
}

function dequantized(v: Val): Float32Array {
  const out = new Float32Array(numel(v.shape));
  const src = v.data!;
  const q = v.quant;
  for (let i = 0; i < out.length; i++) out[i] = q === null ? src[i]! : (src[i]! - q.zeroPoint) * q.scale;
  return v.nhwc ? (permute(out, physShape(v), [0, 3, 1, 2]) as Float32Array) : out;
}

/** See {@link OnnxModel.quantize}. */
export async function quantizeModel(model: OnnxModel, options: QuantizeOptions): Promise<OnnxModel> {
  if (typeof options !== 'object' || options === null) throw new QwasmError('options', 'must be an object');
  const graph = model.planGraph;
  if (options.mode === 'dynamic') {
    if ((options.int16?.length ?? 0) > 0)
      throw new QwasmError(
        'options.int16',
        "needs static quantization (16-bit grids come from calibration), not mode 'dynamic'",
      );
    const ann: QuantAnnotations = {
      values: new Map(),
      weights: new Map(),
      keepFloat: new Set(options.keepFloat ?? []),
      requant: 'fp32',
      dynamic: true,
    };
    const q = new OnnxModel(model.qw, graph, model.standard, ann, model.loadShapes);
    q.report = { records: 0, int8Values: 0, nodes: [] };
    q.planKnownShapes();
    return q;
  }
  if (options.calibration === undefined) {
    throw new QwasmError('options.calibration', 'must be an Iterable or AsyncIterable of input records');
  }
  const keepFloat = new Set(options.keepFloat ?? []);
  if (options.int16 !== undefined && !Array.isArray(options.int16))
    throw new QwasmError('options.int16', 'must be an array of node names');
  const int16 = new Set(int16Convs(graph, options.int16 ?? []).map((n) => n.name));
  const skip = new Set([...keepFloat, ...int16]);
  let calibration = options.calibration;
  let base = model;
  let baseGraph = graph;
  let baseStandard = model.standard;
  // 16-bit convs take part in equalization (their weights are rescaled before their grid is
  // chosen) unless both ends are 16-bit: the tensor between them is then never int8
  const pairs =
    options.equalize === false
      ? []
      : equalizationPairs(graph, keepFloat).filter((e) => !(int16.has(e.a.name) && int16.has(e.b.name)));
  const tablesArg = options.equalizeTables;
  if (tablesArg !== undefined && typeof tablesArg !== 'boolean' && !Array.isArray(tablesArg))
    throw new QwasmError('options.equalizeTables', 'must be a boolean or an array of conv names');
  const allChains =
    options.equalize === false || tablesArg === undefined || tablesArg === false
      ? []
      : tableEqualizations(graph, keepFloat).filter((e) => !(int16.has(e.a.name) && int16.has(e.b.name)));
  if (Array.isArray(tablesArg)) {
    const starts = new Set(allChains.map((e) => e.a.name));
    for (const name of tablesArg)
      if (!starts.has(name))
        throw new QwasmError(
          'options.equalizeTables',
          `names '${name}', which does not start a conv -> table op -> conv chain of this model`,
        );
  }
  const chains = Array.isArray(tablesArg) ? allChains.filter((e) => tablesArg.includes(e.a.name)) : allChains;
  const applied: AppliedTable[] = [];
  if (pairs.length + chains.length > 0 || options.biasCorrection === true) {
    const held: Record<string, FeedTensor>[] = [];
    for await (const feeds of calibration as AsyncIterable<Record<string, FeedTensor>>) held.push(feeds);
    calibration = held;
  }
  if (pairs.length + chains.length > 0) {
    const held = calibration as Record<string, FeedTensor>[];
    const names = new Set([...pairs.map((p) => p.tensor), ...chains.flatMap((e) => [e.x, e.y])]);
    const ranges = channelRanges(model, held.slice(0, EQUALIZE_RECORDS), names);
    // copies of the nodes too: the chains' rewiring must not reach the float model
    baseGraph = { ...graph, nodes: graph.nodes.map((n) => ({ ...n })), initializers: new Map(graph.initializers) };
    baseStandard = {
      ...model.standard,
      nodes: model.standard.nodes.map((n) => ({ ...n })),
      initializers: new Map(model.standard.initializers),
    };
    for (const pair of pairs) {
      const r = ranges.get(pair.tensor);
      if (r === undefined) continue;
      applyEqualization(baseGraph.initializers, pair, equalizationScales(baseGraph, pair, maxAbs(r)));
    }
    for (const e of chains) {
      const rx = ranges.get(e.x);
      const ry = ranges.get(e.y);
      const fn = elementwise(e.p, true);
      if (rx === undefined || ry === undefined || fn === null) continue;
      const { t, o, useful } = tableInputMap(fn, rx, hasBias(e));
      const s = equalizationScales(baseGraph, { a: e.a, b: e.b, tensor: e.y }, maxAbs(ry));
      applyTableEqualization(baseGraph.initializers, e, t, o, s);
      insertTableScales(baseGraph, e, t, o, s);
      insertTableScales(baseStandard, e, t, o, s);
      applied.push({ ...e, fn, useful });
    }
    for (const [name, t] of baseGraph.initializers)
      if (baseStandard.initializers.has(name) && graph.initializers.get(name) !== t)
        baseStandard.initializers.set(name, t);
    base = new OnnxModel(model.qw, baseGraph, baseStandard, null, model.loadShapes);
  }
  const isConst = (name: string): boolean => baseGraph.initializers.has(name);
  // which values an int8 kernel reads or writes
  const observed = new Set<string>();
  // an equalized table op and its two Muls run as one per-channel table of x's codes: x and
  // `${y}::eq` are quantized, the values between them are not
  const tables = new Set(applied.map((e) => e.p.name));
  const capable = baseGraph.nodes.filter((n) => !skip.has(n.name) && !tables.has(n.name) && int8Capable(n, isConst));
  for (const n of capable) {
    for (const i of n.inputs) if (i !== '' && !isConst(i)) observed.add(i);
    if (!PASS_THROUGH.has(n.opType)) observed.add(n.outputs[0]!);
  }
  // a table's input is int8 even when a 16-bit conv (no int8 kernel) writes it
  for (const e of applied) observed.add(e.x);
  try {
    return await calibrate(model, base, { ...options, calibration }, capable, observed, keepFloat, int16, applied);
  } finally {
    if (base !== model) base.dispose();
  }
}

/** How many calibration records equalization measures channel ranges on. */
const EQUALIZE_RECORDS = 8;

/** Per-channel min and max of the named values over `records` (logical channel: dim 1). */
function channelRanges(
  model: OnnxModel,
  records: Record<string, FeedTensor>[],
  names: Set<string>,
): Map<string, { lo: Float64Array; hi: Float64Array }> {
  const out = new Map<string, { lo: Float64Array; hi: Float64Array }>();
  for (const feeds of records) {
    const seen = new Set<string>();
    model.runObserved(feeds, (v) => {
      if (v.dtype !== 'float32' || !names.has(v.name) || seen.has(v.name) || v.shape.length < 2) return;
      seen.add(v.name);
      const C = v.shape[1]!;
      const inner = numel(v.shape.slice(2));
      let r = out.get(v.name);
      if (r === undefined)
        out.set(v.name, (r = { lo: new Float64Array(C).fill(Infinity), hi: new Float64Array(C).fill(-Infinity) }));
      const d = v.data as Float32Array;
      for (let i = 0; i < d.length; i++) {
        const c = v.nhwc ? i % C : Math.floor(i / inner) % C;
        const x = d[i]!;
        if (x < r.lo[c]!) r.lo[c] = x;
        if (x > r.hi[c]!) r.hi[c] = x;
      }
    });
  }
  return out;
}

/** Per-channel max |x| of a range. */
function maxAbs(r: { lo: Float64Array; hi: Float64Array }): Float64Array {
  return Float64Array.from(r.lo, (lo, c) => Math.max(Math.abs(lo), Math.abs(r.hi[c]!), 0) || 0);
}

/**
 * Where `fn` moves over [lo, hi]: the part outside which it stays within half a step of a
 * 256-level grid over its range there (hard-swish below -3, a sigmoid's flat tails).
 */
function usefulRange(fn: (x: number) => number, lo: number, hi: number): [number, number] {
  const STEPS = 1024;
  const x = (i: number): number => lo + ((hi - lo) * i) / STEPS;
  let fmin = Infinity;
  let fmax = -Infinity;
  for (let i = 0; i <= STEPS; i++) {
    const f = fn(x(i));
    fmin = Math.min(fmin, f);
    fmax = Math.max(fmax, f);
  }
  const tol = (fmax - fmin) / 512;
  const fLo = fn(lo);
  const fHi = fn(hi);
  let a = 0;
  while (a < STEPS && Math.abs(fn(x(a + 1)) - fLo) <= tol) a++;
  let b = STEPS;
  while (b > a && Math.abs(fn(x(b - 1)) - fHi) <= tol) b--;
  return [x(a), x(b)];
}

/**
 * The per-channel affine map x_c = t[c] * x'_c + o[c] of a table op's input that puts every
 * channel's useful range (where the table op moves, within what calibration saw) onto the
 * widest one's, so one per-tensor scale serves them all; o stays 0 when A has no bias.
 */
function tableInputMap(
  fn: (x: number) => number,
  r: { lo: Float64Array; hi: Float64Array },
  offsets: boolean,
): { t: Float64Array; o: Float64Array; useful: [number, number] } {
  const C = r.lo.length;
  const t = new Float64Array(C).fill(1);
  const o = new Float64Array(C);
  const useful = Array.from({ length: C }, (_, c) =>
    r.hi[c]! > r.lo[c]! ? usefulRange(fn, Math.min(r.lo[c]!, 0), Math.max(r.hi[c]!, 0)) : null,
  );
  let widest: [number, number] | null = null;
  for (const u of useful) if (u !== null && (widest === null || u[1] - u[0] > widest[1] - widest[0])) widest = u;
  if (widest === null || !(widest[1] > widest[0])) return { t, o, useful: [-Infinity, Infinity] };
  const [A, B] = widest;
  let lo = Infinity;
  let hi = -Infinity;
  for (let c = 0; c < C; c++) {
    const u = useful[c];
    if (u === null || u === undefined || !(u[1] > u[0])) continue;
    if (offsets) {
      t[c] = Math.max(1 / 1024, (u[1] - u[0]) / (B - A));
      o[c] = u[0] - t[c]! * A;
    } else t[c] = Math.max(1 / 1024, Math.max(Math.abs(u[0]), Math.abs(u[1])) / Math.max(Math.abs(A), Math.abs(B)));
    lo = Math.min(lo, (u[0] - o[c]!) / t[c]!);
    hi = Math.max(hi, (u[1] - o[c]!) / t[c]!);
  }
  return { t, o, useful: lo < hi ? [lo, hi] : [-Infinity, Infinity] };
}

/** Observes `base` (the model, equalized or not) and builds the quantized model on its graph. */
async function calibrate(
  model: OnnxModel,
  base: OnnxModel,
  options: QuantizeOptions,
  capable: GraphNode[],
  observed: Set<string>,
  keepFloat: Set<string>,
  int16: Set<string>,
  applied: AppliedTable[],
): Promise<OnnxModel> {
  const graph = base.planGraph;
  const isConst = (name: string): boolean => graph.initializers.has(name);
  const observers = new Map<string, Observer>();
  let records = 0;
  let first: Record<string, FeedTensor> | null = null;
  // the largest |x| each 16-bit input reaches
  const int16Nodes = graph.nodes.filter((n) => int16.has(n.name));
  const peaks = new Map<string, number>(int16Nodes.map((n) => [n.inputs[0]!, 0]));
  const visit = (v: Val): void => {
    if (v.dtype === 'float32' && peaks.has(v.name)) {
      let m = peaks.get(v.name)!;
      for (const x of v.data as Float32Array) m = Math.max(m, Math.abs(x));
      peaks.set(v.name, m);
    }
    if (v.dtype !== 'float32' || !observed.has(v.name)) return;
    let o = observers.get(v.name);
    if (o === undefined) {
      o = newObserver(options.observer);
      observers.set(v.name, o);
    }
    o.observe(v.data as Float32Array);
  };
  for await (const feeds of options.calibration! as AsyncIterable<Record<string, FeedTensor>>) {
    first ??= feeds;
    base.runObserved(feeds, visit);
    records++;
    options.onProgress?.(records);
  }
  if (records === 0) throw new QwasmError('options.calibration', 'gave no input records');
  const values = new Map<string, ValQuant>();
  // a node kept in float32 writes float32 (the plan does not quantize its output), so its
  // readers read float32 and run in float32 too: none of those values is annotated, or the
  // QDQ export would quantize what qwasm runs in float
  // a 16-bit conv's output stays float32 into pointwise readers (they run in float32 on its
  // exact values, and the first int8 value is theirs); any other reader gets it in int8
  const readers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const intoPointwise = (n: GraphNode): boolean =>
    n.outputs.every((o) => (readers.get(o) ?? []).every((r) => r.domain === 'qwasm' && r.opType === 'Pointwise'));
  const keptOutputs = new Set(
    graph.nodes
      .filter((n) => keepFloat.has(n.name) || (int16.has(n.name) && intoPointwise(n)))
      .flatMap((n) => n.outputs),
  );
  const paramsOf = (name: string): ValQuant | undefined => {
    const hit = values.get(name);
    if (hit !== undefined) return hit;
    if (keptOutputs.has(name)) return undefined;
    const o = observers.get(name);
    if (o === undefined || o.count === 0) return undefined;
    const r = o.range(SCHEME);
    const q = activationParams(r.min[0]!, r.max[0]!);
    values.set(name, q);
    return q;
  };
  const onlyInt16 = (v: string): boolean => {
    const r = readers.get(v) ?? [];
    return r.length > 0 && r.every((m) => int16.has(m.name));
  };
  const int8Readers = new Set<string>();
  for (const n of capable) for (const i of n.inputs) int8Readers.add(i);
  for (const n of capable) {
    const acts = n.inputs.filter((i) => i !== '' && !isConst(i));
    const qs = acts.map(paramsOf);
    if (PASS_THROUGH.has(n.opType)) {
      if (qs[0] !== undefined) values.set(n.outputs[0]!, qs[0]);
    } else if (n.opType === 'MatMul' && !int8Readers.has(n.outputs[0]!)) {
      // only float ops read the product: the int8 GEMM writes it in float32 (no annotation)
    } else if (onlyInt16(n.outputs[0]!) && qs.every((q) => q === undefined)) {
      // a float32 node (its inputs float32) read only by 16-bit convs: its output reaches
      // their grid in float32, not through int8
    } else paramsOf(n.outputs[0]!);
  }
  for (const e of applied) paramsOf(e.x);
  clampToReaders(graph, capable, values, observers);
  for (const e of applied) {
    // as clampToReaders does for a table's input: the codes beyond where it moves are wasted
    const q = values.get(e.x);
    if (q === undefined) continue;
    const lo = Math.max((-128 - q.zeroPoint) * q.scale, e.useful[0]);
    const hi = Math.min((127 - q.zeroPoint) * q.scale, e.useful[1]);
    const c = activationParams(lo, hi);
    if (hi > lo && c.scale < q.scale) values.set(e.x, c);
  }
  const weights = new Map<string, Float32Array>();
  for (const n of capable) {
    if (!['Conv', 'ConvTranspose', 'MatMul'].includes(n.opType)) continue;
    const w = graph.initializers.get(n.inputs[1]!);
    if (w === undefined || w.dtype !== 'float32') continue;
    const data = w.data as Float32Array;
    let scales: Float32Array;
    if (n.opType === 'MatMul') {
      if (w.shape.length !== 2) continue;
      const t = permute(data, w.shape, [1, 0]) as Float32Array;
      scales = channelScales(t, w.shape[1]!);
    } else if (n.opType === 'ConvTranspose') scales = channelScales(data, 1);
    else scales = channelScales(data, w.shape[0]!);
    const xq = values.get(n.inputs[0]!);
    // a float32 input (a kept node's output): the node runs in float32 with float32 weights
    if (xq === undefined) continue;
    const bias = n.inputs[2] ? graph.initializers.get(n.inputs[2]) : undefined;
    if (bias !== undefined) scales = fitBias(scales, bias.data, xq.scale);
    if (options.weights === 'per-tensor' || n.opType === 'ConvTranspose') {
      let m = 0;
      for (const s of scales) m = Math.max(m, s);
      scales = scales.length === 1 ? scales : new Float32Array(scales.length).fill(m);
      if (n.opType === 'ConvTranspose') scales = Float32Array.of(m);
    }
    weights.set(n.inputs[1]!, scales);
  }
  const ann: QuantAnnotations = { values, weights, keepFloat, requant: options.requant ?? 'fp32' };
  let standard = base.standard;
  let qGraph = graph;
  for (const n of int16Nodes) {
    const w = qGraph.initializers.get(n.inputs[1]!)!;
    const b = n.inputs[2] ? qGraph.initializers.get(n.inputs[2]) : undefined;
    const grid = int16Grid(w, b, peaks.get(n.inputs[0]!) ?? 0);
    if (grid === null) {
      throw new QwasmError('options.int16', `names '${n.name}', whose sums cannot be kept exact on 16-bit inputs`);
    }
    ({ fused: qGraph, standard } = applyInt16(qGraph, standard, n.name, grid));
  }
  if (options.biasCorrection === true) {
    ({ graph: qGraph, standard } = correctBiases(
      model,
      { planGraph: qGraph, standard },
      ann,
      capable,
      applied,
      options.calibration as Record<string, FeedTensor>[],
    ));
  }
  const q = new OnnxModel(model.qw, withChannelTables(qGraph, applied, values), standard, ann, model.loadShapes);
  q.planKnownShapes();
  // against `base`: equalized values differ from the unequalized model's by their channel scales
  q.report = { records, int8Values: values.size, nodes: sensitivity(base, q, first!) };
  return q;
}

/**
 * The graphs (fused and standard) of `base` with each int8 convolution's float bias corrected
 * by the mean error its rounded weights add per output channel (see bias-correction.ts): new
 * initializer maps, `base`'s untouched.
 */
function correctBiases(
  model: OnnxModel,
  base: Pick<OnnxModel, 'planGraph' | 'standard'>,
  ann: QuantAnnotations,
  capable: GraphNode[],
  applied: AppliedTable[],
  records: Record<string, FeedTensor>[],
): { graph: Graph; standard: Graph } {
  const graph = { ...base.planGraph, initializers: new Map(base.planGraph.initializers) };
  const standard = { ...base.standard, initializers: new Map(base.standard.initializers) };
  const convs: CorrectedConv[] = [];
  for (const n of capable) {
    const scales = ann.weights.get(n.inputs[1]!);
    const b = n.inputs[2] ? graph.initializers.get(n.inputs[2]) : undefined;
    if (n.opType !== 'Conv' || scales === undefined || b?.dtype !== 'float32' || !ann.values.has(n.inputs[0]!))
      continue;
    if (graph.initializers.get(n.inputs[1]!)?.shape.length !== 4) continue;
    convs.push({ node: n, scales });
  }
  if (convs.length === 0) return { graph, standard };
  const probe = new OnnxModel(model.qw, withChannelTables(graph, applied, ann.values), standard, ann, model.loadShapes);
  let errors: Map<GraphNode, Float64Array>;
  try {
    errors = biasErrors(probe, graph, convs, records);
  } finally {
    probe.dispose();
  }
  for (const [n, err] of errors) {
    const name = n.inputs[2]!;
    const b = graph.initializers.get(name)!;
    const t = { ...b, data: Float32Array.from(b.data as Float32Array, (v, o) => v - err[o]!) };
    graph.initializers.set(name, t);
    if (standard.initializers.has(name)) standard.initializers.set(name, t);
  }
  return { graph, standard };
}

/** A table equalization applied, with its table op's function. */
interface AppliedTable extends TableEqualization {
  fn: (x: number) => number;
  /** Where the table op moves, in x's rescaled units: x's range is narrowed to it. */
  useful: [number, number];
}

/**
 * The int8 graph: each applied chain's Mul -> Add -> table op -> Mul as one ChannelTable node (x's
 * codes through a table per channel into `${y}::eq`'s), where both ends are quantized.
 */
function withChannelTables(g: Graph, applied: AppliedTable[], values: Map<string, ValQuant>): Graph {
  if (applied.length === 0) return g;
  const drop = new Set<string>();
  const nodes: GraphNode[] = [];
  const at = new Map<string, ChannelTableNode>();
  for (const e of applied) {
    const ys = `${e.y}::eq`;
    if (!values.has(e.x) || !values.has(ys)) continue;
    drop.add(`${e.x}::eq_scaled`).add(`${e.x}::eq`).add(e.p.name).add(ys);
    at.set(ys, {
      name: e.p.name,
      opType: 'ChannelTable',
      domain: 'qwasm',
      inputs: [e.x, `${e.x}::eq_scale`, `${e.x}::eq_offset`, `${e.y}::eq_scale`],
      outputs: [ys],
      attrs: new Map(),
      fn: e.fn,
    });
  }
  for (const n of g.nodes) {
    const ct = at.get(n.outputs[0]!);
    if (ct !== undefined) nodes.push(ct);
    else if (!drop.has(n.name)) nodes.push(n);
  }
  return { ...g, nodes };
}

/**
 * The float function of a one-input elementwise node run by a lookup table, or null; with
 * `float32`, each of its ops rounded to float32 as onnxruntime runs them on the QDQ export.
 */
function elementwise(n: GraphNode, float32 = false): ((x: number) => number) | null {
  const program =
    n.opType === 'Pointwise' && n.domain === 'qwasm'
      ? (n as PlannedNode).program
      : ['HardSigmoid', 'HardSwish', 'Sigmoid', 'Tanh', 'Relu', 'LeakyRelu'].includes(n.opType) && n.domain === ''
        ? { insts: [unaryInst(null as never, n, [])], registers: 2, result: 1 }
        : undefined;
  if (program === undefined) return null;
  const runner = new PointwiseRunner(program);
  return float32 ? (x) => runner.scalar32(x) : (x) => runner.scalar(x);
}

/**
 * Narrows the range of a value read only by lookup-table nodes to where their functions
 * change by at least half an output step: hard-swish is 0 below -3, a hard-sigmoid constant
 * outside [-3, 3], a sigmoid 0 or 1 to within its output's precision beyond about +-6. The
 * codes outside would all give the same outputs, so they are spent where the function moves.
 */
function clampToReaders(
  graph: { nodes: GraphNode[]; outputs: { name: string }[] },
  capable: GraphNode[],
  values: Map<string, ValQuant>,
  observers: Map<string, Observer>,
): void {
  const readers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const producer = new Map<string, GraphNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const int8 = new Set(capable);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const STEPS = 2048;
  for (const [name, q] of values) {
    const from = producer.get(name);
    const rs = readers.get(name) ?? [];
    if (from === undefined || !int8.has(from) || PASS_THROUGH.has(from.opType) || outputs.has(name) || rs.length === 0)
      continue;
    const o = observers.get(name);
    if (o === undefined) continue;
    const r = o.range(SCHEME);
    let lo = Math.min(r.min[0]!, 0);
    let hi = Math.max(r.max[0]!, 0);
    let newLo = hi;
    let newHi = lo;
    let ok = true;
    for (const n of rs) {
      const f = int8.has(n) && n.inputs.length === 1 ? elementwise(n) : null;
      const oq = values.get(n.outputs[0]!);
      if (f === null || oq === undefined) {
        ok = false;
        break;
      }
      const tol = oq.scale / 2;
      const x = (i: number): number => lo + ((hi - lo) * i) / STEPS;
      const fLo = f(lo);
      const fHi = f(hi);
      let a = 0;
      while (a < STEPS && Math.abs(f(x(a + 1)) - fLo) <= tol) a++;
      let b = STEPS;
      while (b > a && Math.abs(f(x(b - 1)) - fHi) <= tol) b--;
      newLo = Math.min(newLo, x(a));
      newHi = Math.max(newHi, x(b));
    }
    if (!ok || !(newHi > newLo)) continue;
    lo = Math.max(lo, newLo);
    hi = Math.min(hi, newHi);
    if (lo === Math.min(r.min[0]!, 0) && hi === Math.max(r.max[0]!, 0)) continue;
    const c = activationParams(lo, hi);
    if (c.scale < q.scale) values.set(name, c);
  }
}

/** SQNR of every named int8 value of `q` against the same value in `model`, on one record. */
function sensitivity(model: OnnxModel, q: OnnxModel, feeds: Record<string, FeedTensor>): NodeSensitivity[] {
  const ref = new Map<string, Float32Array>();
  model.runObserved(feeds, (v) => {
    if (v.dtype === 'float32' && v.name !== '' && !ref.has(v.name)) ref.set(v.name, logical(v));
  });
  const producer = new Map<string, string>();
  for (const n of model.planGraph.nodes) for (const o of n.outputs) producer.set(o, n.name);
  const out: NodeSensitivity[] = [];
  const seen = new Set<string>();
  q.runObserved(feeds, (v) => {
    if (v.quant === null || v.dtype !== 'int8' || seen.has(v.name)) return;
    const f = ref.get(v.name);
    if (f === undefined || !producer.has(v.name)) return;
    seen.add(v.name);
    const g = dequantized(v);
    let s = 0;
    let e = 0;
    for (let i = 0; i < f.length; i++) {
      s += f[i]! * f[i]!;
      e += (f[i]! - g[i]!) ** 2;
    }
    out.push({ node: producer.get(v.name)!, output: v.name, sqnrDb: e === 0 ? Infinity : 10 * Math.log10(s / e) });
  });
  return out;
}
