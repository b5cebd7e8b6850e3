// Scalar references for the binary ops: plain float arithmetic on +-1 tensors.

/** +-1 of each value: -1 exactly where x < 0 (so -0 and NaN give +1). */
export function signs(x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! < 0 ? -1 : 1;
  return out;
}

/** Packs +-1 (or any values, by sign) along rows of C into words, padding bits 0. */
export function packRef(x: ArrayLike<number>, C: number): Uint32Array {
  const rows = C === 0 ? 0 : x.length / C;
  const words = Math.ceil(C / 32);
  const out = new Uint32Array(rows * words);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      if (x[r * C + c]! < 0) out[r * words + (c >> 5)]! |= 1 << (c & 31);
    }
  }
  return out;
}

/** Unpacks rows of C bits into +-1. */
export function unpackRef(bits: Uint32Array, rows: number, C: number): Float32Array {
  const words = Math.ceil(C / 32);
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) out[r * C + c] = (bits[r * words + (c >> 5)]! >>> (c & 31)) & 1 ? -1 : 1;
  }
  return out;
}

/** sum_k a[m, k] * b[n, k] over +-1 floats (exact: integers far below 2^53). */
export function binaryMatMulRef(a: Float32Array, b: Float32Array, M: number, N: number, K: number): Int32Array {
  const out = new Int32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * b[n * K + k]!;
      out[m * N + n] = s;
    }
  }
  return out;
}

export interface ConvRefAttrs {
  strides?: [number, number];
  pads?: [number, number, number, number];
  dilations?: [number, number];
  /** What outside taps read: 0 (zero padding) or 1 (+1). */
  padValue?: 0 | 1;
}

/** Float NHWC convolution of x [N, H, W, C] with w [O, kH, kW, C]; output [N, OH, OW, O]. */
export function conv2dRef(
  x: Float32Array,
  xShape: [number, number, number, number],
  w: Float32Array,
  wShape: [number, number, number, number],
  attrs: ConvRefAttrs = {},
): { data: Int32Array; shape: [number, number, number, number] } {
  const [N, H, W, C] = xShape;
  const [O, kH, kW] = wShape;
  const [sH, sW] = attrs.strides ?? [1, 1];
  const [pT, pL, pB, pR] = attrs.pads ?? [0, 0, 0, 0];
  const [dH, dW] = attrs.dilations ?? [1, 1];
  const pv = attrs.padValue ?? 0;
  const OH = Math.floor((H + pT + pB - (kH - 1) * dH - 1) / sH) + 1;
  const OW = Math.floor((W + pL + pR - (kW - 1) * dW - 1) / sW) + 1;
  const out = new Int32Array(N * OH * OW * O);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let kh = 0; kh < kH; kh++) {
            const ih = oh * sH - pT + kh * dH;
            for (let kw = 0; kw < kW; kw++) {
              const iw = ow * sW - pL + kw * dW;
              const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
              for (let c = 0; c < C; c++) {
                const xv = inside ? x[((n * H + ih) * W + iw) * C + c]! : pv;
                s += xv * w[((o * kH + kh) * kW + kw) * C + c]!;
              }
            }
          }
          out[((n * OH + oh) * OW + ow) * O + o] = s;
        }
      }
    }
  }
  return { data: out, shape: [N, OH, OW, O] };
}

/** The binary layers' float output: f32(f32(f32(acc) * scale) + bias), as the kernel computes it. */
export function affineRef(acc: number, scale: number, bias: number): number {
  return Math.fround(Math.fround(Math.fround(acc) * scale) + bias);
}

/** The int8 output: clamp(roundHalfEven(f32(f32(acc) * m) + b)) + zp with m, b given in float32. */
export function requantRef(acc: number, m: number, b: number, zp: number): number {
  const f = Math.fround(Math.fround(Math.fround(acc) * m) + b);
  const lo = -128 - zp;
  const hi = 127 - zp;
  const c = Math.min(Math.max(f, lo), hi);
  const r = Math.round(c);
  // round half to even
  const q = Math.abs(c - Math.trunc(c)) === 0.5 ? 2 * Math.round(c / 2) : r;
  return q + zp;
}
