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

/** Each value's reading nodes, and how many inputs read it (a node reading it twice counts twice). */
function readersOf(g: Graph): { readers: Map<string, GraphNode[]>; uses: Map<string, number> } {
  const readers = new Map<string, GraphNode[]>();
  const uses = new Map<string, number>();
  for (const n of g.nodes)
    for (const i of n.inputs) {
      readers.set(i, [...(readers.get(i) ?? []), n]);
      uses.set(i, (uses.get(i) ?? 0) + 1);
    }
  return { readers, uses };
}

/** The pairs of the fused graph that can be equalized; `skip` names nodes left alone. */
export function equalizationPairs(g: Graph, skip: ReadonlySet<string>): EqualizationPair[] {
  const { readers, uses } = readersOf(g);
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
  scaleOutputChannels(inits, pair.a, s);
  scaleInputChannels(inits, pair.b, s);
}

/** Divides conv `a`'s output channel c (weights and bias) by s[c], in `inits`. */
function scaleOutputChannels(inits: Map<string, OnnxTensor>, a: GraphNode, s: Float64Array): void {
  const wa = inits.get(a.inputs[1]!)!;
  const C = s.length;
  const perA = wa.data.length / C;
  const w = Float32Array.from(wa.data as Float32Array);
  for (let c = 0; c < C; c++) for (let k = 0; k < perA; k++) w[c * perA + k] = w[c * perA + k]! / s[c]!;
  inits.set(a.inputs[1]!, { ...wa, data: w });
  const bName = a.inputs[2];
  if (bName !== undefined && bName !== '') {
    const bias = inits.get(bName)!;
    inits.set(bName, { ...bias, data: Float32Array.from(bias.data as Float32Array, (v, c) => v / s[c]!) });
  }
}

/** Multiplies conv `b`'s input channel c by s[c], in `inits`. */
function scaleInputChannels(inits: Map<string, OnnxTensor>, b: GraphNode, s: Float64Array): void {
  const wb = inits.get(b.inputs[1]!)!;
  const C = s.length;
  const [M, Cg] = wb.shape as [number, number];
  const group = C / Cg;
  const Mg = M / group;
  const per = wb.data.length / (M * Cg);
  const w = Float32Array.from(wb.data as Float32Array);
  for (let o = 0; o < M; o++) {
    const gi = Math.floor(o / Mg);
    for (let ci = 0; ci < Cg; ci++) {
      const sc = s[gi * Cg + ci]!;
      for (let k = 0; k < per; k++) w[(o * Cg + ci) * per + k] = w[(o * Cg + ci) * per + k]! * sc;
    }
  }
  inits.set(b.inputs[1]!, { ...wb, data: w });
}

/**
 * A convolution A whose only reader is a one-input table op P (hard-swish, a fused pointwise
 * chain, ...) whose only reader is a convolution B: A -> x -> P -> y -> B.
 */
export interface TableEqualization {
  a: GraphNode;
  p: GraphNode;
  b: GraphNode;
  /** A's output, P's input. */
  x: string;
  /** P's output, B's input. */
  y: string;
}

/** One-input elementwise ops a per-channel scale can pass through as part of the function. */
const TABLE_OPS = new Set(['HardSwish', 'HardSigmoid', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Relu']);

/** The A -> table -> B chains of the fused graph; `skip` names nodes left alone. */
export function tableEqualizations(g: Graph, skip: ReadonlySet<string>): TableEqualization[] {
  const { readers, uses } = readersOf(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const conv = (n: GraphNode): boolean =>
    n.opType === 'Conv' &&
    n.domain === '' &&
    !skip.has(n.name) &&
    constFloat(g, n.inputs[1])?.shape.length === 4 &&
    (n.inputs[2] === undefined || n.inputs[2] === '' || constFloat(g, n.inputs[2]) !== undefined) &&
    uses.get(n.inputs[1]!) === 1 &&
    (n.inputs[2] === undefined || n.inputs[2] === '' || uses.get(n.inputs[2]) === 1);
  const table = (n: GraphNode): boolean =>
    !skip.has(n.name) &&
    n.inputs.filter((i) => i !== '' && !g.initializers.has(i)).length === 1 &&
    n.outputs.length === 1 &&
    ((n.opType === 'Pointwise' && n.domain === 'qwasm') || (n.domain === '' && TABLE_OPS.has(n.opType)));
  const only = (v: string): GraphNode | undefined => {
    const r = readers.get(v) ?? [];
    return outputs.has(v) || r.length !== 1 ? undefined : r[0];
  };
  const out: TableEqualization[] = [];
  for (const a of g.nodes) {
    if (!conv(a)) continue;
    const act = (a as PlannedNode).activation;
    if (act !== undefined && act !== 'none') continue;
    const x = a.outputs[0]!;
    const p = only(x);
    if (p === undefined || !table(p) || p.inputs[0] !== x) continue;
    const y = p.outputs[0]!;
    const b = only(y);
    if (b === undefined || !conv(b) || b.inputs[0] !== y) continue;
    const wa = constFloat(g, a.inputs[1])!;
    const wb = constFloat(g, b.inputs[1])!;
    const group = typeof b.attrs.get('group') === 'number' ? (b.attrs.get('group') as number) : 1;
    if (wb.shape[1]! * group !== wa.shape[0]) continue;
    out.push({ a, p, b, x, y });
  }
  return out;
}

/**
 * The weights of a table equalization: A's output channel c becomes (x_c - o[c]) / t[c]
 * (weights divided by t[c], bias shifted and divided; o is 0 where A has no bias), B's input
 * channel c is multiplied by s[c].
 */
export function applyTableEqualization(
  inits: Map<string, OnnxTensor>,
  e: TableEqualization,
  t: Float64Array,
  o: Float64Array,
  s: Float64Array,
): void {
  const bName = e.a.inputs[2];
  if (bName !== undefined && bName !== '') {
    const bias = inits.get(bName)!;
    inits.set(bName, { ...bias, data: Float32Array.from(bias.data as Float32Array, (v, c) => v - o[c]!) });
  }
  scaleOutputChannels(inits, e.a, t);
  scaleInputChannels(inits, e.b, s);
}

/** Whether conv A of a table equalization has a bias (so its output can take an offset). */
export function hasBias(e: TableEqualization): boolean {
  return e.a.inputs[2] !== undefined && e.a.inputs[2] !== '';
}

/**
 * The nodes of a table equalization in `g` (the fused graph or the standard one: both name x
 * and y, and only B reads y): P becomes y_c = P(t[c] * x_c + o[c]) / s[c], written as a Mul
 * by t and an Add of o before P and a Mul by 1 / s after it, read as `${x}::eq` and
 * `${y}::eq`. x and `${y}::eq` are the tensors quantized; P with its Mul / Add / Mul is one
 * per-channel function.
 */
export function insertTableScales(
  g: Graph,
  e: TableEqualization,
  t: Float64Array,
  o: Float64Array,
  s: Float64Array,
): void {
  const C = t.length;
  const channels = (name: string, v: ArrayLike<number>): string => {
    g.initializers.set(name, { data: Float32Array.from(v), shape: [1, C, 1, 1], dtype: 'float32' });
    return name;
  };
  const tName = channels(`${e.x}::eq_scale`, t);
  const oName = channels(`${e.x}::eq_offset`, o);
  const sName = channels(
    `${e.y}::eq_scale`,
    Array.from(s, (v) => 1 / v),
  );
  const xt = `${e.x}::eq_scaled`;
  const xs = `${e.x}::eq`;
  const ys = `${e.y}::eq`;
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === e.x ? xs : i === e.y ? ys : i));
  const node = (opType: string, input: string, c: string, output: string): GraphNode => ({
    name: output,
    opType,
    domain: '',
    inputs: [input, c],
    outputs: [output],
    attrs: new Map(),
  });
  const a = g.nodes.findIndex((n) => n.outputs.includes(e.x));
  g.nodes.splice(a + 1, 0, node('Mul', e.x, tName, xt), node('Add', xt, oName, xs));
  const p = g.nodes.findIndex((n) => n.outputs.includes(e.y));
  g.nodes.splice(p + 1, 0, node('Mul', e.y, sName, ys));
}
