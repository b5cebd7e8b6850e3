// Prepacked binary layers: float weights binarized (sign) and packed once into XNOR-GEMM
// panels; per run one copy of the input bits, one kernel call with the epilogue fused
// (float32 affine, int8 requantization or sign bits), and the result copied out.
// Nothing is allocated on a run that gets `out`, once the input shape has been seen.
//
// Output arithmetic for channel n, acc the +-1 dot product (an integer):
//   float32  y = f32(f32(acc) * scale[n]) + bias[n]            (multiply, then add: no FMA)
//   int8     q = clamp(roundHalfEven(f32(f32(acc) * m[n]) + b[n]), -128 - zp, 127 - zp) + zp,
//            m = f32(scale[n] / outScale), b = f32(bias[n] / outScale)
//   bits     the sign of the float32 y, as qw.bitpack packs it (y < 0 -> 1 = -1), found
//            from acc by integer bounds computed here, so the kernel only compares.
import { BINARY_EPILOGUE_BYTES, BinaryEpilogueField } from '../layouts.generated.js';
import { describe, readObject } from '../args.js';
import { QwasmError, check } from '../errors.js';
import { Layer } from './layer.js';
import { Runtime, Workspace } from '../runtime.js';
import { checkDtype, checkResultSize, copyInto, lengthOfKind, readField, readTensor, type Tensor } from '../tensor.js';
import {
  BinaryEpilogueKind,
  binaryLayout,
  readBits,
  type BitsArg,
  chunkPlan,
  convTables,
  copyBitsIn,
  copyConvInput,
  copyNeedsTemp,
  packBinaryWeights,
  packedBinaryWeightBytes,
  paddedChannels,
  resolveBinaryConv,
  rowBytesFor,
  rowsOfBits,
  tapSums,
  wordsFor,
  writeConvTables,
  type BinaryConvAttributes,
  type BinaryConvGeometry,
  type BitTensor,
  type ConvTables,
} from '../ops/binary.js';

/**
 * int8 output of a binary layer: `real = scale * (q - zeroPoint)`.
 *
 * @example
 * ```ts
 * const output: BinaryInt8Output = { dtype: 'int8', scale: 0.05, zeroPoint: 0 };
 * const y = qw.binaryLinear({ weights, scale: 'xnor', output }).run(xb); // Tensor<Int8Array>
 * ```
 */
export interface BinaryInt8Output {
  /** Selects int8 output. */
  dtype: 'int8';
  /**
   * Real value of one output step, positive and finite: the float result
   * `acc * scale[n] + bias[n]` is divided by it, rounded half to even, offset by
   * `zeroPoint` and saturated to int8.
   */
  scale: number;
  /** The code of real 0, an integer in [-128, 127] (default 0). */
  zeroPoint?: number;
}

/**
 * What a binary layer produces: float32 (default), int8 (requantized), or `'bits'`:
 * the sign of the float32 result, bit-packed along channels for the next binary layer.
 *
 * @example
 * ```ts
 * const f = qw.binaryLinear({ weights });                                        // float32 (default)
 * const q = qw.binaryLinear({ weights, output: { dtype: 'int8', scale: 0.05 } }); // int8
 * const b = qw.binaryLinear({ weights, output: 'bits' });                        // signs, packed
 * ```
 */
export type BinaryOutput = 'float32' | 'bits' | BinaryInt8Output;

/**
 * The tensor type a binary layer with output `O` returns.
 *
 * @example
 * ```ts
 * const h: BinaryResult<'bits'> = qw.binaryLinear({ weights, output: 'bits' }).run(xb); // a BitTensor
 * ```
 */
export type BinaryResult<O extends BinaryOutput> = O extends 'bits'
  ? BitTensor
  : O extends BinaryInt8Output
    ? Tensor<Int8Array>
    : Tensor<Float32Array>;

/**
 * Per-output-channel scale: a number, one value per channel, or `'xnor'` for XNOR-Net's
 * alpha = mean |W| of each channel's float weights.
 *
 * @example
 * ```ts
 * const perChannel: BinaryScale = new Float32Array(N).fill(0.1);
 * const fc = qw.binaryLinear({ weights: { data: wf, shape: [N, K] }, scale: 'xnor' });
 * ```
 */
export type BinaryScale = number | Float32Array | readonly number[] | 'xnor';

/**
 * Configuration of {@link Qwasm.binaryLinear}.
 *
 * @example
 * ```ts
 * const cfg: BinaryLinearConfig<'bits'> = { weights: { data: wf, shape: [N, K] }, scale: 'xnor', bias, output: 'bits' };
 * const h = qw.binaryLinear(cfg).run(xb); // BitTensor [M, N]
 * ```
 */
export interface BinaryLinearConfig<O extends BinaryOutput = 'float32'> {
  /** Weights [N, K] (out x in features) as floats: only their signs are kept (w < 0 -> -1). */
  weights: Tensor<Float32Array>;
  /** Per output channel (default 1). */
  scale?: BinaryScale;
  /** Per output channel, float32 (default 0). */
  bias?: Float32Array | readonly number[];
  /** 'float32' (default), {@link BinaryInt8Output} or 'bits'. */
  output?: O;
}

/**
 * Configuration of {@link Qwasm.binaryConv2dLayer}: weights [O, kH, kW, C] as floats.
 *
 * @example
 * ```ts
 * const cfg: BinaryConv2dConfig = { weights: { data: wf, shape: [64, 3, 3, 64] }, pads: [1, 1, 1, 1], scale: 'xnor' };
 * const y = qw.binaryConv2dLayer(cfg).run(qw.bitpack(x)); // Tensor<Float32Array>, NHWC
 * ```
 */
export interface BinaryConv2dConfig<O extends BinaryOutput = 'float32'> extends BinaryConvAttributes {
  /** Weights [O, kH, kW, C] as floats: only their signs are kept (w < 0 -> -1). */
  weights: Tensor<Float32Array>;
  /** Per output channel (default 1). */
  scale?: BinaryScale;
  /** Per output channel, float32 (default 0). */
  bias?: Float32Array | readonly number[];
  /** 'float32' (default), {@link BinaryInt8Output} or 'bits'. */
  output?: O;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const PARAMS_HEADER = BINARY_EPILOGUE_BYTES;
const BF = BinaryEpilogueField;

/** y = f32(f32(acc) * s) + b, as the kernel computes it (doubles round to float exactly here). */
function affine(acc: number, s: number, b: number): number {
  return Math.fround(Math.fround(Math.fround(acc) * s) + b);
}

/**
 * Integer bounds [lo, hi] of the accs in [-K, K] whose float output is negative: y is
 * monotonic in acc (non-decreasing for s > 0, non-increasing for s < 0), so that set is
 * an interval reaching one end; binary search finds its edge.
 */
export function signBounds(s: number, b: number, K: number): [number, number] {
  const neg = (acc: number) => affine(acc, s, b) < 0;
  if (s === 0) return neg(0) ? [INT32_MIN, INT32_MAX] : [1, 0];
  if (s > 0) {
    if (!neg(-K)) return [1, 0];
    let lo = -K;
    let hi = K;
    // largest acc with neg(acc): neg(lo) holds
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (neg(mid)) lo = mid;
      else hi = mid - 1;
    }
    return [INT32_MIN, lo];
  }
  if (!neg(K)) return [1, 0];
  let lo = -K;
  let hi = K;
  // smallest acc with neg(acc): neg(hi) holds
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (neg(mid)) hi = mid;
    else lo = mid + 1;
  }
  return [hi, INT32_MAX];
}

function resolvePerChannel(v: number | Float32Array | readonly number[], name: string, N: number): Float32Array {
  let a: Float32Array;
  if (typeof v === 'number') a = new Float32Array(N).fill(v);
  else if (v instanceof Float32Array || Array.isArray(v)) a = Float32Array.from(v as ArrayLike<number>);
  else throw new QwasmError(name, 'expected a number, a Float32Array or an array of numbers');
  if (a.length === 1 && N !== 1) a = new Float32Array(N).fill(a[0]!);
  check(a.length === N, name, `has ${a.length} values, expected 1 or ${N} (one per output channel)`);
  for (let i = 0; i < N; i++) check(Number.isFinite(a[i]!), name, `must be finite, got ${a[i]} at ${i}`);
  return a;
}

interface ResolvedOutput {
  kind: BinaryEpilogueKind;
  scale?: number;
  zeroPoint?: number;
}

function resolveOutput(o: unknown): ResolvedOutput {
  if (o === undefined || o === null || o === 'float32') return { kind: BinaryEpilogueKind.F32 };
  if (o === 'bits') return { kind: BinaryEpilogueKind.Bits };
  check(
    typeof o === 'object' && o !== null && (o as { dtype?: unknown }).dtype === 'int8',
    'output',
    `must be 'float32', 'bits' or { dtype: 'int8', scale, zeroPoint }, got ${describe(o)}`,
  );
  const { scale, zeroPoint } = { ...(o as BinaryInt8Output) };
  check(
    typeof scale === 'number' && Number.isFinite(scale) && scale > 0,
    'output.scale',
    `must be positive and finite, got ${describe(scale)}`,
  );
  const zp = zeroPoint ?? 0;
  check(
    Number.isInteger(zp) && zp >= -128 && zp <= 127,
    'output.zeroPoint',
    `must be an integer in [-128, 127], got ${describe(zp)}`,
  );
  return { kind: BinaryEpilogueKind.I8, scale, zeroPoint: zp };
}

/**
 * Checks a caller's output tensor — the right array type, `count` rows of `last`
 * channels, by the array's true length — and returns that array, the one the result is
 * written into. Messages are built only on failure (layers call this on every run).
 */
function checkOutData(
  out: unknown,
  kind: BinaryEpilogueKind,
  count: number,
  last: number,
  bitsArg: BitsArg,
): Uint32Array | Int8Array | Float32Array {
  if (kind === BinaryEpilogueKind.Bits) {
    const o = readBits(out, 'out', bitsArg);
    if (o.bits.length !== count * wordsFor(last))
      throw new QwasmError('out', `has ${o.bits.length} words, expected ${count * wordsFor(last)}`);
    return o.bits;
  }
  const kindName = kind === BinaryEpilogueKind.I8 ? 'Int8Array' : 'Float32Array';
  if (typeof out !== 'object' || out === null) throw new QwasmError('out', `must be a tensor of ${kindName}`);
  const data = readField(out, 'data', 'out');
  const len = lengthOfKind(data, kindName);
  if (len < 0) throw new QwasmError('out', `must be a tensor of ${kindName}`);
  if (len !== count * last) throw new QwasmError('out', `has ${len} elements, expected ${count * last}`);
  return data as Int8Array | Float32Array;
}

/** Throws unless `out.shape` is `lead` (all but its last dimension) followed by `last`. */
function checkOutShape(out: object, lead: readonly number[], leadDims: number, last: number): void {
  const s = readField(out, 'shape', 'out');
  let same = Array.isArray(s) && s.length === leadDims + 1 && s[leadDims] === last;
  for (let i = 0; same && i < leadDims; i++) same = (s as unknown[])[i] === lead[i];
  if (!same) {
    throw new QwasmError(
      'out',
      `has shape ${describe(s)}, expected [${[...lead.slice(0, leadDims), last].join(', ')}]`,
    );
  }
}

/**
 * Packs float weights [N, T * n] (rows of T taps of n values) into panels; returns the
 * panel block and, when asked, the +-1 sum of every tap (zero-padding corrections).
 */
function packFloatWeights(
  rt: Runtime,
  w: Float32Array,
  N: number,
  T: number,
  n: number,
  withSums: boolean,
): { panels: number; sums: Int32Array | null } {
  return rt.scoped((alloc) => {
    const src = alloc(w.length * 4, 'weights');
    rt.heap.f32.set(w, src >> 2);
    const bits = alloc(N * T * wordsFor(n) * 4, 'weights');
    rt.kernels.bitpack_f32(src, N * T, n, bits);
    const panels = rt.heap.alloc(packedBinaryWeightBytes(rt, N, T, n), 'weights');
    packBinaryWeights(rt, bits, N, T, n, panels);
    return { panels, sums: withSums ? tapSums(rt, bits, N * T, n) : null };
  });
}

/**
 * The common part: weights, epilogue parameters, workspaces and the copy-out; blocks,
 * liveness, disposal and run / runAsync come from the shared Layer base.
 */
abstract class BinaryLayer<O extends BinaryOutput> extends Layer<BitTensor, BinaryResult<O>> {
  /** Output channels. */
  readonly outChannels: number;
  protected readonly outKind: BinaryEpilogueKind;
  protected readonly weights: number;
  protected readonly params: number;
  protected readonly sums: Int32Array | null;
  protected readonly xBuf: Workspace;
  protected readonly tmpBuf: Workspace;
  protected readonly recBuf: Workspace;
  protected readonly yBuf: Workspace;

  /**
   * @param w float weights, N rows of T taps x n values
   * @param K the dot product's length (T * n): the range of acc
   */
  constructor(
    rt: Runtime,
    cfg: { scale?: BinaryScale; bias?: Float32Array | readonly number[]; output?: O },
    w: Float32Array,
    N: number,
    T: number,
    n: number,
    withSums: boolean,
  ) {
    super(rt);
    this.outChannels = N;
    for (let i = 0; i < w.length; i++) check(Number.isFinite(w[i]!), 'weights', `holds a non-finite value at ${i}`);
    const out = resolveOutput(cfg.output);
    this.outKind = out.kind;
    const K = T * n;
    let scale: Float32Array;
    if (cfg.scale === 'xnor') {
      scale = new Float32Array(N);
      for (let o = 0; o < N; o++) {
        let s = 0;
        for (let i = o * K; i < (o + 1) * K; i++) s += Math.abs(w[i]!);
        scale[o] = s / K;
      }
    } else scale = cfg.scale == null ? new Float32Array(N).fill(1) : resolvePerChannel(cfg.scale, 'scale', N);
    const bias = cfg.bias == null ? new Float32Array(N) : resolvePerChannel(cfg.bias, 'bias', N);
    this.xBuf = this.workspace();
    this.tmpBuf = this.workspace();
    this.recBuf = this.workspace();
    this.yBuf = this.workspace();
    try {
      const packed = packFloatWeights(rt, w, N, T, n, withSums);
      this.weights = packed.panels;
      this.blocks.push(this.weights);
      this.sums = packed.sums;
      this.params = this.writeParams(N, K, scale, bias, out);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  private writeParams(N: number, K: number, scale: Float32Array, bias: Float32Array, out: ResolvedOutput): number {
    const rt = this.rt;
    const np = paddedChannels(rt, N);
    const p = rt.heap.alloc(PARAMS_HEADER + 2 * np * 4, 'weights');
    this.blocks.push(p);
    const i32 = rt.heap.i32;
    const f32 = rt.heap.f32;
    const h = p >> 2;
    i32.fill(0, h, h + PARAMS_HEADER / 4 + 2 * np);
    const a0 = p + PARAMS_HEADER;
    const a1 = a0 + np * 4;
    i32[h + BF.A0] = a0;
    i32[h + BF.A1] = a1;
    for (let o = 0; o < N; o++) {
      if (this.outKind === BinaryEpilogueKind.F32) {
        f32[(a0 >> 2) + o] = scale[o]!;
        f32[(a1 >> 2) + o] = bias[o]!;
      } else if (this.outKind === BinaryEpilogueKind.I8) {
        f32[(a0 >> 2) + o] = Math.fround(scale[o]! / out.scale!);
        f32[(a1 >> 2) + o] = Math.fround(bias[o]! / out.scale!);
      } else {
        const [lo, hi] = signBounds(scale[o]!, bias[o]!, K);
        i32[(a0 >> 2) + o] = lo;
        i32[(a1 >> 2) + o] = hi;
      }
    }
    if (this.outKind === BinaryEpilogueKind.I8) {
      f32[h + BF.LO] = -128 - out.zeroPoint!;
      f32[h + BF.HI] = 127 - out.zeroPoint!;
      i32[h + BF.ZP] = out.zeroPoint!;
    }
    return p;
  }

  /** Output row stride: elements, or words for bits. */
  protected get ldo(): number {
    return this.outKind === BinaryEpilogueKind.Bits ? wordsFor(this.outChannels) : this.outChannels;
  }

  /** Output bytes for M rows. */
  protected outBytes(M: number): number {
    return this.outKind === BinaryEpilogueKind.I8 ? M * this.ldo : M * this.ldo * 4;
  }

  /** The input and output of the run in progress, read once (reused: runs allocate nothing). */
  protected readonly xArg: BitsArg = { bits: new Uint32Array(0), shape: [] };
  protected readonly outArg: BitsArg = { bits: new Uint32Array(0), shape: [] };

  /** A new output tensor of `shape` (M rows of the output channels) and the array inside it. */
  protected newOut(shape: number[], M: number): [BinaryResult<O>, Uint32Array | Int8Array | Float32Array] {
    const N = this.outChannels;
    checkResultSize(M * N, 4, 'x');
    if (this.outKind === BinaryEpilogueKind.Bits) {
      const bits = new Uint32Array(M * wordsFor(N));
      return [{ bits, shape } as unknown as BinaryResult<O>, bits];
    }
    const data = this.outKind === BinaryEpilogueKind.I8 ? new Int8Array(M * N) : new Float32Array(M * N);
    return [{ data, shape } as unknown as BinaryResult<O>, data];
  }

  /** Where the call in progress writes its result, and its rows (set by start, read by collect). */
  protected target: Uint32Array | Int8Array | Float32Array | null = null;
  protected rows = 0;

  /** The output `start` hands to `collect`: the caller's `out` when given, else a new one. */
  protected output(
    out: BinaryResult<O> | undefined,
    shape: readonly number[],
    leadDims: number,
    M: number,
  ): BinaryResult<O> {
    const N = this.outChannels;
    let y: BinaryResult<O>;
    if (out !== undefined && out !== null) {
      this.target = checkOutData(out, this.outKind, M, N, this.outArg);
      checkOutShape(out, shape, leadDims, N);
      y = out;
    } else [y, this.target] = this.newOut([...shape.slice(0, leadDims), N], M);
    this.rows = M;
    return y;
  }

  /** Copies the call's rows of output from yBuf into its target. */
  protected collect(y: BinaryResult<O>): BinaryResult<O> {
    const M = this.rows;
    const target = this.target!;
    this.target = null;
    if (M === 0) return y;
    const N = this.outChannels;
    if (this.outKind === BinaryEpilogueKind.Bits) copyInto(target, this.yBuf.view(Uint32Array, M * wordsFor(N)));
    else if (this.outKind === BinaryEpilogueKind.I8) copyInto(target, this.yBuf.view(Int8Array, M * N));
    else copyInto(target, this.yBuf.view(Float32Array, M * N));
    return y;
  }
}

/**
 * A binary fully-connected layer (see {@link Qwasm.binaryLinear}).
 *
 * @example
 * ```ts
 * const fc: BinaryLinear<'bits'> = qw.binaryLinear({ weights: { data: wf, shape: [N, K] }, output: 'bits' });
 * const h = fc.run(qw.bitpack({ data: xf, shape: [M, K] })); // BitTensor [M, N]
 * fc.dispose();
 * ```
 */
export class BinaryLinear<O extends BinaryOutput = 'float32'> extends BinaryLayer<O> {
  /** K: bits per input row. */
  readonly inFeatures: number;
  /** N: values (or bits) per output row. */
  readonly outFeatures: number;
  private readonly base: number;

  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime, config: BinaryLinearConfig<O>) {
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const weights = readTensor(cfg.weights, 'weights');
    checkDtype(weights, 'weights', Float32Array);
    const ws = weights.shape;
    check(ws.length === 2, 'weights', `must be 2-D [N, K], got shape [${ws.join(', ')}]`);
    const [N, K] = ws as [number, number];
    check(N > 0 && K > 0, 'weights', `must not be empty, got shape [${N}, ${K}]`);
    super(rt, cfg, weights.data as Float32Array, N, 1, K, false);
    this.inFeatures = K;
    this.outFeatures = N;
    const np = paddedChannels(rt, N);
    this.base = rt.heap.alloc(np * 4, 'weights');
    this.blocks.push(this.base);
    rt.heap.i32.fill(K, this.base >> 2, (this.base >> 2) + np);
  }

  /** Bytes of packed weights in wasm memory. */
  get packedBytes(): number {
    return packedBinaryWeightBytes(this.rt, this.outFeatures, 1, this.inFeatures);
  }

  /**
   * Runs on x [..., K] (bits from qw.bitpack or a binary layer's 'bits' output); returns
   * [..., N], written into `out` when given (no allocation).
   */
  override run(x: BitTensor, out?: BinaryResult<O>): BinaryResult<O> {
    return super.run(x, out);
  }

  protected start(xArg: BitTensor, out?: BinaryResult<O>): BinaryResult<O> {
    this.live();
    const x = readBits(xArg, 'x', this.xArg);
    const K = this.inFeatures;
    const last = x.shape[x.shape.length - 1];
    if (last !== K) throw new QwasmError('x', `has K = ${last} but the layer has ${K} input features`);
    const M = rowsOfBits(x.shape);
    const N = this.outFeatures;
    const y = this.output(out, x.shape, x.shape.length - 1, M);
    if (M === 0) return y;
    const rt = this.rt;
    const plan = chunkPlan(K);
    const rowBytes = rowBytesFor(rt, K);
    const xp = this.xBuf.ensure(M * rowBytes, 'x');
    const tmp = copyNeedsTemp(rt, K) ? this.tmpBuf.ensure(x.bits.length * 4, 'x') : 0;
    const rec = this.recBuf.ensure(M * (plan.splits + 1) * 4, 'x');
    const yp = this.yBuf.ensure(this.outBytes(M), 'x');
    copyBitsIn(rt, x.bits, M, K, xp, tmp);
    rt.kernels.bgemm_records(xp, M, rowBytes, plan.splits, plan.cv * binaryLayout(rt).chunk, this.base, rec);
    rt.kernels.bgemm(rec, M, plan.splits, plan.cv, this.weights, N, yp, this.ldo, this.outKind, this.params);
    return y;
  }
}

/**
 * A binary NHWC convolution layer (see {@link Qwasm.binaryConv2dLayer}).
 *
 * @example
 * ```ts
 * const conv: BinaryConv2d = qw.binaryConv2dLayer({ weights: { data: wf, shape: [128, 3, 3, 64] }, pads: [1, 1, 1, 1] });
 * const y = conv.run(qw.bitpack({ data: xf, shape: [1, 28, 28, 64] })); // Tensor<Float32Array> [1, 28, 28, 128]
 * conv.dispose();
 * ```
 */
export class BinaryConv2d<O extends BinaryOutput = 'float32'> extends BinaryLayer<O> {
  /** C: the input's channels (bits per pixel). */
  readonly inChannels: number;
  private readonly geo: BinaryConvGeometry;
  private readonly tableBuf: Workspace;
  /** The tables of the last input shape, and where they were written (0: not yet). */
  private tables: ConvTables | null = null;
  private outShape: number[] = [];
  private writtenX = 0;
  private writtenTable = 0;
  private writtenRec = 0;

  /** @internal Made by the engine (`qw.linear(...)` and its siblings), not by `new`. */
  constructor(rt: Runtime, config: BinaryConv2dConfig<O>) {
    rt.live();
    const cfg = readObject(config, 'config', 'an object');
    const weights = readTensor(cfg.weights, 'weights');
    checkDtype(weights, 'weights', Float32Array);
    const geo = resolveBinaryConv(weights.shape, cfg, '', 'weights');
    super(rt, cfg, weights.data as Float32Array, geo.O, geo.kH * geo.kW, geo.C, geo.padValue === 0);
    this.geo = geo;
    this.inChannels = geo.C;
    this.tableBuf = this.workspace();
  }

  /** Bytes of packed weights in wasm memory. */
  get packedBytes(): number {
    return packedBinaryWeightBytes(this.rt, this.geo.O, this.geo.kH * this.geo.kW, this.geo.C);
  }

  /**
   * Runs on x [N, H, W, C] (bits packed along C); returns [N, OH, OW, O], written into
   * `out` when given (no allocation once this input shape has been seen).
   */
  override run(x: BitTensor, out?: BinaryResult<O>): BinaryResult<O> {
    return super.run(x, out);
  }

  protected start(xArg: BitTensor, out?: BinaryResult<O>): BinaryResult<O> {
    this.live();
    const x = readBits(xArg, 'x', this.xArg);
    const g = this.geo;
    if (x.shape.length !== 4)
      throw new QwasmError('x', `must be 4-D NHWC [N, H, W, C] (packed along C), got shape [${x.shape.join(', ')}]`);
    const Nb = x.shape[0]!;
    const H = x.shape[1]!;
    const W = x.shape[2]!;
    if (x.shape[3] !== g.C) throw new QwasmError('x', `has C = ${x.shape[3]} channels but the layer expects ${g.C}`);
    if (H === 0 || W === 0) throw new QwasmError('x', `must have non-empty spatial dims, got ${H}x${W}`);
    const rt = this.rt;
    let t = this.tables;
    if (t === null || t.Nb !== Nb || t.H !== H || t.W !== W) {
      t = convTables(rt, g, Nb, H, W, 'x');
      this.tables = t;
      this.outShape = [Nb, t.OH, t.OW, g.O];
      this.writtenX = 0;
    }
    const M = Nb * t.OH * t.OW;
    const y = this.output(out, this.outShape, 3, M);
    if (M === 0) return y;
    const xp = this.xBuf.ensure(t.xBytes, 'x');
    const tmp = this.tmpBuf.ensure(x.bits.length * 4, 'x');
    const table = this.tableBuf.ensure(t.tableBytes, 'x');
    const rec = this.recBuf.ensure(t.recordBytes, 'x');
    const yp = this.yBuf.ensure(this.outBytes(M), 'x');
    // the records point into x's and the table's blocks: rewrite them when any moved
    if (this.writtenX !== xp || this.writtenTable !== table || this.writtenRec !== rec) {
      writeConvTables(rt, g, t, this.sums, xp, table, rec);
      this.writtenX = xp;
      this.writtenTable = table;
      this.writtenRec = rec;
    }
    copyConvInput(rt, g, t, x.bits, xp, tmp);
    rt.kernels.bgemm(rec, M, t.taps, t.tapChunks, this.weights, g.O, yp, this.ldo, this.outKind, this.params);
    return y;
  }
}
