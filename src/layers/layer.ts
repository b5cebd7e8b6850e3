// What every prepacked layer shares: its blocks of wasm memory, its workspaces, disposal,
// and the call split in two — `start` validates, copies the input in and starts the
// kernel (whose workers may still be busy when it returns inside runAsync), `collect`
// copies the output out once they are done.
import { QwasmError } from '../errors.js';
import { Runtime, Workspace } from '../runtime.js';

/** What every layer owns in wasm memory: its blocks and workspaces, freed by dispose(). */
export abstract class LayerMemory {
  protected disposed = false;
  protected readonly blocks: number[] = [];
  protected readonly spaces: Workspace[] = [];

  /** @internal Made by the engine (`qw.linear(...)`, `qw.conv2d(...)`, ...), not by `new`. */
  constructor(protected readonly rt: Runtime) {}

  /** A workspace of this layer's, freed with it. */
  protected workspace(): Workspace {
    const w = new Workspace(this.rt);
    this.spaces.push(w);
    return w;
  }

  /** Throws when the layer or its engine was disposed. */
  protected live(): void {
    this.rt.live();
    if (this.disposed) throw new QwasmError('layer', 'this layer was disposed');
  }

  /** Frees the packed weights and workspaces; the layer cannot run afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.blocks) this.rt.heap.release(p);
    for (const s of this.spaces) s.free();
  }
}

/** The base of layers whose call may run on worker threads (X: the input type, Y: the output type). */
export abstract class Layer<X, Y> extends LayerMemory {
  /**
   * Runs the layer on `x`; writes the result into `out` when given (and returns it: no
   * allocation), else into a new array or tensor.
   */
  run(x: X, out?: Y): Y {
    return this.collect(this.start(x, out));
  }

  /**
   * `run` without blocking while worker threads finish: for a browser's main thread,
   * which may not wait. The same result; calls on the engine queue behind it.
   */
  runAsync(x: X, out?: Y): Promise<Y> {
    return this.rt.runAsync(
      () => this.start(x, out),
      (y) => this.collect(y),
    );
  }

  /** Validates, copies `x` in and starts the kernel; returns the output `collect` fills. */
  protected abstract start(x: X, out?: Y): Y;
  /** Copies the call's result out of wasm memory into `y`. */
  protected abstract collect(y: Y): Y;
}
