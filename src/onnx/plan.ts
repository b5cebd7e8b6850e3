// The planner: walks the graph once in execution order and turns every node into steps over
// values whose shapes, dtypes and layouts are fixed; folds what is constant on the way; then
// lays every intermediate into one arena by liveness. `run` only executes the steps.
import { QwasmError } from '../errors.js';
import { MAX_TENSOR_BYTES } from '../tensor.js';
import type { Qwasm } from '../engine.js';
import type { Heap } from '../memory.js';
import type { Runtime } from '../runtime.js';
import type { Graph, GraphNode } from './graph.js';
import {
  allocArray,
  elementBytes,
  numel,
  viewArray,
  type OnnxArray,
  type OnnxDtype,
  type OnnxTensor,
} from './tensor.js';

/** Quantization of an int8 / uint8 activation: real = scale * (q - zeroPoint). */
export interface ValQuant {
  scale: number;
  zeroPoint: number;
}

/**
 * A value of the plan. `shape` is the ONNX (logical) shape; a 4-D value with `nhwc` set is
 * stored as [N, H, W, C]. `data` is the constant's array, or the value's arena view once
 * the arena is laid out.
 */
export interface Val {
  readonly shape: readonly number[];
  readonly dtype: OnnxDtype;
  readonly nhwc: boolean;
  readonly isConst: boolean;
  data: OnnxArray | null;
  quant: ValQuant | null;
  /** The ONNX value name, when it has one. */
  name: string;
  /**
   * Byte address of a runtime value in wasm memory once its plan's arena is bound (0 before,
   * and for constants): the address steps hand the kernels. It never moves; `data` is
   * re-made when memory grows.
   */
  ptr: number;
}

/** The stored shape of a value: NHWC for 4-D values kept channels-last. */
export function physShape(v: Val): number[] {
  const s = v.shape;
  return v.nhwc ? [s[0]!, s[2]!, s[3]!, s[1]!] : [...s];
}

/** One step of a plan: a node (or a layout conversion) bound to its values. */
export interface Step {
  /** The node it runs, or the conversion's name. */
  node: string;
  /** What it runs, e.g. 'Conv (conv2dF32)'. */
  op: string;
  ins: Val[];
  outs: Val[];
  run: () => void;
}

/** A lowering: turns one node into steps; returns its output values. */
export type Lowering = (p: Planner, node: GraphNode, ins: (Val | null)[]) => (Val | null)[];

/** Things a plan owns that must be disposed with it (packed layers). */
export interface Disposable {
  dispose(): void;
}

/** Where an error about a node points. */
export function at(node: GraphNode): string {
  return `node '${node.name}' (${node.opType})`;
}

/** Builds a plan: values, steps, and the engine layers they hold. */
export class Planner {
  readonly steps: Step[] = [];
  /** Layers this plan created (the cache keeps them for the model's later plans). */
  readonly created: string[] = [];
  /** Blocks of wasm memory the plan owns (constants steps read by address), freed with it. */
  readonly blocks: number[] = [];
  /** Work to do once the arena is bound (tables of addresses some steps hand their kernels). */
  readonly binds: (() => void)[] = [];
  /** The engine's runtime: its heap holds the arena, its kernels run the pointer steps. */
  readonly rt: Runtime;
  private readonly constBlocks = new Map<OnnxArray, number>();
  private folding: Step[] | null = null;
  private readonly layoutCache = new Map<Val, Val>();
  /**
   * Float convs may take the hard-swish after them into their epilogue. Off while calibrating
   * and in quantized plans, which observe or quantize the conv's own output.
   */
  fuseEpilogues = true;
  /**
   * Float pointwise programs round every instruction to float32 (one ONNX op each, as
   * onnxruntime runs the exported file) instead of taking fused passes. On in quantized plans:
   * a float region there sits between quantized values, where a last-bit difference can move a
   * code.
   */
  exactFloat = false;

  constructor(
    readonly qw: Qwasm,
    readonly graph: Graph,
    private readonly lowerings: ReadonlyMap<string, Lowering>,
    /** Packed layers by node, shared by every plan of one model: weights are packed once, not per input shape. */
    readonly layers: Map<string, Disposable> = new Map(),
  ) {
    this.rt = qw.runtime;
  }

  /**
   * True while the planner folds constants: the steps made then run at once on JavaScript
   * arrays, so lowerings give them their array form rather than their wasm-address form.
   */
  get isFolding(): boolean {
    return this.folding !== null;
  }

  /** The wasm address of a constant's data, copied once into a block the plan owns. */
  constPtr(v: Val): number {
    const data = v.data!;
    const hit = this.constBlocks.get(data);
    if (hit !== undefined) return hit;
    const bytes = data.byteLength;
    const ptr = this.rt.heap.alloc(bytes, v.name || 'constant');
    this.blocks.push(ptr);
    this.rt.heap.u8.set(new Uint8Array(data.buffer, data.byteOffset, bytes), ptr);
    this.constBlocks.set(data, ptr);
    return ptr;
  }

  /** A block of `bytes` the plan owns (tables of addresses written at bind), freed with it. */
  block(bytes: number): number {
    const ptr = this.rt.heap.alloc(bytes, 'plan');
    this.blocks.push(ptr);
    return ptr;
  }

  /** Runs `fn` once the arena is bound and every runtime value has its address. */
  onBind(fn: () => void): void {
    this.binds.push(fn);
  }

  /** A new runtime value. */
  val(shape: readonly number[], dtype: OnnxDtype, nhwc = false, name = ''): Val {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0)
        throw new QwasmError(name || 'shape', `has an invalid dimension in [${shape.join(', ')}]`);
    }
    if (numel(shape) * elementBytes(dtype) > MAX_TENSOR_BYTES) {
      throw new QwasmError(name || 'shape', `[${shape.join(', ')}] is too large for one tensor`);
    }
    return {
      shape: [...shape],
      dtype,
      nhwc: nhwc && shape.length === 4,
      isConst: false,
      data: null,
      quant: null,
      name,
      ptr: 0,
    };
  }

  /** A constant value (data in the given layout). */
  constant(t: OnnxTensor, nhwc = false, name = ''): Val {
    return { shape: [...t.shape], dtype: t.dtype, nhwc, isConst: true, data: t.data, quant: null, name, ptr: 0 };
  }

  /** Adds a step. While folding, steps run at once on fresh arrays instead. */
  step(node: string, op: string, ins: Val[], outs: Val[], run: () => void): void {
    const s = { node, op, ins, outs, run };
    if (this.folding !== null) this.folding.push(s);
    else this.steps.push(s);
  }

  /**
   * The packed layer of `key` (a node and what runs it): made once per model by `make`, which
   * also does the weight preparation, and reused by every later plan.
   */
  layer<T extends Disposable>(key: string, make: () => T): T {
    const hit = this.layers.get(key);
    if (hit !== undefined) return hit as T;
    const layer = make();
    this.layers.set(key, layer);
    this.created.push(key);
    return layer;
  }

  /** The constant data of an input, or an error naming the node. */
  constData(v: Val | null, node: GraphNode, what: string): OnnxArray {
    if (v === null || !v.isConst || v.data === null) {
      throw new QwasmError(at(node), `needs ${what} to be a constant (computed from initializers and input shapes)`);
    }
    return v.nhwc ? toNchwArray(v) : v.data;
  }

  /** The value in NCHW order (a transpose step when it is stored NHWC). */
  nchw(v: Val): Val {
    if (!v.nhwc) return v;
    if (v.isConst) return { ...v, nhwc: false, data: toNchwArray(v), ptr: 0 };
    return this.convert(v, false);
  }

  /** The value stored NHWC (4-D only; a transpose step when it is stored NCHW). */
  nhwc(v: Val): Val {
    if (v.nhwc || v.shape.length !== 4) return v;
    if (v.isConst) return { ...v, nhwc: true, data: permute(v.data!, v.shape, [0, 2, 3, 1]), ptr: 0 };
    return this.convert(v, true);
  }

  private convert(v: Val, toNhwc: boolean): Val {
    const hit = this.layoutCache.get(v);
    if (hit !== undefined) return hit;
    const out = this.val(v.shape, v.dtype, toNhwc, v.name);
    out.quant = v.quant;
    const perm = toNhwc ? [0, 2, 3, 1] : [0, 3, 1, 2];
    const src = physShape(v);
    const [N, C, H, W] = v.shape as [number, number, number, number];
    const label = toNhwc ? 'to NHWC' : 'to NCHW';
    const es = v.dtype === 'float32' ? 4 : v.dtype === 'int8' || v.dtype === 'uint8' ? 1 : 0;
    if (C === 1 || H * W === 1) {
      // one channel or one pixel: both orders are the same bytes
      this.step(v.name, `${label} (copy)`, [v], [out], () => out.data!.set(v.data as never));
    } else if (es > 0 && !this.isFolding) {
      // the engine's transpose over the arena's addresses
      const [R, K] = toNhwc ? [C, H * W] : [H * W, C];
      const k = this.rt.kernels;
      this.step(v.name, `${label} (transpose_x${es * 8})`, [v], [out], () => {
        if (es === 4) k.transpose_x32(v.ptr, N, R, K, out.ptr);
        else k.transpose_x8(v.ptr, N, R, K, out.ptr);
      });
    } else if (v.dtype === 'float32') {
      const rows = toNhwc ? [N, C, H * W] : [N, H * W, C];
      this.step(v.name, label, [v], [out], () => {
        transposeRowsF32(v.data as Float32Array, out.data as Float32Array, rows[0]!, rows[1]!, rows[2]!);
      });
    } else {
      this.step(v.name, label, [v], [out], () => {
        permuteInto(v.data!, src, perm, out.data!);
      });
    }
    this.layoutCache.set(v, out);
    return out;
  }

  /** Lowers one node; folds it when every input is a constant. */
  lower(node: GraphNode, ins: (Val | null)[]): (Val | null)[] {
    const key = node.domain === '' ? node.opType : `${node.domain}.${node.opType}`;
    const lowering = this.lowerings.get(key);
    if (lowering === undefined) {
      throw new QwasmError(at(node), `op type ${key} is not one qwasm/onnx runs`);
    }
    const foldable = ins.every((v) => v === null || v.isConst) && ins.length > 0;
    if (!foldable) return lowering(this, node, ins);
    this.folding = [];
    let outs: (Val | null)[];
    const folded = this.folding;
    try {
      outs = lowering(this, node, ins);
    } finally {
      this.folding = null;
    }
    for (const s of folded) {
      for (const o of s.outs) if (o.data === null) o.data = allocArray(o.dtype, numel(o.shape));
      s.run();
    }
    return outs.map((o) => (o === null ? null : { ...o, isConst: true, ptr: 0 }));
  }
}

/** The NCHW data of a constant stored NHWC. */
function toNchwArray(v: Val): OnnxArray {
  return permute(v.data!, physShape(v), [0, 3, 1, 2]);
}

/** A permuted copy: out dim i is in dim perm[i]. */
export function permute(data: OnnxArray, shape: readonly number[], perm: readonly number[]): OnnxArray {
  const out = allocArray(dtypeOfData(data), data.length);
  permuteInto(data, shape, perm, out);
  return out;
}

function dtypeOfData(a: OnnxArray): OnnxDtype {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int32Array) return 'int32';
  return 'float64';
}

/** Transposes `src` (of `shape`) into `dst`: dst dim i is src dim perm[i]. */
export function permuteInto(src: OnnxArray, shape: readonly number[], perm: readonly number[], dst: OnnxArray): void {
  const r = shape.length;
  const inStrides = new Array<number>(r);
  let acc = 1;
  for (let i = r - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= shape[i]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const st = perm.map((p) => inStrides[p]!);
  if (r === 4) {
    const [d0, d1, d2, d3] = outShape as [number, number, number, number];
    const [s0, s1, s2, s3] = st as [number, number, number, number];
    let o = 0;
    for (let a = 0; a < d0; a++) {
      for (let b = 0; b < d1; b++) {
        for (let c = 0; c < d2; c++) {
          let i = a * s0 + b * s1 + c * s2;
          for (let d = 0; d < d3; d++, i += s3) dst[o++] = src[i]!;
        }
      }
    }
    return;
  }
  const n = src.length;
  const idx = new Array<number>(r).fill(0);
  let i = 0;
  for (let o = 0; o < n; o++) {
    dst[o] = src[i]!;
    for (let k = r - 1; k >= 0; k--) {
      idx[k]!++;
      i += st[k]!;
      if (idx[k]! < outShape[k]!) break;
      i -= st[k]! * outShape[k]!;
      idx[k] = 0;
    }
  }
}

/**
 * Transposes each of `batch` float32 matrices [R, K] into [K, R] (NCHW <-> NHWC with R, K =
 * C, H * W or H * W, C): a loop that only ever sees Float32Array, in tiles of 32 x 32 so
 * that both sides stay in cache.
 */
export function transposeRowsF32(src: Float32Array, dst: Float32Array, batch: number, R: number, K: number): void {
  const T = 32;
  for (let b = 0; b < batch; b++) {
    const base = b * R * K;
    for (let r0 = 0; r0 < R; r0 += T) {
      const r1 = Math.min(R, r0 + T);
      for (let k0 = 0; k0 < K; k0 += T) {
        const k1 = Math.min(K, k0 + T);
        for (let r = r0; r < r1; r++) {
          const s = base + r * K;
          for (let k = k0, o = base + k0 * R + r; k < k1; k++, o += R) dst[o] = src[s + k]!;
        }
      }
    }
  }
}

/** An arena layout: each runtime value's byte offset, and the arena's size. */
export interface ArenaPlan {
  bytes: number;
  offsets: Map<Val, number>;
}

/**
 * Lays the runtime values of `steps` into one buffer: a value lives from the step that
 * writes it to the last step that reads it (graph inputs from the start, outputs to the
 * end); values placed largest first at the lowest offset free over their lifetime.
 */
export function planArena(steps: readonly Step[], inputs: readonly Val[], outputs: readonly Val[]): ArenaPlan {
  const first = new Map<Val, number>();
  const last = new Map<Val, number>();
  const touch = (v: Val, i: number): void => {
    if (v.isConst) return;
    if (!first.has(v)) first.set(v, i);
    last.set(v, Math.max(last.get(v) ?? i, i));
  };
  for (const v of inputs) touch(v, -1);
  steps.forEach((s, i) => {
    for (const v of s.outs) touch(v, i);
    for (const v of s.ins) touch(v, i);
  });
  for (const v of outputs) touch(v, steps.length);
  const ALIGN = 64;
  const items = [...first.keys()].map((v) => ({
    v,
    a: first.get(v)!,
    b: last.get(v)!,
    size: Math.ceil((numel(v.shape) * elementBytes(v.dtype)) / ALIGN) * ALIGN,
  }));
  items.sort((x, y) => y.size - x.size || x.a - y.a);
  const placed: { a: number; b: number; off: number; size: number }[] = [];
  const offsets = new Map<Val, number>();
  let bytes = 0;
  for (const it of items) {
    const clash = placed.filter((p) => p.a <= it.b && it.a <= p.b).sort((x, y) => x.off - y.off);
    let off = 0;
    for (const p of clash) {
      if (off + it.size <= p.off) break;
      off = Math.max(off, p.off + p.size);
    }
    placed.push({ a: it.a, b: it.b, off, size: it.size });
    offsets.set(it.v, off);
    bytes = Math.max(bytes, off + it.size);
  }
  return { bytes, offsets };
}

/**
 * A plan's arena in the engine's wasm memory: one heap block, every runtime value a view of
 * its part (and `ptr`, its address, for the steps that hand kernels addresses). Growth of
 * wasm memory (by any layer or user of the engine) detaches the views; `refresh`, called
 * before each step, re-makes them, so a model survives it. Freed by `release`.
 */
export class WasmArena {
  /** Address of the arena's first byte. */
  readonly ptr: number;
  private bound: ArrayBufferLike | null = null;

  constructor(
    private readonly heap: Heap,
    private readonly layout: ArenaPlan,
  ) {
    this.ptr = heap.alloc(Math.max(layout.bytes, 8), 'arena');
    for (const [v, off] of layout.offsets) v.ptr = this.ptr + off;
    // zeroed once, as a fresh ArrayBuffer would be: a reused block holds old bytes
    heap.u8.fill(0, this.ptr, this.ptr + layout.bytes);
    this.bind();
  }

  /** The buffer the views are on (wasm memory's as of the last refresh). */
  get buffer(): ArrayBufferLike | null {
    return this.bound;
  }

  /** Re-makes the values' views when wasm memory has grown since they were made. */
  refresh(): void {
    if (this.heap.memory.buffer !== this.bound) this.bind();
  }

  private bind(): void {
    const buf = this.heap.memory.buffer;
    this.bound = buf;
    for (const [v, off] of this.layout.offsets)
      v.data = viewArray(v.dtype, buf as ArrayBuffer, this.ptr + off, numel(v.shape));
  }

  /** Returns the arena to the heap. */
  release(): void {
    this.heap.release(this.ptr);
  }
}
