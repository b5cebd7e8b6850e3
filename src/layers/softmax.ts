// The layer form of QLinearSoftmax, for what a runtime calls per inference: the
// quantization resolved once, the exp table written into wasm memory once per axis length,
// workspaces reused, so `run(x, out)` allocates nothing in steady state. Arithmetic: the
// op's (src/ops/softmax.ts), bit for bit.
import { check } from '../errors.js';
import type { Runtime, Workspace } from '../runtime.js';
import { checkTensor, dtypeOf, normalizeAxis, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray, dtypeRange } from '../quant/dtype.js';
import { softmaxTable } from '../ops/softmax.js';
import { Layer } from './layer.js';
import { checkOut, copyCodes, readConfig, readQuant, sameShape, type ElementwiseQuant } from './codes.js';

/**
 * Configuration of {@link Qwasm.softmaxLayer}: the input and output quantization and the
 * axis (default -1: the channels of an NHWC map, the classes of [N, classes] logits).
 *
 * @example
 * ```ts
 * const cfg: SoftmaxLayerConfig = { input: { scale: 0.1, zeroPoint: 0 }, output: { scale: 1 / 256, zeroPoint: -128 } };
 * ```
 */
export interface SoftmaxLayerConfig {
  /** The input quantization (its dtype is the layer's). */
  input: ElementwiseQuant;
  /** The output quantization. */
  output: ElementwiseQuant;
  /** The axis the softmax normalizes along (default -1; negative counts from the end). */
  axis?: number;
}

/**
 * A quantized softmax along one axis (made by `qw.softmaxLayer`), with the arithmetic of
 * {@link Qwasm.qlinearSoftmax}.
 */
export class SoftmaxLayer extends Layer<Tensor<Int8Array | Uint8Array>, Tensor<Int8Array | Uint8Array>> {
  /** The input and output dtype. */
  readonly dtype: QuantDtype;
  private readonly axis: number;
  private readonly xs: number;
  private readonly zy: number;
  private readonly Y: number;
  private readonly tablePtr: number;
  private readonly xBuf: Workspace;
  private readonly yBuf: Workspace;
  private seen: readonly number[] | null = null;
  private split: [number, number, number] = [0, 0, 0];
  private tableD = -1;
  private count = 0;

  /** @internal Made by the engine (`qw.softmaxLayer(...)`), not by `new`. */
  constructor(rt: Runtime, config: SoftmaxLayerConfig) {
    rt.live();
    const cfg = readConfig(config, 'config', 'an object { input, output, axis? }');
    const x = readQuant(cfg.input, 'input');
    const y = readQuant(cfg.output, 'output', x.dtype);
    const axis = cfg.axis ?? -1;
    check(typeof axis === 'number' && Number.isInteger(axis), 'axis', `must be an integer, got ${String(axis)}`);
    super(rt);
    this.dtype = x.dtype;
    this.axis = axis;
    this.xs = x.s;
    this.zy = y.z;
    this.Y = Math.floor(Math.fround(1 / Math.fround(y.s)));
    this.xBuf = this.workspace();
    this.yBuf = this.workspace();
    this.tablePtr = rt.heap.alloc(256 * 4);
    this.blocks.push(this.tablePtr);
  }

  protected start(
    x: Tensor<Int8Array | Uint8Array>,
    out?: Tensor<Int8Array | Uint8Array>,
  ): Tensor<Int8Array | Uint8Array> {
    this.live();
    this.count = 0;
    checkTensor(x, 'x');
    check(dtypeOf(x.data, 'x') === this.dtype, 'x', `must be ${this.dtype}`);
    if (!sameShape(x.shape, this.seen)) this.plan(x.shape);
    const n = x.data.length;
    let y: Tensor<Int8Array | Uint8Array>;
    if (out !== undefined && out !== null) {
      checkOut(out, this.dtype, n);
      y = out;
    } else y = { data: newQuantArray(this.dtype, n), shape: [...x.shape] };
    if (n === 0) return y;
    this.count = n;
    const px = this.xBuf.ensure(n, 'x');
    const po = this.yBuf.ensure(n, 'x');
    copyCodes(this.rt, x.data, px);
    const [outer, D, inner] = this.split;
    this.rt.kernels.qsoftmax(
      px,
      outer,
      D,
      inner,
      this.dtype === 'int8' ? 1 : 0,
      this.tablePtr,
      this.Y,
      this.zy,
      dtypeRange(this.dtype).qmax,
      po,
    );
    return y;
  }

  /** Resolves a new input shape: [outer, D, inner] around the axis, the exp table of D. */
  private plan(shape: readonly number[]): void {
    check(shape.length > 0, 'x', 'softmax needs a tensor of rank >= 1');
    const axis = normalizeAxis(this.axis, shape.length, 'axis');
    let outer = 1;
    let inner = 1;
    for (let i = 0; i < axis; i++) outer *= shape[i]!;
    for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
    const D = shape[axis]!;
    if (D !== this.tableD && D > 0) {
      this.rt.heap.f32.set(softmaxTable(this.xs, D), this.tablePtr >> 2);
      this.tableD = D;
    }
    this.split = [outer, D, inner];
    this.seen = [...shape];
  }

  protected collect(y: Tensor<Int8Array | Uint8Array>): Tensor<Int8Array | Uint8Array> {
    if (this.count === 0) return y;
    if (this.dtype === 'int8') (y.data as Int8Array).set(this.yBuf.view(Int8Array, this.count));
    else (y.data as Uint8Array).set(this.yBuf.view(Uint8Array, this.count));
    return y;
  }
}
