// Cross-layer equalization at quantize time (after Nagel et al., "Data-Free Quantization",
// 2019, here driven by calibration ranges): where a convolution A feeds only a convolution B,
// directly or through a ReLU, scaling A's output channel c by 1 / s_c and B's input channel c
// by s_c computes the same function (relu(x / s) = relu(x) / s for s > 0), while the tensor
// between them, quantized with one per-tensor scale, gets channels of similar range. Into a
// depthwise B the weights of channel c are B's output channel c, which per-channel weight
// scales absorb exactly, so the channels are equalized fully; into a dense B the scale
// balances the activation's range against B's weights (s_c = sqrt(r_c / w_c)), as both are
// quantized. The rewritten weights are ordinary float weights: the QDQ export carries them.
import type { Graph, GraphNode } from './graph.js';
import type { PlannedNode } from './lower-float.js';
import type { OnnxTensor } from './tensor.js';

/** A convolution whose only reader is another convolution. */
export interface EqualizationPair {
  /** The producer (its output channels are scaled by 1 / s). */
  a: GraphNode;
  /** The consumer (its input channels are scaled by s). */
  b: GraphNode;
  /** The tensor between them. */
  tensor: string;
}

/** Smallest scale applied (a channel that is almost never active is not blown up further). */
const MIN_SCALE = 1 / 1024;

function constFloat(g: Graph, name: string | undefined): OnnxTensor | undefined {
  if (name === undefined || name === '') return undefined;
  const t = g.initializers.get(name);
  return t !== undefined && t.dtype === 'float32' ? t : undefined;
}

/** The pairs of the fused graph that can be equalized; `skip` names nodes left alone. */
export function equalizationPairs(g: Graph, skip: ReadonlySet<string>): EqualizationPair[] {
  const readers = new Map<string, GraphNode[]>();
  const uses = new Map<string, number>();
  for (const n of g.nodes)
    for (const i of n.inputs) {
      readers.set(i, [...(readers.get(i) ?? []), n]);
      uses.set(i, (uses.get(i) ?? 0) + 1);
    }
  const outputs = new Set(g.outputs.map((o) => o.name));
  const conv = (n: GraphNode): boolean =>
    n.opType === 'Conv' &&
    n.domain === '' &&
    !skip.has(n.name) &&
    constFloat(g, n.inputs[1]) !== undefined &&
    (n.inputs[2] === undefined || n.inputs[2] === '' || constFloat(g, n.inputs[2]) !== undefined) &&
    // a weight shared with another node cannot be rewritten for one of them
    uses.get(n.inputs[1]!) === 1 &&
    (n.inputs[2] === undefined || n.inputs[2] === '' || uses.get(n.inputs[2]) === 1);
  const pairs: EqualizationPair[] = [];
  for (const a of g.nodes) {
    if (!conv(a)) continue;
    const act = (a as PlannedNode).activation;
    if (act !== undefined && act !== 'none' && act !== 'relu') continue;
    const t = a.outputs[0]!;
    const r = readers.get(t) ?? [];
    if (outputs.has(t) || r.length !== 1 || !conv(r[0]!) || r[0]!.inputs[0] !== t) continue;
    const b = r[0]!;
    const wa = constFloat(g, a.inputs[1])!;
    const wb = constFloat(g, b.inputs[1])!;
    if (wa.shape.length !== 4 || wb.shape.length !== 4) continue;
    const group = typeof b.attrs.get('group') === 'number' ? (b.attrs.get('group') as number) : 1;
    if (wb.shape[1]! * group !== wa.shape[0]) continue;
    pairs.push({ a, b, tensor: t });
  }
  return pairs;
}

/**
 * The per-channel scales s of a pair from the tensor's per-channel max |x| (`range`): 1 for a
 * channel never seen non-zero.
 */
export function equalizationScales(g: Graph, pair: EqualizationPair, range: Float64Array): Float64Array {
  const wb = constFloat(g, pair.b.inputs[1])!;
  const [M, Cg] = wb.shape as [number, number];
  const C = range.length;
  const group = C / Cg;
  const per = wb.data.length / (M * Cg);
  const s = new Float64Array(C).fill(1);
  let top = 0;
  for (const r of range) top = Math.max(top, r);
  if (!(top > 0)) return s;
  if (Cg === 1) {
    // depthwise: every channel to the largest one's range
    for (let c = 0; c < C; c++) if (range[c]! > 0) s[c] = Math.max(MIN_SCALE, range[c]! / top);
    return s;
  }
  // dense: balance the activation's range and B's weights on that input channel
  const w = new Float64Array(C);
  const Mg = M / group;
  for (let c = 0; c < C; c++) {
    const gi = Math.floor(c / Cg);
    const ci = c % Cg;
    let m = 0;
    for (let o = gi * Mg; o < (gi + 1) * Mg; o++)
      for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(wb.data[(o * Cg + ci) * per + k]!));
    w[c] = m;
  }
  let maxRaw = 0;
  for (let c = 0; c < C; c++) if (range[c]! > 0 && w[c]! > 0) maxRaw = Math.max(maxRaw, Math.sqrt(range[c]! / w[c]!));
  if (!(maxRaw > 0)) return s;
  for (let c = 0; c < C; c++)
    if (range[c]! > 0 && w[c]! > 0) s[c] = Math.max(MIN_SCALE, Math.sqrt(range[c]! / w[c]!) / maxRaw);
  return s;
}

/** Applies the scales: new float32 weights (and A's bias) in `inits` (a copy's initializer map). */
export function applyEqualization(inits: Map<string, OnnxTensor>, pair: EqualizationPair, s: Float64Array): void {
  const wa = inits.get(pair.a.inputs[1]!)!;
  const wb = inits.get(pair.b.inputs[1]!)!;
  const C = s.length;
  const perA = wa.data.length / C;
  const a = Float32Array.from(wa.data as Float32Array);
  for (let c = 0; c < C; c++) for (let k = 0; k < perA; k++) a[c * perA + k] = a[c * perA + k]! / s[c]!;
  inits.set(pair.a.inputs[1]!, { ...wa, data: a });
  const bName = pair.a.inputs[2];
  if (bName !== undefined && bName !== '') {
    const bias = inits.get(bName)!;
    inits.set(bName, { ...bias, data: Float32Array.from(bias.data as Float32Array, (v, c) => v / s[c]!) });
  }
  const [M, Cg] = wb.shape as [number, number];
  const group = C / Cg;
  const Mg = M / group;
  const per = wb.data.length / (M * Cg);
  const b = Float32Array.from(wb.data as Float32Array);
  for (let o = 0; o < M; o++) {
    const gi = Math.floor(o / Mg);
    for (let ci = 0; ci < Cg; ci++) {
      const sc = s[gi * Cg + ci]!;
      for (let k = 0; k < per; k++) b[(o * Cg + ci) * per + k] = b[(o * Cg + ci) * per + k]! * sc;
    }
  }
  inits.set(pair.b.inputs[1]!, { ...wb, data: b });
}
