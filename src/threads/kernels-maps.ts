// Pooling, resize and transposed conv's col2im in a threaded engine: memory-bound kernels
// split over output rows (pools, resize) or blocks of input rows (col2im), each part
// computed exactly as in the one-thread call.
import type { Kernels } from '../kernels.js';
import type { Dispatch } from './dispatch.js';
import { Col2imArg, Fn, MapKernel, MapRowsArg, Split } from './layout.generated.js';
import { minOpsPerPart, partsFor } from './partition.js';

/** Points `target`'s pooling, resize and col2im kernels at split versions. */
export function installMapKernels(target: Kernels, d: Dispatch): void {
  const { pool, raw, heap, i32, f32 } = d;
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
    const n = d.rowChunks(work, minOpsPerPart.map, N * OH, 1);
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
    d.launch(Fn.MapRows, true, n, N * OH, 0);
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
      const n = Math.max(1, d.rowChunks(work / stride, minOpsPerPart.map, units, 1));
      if (n === 1) d.workers = 0;
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
      d.launch(Fn.Col2im, true, n, units, 0);
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
}
