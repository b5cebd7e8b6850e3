// The kernels of a threaded engine: the build's exports, with the GEMM and convolution
// entry points (and, in kernels-rows.ts / kernels-maps.ts, the int4, residual and binary
// GEMMs, pooling, resize and col2im) replaced by versions that cut a call into chunks
// (partition.ts) and run them on the pool. Ops and layers call
// `rt.kernels.gemm_s16(...)` exactly as on one thread; a call too small to pay for a
// hand-off goes straight to the build's function. A job's arguments are written at the
// words layout.generated.js names for its kind, where chunk.js reads them.
import { ConvField } from '../layouts.generated.js';
import type { Kernels } from '../kernels.js';
import type { Heap } from '../memory.js';
import { chunksFor, minOpsPerPart, partsFor, splitOverN } from './partition.js';
import type { ThreadPool } from './pool.js';
import { Dispatch } from './dispatch.js';
import { ConvF32Arg, ConvS16Arg, Fn, GemmF32Arg, GemmS16Arg, Split } from './layout.generated.js';
import { installMapKernels } from './kernels-maps.js';
import { installRowGemms } from './kernels-rows.js';

/** Rows and columns of the GEMM register tile, which bound the split. */
export interface TileShape {
  mr: number;
  nr: number;
}

/** The row-range entry points of the conv kernels (assembly/conv/conv.ts). */
export interface ConvRowKernels {
  conv2d_s16_rows(
    p: number,
    x: number,
    w: number,
    out: number,
    kind: number,
    params: number,
    scratch: number,
    r0: number,
    r1: number,
  ): void;
  conv2d_f32_rows(
    p: number,
    x: number,
    w: number,
    bias: number,
    lo: number,
    hi: number,
    out: number,
    scratch: number,
    r0: number,
    r1: number,
  ): void;
  /** Bytes of per-thread kernel scratch (tiles, ring row pointers; assembly/threads.ts). */
  thread_scratch_bytes(): number;
  /** Points an instance's kernel tiles at a block of its own. */
  thread_scratch(t: number): void;
}

/** True when a build has the conv row ranges (every build since threads exist). */
export function hasConvRows(k: Kernels): k is Kernels & ConvRowKernels {
  return typeof (k as Partial<ConvRowKernels>).conv2d_s16_rows === 'function';
}

/** params.ts ConvPath.Depthwise: its rows are image rows, not output pixels. */
const DEPTHWISE = 2;
/**
 * Depthwise convolution does ~1/4 of the GEMM's operations per second (20-27 vs ~105
 * GOPS int8, bench/conv.bench.mjs), so its operations count 4 times toward the split
 * threshold: 56x56x128 stride 2 (1.8 M ops) is then split, and runs at 1.0x of one
 * thread instead of 0.92x (the shared memory's slower copies in and out, unsplit).
 */
const DEPTHWISE_COST = 4;

/**
 * Points `target`'s GEMM, convolution, int4 / residual / binary GEMM, pooling, resize and
 * col2im kernels (a copy of `raw`, the build's exports, that the engine's Runtime already
 * holds) at versions dispatched over `pool`. Each thread uses its own microkernel tile
 * from `pool.tiles`, never the build's static one.
 */
export function installThreadedKernels(
  target: Kernels,
  raw: Kernels,
  pool: ThreadPool,
  heap: Heap,
  tile: TileShape,
): void {
  const { mr, nr } = tile;
  const d = new Dispatch(pool, raw, heap);
  const { i32, f32 } = d;

  function gemm_s16(
    a: number,
    w: number,
    M: number,
    N: number,
    kPairs: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
  ): void {
    pool.ready();
    const panels = Math.ceil(N / nr);
    const blocks = Math.ceil(M / mr);
    const parts = partsFor(4 * M * N * kPairs, minOpsPerPart.s16, pool.size);
    if (parts <= 1 || Math.max(panels, blocks) < 2) {
      raw.gemm_s16(a, w, M, N, kPairs, out, ldo, kind, params);
      return;
    }
    const overN = splitOverN(panels, blocks, parts);
    const units = overN ? panels : blocks;
    const chunks = chunksFor(units, parts);
    pool.job(Fn.GemmS16, overN ? Split.Panels : Split.Rows, chunks, units);
    const A = GemmS16Arg;
    i32[A.a] = a;
    i32[A.w] = w;
    i32[A.M] = M;
    i32[A.N] = N;
    i32[A.kPairs] = kPairs;
    i32[A.out] = out;
    i32[A.ldo] = ldo;
    i32[A.kind] = kind;
    i32[A.params] = params;
    i32[A.mr] = mr;
    i32[A.nr] = nr;
    d.workers = Math.min(parts, chunks) - 1;
    d.launch(Fn.GemmS16, !overN, chunks, units, 0);
  }

  function gemm_f32(
    x: number,
    lda: number,
    w: number,
    M: number,
    N: number,
    K: number,
    bias: number,
    lo: number,
    hi: number,
    out: number,
    ldo: number,
  ): void {
    pool.ready();
    const panels = Math.ceil(N / nr);
    const blocks = Math.ceil(M / mr);
    const parts = partsFor(2 * M * N * K, minOpsPerPart.f32, pool.size);
    if (parts <= 1 || Math.max(panels, blocks) < 2) {
      raw.gemm_f32(x, lda, w, M, N, K, bias, lo, hi, out, ldo);
      return;
    }
    const overN = splitOverN(panels, blocks, parts);
    const units = overN ? panels : blocks;
    const chunks = chunksFor(units, parts);
    pool.job(Fn.GemmF32, overN ? Split.Panels : Split.Rows, chunks, units);
    const A = GemmF32Arg;
    i32[A.x] = x;
    i32[A.lda] = lda;
    i32[A.w] = w;
    i32[A.M] = M;
    i32[A.N] = N;
    i32[A.K] = K;
    i32[A.bias] = bias;
    f32[A.lo] = lo;
    f32[A.hi] = hi;
    i32[A.out] = out;
    i32[A.ldo] = ldo;
    i32[A.mr] = mr;
    i32[A.nr] = nr;
    d.workers = Math.min(parts, chunks) - 1;
    d.launch(Fn.GemmF32, !overN, chunks, units, 0);
  }

  target.gemm_s16 = gemm_s16;
  target.gemm_f32 = gemm_f32;
  installRowGemms(target, d, mr);
  installMapKernels(target, d);

  if (!hasConvRows(raw)) return;
  const conv = raw;

  // The split planConv chose, read right after it: no object per call.
  let rows = 0;
  let unit = 1;
  let chunks = 0;

  /**
   * Plans a conv's split into chunks of output rows (whole MR-pixel tiles on the GEMM
   * paths, image rows for depthwise); false when it stays on one thread.
   */
  function planConv(p: number, minOps: number): boolean {
    const c = heap.i32;
    const h = p >> 2;
    const N = c[h + ConvField.N]!;
    const OH = c[h + ConvField.OH]!;
    const OW = c[h + ConvField.OW]!;
    const K = c[h + ConvField.KH]! * c[h + ConvField.KW]! * c[h + ConvField.CG]!;
    const ops = 2 * N * OH * OW * c[h + ConvField.M]! * K;
    const depthwise = c[h + ConvField.PATH] === DEPTHWISE;
    const cost = depthwise ? ops * DEPTHWISE_COST : ops;
    rows = depthwise ? N * OH : N * OH * OW;
    unit = depthwise ? 1 : mr;
    const units = Math.ceil(rows / unit);
    const parts = partsFor(cost, minOps, pool.size);
    if (parts <= 1 || units < 2) return false;
    chunks = chunksFor(units, parts);
    d.workers = Math.min(parts, chunks) - 1;
    return true;
  }

  /** Gives each worker taking part a work buffer as large as the caller's. */
  function scratchFor(workers: number, scratch: number): void {
    const bytes = heap.sizeOf(scratch);
    for (let t = 1; t <= workers; t++) pool.scratch(t, bytes);
  }

  function conv2d_s16(
    p: number,
    x: number,
    w: number,
    out: number,
    kind: number,
    params: number,
    scratch: number,
  ): void {
    pool.ready();
    if (!planConv(p, minOpsPerPart.s16)) {
      conv.conv2d_s16(p, x, w, out, kind, params, scratch);
      return;
    }
    const total = rows;
    const step = unit;
    const units = Math.ceil(total / step);
    const n = chunks;
    scratchFor(d.workers, scratch);
    pool.job(Fn.ConvS16, Split.Rows, n, units);
    const A = ConvS16Arg;
    i32[A.p] = p;
    i32[A.x] = x;
    i32[A.w] = w;
    i32[A.out] = out;
    i32[A.kind] = kind;
    i32[A.params] = params;
    i32[A.rows] = total;
    i32[A.step] = step;
    d.launch(Fn.ConvS16, true, n, units, scratch);
  }

  function conv2d_f32(
    p: number,
    x: number,
    w: number,
    bias: number,
    lo: number,
    hi: number,
    out: number,
    scratch: number,
  ): void {
    pool.ready();
    if (!planConv(p, minOpsPerPart.f32)) {
      conv.conv2d_f32(p, x, w, bias, lo, hi, out, scratch);
      return;
    }
    const total = rows;
    const step = unit;
    const units = Math.ceil(total / step);
    const n = chunks;
    scratchFor(d.workers, scratch);
    pool.job(Fn.ConvF32, Split.Rows, n, units);
    const A = ConvF32Arg;
    i32[A.p] = p;
    i32[A.x] = x;
    i32[A.w] = w;
    i32[A.bias] = bias;
    f32[A.lo] = lo;
    f32[A.hi] = hi;
    i32[A.out] = out;
    i32[A.rows] = total;
    i32[A.step] = step;
    d.launch(Fn.ConvF32, true, n, units, scratch);
  }

  target.conv2d_s16 = conv2d_s16;
  target.conv2d_f32 = conv2d_f32;
}
