// Layout constants of the binary kernels, chosen per build at compile time.

/** Output channels per weight panel (and per register tile); 32 % BNR == 0, so a
 * panel's output bits never straddle a word. */
export const BNR: i32 = 2;

/** Pixels / rows per register tile: with BNR = 2 that is 8 (simd) or 4 (relaxed: every
 * chunk is two vectors) byte accumulators, which with the loads and the popcount
 * temporaries fit V8's 15 usable vector registers. Measured (kernel time, Zen 4): simd
 * 4x2 ~200-210 G bit-MAC/s, 3x2 equal or up to 5% slower; relaxed 2x2 ~270-290, 3x2
 * 1-4% slower (the in-cache peaks: ~220 and ~310). Carry-save (Harley-Seal) tiles, which
 * popcount once per 2 or 4 chunks, measured no faster on simd (0.87-1.23x from run to run,
 * Sapphire Rapids, Node 20 and 24) and 13-27% slower on relaxed:
 * bench/binary-kernels.bench.mjs, docs/binary.md. */
export const BMR: i32 = ASC_FEATURE_RELAXED_SIMD ? 2 : ASC_FEATURE_SIMD ? 4 : 2;

/** Bytes per 128-bit chunk of K in the packed layout (nibble-split on relaxed). */
export const CHUNK: i32 = ASC_FEATURE_RELAXED_SIMD ? 32 : 16;

/** Chunks a byte accumulator may take before widening: 31 x 8 = 248 <= 255. */
export const FLUSH: i32 = 31;
