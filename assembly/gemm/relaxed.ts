// The relaxed-SIMD GEMV path: int8 weights (half the bytes of the int16 panels, which is
// what a one-row product is bound by) multiplied with i32x4.relaxed_dot_i8x16_i7x16_add_s.
// That instruction is exact only while its second operand stays in [0, 127], so each
// activation byte u (x + 128 for int8, x for uint8) is split into a 7-bit low part and
// a 0/1 high part: w * u = w * lo + 128 * (w * hi). Pair sums stay within int16
// (2 * 128 * 127 = 32512), so even engines that saturate them are exact. The offsets
// fold into one per-column term: sum w * (x - za) = sum w * u - c * colsum(w), with
// c = 128 + za for int8 input and c = za for uint8.
import { NR } from './ukernels.generated';
import { epilogue, outputBytes } from './epilogue';

/**
 * Packs int8 weights (n, k) at w + n*sn + k*sk (zero point 0) into NR-wide panels of
 * k-quads: per 4 k, columns n0..n3 then n4..n7, 4 bytes each; K padded to 4 with 0.
 * Writes colsum[n] = sum_k w(n, k) for n < N (padded to whole panels with 0).
 */
export function pack_w_s8c4(w: usize, N: i32, K: i32, sn: i32, sk: i32, dst: usize, colsum: usize): void {
  const kq = (K + 3) >> 2;
  const panels = (N + NR - 1) / NR;
  let d = dst;
  for (let p = 0; p < panels; p++) {
    for (let j = 0; j < NR; j++) store<i32>(colsum + ((<usize>(p * NR + j)) << 2), 0);
    for (let q = 0; q < kq; q++) {
      for (let j = 0; j < NR; j++) {
        const n = p * NR + j;
        for (let i = 0; i < 4; i++) {
          const k = q * 4 + i;
          let v: i32 = 0;
          if (n < N && k < K) v = <i32>load<i8>(w + <usize>(n * sn + k * sk));
          store<i8>(d, <i8>v);
          d += 1;
          const cs = colsum + ((<usize>n) << 2);
          store<i32>(cs, load<i32>(cs) + v);
        }
      }
    }
  }
}

/**
 * Splits M rows of activations (row stride lda) into 7-bit low and 1-bit high byte rows
 * of kq * 4 bytes each (zero padded): u = x + 128 (signed) or x (unsigned).
 */
export function split_a_u7(x: usize, M: i32, K: i32, lda: i32, signed: bool, lo: usize, hi: usize): void {
  const rowBytes = ((K + 3) >> 2) << 2;
  for (let m = 0; m < M; m++) {
    const src = x + <usize>m * lda;
    const l = lo + <usize>m * rowBytes;
    const h = hi + <usize>m * rowBytes;
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      const flip = i8x16.splat(signed ? -128 : 0);
      const low7 = i8x16.splat(0x7f);
      for (; k + 16 <= K; k += 16) {
        const u = v128.xor(v128.load(src + k), flip);
        v128.store(l + k, v128.and(u, low7));
        v128.store(h + k, i8x16.shr_u(u, 7));
      }
    }
    for (; k < rowBytes; k++) {
      let u: i32 = 0;
      if (k < K) u = (<i32>load<u8>(src + k)) ^ (signed ? 0x80 : 0);
      store<u8>(l + k, <u8>(u & 0x7f));
      store<u8>(h + k, <u8>(u >> 7));
    }
  }
}

@inline function dotRow(lo: usize, hi: usize, w: usize, kq: i32, c: i32, colsum: usize, t: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    let l0 = i32x4.splat(0);
    let l1 = i32x4.splat(0);
    let h0 = i32x4.splat(0);
    let h1 = i32x4.splat(0);
    for (let q = 0; q < kq; q++) {
      const w0 = v128.load(w);
      const w1 = v128.load(w, 16);
      const a = v128.load32_splat(lo + ((<usize>q) << 2));
      const b = v128.load32_splat(hi + ((<usize>q) << 2));
      l0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, a, l0);
      l1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, a, l1);
      h0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, b, h0);
      h1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, b, h1);
      w += 32;
    }
    const vc = i32x4.splat(c);
    v128.store(t, i32x4.sub(i32x4.add(l0, i32x4.shl(h0, 7)), i32x4.mul(vc, v128.load(colsum))));
    v128.store(t, i32x4.sub(i32x4.add(l1, i32x4.shl(h1, 7)), i32x4.mul(vc, v128.load(colsum, 16))), 16);
  } else {
    // the same arithmetic, one column at a time, for builds without relaxed SIMD
    for (let j = 0; j < NR; j++) {
      let acc: i32 = 0;
      for (let q = 0; q < kq; q++) {
        const wq = w + <usize>(q * 32 + (j >> 2) * 16 + (j & 3) * 4);
        for (let i = 0; i < 4; i++) {
          const k = <usize>(q * 4 + i);
          const u = <i32>load<u8>(lo + k) + ((<i32>load<u8>(hi + k)) << 7);
          acc += <i32>load<i8>(wq + i) * u;
        }
      }
      store<i32>(t + ((<usize>j) << 2), acc - c * load<i32>(colsum + ((<usize>j) << 2)));
    }
  }
}

/**
 * One-row-at-a-time GEMM over int8 k-quad panels [pBegin, pEnd): rows of `lo` / `hi`
 * from split_a_u7, the column sums from pack_w_s8c4, then the named epilogue.
 */
export function gemv_s8c4_panels(
  lo: usize,
  hi: usize,
  w: usize,
  M: i32,
  N: i32,
  kq: i32,
  c: i32,
  colsum: usize,
  out: usize,
  ldo: i32,
  kind: i32,
  params: usize,
  pBegin: i32,
  pEnd: i32,
  tile: usize,
): void {
  const panelBytes = <usize>kq * NR * 4;
  const rowBytes = (<usize>kq) << 2;
  const es = outputBytes(kind);
  for (let m = 0; m < M; m++) {
    const l = lo + <usize>m * rowBytes;
    const h = hi + <usize>m * rowBytes;
    for (let p = pBegin; p < pEnd; p++) {
      const n0 = p * NR;
      const nc = min(NR, N - n0);
      dotRow(l, h, w + <usize>p * panelBytes, kq, c, colsum + ((<usize>n0) << 2), tile);
      epilogue(kind, tile, 1, nc, n0, out + (<usize>m * ldo + n0) * es, ldo, params);
    }
  }
}

/**
 * Repacks int16 weight panels (pack_w_s16 output, zero point already subtracted and
 * known to fit int8) into the k-quad int8 layout of pack_w_s8c4, with column sums: a
 * layer builds its one-row weights from the panels it already holds, on first use.
 */
export function pack_w_s8c4_from_s16(src: usize, N: i32, K: i32, dst: usize, colsum: usize): void {
  const kPairs = (K + 1) >> 1;
  const kq = (K + 3) >> 2;
  const panels = (N + NR - 1) / NR;
  const srcPanel = <usize>kPairs * NR * 4;
  for (let p = 0; p < panels; p++) {
    const s = src + <usize>p * srcPanel;
    const d = dst + <usize>p * <usize>kq * NR * 4;
    for (let j = 0; j < NR; j++) {
      let sum: i32 = 0;
      for (let k = 0; k < kq * 4; k++) {
        let v: i32 = 0;
        if (k < K) v = <i32>load<i16>(s + <usize>((k >> 1) * 32 + j * 4 + (k & 1) * 2));
        store<i8>(d + <usize>((k >> 2) * 32 + (j >> 2) * 16 + (j & 3) * 4 + (k & 3)), <i8>v);
        sum += v;
      }
      store<i32>(colsum + ((<usize>(p * NR + j)) << 2), sum);
    }
  }
}

@inline function dotRowS16(a: usize, w: usize, kq: i32, t: usize): void {
  // a: the row as int16 (x - za), 4 per k-quad; w: int8 k-quads, widened here. One dot
  // leaves lane pairs (k0+k1, k2+k3) per column; the pairs are added at the end.
  let c0 = i32x4.splat(0);
  let c1 = i32x4.splat(0);
  let c2 = i32x4.splat(0);
  let c3 = i32x4.splat(0);
  for (let q = 0; q < kq; q++) {
    const x = v128.load64_splat(a + ((<usize>q) << 3));
    const w0 = v128.load(w);
    const w1 = v128.load(w, 16);
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, i16x8.extend_low_i8x16_s(w0)));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, i16x8.extend_high_i8x16_s(w0)));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(x, i16x8.extend_low_i8x16_s(w1)));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(x, i16x8.extend_high_i8x16_s(w1)));
    w += 32;
  }
  // c0 = [n0 lo, n0 hi, n1 lo, n1 hi], c1 = n2, n3, ...: add each column's two halves
  v128.store(t, i32x4.add(v128.shuffle<i32>(c0, c1, 0, 2, 4, 6), v128.shuffle<i32>(c0, c1, 1, 3, 5, 7)));
  v128.store(t, i32x4.add(v128.shuffle<i32>(c2, c3, 0, 2, 4, 6), v128.shuffle<i32>(c2, c3, 1, 3, 5, 7)), 16);
}

/**
 * One-row GEMM over int8 k-quad panels on the SIMD build: rows of int16 activations with
 * the zero point subtracted (pack_a_s16 with MR = 1; the row is read in whole k-quads,
 * and the k-quad padding of the weights is 0), int8 weights widened in the loop. Half
 * the weight bytes of the int16 panels, for the products bound by them.
 */
export function gemv_s8c4_dot16_panels(
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  kq: i32,
  lda: i32,
  out: usize,
  ldo: i32,
  kind: i32,
  params: usize,
  pBegin: i32,
  pEnd: i32,
  tile: usize,
): void {
  const panelBytes = <usize>kq * NR * 4;
  const es = outputBytes(kind);
  for (let m = 0; m < M; m++) {
    const row = a + <usize>m * lda;
    for (let p = pBegin; p < pEnd; p++) {
      const n0 = p * NR;
      const nc = min(NR, N - n0);
      if (ASC_FEATURE_SIMD) {
        dotRowS16(row, w + <usize>p * panelBytes, kq, tile);
      } else {
        for (let j = 0; j < NR; j++) {
          let acc: i32 = 0;
          const wp = w + <usize>p * panelBytes;
          for (let q = 0; q < kq; q++) {
            const wq = wp + <usize>(q * 32 + (j >> 2) * 16 + (j & 3) * 4);
            for (let i = 0; i < 4; i++)
              acc += <i32>load<i8>(wq + i) * <i32>load<i16>(row + ((<usize>(q * 4 + i)) << 1));
          }
          store<i32>(tile + ((<usize>j) << 2), acc);
        }
      }
      epilogue(kind, tile, 1, nc, n0, out + (<usize>m * ldo + n0) * es, ldo, params);
    }
  }
}
