// The layer form of QLinearConcat, for what a runtime calls per inference: the inputs'
// requantizing tables built once (a straight copy where an input's quantization equals the
// output's), the geometry resolved once per input shapes, workspaces reused, so
// `run([x0, x1, ...], out)` allocates nothing in steady state. Arithmetic: the op's
// (src/ops/concat.ts), bit for bit.
import { check } from '../errors.js';
import type { Runtime, Workspace } from '../runtime.js';
import { checkTensor, dtypeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray } from '../quant/dtype.js';
import { PAIRS_BYTES, PAIRS_MIN_CODES } from '../ops/lookup.js';
import { concatGeometry, requantTable, runConcatRows, type ConcatGeometry } from '../ops/concat.js';
import { Layer } from './layer.js';
import { checkOut, copyCodes, readConfig, readQuant, sameShape, type ElementwiseQuant } from './codes.js';

/**
 * Configuration of {@link Qwasm.concatLayer}: one quantization per input (their dtype is
 * inputs[0]'s), the output's, and the axis (default -1: the channels of an NHWC map).
 *
 * @example
 * ```ts
 * const cfg: ConcatLayerConfig = {
 *   inputs: [{ scale: 0.05, zeroPoint: 0 }, { scale: 0.04, zeroPoint: 3 }],
 *   output: { scale: 0.05, zeroPoint: 0 },
 * };
 * ```
 */
export interface ConcatLayerConfig {
  /** The quantization of each input, in the order `run` takes them (at least one). */
  inputs: readonly ElementwiseQuant[];
  /** The output quantization (its dtype is the inputs'). */
  output: ElementwiseQuant;
  /** The axis the inputs are joined along (default -1; negative counts from the end). */
  axis?: number;
}

/** One input's requantization: 0 for a straight copy, else its 256-entry table in wasm memory. */
interface InputTable {
  table: number;
  /** Its pair table, built the first time a shape has enough codes (0 until then). */
  pairs: number;
}

/**
 * A prepacked quantized concat (made by `qw.concatLayer`): int8 / uint8 tensors joined
 * along one axis, each requantized to the output's quantization as
 * {@link Qwasm.qlinearConcat} does.
 */
export class ConcatLayer extends Layer<readonly Tensor<Int8Array | Uint8Array>[], Tensor<Int8Array | Uint8Array>> {
  /** The input and output dtype. */
  readonly dtype: QuantDtype;
  /** How many inputs `run` takes. */
  readonly inputCount: number;
  private readonly axis: number;
  private readonly tables: InputTable[];
  private readonly xBufs: Workspace[];
  private readonly yBuf: Workspace;
  private readonly rec: number;
  private readonly srcs: number[];
  private readonly tablePtrs: number[];
  private readonly seen: (readonly number[] | null)[];
  private geo: ConcatGeometry | null = null;
  private count = 0;

  /** @internal Made by the engine (`qw.concatLayer(...)`), not by `new`. */
  constructor(rt: Runtime, config: ConcatLayerConfig) {
    rt.live();
    const cfg = readConfig(config, 'config', 'an object { inputs, output, axis? }');
    check(
      Array.isArray(cfg.inputs) && cfg.inputs.length > 0,
      'inputs',
      'expected an array of at least one quantization',
    );
    const first = readQuant(cfg.inputs[0], 'inputs[0]');
    const quants = cfg.inputs.map((q, i) => (i === 0 ? first : readQuant(q, `inputs[${i}]`, first.dtype)));
    const y = readQuant(cfg.output, 'output', first.dtype);
    const axis = cfg.axis ?? -1;
    check(typeof axis === 'number' && Number.isInteger(axis), 'axis', `must be an integer, got ${String(axis)}`);
    super(rt);
    this.dtype = first.dtype;
    this.inputCount = quants.length;
    this.axis = axis;
    this.xBufs = quants.map(() => this.workspace());
    this.yBuf = this.workspace();
    this.rec = rt.heap.alloc(12 * quants.length);
    this.blocks.push(this.rec);
    this.tables = quants.map((q) => {
      if (q.s === y.s && q.z === y.z) return { table: 0, pairs: 0 };
      const table = rt.heap.alloc(256);
      this.blocks.push(table);
      rt.heap.u8.set(requantTable(first.dtype, q.s, q.z, y.s, y.z), table);
      return { table, pairs: 0 };
    });
    this.srcs = quants.map(() => 0);
    this.tablePtrs = quants.map(() => 0);
    this.seen = quants.map(() => null);
  }

  protected start(
    xs: readonly Tensor<Int8Array | Uint8Array>[],
    out?: Tensor<Int8Array | Uint8Array>,
  ): Tensor<Int8Array | Uint8Array> {
    this.live();
    this.count = 0;
    const k = this.inputCount;
    check(Array.isArray(xs) && xs.length === k, 'x', `expected an array of ${k} tensors`);
    let changed = this.geo === null;
    for (let i = 0; i < k; i++) {
      const t = xs[i]!;
      checkTensor(t, `x[${i}]`);
      check(dtypeOf(t.data, `x[${i}]`) === this.dtype, `x[${i}]`, `must be ${this.dtype}`);
      if (!sameShape(t.shape, this.seen[i]!)) changed = true;
    }
    if (changed) this.plan(xs);
    const geo = this.geo!;
    const count = geo.outer * geo.total;
    let y: Tensor<Int8Array | Uint8Array>;
    if (out !== undefined && out !== null) {
      checkOut(out, this.dtype, count);
      y = out;
    } else y = { data: newQuantArray(this.dtype, count), shape: geo.shape };
    if (count === 0) return y;
    this.count = count;
    for (let i = 0; i < k; i++) {
      const data = xs[i]!.data;
      if (data.length === 0) {
        this.srcs[i] = 0;
        continue;
      }
      const p = this.xBufs[i]!.ensure(data.length, `x[${i}]`);
      copyCodes(this.rt, data, p);
      this.srcs[i] = p;
    }
    const po = this.yBuf.ensure(count, 'x');
    runConcatRows(this.rt, this.rec, this.srcs, geo.runs, this.tablePtrs, geo.outer, po, geo.total);
    return y;
  }

  /** Resolves new input shapes: the geometry, and the table each input reads at their size. */
  private plan(xs: readonly Tensor<Int8Array | Uint8Array>[]): void {
    const geo = concatGeometry(xs as Tensor[], { axis: this.axis }, 'x', 'axis');
    for (let i = 0; i < this.inputCount; i++) {
      const t = this.tables[i]!;
      const codes = geo.outer * geo.runs[i]!;
      if (t.table !== 0 && codes >= PAIRS_MIN_CODES && t.pairs === 0) {
        t.pairs = this.rt.heap.alloc(PAIRS_BYTES, `x[${i}]`);
        this.blocks.push(t.pairs);
        this.rt.kernels.lookup_pairs_build(t.table, t.pairs);
      }
      this.tablePtrs[i] = t.table === 0 ? 0 : codes >= PAIRS_MIN_CODES ? t.pairs + 1 : t.table;
      this.seen[i] = [...xs[i]!.shape];
    }
    this.geo = geo;
  }

  /**
   * @internal The concat of inputs already in wasm memory, no copies: `xs` (views of them,
   * for their shapes) at addresses `ptrs`, the result at po. Plans when a shape differs from
   * the last call's (validating the inputs then); otherwise validates and allocates nothing.
   * For qwasm/onnx's plans, whose arena is in wasm memory.
   */
  runAt(xs: readonly Tensor<Int8Array | Uint8Array>[], ptrs: readonly number[], po: number): void {
    let changed = this.geo === null;
    for (let i = 0; i < this.inputCount; i++) if (!sameShape(xs[i]!.shape, this.seen[i]!)) changed = true;
    if (changed) {
      check(Array.isArray(xs) && xs.length === this.inputCount, 'x', `expected an array of ${this.inputCount} tensors`);
      for (let i = 0; i < xs.length; i++) {
        checkTensor(xs[i]!, `x[${i}]`);
        check(dtypeOf(xs[i]!.data, `x[${i}]`) === this.dtype, `x[${i}]`, `must be ${this.dtype}`);
      }
      this.plan(xs);
    }
    const geo = this.geo!;
    if (geo.outer * geo.total === 0) return;
    runConcatRows(this.rt, this.rec, ptrs, geo.runs, this.tablePtrs, geo.outer, po, geo.total);
  }

  protected collect(y: Tensor<Int8Array | Uint8Array>): Tensor<Int8Array | Uint8Array> {
    if (this.count === 0) return y;
    if (this.dtype === 'int8') (y.data as Int8Array).set(this.yBuf.view(Int8Array, this.count));
    else (y.data as Uint8Array).set(this.yBuf.view(Uint8Array, this.count));
    return y;
  }
}
