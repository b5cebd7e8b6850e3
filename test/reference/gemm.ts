// Scalar reference GEMMs: the triple loop, nothing clever.

/** int32 sum_k (a[m,k] - za) * (b(n,k) - zb[n]), with b(n, k) at b[n * sn + k * sk]. */
function gemmStrided(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  za: number,
  zb: ArrayLike<number>,
  sn: number,
  sk: number,
): Int32Array {
  const out = new Int32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const z = zb.length > 1 ? zb[n]! : zb[0]!;
      let s = 0;
      for (let k = 0; k < K; k++) s += (a[m * K + k]! - za) * (b[n * sn + k * sk]! - z);
      out[m * N + n] = s;
    }
  }
  return out;
}

/** int32 (a[m,k] - za) * (b[n,k] - zb[n]) with b given [N, K] (a layer's weights). */
export function gemmNK(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  za: number,
  zb: ArrayLike<number>,
): Int32Array {
  return gemmStrided(a, b, M, N, K, za, zb, K, 1);
}

/** int32 (a[m,k] - za) * (b[k,n] - zb[n]) with b given [K, N] (ONNX MatMulInteger). */
export function gemmKN(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  za: number,
  zb: ArrayLike<number>,
): Int32Array {
  return gemmStrided(a, b, M, N, K, za, zb, 1, N);
}

/** float32 x[M,K] * w[N,K]^T + bias, accumulated in float32 in k order, then clamped. */
export function gemmF32(
  x: Float32Array,
  w: Float32Array,
  M: number,
  N: number,
  K: number,
  bias?: Float32Array,
  lo = -Infinity,
  hi = Infinity,
): Float32Array {
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = Math.fround(s + Math.fround(x[m * K + k]! * w[n * K + k]!));
      if (bias) s = Math.fround(s + bias[n]!);
      out[m * N + n] = Math.min(hi, Math.max(lo, s));
    }
  }
  return out;
}
