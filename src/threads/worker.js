// @ts-check
// The worker side of qwasm's thread pool (src/threads/pool.ts). Plain JavaScript with no
// imports of the library, so the very same file runs as a Node.js worker_threads worker
// and as a browser module Worker, from src/ under a test runner and from dist/ alike.
//
// One message starts it: the compiled threaded build, the engine's shared memory, where
// the control block and this worker's slot are, and its own microkernel tile. After
// answering 'ready' it never returns to its event loop: it sleeps on its slot's sequence
// word (Atomics.wait), takes chunks of the job the caller wrote until none is left, and
// counts the pool's PENDING word down. No postMessage per call.
//
// The layout and the chunk arithmetic below must match pool.ts and kernels.ts.

const PENDING = 0;
const FAILED = 1;
const STOP = 2;
const NEXT = 16;
const FN = 32;
const CHUNKS = 33;
const UNITS = 34;
const ARGS = 36;
const MESSAGE = 64;
const MESSAGE_BYTES = 256;
const SLOTS = MESSAGE + MESSAGE_BYTES / 4;
const SLOT_WORDS = 16;
const SEQ = 0;
const SCRATCH = 1;
const DONE = 2;

/** Kernel ids (pool.ts: Fn) and chunk kinds (pool.ts: Split). */
const GEMM_S16 = 1;
const GEMM_F32 = 2;
const CONV_S16 = 3;
const CONV_F32 = 4;
const SPLIT_ROWS = 1;
/** Epilogue kinds that store int32 / float32 (kernels.ts: EpilogueKind.I32, Dequant). */
const EPI_I32 = 0;
const EPI_DEQUANT = 3;

/**
 * How long the sequence word is polled after a job before sleeping, in ms: about the
 * longest chunk of that job, or twice the last pause between jobs, within these bounds. A call that follows closely (the next
 * layer, the next iteration of a loop) then starts without a futex wake-up (~10 us),
 * while on a busy machine the worker soon stops competing for a core the caller may
 * need; a quiet pool sleeps.
 */
const SPIN_MIN_MS = 0.005;
const SPIN_MAX_MS = 0.1;
/** Polls between two looks at the clock. */
const POLLS = 256;

/**
 * @typedef {{ module: WebAssembly.Module, memory: WebAssembly.Memory, ctl: number, slot: number, tile: number }} Init
 * @typedef {(data: unknown) => void} Post
 * @typedef {Record<string, (...args: number[]) => void>} Kernels
 */

/**
 * Runs chunks [u0, u1) of units of the job in the control block (`a`: its first argument).
 * @param {Kernels} k
 * @param {Int32Array} i32
 * @param {Float32Array} f32
 * @param {number} fn
 * @param {boolean} rows
 * @param {number} u0
 * @param {number} u1
 * @param {number} tile
 * @param {number} scratch
 */
function runChunk(k, i32, f32, fn, rows, u0, u1, tile, scratch) {
  const a = ARGS;
  switch (fn) {
    case GEMM_S16: {
      // a, w, M, N, kPairs, out, ldo, kind, params, MR, NR
      const M = i32[a + 2];
      const N = i32[a + 3];
      const kPairs = i32[a + 4];
      const ldo = i32[a + 6];
      const kind = i32[a + 7];
      if (rows) {
        const mr = i32[a + 9];
        const r0 = u0 * mr;
        const r1 = Math.min(M, u1 * mr);
        const es = kind === EPI_I32 || kind === EPI_DEQUANT ? 4 : 1;
        k.gemm_s16_panels(
          i32[a] + r0 * kPairs * 4,
          i32[a + 1],
          r1 - r0,
          N,
          kPairs,
          i32[a + 5] + r0 * ldo * es,
          ldo,
          kind,
          i32[a + 8],
          0,
          Math.ceil(N / i32[a + 10]),
          tile,
        );
      } else {
        k.gemm_s16_panels(i32[a], i32[a + 1], M, N, kPairs, i32[a + 5], ldo, kind, i32[a + 8], u0, u1, tile);
      }
      break;
    }
    case GEMM_F32: {
      // x, lda, w, M, N, K, bias, lo, hi, out, ldo, MR, NR
      const lda = i32[a + 1];
      const M = i32[a + 3];
      const N = i32[a + 4];
      const ldo = i32[a + 10];
      if (rows) {
        const mr = i32[a + 11];
        const r0 = u0 * mr;
        const r1 = Math.min(M, u1 * mr);
        k.gemm_f32_panels(
          i32[a] + r0 * lda * 4,
          lda,
          i32[a + 2],
          r1 - r0,
          N,
          i32[a + 5],
          i32[a + 6],
          f32[a + 7],
          f32[a + 8],
          i32[a + 9] + r0 * ldo * 4,
          ldo,
          0,
          Math.ceil(N / i32[a + 12]),
          tile,
        );
      } else {
        k.gemm_f32_panels(
          i32[a],
          lda,
          i32[a + 2],
          M,
          N,
          i32[a + 5],
          i32[a + 6],
          f32[a + 7],
          f32[a + 8],
          i32[a + 9],
          ldo,
          u0,
          u1,
          tile,
        );
      }
      break;
    }
    case CONV_S16: {
      // p, x, w, out, kind, params, rows, MR
      const mr = i32[a + 7];
      k.conv2d_s16_rows(
        i32[a],
        i32[a + 1],
        i32[a + 2],
        i32[a + 3],
        i32[a + 4],
        i32[a + 5],
        scratch,
        u0 * mr,
        Math.min(i32[a + 6], u1 * mr),
      );
      break;
    }
    case CONV_F32: {
      // p, x, w, bias, lo, hi, out, rows, MR
      const mr = i32[a + 8];
      k.conv2d_f32_rows(
        i32[a],
        i32[a + 1],
        i32[a + 2],
        i32[a + 3],
        f32[a + 4],
        f32[a + 5],
        i32[a + 6],
        scratch,
        u0 * mr,
        Math.min(i32[a + 7], u1 * mr),
      );
      break;
    }
  }
}

/**
 * Instantiates the build on the shared memory, then serves jobs until STOP.
 * @param {Init} init
 * @param {Post} post
 */
async function serve(init, post) {
  const { module, memory, ctl, slot, tile } = init;
  /** @type {Record<string, WebAssembly.ImportValue>} */
  const env = { memory };
  // kernels never call out; any function import a build may declare traps loudly
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind === 'function') {
      env[imp.name] = () => {
        throw new Error(`the kernel called the host import env.${imp.name}`);
      };
    }
  }
  const instance = await WebAssembly.instantiate(module, { env });
  const k = /** @type {Kernels} */ (/** @type {unknown} */ (instance.exports));
  // the conv kernels' static scratch is per instance: this worker's lives in its own block
  if (typeof k.conv_thread_scratch === 'function') k.conv_thread_scratch(tile);
  const words = SLOTS + SLOT_WORDS * (slot + 1);
  const i32 = new Int32Array(memory.buffer, ctl, words);
  const f32 = new Float32Array(memory.buffer, ctl, words);
  const s = SLOTS + SLOT_WORDS * slot;
  // read before answering: a job posted right after 'ready' must look new
  let seen = Atomics.load(i32, s + SEQ);
  post({ type: 'ready' });

  let spinMs = SPIN_MIN_MS;
  let idleSince = performance.now();
  for (;;) {
    let seq = Atomics.load(i32, s + SEQ);
    if (seq === seen) {
      const until = performance.now() + spinMs;
      do {
        for (let n = 0; seq === seen && n < POLLS; n++) seq = Atomics.load(i32, s + SEQ);
      } while (seq === seen && performance.now() < until);
    }
    while (seq === seen) {
      Atomics.wait(i32, s + SEQ, seen);
      seq = Atomics.load(i32, s + SEQ);
    }
    seen = seq;
    if (Atomics.load(i32, STOP) !== 0) return;
    const gap = performance.now() - idleSince;
    const head = i32[FN];
    const fn = head & 0xff;
    const rows = head >> 8 === SPLIT_ROWS;
    const chunks = i32[CHUNKS];
    const units = i32[UNITS];
    const scratch = i32[s + SCRATCH];
    let longest = 0;
    try {
      for (let c = Atomics.add(i32, NEXT, 1); c < chunks; c = Atomics.add(i32, NEXT, 1)) {
        const t0 = performance.now();
        runChunk(
          k,
          i32,
          f32,
          fn,
          rows,
          Math.floor((c * units) / chunks),
          Math.floor(((c + 1) * units) / chunks),
          tile,
          scratch,
        );
        longest = Math.max(longest, performance.now() - t0);
        i32[s + DONE]++;
      }
    } catch (e) {
      fail(i32, slot, e);
    }
    if (Atomics.sub(i32, PENDING, 1) === 1) Atomics.notify(i32, PENDING);
    idleSince = performance.now();
    // poll for about a chunk, or twice the last pause between jobs when that was short:
    // calls in a loop then keep finding the worker awake
    const recent = gap < SPIN_MAX_MS ? 2 * gap : 0;
    spinMs = Math.min(SPIN_MAX_MS, Math.max(SPIN_MIN_MS, longest, recent));
  }
}

/**
 * Records the first failure of a job (a trap inside a kernel) where the caller reads it
 * synchronously: the worker's number, then the message as UTF-8.
 * @param {Int32Array} i32
 * @param {number} slot
 * @param {unknown} e
 */
function fail(i32, slot, e) {
  // stop the other threads taking chunks of a job that failed anyway
  Atomics.store(i32, NEXT, 1 << 30);
  if (Atomics.compareExchange(i32, FAILED, 0, slot + 1) !== 0) return;
  const text = new TextEncoder().encode(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  const n = Math.min(text.length, MESSAGE_BYTES - 4);
  new Uint8Array(i32.buffer, i32.byteOffset + (MESSAGE + 1) * 4, n).set(text.subarray(0, n));
  i32[MESSAGE] = n;
}

/** Wires `serve` to the host's messaging: worker_threads' parentPort, or the browser worker's scope. */
async function main() {
  /** @type {{ once(e: 'message', f: (d: unknown) => void): void, postMessage(d: unknown): void, close(): void } | null} */
  let port = null;
  if (typeof process === 'object' && process !== null && typeof process.versions?.node === 'string') {
    const wt = /** @type {typeof import('node:worker_threads')} */ (
      await import(/* @vite-ignore */ 'node:worker_threads')
    );
    port = wt.parentPort;
  }
  /** @type {Post} */
  const post = port !== null ? (d) => port.postMessage(d) : (d) => globalThis.postMessage(d);
  /** @param {unknown} data */
  const start = (data) => {
    serve(/** @type {Init} */ (data), post).then(
      () => {
        if (port !== null) port.close();
        else globalThis.close();
      },
      (e) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  };
  if (port !== null) port.once('message', start);
  else globalThis.addEventListener('message', (ev) => start(/** @type {MessageEvent} */ (ev).data), { once: true });
}

void main();
