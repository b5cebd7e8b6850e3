// Thread pool lifecycle: the `threads` option, dispose and re-create without leaking
// workers or memory, two threaded engines side by side, runAsync, and a worker that
// dies giving a QwasmError instead of a hang.
import type { Worker as NodeWorker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { Qwasm, QwasmError } from '../src/index.js';
import { liveWorkerCount } from '../src/threads/pool.js';
import { poolOf } from './threads-probe.js';
import { firstDiff, randomInt8, rng } from './helpers.js';

/**
 * A 2-thread engine and the Node.js Worker objects its pool started (recorded by wrapping
 * worker_threads.Worker while the engine starts), to kill one behind the engine's back.
 */
async function engineWithWorkers(): Promise<{ qw: Qwasm; workers: Array<{ terminate(): Promise<number> }> }> {
  const wt = process.getBuiltinModule('node:worker_threads') as { Worker: typeof NodeWorker };
  const Original = wt.Worker;
  const workers: NodeWorker[] = [];
  wt.Worker = class extends Original {
    constructor(...args: ConstructorParameters<typeof NodeWorker>) {
      super(...args);
      workers.push(this);
    }
  };
  try {
    const qw = await Qwasm.create({ threads: 2 });
    return { qw, workers };
  } finally {
    wt.Worker = Original;
  }
}

/** A linear layer big enough to be split at the default thresholds, and its input. */
function bigLinear(qw: Qwasm, seed = 1) {
  const r = rng(seed);
  const [M, K, N] = [64, 256, 256];
  const layer = qw.linear({
    weights: { data: randomInt8(r, N * K), shape: [N, K] },
    weightScale: 0.01,
    input: { scale: 0.02, zeroPoint: 0 },
    output: { scale: 0.3, zeroPoint: 0 },
  });
  return { layer, x: randomInt8(r, M * K) };
}

describe('Qwasm.create({ threads })', () => {
  it('refuses counts that are not whole and positive, naming the option', async () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, 65, '2', 'all']) {
      const e = await Qwasm.create({ threads: bad as unknown as number }).catch((err: unknown) => err);
      expect(e, String(bad)).toBeInstanceOf(QwasmError);
      expect((e as QwasmError).argument).toBe('threads');
    }
    // null means the default, as for every optional argument
    const one = await Qwasm.create({ threads: null as unknown as number });
    expect(one.threads).toBe(1);
    one.dispose();
  });

  it("'auto' uses the host's cores, at most 8; 1 starts no workers", async () => {
    const before = liveWorkerCount();
    const one = await Qwasm.create({ threads: 1 });
    expect(one.threads).toBe(1);
    expect(liveWorkerCount()).toBe(before);
    one.dispose();
    const os = await import('node:os');
    const auto = await Qwasm.create({ threads: 'auto' });
    expect(auto.threads).toBe(Math.min(8, os.availableParallelism()));
    auto.dispose();
  });

  it('falls back to 1 thread with one warning where shared memory is unavailable', async () => {
    const g = globalThis as { crossOriginIsolated?: boolean };
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    g.crossOriginIsolated = false;
    try {
      const a = await Qwasm.create({ threads: 2 });
      const b = await Qwasm.create({ threads: 'auto' });
      expect(a.threads).toBe(1);
      expect(b.threads).toBe(1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/cross-origin isolated/);
      a.dispose();
      b.dispose();
    } finally {
      delete g.crossOriginIsolated;
      warn.mockRestore();
    }
  });

  it('needs a threaded build when given wasm bytes', async () => {
    const { readFile } = await import('node:fs/promises');
    const single = await readFile(new URL('../src/wasm/simd.wasm', import.meta.url));
    const e = await Qwasm.create({ wasm: single, threads: 2 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(QwasmError);
    expect((e as QwasmError).argument).toBe('wasm');
    const auto = await Qwasm.create({ wasm: single, threads: 'auto' });
    expect(auto.threads).toBe(1);
    auto.dispose();
    const mt = await readFile(new URL('../src/wasm/simd-mt.wasm', import.meta.url));
    const qw = await Qwasm.create({ wasm: mt, threads: 2 });
    expect(qw.threads).toBe(2);
    expect(qw.backend).toBe('simd');
    qw.dispose();
  });
});

describe('thread pool lifecycle', () => {
  it('disposes and re-creates 100 times without leaking workers or memory', async () => {
    const base = liveWorkerCount();
    const r = rng(7);
    const w = randomInt8(r, 64 * 64);
    const x = randomInt8(r, 64 * 64);
    let heapAfter10 = 0;
    for (let i = 0; i < 100; i++) {
      const qw = await Qwasm.create({ threads: 2 });
      expect(liveWorkerCount()).toBe(base + 1);
      const layer = qw.linear({
        weights: { data: w, shape: [64, 64] },
        weightScale: 0.01,
        input: { scale: 0.02, zeroPoint: 0 },
        output: { scale: 0.3, zeroPoint: 0 },
      });
      layer.run(x);
      layer.dispose();
      qw.dispose();
      expect(liveWorkerCount()).toBe(base);
      if (i === 10) {
        (globalThis as { gc?: () => void }).gc?.();
        heapAfter10 = process.memoryUsage().rss;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    (globalThis as { gc?: () => void }).gc?.();
    // 90 more engines (each a worker thread, a wasm instance and a shared memory) must not
    // have stayed behind: a leak would cost several MB apiece
    expect(process.memoryUsage().rss - heapAfter10).toBeLessThan(150 * 2 ** 20);
  });

  it('runs two threaded engines side by side', async () => {
    const a = await Qwasm.create({ threads: 2 });
    const b = await Qwasm.create({ threads: 2 });
    const one = await Qwasm.create();
    const la = bigLinear(a, 3);
    const lb = bigLinear(b, 4);
    const ra = bigLinear(one, 3);
    const rb = bigLinear(one, 4);
    for (let i = 0; i < 20; i++) {
      expect(firstDiff(la.layer.run(la.x), ra.layer.run(ra.x))).toBe(-1);
      expect(firstDiff(lb.layer.run(lb.x), rb.layer.run(rb.x))).toBe(-1);
    }
    a.dispose();
    expect(firstDiff(lb.layer.run(lb.x), rb.layer.run(rb.x))).toBe(-1);
    b.dispose();
    one.dispose();
  });

  it('runAsync gives the result of run, queues concurrent calls and refuses sync calls meanwhile', async () => {
    const qw = await Qwasm.create({ threads: 2 });
    const one = await Qwasm.create();
    const { layer, x } = bigLinear(qw, 5);
    const ref = bigLinear(one, 5);
    const want = ref.layer.run(ref.x);
    const p1 = layer.runAsync(x);
    const p2 = layer.runAsync(x, new Int8Array(want.length));
    expect(() => layer.run(x)).toThrow(QwasmError);
    const [y1, y2] = await Promise.all([p1, p2]);
    expect(firstDiff(y1, want)).toBe(-1);
    expect(firstDiff(y2, want)).toBe(-1);
    expect(firstDiff(layer.run(x), want)).toBe(-1);
    await expect(layer.runAsync(new Int8Array(3))).rejects.toBeInstanceOf(QwasmError);
    qw.dispose();
    one.dispose();
  });

  it('conv layers have runAsync too, with the result of run', async () => {
    const qw = await Qwasm.create({ threads: 2 });
    const one = await Qwasm.create();
    const r = rng(9);
    const w = randomInt8(r, 32 * 3 * 3 * 32);
    const x = { data: randomInt8(r, 28 * 28 * 32), shape: [1, 28, 28, 32] };
    const cfg = {
      weights: { data: w, shape: [32, 3, 3, 32] },
      weightScale: 0.01,
      input: { scale: 0.02, zeroPoint: 0 },
      output: { scale: 0.3, zeroPoint: 0 },
      pads: [1, 1, 1, 1],
    };
    const want = one.conv2d(cfg).run(x);
    const got = await qw.conv2d(cfg).runAsync(x);
    expect(got.shape).toEqual(want.shape);
    expect(firstDiff(got.data, want.data)).toBe(-1);
    const fcfg = { weights: { data: Float32Array.from(w, (v) => v / 127), shape: [32, 3, 3, 32] }, pads: [1, 1, 1, 1] };
    const xf = { data: Float32Array.from(x.data, (v) => v / 128), shape: x.shape };
    expect(firstDiff((await qw.conv2dF32(fcfg).runAsync(xf)).data, one.conv2dF32(fcfg).run(xf).data)).toBe(-1);
    qw.dispose();
    one.dispose();
  });

  it('a terminated worker gives a QwasmError on the next call', async () => {
    const { qw, workers } = await engineWithWorkers();
    expect(workers.length).toBe(1);
    const { layer, x } = bigLinear(qw);
    layer.run(x);
    await workers[0]!.terminate();
    expect(() => layer.run(x)).toThrow(QwasmError);
    expect(() => layer.run(x)).toThrow(/worker 1 exited/);
    qw.dispose();
  });

  it('a worker killed while the caller waits gives a QwasmError after the timeout, not a hang', async () => {
    const { qw, workers } = await engineWithWorkers();
    const pool = poolOf(qw);
    pool.timeoutMs = 300;
    const { layer, x } = bigLinear(qw);
    layer.run(x);
    // no await: the caller blocks before the exit event can reach it
    void workers[0]!.terminate();
    const t0 = performance.now();
    const e = (() => {
      try {
        for (let i = 0; i < 100; i++) layer.run(x);
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(QwasmError);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(() => layer.run(x)).toThrow(QwasmError);
    qw.dispose();
  });
});
