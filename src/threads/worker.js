// @ts-check
// The worker side of qwasm's thread pool (src/threads/pool.ts). Plain JavaScript, no
// imports of the library, so the very same file runs as a Node.js worker_threads worker
// and as a browser module Worker, from src/ under a test runner and from dist/ alike.
//
// One message starts it: the compiled threaded build, the engine's shared memory and
// where its slot of the control block lives. After answering 'ready' it never returns
// to its event loop: it sleeps on its slot's sequence word (Atomics.wait), runs the
// kernel call the main thread wrote into the slot, and counts the pool's pending word
// down. No postMessage per call.
//
// The layout below must match src/threads/pool.ts.

/** Control block words (int32 indices, relative to the block). */
const PENDING = 0;
const FAILED = 1;
const STOP = 2;
const MESSAGE = 16;
const MESSAGE_BYTES = 256;
const SLOTS = MESSAGE + MESSAGE_BYTES / 4;
const SLOT_WORDS = 32;
/** Within a slot: the job sequence number, the kernel id, then the arguments. */
const SEQ = 0;
const FN = 1;
const ARGS = 2;

/**
 * How often the sequence word is polled before sleeping. A call that follows the last
 * one closely (the next layer of a model, the next iteration of a loop) then starts
 * without a futex wake-up; a quiet pool still sleeps.
 */
const SPIN = 20000;

/** Kernel ids (pool.ts: Fn). */
const GEMM_S16 = 1;
const GEMM_F32 = 2;
const CONV_S16 = 3;
const CONV_F32 = 4;
const DW_S16 = 5;
const DW_F32 = 6;

/**
 * @typedef {{ module: WebAssembly.Module, memory: WebAssembly.Memory, ctl: number, slot: number }} Init
 * @typedef {(data: unknown) => void} Post
 */

/**
 * Instantiates the build on the shared memory, then serves jobs until STOP.
 * @param {Init} init
 * @param {Post} post
 */
async function serve(init, post) {
  const { module, memory, ctl, slot } = init;
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
  const k = /** @type {Record<string, Function>} */ (/** @type {unknown} */ (instance.exports));
  const i32 = new Int32Array(memory.buffer, ctl, SLOTS + SLOT_WORDS * (slot + 1));
  const f32 = new Float32Array(memory.buffer, ctl, SLOTS + SLOT_WORDS * (slot + 1));
  const s = SLOTS + SLOT_WORDS * slot;
  const a = s + ARGS;
  // read before answering: a job posted right after 'ready' must look new
  let seen = Atomics.load(i32, s + SEQ);
  post({ type: 'ready' });
  for (;;) {
    let seq = Atomics.load(i32, s + SEQ);
    for (let n = 0; seq === seen && n < SPIN; n++) seq = Atomics.load(i32, s + SEQ);
    while (seq === seen) {
      Atomics.wait(i32, s + SEQ, seen);
      seq = Atomics.load(i32, s + SEQ);
    }
    seen = seq;
    if (Atomics.load(i32, STOP) !== 0) return;
    try {
      switch (i32[s + FN]) {
        case GEMM_S16:
          k.gemm_s16_panels(i32[a], i32[a + 1], i32[a + 2], i32[a + 3], i32[a + 4], i32[a + 5], i32[a + 6], i32[a + 7], i32[a + 8], i32[a + 9], i32[a + 10], i32[a + 11]);
          break;
        case GEMM_F32:
          k.gemm_f32_panels(i32[a], i32[a + 1], i32[a + 2], i32[a + 3], i32[a + 4], i32[a + 5], i32[a + 6], f32[a + 7], f32[a + 8], i32[a + 9], i32[a + 10], i32[a + 11], i32[a + 12], i32[a + 13]);
          break;
        case CONV_S16:
          k.conv2d_s16_rows(i32[a], i32[a + 1], i32[a + 2], i32[a + 3], i32[a + 4], i32[a + 5], i32[a + 6], i32[a + 7], i32[a + 8], i32[a + 9]);
          break;
        case CONV_F32:
          k.conv2d_f32_rows(i32[a], i32[a + 1], i32[a + 2], i32[a + 3], f32[a + 4], f32[a + 5], i32[a + 6], i32[a + 7], i32[a + 8], i32[a + 9], i32[a + 10]);
          break;
        case DW_S16:
          k.conv_dw_s16_rows(i32[a], i32[a + 1], i32[a + 2], i32[a + 3], i32[a + 4], i32[a + 5], i32[a + 6], i32[a + 7], i32[a + 8], i32[a + 9]);
          break;
        case DW_F32:
          k.conv_dw_f32_rows(i32[a], i32[a + 1], i32[a + 2], i32[a + 3], i32[a + 4], f32[a + 5], f32[a + 6], i32[a + 7], i32[a + 8], i32[a + 9]);
          break;
      }
    } catch (e) {
      fail(i32, slot, e);
    }
    if (Atomics.sub(i32, PENDING, 1) === 1) Atomics.notify(i32, PENDING);
  }
}

/**
 * Records the first failure of a job (a trap inside a kernel) where the main thread
 * reads it synchronously: the worker's number, then the message as UTF-8.
 * @param {Int32Array} i32
 * @param {number} slot
 * @param {unknown} e
 */
function fail(i32, slot, e) {
  if (Atomics.compareExchange(i32, FAILED, 0, slot + 1) !== 0) return;
  const text = new TextEncoder().encode(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  const n = Math.min(text.length, MESSAGE_BYTES - 4);
  const bytes = new Uint8Array(i32.buffer, i32.byteOffset + (MESSAGE + 1) * 4, n);
  bytes.set(text.subarray(0, n));
  i32[MESSAGE] = n;
}

/**
 * Wires `serve` to the host's messaging: Node.js worker_threads' parentPort, or the
 * browser worker's global scope.
 */
async function main() {
  /** @type {{ once(e: 'message', f: (d: unknown) => void): void, postMessage(d: unknown): void, close(): void } | null} */
  let port = null;
  if (typeof process === 'object' && process !== null && typeof process.versions?.node === 'string') {
    const wt = /** @type {typeof import('node:worker_threads')} */ (await import(/* @vite-ignore */ 'node:worker_threads'));
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
