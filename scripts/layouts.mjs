// Every binary layout that TypeScript, wasm and the worker scripts share, described once.
// scripts/gen-layouts.mjs turns this into assembly/layouts.generated.ts (byte offsets for
// load<T>) and src/layouts.generated.ts (int32 indices for the heap views);
// test/generated.test.ts fails when a generated file is not what this description gives.
//
// Every field is 4 bytes: 'i32', 'f32', or 'ptr' (a wasm address; 'array' is a pointer to a
// per-output-channel array, rebased per group when a grouped conv copies the block).

/** @type {Record<string, { doc: string; asPrefix: string; tsName: string; bytes: number; fields: [string, 'i32' | 'f32' | 'ptr' | 'array', string][] }>} */
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
    bytes: 64,
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
