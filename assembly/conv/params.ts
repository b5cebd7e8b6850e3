// The convolution parameter block: every shape number a conv kernel needs, resolved and
// validated once in src/ (src/ops/conv-plan.ts writes it, with the same offsets) and read
// here as plain int32 fields. Kernels never see an attribute they would have to check.
//
// Geometry is NHWC: input [N, H, W, C], output [N, OH, OW, M], weights grouped as
// `group` blocks of Mg = M / group output channels over Cg = C / group input channels.

/** Input batch, height, width, channels (C is also the input pixel stride in elements). */
export const CP_N: i32 = 0;
export const CP_H: i32 = 4;
export const CP_W: i32 = 8;
export const CP_C: i32 = 12;
/** Output height, width, channels (M is also the output pixel stride in elements). */
export const CP_OH: i32 = 16;
export const CP_OW: i32 = 20;
export const CP_M: i32 = 24;
/** Kernel extent, strides, dilations, leading pads. */
export const CP_KH: i32 = 28;
export const CP_KW: i32 = 32;
export const CP_SH: i32 = 36;
export const CP_SW: i32 = 40;
export const CP_DH: i32 = 44;
export const CP_DW: i32 = 48;
export const CP_PT: i32 = 52;
export const CP_PL: i32 = 56;
/** Groups, input channels per group, output channels per group. */
export const CP_GROUP: i32 = 60;
export const CP_CG: i32 = 64;
export const CP_MG: i32 = 68;
/** Input zero point and dtype (1: int8, 0: uint8); unused by the float32 kernels. */
export const CP_ZA: i32 = 72;
export const CP_SIGNED: i32 = 76;
/** Which kernel runs: one of ConvPath. */
export const CP_PATH: i32 = 80;
/** GEMM paths: K pairs (or K for float32) per group, bytes of one group's packed weights,
 * rows of output pixels per block (packed, or listed in the indirection buffer). */
export const CP_KPAIRS: i32 = 84;
export const CP_GROUP_WBYTES: i32 = 88;
export const CP_MC: i32 = 92;
/** Depthwise: channel multiplier (M / C), channels rounded up to the SIMD block, rows of
 * the row ring ((kH - 1) * dH + 1) and padded columns per ring row. */
export const CP_CM: i32 = 96;
export const CP_CP: i32 = 100;
export const CP_HP: i32 = 104;
export const CP_WP: i32 = 108;
/** Size of the block in bytes. */
export const CP_BYTES: i32 = 128;

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
