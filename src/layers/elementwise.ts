// Layer forms of the int8 elementwise ops, for what a runtime calls per inference: the
// quantization resolved once into kernel constants, a constant operand (a residual's
// bias map, a squeeze-excite's fixed gate) copied into wasm memory once, tables built
// once; `run(x, out)` reuses its workspaces and allocates nothing in steady state.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, sizeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray } from '../quant/dtype.js';
import { checkOut, copyCodes, readConfig, readQuant, sameShape, type ElementwiseQuant } from './codes.js';
import { forEachOuter, planBroadcast, type BroadcastPlan } from '../ops/broadcast.js';
import { qbinaryParams, runQBinaryAt, type BinaryOp, type QBinaryParams } from '../ops/elementwise.js';
import { PAIRS_BYTES, tableFor, type LookupFunction } from '../ops/lookup.js';
import { Layer } from './layer.js';
import type { Workspace } from '../runtime.js';

export type { ElementwiseQuant } from './codes.js';

/**
 * Configuration of {@link Qwasm.addLayer} / {@link Qwasm.mulLayer}.
 *
 * @example
 * ```ts
 * const cfg: BinaryLayerConfig = {
 *   a: { scale: 0.05, zeroPoint: 0 }, b: { scale: 1 / 255, zeroPoint: -128 },
 *   output: { scale: 0.05, zeroPoint: 0 },
 *   constant: { data: gate, shape: [1, 1, 1, 40] },
 * };
 * ```
 */
export interface BinaryLayerConfig {
  /** The quantization of the first operand (its dtype is the layer's). */
  a: ElementwiseQuant;
  /** The quantization of the second operand. */
  b: ElementwiseQuant;
  /** The output quantization (the dtype is a's). */
  output: ElementwiseQuant;
  /** 'relu' fuses a ReLU (the output clamped at its zero point); default 'none'. */
  activation?: 'none' | 'relu';
  /** A constant second operand, copied into wasm memory once; then `run(a)` takes a alone. */
  constant?: Tensor<Int8Array | Uint8Array>;
}

/**
 * The input of a binary layer: [a, b], or a alone when the layer holds b as its constant.
 *
 * @example
 * ```ts
 * const x: BinaryLayerInput = [{ data: a, shape: [1, 56, 56, 24] }, { data: b, shape: [1, 56, 56, 24] }];
 * ```
 */
export type BinaryLayerInput =
  Tensor<Int8Array | Uint8Array> | readonly [Tensor<Int8Array | Uint8Array>, Tensor<Int8Array | Uint8Array>];

/** A prepacked quantized add or mul (made by `qw.addLayer` / `qw.mulLayer`). */
export class QLinearBinaryLayer extends Layer<BinaryLayerInput, Tensor<Int8Array | Uint8Array>> {
  /** The input and output dtype. */
  readonly dtype: QuantDtype;
  private readonly params: QBinaryParams;
  private readonly constPtr: number;
  private readonly constShape: number[] | null;
  private readonly aBuf: Workspace;
  private readonly bBuf: Workspace;
  private readonly yBuf: Workspace;
  private plan: BroadcastPlan | null = null;
  private aShape: readonly number[] | null = null;
  private bShape: readonly number[] | null = null;
  private count = 0;

  /** @internal Made by the engine (`qw.addLayer(...)`, `qw.mulLayer(...)`), not by `new`. */
  constructor(rt: Runtime, op: BinaryOp, config: BinaryLayerConfig) {
    rt.live();
    const cfg = readConfig(config, 'config', 'an object { a, b, output }');
    const a = readQuant(cfg.a, 'a');
    const b = readQuant(cfg.b, 'b', a.dtype);
    const y = readQuant(cfg.output, 'output', a.dtype);
    const act = cfg.activation ?? 'none';
    check(act === 'none' || act === 'relu', 'activation', `must be 'none' or 'relu', got ${String(act)}`);
    let constant: Tensor<Int8Array | Uint8Array> | null = null;
    if (cfg.constant !== undefined) {
      checkTensor(cfg.constant, 'constant');
      check(dtypeOf(cfg.constant.data, 'constant') === a.dtype, 'constant', `must be ${a.dtype}`);
      constant = cfg.constant as Tensor<Int8Array | Uint8Array>;
    }
    super(rt);
    this.dtype = a.dtype;
    this.params = qbinaryParams(op, a.dtype, a.s, a.z, b.s, b.z, y.s, y.z, act);
    this.aBuf = this.workspace();
    this.bBuf = this.workspace();
    this.yBuf = this.workspace();
    this.constShape = constant === null ? null : [...constant.shape];
    this.constPtr = 0;
    if (constant !== null) {
      this.constPtr = rt.heap.alloc(constant.data.length, 'constant');
      this.blocks.push(this.constPtr);
      copyCodes(rt, constant.data, this.constPtr);
    }
  }

  protected start(x: BinaryLayerInput, out?: Tensor<Int8Array | Uint8Array>): Tensor<Int8Array | Uint8Array> {
    this.live();
    this.count = 0;
    let a: Tensor<Int8Array | Uint8Array>;
    let b: Tensor<Int8Array | Uint8Array> | null = null;
    if (this.constShape === null) {
      check(Array.isArray(x) && x.length === 2, 'x', 'expected [a, b]');
      a = (x as readonly Tensor<Int8Array | Uint8Array>[])[0]!;
      b = (x as readonly Tensor<Int8Array | Uint8Array>[])[1]!;
      checkTensor(b, 'b');
      check(dtypeOf(b.data, 'b') === this.dtype, 'b', `must be ${this.dtype}`);
    } else a = x as Tensor<Int8Array | Uint8Array>;
    checkTensor(a, 'a');
    check(dtypeOf(a.data, 'a') === this.dtype, 'a', `must be ${this.dtype}`);
    const bShape = b === null ? this.constShape! : b.shape;
    if (!sameShape(a.shape, this.aShape) || !sameShape(bShape, this.bShape)) {
      this.plan = planBroadcast(a.shape, bShape);
      this.aShape = [...a.shape];
      this.bShape = [...bShape];
    }
    const plan = this.plan!;
    let y: Tensor<Int8Array | Uint8Array>;
    if (out !== undefined) {
      checkOut(out, this.dtype, plan.size);
      y = out;
    } else y = { data: newQuantArray(this.dtype, plan.size), shape: plan.shape };
    if (plan.size === 0) return y;
    this.count = plan.size;
    const pa = this.aBuf.ensure(a.data.length, 'a');
    copyCodes(this.rt, a.data, pa);
    let pb = this.constPtr;
    if (b !== null) {
      pb = this.bBuf.ensure(b.data.length, 'b');
      copyCodes(this.rt, b.data, pb);
    }
    const po = this.yBuf.ensure(plan.size, 'a');
    const p = this.params;
    if (plan.outer.length === 0) runQBinaryAt(this.rt, p, plan, pa, pb, po);
    else forEachOuter(plan, (oa, ob, oo) => runQBinaryAt(this.rt, p, plan, pa + oa, pb + ob, po + oo));
    return y;
  }

  protected collect(y: Tensor<Int8Array | Uint8Array>): Tensor<Int8Array | Uint8Array> {
    if (this.count === 0) return y;
    if (this.dtype === 'int8') (y.data as Int8Array).set(this.yBuf.view(Int8Array, this.count));
    else (y.data as Uint8Array).set(this.yBuf.view(Uint8Array, this.count));
    return y;
  }

  /**
   * @internal The op on codes already in wasm memory, no copies: a of `aShape` at pa, b of
   * `bShape` at pb (the layer's constant when it has one: pb is then ignored), the result at
   * po. Broadcasting is planned when the shapes differ from the last call's; nothing else is
   * validated or allocated. For qwasm/onnx's plans, whose arena is in wasm memory.
   */
  runAt(aShape: readonly number[], bShape: readonly number[], pa: number, pb: number, po: number): void {
    const bs = this.constShape ?? bShape;
    if (!sameShape(aShape, this.aShape) || !sameShape(bs, this.bShape)) {
      this.plan = planBroadcast(aShape, bs);
      this.aShape = [...aShape];
      this.bShape = [...bs];
    }
    const plan = this.plan!;
    if (plan.size === 0) return;
    const b = this.constShape === null ? pb : this.constPtr;
    const p = this.params;
    if (plan.outer.length === 0) runQBinaryAt(this.rt, p, plan, pa, b, po);
    else forEachOuter(plan, (oa, ob, oo) => runQBinaryAt(this.rt, p, plan, pa + oa, b + ob, po + oo));
  }
}

/**
 * Configuration of {@link Qwasm.lookupLayer}.
 *
 * @example
 * ```ts
 * const cfg: LookupLayerConfig = {
 *   fn: (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
 *   input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.04, zeroPoint: -20 },
 * };
 * ```
 */
export interface LookupLayerConfig {
  /** The function on real values, or a ready table of 256 codes indexed by the input byte. */
  fn: LookupFunction;
  /** The input quantization (its dtype is the layer's). */
  input: ElementwiseQuant;
  /** The output quantization. */
  output: ElementwiseQuant;
}

/** A unary function of int8 / uint8 codes through a table built once (made by `qw.lookupLayer`). */
export class LookupLayer extends Layer<Tensor<Int8Array | Uint8Array>, Tensor<Int8Array | Uint8Array>> {
  /** The input and output dtype. */
  readonly dtype: QuantDtype;
  /** The 256 output codes, indexed by the input byte. */
  readonly table: Uint8Array;
  private readonly tablePtr: number;
  private readonly xBuf: Workspace;
  private readonly yBuf: Workspace;
  private count = 0;

  /** @internal Made by the engine (`qw.lookupLayer(...)`), not by `new`. */
  constructor(rt: Runtime, config: LookupLayerConfig) {
    rt.live();
    const cfg = readConfig(config, 'config', 'an object { fn, input, output }');
    const x = readQuant(cfg.input, 'input');
    const y = readQuant(cfg.output, 'output', x.dtype);
    const table = tableFor(cfg.fn, { dtype: x.dtype, sx: x.s, zx: x.z, sy: y.s, zy: y.z });
    super(rt);
    this.dtype = x.dtype;
    this.table = table;
    this.xBuf = this.workspace();
    this.yBuf = this.workspace();
    // the 256-entry table and, built from it once, the pair table the kernel reads
    this.tablePtr = rt.heap.alloc(PAIRS_BYTES + 256, 'fn');
    this.blocks.push(this.tablePtr);
    rt.heap.u8.set(table, this.tablePtr + PAIRS_BYTES);
    rt.kernels.lookup_pairs_build(this.tablePtr + PAIRS_BYTES, this.tablePtr);
  }

  protected start(
    x: Tensor<Int8Array | Uint8Array>,
    out?: Tensor<Int8Array | Uint8Array>,
  ): Tensor<Int8Array | Uint8Array> {
    this.live();
    this.count = 0;
    checkTensor(x, 'x');
    check(dtypeOf(x.data, 'x') === this.dtype, 'x', `must be ${this.dtype}`);
    const n = sizeOf(x.shape);
    let y: Tensor<Int8Array | Uint8Array>;
    if (out !== undefined) {
      checkOut(out, this.dtype, n);
      y = out;
    } else y = { data: newQuantArray(this.dtype, n), shape: [...x.shape] };
    if (n === 0) return y;
    this.count = n;
    const px = this.xBuf.ensure(n, 'x');
    const po = this.yBuf.ensure(n, 'x');
    copyCodes(this.rt, x.data, px);
    this.rt.kernels.lookup_u8_pairs(px, n, n, 1, this.tablePtr, po, n);
    return y;
  }

  protected collect(y: Tensor<Int8Array | Uint8Array>): Tensor<Int8Array | Uint8Array> {
    if (this.count === 0) return y;
    if (this.dtype === 'int8') (y.data as Int8Array).set(this.yBuf.view(Int8Array, this.count));
    else (y.data as Uint8Array).set(this.yBuf.view(Uint8Array, this.count));
    return y;
  }

  /**
   * @internal The table applied to `n` codes already in wasm memory (at px, into po; the two
   * may be the same address), no copies, nothing validated. For qwasm/onnx's plans.
   */
  runAt(n: number, px: number, po: number): void {
    if (n > 0) this.rt.kernels.lookup_u8_pairs(px, n, n, 1, this.tablePtr, po, n);
  }
}
