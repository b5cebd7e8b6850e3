// The kernel registry: which microkernel tile and packing each build uses. Every
// choice here is a measurement (bench/), and every kernel is proven exact against
// the scalar references in test/reference.
import type { Backend } from './loader.js';

export interface KernelConfig {
  /** Rows of the int8 GEMM register tile (activation panel height). */
  mr: number;
  /** Columns of a weight panel. */
  nr: number;
  /**
   * Products with at most this many rows take the int8-weight relaxed-dot path
   * (gemv_s8c4): one row is bound by weight bytes, and int8 weights halve them. On the
   * relaxed build under Node 24 one row measured 71 vs 60 GOPS at 768 x 768 and 66 vs
   * 37 at 4096 x 4096; from two rows on the int16 path wins (100 vs 70).
   */
  gemvRows: number;
  /**
   * ...and only when the layer has at least this many weights. On the `simd` build the
   * one-row path widens int8 weights in the loop (gemv_s8c4_dot16): under Node 20 that
   * loses while int16 weights still fit the caches (33 vs 46 GOPS at 768 x 768) and wins
   * once they stream from memory (31 vs 16 at 4096 x 4096).
   */
  gemvMinWeights: number;
  /** Convolution block sizes and path choices (src/ops/conv-plan.ts). */
  conv: {
    /**
     * Channels per group from which KxK layers run the IGEMM instead of packing im2col
     * rows: below it the IGEMM's per-tap loop overhead (and, when odd, the pair padding)
     * outweighs the copy (the im2col packer measured 55 vs 43 GOPS at 3 channels).
     */
    igemmMinChannels: number;
    /** Output pixels per IGEMM indirection block (measured in bench/conv.bench.mjs). */
    igemmPixels: number;
    /**
     * Bytes of widened im2col rows packed per block: with the weights of a group these
     * stay in L2 while the GEMM sweeps its panels (measured in bench/conv.bench.mjs).
     */
    im2colBlockBytes: number;
  };
}

/**
 * The kernel configuration of a build. Every build runs the int16-widened GEMM with an
 * MR x 8 tile (gemm_s16_4x8c2 on SIMD; MR is read from the module so the packer and the
 * kernel cannot disagree). 4 x 8 measured 114 GOPS in cache on Node 20 and 24 alike;
 * 5 x 8 spills on Node 20 (61 GOPS), 3 x 8 reaches 110.
 */
export function configFor(backend: Backend, mr: number): KernelConfig {
  return {
    mr,
    nr: 8,
    gemvRows: backend === 'scalar' ? 0 : 1,
    gemvMinWeights: backend === 'relaxed' ? 0 : 1 << 21,
    conv: { igemmMinChannels: 4, igemmPixels: 64, im2colBlockBytes: 96 * 1024 },
  };
}
