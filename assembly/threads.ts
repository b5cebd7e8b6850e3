// Per-thread scratch of a thread pool's workers. Every instance of a threaded build shares
// one memory, so a kernel's tile in static memory (memory.data) would be shared by all
// threads: each worker instead points its kernels' tiles at a block of its own, once, at
// start-up. A thread runs one kernel at a time, so the kernels share that block.
import { BINARY_TILE_BYTES, binary_thread_scratch } from './binary/bgemm';
import { conv_thread_scratch, conv_thread_scratch_bytes } from './conv/conv';
import { INT4_SCRATCH_BYTES, int4_thread_scratch } from './gemm/int4';
import { RESIDUAL_SCRATCH_BYTES, residual_thread_scratch } from './gemm/residual';

/** Bytes of the per-thread block thread_scratch takes (16-byte aligned by the caller). */
export function thread_scratch_bytes(): i32 {
  return max(max(conv_thread_scratch_bytes(), BINARY_TILE_BYTES), max(INT4_SCRATCH_BYTES, RESIDUAL_SCRATCH_BYTES));
}

/** Points this instance's kernel tiles at `t`, thread_scratch_bytes() long. */
export function thread_scratch(t: usize): void {
  conv_thread_scratch(t);
  int4_thread_scratch(t);
  residual_thread_scratch(t);
  binary_thread_scratch(t);
}
