// Binary (1-bit) ops: bit-packing, XNOR-popcount matmul and convolution.
//
// Values are +-1; bit 1 means -1. Packed tensors keep bits along their last axis in
// 32-bit words (element c of a row is bit c & 31 of word c >> 5), each row padded to a
// whole word. The XNOR-GEMM (assembly/binary/bgemm.ts) computes K - 2 * popcount(a xor
// b); its inputs are re-laid here into 128-bit chunks with the padding bits cleared, so
// whatever a caller leaves in them never counts.
//
// Each op reads the same way: validate -> resolve shapes -> copy and lay out bits in
// wasm memory -> one kernel call -> view the result out.
import { describe, readOptions } from '../args.js';
import { intsAttr } from './conv-plan.js';
import { QwasmError, check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkResultSize, lengthOfKind, readField, readTensor, type Tensor } from '../tensor.js';

/**
 * A bit-packed tensor: the signs of a tensor of logical `shape`, packed along the last
 * axis into `ceil(shape[last] / 32)` words per row (bit 1 = -1, bit 0 = +1). Made by
 * {@link Qwasm.bitpack}; a plain `{ data, shape }` tensor is refused where bits are
 * expected.
 *
 * @example
 * ```ts
 * const xb: BitTensor = qw.bitpack({ data: new Float32Array([0.5, -2, 0, -0.1]), shape: [1, 4] });
 * xb.bits;  // Uint32Array [0b1010]
 * xb.shape; // [1, 4]
 * ```
 */
export interface BitTensor {
  /**
   * The sign bits, row after row, `ceil(shape[last] / 32)` words per row: element c of a
   * row is bit `c & 31` of word `c >> 5`. Padding bits are 0 from qw.bitpack and never
   * count in the kernels.
   */
  readonly bits: Uint32Array;
  /** The logical shape: the last dimension counts elements (bits), not words. */
  readonly shape: readonly number[];
}

/**
 * Attributes of {@link Qwasm.binaryConv2d} and binary convolution layers.
 *
 * @example
 * ```ts
 * const attrs: BinaryConvAttributes = { strides: [2, 2], pads: [1, 1, 1, 1], padValue: 1 };
 * const y = qw.binaryConv2d(qw.bitpack(x), qw.bitpack(w), attrs);
 * ```
 */
export interface BinaryConvAttributes {
  /** [strideH, strideW], default [1, 1]. */
  strides?: readonly number[];
  /** [top, left, bottom, right], default zeros. */
  pads?: readonly number[];
  /** [dilationH, dilationW], default [1, 1]. */
  dilations?: readonly number[];
  /**
   * What taps outside the image contribute: 0 (default) makes the result equal the
   * float convolution of the +-1 tensors with zero padding; 1 pads with +1 (no
   * correction, as Larq's "one padding").
   */
  padValue?: 0 | 1;
}

/** The kernel's epilogue kinds (assembly/binary/bgemm.ts BinaryEpilogue). */
export const enum BinaryEpilogueKind {
  I32 = 0,
  F32 = 1,
  I8 = 2,
  Bits = 3,
}

/** Words per packed row of `n` bits. */
export function wordsFor(n: number): number {
  return Math.ceil(n / 32);
}

/** The mask of the valid bits of a row's last word. */
export function lastWordMask(n: number): number {
  const r = n % 32;
  return r === 0 ? 0xffffffff : 2 ** r - 1;
}

/** The build's packed layout: weight panel width and bytes per 128-bit chunk. */
export interface BinaryLayout {
  nr: number;
  chunk: number;
}

const layouts = new WeakMap<Runtime, BinaryLayout>();

export function binaryLayout(rt: Runtime): BinaryLayout {
  let l = layouts.get(rt);
  if (l === undefined) {
    l = { nr: rt.kernels.binary_nr(), chunk: rt.kernels.binary_chunk_bytes() };
    layouts.set(rt, l);
  }
  return l;
}

/** FLUSH in assembly/binary/config.ts: the most chunks a kernel tap may hold. */
const MAX_TAP_CHUNKS = 31;

/**
 * How rows of n bits are laid out for the kernel: `rowChunks` 128-bit chunks per row,
 * cut into `splits` taps of `cv` chunks (at most 31, so the kernel's byte accumulators
 * never overflow between flushes). rowChunks = splits * cv may exceed ceil(n / 128):
 * the extra chunks are zero in both operands.
 */
export interface ChunkPlan {
  cv: number;
  splits: number;
  rowChunks: number;
}

const plans = new Map<number, ChunkPlan>();

/** The plan for rows of n bits; memoized, so a layer's run allocates nothing here. */
export function chunkPlan(n: number): ChunkPlan {
  let p = plans.get(n);
  if (p === undefined) {
    const c = Math.ceil(n / 128);
    const splits = Math.ceil(c / MAX_TAP_CHUNKS);
    const cv = Math.ceil(c / splits);
    p = { cv, splits, rowChunks: cv * splits };
    if (plans.size >= 1024) plans.clear();
    plans.set(n, p);
  }
  return p;
}

/** The parts of a bit tensor a call reads: filled by {@link readBits}, reusable across runs. */
export interface BitsArg {
  bits: Uint32Array;
  shape: number[];
}

/**
 * Reads a bit-packed tensor `{ bits: Uint32Array, shape }` once into `into` (a fresh
 * record by default; layers pass their own so runs allocate nothing): `bits` is checked
 * by its true length against whole rows of words, `shape` copied. Messages are built
 * only on failure.
 */
export function readBits(t: unknown, name: string, into: BitsArg = { bits: new Uint32Array(0), shape: [] }): BitsArg {
  if (typeof t !== 'object' || t === null)
    throw new QwasmError(name, 'expected a bit-packed tensor { bits, shape } from qw.bitpack');
  const bits = readField(t, 'bits', name);
  if (bits === undefined && readField(t, 'data', name) !== undefined) {
    throw new QwasmError(
      name,
      'expected a bit-packed tensor { bits, shape } (from qw.bitpack), got an unpacked tensor { data, shape }',
    );
  }
  const len = lengthOfKind(bits, 'Uint32Array');
  if (len < 0) throw new QwasmError(name, `bits must be a Uint32Array, got ${describe(bits)}`);
  const shape = readField(t, 'shape', name);
  if (!Array.isArray(shape)) throw new QwasmError(name, 'shape must be an array of at least one dimension');
  const rank = shape.length;
  if (rank < 1 || rank > 32) throw new QwasmError(name, 'shape must have between 1 and 32 dimensions');
  const dims = into.shape;
  dims.length = 0;
  for (let i = 0; i < rank; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d >= 2 ** 32)
      throw new QwasmError(name, `shape has an invalid dimension ${describe(d)} at ${i}`);
    dims.push(d);
  }
  const words = rowsOfBits(dims) * wordsFor(dims[rank - 1]!);
  if (len !== words) throw new QwasmError(name, `has ${len} words but shape [${dims.join(', ')}] packs into ${words}`);
  into.bits = bits as Uint32Array;
  return into;
}

/** Rows of a bit tensor: the product of all dimensions but the last. */
export function rowsOfBits(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length - 1; i++) n *= shape[i]!;
  return n;
}

/**
 * Copies `rows` bit rows of `n` bits into wasm memory at `dst` as rows of chunks
 * (padding bits cleared). `tmp` (rows * words * 4 bytes) is only used when the layout
 * differs from the words as given; pass 0 to allocate it from `alloc`.
 */
export function copyBitsIn(rt: Runtime, bits: Uint32Array, rows: number, n: number, dst: number, tmp: number): void {
  if (!copyNeedsTemp(rt, n)) {
    // the words are already 128-bit chunks with no padding bits
    rt.heap.u32.set(bits, dst >> 2);
    return;
  }
  rt.heap.u32.set(bits, tmp >> 2);
  rt.kernels.bits_to_chunks(tmp, rows, wordsFor(n), lastWordMask(n) | 0, chunkPlan(n).rowChunks, dst);
}

/** Whether copyBitsIn needs its temporary block for rows of n bits. */
export function copyNeedsTemp(rt: Runtime, n: number): boolean {
  return !(binaryLayout(rt).chunk === 16 && n % 128 === 0 && chunkPlan(n).rowChunks * 128 === n);
}

/** Bytes of one row of n bits in the kernel layout. */
export function rowBytesFor(rt: Runtime, n: number): number {
  return chunkPlan(n).rowChunks * binaryLayout(rt).chunk;
}

/** Bytes of packed weight panels for N channels x T taps of n bits. */
export function packedBinaryWeightBytes(rt: Runtime, N: number, T: number, n: number): number {
  const { nr } = binaryLayout(rt);
  return Math.ceil(N / nr) * nr * T * rowBytesFor(rt, n);
}

/** N rounded up to whole weight panels. */
export function paddedChannels(rt: Runtime, N: number): number {
  const { nr } = binaryLayout(rt);
  return Math.ceil(N / nr) * nr;
}

/**
 * Packs N x T bit rows of n bits (already in wasm memory at src, words) into panels at
 * dst (packedBinaryWeightBytes).
 */
export function packBinaryWeights(rt: Runtime, src: number, N: number, T: number, n: number, dst: number): void {
  rt.kernels.bits_pack_w(src, N, T, wordsFor(n), lastWordMask(n) | 0, chunkPlan(n).rowChunks, dst);
}

/** The +-1 sums of N x T weight rows of n bits at src (words): n - 2 * popcount. */
export function tapSums(rt: Runtime, src: number, rows: number, n: number): Int32Array {
  return rt.scoped((alloc) => {
    const p = alloc(rows * 4);
    rt.kernels.bits_row_popcounts(src, rows, wordsFor(n), lastWordMask(n) | 0, p);
    const out = new Int32Array(rows);
    const pops = rt.heap.i32;
    for (let i = 0; i < rows; i++) out[i] = n - 2 * pops[(p >> 2) + i]!;
    return out;
  });
}

// ---------------------------------------------------------------------------------
// bitpack / bitunpack

/**
 * The signs of a Float32 or Int8 tensor, packed along the last axis. The bit is exactly
 * `x < 0`: -0 and NaN pack as +1.
 */
export function bitpack(rt: Runtime, arg: Tensor): BitTensor {
  rt.live();
  const x = readTensor(arg, 'x');
  const isF32 = x.data instanceof Float32Array;
  check(isF32 || x.data instanceof Int8Array, 'x', () => `expected Float32Array or Int8Array, got ${describe(x.data)}`);
  check(x.shape.length >= 1, 'x', 'must have at least one dimension (the one packed)');
  const C = x.shape[x.shape.length - 1]!;
  const rows = rowsOfBits(x.shape);
  const words = rows * wordsFor(C);
  checkResultSize(words, 4, 'x');
  const bits = new Uint32Array(words);
  if (words === 0) return { bits, shape: [...x.shape] };
  rt.scoped((alloc) => {
    const n = rows * C;
    const src = alloc(n * (isF32 ? 4 : 1), 'x');
    const dst = alloc(words * 4, 'x');
    const heap = rt.heap;
    if (isF32) {
      heap.f32.set(x.data as Float32Array, src >> 2);
      rt.kernels.bitpack_f32(src, rows, C, dst);
    } else {
      heap.i8.set(x.data as Int8Array, src);
      rt.kernels.bitpack_i8(src, rows, C, dst);
    }
    bits.set(rt.heap.u32.subarray(dst >> 2, (dst >> 2) + words));
  });
  return { bits, shape: [...x.shape] };
}

/** Unpacks bits into +-1 float32 of the logical shape (bit 1 -> -1). */
export function bitunpack(rt: Runtime, arg: BitTensor): Tensor<Float32Array> {
  rt.live();
  const p = readBits(arg, 'p');
  const C = p.shape[p.shape.length - 1]!;
  const rows = rowsOfBits(p.shape);
  const n = rows * C;
  checkResultSize(n, 4, 'p');
  const out = new Float32Array(n);
  if (n === 0) return { data: out, shape: [...p.shape] };
  rt.scoped((alloc) => {
    const src = alloc(p.bits.length * 4, 'p');
    const dst = alloc(n * 4, 'p');
    rt.heap.u32.set(p.bits, src >> 2);
    rt.kernels.bitunpack_f32(src, rows, C, dst);
    out.set(rt.heap.f32.subarray(dst >> 2, (dst >> 2) + n));
  });
  return { data: out, shape: [...p.shape] };
}

// ---------------------------------------------------------------------------------
// binaryMatMul

/**
 * a [..., K] x b [N, K]^T over +-1 -> int32 [..., N]: K - 2 * popcount(a xor b).
 */
export function binaryMatMul(rt: Runtime, aArg: BitTensor, bArg: BitTensor): Tensor<Int32Array> {
  rt.live();
  const a = readBits(aArg, 'a');
  const b = readBits(bArg, 'b');
  check(b.shape.length === 2, 'b', `must be 2-D [N, K] (packed along K), got shape [${b.shape.join(', ')}]`);
  const K = a.shape[a.shape.length - 1]!;
  const [N, Kb] = b.shape as [number, number];
  check(Kb === K, 'b', `has K = ${Kb} but a has K = ${K}`);
  check(K > 0, 'a', 'K must be at least 1');
  const M = rowsOfBits(a.shape);
  const outShape = [...a.shape.slice(0, -1), N];
  checkResultSize(M * N, 4, 'a');
  const out = new Int32Array(M * N);
  if (M === 0 || N === 0) return { data: out, shape: outShape };
  const plan = chunkPlan(K);
  const rowBytes = rowBytesFor(rt, K);
  rt.scoped((alloc) => {
    const heap = rt.heap;
    const ap = alloc(M * rowBytes, 'a');
    const tmpA = copyNeedsTemp(rt, K) ? alloc(a.bits.length * 4, 'a') : 0;
    copyBitsIn(rt, a.bits, M, K, ap, tmpA);
    const bSrc = alloc(b.bits.length * 4, 'b');
    heap.u32.set(b.bits, bSrc >> 2);
    const wp = alloc(packedBinaryWeightBytes(rt, N, 1, K), 'b');
    packBinaryWeights(rt, bSrc, N, 1, K, wp);
    const np = paddedChannels(rt, N);
    const base = alloc(np * 4, 'b');
    rt.heap.i32.fill(K, base >> 2, (base >> 2) + np);
    const rec = alloc(M * (plan.splits + 1) * 4, 'a');
    rt.kernels.bgemm_records(ap, M, rowBytes, plan.splits, plan.cv * binaryLayout(rt).chunk, base, rec);
    const y = alloc(M * N * 4, 'a');
    rt.kernels.bgemm(rec, M, plan.splits, plan.cv, wp, N, y, N, BinaryEpilogueKind.I32, 0);
    out.set(rt.heap.i32.subarray(y >> 2, (y >> 2) + M * N));
  });
  return { data: out, shape: outShape };
}

// ---------------------------------------------------------------------------------
// binaryConv2d

/** A binary convolution's fixed part: the weights' shape and the attributes. */
export interface BinaryConvGeometry {
  O: number;
  kH: number;
  kW: number;
  C: number;
  sH: number;
  sW: number;
  /** top, left, bottom, right */
  pads: [number, number, number, number];
  dH: number;
  dW: number;
  padValue: 0 | 1;
}

function pair(v: readonly number[] | undefined | null, name: string): [number, number] {
  if (v === undefined || v === null) return [1, 1];
  const [a, b] = intsAttr(v, name, 2, 1, 'a pair [h, w]');
  return [a!, b!];
}

/** Validates attributes against weights of shape [O, kH, kW, C]. `prefix` names them in errors. */
export function resolveBinaryConv(
  wShape: readonly number[],
  attrs: BinaryConvAttributes,
  prefix: string,
  wName: string,
): BinaryConvGeometry {
  check(wShape.length === 4, wName, `must be 4-D [O, kH, kW, C], got shape [${wShape.join(', ')}]`);
  const [O, kH, kW, C] = wShape as [number, number, number, number];
  check(O > 0 && kH > 0 && kW > 0 && C > 0, wName, `must not be empty, got shape [${wShape.join(', ')}]`);
  const [sH, sW] = pair(attrs.strides, `${prefix}strides`);
  const [dH, dW] = pair(attrs.dilations, `${prefix}dilations`);
  let pads: [number, number, number, number] = [0, 0, 0, 0];
  if (attrs.pads !== undefined && attrs.pads !== null) {
    pads = intsAttr(attrs.pads, `${prefix}pads`, 4, 0, '[top, left, bottom, right]') as typeof pads;
  }
  const padValue = attrs.padValue ?? 0;
  check(padValue === 0 || padValue === 1, `${prefix}padValue`, () => `must be 0 or 1, got ${describe(padValue)}`);
  return { O, kH, kW, C, sH, sW, pads, dH, dW, padValue };
}

/** Output height and width for an H x W input; throws naming `xName` when empty. */
export function convOutputSize(
  g: BinaryConvGeometry,
  Nb: number,
  H: number,
  W: number,
  xName: string,
): [number, number] {
  const OH = Math.floor((H + g.pads[0] + g.pads[2] - (g.kH - 1) * g.dH - 1) / g.sH) + 1;
  const OW = Math.floor((W + g.pads[1] + g.pads[3] - (g.kW - 1) * g.dW - 1) / g.sW) + 1;
  check(
    OH >= 1 && OW >= 1,
    xName,
    `${H}x${W} is too small for a ${g.kH}x${g.kW} kernel with these pads, strides and dilations (output ${OH}x${OW})`,
  );
  checkResultSize(Nb * OH * OW * g.O, 4, xName);
  return [OH, OW];
}

/**
 * Border patterns along one axis: out[id * k + t] = 1 where tap t of an output at that
 * position falls outside [0, size); ids[o] the pattern of output o. Positions whose taps
 * all fall inside share one pattern.
 */
function axisPatterns(outSize: number, size: number, k: number, stride: number, pad: number, dil: number) {
  const keys = new Map<string, number>();
  const ids = new Int32Array(outSize);
  const masks: number[] = [];
  for (let o = 0; o < outSize; o++) {
    let key = '';
    for (let t = 0; t < k; t++) {
      const i = o * stride - pad + t * dil;
      key += i < 0 || i >= size ? '1' : '0';
    }
    let id = keys.get(key);
    if (id === undefined) {
      id = keys.size;
      keys.set(key, id);
      for (let t = 0; t < k; t++) masks.push(key.charCodeAt(t) - 48);
    }
    ids[o] = id;
  }
  return { ids, out: Uint8Array.from(masks), count: keys.size };
}

/** Everything a convolution call builds in wasm memory for one input size. */
export interface ConvTables {
  Nb: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  /** Bytes of the padded input chunks, of the base table and of the records. */
  xBytes: number;
  tableBytes: number;
  recordBytes: number;
  /** Kernel taps per output pixel and chunks per tap. */
  taps: number;
  tapChunks: number;
  /** How bconv_records cuts each kernel row into pointers (see assembly/binary/layout.ts). */
  runs: number;
  runStride: number;
  pieces: number;
  rows: ReturnType<typeof axisPatterns> | null;
  cols: ReturnType<typeof axisPatterns> | null;
}

/**
 * How a kernel row of taps becomes kernel taps. The input is stored zero-padded, so with
 * width dilation 1 the kW pixels a row reads are adjacent: one run of kW * rowChunks
 * chunks, cut into the fewest equal pieces of at most 31 chunks (fewer, longer taps: less
 * pointer and loop overhead per chunk). Otherwise each tap is its own run.
 */
function rowRuns(g: BinaryConvGeometry): { runs: number; runStride: number; pieces: number; pieceChunks: number } {
  const plan = chunkPlan(g.C);
  if (g.dW !== 1) return { runs: g.kW, runStride: g.dW, pieces: plan.splits, pieceChunks: plan.cv };
  const total = g.kW * plan.rowChunks;
  let L = plan.cv;
  for (let l = Math.min(MAX_TAP_CHUNKS, total); l > plan.cv; l--) {
    if (total % l === 0) {
      L = l;
      break;
    }
  }
  return { runs: 1, runStride: 0, pieces: total / L, pieceChunks: L };
}

export function convTables(
  rt: Runtime,
  g: BinaryConvGeometry,
  Nb: number,
  H: number,
  W: number,
  xName: string,
): ConvTables {
  const [OH, OW] = convOutputSize(g, Nb, H, W, xName);
  const np = paddedChannels(rt, g.O);
  let rows = null;
  let cols = null;
  let patterns = 1;
  if (g.padValue === 0) {
    rows = axisPatterns(OH, H, g.kH, g.sH, g.pads[0], g.dH);
    cols = axisPatterns(OW, W, g.kW, g.sW, g.pads[1], g.dW);
    patterns = rows.count * cols.count;
  }
  const r = rowRuns(g);
  const taps = g.kH * r.runs * r.pieces;
  const Hp = g.pads[0] + H + g.pads[2];
  const Wp = g.pads[1] + W + g.pads[3];
  return {
    Nb,
    H,
    W,
    OH,
    OW,
    xBytes: Nb * Hp * Wp * rowBytesFor(rt, g.C),
    tableBytes: patterns * np * 4,
    recordBytes: Nb * OH * OW * (taps + 1) * 4,
    taps,
    tapChunks: r.pieceChunks,
    runs: r.runs,
    runStride: r.runStride,
    pieces: r.pieces,
    rows,
    cols,
  };
}

/**
 * Copies input bits (t.Nb x t.H x t.W pixels of C bits) into wasm memory at `x` as the
 * zero-padded chunk image the records point into; `tmp` holds the words on the way.
 */
export function copyConvInput(
  rt: Runtime,
  g: BinaryConvGeometry,
  t: ConvTables,
  bits: Uint32Array,
  x: number,
  tmp: number,
): void {
  rt.heap.u32.set(bits, tmp >> 2);
  const p = g.pads;
  rt.kernels.bits_to_padded_chunks(
    tmp,
    t.Nb,
    t.H,
    t.W,
    wordsFor(g.C),
    lastWordMask(g.C) | 0,
    chunkPlan(g.C).rowChunks,
    p[0],
    p[1],
    p[2],
    p[3],
    x,
  );
}

/**
 * Writes the base table (K totals, minus the outside taps' weight sums under zero
 * padding) at `table` and the indirection records at `rec` for the padded input at `x`.
 */
export function writeConvTables(
  rt: Runtime,
  g: BinaryConvGeometry,
  t: ConvTables,
  sums: Int32Array | null,
  x: number,
  table: number,
  rec: number,
): void {
  const k = rt.kernels;
  const np = paddedChannels(rt, g.O);
  const Ktot = g.kH * g.kW * g.C;
  const pixelBytes = rowBytesFor(rt, g.C);
  const pieceBytes = t.tapChunks * binaryLayout(rt).chunk;
  const Hp = g.pads[0] + t.H + g.pads[2];
  const Wp = g.pads[1] + t.W + g.pads[3];
  const records = (rowId: number, colId: number, nColIds: number) =>
    k.bconv_records(
      x,
      pixelBytes,
      t.Nb,
      Hp,
      Wp,
      t.OH,
      t.OW,
      g.kH,
      g.sH,
      g.sW,
      g.dH,
      t.runs,
      t.runStride,
      t.pieces,
      pieceBytes,
      rowId,
      colId,
      nColIds,
      table,
      np * 4,
      rec,
    );
  if (t.rows === null || t.cols === null || sums === null) {
    rt.heap.i32.fill(0, table >> 2, (table >> 2) + np);
    rt.heap.i32.fill(Ktot, table >> 2, (table >> 2) + g.O);
    records(0, 0, 1);
    return;
  }
  const rows = t.rows;
  const cols = t.cols;
  rt.scoped((alloc) => {
    const heap = rt.heap;
    const s = alloc(sums.length * 4);
    heap.i32.set(sums, s >> 2);
    const ro = alloc(rows.out.length);
    heap.u8.set(rows.out, ro);
    const co = alloc(cols.out.length);
    heap.u8.set(cols.out, co);
    k.bconv_base_table(s, g.O, g.kH, g.kW, ro, rows.count, co, cols.count, Ktot, np, table);
    const ri = alloc(rows.ids.length * 4);
    rt.heap.i32.set(rows.ids, ri >> 2);
    const ci = alloc(cols.ids.length * 4);
    rt.heap.i32.set(cols.ids, ci >> 2);
    records(ri, ci, cols.count);
  });
}

/** Checks a bit-packed NHWC input against the convolution's channels; returns [N, H, W]. */
export function checkConvInput(x: BitsArg, C: number, name: string): [number, number, number] {
  check(
    x.shape.length === 4,
    name,
    `must be 4-D NHWC [N, H, W, C] (packed along C), got shape [${x.shape.join(', ')}]`,
  );
  const [Nb, H, W, Cx] = x.shape as [number, number, number, number];
  check(Cx === C, name, `has C = ${Cx} channels but the weights have ${C}`);
  check(H > 0 && W > 0, name, `must have non-empty spatial dims, got ${H}x${W}`);
  return [Nb, H, W];
}

/**
 * Binary 2-D convolution: x [N, H, W, C] and w [O, kH, kW, C], both packed along C
 * -> int32 [N, OH, OW, O].
 */
export function binaryConv2d(
  rt: Runtime,
  xArg: BitTensor,
  wArg: BitTensor,
  attrs: BinaryConvAttributes | null = {},
): Tensor<Int32Array> {
  rt.live();
  const w = readBits(wArg, 'w');
  const x = readBits(xArg, 'x');
  const g = resolveBinaryConv(w.shape, readOptions(attrs, 'attrs'), 'attrs.', 'w');
  const [Nb, H, W] = checkConvInput(x, g.C, 'x');
  const t = convTables(rt, g, Nb, H, W, 'x');
  const M = Nb * t.OH * t.OW;
  const out = new Int32Array(M * g.O);
  const shape = [Nb, t.OH, t.OW, g.O];
  if (M === 0) return { data: out, shape };
  const T = g.kH * g.kW;
  rt.scoped((alloc) => {
    const heap = rt.heap;
    const wSrc = alloc(w.bits.length * 4, 'w');
    heap.u32.set(w.bits, wSrc >> 2);
    const wp = alloc(packedBinaryWeightBytes(rt, g.O, T, g.C), 'w');
    packBinaryWeights(rt, wSrc, g.O, T, g.C, wp);
    const sums = g.padValue === 0 ? tapSums(rt, wSrc, g.O * T, g.C) : null;
    const xp = alloc(t.xBytes, 'x');
    copyConvInput(rt, g, t, x.bits, xp, alloc(x.bits.length * 4, 'x'));
    const table = alloc(t.tableBytes, 'x');
    const rec = alloc(t.recordBytes, 'x');
    writeConvTables(rt, g, t, sums, xp, table, rec);
    const y = alloc(M * g.O * 4, 'x');
    rt.kernels.bgemm(rec, M, t.taps, t.tapChunks, wp, g.O, y, g.O, BinaryEpilogueKind.I32, 0);
    out.set(rt.heap.i32.subarray(y >> 2, (y >> 2) + M * g.O));
  });
  return { data: out, shape };
}
