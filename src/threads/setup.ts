// Qwasm.create({ threads }): how many threads an engine gets, and the start of a threaded
// engine (the `-mt` build on a shared memory, its worker pool, the dispatched kernels).
import { QwasmError } from '../errors.js';
import type { Kernels } from '../kernels.js';
import { loadBuild, type Backend, type WasmSource } from '../loader.js';
import { hasNodeBuiltins, hostCores } from '../platform/host.js';
import { Runtime } from '../runtime.js';
import { hasConvRows, installThreadedKernels } from './kernels.js';
import { ThreadPool } from './pool.js';

/** The most threads 'auto' picks: beyond this a single int8 layer rarely scales further. */
export const AUTO_THREADS_CAP = 8;
/** The most threads an engine accepts. */
export const MAX_THREADS = 64;

let warned = false;

/** Why this host cannot share wasm memory between threads, or null when it can. */
function sharedMemoryUnavailable(): string | null {
  // browsers hide SharedArrayBuffer from pages that are not isolated: say how to fix that
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object')
    return 'this host has no SharedArrayBuffer';
  // edge runtimes (Cloudflare's workerd, ...) share memory but start no workers
  if (!hasNodeBuiltins() && typeof (globalThis as { Worker?: unknown }).Worker !== 'function') {
    return 'this host cannot start workers';
  }
  return null;
}

/**
 * Validates the `threads` option and resolves it to a count: 'auto' is the host's cores
 * (at most AUTO_THREADS_CAP); anything above 1 becomes 1, with one console warning per
 * process, where shared memory is unavailable.
 */
export async function resolveThreads(threads: unknown): Promise<number> {
  if (threads === undefined || threads === null) return 1;
  let n: number;
  if (threads === 'auto') n = Math.min(AUTO_THREADS_CAP, Math.max(1, hostCores()));
  else {
    if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
      throw new QwasmError('threads', `must be 'auto' or an integer from 1 to ${MAX_THREADS}, got ${String(threads)}`);
    }
    n = threads;
  }
  if (n > 1) {
    const why = sharedMemoryUnavailable();
    if (why !== null) {
      if (!warned) {
        warned = true;
        console.warn(`qwasm: running on 1 thread instead of ${n}: ${why}.`);
      }
      return 1;
    }
  }
  return n;
}

/**
 * A shared memory with the largest maximum the host grants: the maximum is reserved up
 * front, and hosts with little address space (32-bit, some mobile browsers) refuse 4 GiB.
 */
function sharedMemory(): WebAssembly.Memory {
  let error: unknown;
  for (const maximum of [65536, 32768, 16384, 4096]) {
    try {
      return new WebAssembly.Memory({ initial: 16, maximum, shared: true });
    } catch (e) {
      error = e;
    }
  }
  throw new QwasmError('threads', `the host refused a shared wasm memory: ${(error as Error).message}`);
}

/**
 * Loads the threaded build on a shared memory and starts `threads - 1` workers. With a
 * caller-given `wasm` that is not a threaded build: a QwasmError, or one thread when the
 * count came from 'auto'.
 */
export async function startThreaded(
  backend: Backend | 'auto',
  wasm: WasmSource | undefined,
  threads: number,
  auto: boolean,
): Promise<Runtime> {
  let b;
  try {
    b = await loadBuild(backend, wasm, sharedMemory());
  } catch (e) {
    if (wasm === undefined || !(e instanceof WebAssembly.LinkError)) throw e;
    if (!auto) {
      throw new QwasmError(
        'wasm',
        `threads > 1 needs a threaded build (relaxed-mt, simd-mt or scalar-mt.wasm), whose memory is shared; this one's is not`,
      );
    }
    const single = await loadBuild(backend, wasm);
    return Runtime.single(single.kernels, single.memory, single.backend);
  }
  const build = b;
  const kernels: Kernels = { ...build.kernels };
  return Runtime.threaded(kernels, build.memory, build.backend, async (heap, { mr, nr }) => {
    // one block per thread serves the GEMM tile and the conv kernels' scratch
    const scratchBytes = Math.max(mr * nr * 4, hasConvRows(build.kernels) ? build.kernels.thread_scratch_bytes() : 0);
    const pool = await ThreadPool.start(heap, build.module, threads, scratchBytes);
    installThreadedKernels(kernels, build.kernels, pool, heap, { mr, nr });
    return pool;
  });
}
