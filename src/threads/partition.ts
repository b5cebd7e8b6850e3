// How a job is cut: how many threads it is worth (`partsFor`), over which dimension
// (`splitOverN`), into how many chunks the threads then take turns on (`chunksFor`).
// Every chunk computes whole MR x NR tiles with the same microkernel, the same K order
// and the same epilogue as the one-thread call, so a threaded result is bit-identical to
// the single-threaded one whatever the split. The split decides only speed: parts large
// enough to pay for waking a worker, chunks even in whole panels or MR-row blocks.

/**
 * Smallest part worth a thread, in ops (2 x multiply-adds). Measured on the 2-core Zen 4
 * box with calls back to back (the worker still polling): 8x256x256 (1 Mops, 10 us) ran
 * 1.4x faster split in two, 16x256x256 (2 Mops) 1.67x, 64x256x256 1.76x; a worker that
 * has gone to sleep costs a ~10-50 us wake-up on top. Parts of 2 Mops (jobs of 4 Mops,
 * ~40 us on one thread) keep that wake-up below the time saved. Tests lower these to
 * split tiny problems too.
 */
export const minOpsPerPart = {
  /** int8 GEMM (gemm_s16). */
  s16: 2_000_000,
  /** float32 GEMM, which runs at about half the int8 rate. */
  f32: 1_000_000,
  /**
   * Binary GEMM, counted in bit operations (2 per +-1 multiply-add), which run ~4x the
   * int8 rate (~400 G bit-ops/s): 8 M is about the same ~20 us as the int8 part.
   */
  binary: 8_000_000,
  /**
   * Pooling, resize and col2im, counted in output bytes x window taps (x4 where each tap
   * is widened to float32). Max pool 3x3 s2 on 1x112x112x64 (1.8 M, 0.19 ms on one
   * thread) ran at 0.82x split in two on this busy 2-vCPU Xeon while a 128x768x768 GEMM
   * ran at 1.52x in the same run: such short memory-bound calls stay on one thread, parts
   * start at 1 M (linear resize x2 on 1x40x40x96, 9.8 M, ran at 1.40x).
   */
  map: 1_000_000,
};

/** How many parts a job of `work` units of cost gets, at most `threads`, each >= `minWork`. */
export function partsFor(work: number, minWork: number, threads: number): number {
  if (threads <= 1 || work < 2 * minWork) return 1;
  return Math.min(threads, Math.floor(work / minWork));
}

/** Largest part of `units` split into `parts` contiguous ranges, relative to the mean: how far from ideal. */
function speedupOf(units: number, parts: number): number {
  const p = Math.min(parts, units);
  return units / Math.ceil(units / p);
}

/**
 * Chooses the dimension of a GEMM split: true for N (weight panels), false for M (MR-row
 * blocks). N is preferred: each thread then reads only its own weights, which is what
 * bounds a GEMM with few rows; M is taken when it balances clearly better (small N).
 */
export function splitOverN(panels: number, rowBlocks: number, parts: number): boolean {
  return speedupOf(panels, parts) >= 0.95 * speedupOf(rowBlocks, parts);
}

/**
 * Chunks of a job of `units` panels or row blocks for `parts` threads: a few per thread,
 * so a thread that wakes late or is descheduled leaves its share to the others.
 */
export function chunksFor(units: number, parts: number): number {
  return Math.min(units, parts * CHUNKS_PER_THREAD);
}

/** Chunks per thread: 4 measured as good as 2 on an idle machine and better on a busy one. */
const CHUNKS_PER_THREAD = 4;

/** Start of part `i` of `units` split into `parts` contiguous ranges of nearly equal size. */
export function partStart(i: number, units: number, parts: number): number {
  return Math.floor((i * units) / parts);
}
