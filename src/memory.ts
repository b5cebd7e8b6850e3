import { QwasmError } from './errors.js';
import type { WasmMemory } from './loader.js';

const PAGE = 65536;
const ALIGN = 64;
/** wasm32 can address 4 GiB; engines cap memory at 65536 pages. */
const MAX_PAGES = 65536;

interface Block {
  ptr: number;
  size: number;
}

/**
 * Owns one wasm linear memory: a first-fit free list with coalescing over the bytes
 * above the module's static data, 64-byte aligned blocks, growth on demand, and typed
 * views that are rebuilt whenever growth detaches the old buffer.
 */
export class Heap {
  readonly memory: WasmMemory;
  private free: Block[] = [];
  private used = new Map<number, number>();
  private top: number;
  private buffer: ArrayBuffer | SharedArrayBuffer;
  private _u8: Uint8Array;
  private _i8: Int8Array;
  private _i16: Int16Array;
  private _i32: Int32Array;
  private _u32: Uint32Array;
  private _f32: Float32Array;

  constructor(memory: WasmMemory, base: number) {
    this.memory = memory;
    this.top = alignUp(base, ALIGN);
    this.buffer = memory.buffer;
    this._u8 = new Uint8Array(this.buffer);
    this._i8 = new Int8Array(this.buffer);
    this._i16 = new Int16Array(this.buffer);
    this._i32 = new Int32Array(this.buffer);
    this._u32 = new Uint32Array(this.buffer);
    this._f32 = new Float32Array(this.buffer);
  }

  /** Bytes of wasm memory currently reserved from the host. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes currently handed out. */
  get usedBytes(): number {
    let n = 0;
    for (const size of this.used.values()) n += size;
    return n;
  }

  /** Usable bytes of the block at `ptr` (at least what was asked for), or 0 when none starts there. */
  sizeOf(ptr: number): number {
    const size = this.used.get(ptr);
    return size === undefined ? 0 : size - 16;
  }

  private refresh(): void {
    if (this.buffer === this.memory.buffer) return;
    this.buffer = this.memory.buffer;
    this._u8 = new Uint8Array(this.buffer);
    this._i8 = new Int8Array(this.buffer);
    this._i16 = new Int16Array(this.buffer);
    this._i32 = new Int32Array(this.buffer);
    this._u32 = new Uint32Array(this.buffer);
    this._f32 = new Float32Array(this.buffer);
  }

  get u8(): Uint8Array {
    this.refresh();
    return this._u8;
  }
  get i8(): Int8Array {
    this.refresh();
    return this._i8;
  }
  get i16(): Int16Array {
    this.refresh();
    return this._i16;
  }
  get i32(): Int32Array {
    this.refresh();
    return this._i32;
  }
  get u32(): Uint32Array {
    this.refresh();
    return this._u32;
  }
  get f32(): Float32Array {
    this.refresh();
    return this._f32;
  }

  /**
   * Reserves `size` bytes (64-byte aligned, plus 16 spare bytes so SIMD loads of a tail
   * never leave the block). `what` names the request in the error when memory runs out.
   */
  alloc(size: number, what = 'size'): number {
    const need = alignUp(Math.max(size, 1) + 16, ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size >= need) {
        const ptr = b.ptr;
        if (b.size === need) this.free.splice(i, 1);
        else {
          b.ptr += need;
          b.size -= need;
        }
        this.used.set(ptr, need);
        return ptr;
      }
    }
    // take from the top, growing memory when needed
    const ptr = this.top;
    const end = ptr + need;
    const pages = this.memory.buffer.byteLength / PAGE;
    const needPages = Math.ceil(end / PAGE);
    if (needPages > pages) {
      if (needPages > MAX_PAGES) {
        throw new QwasmError(what, `needs ${size} bytes, more than wasm memory can hold (4 GiB in all)`);
      }
      try {
        // grow generously so a run of calls does not grow page by page
        const target = Math.min(MAX_PAGES, Math.max(needPages, Math.ceil(pages * 1.25)));
        this.memory.grow(target - pages);
      } catch {
        throw new QwasmError(what, `needs ${size} bytes; the host refused to grow wasm memory`);
      }
    }
    this.top = end;
    this.used.set(ptr, need);
    return ptr;
  }

  /** Returns a block to the free list, merging it with free neighbours. */
  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) return;
    this.used.delete(ptr);
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    this.free.splice(lo, 0, { ptr, size });
    // merge with the next, then the previous block
    const cur = this.free[lo]!;
    const next = this.free[lo + 1];
    if (next && cur.ptr + cur.size === next.ptr) {
      cur.size += next.size;
      this.free.splice(lo + 1, 1);
    }
    const prev = this.free[lo - 1];
    if (prev && prev.ptr + prev.size === cur.ptr) {
      prev.size += cur.size;
      this.free.splice(lo, 1);
    }
    // a free block touching the top goes back to the top
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
