// runAsync for layers: the same work as run, with the wait for the workers handed to the
// event loop (Atomics.waitAsync), for callers that must not block: a browser's main thread.
import type { Runtime } from '../runtime.js';

/**
 * Runs `start` (a layer's run up to its GEMM) and, once the GEMM's workers are done,
 * resolves with `finish(start())` (the copy-out). On an engine without threads both run
 * at once; errors become rejections either way.
 */
export function runLayerAsync<T, R>(rt: Runtime, start: () => T, finish: (t: T) => R): Promise<R> {
  if (rt.pool === null) return new Promise((resolve) => resolve(finish(start())));
  return rt.pool.runAsync(start, finish);
}
