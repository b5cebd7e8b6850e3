// The kernel registry: which microkernel tile and packing each build uses. Every
// choice here is a measurement (bench/), and every kernel is proven exact against
// the scalar references in test/reference.
import type { Backend } from './loader.js';

export interface KernelConfig {
  /** Rows of the int8 GEMM register tile (activation panel height). */
  mr: number;
  /** Columns of a weight panel. */
  nr: number;
  /** K step of the packed int16 layout: (k, k+1) pairs. */
  kr: number;
}

/**
 * The kernel configuration of a build. Every build runs the int16-widened GEMM with an
 * MR x 8 tile (gemm_s16_4x8c2 on SIMD; MR is read from the module so the packer and the
 * kernel cannot disagree). 4 x 8 measured 114 GOPS in cache on Node 20 and 24 alike;
 * 5 x 8 spills on Node 20 (61 GOPS), 3 x 8 reaches 110.
 */
export function configFor(_backend: Backend, mr: number): KernelConfig {
  return { mr, nr: 8, kr: 2 };
}
