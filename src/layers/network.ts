// Layer forms of the network ops, NHWC: pooling, resize and transposed convolution. The
// attributes are resolved once per input shape (window or coordinate tables written to
// wasm memory, transposed-conv weights packed at construction), the buffers are
// workspaces grown to the largest shape seen, so a steady run of calls with `out`
// allocates nothing. Arithmetic and rounding are the ops' (src/ops/pool.ts, resize.ts,
// conv-transpose.ts), bit for bit.
import { check } from '../errors.js';
import type { Runtime, Workspace } from '../runtime.js';
import { Layer } from './layer.js';
import { checkTensor, dtypeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray, dtypeRange } from '../quant/dtype.js';
import { resolveScale, resolveZeroPoint, type Scale } from '../quant/params.js';
import type { Requant } from '../ops/epilogue.js';
import { checkAccumulation, maxCentred } from '../ops/gemm.js';
import {
  globalPoolMultiplier,
  resolvePool,
  type AveragePoolAttributes,
  type MaxPoolAttributes,
  type PoolGeometry,
} from '../ops/pool.js';
import { resolveResize, type ResizeAttributes, type ResizeGeometry } from '../ops/resize.js';
import {
  ConvTransposePlan,
  resolveConvTranspose,
  type ConvTransposeAttributes,
  type ConvTransposeGeometry,
} from '../ops/conv-transpose.js';
import type { QuantSpec } from './linear.js';

/**
 * The maps the network layers take and return: NHWC int8, uint8 or float32 tensors.
 *
 * @example
 * ```ts
 * const x: MapTensor = { data: new Int8Array(1 * 40 * 40 * 96), shape: [1, 40, 40, 96] };
 * ```
 */
export type MapTensor = Tensor<Int8Array | Uint8Array | Float32Array>;

/** The dtype name of a map's data. */
function mapDtype(x: Tensor): QuantDtype | 'float32' {
  return x.data instanceof Float32Array ? 'float32' : dtypeOf(x.data, 'x');
}

/** A new output tensor of `shape` and dtype, or `out` checked against them. */
function outputFor(out: MapTensor | undefined, dtype: QuantDtype | 'float32', shape: readonly number[]): MapTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (out === undefined) return { data: dtype === 'float32' ? new Float32Array(n) : newQuantArray(dtype, n), shape };
  checkTensor(out, 'out');
  check(mapDtype(out) === dtype, 'out', `must hold ${dtype} like x`);
  check(out.data.length === n, 'out', `must hold ${n} elements (shape [${shape.join(', ')}]), got ${out.data.length}`);
  return out;
}

/** Same dims? Compared without allocating. */
function sameShape(a: readonly number[] | null, b: readonly number[]): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The part every map layer shares: x copied into a workspace, per-shape tables in another,
 * the result in a third, copied out by `collect`.
 */
abstract class MapLayer extends Layer<MapTensor, MapTensor> {
  protected readonly xBuf: Workspace;
  protected readonly tBuf: Workspace;
  protected readonly yBuf: Workspace;
  private seen: readonly number[] | null = null;
  private outCount = 0;
  private outBytes = 1;

  constructor(rt: Runtime) {
    super(rt);
    this.xBuf = this.workspace();
    this.tBuf = this.workspace();
    this.yBuf = this.workspace();
  }

  /** Resolves a new input shape (tables into tBuf); returns the output shape. */
  protected abstract plan(x: MapTensor, dtype: QuantDtype | 'float32'): readonly number[];
  /** Runs the kernel on x at xp into yp. */
  protected abstract compute(xp: number, yp: number, dtype: QuantDtype | 'float32'): void;

  private outShape: readonly number[] = [];
  private planned: QuantDtype | 'float32' | null = null;

  protected start(x: MapTensor, out?: MapTensor): MapTensor {
    this.live();
    checkTensor(x, 'x');
    const dtype = mapDtype(x);
    this.planShape(x, dtype);
    const y = outputFor(out, dtype, this.outShape);
    if (this.outCount === 0) return y;
    const es = this.outBytes;
    const xp = this.xBuf.ensure(x.data.length * es, 'x');
    const yp = this.yBuf.ensure(this.outCount * es, 'x');
    if (es === 4) this.rt.heap.f32.set(x.data as Float32Array, xp >> 2);
    else this.rt.heap.u8.set(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.length), xp);
    this.compute(xp, yp, dtype);
    return y;
  }

  /** Plans for x's shape and dtype when they are not the ones planned last. */
  private planShape(x: MapTensor, dtype: QuantDtype | 'float32'): void {
    if (sameShape(this.seen, x.shape) && this.planned === dtype) return;
    check(x.shape.length === 4, 'x', `must be 4-D NHWC, got shape [${x.shape.join(', ')}]`);
    this.outShape = Object.freeze(this.plan(x, dtype));
    this.seen = Object.freeze([...x.shape]);
    this.planned = dtype;
    this.outBytes = dtype === 'float32' ? 4 : 1;
    this.outCount = this.outShape.reduce((a, b) => a * b, 1);
  }

  /**
   * @internal Runs on a map already in wasm memory, no copies: x (a view of the map, for its
   * shape and dtype) at address xp into yp, which holds the output's elements. Plans when the
   * shape or dtype differs from the last call's (a layer shared by qwasm/onnx plans of
   * several input shapes); otherwise validates and allocates nothing.
   */
  runAt(x: MapTensor, xp: number, yp: number): void {
    const dtype = mapDtype(x);
    this.planShape(x, dtype);
    if (this.outCount > 0) this.compute(xp, yp, dtype);
  }

  protected collect(y: MapTensor): MapTensor {
    if (this.outCount === 0) return y;
    const yp = this.yBuf.ptr;
    if (y.data instanceof Float32Array) y.data.set(this.yBuf.view(Float32Array, this.outCount));
    else if (y.data instanceof Int8Array) y.data.set(this.yBuf.view(Int8Array, this.outCount));
    else y.data.set(this.rt.heap.u8.subarray(yp, yp + this.outCount));
    return y;
  }

  /** Writes int32 tables into the table workspace. */
  protected writeTables(t: Int32Array): number {
    const p = this.tBuf.ensure(t.length * 4);
    this.rt.heap.i32.set(t, p >> 2);
    return p;
  }
}

/**
 * Configuration of {@link Qwasm.maxPool2d}: MaxPool's window attributes (NHWC).
 *
 * @example
 * ```ts
 * const cfg: MaxPool2dConfig = { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
 * ```
 */
export type MaxPool2dConfig = Omit<MaxPoolAttributes, 'layout'>;

/**
 * A max-pooling layer over NHWC maps, int8, uint8 or float32 (the output in x's dtype);
 * the windows resolved once per input shape.
 *
 * @example
 * ```ts
 * const pool = qw.maxPool2d({ kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
 * const y = pool.run({ data: x, shape: [1, 112, 112, 64] }); // shape [1, 56, 56, 64]
 * pool.dispose();
 * ```
 */
export class MaxPool2d extends MapLayer {
  private readonly attrs: MaxPoolAttributes;
  private geo: PoolGeometry | null = null;
  private tables = 0;

  /** @internal Made by the engine (`qw.maxPool2d(...)`), not by `new`. */
  constructor(rt: Runtime, config: MaxPool2dConfig) {
    rt.live();
    check(typeof config === 'object' && config !== null, 'config', 'expected an object');
    super(rt);
    this.attrs = { ...config, layout: 'NHWC' };
  }

  protected plan(x: MapTensor, dtype: QuantDtype | 'float32'): readonly number[] {
    const geo = resolvePool(x, this.attrs, '', 'clipped', true, dtype === 'float32' ? 4 : 1);
    this.geo = geo;
    this.tables = this.writeTables(geo.tables);
    const o = geo.output;
    return [o.N, o.H, o.W, o.C];
  }

  protected compute(xp: number, yp: number, dtype: QuantDtype | 'float32'): void {
    const g = this.geo!;
    const { N, H, W, C } = g.input;
    const cols = this.tables + 12 * g.output.H;
    const k = this.rt.kernels;
    if (dtype === 'float32') k.pool_max_f32(xp, N, H, W, C, g.output.H, g.output.W, this.tables, cols, g.dH, g.dW, yp);
    else
      k.pool_max_q8(
        xp,
        N,
        H,
        W,
        C,
        g.output.H,
        g.output.W,
        this.tables,
        cols,
        g.dH,
        g.dW,
        dtype === 'int8' ? 1 : 0,
        yp,
      );
  }
}

/**
 * Configuration of {@link Qwasm.averagePool2d}: QLinearAveragePool's window attributes
 * (NHWC) and the quantization of input and output, or `global: true` for
 * QLinearGlobalAveragePool (output [N, 1, 1, C]; window attributes not used).
 *
 * @example
 * ```ts
 * const cfg: AveragePool2dConfig = { global: true, input: { scale: 0.05, zeroPoint: -128 }, output: { scale: 0.02, zeroPoint: -128 } };
 * ```
 */
export interface AveragePool2dConfig extends Partial<Omit<AveragePoolAttributes, 'layout'>> {
  /** Average over the whole map (QLinearGlobalAveragePool). */
  global?: boolean;
  /** Quantization of the input; its dtype (int8 by default) is the output's too. */
  input: QuantSpec;
  /** Quantization of the output, in the input's dtype. */
  output: Omit<QuantSpec, 'dtype'>;
}

/**
 * An int8 / uint8 average-pooling layer over NHWC maps with onnxruntime's arithmetic
 * (see {@link Qwasm.qlinearAveragePool}); windows resolved once per input shape.
 *
 * @example
 * ```ts
 * const gap = qw.averagePool2d({ global: true, input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.02, zeroPoint: 0 } });
 * const y = gap.run({ data: x, shape: [1, 7, 7, 1280] }); // shape [1, 1, 1, 1280]
 * ```
 */
export class AveragePool2d extends MapLayer {
  private readonly attrs: AveragePoolAttributes;
  private readonly global: boolean;
  private readonly dtype: QuantDtype;
  private readonly xs: number;
  private readonly xz: number;
  private readonly ys: number;
  private readonly yz: number;
  private geo: PoolGeometry | null = null;
  private tables = 0;

  /** @internal Made by the engine (`qw.averagePool2d(...)`), not by `new`. */
  constructor(rt: Runtime, config: AveragePool2dConfig) {
    rt.live();
    check(typeof config === 'object' && config !== null, 'config', 'expected an object');
    check(typeof config.input === 'object' && config.input !== null, 'input', 'expected { scale, zeroPoint }');
    check(typeof config.output === 'object' && config.output !== null, 'output', 'expected { scale, zeroPoint }');
    const dtype = config.input.dtype ?? 'int8';
    check(dtype === 'int8' || dtype === 'uint8', 'input.dtype', `must be 'int8' or 'uint8', got ${String(dtype)}`);
    const xs = resolveScale(config.input.scale, 'input.scale')[0]!;
    const xz = resolveZeroPoint(config.input.zeroPoint, 'input.zeroPoint', dtype)[0]!;
    const ys = resolveScale(config.output.scale, 'output.scale')[0]!;
    const yz = resolveZeroPoint(config.output.zeroPoint, 'output.zeroPoint', dtype)[0]!;
    super(rt);
    this.global = config.global === true;
    this.attrs = { ...config, kernelShape: config.kernelShape ?? [1, 1], layout: 'NHWC' };
    this.dtype = dtype;
    this.xs = xs;
    this.xz = xz;
    this.ys = ys;
    this.yz = yz;
  }

  protected plan(x: MapTensor, dtype: QuantDtype | 'float32'): readonly number[] {
    check(dtype === this.dtype, 'x', `must be ${this.dtype} (input.dtype), got ${dtype}`);
    const [N, H, W, C] = x.shape as [number, number, number, number];
    const attrs = this.global ? { kernelShape: [H, W], layout: 'NHWC' as const } : this.attrs;
    const count = this.attrs.countIncludePad === true || this.attrs.countIncludePad === 1 ? 'kernel' : 'clipped';
    const geo = resolvePool(x, attrs, '', count, false, 1);
    check(!geo.global || H * W < 2 ** 23, 'x', `has ${H * W} pixels per map, more than ${2 ** 23}`);
    this.geo = geo;
    this.tables = this.writeTables(geo.tables);
    return [N, geo.output.H, geo.output.W, C];
  }

  protected compute(xp: number, yp: number): void {
    const g = this.geo!;
    const { N, H, W, C } = g.input;
    const { qmin, qmax } = dtypeRange(this.dtype);
    const signed = this.dtype === 'int8' ? 1 : 0;
    const k = this.rt.kernels;
    if (g.global) {
      const m = globalPoolMultiplier(this.xs, this.ys, H * W);
      k.pool_global_avg_q8(xp, N, H * W, C, signed, m, -this.xz * H * W, this.yz, qmin, qmax, yp);
      return;
    }
    const cols = this.tables + 12 * g.output.H;
    k.pool_avg_q8(
      xp,
      N,
      H,
      W,
      C,
      g.output.H,
      g.output.W,
      this.tables,
      cols,
      signed,
      this.xs,
      this.xz,
      this.ys,
      this.yz,
      qmin,
      qmax,
      yp,
    );
  }
}

/**
 * Configuration of {@link Qwasm.resize2d}: Resize's attributes (NHWC; scales or sizes of
 * four values [N, H, W, C] or two [H, W]).
 *
 * @example
 * ```ts
 * const cfg: Resize2dConfig = { scales: [2, 2], mode: 'linear' };
 * ```
 */
export type Resize2dConfig = Omit<ResizeAttributes, 'layout'>;

/**
 * A resize layer over NHWC maps, int8, uint8 or float32 (see {@link Qwasm.resize}); the
 * coordinate tables computed once per input shape.
 *
 * @example
 * ```ts
 * const up = qw.resize2d({ scales: [2, 2], mode: 'nearest' });
 * const y = up.run({ data: x, shape: [1, 40, 40, 96] }); // shape [1, 80, 80, 96]
 * ```
 */
export class Resize2d extends MapLayer {
  private readonly attrs: ResizeAttributes;
  private geo: ResizeGeometry | null = null;
  private tables = 0;

  /** @internal Made by the engine (`qw.resize2d(...)`), not by `new`. */
  constructor(rt: Runtime, config: Resize2dConfig) {
    rt.live();
    check(typeof config === 'object' && config !== null, 'config', 'expected an object');
    super(rt);
    this.attrs = { ...config, layout: 'NHWC' };
  }

  protected plan(x: MapTensor, dtype: QuantDtype | 'float32'): readonly number[] {
    const geo = resolveResize(x, this.attrs, dtype === 'float32' ? 4 : 1);
    this.geo = geo;
    this.tables = this.writeTables(geo.tables.length > 0 ? geo.tables : new Int32Array(1));
    const o = geo.output;
    return [o.N, o.H, o.W, o.C];
  }

  protected compute(xp: number, yp: number, dtype: QuantDtype | 'float32'): void {
    const g = this.geo!;
    const { N, H, W, C } = g.input;
    const { H: OH, W: OW } = g.output;
    const cols = this.tables + (g.linear ? 16 : 4) * OH;
    const k = this.rt.kernels;
    if (!g.linear) k.resize_nearest(xp, N, H, W, C * (dtype === 'float32' ? 4 : 1), OH, OW, this.tables, cols, yp);
    else if (dtype === 'float32') k.resize_linear_f32(xp, N, H, W, C, OH, OW, this.tables, cols, yp);
    else k.resize_linear_q8(xp, N, H, W, C, OH, OW, this.tables, cols, dtype === 'int8' ? 1 : 0, yp);
  }
}

/**
 * Configuration of {@link Qwasm.convTranspose2d}: int8 weights [C, kH, kW, M/group]
 * (NHWC order), their scale (per tensor or per output channel) and zero point, an int32
 * bias of scale inputScale * weightScale, the input / output quantization and the
 * attributes of ConvTranspose.
 *
 * @example
 * ```ts
 * const cfg: ConvTranspose2dConfig = {
 *   weights: { data: w, shape: [96, 2, 2, 96] }, weightScale: 0.01, strides: [2, 2],
 *   input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.1, zeroPoint: 0 },
 * };
 * ```
 */
export interface ConvTranspose2dConfig extends Omit<ConvTransposeAttributes, 'layout'> {
  /** Weights [C, kH, kW, M/group], int8. */
  weights: Tensor<Int8Array>;
  /** Per tensor, or per output channel (M values). */
  weightScale: Scale;
  /** 0 (symmetric) by default. */
  weightZeroPoint?: number;
  /** int32 bias [M] with scale inputScale * weightScale. */
  bias?: Int32Array;
  /** Quantization of the input; its dtype (int8 by default) is the output's too. */
  input: QuantSpec;
  /** Quantization of the output, in the input's dtype. */
  output: Omit<QuantSpec, 'dtype'>;
  /** 'fp32' (default) or 'fixedpoint'. */
  requant?: Requant;
}

/**
 * A prepacked int8 transposed-convolution layer over NHWC maps of one input shape (given
 * by the first call; a new shape re-plans, packing the weights again): the same plan as
 * {@link Qwasm.qlinearConvTranspose}.
 *
 * @example
 * ```ts
 * const up = qw.convTranspose2d({ weights: { data: w, shape: [96, 2, 2, 96] }, weightScale: 0.01, strides: [2, 2],
 *   input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.1, zeroPoint: 0 } });
 * const y = up.run({ data: x, shape: [1, 160, 160, 96] }); // Int8Array, shape [1, 320, 320, 96]
 * up.dispose();
 * ```
 */
export class ConvTranspose2d extends MapLayer {
  private readonly config: ConvTranspose2dConfig;
  private readonly dtype: QuantDtype;
  private readonly sBuf: Workspace;
  private current: ConvTransposePlan | null = null;

  /** @internal Made by the engine (`qw.convTranspose2d(...)`), not by `new`. */
  constructor(rt: Runtime, config: ConvTranspose2dConfig) {
    rt.live();
    check(typeof config === 'object' && config !== null, 'config', 'expected an object');
    checkTensor(config.weights, 'weights');
    check(config.weights.data instanceof Int8Array, 'weights', 'must be an Int8Array');
    check(typeof config.input === 'object' && config.input !== null, 'input', 'expected { scale, zeroPoint }');
    check(typeof config.output === 'object' && config.output !== null, 'output', 'expected { scale, zeroPoint }');
    const dtype = config.input.dtype ?? 'int8';
    check(dtype === 'int8' || dtype === 'uint8', 'input.dtype', `must be 'int8' or 'uint8', got ${String(dtype)}`);
    super(rt);
    this.config = config;
    this.dtype = dtype;
    this.sBuf = this.workspace();
  }

  protected plan(x: MapTensor, dtype: QuantDtype | 'float32'): readonly number[] {
    check(dtype === this.dtype, 'x', `must be ${this.dtype} (input.dtype), got ${dtype}`);
    const c = this.config;
    const g: ConvTransposeGeometry = resolveConvTranspose(x, c.weights, { ...c, layout: 'NHWC' }, 1);
    const ws = resolveScale(c.weightScale, 'weightScale', g.M);
    const zw = resolveZeroPoint(c.weightZeroPoint, 'weightZeroPoint', 'int8');
    const xs = resolveScale(c.input.scale, 'input.scale')[0]!;
    const xz = resolveZeroPoint(c.input.zeroPoint, 'input.zeroPoint', this.dtype);
    const ys = resolveScale(c.output.scale, 'output.scale')[0]!;
    const yz = resolveZeroPoint(c.output.zeroPoint, 'output.zeroPoint', this.dtype)[0]!;
    if (c.bias !== undefined) {
      check(c.bias instanceof Int32Array && c.bias.length === g.M, 'bias', `must be an Int32Array of ${g.M} values`);
    }
    const requant = c.requant ?? 'fp32';
    check(
      requant === 'fp32' || requant === 'fixedpoint',
      'requant',
      `must be 'fp32' or 'fixedpoint', got ${String(requant)}`,
    );
    checkAccumulation(g.Cg * g.kH * g.kW, maxCentred(this.dtype, xz), maxCentred('int8', zw), 'weights');
    const { qmin, qmax } = dtypeRange(this.dtype);
    const plan = new ConvTransposePlan(
      this.rt,
      g,
      c.weights,
      { xType: this.dtype, wType: 'int8', zx: xz[0]!, zw },
      {
        requant,
        inputScale: xs,
        weightScale: ws,
        outputScale: ys,
        outputScaleName: 'output.scale',
        outputZeroPoint: yz,
        qmin,
        qmax,
        signed: this.dtype === 'int8',
        bias: c.bias,
      },
    );
    this.current?.dispose();
    this.current = plan;
    const o = g.output;
    return [o.N, o.H, o.W, o.C];
  }

  protected compute(xp: number, yp: number): void {
    const plan = this.current!;
    plan.run(xp, yp, this.sBuf.ensure(plan.scratchBytes, 'x'));
  }

  /**
   * `run`, settled as a promise. The call chains several kernels (widening, GEMM, col2im,
   * requantization) that read each other's results, so on a threaded engine it joins the
   * workers after each GEMM instead of leaving the last join to the event loop.
   */
  override runAsync(x: MapTensor, out?: MapTensor): Promise<MapTensor> {
    return new Promise((resolve) => resolve(this.run(x, out)));
  }

  override dispose(): void {
    this.current?.dispose();
    this.current = null;
    super.dispose();
  }
}
