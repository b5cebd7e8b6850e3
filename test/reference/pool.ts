// Scalar references of the pooling ops on NCHW data, written from onnxruntime's rules
// (pool_attributes.h output sizes, qlinear_pool.cc float averaging, MLAS's x86 global
// average): plain loops over every window, no tables.
import { requantFp32, roundHalfEven } from './requant.js';

export interface PoolRefAttrs {
  kernel: [number, number];
  strides?: [number, number];
  pads?: [number, number, number, number];
  dilations?: [number, number];
  ceil?: boolean;
}

/** Output length (onnxruntime's ComputeOutputSize; a ceil-mode window starting in the end padding is dropped). */
export function poolOutputLength(
  len: number,
  k: number,
  s: number,
  d: number,
  head: number,
  tail: number,
  ceil: boolean,
): number {
  const span = len + head + tail - (d * (k - 1) + 1);
  if (!ceil) return Math.floor(span / s) + 1;
  const out = Math.ceil(span / s) + 1;
  return (out - 1) * s >= len + head ? out - 1 : out;
}

function geometry(H: number, W: number, a: PoolRefAttrs) {
  const [kH, kW] = a.kernel;
  const [sH, sW] = a.strides ?? [1, 1];
  const [pT, pL, pB, pR] = a.pads ?? [0, 0, 0, 0];
  const [dH, dW] = a.dilations ?? [1, 1];
  const OH = poolOutputLength(H, kH, sH, dH, pT, pB, a.ceil ?? false);
  const OW = poolOutputLength(W, kW, sW, dW, pL, pR, a.ceil ?? false);
  return { kH, kW, sH, sW, pT, pL, pB, pR, dH, dW, OH, OW };
}

/** MaxPool: the largest input tap of each window; padding never wins (an empty window gives `lowest`). */
export function maxPoolRef(
  x: ArrayLike<number>,
  N: number,
  C: number,
  H: number,
  W: number,
  a: PoolRefAttrs,
  lowest: number,
) {
  const g = geometry(H, W, a);
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          let m = lowest;
          for (let kh = 0; kh < g.kH; kh++)
            for (let kw = 0; kw < g.kW; kw++) {
              const h = oh * g.sH - g.pT + kh * g.dH;
              const w = ow * g.sW - g.pL + kw * g.dW;
              if (h >= 0 && h < H && w >= 0 && w < W) m = Math.max(m, x[((n * C + c) * H + h) * W + w]!);
            }
          out.push(m);
        }
  return { data: out, shape: [N, C, g.OH, g.OW] };
}

const f = Math.fround;

/**
 * QLinearAveragePool as onnxruntime computes it: taps dequantized in float32, summed in
 * float32 in row-major order, divided by the clipped count or (countIncludePad) the kernel
 * size, requantized with nearbyint(y / yScale + yZp); a kernel covering the unpadded image
 * takes the global pool's integer rule.
 */
export function qlinearAveragePoolRef(
  x: ArrayLike<number>,
  N: number,
  C: number,
  H: number,
  W: number,
  a: PoolRefAttrs & { countIncludePad?: boolean },
  xs: number,
  xz: number,
  ys: number,
  yz: number,
  qmin: number,
  qmax: number,
) {
  const g = geometry(H, W, a);
  if (g.kH === H && g.kW === W && g.pT + g.pL + g.pB + g.pR === 0) {
    const y = qlinearGlobalAveragePoolRef(x, N, C, H, W, xs, xz, ys, yz, qmin, qmax);
    return { data: y, shape: [N, C, g.OH, g.OW] };
  }
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          const h0 = oh * g.sH - g.pT;
          const w0 = ow * g.sW - g.pL;
          const h1 = Math.min(h0 + g.kH, H);
          const w1 = Math.min(w0 + g.kW, W);
          let s = 0;
          for (let h = Math.max(h0, 0); h < h1; h++)
            for (let w = Math.max(w0, 0); w < w1; w++) s = f(s + f(xs * (x[((n * C + c) * H + h) * W + w]! - xz)));
          const count = a.countIncludePad ? g.kH * g.kW : (h1 - Math.max(h0, 0)) * (w1 - Math.max(w0, 0));
          const y = f(f(f(s / count) / ys) + yz);
          out.push(Math.min(Math.max(roundHalfEven(y), qmin), qmax));
        }
  return { data: out, shape: [N, C, g.OH, g.OW] };
}

/** QLinearGlobalAveragePool (MLAS, x86): fp32 requantization of the exact sum with m = xs / (ys * HW). */
export function qlinearGlobalAveragePoolRef(
  x: ArrayLike<number>,
  N: number,
  C: number,
  H: number,
  W: number,
  xs: number,
  xz: number,
  ys: number,
  yz: number,
  qmin: number,
  qmax: number,
): number[] {
  const HW = H * W;
  const m = f(xs / f(ys * HW));
  const out: number[] = [];
  for (let nc = 0; nc < N * C; nc++) {
    let acc = 0;
    for (let i = 0; i < HW; i++) acc += x[nc * HW + i]! - xz;
    out.push(requantFp32(acc, m, yz, qmin, qmax));
  }
  return out;
}

/** Float AveragePool (ONNX): count = clipped taps, or taps inside the padded extent with countIncludePad. */
export function averagePoolRef(
  x: ArrayLike<number>,
  N: number,
  C: number,
  H: number,
  W: number,
  a: PoolRefAttrs & { countIncludePad?: boolean },
) {
  const g = geometry(H, W, a);
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          const h0 = oh * g.sH - g.pT;
          const w0 = ow * g.sW - g.pL;
          let s = 0;
          let taps = 0;
          for (let h = Math.max(h0, 0); h < Math.min(h0 + g.kH, H); h++)
            for (let w = Math.max(w0, 0); w < Math.min(w0 + g.kW, W); w++) {
              s += x[((n * C + c) * H + h) * W + w]!;
              taps++;
            }
          const count = a.countIncludePad
            ? (Math.min(h0 + g.kH, H + g.pB) - h0) * (Math.min(w0 + g.kW, W + g.pR) - w0)
            : taps;
          out.push(s / count);
        }
  return { data: out, shape: [N, C, g.OH, g.OW] };
}
