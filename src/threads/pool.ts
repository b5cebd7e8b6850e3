// The thread pool of one engine: `threads - 1` workers (worker_threads in Node.js, module
// Workers in browsers), each with its own instance of the threaded build on the engine's
// shared memory, and a control block in that memory through which the main thread hands
// out work. The calling thread always works on a job too, so a 2-thread engine runs on
// the caller plus one worker.
//
// A job is one kernel call cut into chunks (contiguous ranges of weight panels or of
// row blocks, see kernels.ts). Every thread of the job, the caller included, takes the
// next chunk from a shared counter until none is left: a worker that wakes late or is
// descheduled (this runs on shared machines) simply takes fewer chunks. Each chunk is
// computed exactly as the one-thread call computes it, so results do not depend on who
// ran what.
//
// Hand-off (no postMessage per call): the caller writes the job (kernel id, arguments,
// chunk count) into the control block, sets PENDING to the number of workers woken,
// then bumps each one's sequence word and notifies it (Atomics are sequentially
// consistent, so everything written before the bump, in the block and in wasm memory,
// is visible to the worker). A worker counts PENDING down when it finds no chunk left
// and notifies on the last count. The caller waits for PENDING == 0: Atomics.wait where
// the thread may block, a spin where it may not (a browser's main thread),
// Atomics.waitAsync in runAsync.
import { QwasmError } from '../errors.js';
import type { WasmModule } from '../loader.js';
import type { Heap } from '../memory.js';
import type { WorkerPool } from '../runtime.js';
import { Ctl, Slot, type Fn, type Split } from './layout.generated.js';
import { embeddedAssets } from '../platform/assets.js';
import { hasNodeBuiltins, messageOf, nodeBuiltin } from '../platform/host.js';

const { PENDING, FAILED, STOP, NEXT, FN, CHUNKS, UNITS, MESSAGE, SLOTS, SLOT_WORDS } = Ctl;
const { SEQ, SCRATCH } = Slot;

/** A kernel id of layout.generated.js. */
export type FnId = (typeof Fn)[keyof typeof Fn];
/** A split of layout.generated.js. */
export type SplitKind = (typeof Split)[keyof typeof Split];

/**
 * How long a caller polls PENDING before it sleeps, in ms: about one of its own chunks
 * (a worker has at most one chunk left when the caller runs out), within these bounds.
 * Polling catches the usual finish without a futex wake-up (~10 us); sleeping soon
 * matters on a busy machine, where a worker may be waiting for this very core.
 */
const JOIN_SPIN_MIN_MS = 0.002;
const JOIN_SPIN_MAX_MS = 0.1;
/** Polls between two looks at the clock. */
const POLLS = 256;

/** What the pool needs of a worker, whichever host made it. */
interface WorkerHandle {
  terminate(): void;
}

let liveWorkers = 0;

/** Workers of every pool in this realm that are started and not yet ended (tests check for leaks). */
export function liveWorkerCount(): number {
  return liveWorkers;
}

/** Atomics.waitAsync (ES2024), where the host has it. */
const waitAsync = (
  Atomics as {
    waitAsync?: (
      a: Int32Array,
      i: number,
      v: number,
      t?: number,
    ) => { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** True when this thread may block in Atomics.wait (false on a browser's main thread). */
function threadCanBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** The part of node:worker_threads the pool uses. */
interface NodeWorkerThreads {
  Worker: new (
    script: URL | string,
    options: { name: string; eval?: boolean },
  ) => {
    once(event: 'message', f: (m: WorkerReply) => void): void;
    once(event: 'error', f: (e: Error) => void): void;
    once(event: 'exit', f: (code: number) => void): void;
    postMessage(data: unknown): void;
    terminate(): Promise<number>;
    unref(): void;
  };
}

/** The embedded worker script under qwasm/inline, else null (the file beside this one). */
async function embeddedWorkerSource(): Promise<string | null> {
  const assets = embeddedAssets();
  return assets === null ? null : assets.workerSource();
}

function cannotStart(w: number, from: string, why: string): QwasmError {
  return new QwasmError('threads', `worker ${w} could not start from ${from}: ${why}`);
}

/** Why a worker script did not load, asked of the server (browsers report only "error"). */
async function whyScriptFailed(url: string): Promise<string> {
  if (url.startsWith('blob:')) return 'the page refused a blob: worker (Content-Security-Policy worker-src?)';
  try {
    const res = await fetch(url);
    if (!res.ok) return `HTTP ${res.status}`;
    const type = res.headers.get('content-type') ?? '';
    if (!/javascript|ecmascript/.test(type)) return `served as '${type}', not JavaScript`;
    return 'the script failed to load or to evaluate (Content-Security-Policy worker-src, or Cross-Origin-Embedder-Policy?)';
  } catch (e) {
    return `could not fetch it: ${messageOf(e)}`;
  }
}

/** A message a worker posts during start-up. */
interface WorkerReply {
  type: 'ready' | 'error';
  message?: string;
}

export class ThreadPool implements WorkerPool {
  /** Threads that take part in a job: the caller plus the workers. */
  readonly size: number;
  /**
   * How long a caller waits for the workers' parts before it declares a worker dead, in
   * ms, on top of 100 times its own part's time. A worker that crashed or was terminated
   * never counts PENDING down; this turns that into a QwasmError instead of a hang.
   */
  timeoutMs = 10_000;
  /** Why the pool cannot run any more (a worker failed or exited), or null. */
  private broken: string | null = null;
  private readonly workers: WorkerHandle[] = [];
  private readonly ctlPtr: number;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;
  /** Per-thread scratch (index 0: the caller's), e.g. the GEMM microkernel's tile. */
  readonly tiles: readonly number[];
  private readonly canBlock = threadCanBlock();
  /** Workers started by the current job and not yet joined. */
  private running = 0;
  /** Set while runAsync holds the pool: the job's join is left to it. */
  private deferJoin = false;
  private asyncTail: Promise<void> = Promise.resolve();
  private asyncHeld = false;
  private inAsyncBody = false;
  private disposed = false;
  /** Per-thread work buffers (im2col blocks), grown on demand; index 0 is the caller's. */
  private readonly scratchPtr: number[];
  private readonly scratchBytes: number[];

  private constructor(
    private readonly heap: Heap,
    size: number,
    tileBytes: number,
  ) {
    this.size = size;
    this.ctlPtr = heap.alloc((SLOTS + SLOT_WORDS * size) * 4, 'threads');
    this.scratchPtr = new Array<number>(size).fill(0);
    this.scratchBytes = new Array<number>(size).fill(0);
    const words = SLOTS + SLOT_WORDS * size;
    // views over the buffer of today: a shared buffer never detaches, so they stay valid
    // when memory grows
    this.i32 = new Int32Array(heap.memory.buffer, this.ctlPtr, words);
    this.f32 = new Float32Array(heap.memory.buffer, this.ctlPtr, words);
    this.i32.fill(0);
    const tiles: number[] = [];
    for (let t = 0; t < size; t++) tiles.push(heap.alloc(tileBytes, 'threads'));
    this.tiles = tiles;
  }

  /**
   * Starts `size - 1` workers on `module` (a threaded build) and `memory` (shared), and
   * resolves once each has instantiated it. `tileBytes` of scratch are reserved per thread.
   */
  static async start(heap: Heap, module: WasmModule, size: number, tileBytes: number): Promise<ThreadPool> {
    const pool = new ThreadPool(heap, size, tileBytes);
    try {
      const ready: Promise<void>[] = [];
      for (let w = 1; w < size; w++) ready.push(pool.spawn(w, module));
      await Promise.all(ready);
    } catch (e) {
      pool.dispose();
      throw e;
    }
    return pool;
  }

  private async spawn(w: number, module: WasmModule): Promise<void> {
    const init = { module, memory: this.heap.memory, ctl: this.ctlPtr, slot: w, tile: this.tiles[w] };
    const lost = (why: string) => this.lose(why);
    const name = `qwasm-${w}`;
    const source = await embeddedWorkerSource();
    if (hasNodeBuiltins()) {
      const { Worker: NodeWorker } = nodeBuiltin<NodeWorkerThreads>('node:worker_threads');
      // Node.js, Deno and Bun: a worker_threads worker, from the file or the embedded text
      const url = new URL('./worker.js', import.meta.url);
      const from = source === null ? url.href : 'qwasm/inline';
      const worker = source === null ? new NodeWorker(url, { name }) : new NodeWorker(source, { name, eval: true });
      this.track(() => void worker.terminate());
      await new Promise<void>((resolve, reject) => {
        worker.once('message', (m: WorkerReply) => {
          if (m.type === 'ready') resolve();
          else reject(cannotStart(w, from, m.message ?? 'unknown error'));
        });
        worker.once('error', (e: Error) => {
          reject(cannotStart(w, from, messageOf(e)));
          lost(`worker ${w} failed: ${messageOf(e)}`);
        });
        worker.once('exit', (code: number) => {
          reject(new QwasmError('threads', `worker ${w} (${from}) exited during start-up (code ${code})`));
          lost(`worker ${w} exited (code ${code})`);
        });
        worker.postMessage(init);
      });
      // a pool the caller forgot to dispose must not keep the process alive
      worker.unref();
      return;
    }
    // browsers and web workers: a module Worker, written out literally so bundlers
    // (Vite, webpack 5, Parcel) bundle worker.js as a worker entry of its own
    let url: string;
    let worker: Worker;
    if (source === null) {
      url = new URL('./worker.js', import.meta.url).href;
      worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name });
    } else {
      url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      worker = new Worker(url, { type: 'module', name });
    }
    const from = source === null ? url : 'qwasm/inline';
    this.track(() => {
      worker.terminate();
      if (source !== null) URL.revokeObjectURL(url);
    });
    await new Promise<void>((resolve, reject) => {
      worker.addEventListener('message', (ev: MessageEvent<WorkerReply>) => {
        if (ev.data.type === 'ready') resolve();
        else reject(cannotStart(w, from, ev.data.message ?? 'unknown error'));
      });
      worker.addEventListener('error', (ev: Event) => {
        // a script that could not be fetched gives a bare Event: find out why
        const message = (ev as Partial<ErrorEvent>).message;
        void (message ? Promise.resolve(message) : whyScriptFailed(url)).then((why) => {
          reject(cannotStart(w, from, why));
          lost(`worker ${w} failed: ${why}`);
        });
      });
      worker.postMessage(init);
    });
  }

  private track(terminate: () => void): void {
    liveWorkers++;
    let ended = false;
    this.workers.push({
      terminate: () => {
        if (ended) return;
        ended = true;
        liveWorkers--;
        terminate();
      },
    });
  }

  /** A worker is gone: every later call fails clearly instead of waiting for it. */
  private lose(why: string): void {
    if (!this.disposed) this.broken ??= why;
  }

  /**
   * Writes the head of a job: kernel `fn`, `chunks` chunks over `units` panels or row
   * blocks (`split`). Then write its arguments into `words` / `floats` at the words
   * layout.generated.js names for `fn`, and `launch`.
   */
  job(fn: FnId, split: SplitKind, chunks: number, units: number): void {
    const i32 = this.i32;
    i32[FN] = fn | (split << 8);
    i32[CHUNKS] = chunks;
    i32[UNITS] = units;
    Atomics.store(i32, NEXT, 0);
  }

  /**
   * The control block as int32 and float32 views, for writing a job's arguments at the
   * words layout.generated.js names.
   */
  get words(): Int32Array {
    return this.i32;
  }
  get floats(): Float32Array {
    return this.f32;
  }

  /** The next chunk of the current job for the caller to run (>= the chunk count: none left). */
  nextChunk(): number {
    return Atomics.add(this.i32, NEXT, 1);
  }

  /**
   * Thread t's work buffer of at least `bytes` (0 when none is needed), grown on demand:
   * allocation happens only when a call needs more than any call before it.
   */
  scratch(t: number, bytes: number): number {
    if (bytes > this.scratchBytes[t]!) {
      if (this.scratchBytes[t]! > 0) this.heap.release(this.scratchPtr[t]!);
      this.scratchBytes[t] = 0;
      this.scratchPtr[t] = this.heap.alloc(bytes, 'x');
      this.scratchBytes[t] = bytes;
      if (t > 0) this.i32[SLOTS + SLOT_WORDS * t + SCRATCH] = this.scratchPtr[t]!;
    }
    return this.scratchPtr[t]!;
  }

  /**
   * Throws unless a new job may start: the pool works, and no runAsync call has a job in
   * flight. A job of the same runAsync call that is still running is joined first.
   */
  ready(): void {
    if (this.broken !== null) {
      throw new QwasmError(
        'threads',
        `the engine's thread pool stopped (${this.broken}); dispose this engine and create a new one`,
      );
    }
    if (this.running > 0) this.join();
  }

  /** Wakes workers 1..n for the job just written; the caller then takes chunks too. */
  launch(n: number): void {
    const i32 = this.i32;
    Atomics.store(i32, PENDING, n);
    for (let w = 1; w <= n; w++) {
      const seq = SLOTS + SLOT_WORDS * w + SEQ;
      Atomics.add(i32, seq, 1);
      Atomics.notify(i32, seq, 1);
    }
    this.running = n;
  }

  /**
   * Ends the caller's side of a job: waits for the workers (or, inside runAsync, leaves
   * that to it). `ownMs` is how long the caller's own part took, which scales the timeout.
   */
  finish(ownMs: number, ownChunks: number): void {
    this.ownMs = ownMs;
    this.spinMs = Math.min(JOIN_SPIN_MAX_MS, Math.max(JOIN_SPIN_MIN_MS, ownChunks > 0 ? ownMs / ownChunks : 0));
    if (!this.deferJoin) this.join();
  }
  private ownMs = 0;
  private spinMs = JOIN_SPIN_MIN_MS;

  /** Ends a job whose caller side failed: no more chunks are handed out; waits for the workers. */
  abort(): void {
    Atomics.store(this.i32, NEXT, 1 << 30);
    try {
      this.join();
    } catch {
      // the caller's own error is the one to report
    }
  }

  /** Waits until every worker of the current job is done; throws when one failed or died. */
  join(): void {
    const i32 = this.i32;
    let v = Atomics.load(i32, PENDING);
    if (v !== 0) {
      const until = performance.now() + this.spinMs;
      do {
        for (let n = 0; v !== 0 && n < POLLS; n++) v = Atomics.load(i32, PENDING);
      } while (v !== 0 && performance.now() < until);
    }
    if (v !== 0) {
      const limit = this.timeoutMs + 100 * this.ownMs;
      const t0 = performance.now();
      while (v !== 0) {
        const left = limit - (performance.now() - t0);
        if (left <= 0) this.timedOut(limit);
        if (this.canBlock) Atomics.wait(i32, PENDING, v, Math.min(left, 100));
        else for (let n = 0; n < POLLS && Atomics.load(i32, PENDING) === v; n++);
        v = Atomics.load(i32, PENDING);
      }
    }
    this.running = 0;
    this.checkFailed();
  }

  /** join without blocking the thread: Atomics.waitAsync where the host has it, else polling. */
  async joinAsync(): Promise<void> {
    const i32 = this.i32;
    const limit = this.timeoutMs + 100 * this.ownMs;
    const t0 = performance.now();
    // neither a pending Atomics.waitAsync nor the (unref'd) workers keep Node's event loop
    // alive: without this timer a script awaiting runAsync could exit before its result
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      let v = Atomics.load(i32, PENDING);
      while (v !== 0) {
        if (this.broken !== null) throw new QwasmError('threads', `the engine's thread pool stopped (${this.broken})`);
        const left = limit - (performance.now() - t0);
        if (left <= 0) this.timedOut(limit);
        if (waitAsync !== undefined) {
          const r = waitAsync(i32, PENDING, v, Math.min(left, 100));
          if (r.async) await r.value;
        } else {
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        v = Atomics.load(i32, PENDING);
      }
    } finally {
      clearInterval(keepAlive);
    }
    this.running = 0;
    this.checkFailed();
  }

  private timedOut(limit: number): never {
    this.broken ??= `a worker did not finish its part within ${Math.round(limit)} ms: it crashed or was terminated`;
    const why = this.broken;
    this.terminateAll();
    throw new QwasmError(
      'threads',
      `the engine's thread pool stopped (${why}); dispose this engine and create a new one`,
    );
  }

  private checkFailed(): void {
    const i32 = this.i32;
    const w = Atomics.load(i32, FAILED);
    if (w === 0) return;
    const n = i32[MESSAGE]!;
    const bytes = new Uint8Array(n);
    bytes.set(new Uint8Array(i32.buffer, i32.byteOffset + (MESSAGE + 1) * 4, n));
    Atomics.store(i32, FAILED, 0);
    throw new QwasmError('threads', `worker ${w - 1} failed in a kernel: ${new TextDecoder().decode(bytes)}`);
  }

  /**
   * Runs `body` (which starts at most one job: an op up to its last kernel call) holding
   * the pool for an async call, then resolves with `finish(body())` once that job's
   * workers are done, without blocking the thread meanwhile. A runAsync that finds the
   * pool held waits for its turn; synchronous calls meanwhile throw (`checkIdle`): they
   * would overwrite the memory the workers are still reading.
   */
  async runAsync<T, R>(body: () => T, finish: (t: T) => R): Promise<R> {
    while (this.asyncHeld) await this.asyncTail;
    this.asyncHeld = true;
    let release = (): void => undefined;
    this.asyncTail = new Promise<void>((resolve) => (release = resolve));
    try {
      let t: T;
      this.deferJoin = true;
      this.inAsyncBody = true;
      try {
        t = body();
      } finally {
        this.deferJoin = false;
        this.inAsyncBody = false;
      }
      if (this.running > 0) await this.joinAsync();
      return finish(t);
    } finally {
      this.asyncHeld = false;
      release();
    }
  }

  /** Throws when a runAsync call is between its start and its end on this engine. */
  checkIdle(): void {
    if (this.asyncHeld && !this.inAsyncBody) {
      throw new QwasmError('engine', 'a runAsync call is still running on this engine; await it before the next call');
    }
  }

  /** Ends the workers; the pool cannot run afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.broken ??= 'the engine was disposed';
    Atomics.store(this.i32, STOP, 1);
    this.terminateAll();
  }

  private terminateAll(): void {
    for (let w = 0; w < this.workers.length; w++) {
      const seq = SLOTS + SLOT_WORDS * (w + 1) + SEQ;
      Atomics.store(this.i32, STOP, 1);
      Atomics.add(this.i32, seq, 1);
      Atomics.notify(this.i32, seq);
      this.workers[w]!.terminate();
    }
  }
}
