// Prepacked NHWC convolution layers: weights packed once for the chosen kernel path,
// requantization constants resolved once, and per input shape a plan whose parameter
// block and scratch are sized once and reused, so a steady run of calls with `out`
// allocates nothing.
import { quantizeRowsSymmetric } from '../quant/weights.js';
import { dynamicParams } from '../ops/quantize.js';
import { ConvField, EPILOGUE_BYTES, EpilogueField } from '../layouts.generated.js';
import { QwasmError, check } from '../errors.js';
import { Runtime, Workspace } from '../runtime.js';
import { Layer } from './layer.js';
import { describe, readObject } from '../args.js';
import {
  checkDtype,
  copyInto,
  lengthOfKind,
  newTypedArray,
  readField,
  readShape,
  readTensor,
  sizeOf,
  type QuantDtype,
  type Tensor,
  type TypedArray,
  type TypedArrayKind,
} from '../tensor.js';
import { readBias, resolveScale, resolveZeroPoint, type Scale } from '../quant/params.js';
import { EpilogueParams, setResidualDelta, type Activation, type Requant } from '../ops/epilogue.js';
import { checkAccumulation, checkBiasRange, maxCentred } from '../ops/gemm.js';
import {
  CONV_PARAMS_BYTES,
  ConvPath,
  choosePath,
  epilogueFor,
  groupHeadersBytes,
  intsAttr,
  makePlan,
  packConvWeightsF32,
  packConvWeightsS16,
  packedConvWeightBytes,
  resolveGeometry,
  writeParams,
  type ConvGeometry,
  type ConvPlan,
} from '../ops/conv-plan.js';
import type { QuantSpec } from './linear.js';
import { activationBounds, checkActivation, layerRequantSpec, resolveLayerQuant, type LayerQuant } from './resolve.js';
import { PAIRS_BYTES, tableFor, type LookupFunction } from '../ops/lookup.js';
import { isResidualPair, resolveResidual, type ResidualConfig, type ResidualSpec } from './residual.js';

/**
 * Shape attributes of a conv layer (NHWC; pads [top, left, bottom, right]).
 *
 * @example
 * ```ts
 * // a strided 3x3 depthwise convolution over 32 channels (weights [32, 3, 3, 1])
 * const shape: Conv2dShapeConfig = { strides: [2, 2], pads: [1, 1, 1, 1], group: 32 };
 * ```
 */
export interface Conv2dShapeConfig {
  /** [strideH, strideW], default [1, 1]. */
  strides?: readonly number[];
  /** [top, left, bottom, right], default zeros. */
  pads?: readonly number[];
  /** [dilationH, dilationW], default [1, 1]. */
  dilations?: readonly number[];
  /**
   * Groups (default 1): input and output channels both split into `group` blocks;
   * `group` equal to the input channels is depthwise.
   */
  group?: number;
}

/**
 * Configuration of {@link Qwasm.conv2d}.
 *
 * @example
 * ```ts
 * const cfg: Conv2dConfig = {
 *   weights: { data: w, shape: [64, 1, 1, 32] },
 *   weightScale: new Float32Array(64).fill(0.01),
 *   input: { scale: 0.05, zeroPoint: -128 },
 *   output: { scale: 0.1, zeroPoint: -128 },
 *   activation: 'relu',
 * };
 * const cv = qw.conv2d(cfg); // a 1x1 convolution: cv.path is 'gemm1x1'
 * ```
 */
export interface Conv2dConfig extends Conv2dShapeConfig {
  /** Weights [O, kH, kW, C/group], int8. */
  weights: Tensor<Int8Array>;
  /** Per tensor, or per output channel (O values). */
  weightScale: Scale;
  /** Weight zero point, 0 (symmetric) by default. */
  weightZeroPoint?: number;
  /** int32 bias with scale inputScale * weightScale. */
  bias?: Int32Array;
  /** Quantization of the input; its dtype (int8 by default) is the output's too. */
  input: QuantSpec;
  /** Quantization of the output, in the input's dtype. */
  output: Omit<QuantSpec, 'dtype'>;
  /** Clamp fused after requantization: 'none' (default), 'relu' or 'relu6'. */
  activation?: Activation;
  /** 'fp32' (default: ONNX, bit-exact with onnxruntime) or 'fixedpoint' (TFLite). */
  requant?: Requant;
  /**
   * A unary activation fused after the requantization (and `activation`): `fn` (a function
   * on real values or a ready table, as {@link Qwasm.lookupLayer} takes) through a
   * 256-entry table from `output`'s quantization to `lookup.output`'s, applied to the codes
   * in wasm memory before they are copied out. The layer then returns fn's codes, exactly
   * what a lookupLayer after it would; e.g. hard-swish after a MobileNetV3 conv. With a
   * `residual`, the table applies to the sum (conv -> activation -> add -> lookup), from
   * `residual.output`'s quantization.
   */
  lookup?: ConvLookup;
  /**
   * A residual add fused into the epilogue: the layer returns QLinearAdd(conv output,
   * residual) (after `activation`, before `lookup`), the residual [N, OH, OW, O] given per
   * call as `run([x, residual])`. `output` is then the quantization of the conv result
   * before the add; `residual.output` is the layer's result.
   */
  residual?: ResidualConfig;
}

/**
 * The input of a {@link Conv2d}: x, or [x, residual] for a layer with a fused residual add.
 *
 * @example
 * ```ts
 * const input: Conv2dInput = [{ data: x, shape: [1, 56, 56, 144] }, { data: skip, shape: [1, 56, 56, 24] }];
 * ```
 */
export type Conv2dInput =
  Tensor<Int8Array | Uint8Array> | readonly [Tensor<Int8Array | Uint8Array>, Tensor<Int8Array | Uint8Array>];

/**
 * The activation table of {@link Conv2dConfig.lookup}.
 *
 * @example
 * ```ts
 * const lookup: ConvLookup = { fn: (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6, output: { scale: 0.05, zeroPoint: -10 } };
 * ```
 */
export interface ConvLookup {
  /** The function on real values, or a ready table of 256 codes indexed by the input byte. */
  fn: LookupFunction;
  /** The quantization of fn's result, the layer's output (in the input's dtype). */
  output: {
    /** Real value of one integer step of fn's result. */
    scale: number;
    /** The code of real 0 (0 by default), in the input's dtype. */
    zeroPoint?: number;
  };
}

/**
 * Configuration of {@link Qwasm.conv2dF32}.
 *
 * @example
 * ```ts
 * const cfg: Conv2dF32Config = { weights: { data: wf, shape: [16, 3, 3, 8] }, bias, pads: [1, 1, 1, 1], activation: 'relu' };
 * ```
 */
export interface Conv2dF32Config extends Conv2dShapeConfig {
  /** Weights [O, kH, kW, C/group], float32. */
  weights: Tensor<Float32Array>;
  /** O values, added before the activation. */
  bias?: Float32Array;
  /**
   * 'none' (default), 'relu' (y >= 0), 'relu6' (y in [0, 6]) or 'hardswish'
   * (y = x * clamp(x + 3, 0, 6) / 6, ONNX HardSwish), computed in the conv's epilogue.
   */
  activation?: ActivationF32;
  /**
   * With 'hardswish' only: y = hardswish(x) * activationScale + activationShift (default 1
   * and 0; the affine pair PaddleOCR's learnable blocks put after the activation).
   */
  activationScale?: number;
  /** With 'hardswish' only: see activationScale (default 0). */
  activationShift?: number;
}

/**
 * The activations a float32 conv fuses: the clamps of {@link Activation} and hard-swish.
 *
 * @example
 * ```ts
 * const act: ActivationF32 = 'hardswish';
 * const c = qw.conv2dF32({ weights: { data: wf, shape: [16, 1, 1, 8] }, activation: act });
 * ```
 */
export type ActivationF32 = Activation | 'hardswish';

/** Weight dims [O, kH, kW, Cg] of a layer config. */
function weightDims<T extends Int8Array | Float32Array>(
  weights: unknown,
  type: new (n: number) => T,
): { M: number; kH: number; kW: number; Cg: number; data: T } {
  const w = readTensor(weights, 'weights');
  checkDtype(w, 'weights', type);
  check(w.shape.length === 4, 'weights', `must be 4-D [O, kH, kW, C/group], got shape [${w.shape.join(', ')}]`);
  const [M, kH, kW, Cg] = w.shape as [number, number, number, number];
  check(M > 0 && kH > 0 && kW > 0 && Cg > 0, 'weights', `must not be empty, got shape [${w.shape.join(', ')}]`);
  return { M, kH, kW, Cg, data: w.data as T };
}

/** The geometry of a layer before it has seen an input: a nominal input as large as the kernel. */
function layerGeometry(cfg: Conv2dShapeConfig, w: { M: number; kH: number; kW: number; Cg: number }): ConvGeometry {
  const group = cfg.group ?? 1;
  check(Number.isInteger(group) && group >= 1, 'group', () => `must be a positive integer, got ${describe(group)}`);
  const dil = cfg.dilations == null ? [1, 1] : intsAttr(cfg.dilations, 'dilations', 2, 1, 'an array of 2 integers');
  const probe = {
    N: 1,
    // large enough that a valid kernel fits without padding, so only attributes can fail here
    H: (w.kH - 1) * dil[0]! + 1,
    W: (w.kW - 1) * dil[1]! + 1,
    C: w.Cg * group,
  };
  return resolveGeometry(probe, w, cfg, '', 'x', 'weights');
}

/** The data of a tensor of `kind` shaped as the plan's output, or a QwasmError naming it. */
function outputShaped(t: unknown, plan: ConvPlan, kind: TypedArrayKind, name: string): TypedArray {
  check(typeof t === 'object' && t !== null, name, `must be a tensor of ${kind}`);
  const data = readField(t, 'data', name);
  const o = readField(t, 'shape', name);
  const len = lengthOfKind(data, kind);
  check(len >= 0, name, `must be a tensor of ${kind}`);
  const s = plan.outShape;
  if (!(
    Array.isArray(o) &&
    o.length === 4 &&
    o[0] === s[0] &&
    o[1] === s[1] &&
    o[2] === s[2] &&
    o[3] === s[3] &&
    len === s[0]! * s[1]! * s[2]! * s[3]!
  )) {
    throw new QwasmError(name, `has shape ${describe(o)} and ${len} elements, expected [${s.join(', ')}]`);
  }
  return data as TypedArray;
}

const PATH_NAMES = ['gemm1x1', 'im2col', 'depthwise', 'igemm'] as const;

/** The conv layers' base: the per-shape plan and the input, scratch and output blocks. */
abstract class ConvLayer<X, Y> extends Layer<X, Y> {
  /** Output channels. */
  readonly outChannels: number;
  /** Input channels. */
  readonly inChannels: number;
  /** The kernel path: 'gemm1x1', 'igemm', 'im2col' or 'depthwise'. */
  readonly path: 'gemm1x1' | 'igemm' | 'im2col' | 'depthwise';
  protected readonly cfg: Conv2dShapeConfig;
  protected readonly kernel: { M: number; kH: number; kW: number; Cg: number };
  protected readonly convPath: ConvPath;
  protected readonly params: number;
  protected plan: ConvPlan | null = null;
  /** The data arrays of the call in progress, read once from the caller's tensors. */
  protected inData: TypedArray | null = null;
  protected outData: TypedArray | null = null;
  /** The output tensor of the call in progress (the caller's `out`, or a new one). */
  protected result: Tensor | null = null;
  /** Output elements of the call in progress, from its start to its copy-out. */
  protected count = 0;
  protected readonly xBuf: Workspace;
  protected readonly sBuf: Workspace;
  protected readonly yBuf: Workspace;

  /** @internal Made by the engine (`qw.conv2d(...)`, `qw.conv2dF32(...)`), not by `new`. */
  constructor(
    rt: Runtime,
    cfg: Conv2dShapeConfig,
    kernel: { M: number; kH: number; kW: number; Cg: number },
    geo: ConvGeometry,
  ) {
    super(rt);
    // the resolved attributes, not the caller's arrays: later inputs see the same values
    this.cfg = { strides: [geo.sH, geo.sW], pads: [...geo.pads], dilations: [geo.dH, geo.dW], group: geo.group };
    this.kernel = kernel;
    this.outChannels = kernel.M;
    this.inChannels = geo.C;
    this.convPath = choosePath(geo, rt.config);
    // the path depends on the weights, groups, strides and pads only, never on the input size
    this.path = PATH_NAMES[this.convPath];
    this.params = rt.heap.alloc(CONV_PARAMS_BYTES, 'weights');
    this.blocks.push(this.params);
    this.xBuf = this.workspace();
    this.sBuf = this.workspace();
    this.yBuf = this.workspace();
  }

  /**
   * Validates x (a tensor of `type`, NHWC with the layer's channels) and returns the plan
   * for its shape. An input of the planned shape passes with plain comparisons only: no
   * error message is built unless something is wrong, so steady calls allocate nothing.
   */
  protected planFor(x: unknown, kind: TypedArrayKind, f32: boolean, za: number, signed: boolean): ConvPlan {
    check(typeof x === 'object' && x !== null, 'x', `must be a tensor of ${kind} (the layer's input dtype)`);
    const data = readField(x, 'data', 'x');
    const shape = readField(x, 'shape', 'x');
    const len = lengthOfKind(data, kind);
    check(len >= 0, 'x', `must be a tensor of ${kind} (the layer's input dtype)`);
    this.inData = data as TypedArray;
    const p = this.plan;
    let dims: number[];
    if (Array.isArray(shape) && shape.length === 4) {
      // each dim read once: the plan's shape is compared on plain values, no array made
      const d0: unknown = shape[0];
      const d1: unknown = shape[1];
      const d2: unknown = shape[2];
      const d3: unknown = shape[3];
      const g = p?.geo;
      if (g !== undefined && d0 === g.N && d1 === g.H && d2 === g.W && d3 === g.C && len === g.N * g.H * g.W * g.C) {
        return p!;
      }
      dims = readShape([d0, d1, d2, d3], 'x');
    } else dims = readShape(shape, 'x');
    check(len === sizeOf(dims), 'x', `data has ${len} elements but shape [${dims.join(', ')}] needs ${sizeOf(dims)}`);
    check(dims.length === 4, 'x', `must be 4-D [N, H, W, C], got shape [${dims.join(', ')}]`);
    const [N, H, W, C] = dims as [number, number, number, number];
    check(C === this.inChannels, 'x', `has ${C} channels, the layer expects ${this.inChannels}`);
    const geo = resolveGeometry({ N, H, W, C }, this.kernel, this.cfg, '', 'x', 'weights');
    const plan = makePlan(geo, this.convPath, f32, this.rt.config);
    writeParams(this.rt, this.params, plan, za, signed);
    this.plan = plan;
    return plan;
  }

  /**
   * The plan for NHWC inputs of `shape`, validated here once (qwasm/onnx plans its steps with
   * it and runs them on addresses in wasm memory).
   */
  protected planShape(shape: readonly number[], f32: boolean): ConvPlan {
    this.live();
    const dims = readShape(shape, 'x');
    check(dims.length === 4, 'x', `must be 4-D [N, H, W, C], got shape [${dims.join(', ')}]`);
    const [N, H, W, C] = dims as [number, number, number, number];
    check(C === this.inChannels, 'x', `has ${C} channels, the layer expects ${this.inChannels}`);
    const geo = resolveGeometry({ N, H, W, C }, this.kernel, this.cfg, '', 'x', 'weights');
    return makePlan(geo, this.convPath, f32, this.rt.config);
  }

  /** Makes `plan` the one the parameter block holds; true when it was rewritten (a layer shared by plans of several shapes). */
  protected usePlan(plan: ConvPlan, za: number, signed: boolean): boolean {
    if (this.plan === plan) return false;
    writeParams(this.rt, this.params, plan, za, signed);
    this.plan = plan;
    return true;
  }

  /**
   * The prelude of every run: the live check, the plan for x (of `kind`), and the output
   * (`out` checked, or a new tensor), kept in `result`. Sets `count`, the output
   * elements; 0 means there is nothing to compute.
   */
  protected begin(
    x: unknown,
    out: Tensor | undefined | null,
    kind: TypedArrayKind,
    f32: boolean,
    za: number,
    signed: boolean,
  ): ConvPlan {
    this.live();
    this.count = 0;
    const plan = this.planFor(x, kind, f32, za, signed);
    const count = plan.geo.N * plan.geo.OH * plan.geo.OW * plan.geo.M;
    if (out !== undefined && out !== null) {
      this.checkOut(out, plan, kind);
      this.result = out;
    } else {
      const data = newTypedArray(kind, count);
      this.result = { data, shape: plan.outShape };
      this.outData = data;
    }
    this.count = count;
    return plan;
  }

  /**
   * Checks a caller's output tensor against the plan and keeps its data array, the one
   * the result is copied into (messages built only on failure).
   */
  protected checkOut(out: unknown, plan: ConvPlan, kind: TypedArrayKind): void {
    this.outData = outputShaped(out, plan, kind, 'out');
  }

  /** A view of the first n outputs in `yBuf` (float32; the int8 layer overrides it). */
  protected outputView(n: number): TypedArray {
    return this.yBuf.view(Float32Array, n);
  }

  /** Copies the result into the output array checked at the start, and lets both arrays go. */
  protected collect(y: Y): Y {
    if (this.count > 0 && this.outData !== null) copyInto(this.outData, this.outputView(this.count));
    this.inData = null;
    this.outData = null;
    this.result = null;
    return y;
  }
}

/**
 * An int8 / uint8 NHWC convolution layer (see {@link Qwasm.conv2d}).
 *
 * @example
 * ```ts
 * const cv: Conv2d = qw.conv2d({ weights: { data: w, shape: [64, 3, 3, 64] }, weightScale: 0.01, input, output, pads: [1, 1, 1, 1] });
 * const out = { data: new Int8Array(56 * 56 * 64), shape: [1, 56, 56, 64] };
 * cv.run({ data: x, shape: [1, 56, 56, 64] }, out); // steady calls with `out` allocate nothing
 * cv.path; // 'igemm'
 * cv.dispose();
 * ```
 */
export class Conv2d extends ConvLayer<Conv2dInput, Tensor<Int8Array | Uint8Array>> {
  /** The input and output dtype (`input.dtype`, int8 by default). */
  readonly dtype: QuantDtype;
  private readonly za: number;
  private readonly weights: number;
  private readonly epiPtr: number;
  private readonly epiKind: number;
  /** The pair table of `lookup` (lookup_pairs_build; the conv drivers apply it), or 0. */
  private readonly lookupPairs: number = 0;
  /** The fused residual add, or null. */
  private readonly residual: ResidualSpec | null;
  /** Epilogue headers the per-call residual offset goes into (one per group when copied). */
  private readonly headerCopies: number;
  private readonly rBuf: Workspace;

  /** @internal Made by the engine (`qw.conv2d(...)`, `qw.conv2dF32(...)`), not by `new`. */
  constructor(rt: Runtime, config: Conv2dConfig) {
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const kernel = weightDims(cfg.weights, Int8Array);
    const geo = layerGeometry(cfg, kernel);
    const M = kernel.M;
    const ws = resolveScale(cfg.weightScale, 'weightScale', M);
    const zw = resolveZeroPoint(cfg.weightZeroPoint, 'weightZeroPoint', 'int8');
    const q = resolveLayerQuant(cfg);
    const dtype = q.dtype;
    const bias = readBias(cfg.bias, Int32Array, M);
    const residual = resolveResidual(cfg.residual, dtype, q.outputScale, q.outputZeroPoint);
    const table = cfg.lookup === undefined || cfg.lookup === null ? null : lookupTable(cfg.lookup, q, residual);
    checkAccumulation(
      kernel.kH * kernel.kW * kernel.Cg,
      maxCentred(dtype, [q.inputZeroPoint]),
      maxCentred('int8', zw),
      'weights',
    );
    checkBiasRange(
      bias,
      kernel.kH * kernel.kW * kernel.Cg,
      maxCentred(dtype, [q.inputZeroPoint]),
      maxCentred('int8', zw),
    );
    super(rt, cfg, kernel, geo);
    this.dtype = dtype;
    this.za = q.inputZeroPoint;
    this.residual = residual;
    this.rBuf = this.workspace();
    try {
      const epi = EpilogueParams.requant(rt, M, layerRequantSpec(q, ws, bias));
      this.blocks.push(epi.ptr);
      this.epiKind = epi.kind;
      // before epilogueFor: grouped convs copy the header, residual and table fields included
      if (residual !== null) epi.setResidual(residual);
      if (table !== null) {
        // the conv drivers apply it per block of output rows, while the block is in cache
        this.lookupPairs = rt.heap.alloc(PAIRS_BYTES + 256, 'lookup');
        this.blocks.push(this.lookupPairs);
        rt.heap.u8.set(table, this.lookupPairs + PAIRS_BYTES);
        rt.kernels.lookup_pairs_build(this.lookupPairs + PAIRS_BYTES, this.lookupPairs);
        rt.heap.i32[(epi.ptr >> 2) + EpilogueField.LOOKUP] = this.lookupPairs;
      }
      const headers = groupHeadersBytes(geo, this.convPath);
      let hp = 0;
      if (headers > 0) {
        hp = rt.heap.alloc(headers, 'weights');
        this.blocks.push(hp);
      }
      this.epiPtr = epilogueFor(rt, geo, this.convPath, epi, hp);
      this.headerCopies = this.epiPtr === epi.ptr ? 1 : geo.group;
      this.weights = rt.heap.alloc(packedConvWeightBytes(rt, geo, this.convPath, false), 'weights');
      this.blocks.push(this.weights);
      rt.scoped((alloc) => {
        const src = alloc(kernel.data.length, 'weights');
        rt.heap.i8.set(kernel.data, src);
        packConvWeightsS16(rt, geo, this.convPath, src, true, zw, this.weights);
      });
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  protected override outputView(n: number): Int8Array | Uint8Array {
    return this.dtype === 'int8' ? this.yBuf.view(Int8Array, n) : this.yBuf.view(Uint8Array, n);
  }

  protected start(input: Conv2dInput, out?: Tensor<Int8Array | Uint8Array>): Tensor<Int8Array | Uint8Array> {
    const signed = this.dtype === 'int8';
    const kind = signed ? 'Int8Array' : 'Uint8Array';
    const pair = isResidualPair(input, this.residual !== null);
    const plan = this.begin(pair ? input[0] : input, out, kind, false, this.za, signed);
    // checked before anything is copied in, even when the output is empty
    const rData = pair ? outputShaped(input[1], plan, kind, 'residual') : null;
    const y = this.result as Tensor<Int8Array | Uint8Array>;
    const count = this.count;
    if (count === 0) return y;
    const data = this.inData!;
    const xp = this.xBuf.ensure(data.length, 'x');
    const sp = this.sBuf.ensure(plan.scratchBytes, 'x');
    const yp = this.yBuf.ensure(count, 'x');
    const heap = this.rt.heap;
    if (signed) heap.i8.set(data, xp);
    else heap.u8.set(data, xp);
    if (rData !== null) {
      const rp = this.rBuf.ensure(count, 'residual');
      if (signed) heap.i8.set(rData, rp);
      else heap.u8.set(rData, rp);
      setResidualDelta(this.rt, this.epiPtr, this.headerCopies, rp - yp);
    }
    this.rt.kernels.conv2d_s16(this.params, xp, this.weights, yp, this.epiKind, this.epiPtr, sp);
    return y;
  }

  /**
   * @internal The plan for NHWC inputs of `shape` [N, H, W, C], validated once: what
   * {@link Conv2d.runAt} takes.
   */
  planInput(shape: readonly number[]): ConvPlan {
    return this.planShape(shape, false);
  }

  /**
   * @internal Runs the conv of `plan` (from planInput) on codes already in wasm memory: x at
   * address xp into y at yp (and the fused table over y), no copy; a layer with a residual
   * reads it at rp. Validates nothing; allocates nothing once the scratch has its size. For
   * qwasm/onnx's plans, whose arena is in wasm memory.
   */
  runAt(plan: ConvPlan, xp: number, yp: number, rp = 0): void {
    this.usePlan(plan, this.za, this.dtype === 'int8');
    const sp = this.sBuf.ensure(plan.scratchBytes, 'x');
    if (this.residual !== null) setResidualDelta(this.rt, this.epiPtr, this.headerCopies, rp - yp);
    this.rt.kernels.conv2d_s16(this.params, xp, this.weights, yp, this.epiKind, this.epiPtr, sp);
  }
}

/** The 256-entry table of a conv layer's fused lookup, from its output quantization (the residual sum's when it adds one). */
function lookupTable(lookup: ConvLookup, q: LayerQuant, residual: ResidualSpec | null): Uint8Array {
  const l = readObject(lookup, 'lookup', 'an object { fn, output }');
  const o = readObject(l.output, 'lookup.output', 'an object { scale, zeroPoint? }');
  check(typeof o.scale === 'number', 'lookup.output.scale', () => `must be a number, got ${describe(o.scale)}`);
  return tableFor(
    l.fn,
    {
      dtype: q.dtype,
      sx: residual === null ? q.outputScale : residual.outputScale,
      zx: residual === null ? q.outputZeroPoint : residual.outputZeroPoint,
      sy: resolveScale(o.scale, 'lookup.output.scale')[0]!,
      zy: resolveZeroPoint(o.zeroPoint, 'lookup.output.zeroPoint', q.dtype)[0]!,
    },
    'lookup.fn',
  );
}

/** Validates a float32 conv's clamp activation (hard-swish is handled by the caller). */
function checkFloatActivation(a: unknown): Activation {
  const act = (a ?? 'none') as Activation;
  check(
    act === 'none' || act === 'relu' || act === 'relu6',
    'activation',
    `must be 'none', 'relu', 'relu6' or 'hardswish', got ${describe(a)}`,
  );
  return act;
}

/** A finite number, or `dflt` when absent. */
function readFinite(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  check(typeof v === 'number' && Number.isFinite(v), name, `must be a finite number, got ${describe(v)}`);
  return v;
}

/**
 * The float32 baseline conv layer (see {@link Qwasm.conv2dF32}).
 *
 * @example
 * ```ts
 * const cf: Conv2dF32 = qw.conv2dF32({ weights: { data: wf, shape: [16, 3, 3, 8] }, pads: [1, 1, 1, 1] });
 * const y = cf.run({ data: xf, shape: [1, 32, 32, 8] }); // Tensor<Float32Array>, shape [1, 32, 32, 16]
 * cf.dispose();
 * ```
 */
export class Conv2dF32 extends ConvLayer<Tensor<Float32Array>, Tensor<Float32Array>> {
  private readonly weights: number;
  private readonly bias: number;
  private readonly lo: number;
  private readonly hi: number;
  /** Hard-swish: its scale / 6 and shift (float32, as the epilogue reads them); null otherwise. */
  private readonly hardSwish: { k: number; c: number } | null;

  /** @internal Made by the engine (`qw.conv2d(...)`, `qw.conv2dF32(...)`), not by `new`. */
  constructor(rt: Runtime, config: Conv2dF32Config) {
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const kernel = weightDims(cfg.weights, Float32Array);
    const geo = layerGeometry(cfg, kernel);
    const hs = cfg.activation === 'hardswish';
    const { lo, hi } = activationBounds(hs ? 'none' : checkFloatActivation(cfg.activation));
    const hardSwish = hs
      ? {
          k: Math.fround(readFinite(cfg.activationScale, 'activationScale', 1) / 6),
          c: readFinite(cfg.activationShift, 'activationShift', 0),
        }
      : null;
    if (!hs) {
      check(cfg.activationScale === undefined, 'activationScale', "needs activation 'hardswish'");
      check(cfg.activationShift === undefined, 'activationShift', "needs activation 'hardswish'");
    }
    const M = kernel.M;
    const bias = readBias(cfg.bias, Float32Array, M);
    super(rt, cfg, kernel, geo);
    this.lo = lo;
    this.hi = hi;
    this.hardSwish = hardSwish;
    try {
      this.weights = rt.heap.alloc(packedConvWeightBytes(rt, geo, this.convPath, true), 'weights');
      this.blocks.push(this.weights);
      rt.scoped((alloc) => {
        const src = alloc(kernel.data.length * 4, 'weights');
        rt.heap.f32.set(kernel.data, src >> 2);
        packConvWeightsF32(rt, geo, this.convPath, src, this.weights);
      });
      this.bias = 0;
      if (bias !== undefined) {
        // padded to whole SIMD blocks: the kernels load 4 or 8 lanes at a time
        const np = Math.ceil(M / 8) * 8;
        this.bias = rt.heap.alloc(np * 4, 'bias');
        this.blocks.push(this.bias);
        rt.heap.f32.fill(0, this.bias >> 2, (this.bias >> 2) + np);
        rt.heap.f32.set(bias, this.bias >> 2);
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  protected start(x: Tensor<Float32Array>, out?: Tensor<Float32Array>): Tensor<Float32Array> {
    const plan = this.begin(x, out, 'Float32Array', true, 0, false);
    const y = this.result as Tensor<Float32Array>;
    const count = this.count;
    if (count === 0) return y;
    const data = this.inData!;
    const xp = this.xBuf.ensure(data.length * 4, 'x');
    const sp = this.sBuf.ensure(plan.scratchBytes, 'x');
    const yp = this.yBuf.ensure(count * 4, 'x');
    this.rt.heap.f32.set(data, xp >> 2);
    this.writeHardSwish();
    this.rt.kernels.conv2d_f32(this.params, xp, this.weights, this.bias, this.lo, this.hi, yp, sp);
    return y;
  }

  /** The epilogue's hard-swish fields, after the plan (re)wrote the parameter block. */
  private writeHardSwish(): void {
    if (this.hardSwish === null) return;
    const h = this.params >> 2;
    this.rt.heap.i32[h + ConvField.ACT] = 1;
    this.rt.heap.f32[h + ConvField.ACT_K] = this.hardSwish.k;
    this.rt.heap.f32[h + ConvField.ACT_C] = this.hardSwish.c;
  }

  /**
   * @internal The plan for NHWC float32 inputs of `shape` [N, H, W, C], validated once:
   * what {@link Conv2dF32.runAt} takes.
   */
  planInput(shape: readonly number[]): ConvPlan {
    return this.planShape(shape, true);
  }

  /**
   * @internal Runs the conv of `plan` (from planInput) on float32 data already in wasm
   * memory: x at address xp into y at yp, no copy. Validates nothing; allocates nothing
   * once the scratch has its size. For qwasm/onnx's plans, whose arena is in wasm memory.
   */
  runAt(plan: ConvPlan, xp: number, yp: number): void {
    if (this.usePlan(plan, 0, false)) this.writeHardSwish();
    const sp = this.sBuf.ensure(plan.scratchBytes, 'x');
    this.rt.kernels.conv2d_f32(this.params, xp, this.weights, this.bias, this.lo, this.hi, yp, sp);
  }
}

/**
 * Configuration of {@link Qwasm.dynamicConv2d}.
 *
 * @example
 * ```ts
 * const cfg: DynamicConv2dConfig = { weights: { data: wf, shape: [32, 3, 3, 16] }, bias, strides: [2, 2], pads: [1, 1, 1, 1], activation: 'relu' };
 * ```
 */
export interface DynamicConv2dConfig extends Conv2dShapeConfig {
  /** Weights [O, kH, kW, C/group], float32: quantized once to int8, symmetric per output channel. */
  weights: Tensor<Float32Array>;
  /** O values in real units, added in the dequantizing epilogue. */
  bias?: Float32Array;
  /** Clamp fused into the epilogue: 'none' (default), 'relu' or 'relu6'. */
  activation?: Activation;
}

/**
 * Float32 in and out, int8 inside (see {@link Qwasm.dynamicConv2d}): weights quantized and
 * packed once (symmetric, per output channel), the input quantized per call with ONNX
 * DynamicQuantizeLinear's uint8 parameters, the same conv kernels as {@link Conv2d}, and a
 * dequantizing epilogue with the bias and activation fused.
 *
 * @example
 * ```ts
 * const dc: DynamicConv2d = qw.dynamicConv2d({ weights: { data: wf, shape: [16, 3, 3, 8] }, pads: [1, 1, 1, 1] });
 * const y = dc.run({ data: xf, shape: [1, 32, 32, 8] }); // Tensor<Float32Array> [1, 32, 32, 16]
 * dc.weightScale; // 16 scales, max |w| / 127 per output channel
 * dc.dispose();
 * ```
 */
export class DynamicConv2d extends ConvLayer<Tensor<Float32Array>, Tensor<Float32Array>> {
  /** The per-output-channel weight scales chosen at construction. */
  readonly weightScale: Float32Array;
  private readonly weights: number;
  private readonly epi: EpilogueParams;
  private readonly epiPtr: number;
  private readonly qBuf: Workspace;
  private readonly mmBuf: Workspace;

  /** @internal Made by the engine (`qw.dynamicConv2d(...)`), not by `new`. */
  constructor(rt: Runtime, config: DynamicConv2dConfig) {
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const kernel = weightDims(cfg.weights, Float32Array);
    const geo = layerGeometry(cfg, kernel);
    const w = kernel.data;
    for (let i = 0; i < w.length; i++) check(Number.isFinite(w[i]!), 'weights', `holds a non-finite value at ${i}`);
    const M = kernel.M;
    const bias = readBias(cfg.bias, Float32Array, M);
    const { lo, hi } = activationBounds(checkActivation(cfg.activation, 'activation'));
    checkAccumulation(kernel.kH * kernel.kW * kernel.Cg, 255, 127, 'weights');
    super(rt, cfg, kernel, geo);
    const { q, scales } = quantizeRowsSymmetric(w, M, kernel.kH * kernel.kW * kernel.Cg);
    this.weightScale = scales;
    this.qBuf = this.workspace();
    this.mmBuf = this.workspace();
    try {
      this.epi = EpilogueParams.dequant(rt, M, scales, bias, lo, hi);
      this.blocks.push(this.epi.ptr);
      const headers = groupHeadersBytes(geo, this.convPath);
      let hp = 0;
      if (headers > 0) {
        hp = rt.heap.alloc(headers, 'weights');
        this.blocks.push(hp);
      }
      this.epiPtr = epilogueFor(rt, geo, this.convPath, this.epi, hp);
      this.weights = rt.heap.alloc(packedConvWeightBytes(rt, geo, this.convPath, false), 'weights');
      this.blocks.push(this.weights);
      rt.scoped((alloc) => {
        const src = alloc(q.length, 'weights');
        rt.heap.i8.set(q, src);
        packConvWeightsS16(rt, geo, this.convPath, src, true, Int32Array.of(0), this.weights);
      });
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  protected start(x: Tensor<Float32Array>, out?: Tensor<Float32Array>): Tensor<Float32Array> {
    // the zero point is the call's own: written into the block below, after quantizing
    const plan = this.begin(x, out, 'Float32Array', false, 0, false);
    const y = this.result as Tensor<Float32Array>;
    const count = this.count;
    if (count === 0) return y;
    const rt = this.rt;
    const heap = rt.heap;
    const data = this.inData!;
    const n = data.length;
    const xp = this.xBuf.ensure(n * 4, 'x');
    const qp = this.qBuf.ensure(n, 'x');
    const mm = this.mmBuf.ensure(8);
    const sp = this.sBuf.ensure(plan.scratchBytes, 'x');
    const yp = this.yBuf.ensure(count * 4, 'x');
    heap.f32.set(data, xp >> 2);
    rt.kernels.minmax_f32(xp, n, mm);
    const { scale, zeroPoint } = dynamicParams(heap.f32[mm >> 2]!, heap.f32[(mm >> 2) + 1]!);
    check(Number.isFinite(scale), 'x', 'holds infinite values; no finite scale covers them');
    rt.kernels.quantize_f32(xp, n, scale, zeroPoint, 0, 255, qp);
    heap.i32[(this.params >> 2) + ConvField.ZA] = zeroPoint;
    this.epi.setInputScale(scale);
    if (this.epiPtr !== this.epi.ptr) {
      // grouped convs read one header copy per group: each takes the call's scale too
      for (let g = 0; g < plan.geo.group; g++)
        heap.f32[(this.epiPtr + g * EPILOGUE_BYTES) / 4 + EpilogueField.XSCALE] = scale;
    }
    rt.kernels.conv2d_s16(this.params, qp, this.weights, yp, this.epi.kind, this.epiPtr, sp);
    return y;
  }
}
