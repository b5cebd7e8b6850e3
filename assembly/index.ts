// qwasm kernels: one AssemblyScript source, compiled to the `relaxed`, `simd` and
// `scalar` builds (asconfig.json). Kernels take plain pointers into the memory the
// TypeScript side owns; none of them validates or allocates.

export { pack_a_s16, pack_w_s16, pack_w_f32 } from './gemm/pack';
export { gemm_s16, gemm_f32, gemm_s16_panels, gemm_f32_panels } from './gemm/gemm';
export {
  conv2d_s16,
  conv2d_f32,
  conv2d_s16_rows,
  conv2d_f32_rows,
  conv_thread_scratch,
  conv_thread_scratch_bytes,
} from './conv/conv';
export { thread_scratch, thread_scratch_bytes } from './threads';
import { MR } from './gemm/ukernels.generated';
export {
  pack_w_s8c4,
  pack_w_s8c4_from_s16,
  split_a_u7,
  gemv_s8c4_panels,
  gemv_s8c4_dot16_panels,
} from './gemm/relaxed';
export {
  quantize_f32,
  quantize_axis_f32,
  quantize_dequantize_f32,
  dequantize,
  dequantize_axis,
  minmax_f32,
} from './quantize';
export { gemm_s4, gemm_s4_grouped, gemm_s4_mr } from './gemm/int4';
export { pack_a_f32_s16, gemm_s16_residual } from './gemm/residual';
export { quant_error_f32 } from './metrics';
export { bitpack_f32, bitpack_i8, bitunpack_f32 } from './binary/bitpack';
export {
  bits_to_chunks,
  bits_to_padded_chunks,
  bits_pack_w,
  bits_row_popcounts,
  bgemm_records,
  bconv_records,
  bconv_base_table,
} from './binary/layout';
export { bgemm, binary_nr, binary_chunk_bytes, binary_thread_scratch } from './binary/bgemm';

/** First byte the TypeScript allocator may use: everything below holds static data. */
export function heap_base(): usize {
  return __heap_base;
}

/** Rows of the int8 GEMM register tile: pack_a_s16 must be called with this MR. */
export function gemm_mr(): i32 {
  return MR;
}

/** Which build this is: 0 scalar, 1 simd, 2 relaxed. */
export function build_id(): i32 {
  if (ASC_FEATURE_RELAXED_SIMD) return 2;
  if (ASC_FEATURE_SIMD) return 1;
  return 0;
}
export { qadd_s8, qadd_s8_s, qmul_s8, qmul_s8_s, binary_f32, binary_f32_s } from './elementwise';
export {
  lookup_u8,
  lookup_u8_swizzle,
  lookup_pairs_build,
  lookup_u8_pairs,
  lookup_u8_channels,
  copy_rows,
  concat_rows,
} from './lookup';
export { qsoftmax, softmax_f32 } from './softmax';
export { unary_f32, hard_swish_exact_f32 } from './unary';
export { pool_max_q8, pool_max_f32, pool_avg_q8, pool_avg_f32, pool_global_avg_q8, pool_global_avg_f32 } from './pool';
export { resize_nearest, resize_linear_q8, resize_linear_f32 } from './resize';
export { convt_col2im_s32, convt_col2im_f32, convt_requant, convt_fill_bias_f32 } from './conv-transpose';
export { convt_direct_narrow_s16 } from './conv/convt-narrow';
export { transpose_x32, transpose_x8 } from './transpose';
export { conv_i16_pad, conv_i16_f32, conv_i16_1x1_f32 } from './conv/int16';
