// Every binary layout that TypeScript, wasm and the worker scripts share, described once.
// scripts/gen-layouts.mjs turns this into assembly/layouts.generated.ts (byte offsets for
// load<T>) and src/layouts.generated.ts (int32 indices for the heap views);
// test/generated.test.ts fails when a generated file is not what this description gives.
//
// Every field is 4 bytes: 'i32', 'f32', or 'ptr' (a wasm address; 'array' is a pointer to a
// per-output-channel array of 4-byte elements, 'array8' of 8-byte elements, both rebased
// per group when a grouped conv copies the block).

/** @type {Record<string, { doc: string; asPrefix: string; tsName: string; bytes: number; fields: [string, 'i32' | 'f32' | 'ptr' | 'array' | 'array8', string][] }>} */
export const layouts = {
  conv: {
    doc: 'The convolution parameter block: every shape number a conv kernel needs, resolved once in src/ops/conv-plan.ts. NHWC: input [N, H, W, C], output [N, OH, OW, M], `group` blocks of Mg = M / group output channels over Cg = C / group input channels.',
    asPrefix: 'CP',
    tsName: 'ConvField',
    bytes: 128,
    fields: [
      ['N', 'i32', 'input batch'],
      ['H', 'i32', 'input height'],
      ['W', 'i32', 'input width'],
      ['C', 'i32', 'input channels (also the input pixel stride in elements)'],
      ['OH', 'i32', 'output height'],
      ['OW', 'i32', 'output width'],
      ['M', 'i32', 'output channels (also the output pixel stride in elements)'],
      ['KH', 'i32', 'kernel height'],
      ['KW', 'i32', 'kernel width'],
      ['SH', 'i32', 'stride along H'],
      ['SW', 'i32', 'stride along W'],
      ['DH', 'i32', 'dilation along H'],
      ['DW', 'i32', 'dilation along W'],
      ['PT', 'i32', 'top pad'],
      ['PL', 'i32', 'left pad'],
      ['GROUP', 'i32', 'groups'],
      ['CG', 'i32', 'input channels per group'],
      ['MG', 'i32', 'output channels per group'],
      ['ZA', 'i32', 'input zero point (unused by the float32 kernels)'],
      ['SIGNED', 'i32', 'input dtype: 1 int8, 0 uint8'],
      ['PATH', 'i32', 'which kernel runs: one of ConvPath'],
      ['KPAIRS', 'i32', 'GEMM paths: K pairs (K for float32) per group'],
      ['GROUP_WBYTES', 'i32', "bytes of one group's packed weights"],
      ['MC', 'i32', 'output pixels per block (packed, or listed in the indirection buffer)'],
      ['CM', 'i32', 'depthwise: channel multiplier M / C'],
      ['CP', 'i32', 'depthwise: channels rounded up to the SIMD block'],
      ['HP', 'i32', 'depthwise: rows of the row ring, (kH - 1) * dH + 1'],
      ['WP', 'i32', 'depthwise: padded columns per ring row'],
    ],
  },
  epilogue: {
    doc: 'The GEMM epilogue parameter block (assembly/gemm/epilogue.ts), written once per layer by src/ops/epilogue.ts; its arrays follow it, padded to whole NR panels so an 8-wide load never leaves them.',
    asPrefix: 'EP',
    tsName: 'EpilogueField',
    bytes: 80,
    fields: [
      ['BIAS', 'array', 'int32[Np] bias, or 0 (Dequant: float32[Np] or 0)'],
      [
        'MULT',
        'array',
        'fp32: float32[Np] multipliers; fixed: int32[Np] multipliers; dequant: float32[Np] column scales',
      ],
      ['LMUL', 'array', 'fixed: int32[Np], 1 << left shift'],
      ['RSHIFT', 'array', 'fixed: int32[Np], right shift'],
      ['RMASK', 'array', 'fixed: int32[Np], (1 << right shift) - 1'],
      ['ZP', 'i32', 'output zero point'],
      ['QMIN', 'i32', 'lowest output value (after the activation clamp)'],
      ['QMAX', 'i32', 'highest output value'],
      ['SIGNED', 'i32', 'output dtype: 1 int8, 0 uint8'],
      ['XSCALE', 'f32', 'dequant: the input scale of the call (dynamic quantization)'],
      [
        'LFLOOR',
        'array',
        'fixed: int32[Np], -(2^31 >> left shift): accumulators are clamped to [LFLOOR, ~LFLOOR] before the left shift',
      ],
      [
        'RPOW',
        'array',
        'fixed: int32[Np], 2^(31 - right shift) for the SIMD per-lane shift (unused where the right shift is 0)',
      ],
      ['LEFT', 'i32', 'fixed: 1 when some column shifts left, else 0 (the SIMD path skips the left shift)'],
      ['DQLO', 'f32', 'dequant: lowest output (a fused activation), -Infinity without one'],
      ['DQHI', 'f32', 'dequant: highest output, Infinity without one'],
      [
        'FMODE',
        'array',
        'fixed: int32[Np], how the float64 path runs the 8 columns from this one (FixedF64 bits; 0: the int64 path)',
      ],
      ['FMUL', 'array8', 'fixed: float64[Np], multiplier << left shift (float64 path)'],
      [
        'FADD',
        'array8',
        'fixed: float64[Np], what the float64 path adds to the product: 2^30 + 1/2, plus bias * FMUL where folded',
      ],
      ['FMAGIC', 'array8', 'fixed: float64[Np], (1.5 * 2^52 + zero point) * 2^(31 + right shift)'],
    ],
  },
  binaryEpilogue: {
    doc: 'The binary GEMM epilogue block (assembly/binary/bgemm.ts), written once per layer by src/layers/binary.ts; its two per-channel arrays follow it.',
    asPrefix: 'BP',
    tsName: 'BinaryEpilogueField',
    bytes: 32,
    fields: [
      ['A0', 'array', 'float32: scales; int8: scale / output scale; bits: int32 lower thresholds'],
      ['A1', 'array', 'float32: biases; int8: bias / output scale; bits: int32 upper thresholds'],
      ['LO', 'f32', 'int8 output: -128 - zero point'],
      ['HI', 'f32', 'int8 output: 127 - zero point'],
      ['ZP', 'i32', 'int8 output: zero point'],
    ],
  },
};

/**
 * The thread pool's control block (src/threads/pool.ts allocates it in the shared wasm
 * memory; worker.js and chunk.js read it), in int32 words. The counters the threads write
 * sit on cache lines of their own. A job is a kernel id (`jobs`), its split, its chunk
 * count and its arguments from word ARGS on, each job kind's arguments named below;
 * scripts/gen-layouts.mjs generates src/threads/layout.generated.js (+ .d.ts) from this.
 *
 * @type {{
 *   words: [string, number, string][];
 *   slotWords: number;
 *   slot: [string, string][];
 *   splits: [string, number, string][];
 *   jobs: Record<string, { id: number; doc: string; args: [string, 'i32' | 'f32' | 'ptr', string][] }>;
 *   mapKernels: [string, number, string][];
 * }}
 */
export const poolControl = {
  words: [
    ['PENDING', 0, 'workers of the current job not yet done (the caller waits for 0)'],
    ['FAILED', 1, '0, or 1 + the number of the first worker whose kernel failed'],
    ['STOP', 2, '1 once the pool is disposed: workers return'],
    ['NEXT', 16, 'the next chunk to take (Atomics.add)'],
    ['FN', 32, 'the job: kernel id | split << 8'],
    ['CHUNKS', 33, 'chunks of the job'],
    ['UNITS', 34, 'panels or row blocks the chunks cover'],
    ['ARGS', 36, "first word of the job's arguments"],
    ['MESSAGE', 64, 'a failed kernel: message length in bytes, then its UTF-8 text'],
    ['SLOTS', 128, 'first word of worker 0 slot (slot w at SLOTS + w * SLOT_WORDS)'],
  ],
  slotWords: 16,
  slot: [
    ['SEQ', 'wake-up sequence number, bumped (and notified) per job and at stop'],
    ['SCRATCH', "the worker's work buffer (im2col blocks), grown by the caller"],
    ['DONE', 'chunks this worker has run'],
  ],
  splits: [
    ['Panels', 0, 'chunks are ranges of NR-wide weight panels'],
    ['Rows', 1, 'chunks are ranges of row blocks (MR rows, output pixels or image rows)'],
  ],
  jobs: {
    GemmS16: {
      id: 1,
      doc: 'gemm_s16: int8 GEMM on packed int16 activations',
      args: [
        ['a', 'ptr', 'activations packed in MR-row panels'],
        ['w', 'ptr', 'packed weight panels'],
        ['M', 'i32', 'rows'],
        ['N', 'i32', 'columns'],
        ['kPairs', 'i32', 'K pairs'],
        ['out', 'ptr', 'output'],
        ['ldo', 'i32', 'output row stride in elements'],
        ['kind', 'i32', 'epilogue kind'],
        ['params', 'ptr', 'epilogue block'],
        ['mr', 'i32', 'rows per row block (the activation panel height)'],
        ['nr', 'i32', 'columns per weight panel'],
      ],
    },
    GemmF32: {
      id: 2,
      doc: 'gemm_f32: the float32 GEMM',
      args: [
        ['x', 'ptr', 'input rows'],
        ['lda', 'i32', 'input row stride in elements'],
        ['w', 'ptr', 'packed weight panels'],
        ['M', 'i32', 'rows'],
        ['N', 'i32', 'columns'],
        ['K', 'i32', 'depth'],
        ['bias', 'ptr', 'float32[N] or 0'],
        ['lo', 'f32', 'lowest output'],
        ['hi', 'f32', 'highest output'],
        ['out', 'ptr', 'output'],
        ['ldo', 'i32', 'output row stride in elements'],
        ['mr', 'i32', 'rows per row block'],
        ['nr', 'i32', 'columns per weight panel'],
      ],
    },
    ConvS16: {
      id: 3,
      doc: 'conv2d_s16_rows: int8 convolution over a range of output rows',
      args: [
        ['p', 'ptr', 'conv parameter block'],
        ['x', 'ptr', 'input'],
        ['w', 'ptr', 'packed weights'],
        ['out', 'ptr', 'output'],
        ['kind', 'i32', 'epilogue kind'],
        ['params', 'ptr', 'epilogue block'],
        ['rows', 'i32', 'output rows (pixels; image rows for depthwise)'],
        ['step', 'i32', 'rows per unit'],
      ],
    },
    ConvF32: {
      id: 4,
      doc: 'conv2d_f32_rows: float32 convolution over a range of output rows',
      args: [
        ['p', 'ptr', 'conv parameter block'],
        ['x', 'ptr', 'input'],
        ['w', 'ptr', 'packed weights'],
        ['bias', 'ptr', 'float32[M] or 0'],
        ['lo', 'f32', 'lowest output'],
        ['hi', 'f32', 'highest output'],
        ['out', 'ptr', 'output'],
        ['rows', 'i32', 'output rows (pixels; image rows for depthwise)'],
        ['step', 'i32', 'rows per unit'],
      ],
    },
    GemmS4: {
      id: 5,
      doc: 'gemm_s4 (grouped = 0) or gemm_s4_grouped (grouped = 1): int4-weight GEMM, split over row blocks',
      args: [
        ['a', 'ptr', 'activations packed in MR-row panels'],
        ['w', 'ptr', 'packed int4 weight panels'],
        ['M', 'i32', 'rows'],
        ['N', 'i32', 'columns'],
        ['kPairs', 'i32', 'K pairs'],
        ['out', 'ptr', 'output'],
        ['ldo', 'i32', 'output row stride in elements'],
        ['kind', 'i32', 'epilogue kind (gemm_s4 only)'],
        ['params', 'ptr', 'epilogue block, or the grouped block'],
        ['grouped', 'i32', '1: gemm_s4_grouped'],
        ['mr', 'i32', 'rows per row block'],
      ],
    },
    GemmResidual: {
      id: 6,
      doc: 'gemm_s16_residual: two int8 stages summed in float32, split over row blocks',
      args: [
        ['a', 'ptr', 'activations packed in MR-row panels'],
        ['w1', 'ptr', 'first stage weights'],
        ['w2', 'ptr', 'second stage weights'],
        ['M', 'i32', 'rows'],
        ['N', 'i32', 'columns'],
        ['kPairs', 'i32', 'K pairs'],
        ['rowScales', 'ptr', 'float32[M] row scales'],
        ['s1', 'ptr', 'float32[Np] first stage column scales'],
        ['s2', 'ptr', 'float32[Np] second stage column scales'],
        ['bias', 'ptr', 'float32[Np] or 0'],
        ['lo', 'f32', 'lowest output'],
        ['hi', 'f32', 'highest output'],
        ['out', 'ptr', 'float32 output'],
        ['ldo', 'i32', 'output row stride in elements'],
        ['mr', 'i32', 'rows per row block'],
      ],
    },
    Bgemm: {
      id: 7,
      doc: 'bgemm: XNOR-popcount GEMM over records (binary matmul and conv), split over row blocks',
      args: [
        ['rec', 'ptr', 'records: M of (1 + T) words'],
        ['M', 'i32', 'records (rows)'],
        ['T', 'i32', 'taps per record'],
        ['Cv', 'i32', 'chunks per tap'],
        ['w', 'ptr', 'packed weight panels'],
        ['N', 'i32', 'columns'],
        ['out', 'ptr', 'output'],
        ['ldo', 'i32', 'output row stride in elements (words for bits)'],
        ['kind', 'i32', 'binary epilogue kind'],
        ['params', 'ptr', 'binary epilogue block'],
        ['mr', 'i32', 'rows per row block'],
        ['rowBytes', 'i32', 'output bytes per row'],
      ],
    },
    MapRows: {
      id: 8,
      doc: 'pooling and resize over NHWC maps (assembly/pool.ts, resize.ts), split over output rows of all images',
      args: [
        ['kernel', 'i32', 'which kernel: one of MapKernel'],
        ['x', 'ptr', 'input [N, H, W, C]'],
        ['N', 'i32', 'images'],
        ['H', 'i32', 'input height'],
        ['W', 'i32', 'input width'],
        ['C', 'i32', 'channels (resize_nearest: bytes per pixel)'],
        ['OH', 'i32', 'output height'],
        ['OW', 'i32', 'output width'],
        ['rows', 'ptr', 'per-output-row table'],
        ['cols', 'ptr', 'per-output-column table'],
        ['out', 'ptr', 'output [N, OH, OW, C]'],
        ['rowEntry', 'i32', 'bytes per entry of the row table'],
        ['pixBytes', 'i32', 'bytes per pixel, input and output'],
        ['dH', 'i32', 'max pool: dilation along H'],
        ['dW', 'i32', 'max pool: dilation along W'],
        ['signed', 'i32', '8-bit kernels: 1 int8, 0 uint8'],
        ['xScale', 'f32', 'average pool q8: input scale'],
        ['xZp', 'i32', 'average pool q8: input zero point'],
        ['yScale', 'f32', 'average pool q8: output scale'],
        ['yZp', 'i32', 'average pool q8: output zero point'],
        ['qmin', 'i32', 'average pool q8: lowest output'],
        ['qmax', 'i32', 'average pool q8: highest output'],
      ],
    },
  },
  mapKernels: [
    ['PoolMaxQ8', 0, 'pool_max_q8'],
    ['PoolMaxF32', 1, 'pool_max_f32'],
    ['PoolAvgQ8', 2, 'pool_avg_q8'],
    ['PoolAvgF32', 3, 'pool_avg_f32'],
    ['ResizeNearest', 4, 'resize_nearest'],
    ['ResizeLinearQ8', 5, 'resize_linear_q8'],
    ['ResizeLinearF32', 6, 'resize_linear_f32'],
  ],
};
