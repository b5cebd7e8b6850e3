// Generates assembly/gemm/ukernels.generated.ts: the int8 (int16-widened) and float32
// GEMM microkernels for every MR from 1 to MR_MAX at NR = 8, from one template each.
// Run: node scripts/gen-gemm.mjs   (the build runs it before compiling)
import { writeGenerated } from './generated.mjs';

// 4 x 8: eight i32x4 accumulators, two weight vectors and one activation splat fit the
// registers V8 allocates on both Node 20 and 24 (5 x 8 spills on Node 20: 61 vs 114 GOPS).
export const MR_MAX = Number(process.env.QWASM_MR ?? 4);
const NR = 8;

/** The k-pair loop of the int16 tile: mr rows x 8 columns into accumulators c{m}0, c{m}1. */
function s16Loop(mr) {
  const lines = [];
  lines.push(`  for (let k = 0; k < kPairs; k++) {`);
  lines.push(`    const w0 = v128.load(w);`);
  lines.push(`    const w1 = v128.load(w, 16);`);
  for (let m = 0; m < mr; m++) {
    lines.push(`    const a${m} = v128.load32_splat(a, ${m * 4});`);
    lines.push(`    c${m}0 = i32x4.add(c${m}0, i32x4.dot_i16x8_s(a${m}, w0));`);
    lines.push(`    c${m}1 = i32x4.add(c${m}1, i32x4.dot_i16x8_s(a${m}, w1));`);
  }
  lines.push(`    a += ${mr * 4};`);
  lines.push(`    w += 32;`);
  lines.push(`  }`);
  return lines;
}

function s16Simd(mr) {
  const acc = [];
  for (let m = 0; m < mr; m++) acc.push(`c${m}0`, `c${m}1`);
  const lines = [];
  lines.push(
    `@inline function gemm_s16_${mr}x${NR}c2__simd_dot16(a: usize, w: usize, kPairs: i32, tile: usize): void {`,
  );
  lines.push(`  let ${acc.map((c) => `${c} = i32x4.splat(0)`).join(', ')};`);
  lines.push(...s16Loop(mr));
  for (let m = 0; m < mr; m++) {
    lines.push(`  v128.store(tile, c${m}0, ${m * 32});`);
    lines.push(`  v128.store(tile, c${m}1, ${m * 32 + 16});`);
  }
  lines.push(`}`);
  return lines.join('\n');
}

/**
 * The 4 x 8 int16 tile with the fp32 requantization fused (fused.ts): the same loop, the
 * accumulators starting at the bias, the rows requantized from registers (requantTile4x8).
 */
function s16Fused() {
  const lines = [];
  lines.push(`/** The 4 x 8 tile with the fp32 requantization fused (see fused.ts). */`);
  lines.push(
    `@inline export function tile4x8Fp32(a: usize, w: usize, kPairs: i32, out: usize, ldo: i32, bias: usize, mult: usize, params: usize): void {`,
  );
  lines.push(`  let c00 = i32x4.splat(0), c01 = i32x4.splat(0);`);
  lines.push(`  if (bias != 0) {`);
  lines.push(`    c00 = v128.load(bias);`);
  lines.push(`    c01 = v128.load(bias, 16);`);
  lines.push(`  }`);
  lines.push(`  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;`);
  lines.push(...s16Loop(4));
  lines.push(`  requantTile4x8(c00, c01, c10, c11, c20, c21, c30, c31, out, ldo, mult, params);`);
  lines.push(`}`);
  return lines.join('\n');
}

function f32Simd(mr) {
  const acc = [];
  for (let m = 0; m < mr; m++) acc.push(`c${m}0`, `c${m}1`);
  const lines = [];
  lines.push(
    `@inline function gemm_f32_${mr}x${NR}__simd(a: usize, lda: usize, w: usize, k: i32, tile: usize): void {`,
  );
  lines.push(`  let ${acc.map((c) => `${c} = f32x4.splat(0)`).join(', ')};`);
  for (let m = 1; m < mr; m++) lines.push(`  const r${m} = a + ${m} * lda;`);
  lines.push(`  for (let i = 0; i < k; i++) {`);
  lines.push(`    const w0 = v128.load(w);`);
  lines.push(`    const w1 = v128.load(w, 16);`);
  lines.push(`    const o: usize = (<usize>i) << 2;`);
  for (let m = 0; m < mr; m++) {
    lines.push(`    const a${m} = v128.load32_splat(${m === 0 ? 'a' : `r${m}`} + o);`);
    // One row has only two accumulator chains, so it is bound by their latency: a fused
    // multiply-add (4 cycles on Zen 4) there ran at 17 GFLOP/s against 31 for mul + add,
    // whose multiplies overlap. With more rows the chains interleave and fmadd is free.
    const mac =
      mr === 1 ? (x, w, c) => `f32x4.add(f32x4.mul(${x}, ${w}), ${c})` : (x, w, c) => `fmadd(${x}, ${w}, ${c})`;
    lines.push(`    c${m}0 = ${mac(`a${m}`, 'w0', `c${m}0`)};`);
    lines.push(`    c${m}1 = ${mac(`a${m}`, 'w1', `c${m}1`)};`);
  }
  lines.push(`    w += 32;`);
  lines.push(`  }`);
  for (let m = 0; m < mr; m++) {
    lines.push(`  v128.store(tile, c${m}0, ${m * 32});`);
    lines.push(`  v128.store(tile, c${m}1, ${m * 32 + 16});`);
  }
  lines.push(`}`);
  return lines.join('\n');
}

function dispatch(name, params, args) {
  const lines = [];
  lines.push(`/** Runs the ${name} microkernel for \`mr\` rows (1..${MR_MAX}). */`);
  lines.push(`@inline export function ${name}(mr: i32, ${params}): void {`);
  lines.push(`  switch (mr) {`);
  for (let mr = MR_MAX; mr >= 1; mr--) {
    lines.push(
      `    case ${mr}: ${name.replace('_mr', '')}_${mr}x${NR}${name.includes('s16') ? 'c2__simd_dot16' : '__simd'}(${args}); break;`,
    );
  }
  lines.push(`  }`);
  lines.push(`}`);
  return lines.join('\n');
}

// The scalar build's microkernels (any mr): the same packed layouts, one output at a time.
const SCALAR_KERNELS = `/** int16 pairs, scalar: tile[r][j] = sum over k-pairs of a(r, pair) . w(j, pair). */
export function gemm_s16_mrx8c2__scalar(mr: i32, a: usize, w: usize, kPairs: i32, t: usize): void {
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < NR; j++) {
      let acc: i32 = 0;
      let pa = a + (<usize>r << 2);
      let pw = w + (<usize>j << 2);
      for (let k = 0; k < kPairs; k++) {
        acc += <i32>load<i16>(pa) * <i32>load<i16>(pw) + <i32>load<i16>(pa, 2) * <i32>load<i16>(pw, 2);
        pa += <usize>mr << 2;
        pw += NR * 4;
      }
      store<i32>(t + (<usize>(r * NR + j) << 2), acc);
    }
  }
}

/** float32, scalar: rows read in place, lda bytes apart. */
export function gemm_f32_mrx8__scalar(mr: i32, a: usize, lda: usize, w: usize, K: i32, t: usize): void {
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < NR; j++) {
      let acc: f32 = 0;
      const row = a + <usize>r * lda;
      for (let k = 0; k < K; k++) {
        acc += load<f32>(row + (<usize>k << 2)) * load<f32>(w + (<usize>(k * NR + j) << 2));
      }
      store<f32>(t + (<usize>(r * NR + j) << 2), acc);
    }
  }
}`;

const out = [];
out.push('// GENERATED by scripts/gen-gemm.mjs — do not edit by hand.');
out.push('// int16 GEMM: a = MR rows of (k, k+1) int16 pairs, w = NR=8 columns x (k, k+1) int16 per');
out.push('// k-pair; i32x4.dot_i16x8_s multiplies a splatted pair against four columns at once.');
out.push('// float32 GEMM: the same MR x 8 register tile in f32x4, activations read in place.');
out.push(`import { fmadd } from './fma';`);
out.push(`import { requantTile4x8 } from './fused';`);
out.push('');
out.push(`export const MR: i32 = ${MR_MAX};`);
out.push(`export const NR: i32 = ${NR};`);
out.push('');
out.push(SCALAR_KERNELS, '');
for (let mr = 1; mr <= MR_MAX; mr++) out.push(s16Simd(mr), '');
out.push(s16Fused(), '');
for (let mr = 1; mr <= MR_MAX; mr++) out.push(f32Simd(mr), '');
out.push(dispatch('gemm_s16_mr', 'a: usize, w: usize, kPairs: i32, tile: usize', 'a, w, kPairs, tile'), '');
out.push(dispatch('gemm_f32_mr', 'a: usize, lda: usize, w: usize, k: i32, tile: usize', 'a, lda, w, k, tile'), '');
writeGenerated(new URL('../assembly/gemm/ukernels.generated.ts', import.meta.url), out.join('\n'));
