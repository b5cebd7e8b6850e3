// QLinearConcat (onnxruntime's com.microsoft contrib operator) and its float32 twin:
// validate -> per input, a requantizing table (lookup.ts) or a straight copy when its
// quantization equals the output's -> one kernel call writing the output row by row
// (concat_rows) -> view. Where the inputs' runs are long (NCHW along channels, any concat
// along the outermost axes), the op instead copies each run straight from its input's
// array into the result (copyRuns), staging only the inputs it requantizes.
import { QwasmError, check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, normalizeAxis, type QuantDtype, type Tensor } from '../tensor.js';
import { resolveScale, resolveZeroPoint, type Scale, type ZeroPoint } from '../quant/params.js';
import { buildLookupTable, PAIRS_BYTES, PAIRS_MIN_CODES } from './lookup.js';
import { outputArray, type OpOutput } from './out.js';

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
export interface ConcatGeometry {
  shape: number[];
  outer: number;
  runs: number[];
  total: number;
}

export function concatGeometry(
  tensors: Tensor[],
  attrs: ConcatAttributes | undefined,
  inputsName = 'inputs',
  axisName = 'attrs.axis',
): ConcatGeometry {
  check(typeof attrs === 'object' && attrs !== null, 'attrs', 'expected an object with an axis');
  check(
    typeof attrs.axis === 'number' && Number.isInteger(attrs.axis),
    axisName,
    `must be an integer, got ${String(attrs.axis)}`,
  );
  const first = tensors[0]!;
  const rank = first.shape.length;
  check(rank > 0, `${inputsName}[0]`, 'concat needs tensors of rank >= 1');
  const axis = normalizeAxis(attrs.axis, rank, axisName);
  const shape = [...first.shape];
  shape[axis] = 0;
  for (let i = 0; i < tensors.length; i++) {
    const s = tensors[i]!.shape;
    check(s.length === rank, `${inputsName}[${i}]`, `has rank ${s.length}, expected ${rank}`);
    for (let d = 0; d < rank; d++) {
      check(
        d === axis || s[d] === first.shape[d],
        `${inputsName}[${i}]`,
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

/**
 * Writes the per-input arrays concat_rows reads at `rec` (3 x inputs int32: addresses,
 * runs in bytes, tables) and runs it: `outer` output rows of `total` bytes at `out`.
 */
export function runConcatRows(
  rt: Runtime,
  rec: number,
  srcs: readonly number[],
  runs: readonly number[],
  tables: readonly number[],
  outer: number,
  out: number,
  total: number,
): void {
  const k = srcs.length;
  const i32 = rt.heap.i32;
  const r = rec >> 2;
  for (let i = 0; i < k; i++) {
    i32[r + i] = srcs[i]!;
    i32[r + k + i] = runs[i]!;
    i32[r + 2 * k + i] = tables[i]!;
  }
  rt.kernels.concat_rows(rec, rec + 4 * k, rec + 8 * k, k, outer, out, total);
}

/**
 * The requantizing table of one concat input in wasm memory, for `codes` codes: the
 * 256-byte table (at `table`), expanded into a pair table (allocated with `alloc`; its
 * address + 1, as concat_rows reads it) from PAIRS_MIN_CODES codes.
 */
export function concatTable(
  rt: Runtime,
  alloc: (bytes: number, what?: string) => number,
  table: number,
  codes: number,
): number {
  if (codes < PAIRS_MIN_CODES) return table;
  const pairs = alloc(PAIRS_BYTES);
  rt.kernels.lookup_pairs_build(table, pairs);
  return pairs + 1;
}

/** The table that requantizes codes of (s, z) to (sy, zy) as onnxruntime's QLinearConcat does. */
export function requantTable(dtype: QuantDtype, s: number, z: number, sy: number, zy: number): Uint8Array {
  return buildLookupTable(identity, dtype, s, z, sy, zy);
}

const identity = (v: number) => v;

/**
 * Average bytes per run (one input's part of one output row) from which the op forms copy
 * runs with TypedArray.set rather than through wasm memory: a set() call costs about what
 * copying a kilobyte does, while each staged byte is copied three times (in, kernel, out).
 * Short runs (NHWC along channels: 24 bytes per pixel and input) stay on the kernel, where a
 * per-run set() is ten times slower than staging (bench/elementwise.bench.mjs, concat cases).
 */
const DIRECT_RUN_BYTES = 1024;

/** True when runs of `bytes` output bytes in all, `segments` runs, are long enough to copy one by one. */
function longRuns(bytes: number, segments: number): boolean {
  return bytes >= segments * DIRECT_RUN_BYTES;
}

/** True when `out` shares memory with an input (the op then stages every input first). */
function aliasesInput(out: OpOutput | undefined, tensors: readonly Tensor[]): boolean {
  if (out === undefined || out === null) return false;
  return tensors.some((t) => t.data.buffer === out.buffer);
}

/**
 * Writes the result run by run: output row r is each input's run r in turn, taken from
 * `sources[i]` (the input's own array, or its requantized codes in wasm memory).
 */
function copyRuns<T extends Int8Array | Uint8Array | Float32Array>(
  data: T,
  sources: readonly T[],
  runs: readonly number[],
  outer: number,
): void {
  let off = 0;
  for (let r = 0; r < outer; r++) {
    for (let i = 0; i < sources.length; i++) {
      const run = runs[i]!;
      if (run > 0) data.set(sources[i]!.subarray(r * run, (r + 1) * run), off);
      off += run;
    }
  }
}

/** qlinearConcat: see the engine's TSDoc. */
export function qlinearConcat(
  rt: Runtime,
  inputs: readonly QuantizedInput[],
  yScale: Scale,
  yZeroPoint: ZeroPoint | undefined,
  attrs: ConcatAttributes,
  out?: OpOutput,
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
  const geo = concatGeometry(tensors, attrs);
  const count = geo.outer * geo.total;
  const data = outputArray(out, dt, count);
  if (count === 0) return { data, shape: geo.shape };
  if (longRuns(count, geo.outer * tensors.length) && !aliasesInput(out, tensors)) {
    concatRunsQ8(rt, tensors, quants, dt, sy, zy, geo, data);
    return { data, shape: geo.shape };
  }
  rt.scoped((alloc) => {
    const k = tensors.length;
    const rec = alloc(12 * k);
    const po = alloc(count, 'inputs');
    const srcs: number[] = [];
    const tables: number[] = [];
    for (let i = 0; i < k; i++) {
      const run = geo.runs[i]!;
      let px = 0;
      let table = 0;
      if (run > 0) {
        const src = tensors[i]!.data as Int8Array | Uint8Array;
        px = alloc(src.length, `inputs[${i}]`);
        rt.heap.u8.set(new Uint8Array(src.buffer, src.byteOffset, src.length), px);
        const q = quants[i]!;
        if (q.s !== sy || q.z !== zy) {
          const t = alloc(256);
          rt.heap.u8.set(requantTable(dt, q.s, q.z, sy, zy), t);
          table = concatTable(rt, alloc, t, src.length);
        }
      }
      srcs.push(px);
      tables.push(table);
    }
    runConcatRows(rt, rec, srcs, geo.runs, tables, geo.outer, po, geo.total);
    data.set(dt === 'int8' ? rt.heap.i8.subarray(po, po + count) : rt.heap.u8.subarray(po, po + count));
  });
  return { data, shape: geo.shape };
}

/**
 * qlinearConcat with long runs: inputs whose quantization is the output's are copied run by
 * run straight from their arrays; the others are copied into wasm memory, requantized there
 * in one pass (lookup_u8_pairs, or lookup_u8 under PAIRS_MIN_CODES codes), and their runs
 * copied out of it.
 */
function concatRunsQ8(
  rt: Runtime,
  tensors: readonly Tensor[],
  quants: readonly { s: number; z: number }[],
  dt: QuantDtype,
  sy: number,
  zy: number,
  geo: ConcatGeometry,
  data: Int8Array | Uint8Array,
): void {
  rt.scoped((alloc) => {
    const staged: number[] = [];
    for (let i = 0; i < tensors.length; i++) {
      const src = tensors[i]!.data as Int8Array | Uint8Array;
      const q = quants[i]!;
      if (src.length === 0 || (q.s === sy && q.z === zy)) {
        staged.push(0);
        continue;
      }
      const n = src.length;
      const px = alloc(n, `inputs[${i}]`);
      rt.heap.u8.set(new Uint8Array(src.buffer, src.byteOffset, n), px);
      const t = alloc(256);
      rt.heap.u8.set(requantTable(dt, q.s, q.z, sy, zy), t);
      const table = concatTable(rt, alloc, t, n);
      if (table & 1) rt.kernels.lookup_u8_pairs(px, n, n, 1, table - 1, px, n);
      else rt.kernels.lookup_u8(px, n, n, 1, table, px, n);
      staged.push(px);
    }
    // views made after every allocation: a memory.grow would detach earlier ones
    const heap = dt === 'int8' ? rt.heap.i8 : rt.heap.u8;
    const sources = tensors.map((t, i) =>
      staged[i] === 0 ? (t.data as Int8Array | Uint8Array) : heap.subarray(staged[i]!, staged[i]! + t.data.length),
    );
    copyRuns(data, sources, geo.runs, geo.outer);
  });
}

/** concatF32: float32 tensors joined along one axis. */
export function concatF32(
  rt: Runtime,
  inputs: readonly Tensor[],
  attrs: ConcatAttributes,
  out?: OpOutput,
): Tensor<Float32Array> {
  rt.live();
  const list = readInputs(inputs);
  const tensors: Tensor[] = [];
  for (let i = 0; i < list.length; i++) {
    const t = list[i] as Tensor;
    checkTensor(t, `inputs[${i}]`);
    check(t.data instanceof Float32Array, `inputs[${i}]`, `expected Float32Array, got ${t.data.constructor.name}`);
    tensors.push(t);
  }
  const geo = concatGeometry(tensors, attrs);
  const count = geo.outer * geo.total;
  const data = outputArray(out, 'float32', count);
  if (count === 0) return { data, shape: geo.shape };
  if (longRuns(count * 4, geo.outer * tensors.length) && !aliasesInput(out, tensors)) {
    copyRuns(
      data,
      tensors.map((t) => t.data as Float32Array),
      geo.runs,
      geo.outer,
    );
    return { data, shape: geo.shape };
  }
  rt.scoped((alloc) => {
    const k = tensors.length;
    const rec = alloc(12 * k);
    const po = alloc(count * 4, 'inputs');
    const srcs: number[] = [];
    for (let i = 0; i < k; i++) {
      const src = tensors[i]!.data as Float32Array;
      const px = src.length > 0 ? alloc(src.length * 4, `inputs[${i}]`) : 0;
      if (px !== 0) rt.heap.f32.set(src, px >> 2);
      srcs.push(px);
    }
    const runs = geo.runs.map((r) => r * 4);
    runConcatRows(rt, rec, srcs, runs, new Array<number>(k).fill(0), geo.outer, po, geo.total * 4);
    data.set(rt.heap.f32.subarray(po >> 2, (po >> 2) + count));
  });
  return { data, shape: geo.shape };
}
