// The kernels of a threaded engine: the build's exports, with the GEMM, convolution,
// int4, residual and binary GEMM entry points replaced by versions that cut a call into
// chunks (partition.ts) and run them on the pool. Ops and layers call
// `rt.kernels.gemm_s16(...)` exactly as on one thread; a call too small to pay for a
// hand-off goes straight to the build's function. A job's arguments are written at the
// words layout.generated.js names for its kind, where chunk.js reads them.
import { ConvField } from '../layouts.generated.js';
import type { Kernels } from '../kernels.js';
import type { Heap } from '../memory.js';
import { chunksFor, minOpsPerPart, partStart, partsFor, splitOverN } from './partition.js';
import type { FnId, ThreadPool } from './pool.js';
import { runChunk } from './chunk.js';
import {
  BgemmArg,
  Col2imArg,
  ConvF32Arg,
  ConvS16Arg,
  Fn,
  GemmF32Arg,
  GemmResidualArg,
  GemmS16Arg,
  GemmS4Arg,
  MapKernel,
  MapRowsArg,
  Split,
} from './layout.generated.js';

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

/** The binary kernels' per-thread tile setter (assembly/binary/bgemm.ts), where a build has it. */
export interface BinaryScratchKernels {
  /** Points an instance's popcount tile at a block of its own (at least 64 bytes). */
  binary_thread_scratch(t: number): void;
}

/** True when each thread can have its own binary popcount tile, so bgemm may be split. */
export function hasBinaryScratch(k: Kernels): k is Kernels & BinaryScratchKernels {
  return typeof (k as Partial<BinaryScratchKernels>).binary_thread_scratch === 'function';
}

/** Rows per unit of a binary GEMM split: a multiple of every build's tile height (4, 2). */
const BINARY_ROWS = 4;
/** assembly/binary/bgemm.ts BinaryEpilogue.I8: one byte per output. */
const BINARY_I8 = 2;

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
 * Points `target`'s gemm_s16 and gemm_f32 (a copy of `raw`, the build's exports, that the
 * engine's Runtime already holds) at versions dispatched over `pool`. Each thread uses its
 * own microkernel tile from `pool.tiles`, never the build's static one.
 */
export function installThreadedKernels(
  target: Kernels,
  raw: Kernels,
  pool: ThreadPool,
  heap: Heap,
  tile: TileShape,
): void {
  const { mr, nr } = tile;
  const tile0 = pool.tiles[0]!;
  const i32 = pool.words;
  const f32 = pool.floats;
  /** Workers the job being planned wakes (set by rowChunks and planConv). */
  let workers = 0;

  /**
   * The calling thread's share of a launched job: chunks from the shared counter, each run
   * by the same chunk.js function the workers run; then the join.
   */
  function runMine(fn: FnId, rows: boolean, chunks: number, units: number, scratch: number): void {
    const t0 = performance.now();
    let mine = 0;
    try {
      for (let c = pool.nextChunk(); c < chunks; c = pool.nextChunk()) {
        mine++;
        runChunk(raw, i32, f32, fn, rows, partStart(c, units, chunks), partStart(c + 1, units, chunks), tile0, scratch);
      }
    } catch (e) {
      pool.abort();
      throw e;
    }
    pool.finish(performance.now() - t0, mine);
  }

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
    pool.launch(Math.min(parts, chunks) - 1);
    runMine(Fn.GemmS16, !overN, chunks, units, 0);
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
    pool.launch(Math.min(parts, chunks) - 1);
    runMine(Fn.GemmF32, !overN, chunks, units, 0);
  }

  target.gemm_s16 = gemm_s16;
  target.gemm_f32 = gemm_f32;

  /**
   * The split of a job cut into row blocks of `unit` rows: its chunk count, with the
   * workers it wakes in `workers`; 0 when it stays on one thread.
   */
  function rowChunks(ops: number, minOps: number, rows: number, unit: number): number {
    const units = Math.ceil(rows / unit);
    const parts = partsFor(ops, minOps, pool.size);
    if (parts <= 1 || units < 2) return 0;
    const n = chunksFor(units, parts);
    workers = Math.min(parts, n) - 1;
    return n;
  }

  // int4 GEMMs: row blocks of the int4 activation panel height (the epilogue arrays are
  // indexed from column 0, so a panel split would need column offsets the kernels lack)
  const int4Mr = raw.gemm_s4_mr();
  function int4Job(
    a: number,
    w: number,
    M: number,
    N: number,
    kPairs: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
    grouped: number,
  ): boolean {
    pool.ready();
    const n = rowChunks(4 * M * N * kPairs, minOpsPerPart.s16, M, int4Mr);
    if (n === 0) return false;
    const units = Math.ceil(M / int4Mr);
    pool.job(Fn.GemmS4, Split.Rows, n, units);
    const A = GemmS4Arg;
    i32[A.a] = a;
    i32[A.w] = w;
    i32[A.M] = M;
    i32[A.N] = N;
    i32[A.kPairs] = kPairs;
    i32[A.out] = out;
    i32[A.ldo] = ldo;
    i32[A.kind] = kind;
    i32[A.params] = params;
    i32[A.grouped] = grouped;
    i32[A.mr] = int4Mr;
    pool.launch(workers);
    runMine(Fn.GemmS4, true, n, units, 0);
    return true;
  }
  target.gemm_s4 = (a, w, M, N, kPairs, out, ldo, kind, params) => {
    if (!int4Job(a, w, M, N, kPairs, out, ldo, kind, params, 0))
      raw.gemm_s4(a, w, M, N, kPairs, out, ldo, kind, params);
  };
  target.gemm_s4_grouped = (a, w, M, N, kPairs, out, ldo, params) => {
    if (!int4Job(a, w, M, N, kPairs, out, ldo, 0, params, 1)) raw.gemm_s4_grouped(a, w, M, N, kPairs, out, ldo, params);
  };

  // the residual GEMM: two int8 stages, row blocks of the GEMM's MR (pack_a_f32_s16's)
  target.gemm_s16_residual = (a, w1, w2, M, N, kPairs, rowScales, s1, s2, bias, lo, hi, out, ldo) => {
    pool.ready();
    const n = rowChunks(8 * M * N * kPairs, minOpsPerPart.s16, M, mr);
    if (n === 0) {
      raw.gemm_s16_residual(a, w1, w2, M, N, kPairs, rowScales, s1, s2, bias, lo, hi, out, ldo);
      return;
    }
    const units = Math.ceil(M / mr);
    pool.job(Fn.GemmResidual, Split.Rows, n, units);
    const A = GemmResidualArg;
    i32[A.a] = a;
    i32[A.w1] = w1;
    i32[A.w2] = w2;
    i32[A.M] = M;
    i32[A.N] = N;
    i32[A.kPairs] = kPairs;
    i32[A.rowScales] = rowScales;
    i32[A.s1] = s1;
    i32[A.s2] = s2;
    i32[A.bias] = bias;
    f32[A.lo] = lo;
    f32[A.hi] = hi;
    i32[A.out] = out;
    i32[A.ldo] = ldo;
    i32[A.mr] = mr;
    pool.launch(workers);
    runMine(Fn.GemmResidual, true, n, units, 0);
  };

  // the binary GEMM, once the build gives each thread its own popcount tile
  if (hasBinaryScratch(raw)) {
    const chunkBits = raw.binary_chunk_bytes() * 8;
    target.bgemm = (rec, M, T, Cv, w, N, out, ldo, kind, params) => {
      pool.ready();
      const n = rowChunks(2 * M * N * T * Cv * chunkBits, minOpsPerPart.binary, M, BINARY_ROWS);
      if (n === 0) {
        raw.bgemm(rec, M, T, Cv, w, N, out, ldo, kind, params);
        return;
      }
      const units = Math.ceil(M / BINARY_ROWS);
      pool.job(Fn.Bgemm, Split.Rows, n, units);
      const A = BgemmArg;
      i32[A.rec] = rec;
      i32[A.M] = M;
      i32[A.T] = T;
      i32[A.Cv] = Cv;
      i32[A.w] = w;
      i32[A.N] = N;
      i32[A.out] = out;
      i32[A.ldo] = ldo;
      i32[A.kind] = kind;
      i32[A.params] = params;
      i32[A.mr] = BINARY_ROWS;
      i32[A.rowBytes] = kind === BINARY_I8 ? ldo : 4 * ldo;
      pool.launch(workers);
      runMine(Fn.Bgemm, true, n, units, 0);
    };
  }

  // pooling and resize: output rows of all images (each row is computed alone from its
  // table entry, so any cut gives the one-thread bytes)

  /**
   * Plans a MapRows job over N * OH output rows costing `work` (output values x taps) and
   * writes its common arguments; returns its chunk count, or 0 when it stays on one thread.
   */
  function mapJob(
    kernel: number,
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    rows: number,
    cols: number,
    out: number,
    rowEntry: number,
    pixBytes: number,
    work: number,
  ): number {
    pool.ready();
    const n = rowChunks(work, minOpsPerPart.map, N * OH, 1);
    if (n === 0) return 0;
    pool.job(Fn.MapRows, Split.Rows, n, N * OH);
    const A = MapRowsArg;
    i32[A.kernel] = kernel;
    i32[A.x] = x;
    i32[A.N] = N;
    i32[A.H] = H;
    i32[A.W] = W;
    i32[A.C] = C;
    i32[A.OH] = OH;
    i32[A.OW] = OW;
    i32[A.rows] = rows;
    i32[A.cols] = cols;
    i32[A.out] = out;
    i32[A.rowEntry] = rowEntry;
    i32[A.pixBytes] = pixBytes;
    return n;
  }
  function runMap(n: number, N: number, OH: number): void {
    pool.launch(workers);
    runMine(Fn.MapRows, true, n, N * OH, 0);
  }
  /** Taps of a typical (middle) pooling window, from the window tables (3 int32 per entry). */
  function windowTaps(rows: number, cols: number, OH: number, OW: number): number {
    const t = heap.i32;
    return t[(rows >> 2) + 3 * (OH >> 1) + 1]! * t[(cols >> 2) + 3 * (OW >> 1) + 1]!;
  }
  const POOL_ROW = 12;
  const A = MapRowsArg;

  target.pool_max_q8 = (x, N, H, W, C, OH, OW, rows, cols, dH, dW, signed, out) => {
    const work = N * OH * OW * C * windowTaps(rows, cols, OH, OW);
    const n = mapJob(MapKernel.PoolMaxQ8, x, N, H, W, C, OH, OW, rows, cols, out, POOL_ROW, C, work);
    if (n === 0) return raw.pool_max_q8(x, N, H, W, C, OH, OW, rows, cols, dH, dW, signed, out);
    i32[A.dH] = dH;
    i32[A.dW] = dW;
    i32[A.signed] = signed;
    runMap(n, N, OH);
  };
  target.pool_max_f32 = (x, N, H, W, C, OH, OW, rows, cols, dH, dW, out) => {
    const work = 4 * N * OH * OW * C * windowTaps(rows, cols, OH, OW);
    const n = mapJob(MapKernel.PoolMaxF32, x, N, H, W, C, OH, OW, rows, cols, out, POOL_ROW, 4 * C, work);
    if (n === 0) return raw.pool_max_f32(x, N, H, W, C, OH, OW, rows, cols, dH, dW, out);
    i32[A.dH] = dH;
    i32[A.dW] = dW;
    runMap(n, N, OH);
  };
  target.pool_avg_q8 = (x, N, H, W, C, OH, OW, rows, cols, signed, xScale, xZp, yScale, yZp, qmin, qmax, out) => {
    // the average widens every tap to float32: ~4x the max pool's work per tap
    const work = 4 * N * OH * OW * C * windowTaps(rows, cols, OH, OW);
    const n = mapJob(MapKernel.PoolAvgQ8, x, N, H, W, C, OH, OW, rows, cols, out, POOL_ROW, C, work);
    if (n === 0) {
      return raw.pool_avg_q8(x, N, H, W, C, OH, OW, rows, cols, signed, xScale, xZp, yScale, yZp, qmin, qmax, out);
    }
    i32[A.signed] = signed;
    f32[A.xScale] = xScale;
    i32[A.xZp] = xZp;
    f32[A.yScale] = yScale;
    i32[A.yZp] = yZp;
    i32[A.qmin] = qmin;
    i32[A.qmax] = qmax;
    runMap(n, N, OH);
  };
  target.pool_avg_f32 = (x, N, H, W, C, OH, OW, rows, cols, out) => {
    const work = 4 * N * OH * OW * C * windowTaps(rows, cols, OH, OW);
    const n = mapJob(MapKernel.PoolAvgF32, x, N, H, W, C, OH, OW, rows, cols, out, POOL_ROW, 4 * C, work);
    if (n === 0) return raw.pool_avg_f32(x, N, H, W, C, OH, OW, rows, cols, out);
    runMap(n, N, OH);
  };
  target.resize_nearest = (x, N, H, W, pixBytes, OH, OW, rows, cols, out) => {
    const n = mapJob(
      MapKernel.ResizeNearest,
      x,
      N,
      H,
      W,
      pixBytes,
      OH,
      OW,
      rows,
      cols,
      out,
      4,
      pixBytes,
      N * OH * OW * pixBytes,
    );
    if (n === 0) return raw.resize_nearest(x, N, H, W, pixBytes, OH, OW, rows, cols, out);
    runMap(n, N, OH);
  };
  target.resize_linear_q8 = (x, N, H, W, C, OH, OW, rows, cols, signed, out) => {
    // four taps, each widened to float32
    const n = mapJob(MapKernel.ResizeLinearQ8, x, N, H, W, C, OH, OW, rows, cols, out, 16, C, 16 * N * OH * OW * C);
    if (n === 0) return raw.resize_linear_q8(x, N, H, W, C, OH, OW, rows, cols, signed, out);
    i32[A.signed] = signed;
    runMap(n, N, OH);
  };
  target.resize_linear_f32 = (x, N, H, W, C, OH, OW, rows, cols, out) => {
    const n = mapJob(
      MapKernel.ResizeLinearF32,
      x,
      N,
      H,
      W,
      C,
      OH,
      OW,
      rows,
      cols,
      out,
      16,
      4 * C,
      16 * N * OH * OW * C,
    );
    if (n === 0) return raw.resize_linear_f32(x, N, H, W, C, OH, OW, rows, cols, out);
    runMap(n, N, OH);
  };

  // transposed conv col2im: blocks of input rows. Two rows `span` or fewer apart may add
  // into the same output rows: without such overlap any cut is exact (float32 included,
  // each output then gets its adds in the one-thread order); with it, int32 only (exact in
  // any order), in two phases over every other block of `span` rows, so that no two
  // blocks running at once touch one output.
  function col2im(
    float: number,
    col: number,
    p0: number,
    pixels: number,
    H: number,
    W: number,
    kH: number,
    kW: number,
    sH: number,
    sW: number,
    dH: number,
    dW: number,
    pT: number,
    pL: number,
    OH: number,
    OW: number,
    M: number,
    Mg: number,
    g0: number,
    acc: number,
  ): boolean {
    pool.ready();
    const span = Math.floor(((kH - 1) * dH) / sH);
    const firstRow = Math.floor(p0 / W);
    const rowCount = Math.floor((p0 + pixels - 1) / W) - firstRow + 1;
    const block = Math.max(1, span);
    const blocks = Math.ceil(rowCount / block);
    const work = 4 * pixels * kH * kW * Mg;
    if ((span > 0 && float !== 0) || partsFor(work, minOpsPerPart.map, pool.size) <= 1) return false;
    if (span > 0 && blocks < 4) return false;
    const A = Col2imArg;
    const stride = span > 0 ? 2 : 1;
    for (let phase = 0; phase < stride; phase++) {
      if (phase === 1) pool.ready();
      const units = Math.ceil((blocks - phase) / stride);
      const n = Math.max(1, rowChunks(work / stride, minOpsPerPart.map, units, 1));
      if (n === 1) workers = 0;
      pool.job(Fn.Col2im, Split.Rows, n, units);
      i32[A.float] = float;
      i32[A.col] = col;
      i32[A.p0] = p0;
      i32[A.pixels] = pixels;
      i32[A.H] = H;
      i32[A.W] = W;
      i32[A.kH] = kH;
      i32[A.kW] = kW;
      i32[A.sH] = sH;
      i32[A.sW] = sW;
      i32[A.dH] = dH;
      i32[A.dW] = dW;
      i32[A.pT] = pT;
      i32[A.pL] = pL;
      i32[A.OH] = OH;
      i32[A.OW] = OW;
      i32[A.M] = M;
      i32[A.Mg] = Mg;
      i32[A.g0] = g0;
      i32[A.acc] = acc;
      i32[A.firstRow] = firstRow;
      i32[A.block] = block;
      i32[A.stride] = stride;
      i32[A.phase] = phase;
      pool.launch(workers);
      runMine(Fn.Col2im, true, n, units, 0);
    }
    return true;
  }
  target.convt_col2im_s32 = (col, p0, pixels, H, W, kH, kW, sH, sW, dH, dW, pT, pL, OH, OW, M, Mg, g0, acc) => {
    if (!col2im(0, col, p0, pixels, H, W, kH, kW, sH, sW, dH, dW, pT, pL, OH, OW, M, Mg, g0, acc)) {
      raw.convt_col2im_s32(col, p0, pixels, H, W, kH, kW, sH, sW, dH, dW, pT, pL, OH, OW, M, Mg, g0, acc);
    }
  };
  target.convt_col2im_f32 = (col, p0, pixels, H, W, kH, kW, sH, sW, dH, dW, pT, pL, OH, OW, M, Mg, g0, acc) => {
    if (!col2im(1, col, p0, pixels, H, W, kH, kW, sH, sW, dH, dW, pT, pL, OH, OW, M, Mg, g0, acc)) {
      raw.convt_col2im_f32(col, p0, pixels, H, W, kH, kW, sH, sW, dH, dW, pT, pL, OH, OW, M, Mg, g0, acc);
    }
  };

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
    workers = Math.min(parts, chunks) - 1;
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
    scratchFor(workers, scratch);
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
    pool.launch(workers);
    runMine(Fn.ConvS16, true, n, units, scratch);
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
    scratchFor(workers, scratch);
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
    pool.launch(workers);
    runMine(Fn.ConvF32, true, n, units, scratch);
  }

  target.conv2d_s16 = conv2d_s16;
  target.conv2d_f32 = conv2d_f32;
}
