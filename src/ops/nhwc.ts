// What the spatial ops of the int8 operator set (pool, resize, transposed conv) share:
// 4-D tensors read as NCHW or NHWC, copied into wasm memory as NHWC (the kernels' layout)
// and back, attribute pairs validated with the attribute's name, and the output-size
// guard that runs before anything is allocated.
import { QwasmError, check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { Tensor } from '../tensor.js';

/**
 * Tensor layout of the spatial ops: `'NCHW'` (default, ONNX) or `'NHWC'` (channels last,
 * the kernels' own layout: no transposition on the way in or out).
 *
 * @example
 * ```ts
 * const layout: Layout = 'NHWC';
 * const y = qw.maxPool({ data: x, shape: [1, 112, 112, 64] }, { kernelShape: [3, 3], strides: [2, 2], layout });
 * ```
 */
export type Layout = 'NCHW' | 'NHWC';

/** The dims of a 4-D map, whatever its layout. */
export interface MapDims {
  N: number;
  C: number;
  H: number;
  W: number;
}

/** The 8- or 32-bit element arrays the spatial ops move. */
export type MapData = Int8Array | Uint8Array | Float32Array | Int32Array;

/** Largest number of output bytes a call may ask for: what one wasm memory can hold. */
const MAX_BYTES = 2 ** 31;

/** Reads `layout` ('NCHW' default) and x's 4-D dims in it. */
export function mapDims(x: Tensor, layout: unknown, layoutName: string, xName = 'x'): { dims: MapDims; nchw: boolean } {
  const l = layout ?? 'NCHW';
  check(l === 'NCHW' || l === 'NHWC', layoutName, `must be 'NCHW' or 'NHWC', got ${String(l)}`);
  const nchw = l === 'NCHW';
  check(x.shape.length === 4, xName, `must be 4-D ${l as string}, got shape [${x.shape.join(', ')}]`);
  const [n, a, b, c] = x.shape as [number, number, number, number];
  return { dims: nchw ? { N: n, C: a, H: b, W: c } : { N: n, H: a, W: b, C: c }, nchw };
}

/** The shape of an output map in the caller's layout. */
export function mapShape(d: MapDims, nchw: boolean): number[] {
  return nchw ? [d.N, d.C, d.H, d.W] : [d.N, d.H, d.W, d.C];
}

/**
 * Refuses an output of `elements` elements of `bytes` bytes that no wasm memory could
 * hold, naming the attribute that made it that large: checked before anything is
 * allocated, so absurd attributes fail at once.
 */
export function checkOutputSize(elements: number, bytes: number, name: string): void {
  if (!(elements * bytes <= MAX_BYTES)) {
    throw new QwasmError(name, `gives an output of ${elements} elements, more than wasm memory can hold`);
  }
}

/** A pair attribute ([h, w]) of integers >= min, or [def, def] when absent. */
export function pairAttr(v: unknown, name: string, def: number, min: number): [number, number] {
  if (v === undefined) return [def, def];
  check(Array.isArray(v) && v.length === 2, name, `must be an array of 2 integers, got ${JSON.stringify(v)}`);
  const [a, b] = v as unknown[];
  for (const x of [a, b]) {
    check(
      typeof x === 'number' && Number.isSafeInteger(x) && x >= min,
      name,
      `must hold integers >= ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return [a as number, b as number];
}

/** pads [top, left, bottom, right] of integers >= 0, zeros when absent. */
export function padsAttr(v: unknown, name: string): [number, number, number, number] {
  if (v === undefined) return [0, 0, 0, 0];
  check(Array.isArray(v) && v.length === 4, name, `must be [top, left, bottom, right], got ${JSON.stringify(v)}`);
  for (const x of v as unknown[]) {
    check(
      typeof x === 'number' && Number.isSafeInteger(x) && x >= 0,
      name,
      `must hold integers >= 0, got ${JSON.stringify(v)}`,
    );
  }
  return [...(v as number[])] as [number, number, number, number];
}

/** A boolean attribute given as true / false or ONNX's 1 / 0. */
export function flagAttr(v: unknown, name: string): boolean {
  if (v === undefined) return false;
  check(v === true || v === false || v === 0 || v === 1, name, `must be true, false, 0 or 1, got ${String(v)}`);
  return v === true || v === 1;
}

/** Bytes of one element of the map data. */
export function elementBytes(data: MapData): number {
  return data instanceof Float32Array || data instanceof Int32Array ? 4 : 1;
}

/** Copies x's data into wasm memory at `dst` as NHWC. */
export function copyMapIn(rt: Runtime, data: MapData, d: MapDims, nchw: boolean, dst: number): void {
  const wide = elementBytes(data) === 4;
  // 32-bit values move as int32 bits, so every float (NaN payloads too) arrives unchanged
  const src = wide
    ? new Int32Array(data.buffer, data.byteOffset, data.length)
    : new Uint8Array(data.buffer, data.byteOffset, data.length);
  const heap = wide ? rt.heap.i32 : rt.heap.u8;
  const base = wide ? dst >> 2 : dst;
  if (!nchw) {
    heap.set(src, base);
    return;
  }
  const { N, C, H, W } = d;
  const plane = H * W;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const s = (n * C + c) * plane;
      let o = base + n * plane * C + c;
      for (let i = 0; i < plane; i++, o += C) heap[o] = src[s + i]!;
    }
  }
}

/** Copies the NHWC map at `src` (dims d) into `out`, transposed to NCHW when asked. */
export function copyMapOut(rt: Runtime, src: number, d: MapDims, nchw: boolean, out: MapData): void {
  const wide = elementBytes(out) === 4;
  const dst = wide
    ? new Int32Array(out.buffer, out.byteOffset, out.length)
    : new Uint8Array(out.buffer, out.byteOffset, out.length);
  const base = wide ? src >> 2 : src;
  const heap = wide ? rt.heap.i32 : rt.heap.u8;
  if (!nchw) {
    dst.set(heap.subarray(base, base + dst.length));
    return;
  }
  const { N, C, H, W } = d;
  const plane = H * W;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * plane;
      let s = base + n * plane * C + c;
      for (let i = 0; i < plane; i++, s += C) dst[o + i] = heap[s]!;
    }
  }
}
