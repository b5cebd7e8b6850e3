// Layout changes at a model's edges: each of `batch` matrices [R, K] transposed into [K, R]
// (NCHW -> NHWC with R, K = C, H * W; NHWC -> NCHW with R, K = H * W, C). Pure moves of
// 4-byte or 1-byte elements, so every build gives the same bytes.

/** Side of the square tiles both sides are walked in, so that reads and writes stay in cache. */
const TILE: i32 = 32;

/**
 * Transposes `batch` float32 (any 4-byte) matrices [R, K] at x into [K, R] at out. Up to
 * four rows (an image's colour planes) interleave in one pass over K; more go by tiles.
 */
export function transpose_x32(x: usize, batch: i32, R: i32, K: i32, out: usize): void {
  const plane = (<usize>R * <usize>K) << 2;
  for (let b = 0; b < batch; b++) {
    const src = x + <usize>b * plane;
    const dst = out + <usize>b * plane;
    const rowBytes = (<usize>K) << 2;
    if (R === 3) {
      for (let k = 0; k < K; k++) {
        const s = src + ((<usize>k) << 2);
        const d = dst + <usize>k * 12;
        store<u32>(d, load<u32>(s));
        store<u32>(d, load<u32>(s + rowBytes), 4);
        store<u32>(d, load<u32>(s + 2 * rowBytes), 8);
      }
      continue;
    }
    for (let r0 = 0; r0 < R; r0 += TILE) {
      const r1 = min(R, r0 + TILE);
      for (let k0 = 0; k0 < K; k0 += TILE) {
        const k1 = min(K, k0 + TILE);
        for (let r = r0; r < r1; r++) {
          const s = src + <usize>r * rowBytes;
          for (let k = k0; k < k1; k++) {
            store<u32>(dst + ((<usize>k * <usize>R + <usize>r) << 2), load<u32>(s + ((<usize>k) << 2)));
          }
        }
      }
    }
  }
}

/** transpose_x32 for 1-byte elements (int8 / uint8 codes). */
export function transpose_x8(x: usize, batch: i32, R: i32, K: i32, out: usize): void {
  const plane = <usize>R * <usize>K;
  for (let b = 0; b < batch; b++) {
    const src = x + <usize>b * plane;
    const dst = out + <usize>b * plane;
    if (R === 3) {
      const k2 = <usize>K * 2;
      for (let k = 0; k < K; k++) {
        const s = src + <usize>k;
        const d = dst + <usize>k * 3;
        store<u8>(d, load<u8>(s));
        store<u8>(d, load<u8>(s + <usize>K), 1);
        store<u8>(d, load<u8>(s + k2), 2);
      }
      continue;
    }
    for (let r0 = 0; r0 < R; r0 += TILE) {
      const r1 = min(R, r0 + TILE);
      for (let k0 = 0; k0 < K; k0 += TILE) {
        const k1 = min(K, k0 + TILE);
        for (let r = r0; r < r1; r++) {
          const s = src + <usize>r * <usize>K;
          for (let k = k0; k < k1; k++) store<u8>(dst + <usize>k * <usize>R + <usize>r, load<u8>(s + <usize>k));
        }
      }
    }
  }
}
