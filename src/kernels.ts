/** The functions every qwasm wasm build exports (assembly/index.ts). Pointers are byte offsets. */
export interface Kernels {
  heap_base(): number;
  build_id(): number;
  /** Binary kernels (assembly/binary/): sign bit-packing along the last axis, 32 per word. */
  bitpack_f32(x: number, rows: number, C: number, dst: number): void;
  bitpack_i8(x: number, rows: number, C: number, dst: number): void;
  bitunpack_f32(bits: number, rows: number, C: number, dst: number): void;
  /** Bit rows -> rows of Cv 128-bit chunks in the build's layout, last word masked. */
  bits_to_chunks(src: number, rows: number, Cw: number, lastMask: number, Cv: number, dst: number): void;
  /** N x T bit rows -> XNOR-GEMM weight panels of binary_nr() channels. */
  bits_pack_w(src: number, N: number, T: number, Cw: number, lastMask: number, Cv: number, dst: number): void;
  bits_row_popcounts(src: number, rows: number, Cw: number, lastMask: number, dst: number): void;
  bgemm_records(
    a: number,
    M: number,
    rowBytes: number,
    splits: number,
    splitBytes: number,
    base: number,
    dst: number,
  ): void;
  bits_to_padded_chunks(
    src: number,
    Nb: number,
    H: number,
    W: number,
    Cw: number,
    lastMask: number,
    Cv: number,
    pT: number,
    pL: number,
    pB: number,
    pR: number,
    dst: number,
  ): void;
  bconv_records(
    x: number,
    pixelBytes: number,
    Nb: number,
    Hp: number,
    Wp: number,
    OH: number,
    OW: number,
    kH: number,
    sH: number,
    sW: number,
    dH: number,
    runs: number,
    runStride: number,
    pieces: number,
    pieceBytes: number,
    rowId: number,
    colId: number,
    nColIds: number,
    table: number,
    tableRowBytes: number,
    dst: number,
  ): void;
  bconv_base_table(
    tapSums: number,
    O: number,
    kH: number,
    kW: number,
    rowOut: number,
    R: number,
    colOut: number,
    Cn: number,
    Ktot: number,
    Np: number,
    dst: number,
  ): void;
  /** XNOR-popcount GEMM over records (assembly/binary/bgemm.ts); kind: BinaryEpilogue. */
  bgemm(
    rec: number,
    M: number,
    T: number,
    Cv: number,
    w: number,
    N: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
  ): void;
  binary_nr(): number;
  binary_chunk_bytes(): number;
  gemm_mr(): number;
  pack_a_s16(a: number, M: number, K: number, lda: number, signed: number, za: number, MR: number, dst: number): void;
  pack_w_s16(
    w: number,
    N: number,
    K: number,
    sn: number,
    sk: number,
    signed: number,
    zw: number,
    zwPtr: number,
    dst: number,
  ): void;
  pack_w_f32(w: number, N: number, K: number, sn: number, sk: number, dst: number): void;
  /** int8 / uint8 NHWC convolution (assembly/conv/conv.ts); `p` is the plan's parameter block. */
  conv2d_s16(p: number, x: number, w: number, out: number, kind: number, params: number, scratch: number): void;
  /** The float32 baseline convolution, bias and [lo, hi] clamp fused. */
  conv2d_f32(p: number, x: number, w: number, bias: number, lo: number, hi: number, out: number, scratch: number): void;
  gemm_s16(
    a: number,
    w: number,
    M: number,
    N: number,
    kPairs: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
  ): void;
  gemm_s16_panels(
    a: number,
    w: number,
    M: number,
    N: number,
    kPairs: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
    pBegin: number,
    pEnd: number,
    tile: number,
  ): void;
  gemm_f32_panels(
    x: number,
    lda: number,
    w: number,
    M: number,
    N: number,
    K: number,
    bias: number,
    lo: number,
    hi: number,
    out: number,
    ldo: number,
    pBegin: number,
    pEnd: number,
    tile: number,
  ): void;
  pack_w_s8c4(w: number, N: number, K: number, sn: number, sk: number, dst: number, colsum: number): void;
  pack_w_s8c4_from_s16(src: number, N: number, K: number, dst: number, colsum: number): void;
  split_a_u7(x: number, M: number, K: number, lda: number, signed: number, lo: number, hi: number): void;
  gemv_s8c4_panels(
    lo: number,
    hi: number,
    w: number,
    M: number,
    N: number,
    kq: number,
    c: number,
    colsum: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
    pBegin: number,
    pEnd: number,
    tile: number,
  ): void;
  gemv_s8c4_dot16_panels(
    a: number,
    w: number,
    M: number,
    N: number,
    kq: number,
    lda: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
    pBegin: number,
    pEnd: number,
    tile: number,
  ): void;
  gemm_f32(
    x: number,
    lda: number,
    w: number,
    M: number,
    N: number,
    K: number,
    bias: number,
    lo: number,
    hi: number,
    out: number,
    ldo: number,
  ): void;
  quantize_f32(x: number, n: number, scale: number, zp: number, qmin: number, qmax: number, out: number): void;
  quantize_dequantize_f32(x: number, n: number, scale: number, lo: number, hi: number, out: number): void;
  quantize_axis_f32(
    x: number,
    outer: number,
    C: number,
    inner: number,
    scales: number,
    zps: number,
    qmin: number,
    qmax: number,
    out: number,
  ): void;
  dequantize(q: number, n: number, signed: number, scale: number, zp: number, out: number): void;
  dequantize_axis(
    q: number,
    outer: number,
    C: number,
    inner: number,
    signed: number,
    scales: number,
    zps: number,
    out: number,
  ): void;
  minmax_f32(x: number, n: number, out: number): void;
  /** Int4-weight GEMM, per-tensor / per-channel scales (assembly/gemm/int4.ts); epilogues as gemm_s16. */
  gemm_s4(
    a: number,
    w: number,
    M: number,
    N: number,
    kPairs: number,
    out: number,
    ldo: number,
    kind: number,
    params: number,
  ): void;
  /** Activation panel height (pack_a_s16's MR) the int4 GEMMs expect. */
  gemm_s4_mr(): number;
  /** Int4-weight GEMM with per-group scales along K and the grouped fp32 epilogue. */
  gemm_s4_grouped(
    a: number,
    w: number,
    M: number,
    N: number,
    kPairs: number,
    out: number,
    ldo: number,
    params: number,
  ): void;
  /** float32 rows -> int16 activation panels with one scale per row (assembly/gemm/residual.ts). */
  pack_a_f32_s16(x: number, M: number, K: number, lda: number, mr: number, rowScales: number, dst: number): void;
  /** Two int8 weight stages against one int16 input, float32 out. */
  gemm_s16_residual(
    a: number,
    w1: number,
    w2: number,
    M: number,
    N: number,
    kPairs: number,
    rowScales: number,
    s1: number,
    s2: number,
    bias: number,
    lo: number,
    hi: number,
    out: number,
    ldo: number,
  ): void;
  /** Adds float64 error sums of n (x, xHat) pairs into out[6] (assembly/metrics.ts). */
  quant_error_f32(x: number, xHat: number, n: number, out: number): void;
  /**
   * Pooling over NHWC maps (assembly/pool.ts); `rows` / `cols` are the window tables
   * src/ops/pool.ts builds (3 int32 per output row / column).
   */
  pool_max_q8(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    rows: number,
    cols: number,
    dH: number,
    dW: number,
    signed: number,
    out: number,
  ): void;
  pool_max_f32(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    rows: number,
    cols: number,
    dH: number,
    dW: number,
    out: number,
  ): void;
  pool_avg_q8(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    rows: number,
    cols: number,
    signed: number,
    xScale: number,
    xZp: number,
    yScale: number,
    yZp: number,
    qmin: number,
    qmax: number,
    out: number,
  ): void;
  pool_avg_f32(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    rows: number,
    cols: number,
    out: number,
  ): void;
  pool_global_avg_q8(
    x: number,
    N: number,
    HW: number,
    C: number,
    signed: number,
    m: number,
    bias: number,
    yZp: number,
    qmin: number,
    qmax: number,
    out: number,
  ): void;
  pool_global_avg_f32(x: number, N: number, HW: number, C: number, out: number): void;
  /** Resize over NHWC maps (assembly/resize.ts) with the per-axis tables of src/ops/resize.ts. */
  resize_nearest(
    x: number,
    N: number,
    H: number,
    W: number,
    pixBytes: number,
    OH: number,
    OW: number,
    rows: number,
    cols: number,
    out: number,
  ): void;
  resize_linear_q8(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    rows: number,
    cols: number,
    signed: number,
    out: number,
  ): void;
  resize_linear_f32(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    rows: number,
    cols: number,
    out: number,
  ): void;
  /** Transposed convolution pieces (assembly/conv-transpose.ts): col2im scatter-adds and the requantization pass. */
  convt_col2im_s32(
    col: number,
    p0: number,
    rows: number,
    H: number,
    W: number,
    kH: number,
    kW: number,
    sH: number,
    sW: number,
    dH: number,
    dW: number,
    pT: number,
    pL: number,
    OH: number,
    OW: number,
    M: number,
    Mg: number,
    g0: number,
    acc: number,
  ): void;
  convt_col2im_f32(
    col: number,
    p0: number,
    rows: number,
    H: number,
    W: number,
    kH: number,
    kW: number,
    sH: number,
    sW: number,
    dH: number,
    dW: number,
    pT: number,
    pL: number,
    OH: number,
    OW: number,
    M: number,
    Mg: number,
    g0: number,
    acc: number,
  ): void;
  convt_requant(acc: number, pixels: number, M: number, kind: number, params: number, out: number): void;
  convt_fill_bias_f32(out: number, pixels: number, M: number, bias: number): void;
  /** Transposed conv, taps not overlapping, kH * kW * M <= 4 columns (assembly/conv/convt-narrow.ts; SIMD builds). */
  convt_direct_narrow_s16(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    za: number,
    w: number,
    kH: number,
    kW: number,
    M: number,
    params: number,
    per: number,
    out: number,
  ): void;
  /**
   * Convolution on a 16-bit grid (assembly/conv/int16.ts): float32 x (NHWC, or NCHW with
   * nchw = 1) -> the zero-padded NHWC int16 codes [N, H + pT + pB, W + pL + pR, C],
   * clamp(roundHalfEven(x / step), lo, hi) with NaN to 0 (step = 2^a).
   */
  conv_i16_pad(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    pT: number,
    pL: number,
    pB: number,
    pR: number,
    step: number,
    lo: number,
    hi: number,
    nchw: number,
    dst: number,
  ): void;
  /** A 1x1 stride-1 unpadded conv on NHWC float32 x (C even), converted to codes (as conv_i16_pad) in chunks into buf. */
  conv_i16_1x1_f32(
    x: number,
    P: number,
    C: number,
    step: number,
    xLo: number,
    xHi: number,
    M: number,
    w: number,
    bias: number,
    scale: number,
    lo: number,
    hi: number,
    y: number,
    buf: number,
    qs: number,
    qzp: number,
  ): void;
  /**
   * The dense conv on conv_i16_pad's codes: int32 sums from the bias codes, float32 acc * scale[c],
   * clamped; with qs != 0 stored as int8 codes (quantize_f32's arithmetic, scale qs, zero point qzp).
   */
  conv_i16_f32(
    xc: number,
    N: number,
    Hp: number,
    Wp: number,
    C: number,
    kH: number,
    kW: number,
    sH: number,
    sW: number,
    dH: number,
    dW: number,
    OH: number,
    OW: number,
    M: number,
    w: number,
    bias: number,
    scale: number,
    lo: number,
    hi: number,
    y: number,
    col: number,
    qs: number,
    qzp: number,
  ): void;
  /** Quantized add (assembly/elementwise.ts): y = (F + a * Ra) + b * Rb over `rows` runs of n codes. */
  qadd_s8(
    a: number,
    aStride: number,
    b: number,
    bStride: number,
    n: number,
    rows: number,
    out: number,
    signed: number,
    F: number,
    Ra: number,
    Rb: number,
    lo: number,
    hi: number,
  ): void;
  /** Quantized add with one code u per run: y = (F + u * Ru) + v * Rv. */
  qadd_s8_s(
    v: number,
    vStride: number,
    u: number,
    uStride: number,
    n: number,
    rows: number,
    out: number,
    signed: number,
    F: number,
    Rv: number,
    Ru: number,
    lo: number,
    hi: number,
  ): void;
  /** Quantized mul: y = f32(f32((a - za) * (b - zb)) * M) + zy over `rows` runs of n codes. */
  qmul_s8(
    a: number,
    aStride: number,
    b: number,
    bStride: number,
    n: number,
    rows: number,
    out: number,
    signed: number,
    za: number,
    zb: number,
    M: number,
    zy: number,
    lo: number,
    hi: number,
  ): void;
  /** Quantized mul with one code u per run. */
  qmul_s8_s(
    v: number,
    vStride: number,
    u: number,
    uStride: number,
    n: number,
    rows: number,
    out: number,
    signed: number,
    zv: number,
    zu: number,
    M: number,
    zy: number,
    lo: number,
    hi: number,
  ): void;
  /** float32 add (op 0) or mul (op 1) over runs, clamped to [lo, hi]. */
  binary_f32(
    op: number,
    a: number,
    aStride: number,
    b: number,
    bStride: number,
    n: number,
    rows: number,
    out: number,
    lo: number,
    hi: number,
  ): void;
  /** float32 add / mul with one value u per run. */
  binary_f32_s(
    op: number,
    v: number,
    vStride: number,
    u: number,
    uStride: number,
    n: number,
    rows: number,
    out: number,
    lo: number,
    hi: number,
  ): void;
  /** 256-entry table lookup over runs of codes, scalar loads (assembly/lookup.ts). */
  lookup_u8(x: number, xStride: number, n: number, rows: number, table: number, out: number, outStride: number): void;
  /** The SIMD (i8x16.swizzle) lookup, kept for the benchmark against lookup_u8's scalar loads. */
  lookup_u8_swizzle(x: number, n: number, table: number, out: number): void;
  /** Expands a 256-entry table into the 128 KiB table of code pairs (assembly/lookup.ts). */
  lookup_pairs_build(table: number, dst: number): void;
  /** lookup_u8 through the pair table: two 16-bit reads per four codes. */
  lookup_u8_pairs(
    x: number,
    xStride: number,
    n: number,
    rows: number,
    pairs: number,
    out: number,
    outStride: number,
  ): void;
  /** One 256-entry table per channel over `pixels` runs of C codes, channels last (assembly/lookup.ts). */
  lookup_u8_channels(x: number, pixels: number, C: number, tables: number, out: number): void;
  /** Transposes `batch` matrices [R, K] of 4-byte elements into [K, R] (layout changes at a model's edges). */
  transpose_x32(x: number, batch: number, R: number, K: number, out: number): void;
  /** transpose_x32 for 1-byte elements. */
  transpose_x8(x: number, batch: number, R: number, K: number, out: number): void;
  /** Copies runs of bytes between strided rows. */
  copy_rows(x: number, xStride: number, bytes: number, rows: number, out: number, outStride: number): void;
  /** Concatenation row by row: each input's run copied or requantized through its table. */
  concat_rows(
    srcs: number,
    runs: number,
    tables: number,
    inputs: number,
    rows: number,
    out: number,
    outStride: number,
  ): void;
  /** Quantized softmax over [outer, D, inner] (assembly/softmax.ts). */
  qsoftmax(
    x: number,
    outer: number,
    D: number,
    inner: number,
    signed: number,
    table: number,
    Y: number,
    zy: number,
    qmax: number,
    out: number,
  ): void;
  /** float32 softmax over [outer, D, inner]. */
  softmax_f32(x: number, outer: number, D: number, inner: number, out: number): void;
  /** float32 activations (assembly/unary.ts): 0 sigmoid, 1 tanh, 2 SiLU, 3 GELU (tanh), 4 hard-swish, 5 leaky ReLU. */
  unary_f32(x: number, n: number, kind: number, alpha: number, out: number): void;
  hard_swish_exact_f32(x: number, n: number, m: number, c: number, affine: number, out: number): void;
}

/** Epilogue kinds understood by gemm_s16 (assembly/gemm/epilogue.ts). */
export const enum EpilogueKind {
  I32 = 0,
  Fp32 = 1,
  Fixed = 2,
  Dequant = 3,
}
