// Post-training static quantization of a planned float model: stream the calibration feeds
// through the float plan, observe the activations that int8 kernels will read and write
// (the toolkit's streaming observers), turn ranges into int8 parameters, choose per-channel
// symmetric weight scales, and measure each node's output against float (SQNR).
import { QwasmError } from '../errors.js';
import { MinMaxObserver, HistogramObserver, type Observer } from '../toolkit/observers.js';
import type { Requant } from '../ops/epilogue.js';
import { int8Capable, channelScales, fitBias, PASS_THROUGH, type QuantAnnotations } from './lower-int8.js';
import { OnnxModel, type FeedTensor } from './model.js';
import { permute, physShape, type Val, type ValQuant } from './plan.js';
import { numel } from './tensor.js';

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
  const isConst = (name: string): boolean => graph.initializers.has(name);
  // which values an int8 kernel reads or writes
  const observed = new Set<string>();
  const capable = graph.nodes.filter((n) => !keepFloat.has(n.name) && int8Capable(n, isConst));
  for (const n of capable) {
    for (const i of n.inputs) if (i !== '' && !isConst(i)) observed.add(i);
    if (!PASS_THROUGH.has(n.opType)) observed.add(n.outputs[0]!);
  }
  const observers = new Map<string, Observer>();
  let records = 0;
  let first: Record<string, FeedTensor> | null = null;
  const visit = (v: Val): void => {
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
    model.runObserved(feeds, visit);
    records++;
    options.onProgress?.(records);
  }
  if (records === 0) throw new QwasmError('options.calibration', 'gave no input records');
  const values = new Map<string, ValQuant>();
  const paramsOf = (name: string): ValQuant | undefined => {
    const hit = values.get(name);
    if (hit !== undefined) return hit;
    const o = observers.get(name);
    if (o === undefined || o.count === 0) return undefined;
    const r = o.range(SCHEME);
    const q = activationParams(r.min[0]!, r.max[0]!);
    values.set(name, q);
    return q;
  };
  for (const n of capable) {
    const acts = n.inputs.filter((i) => i !== '' && !isConst(i));
    const qs = acts.map(paramsOf);
    if (PASS_THROUGH.has(n.opType)) {
      if (qs[0] !== undefined) values.set(n.outputs[0]!, qs[0]);
    } else paramsOf(n.outputs[0]!);
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
    const bias = n.inputs[2] ? graph.initializers.get(n.inputs[2]) : undefined;
    if (xq !== undefined && bias !== undefined) scales = fitBias(scales, bias.data, xq.scale);
    if (options.weights === 'per-tensor' || n.opType === 'ConvTranspose') {
      let m = 0;
      for (const s of scales) m = Math.max(m, s);
      scales = scales.length === 1 ? scales : new Float32Array(scales.length).fill(m);
      if (n.opType === 'ConvTranspose') scales = Float32Array.of(m);
    }
    weights.set(n.inputs[1]!, scales);
  }
  const ann: QuantAnnotations = { values, weights, keepFloat, requant: options.requant ?? 'fp32' };
  const q = new OnnxModel(model.qw, graph, model.standard, ann, model.loadShapes);
  q.planKnownShapes();
  q.report = { records, int8Values: values.size, nodes: sensitivity(model, q, first!) };
  return q;
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
