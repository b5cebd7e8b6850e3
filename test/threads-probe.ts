// What the thread tests observe of an engine's pool from outside it: wake-ups and the
// chunks its workers ran, read from the control block's words (the generated layout the
// pool and its workers share), and a switch that leaves every chunk to the workers.
// Nothing here is a hook in the production pool.
import type { Qwasm } from '../src/index.js';
import type { Runtime } from '../src/runtime.js';
import { Ctl, Slot } from '../src/threads/layout.generated.js';
import type { ThreadPool } from '../src/threads/pool.js';

/** The pool of a threaded engine. */
export function poolOf(qw: Qwasm): ThreadPool {
  return (qw as unknown as { rt: Runtime }).rt.pool as ThreadPool;
}

function sumOverWorkers(pool: ThreadPool, field: number): number {
  let n = 0;
  for (let w = 1; w < pool.size; w++) n += pool.words[Ctl.SLOTS + Ctl.SLOT_WORDS * w + field]!;
  return n;
}

/** Worker wake-ups so far: grows with every job handed to the workers. */
export function wakeUps(qw: Qwasm): number {
  return sumOverWorkers(poolOf(qw), Slot.SEQ);
}

/** Chunks the workers have run so far. */
export function workerChunks(qw: Qwasm): number {
  return sumOverWorkers(poolOf(qw), Slot.DONE);
}

/**
 * Makes the calling thread take no chunks of its own jobs (true), so the workers compute
 * every chunk, or restores the pool's own behaviour (false).
 */
export function leaveChunksToWorkers(qw: Qwasm, on: boolean): void {
  const pool = poolOf(qw) as unknown as { nextChunk?: () => number };
  if (on) pool.nextChunk = () => 1 << 30;
  else delete pool.nextChunk;
}
