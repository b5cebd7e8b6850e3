import { QwasmError } from './errors.js';
import type { Kernels } from './kernels.js';
import type { Backend, WasmMemory } from './loader.js';
import { Heap } from './memory.js';
import { configFor, type KernelConfig } from './config.js';

/**
 * What the runtime needs of a worker pool. src/threads/pool.ts is the implementation; it
 * depends on this module, never the reverse.
 */
export interface WorkerPool {
  /** Threads, the calling one included. */
  readonly size: number;
  /** Throws unless a new job may start (the pool works and no runAsync job is in flight). */
  checkIdle(): void;
  /** Runs `start` (which may leave a job to the workers) and resolves with `finish` once they are done. */
  runAsync<T, R>(start: () => T, finish: (t: T) => R): Promise<R>;
  dispose(): void;
}

/** What ops and layers need from an engine: the kernels, the heap, the build's config. */
export class Runtime {
  readonly heap: Heap;
  readonly config: KernelConfig;
  /** The microkernel tile scratch of single-threaded calls (MR x NR int32). */
  readonly tile: number;
  private disposed = false;
  /** The worker pool of a threaded engine (`threads` > 1), else null. */
  readonly pool: WorkerPool | null;

  private constructor(
    readonly kernels: Kernels,
    heap: Heap,
    readonly backend: Backend,
    pool: WorkerPool | null,
  ) {
    this.heap = heap;
    this.pool = pool;
    this.config = configFor(backend, kernels.gemm_mr());
    this.tile = this.heap.alloc(this.config.mr * this.config.nr * 4);
  }

  /** A single-threaded runtime over a loaded build. */
  static single(kernels: Kernels, memory: WasmMemory, backend: Backend): Runtime {
    return new Runtime(kernels, new Heap(memory, kernels.heap_base()), backend, null);
  }

  /**
   * A runtime whose kernels run on a worker pool: `startPool` gets the heap (on the
   * build's shared memory) and the build's config, starts the pool and installs the
   * threaded kernels into `kernels`.
   */
  static async threaded(
    kernels: Kernels,
    memory: WasmMemory,
    backend: Backend,
    startPool: (heap: Heap, config: KernelConfig) => Promise<WorkerPool>,
  ): Promise<Runtime> {
    const heap = new Heap(memory, kernels.heap_base());
    const pool = await startPool(heap, configFor(backend, kernels.gemm_mr()));
    return new Runtime(kernels, heap, backend, pool);
  }

  /**
   * Runs `start` (a layer's call up to its kernels) and, once the workers are done,
   * resolves with `finish(start())` (the copy-out). Without a pool both run at once;
   * errors become rejections either way.
   */
  runAsync<T, R>(start: () => T, finish: (t: T) => R): Promise<R> {
    if (this.pool === null) return new Promise((resolve) => resolve(finish(start())));
    return this.pool.runAsync(start, finish);
  }

  /** Throws when the engine was disposed. */
  live(): this {
    if (this.disposed) throw new QwasmError('engine', 'this Qwasm engine was disposed');
    if (this.pool !== null) this.pool.checkIdle();
    return this;
  }

  dispose(): void {
    this.disposed = true;
    if (this.pool !== null) this.pool.dispose();
  }

  /** Allocates temporary blocks for one call and frees them afterwards, also on error. */
  scoped<T>(fn: (alloc: (bytes: number, what?: string) => number) => T): T {
    const ptrs: number[] = [];
    try {
      return fn((bytes, what) => {
        const p = this.heap.alloc(bytes, what);
        ptrs.push(p);
        return p;
      });
    } finally {
      for (let i = ptrs.length - 1; i >= 0; i--) this.heap.release(ptrs[i]!);
    }
  }
}

/** A block of wasm memory owned by a layer, grown (never shrunk) to the largest request. */
export class Workspace {
  ptr = 0;
  size = 0;

  constructor(private readonly rt: Runtime) {}

  /** Makes the block at least `bytes` long; returns its pointer. */
  private cached: ArrayBufferView | null = null;

  /**
   * A view of the first `n` elements of the block, reused while memory has not grown and
   * the request is the same, so a steady run of calls creates no objects.
   */
  view<T extends Int8Array | Uint8Array | Int32Array | Uint32Array | Float32Array>(
    ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T },
    n: number,
  ): T {
    const c = this.cached;
    if (c !== null && c.constructor === ctor && (c as T).length === n && c.buffer === this.rt.heap.memory.buffer) {
      return c as T;
    }
    const v = new ctor(this.rt.heap.memory.buffer, this.ptr, n);
    this.cached = v;
    return v;
  }

  ensure(bytes: number, what?: string): number {
    if (bytes > this.size) {
      this.cached = null;
      if (this.size > 0) this.rt.heap.release(this.ptr);
      this.size = 0;
      this.ptr = this.rt.heap.alloc(bytes, what);
      this.size = bytes;
    }
    return this.ptr;
  }

  free(): void {
    if (this.size > 0) this.rt.heap.release(this.ptr);
    this.size = 0;
    this.ptr = 0;
  }
}
