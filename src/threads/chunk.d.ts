// Types of chunk.js (plain JavaScript: it also runs unbuilt inside workers).

/**
 * Runs units [u0, u1) of the pool job in the control block viewed by `i32` / `f32`:
 * kernel `fn` (pool.ts: Fn), split over MR-row blocks when `rows`, else over weight panels,
 * with this thread's microkernel `tile` and conv `scratch`.
 */
export declare function runChunk(
  k: object,
  i32: Int32Array,
  f32: Float32Array,
  fn: number,
  rows: boolean,
  u0: number,
  u1: number,
  tile: number,
  scratch: number,
): void;
