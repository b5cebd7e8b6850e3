// A pass over a QDQ file's graph once its Q / DQ pairs are annotations (qdq.ts), before the
// load-time rewrites: where one quantized value x reaches another, y, only through one-input
// float elementwise ops (Mul / Add / Sub / Div / Max / Min / Pow by constants that are
// scalars or per channel, and the unary ops the int8 planner tables: HardSwish, HardSigmoid,
// Sigmoid, Tanh, Relu, LeakyRelu, Clip, ...), and at least one constant is per channel, the
// ops become one ChannelTable node: one 256-entry table per channel over x's codes, each entry
// the ops computed in float32 in order, as onnxruntime runs the file. This is the form
// `quantize({ equalizeTables: true })` exports (DQ -> Mul -> Add -> table op -> Mul -> Q), so
// the file loads back into the int8 arithmetic of the model that wrote it; run as float ops
// they would cost a dequantize and a quantize, and their bits would follow the build (the
// relaxed build fuses multiply-adds). It runs before the rewrites because they would fold the
// per-channel Mul and Add into the convolution that makes x, which x's quantization forbids.
// Of chains with scalar constants only, one binary op becomes a per-tensor table; longer ones
// are left to the pointwise fusion, which tables them too.
import type { Graph, GraphNode } from './graph.js';
import { PointwiseRunner, type BinaryOp, type PointwiseInst } from './kernels.js';
import type { QuantAnnotations } from './lower-int8.js';
import type { ChannelInst, ChannelProgram, ChannelTableNode } from './lower-channel-table.js';
import { numel, type OnnxTensor } from './tensor.js';

const BINARY = new Set<string>(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow']);
const UNARY = new Set<string>([
  'HardSwish',
  'HardSigmoid',
  'Sigmoid',
  'Tanh',
  'Relu',
  'LeakyRelu',
  'Clip',
  'Erf',
  'Sqrt',
  'Neg',
  'Exp',
  'Abs',
]);

/** A per-channel constant's channels and axis (from the end), or null for a scalar. */
interface ChannelShape {
  channels: number;
  axisFromEnd: number;
}

/** Scalar (null), per channel along one axis, or not a constant this pass takes (undefined). */
function channelShape(t: OnnxTensor): ChannelShape | null | undefined {
  if (t.dtype !== 'float32') return undefined;
  if (numel(t.shape) === 1) return null;
  const wide = t.shape.flatMap((d, i) => (d === 1 ? [] : [i]));
  if (wide.length !== 1 || t.shape[wide[0]!]! < 2) return undefined;
  return { channels: t.shape[wide[0]!]!, axisFromEnd: t.shape.length - wide[0]! };
}

function attrNumber(n: GraphNode, name: string, fallback: number): number {
  const v = n.attrs.get(name);
  return typeof v === 'number' ? v : fallback;
}

/**
 * Replaces each per-channel chain between two quantized values of `g` by a ChannelTable node
 * (see the file's header); `ann` is what stripQdq read from the Q / DQ pairs.
 */
export function fuseChannelTables(g: Graph, ann: QuantAnnotations): void {
  const producer = new Map<string, GraphNode>();
  const readers = new Map<string, GraphNode[]>();
  const constants = new Map<string, OnnxTensor>(g.initializers);
  for (const n of g.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
    const v = n.attrs.get('value');
    if (n.opType === 'Constant' && n.domain === '' && typeof v === 'object' && !Array.isArray(v))
      constants.set(n.outputs[0]!, v);
  }
  const outputs = new Set(g.outputs.map((o) => o.name));
  const elementwise = (n: GraphNode): boolean =>
    n.domain === '' &&
    n.outputs.length === 1 &&
    (UNARY.has(n.opType) || (BINARY.has(n.opType) && n.inputs.length === 2));
  const order = new Map(g.nodes.map((n, i) => [n, i]));
  const made = new Map<GraphNode, ChannelTableNode>();
  const absorbed = new Set<GraphNode>();
  for (const last of g.nodes) {
    const y = last.outputs[0]!;
    if (!elementwise(last) || !ann.values.has(y)) continue;
    const chain = chainTo(last, ann, producer, constants, elementwise);
    if (chain === null) continue;
    const inside = chain.nodes.filter((n) => n !== last);
    if (
      inside.some(
        (n) => outputs.has(n.outputs[0]!) || (readers.get(n.outputs[0]!) ?? []).some((r) => !chain.nodes.includes(r)),
      )
    )
      continue;
    chain.nodes.sort((a, b) => order.get(a)! - order.get(b)!);
    const program = compile(g, chain.x, chain.nodes, constants);
    if (program === null) continue;
    made.set(last, {
      name: last.name,
      opType: 'ChannelTable',
      domain: 'qwasm',
      inputs: [chain.x],
      outputs: [y],
      attrs: new Map(),
      program,
      chain: chain.nodes,
    });
    for (const n of chain.nodes) absorbed.add(n);
  }
  if (made.size === 0) return;
  g.nodes = g.nodes.flatMap((n) => {
    const m = made.get(n);
    if (m !== undefined) return [m];
    return absorbed.has(n) ? [] : [n];
  });
}

/**
 * The elementwise nodes that compute `last`'s output from one quantized value x (walking
 * back through unquantized values), or null when another activation or a non-elementwise
 * node feeds them.
 */
function chainTo(
  last: GraphNode,
  ann: QuantAnnotations,
  producer: Map<string, GraphNode>,
  constants: Map<string, OnnxTensor>,
  elementwise: (n: GraphNode) => boolean,
): { x: string; nodes: GraphNode[] } | null {
  const nodes = new Set<GraphNode>([last]);
  const stack = [last];
  let x: string | null = null;
  while (stack.length > 0) {
    const n = stack.pop()!;
    let activations = 0;
    for (const i of n.inputs) {
      if (i === '' || constants.has(i)) continue;
      activations++;
      if (ann.values.has(i)) {
        if (x !== null && x !== i) return null;
        x = i;
        continue;
      }
      const p = producer.get(i);
      if (p === undefined || !elementwise(p)) return null;
      if (!nodes.has(p)) {
        nodes.add(p);
        stack.push(p);
      }
    }
    if (activations === 0) return null;
  }
  return x === null ? null : { x, nodes: [...nodes] };
}

/**
 * The chain as a program (nodes in graph order, x in register 0), or null for constants of
 * different channel layouts, or a chain of scalar constants the pointwise fusion tables.
 */
function compile(g: Graph, x: string, nodes: GraphNode[], constants: Map<string, OnnxTensor>): ChannelProgram | null {
  const reg = new Map<string, number>([[x, 0]]);
  const insts: ChannelInst[] = [];
  let layout: ChannelShape | null = null;
  let rank = 0;
  const scalarOf = (name: string | undefined): number | undefined => {
    const t = name === undefined || name === '' ? undefined : constants.get(name);
    return t !== undefined && t.dtype === 'float32' && numel(t.shape) === 1 ? t.data[0]! : undefined;
  };
  for (const n of nodes) {
    const a = reg.get(n.inputs[0]!);
    if (BINARY.has(n.opType)) {
      const [i0, i1] = n.inputs as [string, string];
      const c0 = constants.get(i0);
      const c1 = constants.get(i1);
      const k = c1 ?? c0;
      if (k === undefined) {
        insts.push({ op: n.opType as BinaryOp, a: reg.get(i0)!, b: reg.get(i1)!, c: new Float32Array(0), swap: false });
      } else {
        const shape = channelShape(k);
        if (shape === undefined || (c0 !== undefined && c1 !== undefined)) return null;
        rank = Math.max(rank, k.shape.length);
        if (shape !== null) {
          if (layout !== null && (layout.channels !== shape.channels || layout.axisFromEnd !== shape.axisFromEnd))
            return null;
          layout = shape;
        }
        insts.push({
          op: n.opType as BinaryOp,
          a: reg.get(c1 !== undefined ? i0 : i1)!,
          b: -1,
          c: Float32Array.from(k.data),
          swap: c1 === undefined,
        });
      }
    } else {
      const inst: PointwiseInst = {
        op: n.opType as PointwiseInst['op'],
        dst: 1,
        a: 0,
        b: -1,
        c: 0,
        lo: 0,
        hi: 0,
        swap: false,
      };
      if (n.opType === 'Clip') {
        if (g.opset < 11) {
          inst.lo = attrNumber(n, 'min', -3.4028234663852886e38);
          inst.hi = attrNumber(n, 'max', 3.4028234663852886e38);
        } else {
          const lo = n.inputs[1] ? scalarOf(n.inputs[1]) : -Infinity;
          const hi = n.inputs[2] ? scalarOf(n.inputs[2]) : Infinity;
          if (lo === undefined || hi === undefined) return null;
          inst.lo = lo;
          inst.hi = hi;
        }
      } else if (n.opType === 'HardSigmoid') {
        inst.lo = attrNumber(n, 'alpha', 0.2);
        inst.hi = attrNumber(n, 'beta', 0.5);
      } else if (n.opType === 'LeakyRelu') inst.lo = attrNumber(n, 'alpha', 0.01);
      // one op as the int8 planner's tables and onnxruntime compute it, rounded to float32
      const runner = new PointwiseRunner({ insts: [inst], registers: 2, result: 1 });
      insts.push({ op: (v) => runner.scalar32(v), a: a!, b: -1, c: new Float32Array(0), swap: false });
    }
    reg.set(n.outputs[0]!, insts.length);
  }
  // scalars only: one binary op (which the int8 planner would run in float32 between a
  // dequantize and a quantize) becomes a per-tensor table; longer chains the pointwise fusion
  // makes one program, which the planner tables
  if (layout === null)
    return nodes.length === 1 && insts[0]!.b < 0 && typeof insts[0]!.op === 'string'
      ? { insts, channels: 1, axisFromEnd: 0, rank }
      : null;
  return { insts, channels: layout.channels, axisFromEnd: layout.axisFromEnd, rank };
}

/**
 * Puts the float nodes back in place of the ChannelTable nodes fuseChannelTables made, in a
 * copy of the graph taken after it (the standard graph an export writes).
 */
export function expandChannelTables(g: Graph): void {
  g.nodes = g.nodes.flatMap((n) =>
    n.opType === 'ChannelTable' && n.domain === 'qwasm' ? ((n as ChannelTableNode).chain ?? [n]) : [n],
  );
}
