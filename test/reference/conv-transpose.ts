// Scalar reference of the transposed convolution on NCHW data, w [C, M/group, kH, kW]:
// every input pixel scatters x * w into the output taps it reaches (ONNX ConvTranspose
// without output_shape), exact int32 sums for centred integers.
import { requantFp32 } from './requant.js';

export interface ConvTransposeRefAttrs {
  strides?: [number, number];
  pads?: [number, number, number, number];
  outputPadding?: [number, number];
  dilations?: [number, number];
  group?: number;
}

export function convTransposeShape(H: number, W: number, kH: number, kW: number, a: ConvTransposeRefAttrs) {
  const [sH, sW] = a.strides ?? [1, 1];
  const [pT, pL, pB, pR] = a.pads ?? [0, 0, 0, 0];
  const [oH, oW] = a.outputPadding ?? [0, 0];
  const [dH, dW] = a.dilations ?? [1, 1];
  return {
    OH: sH * (H - 1) + oH + (kH - 1) * dH + 1 - pT - pB,
    OW: sW * (W - 1) + oW + (kW - 1) * dW + 1 - pL - pR,
  };
}

/** sum over taps of (x - zx) * (w - zw[m]) (+ bias) as plain numbers, NCHW out [N, M, OH, OW]. */
export function convTransposeRef(
  x: ArrayLike<number>,
  N: number,
  C: number,
  H: number,
  W: number,
  w: ArrayLike<number>,
  Mg: number,
  kH: number,
  kW: number,
  a: ConvTransposeRefAttrs,
  zx = 0,
  zw: ArrayLike<number> = [0],
  bias?: ArrayLike<number>,
): { data: number[]; OH: number; OW: number; M: number } {
  const group = a.group ?? 1;
  const [sH, sW] = a.strides ?? [1, 1];
  const [pT, pL] = a.pads ?? [0, 0, 0, 0];
  const [dH, dW] = a.dilations ?? [1, 1];
  const { OH, OW } = convTransposeShape(H, W, kH, kW, a);
  const M = Mg * group;
  const Cg = C / group;
  const out = new Array<number>(N * M * OH * OW).fill(0);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / Cg);
      for (let h = 0; h < H; h++)
        for (let wi = 0; wi < W; wi++) {
          const xv = x[((n * C + c) * H + h) * W + wi]! - zx;
          for (let m = 0; m < Mg; m++) {
            const oc = g * Mg + m;
            const z = zw.length === 1 ? zw[0]! : zw[oc]!;
            for (let kh = 0; kh < kH; kh++) {
              const oh = h * sH - pT + kh * dH;
              if (oh < 0 || oh >= OH) continue;
              for (let kw = 0; kw < kW; kw++) {
                const ow = wi * sW - pL + kw * dW;
                if (ow < 0 || ow >= OW) continue;
                out[((n * M + oc) * OH + oh) * OW + ow]! += xv * (w[((c * Mg + m) * kH + kh) * kW + kw]! - z);
              }
            }
          }
        }
    }
  if (bias) for (let i = 0; i < out.length; i++) out[i]! += bias[Math.floor(i / (OH * OW)) % M]!;
  return { data: out, OH, OW, M };
}

/** The fp32 requantization of int32 sums, m = (xs * ws[m]) / ys in float32 per output channel. */
export function requantChannelsRef(
  acc: number[],
  M: number,
  plane: number,
  xs: number,
  ws: ArrayLike<number>,
  ys: number,
  zp: number,
  qmin: number,
  qmax: number,
): number[] {
  const f = Math.fround;
  return acc.map((v, i) => {
    const c = Math.floor(i / plane) % M;
    const m = f(f(xs * f(ws.length === 1 ? ws[0]! : ws[c]!)) / ys);
    return requantFp32(v, m, zp, qmin, qmax);
  });
}
