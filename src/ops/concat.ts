// QLinearConcat (onnxruntime's com.microsoft contrib operator) and its float32 twin:
// validate -> per input, a requantizing table (lookup.ts) or a straight copy when its
// quantization equals the output's -> one strided kernel call per input -> view.
import { QwasmError, check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, normalizeAxis, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray } from '../quant/dtype.js';
import { resolveScale, resolveZeroPoint, type Scale, type ZeroPoint } from '../quant/params.js';
import { buildLookupTable, runLookup } from './lookup.js';

/**
 * One quantized input of qlinearConcat: the tensor, its scale and zero point.
 *
 * @example
 * ```ts
 * const input: QuantizedInput = [{ data: x0, shape: [1, 24, 20, 20] }, 0.05, 0];
 * ```
 */
export type QuantizedInput = readonly [Tensor, Scale, ZeroPoint | undefined];

/**
 * Attributes of qlinearConcat and concatF32.
 *
 * @example
 * ```ts
 * const attrs: ConcatAttributes = { axis: 1 };
 * ```
 */
export interface ConcatAttributes {
  /** The axis the inputs are joined along (negative counts from the end). Required, as in ONNX. */
  axis: number;
}

/** Output shape and the [outer, run] split of each input around `axis`. */
interface ConcatGeometry {
  shape: number[];
  outer: number;
  runs: number[];
  total: number;
}

function geometry(tensors: Tensor[], attrs: ConcatAttributes | undefined): ConcatGeometry {
  check(typeof attrs === 'object' && attrs !== null, 'attrs', 'expected an object with an axis');
  check(
    typeof attrs.axis === 'number' && Number.isInteger(attrs.axis),
    'attrs.axis',
    `must be an integer, got ${String(attrs.axis)}`,
  );
  const first = tensors[0]!;
  const rank = first.shape.length;
  check(rank > 0, 'inputs[0]', 'concat needs tensors of rank >= 1');
  const axis = normalizeAxis(attrs.axis, rank, 'attrs.axis');
  const shape = [...first.shape];
  shape[axis] = 0;
  for (let i = 0; i < tensors.length; i++) {
    const s = tensors[i]!.shape;
    check(s.length === rank, `inputs[${i}]`, `has rank ${s.length}, expected ${rank}`);
    for (let d = 0; d < rank; d++) {
      check(
        d === axis || s[d] === first.shape[d],
        `inputs[${i}]`,
        `shape [${s.join(', ')}] differs from [${first.shape.join(', ')}] outside axis ${axis}`,
      );
    }
    shape[axis]! += s[axis]!;
  }
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  for (let d = axis + 1; d < rank; d++) inner *= shape[d]!;
  const runs = tensors.map((t) => t.shape[axis]! * inner);
  return { shape, outer, runs, total: shape[axis]! * inner };
}

function readInputs(inputs: unknown): unknown[] {
  check(Array.isArray(inputs), 'inputs', 'expected an array');
  check(inputs.length > 0, 'inputs', 'needs at least one input');
  return inputs as unknown[];
}

/** qlinearConcat: see the engine's TSDoc. */
export function qlinearConcat(
  rt: Runtime,
  inputs: readonly QuantizedInput[],
  yScale: Scale,
  yZeroPoint: ZeroPoint | undefined,
  attrs: ConcatAttributes,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  const list = readInputs(inputs);
  const tensors: Tensor[] = [];
  let dtype: QuantDtype | undefined;
  const quants: Array<{ s: number; z: number }> = [];
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) {
      throw new QwasmError(`inputs[${i}]`, 'expected [tensor, scale, zeroPoint]');
    }
    const t = entry[0] as Tensor;
    checkTensor(t, `inputs[${i}]`);
    const dt = dtypeOf(t.data, `inputs[${i}]`);
    dtype ??= dt;
    check(dt === dtype, `inputs[${i}]`, `is ${dt} but inputs[0] is ${dtype}`);
    quants.push({
      s: resolveScale(entry[1] as Scale, `inputs[${i}][1]`)[0]!,
      z: resolveZeroPoint(entry[2] as ZeroPoint | undefined, `inputs[${i}][2]`, dt)[0]!,
    });
    tensors.push(t);
  }
  const dt = dtype!;
  const sy = resolveScale(yScale, 'yScale')[0]!;
  const zy = resolveZeroPoint(yZeroPoint, 'yZeroPoint', dt)[0]!;
  const geo = geometry(tensors, attrs);
  const count = geo.outer * geo.total;
  const data = newQuantArray(dt, count);
  if (count === 0) return { data, shape: geo.shape };
  const identity = (v: number) => v;
  rt.scoped((alloc) => {
    const po = alloc(count, 'inputs');
    const pt = alloc(256);
    let offset = 0;
    for (let i = 0; i < tensors.length; i++) {
      const run = geo.runs[i]!;
      if (run > 0 && geo.outer > 0) {
        const src = tensors[i]!.data as Int8Array | Uint8Array;
        const px = alloc(src.length, `inputs[${i}]`);
        rt.heap.u8.set(new Uint8Array(src.buffer, src.byteOffset, src.length), px);
        const q = quants[i]!;
        if (q.s === sy && q.z === zy) rt.kernels.copy_rows(px, run, run, geo.outer, po + offset, geo.total);
        else {
          rt.heap.u8.set(buildLookupTable(identity, dt, q.s, q.z, sy, zy), pt);
          runLookup(rt, alloc, pt, px, run, run, geo.outer, po + offset, geo.total);
        }
      }
      offset += run;
    }
    data.set(dt === 'int8' ? rt.heap.i8.subarray(po, po + count) : rt.heap.u8.subarray(po, po + count));
  });
  return { data, shape: geo.shape };
}

/** concatF32: float32 tensors joined along one axis. */
export function concatF32(rt: Runtime, inputs: readonly Tensor[], attrs: ConcatAttributes): Tensor<Float32Array> {
  rt.live();
  const list = readInputs(inputs);
  const tensors: Tensor[] = [];
  for (let i = 0; i < list.length; i++) {
    const t = list[i] as Tensor;
    checkTensor(t, `inputs[${i}]`);
    check(t.data instanceof Float32Array, `inputs[${i}]`, `expected Float32Array, got ${t.data.constructor.name}`);
    tensors.push(t);
  }
  const geo = geometry(tensors, attrs);
  const count = geo.outer * geo.total;
  const data = new Float32Array(count);
  if (count === 0) return { data, shape: geo.shape };
  rt.scoped((alloc) => {
    const po = alloc(count * 4, 'inputs');
    let offset = 0;
    for (let i = 0; i < tensors.length; i++) {
      const run = geo.runs[i]!;
      if (run > 0) {
        const src = tensors[i]!.data as Float32Array;
        const px = alloc(src.length * 4, `inputs[${i}]`);
        rt.heap.f32.set(src, px >> 2);
        rt.kernels.copy_rows(px, run * 4, run * 4, geo.outer, po + offset * 4, geo.total * 4);
      }
      offset += run;
    }
    data.set(rt.heap.f32.subarray(po >> 2, (po >> 2) + count));
  });
  return { data, shape: geo.shape };
}
