// Numpy broadcasting of two operands, resolved into the run structure the elementwise
// kernels take (assembly/elementwise.ts): the output's dims of size 1 dropped, neighbours
// that broadcast alike merged, the innermost one or two dims handed to one kernel call,
// any dims outside them iterated here.
import { check } from '../errors.js';

/** One dim the TypeScript side iterates: its count and the strides (in elements) of a, b and the output. */
export interface OuterDim {
  count: number;
  a: number;
  b: number;
  out: number;
}

/**
 * How one broadcast elementwise op runs:
 * - 'vv': both operands vary along the run of n; `rows` runs, a and b advancing by
 *   aRow / bRow per run (0 repeats an operand);
 * - 'sa' / 'sb': a (resp. b) holds one value per run (advancing by aRow / bRow), the
 *   other operand varies along it.
 */
export interface BroadcastPlan {
  shape: number[];
  size: number;
  kind: 'vv' | 'sa' | 'sb';
  n: number;
  rows: number;
  aRow: number;
  bRow: number;
  outer: OuterDim[];
}

interface Dim {
  size: number;
  aFull: boolean;
  bFull: boolean;
}

/** Plans a op b under numpy broadcasting; a shape mismatch is a QwasmError naming 'b'. */
export function planBroadcast(aShape: readonly number[], bShape: readonly number[]): BroadcastPlan {
  const rank = Math.max(aShape.length, bShape.length);
  const shape: number[] = [];
  const dims: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aShape[i - rank + aShape.length] ?? 1;
    const db = bShape[i - rank + bShape.length] ?? 1;
    check(
      da === db || da === 1 || db === 1,
      'b',
      `shape [${bShape.join(', ')}] does not broadcast with a's [${aShape.join(', ')}] (dim ${i}: ${db} vs ${da})`,
    );
    const size = da === 1 ? db : da;
    shape.push(size);
    if (size === 1) continue;
    const d = { size, aFull: da === size, bFull: db === size };
    const last = dims[dims.length - 1];
    if (last && last.aFull === d.aFull && last.bFull === d.bFull) last.size *= size;
    else dims.push(d);
  }
  let size = 1;
  for (const d of shape) size *= d;
  if (dims.length === 0) dims.push({ size: 1, aFull: true, bFull: true });
  // element strides of a, b and the output over the merged dims
  const strides = dims.map(() => ({ a: 0, b: 0, out: 0 }));
  let sa = 1;
  let sb = 1;
  let so = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i]!;
    strides[i] = { a: d.aFull ? sa : 0, b: d.bFull ? sb : 0, out: so };
    if (d.aFull) sa *= d.size;
    if (d.bFull) sb *= d.size;
    so *= d.size;
  }
  const L = dims.length - 1;
  const inner = dims[L]!;
  const kind = inner.aFull && inner.bFull ? 'vv' : inner.aFull ? 'sb' : 'sa';
  let rows = 1;
  let aRow = 0;
  let bRow = 0;
  let first = L;
  if (L > 0) {
    rows = dims[L - 1]!.size;
    aRow = strides[L - 1]!.a;
    bRow = strides[L - 1]!.b;
    first = L - 1;
  }
  const outer: OuterDim[] = [];
  for (let i = 0; i < first; i++) outer.push({ count: dims[i]!.size, ...strides[i]! });
  return { shape, size, kind, n: inner.size, rows, aRow, bRow, outer };
}

/** Calls `run(aOffset, bOffset, outOffset)` once per index of the plan's outer dims (offsets in elements). */
export function forEachOuter(plan: BroadcastPlan, run: (a: number, b: number, out: number) => void): void {
  const { outer } = plan;
  const idx = new Array<number>(outer.length).fill(0);
  let a = 0;
  let b = 0;
  let o = 0;
  for (;;) {
    run(a, b, o);
    let k = outer.length - 1;
    for (; k >= 0; k--) {
      const d = outer[k]!;
      idx[k]!++;
      a += d.a;
      b += d.b;
      o += d.out;
      if (idx[k]! < d.count) break;
      a -= d.a * d.count;
      b -= d.b * d.count;
      o -= d.out * d.count;
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}
