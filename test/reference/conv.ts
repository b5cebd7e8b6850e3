// Scalar reference convolutions: the seven nested loops of the definition, nothing clever.
// NHWC input [N, H, W, C], weights [M, kH, kW, C/group], output [N, OH, OW, M]; taps that
// fall into the padding are skipped (they contribute 0 after the zero point is subtracted).

export interface RefConvShape {
  N: number;
  H: number;
  W: number;
  C: number;
  M: number;
  kH: number;
  kW: number;
  strides?: [number, number];
  /** [top, left, bottom, right] */
  pads?: [number, number, number, number];
  dilations?: [number, number];
  group?: number;
}

export function refOutputSize(s: RefConvShape): { OH: number; OW: number } {
  const [sH, sW] = s.strides ?? [1, 1];
  const [pt, pl, pb, pr] = s.pads ?? [0, 0, 0, 0];
  const [dH, dW] = s.dilations ?? [1, 1];
  return {
    OH: Math.floor((s.H + pt + pb - (dH * (s.kH - 1) + 1)) / sH) + 1,
    OW: Math.floor((s.W + pl + pr - (dW * (s.kW - 1) + 1)) / sW) + 1,
  };
}

/** Visits every (output index, input index, weight index) product of the convolution. */
function forEachTap(s: RefConvShape, visit: (o: number, xi: number, wi: number, m: number) => void): void {
  const [sH, sW] = s.strides ?? [1, 1];
  const [pt, pl] = s.pads ?? [0, 0, 0, 0];
  const [dH, dW] = s.dilations ?? [1, 1];
  const group = s.group ?? 1;
  const Cg = s.C / group;
  const Mg = s.M / group;
  const { OH, OW } = refOutputSize(s);
  for (let n = 0; n < s.N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let m = 0; m < s.M; m++) {
          const g = Math.floor(m / Mg);
          const o = ((n * OH + oh) * OW + ow) * s.M + m;
          for (let kh = 0; kh < s.kH; kh++) {
            const ih = oh * sH - pt + kh * dH;
            if (ih < 0 || ih >= s.H) continue;
            for (let kw = 0; kw < s.kW; kw++) {
              const iw = ow * sW - pl + kw * dW;
              if (iw < 0 || iw >= s.W) continue;
              for (let c = 0; c < Cg; c++) {
                visit(o, ((n * s.H + ih) * s.W + iw) * s.C + g * Cg + c, ((m * s.kH + kh) * s.kW + kw) * Cg + c, m);
              }
            }
          }
        }
}

/** int32 conv of (x - zx) and (w - zw[m]), zw per tensor (1 value) or per output channel. */
export function refConvInteger(
  s: RefConvShape,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  zx: number,
  zw: ArrayLike<number>,
): Int32Array {
  const { OH, OW } = refOutputSize(s);
  const out = new Int32Array(s.N * OH * OW * s.M);
  forEachTap(s, (o, xi, wi, m) => {
    out[o]! += (x[xi]! - zx) * (w[wi]! - (zw.length > 1 ? zw[m]! : zw[0]!));
  });
  return out;
}

/** float32 conv accumulated in double, then + bias and clamped. */
export function refConvF32(
  s: RefConvShape,
  x: Float32Array,
  w: Float32Array,
  bias?: Float32Array,
  lo = -Infinity,
  hi = Infinity,
): Float32Array {
  const { OH, OW } = refOutputSize(s);
  const acc = new Float64Array(s.N * OH * OW * s.M);
  forEachTap(s, (o, xi, wi) => {
    acc[o]! += x[xi]! * w[wi]!;
  });
  const out = new Float32Array(acc.length);
  for (let i = 0; i < acc.length; i++) {
    const b = bias ? bias[i % s.M]! : 0;
    out[i] = Math.min(hi, Math.max(lo, acc[i]! + b));
  }
  return out;
}

/** NCHW -> NHWC of a [N, C, H, W] array. */
export function toNHWC<T extends { length: number; [i: number]: number }>(
  a: T,
  N: number,
  C: number,
  H: number,
  W: number,
  make: (n: number) => T,
): T {
  const out = make(a.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) out[(n * H * W + i) * C + c] = a[(n * C + c) * H * W + i]!;
  return out;
}

/** NHWC -> NCHW of a [N, H, W, C] array. */
export function toNCHW<T extends { length: number; [i: number]: number }>(
  a: T,
  N: number,
  H: number,
  W: number,
  C: number,
  make: (n: number) => T,
): T {
  const out = make(a.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) out[(n * C + c) * H * W + i] = a[(n * H * W + i) * C + c]!;
  return out;
}
