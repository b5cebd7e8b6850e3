// @ts-check
// The worker side of qwasm's thread pool (src/threads/pool.ts). Plain JavaScript with no
// imports of the library, so the very same file runs as a Node.js (Deno, Bun)
// worker_threads worker and as a browser module Worker, from src/ under a test runner and
// from dist/ alike; scripts/build-inline.mjs makes one self-contained script of it and
// chunk.js for qwasm/inline.
//
// One message starts it: the compiled threaded build, the engine's shared memory, where
// the control block and this worker's slot are, and its own microkernel tile. After
// answering 'ready' it never returns to its event loop: it sleeps on its slot's sequence
// word (Atomics.wait), takes chunks of the job the caller wrote until none is left, and
// counts the pool's PENDING word down. No postMessage per call.
//
// The control block's layout is layout.generated.js (from scripts/layouts.mjs), shared
// with pool.ts; what one chunk of a job computes is chunk.js, which the calling thread
// runs too.

import { runChunk } from './chunk.js';
import { Ctl, Slot, Split } from './layout.generated.js';

const { PENDING, FAILED, STOP, NEXT, FN, CHUNKS, UNITS, MESSAGE, MESSAGE_BYTES, SLOTS, SLOT_WORDS } = Ctl;
const { SEQ, SCRATCH, DONE } = Slot;

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
  // the kernels' tiles in static memory would be shared by every instance: this worker's
  // live in its own block
  if (typeof k.thread_scratch === 'function') k.thread_scratch(tile);
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
    const rows = head >> 8 === Split.Rows;
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
  // Node.js, Deno and Bun: node:worker_threads, reached without naming it in an import
  // (platform/host.ts says why); a worker is only started there on hosts that have it
  const proc =
    /** @type {{ process?: { versions?: { node?: string }, getBuiltinModule?: (id: string) => unknown } }} */ (
      globalThis
    ).process;
  if (typeof proc?.versions?.node === 'string' && typeof proc.getBuiltinModule === 'function') {
    const wt = /** @type {typeof import('node:worker_threads')} */ (proc.getBuiltinModule('node:worker_threads'));
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
