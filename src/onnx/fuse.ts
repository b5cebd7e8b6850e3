// Graph rewrites done once at load, before planning: Constant nodes become initializers;
// BatchNormalization and constant affine Mul / Add after a conv fold into its weights and
// bias; Relu / Clip(0, 6) after a conv become its epilogue clamp; a constant bias added to a
// MatMul's product joins the MatMul; layer normalization written op by op becomes one
// LayerNormalization node; chains of pointwise ops on
// one input (hard-swish written as x * clip(x + 3, 0, 6) / 6, hard-sigmoid, affine scalars)
// become one pointwise program - one loop in float, one lookup table in int8.
import type { Graph, GraphNode } from './graph.js';
import type { PointwiseInst, PointwiseProgram, BinaryOp } from './kernels.js';
import { convTransposeIsShuffle, type PlannedNode } from './lower-float.js';
import { numel, type OnnxTensor } from './tensor.js';

function consumers(nodes: GraphNode[]): Map<string, GraphNode[]> {
  const m = new Map<string, GraphNode[]>();
  for (const n of nodes) for (const i of n.inputs) m.set(i, [...(m.get(i) ?? []), n]);
  return m;
}

function scalarAttr(n: GraphNode, name: string): number | undefined {
  const v = n.attrs.get(name);
  return typeof v === 'number' ? v : undefined;
}

/** Constant nodes holding a tensor become initializers. */
function hoistConstants(g: Graph): void {
  g.nodes = g.nodes.filter((n) => {
    if (n.opType !== 'Constant' || n.domain !== '') return true;
    const v = n.attrs.get('value');
    if (v === undefined || typeof v !== 'object' || Array.isArray(v)) return true;
    g.initializers.set(n.outputs[0]!, v);
    return false;
  });
}

/** A per-channel (or scalar) constant of M channels broadcast against [N, M, H, W], as M values. */
function channelConst(t: OnnxTensor | undefined, M: number): Float32Array | null {
  if (t === undefined || t.dtype !== 'float32') return null;
  const n = numel(t.shape);
  if (n === 1) return new Float32Array(M).fill(t.data[0]!);
  if (n !== M) return null;
  const s = t.shape;
  // [M, 1, 1], [1, M, 1, 1]
  const ok =
    (s.length === 3 && s[0] === M) || (s.length === 4 && s[0] === 1 && s[1] === M) || (s.length === 1 && M === 1);
  return ok ? Float32Array.from(t.data) : null;
}

/** Folds BatchNormalization and constant affine ops after a conv into the conv. */
function foldIntoConv(g: Graph, outputs: Set<string>): void {
  let changed = true;
  while (changed) {
    changed = false;
    const users = consumers(g.nodes);
    for (const conv of g.nodes) {
      const transposed = conv.opType === 'ConvTranspose';
      if ((conv.opType !== 'Conv' && !transposed) || conv.domain !== '' || (conv as PlannedNode).activation) continue;
      // a transposed conv's output channels are its weights' axis 1: folded for one group only
      if (transposed && (scalarAttr(conv, 'group') ?? 1) !== 1) continue;
      const y = conv.outputs[0]!;
      const us = users.get(y) ?? [];
      if (us.length !== 1 || outputs.has(y)) continue;
      const next = us[0]!;
      const w = g.initializers.get(conv.inputs[1]!);
      if (w === undefined || w.dtype !== 'float32' || w.shape.length !== 4) continue;
      const M = transposed ? w.shape[1]! : w.shape[0]!;
      let scale: Float32Array | null = null;
      let shift: Float32Array | null = null;
      if (next.opType === 'BatchNormalization' && next.outputs.filter((o) => o !== '').length === 1) {
        const [s, b, m, v] = next.inputs.slice(1).map((i) => g.initializers.get(i));
        if (!s || !b || !m || !v) continue;
        const eps = scalarAttr(next, 'epsilon') ?? 1e-5;
        scale = new Float32Array(M);
        shift = new Float32Array(M);
        for (let c = 0; c < M; c++) {
          scale[c] = s.data[c]! / Math.sqrt(v.data[c]! + eps);
          shift[c] = b.data[c]! - m.data[c]! * scale[c]!;
        }
      } else if ((next.opType === 'Mul' || next.opType === 'Add') && next.domain === '') {
        const other = next.inputs[0] === y ? next.inputs[1]! : next.inputs[0]!;
        if (next.inputs[0] === next.inputs[1]) continue;
        const c = channelConst(g.initializers.get(other), M);
        if (c === null) continue;
        if (next.opType === 'Mul') {
          scale = c;
          shift = new Float32Array(M);
        } else {
          scale = new Float32Array(M).fill(1);
          shift = c;
        }
      } else continue;
      const nw = Float32Array.from(w.data as Float32Array);
      if (transposed) {
        const inner = w.shape[2]! * w.shape[3]!;
        for (let i = 0; i < nw.length; i++) nw[i]! *= scale[Math.floor(i / inner) % M]!;
      } else {
        const per = numel(w.shape) / M;
        for (let o = 0; o < M; o++) for (let i = 0; i < per; i++) nw[o * per + i]! *= scale[o]!;
      }
      const ob = conv.inputs[2] ? g.initializers.get(conv.inputs[2]) : undefined;
      const nb = new Float32Array(M);
      for (let o = 0; o < M; o++) nb[o] = (ob ? ob.data[o]! : 0) * scale[o]! + shift[o]!;
      const wName = `${conv.name}::folded_w${g.initializers.size}`;
      const bName = `${conv.name}::folded_b${g.initializers.size}`;
      g.initializers.set(wName, { data: nw, shape: w.shape, dtype: 'float32' });
      g.initializers.set(bName, { data: nb, shape: [M], dtype: 'float32' });
      conv.inputs = [conv.inputs[0]!, wName, bName];
      conv.outputs = [next.outputs[0]!];
      g.nodes = g.nodes.filter((n) => n !== next);
      changed = true;
      break;
    }
  }
}

/**
 * MatMul by constant 2-D weights [K, N] whose only reader adds a constant bias of N values
 * (shape [N] or [1, N]) becomes one MatMul with the bias as a third input: the linear
 * layer adds it in its epilogue (int32 codes in int8, float32 in float), so the product is
 * never written out, dequantized and re-read for the add.
 */
function fuseMatMulBias(g: Graph, outputs: Set<string>): void {
  const users = consumers(g.nodes);
  const removed = new Set<GraphNode>();
  for (const mm of g.nodes) {
    if (mm.opType !== 'MatMul' || mm.domain !== '' || mm.inputs.length !== 2) continue;
    const w = g.initializers.get(mm.inputs[1]!);
    if (w === undefined || w.dtype !== 'float32' || w.shape.length !== 2) continue;
    const y = mm.outputs[0]!;
    const us = users.get(y) ?? [];
    if (us.length !== 1 || outputs.has(y)) continue;
    const add = us[0]!;
    if (add.opType !== 'Add' || add.domain !== '' || add.inputs.length !== 2 || add.inputs[0] === add.inputs[1])
      continue;
    const other = add.inputs[0] === y ? add.inputs[1]! : add.inputs[0]!;
    const b = g.initializers.get(other);
    const N = w.shape[1]!;
    if (b === undefined || b.dtype !== 'float32' || numel(b.shape) !== N) continue;
    if (!(b.shape.length === 1 || (b.shape.length === 2 && b.shape[0] === 1))) continue;
    mm.inputs = [mm.inputs[0]!, mm.inputs[1]!, other];
    mm.outputs = [add.outputs[0]!];
    removed.add(add);
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
}

/**
 * Layer normalization written out op by op (PaddleOCR's and older PyTorch exports):
 * m = ReduceMean(x), d = x - m, v = ReduceMean(d ^ 2), y = d / Sqrt(v + eps) [* gamma]
 * [+ beta], all over the last axis, becomes one LayerNormalization node: one pass in float
 * instead of nine steps (and, in int8, no lookup-table square root on a quantized variance).
 */
function fuseLayerNorm(g: Graph, outputs: Set<string>): void {
  const users = consumers(g.nodes);
  const producer = new Map<string, GraphNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const scalarOf = (name: string | undefined): number | undefined => {
    const t = name === undefined ? undefined : g.initializers.get(name);
    return t !== undefined && t.dtype === 'float32' && numel(t.shape) === 1 ? t.data[0] : undefined;
  };
  // the only reader of `v` (which no graph output names), when it is `op` in the default domain
  const only = (v: string, op: string): GraphNode | null => {
    const us = users.get(v) ?? [];
    return us.length === 1 && us[0]!.opType === op && us[0]!.domain === '' && !outputs.has(v) ? us[0]! : null;
  };
  const lastAxisMean = (n: GraphNode): boolean => {
    if (n.opType !== 'ReduceMean' || n.domain !== '' || (scalarAttr(n, 'keepdims') ?? 1) !== 1) return false;
    const a = n.attrs.get('axes');
    if (Array.isArray(a)) return a.length === 1 && a[0] === -1 && n.inputs.length === 1;
    const t = n.inputs[1] ? g.initializers.get(n.inputs[1]) : undefined;
    return t !== undefined && numel(t.shape) === 1 && t.data[0] === -1;
  };
  const other = (n: GraphNode, v: string): string => (n.inputs[0] === v ? n.inputs[1]! : n.inputs[0]!);
  const removed = new Set<GraphNode>();
  const made = new Map<GraphNode, GraphNode>();
  for (const mean of g.nodes) {
    if (!lastAxisMean(mean) || removed.has(mean)) continue;
    const x = mean.inputs[0]!;
    const sub = only(mean.outputs[0]!, 'Sub');
    if (sub === null || sub.inputs[0] !== x || sub.inputs[1] !== mean.outputs[0]) continue;
    const d = sub.outputs[0]!;
    const dUsers = users.get(d) ?? [];
    if (dUsers.length !== 2 || outputs.has(d)) continue;
    const pow = dUsers.find((u) => u.opType === 'Pow' && u.inputs[0] === d && scalarOf(u.inputs[1]) === 2);
    const div = dUsers.find((u) => u.opType === 'Div' && u.inputs[0] === d);
    if (pow === undefined || div === undefined) continue;
    const varMean = only(pow.outputs[0]!, 'ReduceMean');
    if (varMean === null || !lastAxisMean(varMean)) continue;
    const addEps = only(varMean.outputs[0]!, 'Add');
    const eps = addEps === null ? undefined : scalarOf(other(addEps, varMean.outputs[0]!));
    if (addEps === null || eps === undefined) continue;
    const sqrt = only(addEps.outputs[0]!, 'Sqrt');
    if (sqrt === null || div.inputs[1] !== sqrt.outputs[0] || only(sqrt.outputs[0]!, 'Div') !== div) continue;
    const chain = [mean, sub, pow, varMean, addEps, sqrt, div];
    let y = div.outputs[0]!;
    // gamma and beta: constants of one row's length (checked by the lowering against the shape)
    const row = (t: string): boolean => {
      const c = g.initializers.get(t);
      return (
        c !== undefined && c.dtype === 'float32' && c.shape.length >= 1 && c.shape.slice(0, -1).every((e) => e === 1)
      );
    };
    let gamma: string | null = null;
    let beta: string | null = null;
    const mul = only(y, 'Mul');
    if (mul !== null && mul.inputs[0] !== mul.inputs[1] && row(other(mul, y))) {
      gamma = other(mul, y);
      chain.push(mul);
      y = mul.outputs[0]!;
      const add = only(y, 'Add');
      if (add !== null && add.inputs[0] !== add.inputs[1] && row(other(add, y))) {
        beta = other(add, y);
        chain.push(add);
        y = add.outputs[0]!;
      }
    }
    if (gamma === null) continue;
    for (const n of chain) removed.add(n);
    made.set(chain[chain.length - 1]!, {
      name: `${div.name}::layer_norm`,
      opType: 'LayerNormalization',
      domain: '',
      inputs: beta === null ? [x, gamma] : [x, gamma, beta],
      outputs: [y],
      attrs: new Map<string, number>([
        ['axis', -1],
        ['epsilon', eps],
      ]),
    } as GraphNode);
  }
  if (made.size === 0) return;
  g.nodes = g.nodes.flatMap((n) => {
    const m = made.get(n);
    if (m !== undefined) return [m];
    return removed.has(n) ? [] : [n];
  });
}

/** A transposed conv that runs as a 1x1 conv and a shuffle (its epilogue can clamp). */
function shuffleConvTranspose(g: Graph, n: GraphNode): boolean {
  if (n.opType !== 'ConvTranspose' || n.domain !== '') return false;
  const w = g.initializers.get(n.inputs[1]!);
  return w !== undefined && w.shape.length === 4 && convTransposeIsShuffle(n, w.shape[2]!, w.shape[3]!);
}

/** Relu and Clip(0, 6) after a conv (or a transposed conv run as one) become its epilogue clamp. */
function fuseActivations(g: Graph, outputs: Set<string>): void {
  const users = consumers(g.nodes);
  const removed = new Set<GraphNode>();
  for (const conv of g.nodes) {
    if ((conv.opType !== 'Conv' || conv.domain !== '') && !shuffleConvTranspose(g, conv)) continue;
    const y = conv.outputs[0]!;
    const us = users.get(y) ?? [];
    if (us.length !== 1 || outputs.has(y)) continue;
    const a = us[0]!;
    let act: 'relu' | 'relu6' | null = null;
    if (a.opType === 'Relu') act = 'relu';
    else if (a.opType === 'Clip') {
      const lo =
        g.opset < 11 ? scalarAttr(a, 'min') : a.inputs[1] ? g.initializers.get(a.inputs[1])?.data[0] : undefined;
      const hi =
        g.opset < 11 ? scalarAttr(a, 'max') : a.inputs[2] ? g.initializers.get(a.inputs[2])?.data[0] : undefined;
      if (lo === 0 && hi === 6) act = 'relu6';
      else if (lo === 0 && hi === undefined) act = 'relu';
    }
    if (act === null) continue;
    (conv as PlannedNode).activation = act;
    conv.outputs = [a.outputs[0]!];
    removed.add(a);
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
}

const UNARY = new Set([
  'Relu',
  'Clip',
  'Sigmoid',
  'Tanh',
  'Erf',
  'HardSigmoid',
  'HardSwish',
  'LeakyRelu',
  'Sqrt',
  'Neg',
  'Exp',
  'Abs',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);

interface Expr {
  root: string;
  /** Instructions computing this value, register indices local to the chain. */
  nodes: GraphNode[];
}

/**
 * Chains of pointwise ops over one float input become one qwasm.Pointwise node. A value is
 * part of a chain when it is a unary op of a chain value, or a binary op of chain values of
 * the same root and scalar constants. Chains of a single op stay as they are.
 */
function fusePointwise(g: Graph, outputs: Set<string>): void {
  const exprOf = new Map<string, Expr>();
  const isScalar = (name: string): number | undefined => {
    const t = g.initializers.get(name);
    return t !== undefined && t.dtype === 'float32' && numel(t.shape) === 1 ? t.data[0]! : undefined;
  };
  const clipConst = (n: GraphNode, i: number): boolean =>
    g.opset < 11 || n.inputs[i] === undefined || n.inputs[i] === '' || isScalar(n.inputs[i]!) !== undefined;
  for (const n of g.nodes) {
    if (n.domain !== '') continue;
    let roots: string[] = [];
    if (UNARY.has(n.opType)) {
      if (n.opType === 'Clip' && !(clipConst(n, 1) && clipConst(n, 2))) continue;
      roots = [n.inputs[0]!];
    } else if (BINARY.has(n.opType) && n.inputs.length === 2) {
      roots = n.inputs.filter((i) => isScalar(i) === undefined);
      if (roots.length === 0) continue;
    } else continue;
    const rs = roots.map((r) => exprOf.get(r)?.root ?? r);
    if (!rs.every((r) => r === rs[0])) continue;
    // a binary op of two different non-chain values is not pointwise in one input
    if (roots.length === 2 && roots[0] !== roots[1] && roots.some((r) => !exprOf.has(r)) && !roots.includes(rs[0]!))
      continue;
    const nodes = new Set<GraphNode>();
    for (const r of roots) for (const m of exprOf.get(r)?.nodes ?? []) nodes.add(m);
    nodes.add(n);
    exprOf.set(n.outputs[0]!, { root: rs[0]!, nodes: [...nodes] });
  }
  const users = consumers(g.nodes);
  // a chain value is materialized when something outside its chains reads it
  const absorbed = new Set<GraphNode>();
  const made: { at: GraphNode; node: PlannedNode }[] = [];
  for (const n of g.nodes) {
    const y = n.outputs[0]!;
    const e = exprOf.get(y);
    if (e === undefined || e.nodes.length < 2) continue;
    const outside =
      outputs.has(y) ||
      (users.get(y) ?? []).some((u) => exprOf.get(u.outputs[0]!)?.root !== e.root || !exprOf.has(u.outputs[0]!));
    if (!outside) continue;
    made.push({
      at: n,
      node: {
        name: n.name,
        opType: 'Pointwise',
        domain: 'qwasm',
        inputs: [e.root],
        outputs: [y],
        attrs: new Map(),
        program: compile(g, e, isScalar),
      },
    });
    for (const m of e.nodes) absorbed.add(m);
  }
  if (made.length === 0) return;
  // keep chain nodes whose values something still reads directly
  const needed = new Set<string>();
  for (const n of g.nodes) if (!absorbed.has(n)) for (const i of n.inputs) needed.add(i);
  for (const m of made) needed.add(m.node.inputs[0]!);
  for (const o of outputs) needed.add(o);
  const out: GraphNode[] = [];
  for (const n of g.nodes) {
    const m = made.find((x) => x.at === n);
    if (m !== undefined) out.push(m.node);
    else if (!absorbed.has(n) || n.outputs.some((o) => needed.has(o) && !made.some((x) => x.node.outputs[0] === o)))
      out.push(n);
  }
  g.nodes = out;
}

function compile(g: Graph, e: Expr, isScalar: (n: string) => number | undefined): PointwiseProgram {
  const reg = new Map<string, number>([[e.root, 0]]);
  const insts: PointwiseInst[] = [];
  let next = 1;
  for (const n of e.nodes) {
    const base = { dst: next, a: 0, b: -1, c: 0, lo: 0, hi: 0, swap: false };
    if (UNARY.has(n.opType)) {
      const a = reg.get(n.inputs[0]!)!;
      let lo = 0;
      let hi = 0;
      if (n.opType === 'Clip') {
        if (g.opset < 11) {
          lo = scalarAttr(n, 'min') ?? -Infinity;
          hi = scalarAttr(n, 'max') ?? Infinity;
        } else {
          lo = n.inputs[1] ? (isScalar(n.inputs[1]) ?? -Infinity) : -Infinity;
          hi = n.inputs[2] ? (isScalar(n.inputs[2]) ?? Infinity) : Infinity;
        }
      } else if (n.opType === 'HardSigmoid') {
        lo = scalarAttr(n, 'alpha') ?? 0.2;
        hi = scalarAttr(n, 'beta') ?? 0.5;
      } else if (n.opType === 'LeakyRelu') lo = scalarAttr(n, 'alpha') ?? 0.01;
      insts.push({ ...base, op: n.opType as PointwiseInst['op'], a, lo, hi });
    } else {
      const [x, y] = n.inputs as [string, string];
      const cx = isScalar(x);
      const cy = isScalar(y);
      const op = n.opType as BinaryOp;
      if (cy !== undefined) insts.push({ ...base, op, a: reg.get(x)!, c: cy });
      else if (cx !== undefined) insts.push({ ...base, op, a: reg.get(y)!, c: cx, swap: true });
      else insts.push({ ...base, op, a: reg.get(x)!, b: reg.get(y)! });
    }
    reg.set(n.outputs[0]!, next++);
  }
  return { insts, registers: next, result: next - 1 };
}

/** A copy of a graph whose nodes can be rewritten without touching the original's. */
export function copyGraph(g: Graph): Graph {
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })),
    initializers: new Map(g.initializers),
  };
}

/**
 * Runs every rewrite, in order. Returns the graph as it stood after the rewrites that keep it
 * standard ONNX (constants hoisted, BatchNorm folded): the graph a QDQ export writes.
 */
export function optimize(g: Graph, fuse: boolean): Graph {
  hoistConstants(g);
  if (!fuse) return copyGraph(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  foldIntoConv(g, outputs);
  const standard = copyGraph(g);
  fuseActivations(g, outputs);
  fuseMatMulBias(g, outputs);
  fuseLayerNorm(g, outputs);
  fusePointwise(g, outputs);
  return standard;
}
