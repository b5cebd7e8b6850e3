// The kernels of a threaded engine: the build's exports, with the GEMM entry points
// replaced by versions that cut the call into parts (partition.ts) and run them on the
// pool. Ops and layers call `rt.kernels.gemm_s16(...)` exactly as on one thread; a call
// too small to pay for a hand-off goes straight to the build's own function.
import { EpilogueKind, type Kernels } from '../kernels.js';
import { minOpsPerPart, partStart, partsFor, splitOverN } from './partition.js';
import { Fn, type ThreadPool } from './pool.js';

/** Rows and columns of the GEMM register tile, which bound the split. */
export interface TileShape {
  mr: number;
  nr: number;
}

/**
 * Points `target`'s gemm_s16 and gemm_f32 (a copy of `raw`, the build's exports, that the
 * engine's Runtime already holds) at versions dispatched over `pool`. Each thread uses its
 * own microkernel tile from `pool.tiles`, never the build's static one.
 */
export function installThreadedKernels(target: Kernels, raw: Kernels, pool: ThreadPool, tile: TileShape): void {
  const { mr, nr } = tile;
  const tiles = pool.tiles;

  function gemm_s16(a: number, w: number, M: number, N: number, kPairs: number, out: number, ldo: number, kind: number, params: number): void {
    pool.ready();
    const panels = Math.ceil(N / nr);
    const blocks = Math.ceil(M / mr);
    let parts = partsFor(4 * M * N * kPairs, minOpsPerPart.s16, pool.size);
    const overN = parts > 1 && splitOverN(panels, blocks, parts);
    if (parts > 1) parts = Math.min(parts, overN ? panels : blocks);
    if (parts <= 1) {
      raw.gemm_s16(a, w, M, N, kPairs, out, ldo, kind, params);
      return;
    }
    const i32 = pool.words;
    if (overN) {
      for (let t = 1; t < parts; t++) {
        const s = pool.slot(t, Fn.GemmS16);
        i32[s] = a;
        i32[s + 1] = w;
        i32[s + 2] = M;
        i32[s + 3] = N;
        i32[s + 4] = kPairs;
        i32[s + 5] = out;
        i32[s + 6] = ldo;
        i32[s + 7] = kind;
        i32[s + 8] = params;
        i32[s + 9] = partStart(t, panels, parts);
        i32[s + 10] = partStart(t + 1, panels, parts);
        i32[s + 11] = tiles[t]!;
      }
      pool.launch(parts);
      const t0 = performance.now();
      raw.gemm_s16_panels(a, w, M, N, kPairs, out, ldo, kind, params, 0, partStart(1, panels, parts), tiles[0]!);
      pool.finish(performance.now() - t0);
      return;
    }
    // over M: part t takes whole MR-row blocks, so its packed rows start at an MR boundary
    const es = kind === EpilogueKind.I32 || kind === EpilogueKind.Dequant ? 4 : 1;
    for (let t = 1; t < parts; t++) {
      const r0 = partStart(t, blocks, parts) * mr;
      const r1 = Math.min(M, partStart(t + 1, blocks, parts) * mr);
      const s = pool.slot(t, Fn.GemmS16);
      i32[s] = a + r0 * kPairs * 4;
      i32[s + 1] = w;
      i32[s + 2] = r1 - r0;
      i32[s + 3] = N;
      i32[s + 4] = kPairs;
      i32[s + 5] = out + r0 * ldo * es;
      i32[s + 6] = ldo;
      i32[s + 7] = kind;
      i32[s + 8] = params;
      i32[s + 9] = 0;
      i32[s + 10] = panels;
      i32[s + 11] = tiles[t]!;
    }
    pool.launch(parts);
    const t0 = performance.now();
    const r1 = Math.min(M, partStart(1, blocks, parts) * mr);
    raw.gemm_s16_panels(a, w, r1, N, kPairs, out, ldo, kind, params, 0, panels, tiles[0]!);
    pool.finish(performance.now() - t0);
  }

  function gemm_f32(x: number, lda: number, w: number, M: number, N: number, K: number, bias: number, lo: number, hi: number, out: number, ldo: number): void {
    pool.ready();
    const panels = Math.ceil(N / nr);
    const blocks = Math.ceil(M / mr);
    let parts = partsFor(2 * M * N * K, minOpsPerPart.f32, pool.size);
    const overN = parts > 1 && splitOverN(panels, blocks, parts);
    if (parts > 1) parts = Math.min(parts, overN ? panels : blocks);
    if (parts <= 1) {
      raw.gemm_f32(x, lda, w, M, N, K, bias, lo, hi, out, ldo);
      return;
    }
    const i32 = pool.words;
    const f32 = pool.floats;
    for (let t = 1; t < parts; t++) {
      const s = pool.slot(t, Fn.GemmF32);
      let r0 = 0;
      let r1 = M;
      let p0 = 0;
      let p1 = panels;
      if (overN) {
        p0 = partStart(t, panels, parts);
        p1 = partStart(t + 1, panels, parts);
      } else {
        r0 = partStart(t, blocks, parts) * mr;
        r1 = Math.min(M, partStart(t + 1, blocks, parts) * mr);
      }
      i32[s] = x + r0 * lda * 4;
      i32[s + 1] = lda;
      i32[s + 2] = w;
      i32[s + 3] = r1 - r0;
      i32[s + 4] = N;
      i32[s + 5] = K;
      i32[s + 6] = bias;
      f32[s + 7] = lo;
      f32[s + 8] = hi;
      i32[s + 9] = out + r0 * ldo * 4;
      i32[s + 10] = ldo;
      i32[s + 11] = p0;
      i32[s + 12] = p1;
      i32[s + 13] = tiles[t]!;
    }
    pool.launch(parts);
    const t0 = performance.now();
    if (overN) raw.gemm_f32_panels(x, lda, w, M, N, K, bias, lo, hi, out, ldo, 0, partStart(1, panels, parts), tiles[0]!);
    else raw.gemm_f32_panels(x, lda, w, Math.min(M, partStart(1, blocks, parts) * mr), N, K, bias, lo, hi, out, ldo, 0, panels, tiles[0]!);
    pool.finish(performance.now() - t0);
  }

  target.gemm_s16 = gemm_s16;
  target.gemm_f32 = gemm_f32;
}
