// Bias correction (after Nagel et al., "Data-Free Quantization", 2019, section 4.2, with the
// input's expectation measured on calibration data instead of predicted from BatchNorm
// statistics): rounding a convolution's weights to int8 adds (W_q - W) x to its output, whose
// mean per output channel shifts every output of that channel alike. That mean, measured with
// the int8 model's own inputs over the calibration records, is subtracted from the float bias.
// The corrected bias is an ordinary float bias: the int8 plan and the QDQ export quantize it
// to the same int32 codes.
//
// Only the weights' error is corrected. Correcting each convolution by its whole measured
// error (int8 against float, upstream errors included) counts an upstream error again in
// every layer it reaches, while the upstream layers correct it too: on PP-OCRv4 detection it
// took the map from 18.7 to 10.3 dB, recognition from 23.4 to 5.0, and more passes diverged.
// Much of that error is no mean to correct anyway: a page's flat background reaches each
// channel as one value, rounded to the same code at every position, and a bias shift of less
// than half a step leaves that code where it was.
//
// The mean of a convolution's output over its positions needs only, per input channel and
// kernel tap, the sum of the input over the positions that tap reads (zero padding counted as
// zero): the windows are not formed.
import { convGeometry } from './lower-float.js';
import { quantizeWeights } from './lower-int8.js';
import type { OnnxModel, FeedTensor } from './model.js';
import type { Graph, GraphNode } from './graph.js';
import type { Val } from './plan.js';
import { attrInt } from './attrs.js';

/** A convolution whose bias is corrected: it runs in int8 with these weight scales. */
export interface CorrectedConv {
  node: GraphNode;
  /** Per-output-channel weight scales of the int8 plan. */
  scales: Float32Array;
}

/** Per input channel and tap, the summed input over the positions each tap reads. */
interface TapSums {
  sums: Float64Array;
  /** Output positions counted (over records and the batch). */
  positions: number;
}

/**
 * Per (channel, kh, kw) sum over the output positions of the input each tap reads, for a value
 * of logical shape [N, C, H, W] read through `at(n, c, h, w)`.
 */
function tapSums(
  node: GraphNode,
  shape: readonly number[],
  kH: number,
  kW: number,
  at: (i: number) => number,
  nhwc: boolean,
  into: TapSums,
): void {
  const [N, C, H, W] = shape as [number, number, number, number];
  const g = convGeometry(node, H, W, kH, kW);
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilations;
  const [OH, OW] = g.out;
  // the input rows (columns) tap kh (kw) reads: oh * sh - top + kh * dh for oh in [0, OH)
  const lines = (k: number, s: number, d: number, pad: number, size: number, out: number): Int32Array => {
    const r: number[] = [];
    for (let o = 0; o < out; o++) {
      const i = o * s - pad + k * d;
      if (i >= 0 && i < size) r.push(i);
    }
    return Int32Array.from(r);
  };
  const rows = Array.from({ length: kH }, (_, k) => lines(k, sh, dh, g.pads[0], H, OH));
  const cols = Array.from({ length: kW }, (_, k) => lines(k, sw, dw, g.pads[1], W, OW));
  const rowSum = new Float64Array(H);
  const index = nhwc
    ? (n: number, c: number, h: number, w: number): number => ((n * H + h) * W + w) * C + c
    : (n: number, c: number, h: number, w: number): number => ((n * C + c) * H + h) * W + w;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let kw = 0; kw < kW; kw++) {
        const cs = cols[kw]!;
        for (let h = 0; h < H; h++) {
          let s = 0;
          for (const w of cs) s += at(index(n, c, h, w));
          rowSum[h] = s;
        }
        for (let kh = 0; kh < kH; kh++) {
          let s = 0;
          for (const h of rows[kh]!) s += rowSum[h]!;
          const t = (c * kH + kh) * kW + kw;
          into.sums[t] = into.sums[t]! + s;
        }
      }
  into.positions += N * OH * OW;
}

/**
 * Runs `int8` (the quantized model) over `records` and returns, per corrected convolution,
 * the mean per output channel of (W_q - W) x over the positions and records, x being the
 * convolution's input as the int8 model has it (dequantized codes): what to subtract from
 * its float bias.
 */
export function biasErrors(
  int8: OnnxModel,
  graph: Graph,
  convs: CorrectedConv[],
  records: Record<string, FeedTensor>[],
): Map<GraphNode, Float64Array> {
  const byInput = new Map<string, CorrectedConv[]>();
  for (const c of convs) byInput.set(c.node.inputs[0]!, [...(byInput.get(c.node.inputs[0]!) ?? []), c]);
  const shapes = new Map<GraphNode, [number, number, number, number]>();
  const sums = new Map<GraphNode, TapSums>();
  for (const c of convs) {
    const w = graph.initializers.get(c.node.inputs[1]!)!;
    const [M, Cg, kH, kW] = w.shape as [number, number, number, number];
    shapes.set(c.node, [M, Cg, kH, kW]);
    const C = Cg * attrInt(c.node, 'group', 1);
    sums.set(c.node, { sums: new Float64Array(C * kH * kW), positions: 0 });
  }
  for (const feeds of records) {
    const seen = new Set<string>();
    int8.runObserved(feeds, (v: Val): void => {
      const readers = byInput.get(v.name);
      if (readers === undefined || v.dtype !== 'int8' || v.quant === null || seen.has(v.name) || v.shape.length !== 4)
        return;
      seen.add(v.name);
      const d = v.data!;
      const { scale, zeroPoint } = v.quant;
      const at = (i: number): number => (d[i]! - zeroPoint) * scale;
      for (const c of readers) {
        const [, , kH, kW] = shapes.get(c.node)!;
        tapSums(c.node, v.shape, kH, kW, at, v.nhwc, sums.get(c.node)!);
      }
    });
  }
  const out = new Map<GraphNode, Float64Array>();
  for (const c of convs) {
    const q = sums.get(c.node)!;
    // a conv the int8 plan did not run in int8 (its input never seen as codes) is left alone
    if (q.positions === 0) continue;
    const [M, Cg, kH, kW] = shapes.get(c.node)!;
    const w = graph.initializers.get(c.node.inputs[1]!)!.data as Float32Array;
    const wq = quantizeWeights(w, c.scales);
    const group = attrInt(c.node, 'group', 1);
    const Mg = M / group;
    const per = Cg * kH * kW;
    const err = new Float64Array(M);
    for (let o = 0; o < M; o++) {
      const s = c.scales[c.scales.length === 1 ? 0 : o]!;
      const t0 = Math.floor(o / Mg) * Cg * kH * kW;
      let e = 0;
      for (let j = 0; j < per; j++) e += (wq[o * per + j]! * s - w[o * per + j]!) * q.sums[t0 + j]!;
      err[o] = e / q.positions;
    }
    out.set(c.node, err);
  }
  return out;
}
