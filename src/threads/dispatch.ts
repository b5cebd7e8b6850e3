// What every threaded kernel wrapper (kernels.ts, kernels-rows.ts, kernels-maps.ts) shares:
// the pool's control block views, the build's own kernels, how a row split is planned and
// how the calling thread takes its share of a launched job.
import type { Kernels } from '../kernels.js';
import type { Heap } from '../memory.js';
import { chunksFor, partStart, partsFor } from './partition.js';
import type { FnId, ThreadPool } from './pool.js';
import { runChunk } from './chunk.js';

export class Dispatch {
  /** The control block, for writing a job's arguments at their generated words. */
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  /** Workers the job being planned wakes (set by rowChunks, or by the planner). */
  workers = 0;
  private readonly tile0: number;

  constructor(
    readonly pool: ThreadPool,
    /** The build's exports: what one chunk, and an unsplit call, runs. */
    readonly raw: Kernels,
    readonly heap: Heap,
  ) {
    this.i32 = pool.words;
    this.f32 = pool.floats;
    this.tile0 = pool.tiles[0]!;
  }

  /**
   * The split of a job of `ops` cost cut into blocks of `unit` rows: its chunk count, with
   * the workers it wakes in `workers`; 0 when it stays on one thread.
   */
  rowChunks(ops: number, minOps: number, rows: number, unit: number): number {
    const units = Math.ceil(rows / unit);
    const parts = partsFor(ops, minOps, this.pool.size);
    if (parts <= 1 || units < 2) return 0;
    const n = chunksFor(units, parts);
    this.workers = Math.min(parts, n) - 1;
    return n;
  }

  /**
   * Wakes `workers` for the job just written (its head by pool.job, its arguments in the
   * control block), then runs the caller's share: chunks from the shared counter, each
   * by the same chunk.js function the workers run; then the join.
   */
  launch(fn: FnId, rows: boolean, chunks: number, units: number, scratch: number): void {
    const pool = this.pool;
    pool.launch(this.workers);
    const t0 = performance.now();
    let mine = 0;
    try {
      for (let c = pool.nextChunk(); c < chunks; c = pool.nextChunk()) {
        mine++;
        runChunk(
          this.raw,
          this.i32,
          this.f32,
          fn,
          rows,
          partStart(c, units, chunks),
          partStart(c + 1, units, chunks),
          this.tile0,
          scratch,
        );
      }
    } catch (e) {
      pool.abort();
      throw e;
    }
    pool.finish(performance.now() - t0, mine);
  }
}
