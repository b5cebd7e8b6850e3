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

const GEMM_S16_5x8C2: KernelConfig = { mr: 5, nr: 8, kr: 2 };

/** The kernel configuration of a build. */
export function configFor(backend: Backend): KernelConfig {
  switch (backend) {
    case 'relaxed':
    case 'simd':
    case 'scalar':
      return GEMM_S16_5x8C2;
  }
}
