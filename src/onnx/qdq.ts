// Reading a QDQ model: QuantizeLinear -> DequantizeLinear pairs on activations become
// quantization annotations of the float graph, DequantizeLinear of constant weights becomes
// the float weights plus their scales. The planner then runs the annotated graph with the
// same int8 kernels a model quantized here uses, so a QDQ file written by toOnnx() runs
// exactly as the model that wrote it.
import { QwasmError } from '../errors.js';
import type { Graph, GraphNode } from './graph.js';
import type { QuantAnnotations } from './lower-int8.js';
import type { ValQuant } from './plan.js';
import { numel, type OnnxTensor } from './tensor.js';

const QDQ = new Set(['QuantizeLinear', 'DequantizeLinear']);

function where(n: GraphNode): string {
  return `node '${n.name}' (${n.opType})`;
}

function axisOf(n: GraphNode): number {
  const a = n.attrs.get('axis');
  return typeof a === 'number' ? a : 1;
}

/** Dequantizes a constant per tensor or along `axis` (ONNX DequantizeLinear). */
function dequantizeConst(x: OnnxTensor, scale: OnnxTensor, zp: OnnxTensor | undefined, axis: number): Float32Array {
  const out = new Float32Array(numel(x.shape));
  const ns = numel(scale.shape);
  const a = axis < 0 ? axis + x.shape.length : axis;
  const inner = ns === 1 ? 1 : numel(x.shape.slice(a + 1));
  for (let i = 0; i < out.length; i++) {
    const c = ns === 1 ? 0 : Math.floor(i / inner) % ns;
    out[i] = (x.data[i]! - (zp === undefined ? 0 : zp.data[c]!)) * scale.data[c]!;
  }
  return out;
}

/** A QuantizeLinear or DequantizeLinear of the standard or the contrib domain. */
function isQdq(n: GraphNode, op: 'QuantizeLinear' | 'DequantizeLinear'): boolean {
  return n.opType === op && (n.domain === '' || n.domain === 'com.microsoft');
}

/**
 * 16-bit Q / DQ (an int16 zero point, the form quantize's `int16` option writes): a
 * DequantizeLinear of int16 constants becomes the float constants, a QuantizeLinear read only
 * by DequantizeLinear becomes one qwasm.QuantizeDequantize node (the values rounded to the
 * grid, float32 in and out), the arithmetic of the pair.
 */
function stripInt16(g: Graph): void {
  const init = (name: string | undefined): OnnxTensor | undefined => (name ? g.initializers.get(name) : undefined);
  const removed = new Set<GraphNode>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const replaced = new Map<GraphNode, GraphNode>();
  for (const n of g.nodes) {
    const x = init(n.inputs[0]);
    if (isQdq(n, 'DequantizeLinear') && x?.dtype === 'int16') {
      const scale = init(n.inputs[1]);
      if (scale === undefined) throw new QwasmError(where(n), 'needs a constant scale');
      const data = dequantizeConst(x, scale, init(n.inputs[2]), axisOf(n));
      g.initializers.set(n.outputs[0]!, { data, shape: x.shape, dtype: 'float32' });
      removed.add(n);
      continue;
    }
    if (!isQdq(n, 'QuantizeLinear') || init(n.inputs[2])?.dtype !== 'int16') continue;
    const scale = init(n.inputs[1]);
    const zp = init(n.inputs[2])!;
    if (scale === undefined || numel(scale.shape) !== 1 || numel(zp.shape) !== 1)
      throw new QwasmError(where(n), 'needs a constant per-tensor scale and zero point for 16 bits');
    const dqs = consumers.get(n.outputs[0]!) ?? [];
    if (dqs.length === 0 || outputs.has(n.outputs[0]!) || !dqs.every((d) => isQdq(d, 'DequantizeLinear')))
      throw new QwasmError(
        where(n),
        'quantizes to int16; qwasm runs 16 bits only as a QuantizeLinear -> DequantizeLinear pair',
      );
    for (const d of dqs) {
      if (init(d.inputs[1])?.data[0] !== scale.data[0] || init(d.inputs[2])?.data[0] !== zp.data[0])
        throw new QwasmError(
          where(d),
          'dequantizes 16-bit codes with another scale or zero point than they were made with',
        );
      const z = zp.data[0]!;
      replaced.set(d, {
        name: d.name,
        opType: 'QuantizeDequantize',
        domain: 'qwasm',
        inputs: [n.inputs[0]!],
        outputs: [d.outputs[0]!],
        attrs: new Map<string, number>([
          ['scale', scale.data[0]!],
          ['lo', -32768 - z],
          ['hi', 32767 - z],
        ]),
      });
    }
    removed.add(n);
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
}

/** Strips Q / DQ nodes into annotations; null when the graph has none. */
export function stripQdq(g: Graph): QuantAnnotations | null {
  stripInt16(g);
  if (!g.nodes.some((n) => (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && n.domain === ''))
    return null;
  const values = new Map<string, ValQuant>();
  const weights = new Map<string, Float32Array>();
  const removed = new Set<GraphNode>();
  const rename = new Map<string, string>();
  const added: GraphNode[] = [];
  const outputs = new Set(g.outputs.map((o) => o.name));
  const producers = new Map<string, GraphNode>();
  for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);
  const renamedOutputs = new Map<string, string>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const init = (name: string | undefined): OnnxTensor | undefined => (name ? g.initializers.get(name) : undefined);
  for (const n of g.nodes) {
    if (n.opType !== 'DequantizeLinear' || n.domain !== '') continue;
    const x = init(n.inputs[0]);
    const scale = init(n.inputs[1]);
    if (x === undefined) continue;
    if (scale === undefined) throw new QwasmError(where(n), 'needs a constant scale');
    const zp = init(n.inputs[2]);
    const axis = axisOf(n);
    g.initializers.set(n.outputs[0]!, { data: dequantizeConst(x, scale, zp, axis), shape: x.shape, dtype: 'float32' });
    const symmetric = zp === undefined || zp.data.every((v) => v === 0);
    if (x.dtype === 'int8' && symmetric && (numel(scale.shape) === 1 || axis === 0 || axis === 1)) {
      const M = numel(scale.shape) === 1 ? 1 : numel(scale.shape);
      weights.set(
        n.outputs[0]!,
        Float32Array.from({ length: M }, (_, i) => scale.data[i]!),
      );
    }
    removed.add(n);
  }
  for (const q of g.nodes) {
    if (q.opType !== 'QuantizeLinear' || q.domain !== '') continue;
    const scale = init(q.inputs[1]);
    const zp = init(q.inputs[2]);
    if (scale === undefined || numel(scale.shape) !== 1)
      throw new QwasmError(where(q), 'needs a constant per-tensor scale for an activation');
    const unsigned = zp === undefined || zp.dtype === 'uint8';
    if (zp !== undefined && zp.dtype !== 'uint8' && zp.dtype !== 'int8')
      throw new QwasmError(where(q), `quantizes to ${zp.dtype}; int8 and uint8 are run`);
    const quant: ValQuant = {
      scale: scale.data[0]!,
      zeroPoint: (zp === undefined ? 0 : zp.data[0]!) - (unsigned ? 128 : 0),
    };
    const dqs = consumers.get(q.outputs[0]!) ?? [];
    // a QuantizeLinear read by anything else stays a node (the engine's quantizeLinear runs it)
    if (dqs.length === 0 || !dqs.every((d) => d.opType === 'DequantizeLinear') || outputs.has(q.outputs[0]!)) continue;
    let src = q.inputs[0]!;
    // a graph output behind the pair: the node that makes src writes it under the output's
    // name (an Identity would leave two names for one value, and an export of the model
    // would quantize both)
    const toOutput = dqs.find((d) => outputs.has(d.outputs[0]!));
    const from = producers.get(src);
    if (
      toOutput !== undefined &&
      from !== undefined &&
      !QDQ.has(from.opType) &&
      !outputs.has(src) &&
      !renamedOutputs.has(src)
    ) {
      const out = toOutput.outputs[0]!;
      renamedOutputs.set(src, out);
      rename.set(src, out);
      src = out;
    }
    values.set(src, quant);
    removed.add(q);
    for (const d of dqs) {
      removed.add(d);
      const out = d.outputs[0]!;
      if (out === src) continue;
      if (outputs.has(out)) {
        added.push({
          name: `${d.name}::identity`,
          opType: 'Identity',
          domain: '',
          inputs: [src],
          outputs: [out],
          attrs: new Map(),
        });
        values.set(out, quant);
      } else rename.set(out, src);
    }
  }
  const resolve = (name: string): string => {
    let r = name;
    for (let next = rename.get(r); next !== undefined && next !== r; next = rename.get(r)) r = next;
    return r;
  };
  for (const n of g.nodes) {
    if (removed.has(n)) continue;
    n.inputs = n.inputs.map(resolve);
    n.outputs = n.outputs.map((o) => renamedOutputs.get(o) ?? o);
  }
  for (const n of added) n.inputs = n.inputs.map(resolve);
  g.nodes = [...g.nodes.filter((n) => !removed.has(n)), ...added];
  return { values, weights, keepFloat: new Set(), requant: 'fp32' };
}
