// Scalar reference of ONNX Resize (H and W of an NCHW map) as onnxruntime computes it:
// float32 coordinates, nearest modes, and bilinear as
// trunc(((c11 * x11 + c21 * x21) + c12 * x12) + c22 * x22) for 8-bit data (float32 kept).
const f = Math.fround;

export interface ResizeRefAttrs {
  mode: 'nearest' | 'linear';
  transform: string;
  nearest: string;
}

function coordinate(mode: string, o: number, scale: number, lenOut: number, lenIn: number): number {
  if (mode === 'asymmetric') return f(o / scale);
  if (mode === 'pytorch_half_pixel') return lenOut > 1 ? f(f(f(o + 0.5) / scale) - 0.5) : 0;
  if (mode === 'align_corners') return lenOut === 1 ? 0 : f(f(o * (lenIn - 1)) / (lenOut - 1));
  return f(f(f(o + 0.5) / scale) - 0.5);
}

function cRound(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

function nearestPixel(mode: string, v: number): number {
  if (mode === 'floor') return Math.floor(v);
  if (mode === 'ceil') return Math.ceil(v);
  if (mode === 'round_prefer_ceil') return cRound(v);
  return v === Math.trunc(v) + 0.5 ? Math.floor(v) : cRound(v);
}

/** Resizes x [N, C, H, W] to [N, C, OH, OW] with float32 scales sh, sw. */
export function resizeRef(
  x: ArrayLike<number>,
  N: number,
  C: number,
  H: number,
  W: number,
  OH: number,
  OW: number,
  sh: number,
  sw: number,
  a: ResizeRefAttrs,
  integer: boolean,
): number[] {
  const out: number[] = [];
  // an output shape equal to the input's is a copy in onnxruntime, whatever the scales
  if (OH === H && OW === W) sh = sw = 1;
  const nearestAxis = (o: number, len: number, lenOut: number, s: number) => {
    const i = s === 1 ? o : nearestPixel(a.nearest, coordinate(a.transform, o, s, lenOut, len));
    return Math.min(Math.max(i, 0), len - 1);
  };
  const linearAxis = (o: number, len: number, lenOut: number, s: number) => {
    let v = s === 1 ? o : coordinate(a.transform, o, s, lenOut, len);
    v = Math.max(0, Math.min(v, len - 1));
    const i1 = Math.min(Math.trunc(v), len - 1);
    const i2 = Math.min(i1 + 1, len - 1);
    return i1 === i2
      ? { i1, i2, d1: 0.5, d2: 0.5 }
      : { i1, i2, d1: f(Math.abs(f(v - i1))), d2: f(Math.abs(f(v - i2))) };
  };
  for (let nc = 0; nc < N * C; nc++) {
    const img = nc * H * W;
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        if (a.mode === 'nearest') {
          out.push(x[img + nearestAxis(oh, H, OH, sh) * W + nearestAxis(ow, W, OW, sw)]!);
          continue;
        }
        const y = linearAxis(oh, H, OH, sh);
        const xw = linearAxis(ow, W, OW, sw);
        const x11 = x[img + y.i1 * W + xw.i1]!;
        const x21 = x[img + y.i1 * W + xw.i2]!;
        const x12 = x[img + y.i2 * W + xw.i1]!;
        const x22 = x[img + y.i2 * W + xw.i2]!;
        let v = f(f(xw.d2 * y.d2) * x11);
        v = f(v + f(f(xw.d1 * y.d2) * x21));
        v = f(v + f(f(xw.d2 * y.d1) * x12));
        v = f(v + f(f(xw.d1 * y.d1) * x22));
        // | 0: an int8 result of -0.25 is 0, not -0
        out.push(integer ? Math.trunc(v) | 0 : v);
      }
  }
  return out;
}
