// OnnxModel: load (parse -> rewrite -> plan) and run. A plan is made for one set of input
// shapes; given other shapes, run plans again (once per new shape set) from the same graph.
import { QwasmError } from '../errors.js';
import type { Qwasm } from '../engine.js';
import { parseModel, topoSort, type Graph, type ValueDecl } from './graph.js';
import { optimize } from './fuse.js';
import { quantizedLowerings, QuantContext, type QuantAnnotations } from './lower-int8.js';
import { stripQdq } from './qdq.js';
import { expandChannelTables, fuseChannelTables } from './fuse-channel-tables.js';
import { exportQdq } from './export.js';
import type { QuantizeOptions, QuantizedReport } from './quantize.js';
import { FLOAT_LOWERINGS } from './lower-float.js';
import { qopLowerings } from './lower-qop.js';

/** Plans a model keeps (one per set of input shapes), the oldest dropped first. */
const MAX_PLANS = 8;

/** Every lowering of a float (or QOperator) graph. */
const ALL_LOWERINGS: ReadonlyMap<string, Lowering> = new Map([...FLOAT_LOWERINGS, ...qopLowerings()]);
import { planArena, Planner, WasmArena, type Disposable, type Lowering, type Step, type Val } from './plan.js';
import { dtypeOfArray, numel, type OnnxArray, type OnnxDtype, type OnnxTensor } from './tensor.js';

/**
 * Options of {@link OnnxModel.load}.
 *
 * @example
 * ```ts
 * const opts: LoadOptions = { inputShapes: { x: [1, 3, 160, 160] } };
 * ```
 */
export interface LoadOptions {
  /** Fixes the model's symbolic (or any) input dims, by input name; the plan is made at load. */
  inputShapes?: Record<string, readonly number[]>;
  /** Graph rewrites (BatchNorm folding, activation and pointwise fusion); default true. */
  fuse?: boolean;
}

/**
 * A model input or output: its name, shape (symbolic dims as strings) and element type.
 *
 * @example
 * ```ts
 * const info: ValueInfo = { name: 'x', shape: [1, 3, 'height', 'width'], dtype: 'float32' };
 * ```
 */
export interface ValueInfo {
  /** The value's name in the graph. */
  name: string;
  /** Declared dims: numbers, names of symbolic dims, or null where the file gives none. */
  shape: (number | string | null)[];
  /** Element type. */
  dtype: OnnxDtype;
}

/**
 * A tensor given to or returned by {@link OnnxModel.run}.
 *
 * @example
 * ```ts
 * const x: FeedTensor = { data: new Float32Array(3 * 48 * 192), shape: [1, 3, 48, 192] };
 * ```
 */
export interface FeedTensor {
  /** The elements, row-major, of the input's element type (int64 inputs as BigInt64Array or Float64Array). */
  data: Float32Array | Int8Array | Uint8Array | Int32Array | Float64Array | BigInt64Array;
  /** Dimensions, outermost first. */
  shape: readonly number[];
}

/**
 * One step of a plan as {@link OnnxModel.profile} reports it.
 *
 * @example
 * ```ts
 * for (const s of model.profile(feeds)) console.log(s.node, s.op, s.ms.toFixed(2));
 * ```
 */
export interface StepProfile {
  /** The node the step runs (or the value a layout conversion or a quantize step is for). */
  node: string;
  /** What runs it, e.g. 'Conv (conv2d int8, igemm)'. */
  op: string;
  /** Milliseconds the step took. */
  ms: number;
}

/** A plan for one set of input shapes. */
export interface Plan {
  key: string;
  steps: Step[];
  inputs: Map<string, Val>;
  outputs: Val[];
  arenaBytes: number;
  /** The intermediates' block in the engine's wasm memory. */
  arena: WasmArena;
  /** Other blocks the plan owns (constants read by address, address tables). */
  blocks: number[];
}

/** Frees a plan's arena and blocks (its layers belong to the model). */
export function releasePlan(qw: Qwasm, plan: Plan): void {
  plan.arena.release();
  for (const b of plan.blocks) qw.runtime.heap.release(b);
}

/** Makes a plan of `graph` for the given input shapes with `lowerings`. */
export function makePlan(
  qw: Qwasm,
  graph: Graph,
  shapes: Map<string, readonly number[]>,
  lowerings: ReadonlyMap<string, Lowering>,
  ann: QuantContext | null = null,
  layers: Map<string, Disposable> = new Map(),
  fuseEpilogues = true,
): Plan {
  const p = new Planner(qw, graph, lowerings, layers);
  p.fuseEpilogues = fuseEpilogues && ann === null;
  p.exactFloat = ann !== null;
  let arena: WasmArena | null = null;
  try {
    const values = new Map<string, Val>();
    for (const [name, t] of graph.initializers) values.set(name, p.constant(t, false, name));
    const inputs = new Map<string, Val>();
    for (const d of graph.inputs) {
      const v = p.val(shapes.get(d.name)!, d.dtype, false, d.name);
      values.set(d.name, v);
      inputs.set(d.name, v);
    }
    if (ann !== null) {
      for (const [name, v] of inputs) {
        const q = ann.ann.values.get(name);
        if (q !== undefined && v.dtype === 'float32') values.set(name, ann.quantize(p, v, q));
      }
    }
    for (const node of graph.nodes) {
      const ins = node.inputs.map((name) => (name === '' ? null : (values.get(name) ?? null)));
      const outs = p.lower(node, ins);
      node.outputs.forEach((o, i) => {
        if (o === '') return;
        const v = outs[i];
        if (v === undefined || v === null) {
          if (i === 0) throw new QwasmError(`node '${node.name}' (${node.opType})`, `produces no output '${o}'`);
          return;
        }
        v.name = o;
        values.set(o, v);
      });
    }
    const outputs = graph.outputs.map((d) => {
      const v = values.get(d.name);
      if (v === undefined) throw new QwasmError('graph output', `'${d.name}' is not produced by any node`);
      return p.nchw(ann === null ? v : ann.dequantize(p, v));
    });
    const layout = planArena(p.steps, [...inputs.values()], outputs);
    arena = new WasmArena(qw.runtime.heap, layout);
    for (const fn of p.binds) fn();
    const key = [...shapes.values()].map((s) => s.join('x')).join(',');
    return {
      key,
      steps: p.steps,
      inputs,
      outputs,
      arenaBytes: layout.bytes,
      arena,
      blocks: p.blocks,
    };
  } catch (e) {
    arena?.release();
    for (const b of p.blocks) qw.runtime.heap.release(b);
    // layers this failed plan made are not kept
    for (const key of p.created) {
      layers.get(key)?.dispose();
      layers.delete(key);
    }
    throw e;
  }
}

/**
 * Runs one step of a plan whose arena is in wasm memory. Growth of that memory detaches the
 * arena's views: they are re-made before the step when it grew since the last one. A step
 * that hands an engine layer or op arena views (rather than addresses) can itself grow
 * memory on its first call (sizing its workspaces) after reading a view it then finds
 * detached: when a step fails and memory grew during it, it runs once more on fresh views,
 * its workspaces now sized (each step writes only its outputs, so running it twice is safe).
 */
function runStep(plan: Plan, s: Step): void {
  const arena = plan.arena;
  arena.refresh();
  const before = arena.buffer;
  try {
    s.run();
  } catch (e) {
    arena.refresh();
    if (arena.buffer === before) throw e;
    s.run();
  }
}

/** Resolves every input's shape from the options, the declared dims, or the feeds. */
function resolveShapes(
  decls: ValueDecl[],
  given: Record<string, readonly number[]> | undefined,
  feeds: Record<string, FeedTensor> | undefined,
): Map<string, readonly number[]> | null {
  const out = new Map<string, readonly number[]>();
  for (const d of decls) {
    const s = feeds?.[d.name]?.shape ?? given?.[d.name];
    if (s !== undefined) {
      if (d.dims !== null) {
        if (s.length !== d.dims.length) {
          throw new QwasmError(`inputs.${d.name}`, `has rank ${s.length}, the model declares [${d.dims.join(', ')}]`);
        }
        d.dims.forEach((dim, i) => {
          if (typeof dim === 'number' && dim !== s[i]) {
            throw new QwasmError(
              `inputs.${d.name}`,
              `has shape [${s.join(', ')}], the model declares [${d.dims!.join(', ')}]`,
            );
          }
        });
      }
      for (const v of s)
        if (!Number.isInteger(v) || v < 0) throw new QwasmError(`inputs.${d.name}`, `has an invalid dim ${v}`);
      out.set(d.name, [...s]);
      continue;
    }
    if (d.dims === null || d.dims.some((x) => typeof x !== 'number')) return null;
    out.set(d.name, d.dims as number[]);
  }
  return out;
}

/** Copies a caller's array into a plan input of dtype `dtype`. */
function copyFeed(dst: OnnxArray, src: FeedTensor['data'], dtype: OnnxDtype, name: string): void {
  const have = dtypeOfArray(src);
  if (have !== dtype && !(dtype === 'bool' && have === 'uint8')) {
    throw new QwasmError(`inputs.${name}`, `must be ${dtype} data, got ${have ?? typeof src}`);
  }
  if (src instanceof BigInt64Array) for (let i = 0; i < src.length; i++) dst[i] = Number(src[i]);
  else dst.set(src as never);
}

/**
 * An ONNX model planned onto qwasm's kernels: float32 (and already-quantized QDQ / QOperator
 * graphs), NHWC inside, weights packed once, intermediates in one liveness-planned arena.
 *
 * @example
 * ```ts
 * import { Qwasm } from 'qwasm';
 * import { OnnxModel } from 'qwasm/onnx';
 * const qw = await Qwasm.create();
 * const model = OnnxModel.load(qw, bytes, { inputShapes: { x: [1, 3, 160, 160] } });
 * const { [model.outputs[0]!.name]: y } = model.run({ x: { data: pixels, shape: [1, 3, 160, 160] } });
 * model.dispose();
 * ```
 */
export class OnnxModel {
  /** The graph after the load-time rewrites. */
  protected readonly graph: Graph;
  protected plan: Plan | null = null;
  /** Recent plans by input shapes (newest last): inputs that come back in a few shapes (text lines of a few widths) plan once each. */
  private readonly plans = new Map<string, Plan>();
  /** Packed layers shared by all plans. */
  private readonly layers = new Map<string, Disposable>();
  private disposed = false;
  private readonly lowerings: ReadonlyMap<string, Lowering>;
  private readonly context: QuantContext | null;
  /** What calibration found, for a model made by {@link OnnxModel.quantize}. */
  report: QuantizedReport | null = null;

  /** @internal Use {@link OnnxModel.load} or {@link OnnxModel.quantize}. */
  constructor(
    /** The engine the model runs on. */
    readonly qw: Qwasm,
    graph: Graph,
    /** @internal The standard-ONNX graph (before fusions) that export writes. */
    readonly standard: Graph,
    /** @internal Quantization of a QDQ / quantized model, null for float32. */
    readonly annotations: QuantAnnotations | null,
    private readonly inputShapes: Record<string, readonly number[]> | undefined,
  ) {
    this.graph = graph;
    this.context = annotations === null ? null : new QuantContext(annotations);
    this.lowerings = this.context === null ? ALL_LOWERINGS : quantizedLowerings(this.context, ALL_LOWERINGS);
  }

  /** @internal The fused graph the plans are made from. */
  get planGraph(): Graph {
    return this.graph;
  }

  /** @internal The input shapes given at load. */
  get loadShapes(): Record<string, readonly number[]> | undefined {
    return this.inputShapes;
  }

  /**
   * True for a model that runs int8 inside (quantized here, or a QDQ file).
   *
   * @example
   * ```ts
   * if (model.quantized) console.log('int8 inside');
   * ```
   */
  get quantized(): boolean {
    return this.annotations !== null && this.annotations.values.size > 0;
  }

  /**
   * Parses, rewrites and (when every input shape is known) plans a model.
   *
   * @example
   * ```ts
   * const model = OnnxModel.load(qw, fs.readFileSync('det.onnx'), { inputShapes: { x: [1, 3, 640, 640] } });
   * ```
   */
  static load(qw: Qwasm, bytes: Uint8Array, options: LoadOptions = {}): OnnxModel {
    try {
      return OnnxModel.loadChecked(qw, bytes, options);
    } catch (e) {
      if (e instanceof QwasmError) throw e;
      // a malformed file can still reach an engine limit or a JavaScript one (a RangeError
      // for an impossible size): it is the file that is wrong, and the engine stays usable
      throw new QwasmError('bytes', `could not be planned: ${(e as Error).message}`);
    }
  }

  private static loadChecked(qw: Qwasm, bytes: Uint8Array, options: LoadOptions): OnnxModel {
    const graph = parseModel(bytes);
    const ann = stripQdq(graph);
    // per-channel float chains between quantized values run as tables (before the rewrites fold them)
    if (ann !== null) fuseChannelTables(graph, ann);
    const standard = optimize(graph, options.fuse ?? true);
    expandChannelTables(standard);
    graph.nodes = topoSort(graph.nodes, graph.initializers, graph.inputs);
    const model = new OnnxModel(qw, graph, standard, ann, options.inputShapes);
    model.checkOps();
    model.planFor(undefined);
    return model;
  }

  /** Refuses, before any planning, op types this package does not run. */
  protected checkOps(): void {
    for (const n of this.graph.nodes) {
      const key = n.domain === '' ? n.opType : `${n.domain}.${n.opType}`;
      if (!this.lowerings.has(key))
        throw new QwasmError(`node '${n.name}' (${n.opType})`, `op type ${key} is not one qwasm/onnx runs`);
    }
  }

  /** Plans for the shapes of `feeds` (or the load options); keeps the plan while shapes repeat. */
  protected planFor(feeds: Record<string, FeedTensor> | undefined, observed = false): Plan | null {
    const shapes = resolveShapes(this.graph.inputs, this.inputShapes, feeds);
    if (shapes === null) {
      if (feeds !== undefined) throw new QwasmError('inputs', 'must give every input the model reads');
      return null;
    }
    // an observed float run (calibration) sees every value the graph names: its own plan, nothing
    // fused away (quantized plans fuse nothing of the kind)
    const unfused = observed && this.context === null;
    const key = [...shapes.values()].map((s) => s.join('x')).join(',') + (unfused ? ':observed' : '');
    if (this.plan !== null && this.plan.key === key) return this.plan;
    let plan = this.plans.get(key);
    if (plan === undefined) {
      plan = this.buildPlan(shapes, !unfused);
      plan.key = key;
      if (this.plans.size >= MAX_PLANS) {
        const [oldest, old] = this.plans.entries().next().value!;
        releasePlan(this.qw, old);
        this.plans.delete(oldest);
      }
    } else this.plans.delete(key);
    this.plans.set(key, plan);
    this.plan = plan;
    return plan;
  }

  /** @internal Plans now when every input shape is known (as load does). */
  planKnownShapes(): void {
    this.planFor(undefined);
  }

  /** Builds the plan for `shapes`. */
  protected buildPlan(shapes: Map<string, readonly number[]>, fuseEpilogues = true): Plan {
    return makePlan(this.qw, this.graph, shapes, this.lowerings, this.context, this.layers, fuseEpilogues);
  }

  /**
   * The model's inputs: name, declared shape (symbolic dims as strings) and element type.
   *
   * @example
   * ```ts
   * model.inputs; // [{ name: 'x', shape: ['batch', 3, 'h', 'w'], dtype: 'float32' }]
   * ```
   */
  get inputs(): ValueInfo[] {
    return this.graph.inputs.map((d) => ({ name: d.name, shape: d.dims ?? [], dtype: d.dtype }));
  }

  /**
   * The model's outputs, as {@link OnnxModel.inputs}.
   *
   * @example
   * ```ts
   * const name = model.outputs[0]!.name;
   * ```
   */
  get outputs(): ValueInfo[] {
    return this.graph.outputs.map((d) => ({ name: d.name, shape: d.dims ?? [], dtype: d.dtype }));
  }

  /**
   * Bytes of the intermediate arena of the current plan (its peak), 0 before a plan exists.
   *
   * @example
   * ```ts
   * console.log(`${(model.arenaBytes / 2 ** 20).toFixed(1)} MiB of intermediates`);
   * ```
   */
  get arenaBytes(): number {
    return this.plan?.arenaBytes ?? 0;
  }

  /**
   * The steps of the current plan: node name and what runs it (`ms` is 0; {@link OnnxModel.profile} times them).
   *
   * @example
   * ```ts
   * model.steps.filter((s) => s.op.startsWith('Conv')).length;
   * ```
   */
  get steps(): StepProfile[] {
    return (this.plan?.steps ?? []).map((s) => ({ node: s.node, op: s.op, ms: 0 }));
  }

  private live(): void {
    if (this.disposed) throw new QwasmError('model', 'has been disposed');
  }

  /**
   * Runs the model. Outputs are fresh arrays unless `outputs` gives arrays to fill (then the
   * call allocates nothing in steady state beyond what the engine ops it plans onto do).
   *
   * @example
   * ```ts
   * const y = model.run({ x: { data, shape: [1, 3, 48, 192] } });
   * ```
   */
  run(
    feeds: Record<string, FeedTensor>,
    outputs?: Record<string, { data: Float32Array | OnnxArray }>,
  ): Record<string, OnnxTensor> {
    this.live();
    const plan = this.start(feeds);
    for (const s of plan.steps) runStep(plan, s);
    plan.arena.refresh();
    return this.collect(plan, outputs);
  }

  /**
   * Runs the model once and times each step.
   *
   * @example
   * ```ts
   * const slowest = model.profile(feeds).sort((a, b) => b.ms - a.ms).slice(0, 5);
   * ```
   */
  profile(feeds: Record<string, FeedTensor>): StepProfile[] {
    this.live();
    const plan = this.start(feeds);
    const out: StepProfile[] = [];
    for (const s of plan.steps) {
      const t0 = performance.now();
      runStep(plan, s);
      out.push({ node: s.node, op: s.op, ms: performance.now() - t0 });
    }
    return out;
  }

  /**
   * @internal Runs the model and shows `visit` every value a step writes, right after the
   * step (before the arena reuses its memory).
   */
  runObserved(feeds: Record<string, FeedTensor>, visit: (v: Val) => void): void {
    this.live();
    const plan = this.start(feeds, true);
    // inputs first: the arena may reuse an input's memory once its last reader has run
    for (const v of plan.inputs.values()) {
      plan.arena.refresh();
      visit(v);
    }
    for (const s of plan.steps) {
      runStep(plan, s);
      for (const v of s.outs) {
        // an observer may itself grow wasm memory
        plan.arena.refresh();
        visit(v);
      }
    }
  }

  /**
   * Post-training static quantization: runs the float model over the calibration feeds,
   * observes each activation an int8 kernel will read or write, and returns a model that
   * runs int8 inside (float32 in and out).
   *
   * @example
   * ```ts
   * const q = await model.quantize({ calibration: [{ x: { data, shape: [1, 3, 160, 160] } }], observer: 'mse' });
   * const y = q.run({ x: { data, shape: [1, 3, 160, 160] } });
   * ```
   */
  async quantize(options: QuantizeOptions): Promise<OnnxModel> {
    this.live();
    const { quantizeModel } = await import('./quantize.js');
    return quantizeModel(this, options);
  }

  /**
   * Writes the model as ONNX: a QDQ model (QuantizeLinear / DequantizeLinear around the float
   * ops, per-channel int8 weights on axis 0, int32 biases) for a quantized model, the
   * standard float graph otherwise.
   *
   * @example
   * ```ts
   * fs.writeFileSync('model.int8.onnx', q.toOnnx());
   * ```
   */
  toOnnx(): Uint8Array {
    this.live();
    return exportQdq(this.standard, this.graph, this.annotations);
  }

  private start(feeds: Record<string, FeedTensor>, observed = false): Plan {
    if (typeof feeds !== 'object' || feeds === null)
      throw new QwasmError('inputs', 'must be a record of tensors by input name');
    const plan = this.planFor(feeds, observed)!;
    this.qw.runtime.live();
    plan.arena.refresh();
    for (const [name, v] of plan.inputs) {
      const f = feeds[name]!;
      if (f.data.length !== numel(v.shape)) {
        throw new QwasmError(
          `inputs.${name}`,
          `has ${f.data.length} values, shape [${v.shape.join(', ')}] needs ${numel(v.shape)}`,
        );
      }
      copyFeed(v.data!, f.data, v.dtype, name);
    }
    return plan;
  }

  private collect(plan: Plan, outputs?: Record<string, { data: OnnxArray }>): Record<string, OnnxTensor> {
    const res: Record<string, OnnxTensor> = {};
    plan.outputs.forEach((v, i) => {
      const name = this.graph.outputs[i]!.name;
      const given = outputs?.[name];
      let data: OnnxArray;
      if (given !== undefined) {
        if (given.data.length !== v.data!.length) {
          throw new QwasmError(`outputs.${name}`, `has ${given.data.length} values, the output has ${v.data!.length}`);
        }
        data = given.data;
        data.set(v.data as never);
      } else data = v.data!.slice();
      res[name] = { data, shape: v.shape, dtype: v.dtype };
    });
    return res;
  }

  /**
   * Frees the packed weights of the plan. The engine stays usable.
   *
   * @example
   * ```ts
   * model.dispose();
   * ```
   */
  dispose(): void {
    for (const l of this.layers.values()) l.dispose();
    this.layers.clear();
    for (const plan of this.plans.values()) releasePlan(this.qw, plan);
    this.plans.clear();
    this.plan = null;
    this.disposed = true;
  }
}
