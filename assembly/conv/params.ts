// The convolution parameter block: every shape number a conv kernel needs, resolved and
// validated once in src/ (src/ops/conv-plan.ts writes it) and read
// here as plain int32 fields. Kernels never see an attribute they would have to check.
//
// Geometry is NHWC: input [N, H, W, C], output [N, OH, OW, M], weights grouped as
// `group` blocks of Mg = M / group output channels over Cg = C / group input channels.

// The field offsets (CP_N, CP_H, ...) are generated from scripts/layouts.mjs, the one
// description src/ops/conv-plan.ts and the worker scripts read too.
export * from '../layouts.generated';

/** The kernel a plan chose. */
export enum ConvPath {
  /** 1x1, stride 1, no padding: the input is already the GEMM's [N*H*W, C] matrix. */
  Gemm1x1 = 0,
  /** im2col rows packed per block, then the GEMM (tiny channel counts, see src/). */
  Im2col = 1,
  /** group == C: channels in SIMD lanes. */
  Depthwise = 2,
  /** Everything else: indirect GEMM over the input rows (igemm.ts). */
  Igemm = 3,
}

/** Reads an int32 field of a parameter block. */
@inline export function cp(p: usize, field: i32): i32 {
  return load<i32>(p + <usize>field);
}
