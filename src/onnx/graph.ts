// The graph of an ONNX file as the planner reads it: nodes in execution order, initializers as
// tensors, declared inputs and outputs. Everything structural is checked here, before any
// planning: truncated bytes, an opset outside 9-21, a value no node or initializer defines,
// a cycle, an element type qwasm does not run.
import { QwasmError } from '../errors.js';
import { decodeModel, int64, type AttributeMessage, type ModelMessage, type ValueInfoMessage } from './proto.js';
import { dtypeOfCode, tensorFromMessage, type OnnxDtype, type OnnxTensor } from './tensor.js';

/** A node attribute: a number, a list of numbers, a string, a list of strings or a tensor. */
export type AttrValue = number | number[] | string | string[] | OnnxTensor;

/** One node of the graph (domain '' for the default ONNX domain). */
export interface GraphNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
  /** The attributes as the file wrote them (kept so an export writes them back with their types). */
  source?: AttributeMessage[];
}

/** A declared graph input or output: dims are numbers, names of symbolic dims, or null (unknown). */
export interface ValueDecl {
  name: string;
  dtype: OnnxDtype;
  dims: (number | string | null)[] | null;
}

/** A parsed model graph. */
export interface Graph {
  nodes: GraphNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: ValueDecl[];
  outputs: ValueDecl[];
  /** Version of the default ONNX opset. */
  opset: number;
}

/** The default-domain opsets qwasm/onnx plans. */
export const OPSET_MIN = 9;
export const OPSET_MAX = 21;

const ONNX_DOMAINS = new Set(['', 'ai.onnx']);

function attrValue(a: AttributeMessage, where: string): AttrValue {
  const dec = new TextDecoder();
  switch (a.type) {
    case 1:
      return a.f;
    case 2:
      return int64(a.i);
    case 3:
      return dec.decode(a.s);
    case 4:
      return tensorFromMessage(a.t!, `${where}.${a.name}`);
    case 6:
      return a.floats.slice();
    case 7:
      return a.ints.map((v) => int64(v));
    case 8:
      return a.strings.map((s) => dec.decode(s));
    default:
      // type left unset by old writers: take whichever field holds a value
      if (a.ints.length > 0) return a.ints.map((v) => int64(v));
      if (a.floats.length > 0) return a.floats.slice();
      if (a.t !== null && a.t !== undefined) return tensorFromMessage(a.t, `${where}.${a.name}`);
      if (a.s !== undefined && a.s.length > 0) return dec.decode(a.s);
      if (a.type === 0 && a.f !== 0) return a.f;
      if (a.type === 0) return int64(a.i);
      throw new QwasmError(
        `${where}.${a.name}`,
        `has attribute type ${a.type} (graphs and sparse tensors are not run)`,
      );
  }
}

function decl(v: ValueInfoMessage, where: string): ValueDecl {
  const tt = v.type?.tensorType;
  if (tt === null || tt === undefined) throw new QwasmError(where, `'${v.name}' is not a tensor`);
  const dtype = dtypeOfCode(tt.elemType);
  if (dtype === undefined)
    throw new QwasmError(where, `'${v.name}' has element type ${tt.elemType}, which qwasm/onnx does not run`);
  const dims =
    tt.shape === null || tt.shape === undefined
      ? null
      : tt.shape.dim.map((d) => {
          if (d.dimParam !== undefined && d.dimParam !== '') return d.dimParam;
          const n = int64(d.dimValue);
          return n > 0 ? n : null;
        });
  return { name: v.name, dtype, dims };
}

/** Decodes and checks a model file. */
export function parseModel(bytes: Uint8Array): Graph {
  if (!(bytes instanceof Uint8Array)) throw new QwasmError('bytes', 'must be a Uint8Array holding an ONNX model');
  let m: ModelMessage;
  try {
    m = decodeModel(bytes);
  } catch (e) {
    throw new QwasmError('bytes', `is not a readable ONNX model (${(e as Error).message})`);
  }
  const g = m.graph;
  if (g === null || g === undefined || g.node.length === 0) throw new QwasmError('bytes', 'holds no graph');
  let opset = 0;
  for (const o of m.opsetImport) if (ONNX_DOMAINS.has(o.domain ?? '')) opset = int64(o.version);
  if (opset < OPSET_MIN || opset > OPSET_MAX) {
    throw new QwasmError('bytes', `uses ONNX opset ${opset}; qwasm/onnx runs opsets ${OPSET_MIN}-${OPSET_MAX}`);
  }
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer) initializers.set(t.name, tensorFromMessage(t, `initializer '${t.name}'`));
  const inputs = g.input.filter((v) => !initializers.has(v.name)).map((v) => decl(v, 'graph input'));
  const outputs = g.output.map((v) => decl(v, 'graph output'));
  const raw = g.node.map((n, i): GraphNode => {
    const name = n.name !== undefined && n.name !== '' ? n.name : `${n.opType}_${i}`;
    const domain = ONNX_DOMAINS.has(n.domain ?? '') ? '' : n.domain;
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attribute) attrs.set(a.name, attrValue(a, `node '${name}' (${n.opType})`));
    return {
      name,
      opType: n.opType,
      domain,
      inputs: n.input.slice(),
      outputs: n.output.slice(),
      attrs,
      source: n.attribute,
    };
  });
  return { nodes: topoSort(raw, initializers, inputs), initializers, inputs, outputs, opset };
}

/** Nodes in an order where every value is defined before it is read; refuses cycles and undefined values. */
export function topoSort(nodes: GraphNode[], initializers: Map<string, unknown>, inputs: ValueDecl[]): GraphNode[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (producer.has(o) || initializers.has(o)) {
        throw new QwasmError(`node '${n.name}' (${n.opType})`, `defines '${o}', which is already defined`);
      }
      producer.set(o, i);
    }
  });
  const known = new Set<string>([...initializers.keys(), ...inputs.map((v) => v.name), '']);
  const pending = nodes.map((n) => n.inputs.filter((x) => !known.has(x)).length);
  const readers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const x of n.inputs) {
      if (known.has(x)) continue;
      if (!producer.has(x)) {
        throw new QwasmError(
          `node '${n.name}' (${n.opType})`,
          `reads '${x}', which no node, initializer or input defines`,
        );
      }
      const r = readers.get(x) ?? [];
      r.push(i);
      readers.set(x, r);
    }
  });
  const ready: number[] = [];
  pending.forEach((p, i) => p === 0 && ready.push(i));
  const order: GraphNode[] = [];
  while (ready.length > 0) {
    const i = ready.shift()!;
    const n = nodes[i]!;
    order.push(n);
    for (const o of n.outputs) {
      for (const r of readers.get(o) ?? []) {
        // a node reading one value twice counts it twice
        pending[r]! -= nodes[r]!.inputs.filter((x) => x === o).length;
        if (pending[r] === 0) ready.push(r);
      }
    }
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.find((_, i) => pending[i]! > 0)!;
    throw new QwasmError(
      `node '${stuck.name}' (${stuck.opType})`,
      'is part of a cycle: the graph has no execution order',
    );
  }
  return order;
}
