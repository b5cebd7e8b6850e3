// Candidate XNOR-popcount register tiles for bench/binary-kernels.bench.mjs, with the
// signature and the record / panel layout of the shipped tiles in
// assembly/binary/ukernels.generated.ts, so the bench can run both through one driver.
//
// carry-save (Harley-Seal) tiles: the xor vectors of one output are summed bit-sliced
// with full adders (CSA: 5 bitwise ops take three vectors to two) and only the carries
// that leave the last plane are popcounted:
//   csa2: per chunk pair, ones += v0 + v1; carry (weight 2) popcounted. 7 vector ops a
//         chunk instead of 8 (xor, the six-op nibble popcount V8 emits without AVX-512
//         BITALG, add), and one popcount (with its two constant loads) per pair.
//   csa4: per 4 chunks, ones and twos planes; carry (weight 4) popcounted. ~6.5 ops a chunk.
// The planes (ones, twos) are popcounted once per output at the end. Both need Cv to be a
// multiple of the group (2 or 4 chunks); the bench only runs them where it is.

/** The carry-save tile `mr` x 2 over groups of `group` (2 or 4) chunks. */
export function csaTile(mr, group) {
  const name = `bgemm_${mr}x2__simd_csa${group}`;
  const pairs = [];
  for (let i = 0; i < mr; i++) for (let j = 0; j < 2; j++) pairs.push(`${i}${j}`);
  const csa = (hi, lo, x, y) => [
    `const u${hi} = v128.xor(${lo}, ${x});`,
    `const ${hi} = v128.bitselect(${y}, ${lo}, u${hi});`,
    `${lo} = v128.xor(u${hi}, ${y});`,
  ];
  const L = [];
  L.push(`export function ${name}(rec: usize, rs: usize, T: i32, Cv: i32, w: usize, tile: usize): void {`);
  const planes = group === 2 ? ['o'] : ['o', 't'];
  for (const p of pairs)
    L.push(`  let s${p} = i32x4.splat(0), ${planes.map((q) => `${q}${p} = i32x4.splat(0)`).join(', ')};`);
  L.push('  let pw = w;');
  L.push('  let r = rec + 4;');
  L.push('  const taps = 31 / Cv;');
  L.push('  for (let t0 = 0; t0 < T; t0 += taps) {');
  L.push(`    let ${pairs.map((p) => `c${p} = i32x4.splat(0)`).join(', ')};`);
  L.push('    const tEnd = min(T, t0 + taps);');
  L.push('    for (let t = t0; t < tEnd; t++) {');
  for (let i = 0; i < mr; i++) L.push(`      let p${i} = <usize>load<u32>(r${i ? ` + ${i} * rs` : ''});`);
  L.push('      r += 4;');
  L.push(`      for (let k = 0; k < Cv; k += ${group}) {`);
  for (let i = 0; i < mr; i++) {
    for (let q = 0; q < group; q++) L.push(`        const a${i}_${q} = v128.load(p${i}, ${q * 16});`);
    for (let j = 0; j < 2; j++) {
      const p = `${i}${j}`;
      const v = (q) => `v128.xor(a${i}_${q}, v128.load(pw, ${(q * 2 + j) * 16}))`;
      if (group === 2) {
        L.push(...csa(`c2_${p}`, `o${p}`, v(0), v(1)).map((l) => `        ${l}`));
        L.push(`        c${p} = i8x16.add(c${p}, i8x16.popcnt(c2_${p}));`);
      } else {
        L.push(`        const x0_${p} = ${v(0)};`, `        const x1_${p} = ${v(1)};`);
        L.push(...csa(`c2a_${p}`, `o${p}`, `x0_${p}`, `x1_${p}`).map((l) => `        ${l}`));
        L.push(`        const x2_${p} = ${v(2)};`, `        const x3_${p} = ${v(3)};`);
        L.push(...csa(`c2b_${p}`, `o${p}`, `x2_${p}`, `x3_${p}`).map((l) => `        ${l}`));
        L.push(...csa(`c4_${p}`, `t${p}`, `c2a_${p}`, `c2b_${p}`).map((l) => `        ${l}`));
        L.push(`        c${p} = i8x16.add(c${p}, i8x16.popcnt(c4_${p}));`);
      }
    }
    L.push(`        p${i} += ${group * 16};`);
  }
  L.push(`        pw += ${group * 32};`);
  L.push('      }');
  L.push('    }');
  for (const p of pairs) L.push(`    s${p} = i32x4.add(s${p}, widen(c${p}));`);
  L.push('  }');
  const sums = pairs.map((p) => {
    let e = `i32x4.add(i32x4.shl(s${p}, ${group === 2 ? 1 : 2}), widen(i8x16.popcnt(o${p})))`;
    if (group === 4) e = `i32x4.add(${e}, i32x4.shl(widen(i8x16.popcnt(t${p})), 1))`;
    return e;
  });
  for (let g = 0; g < sums.length; g += 4) {
    const vs = [0, 1, 2, 3].map((q) => sums[g + q] ?? 'i32x4.splat(0)');
    L.push(`  v128.store(tile, hsum4(${vs.join(', ')}), ${g * 4});`);
  }
  L.push('}');
  return { name, mr, group, source: L.join('\n') };
}

/** Helpers the candidate tiles use (the same as the shipped tiles'). */
export const helpers = `
@inline function widen(c: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(c));
}
@inline function hsum4(v0: v128, v1: v128, v2: v128, v3: v128): v128 {
  const a = i32x4.add(v128.shuffle<i32>(v0, v1, 0, 4, 1, 5), v128.shuffle<i32>(v0, v1, 2, 6, 3, 7));
  const b = i32x4.add(v128.shuffle<i32>(v2, v3, 0, 4, 1, 5), v128.shuffle<i32>(v2, v3, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(a, b, 0, 1, 4, 5), v128.shuffle<i32>(a, b, 2, 3, 6, 7));
}
`;
