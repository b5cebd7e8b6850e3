// Writing ONNX: the standard graph (constants hoisted, BatchNorm folded) with, for a quantized
// model, QuantizeLinear -> DequantizeLinear after every int8 activation, int8 weights with
// per-channel scales on axis 0 (axis 1 for MatMul's [K, N]) and int32 biases at scale
// xScale * wScale, each behind a DequantizeLinear. Models older than opset 13 are written at
// 13 (per-axis DequantizeLinear needs it), their few changed ops rewritten to the new form.
import { QwasmError } from '../errors.js';
import type { AttributeMessage } from './proto.js';
import { encodeModel } from './proto.js';
import type { Graph, GraphNode, ValueDecl } from './graph.js';
import { quantizeBias, quantizeWeights, type QuantAnnotations } from './lower-int8.js';
import { permute } from './plan.js';
import { DTYPE_CODES, type OnnxTensor } from './tensor.js';

interface OutNode {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: object[];
}

function tensorMessage(name: string, t: OnnxTensor): object {
  const n = t.data.length;
  let raw: Uint8Array;
  switch (t.dtype) {
    case 'int64': {
      const b = new BigInt64Array(n);
      for (let i = 0; i < n; i++) b[i] = BigInt(Math.trunc(t.data[i]!));
      raw = new Uint8Array(b.buffer);
      break;
    }
    default:
      raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
  }
  return { name, dims: [...t.shape], dataType: DTYPE_CODES[t.dtype], rawData: raw };
}

function valueInfo(d: ValueDecl): object {
  const shape =
    d.dims === null
      ? undefined
      : { dim: d.dims.map((x) => (typeof x === 'number' ? { dimValue: x } : { dimParam: x ?? '?' })) };
  return { name: d.name, type: { tensorType: { elemType: DTYPE_CODES[d.dtype], shape } } };
}

const intAttr = (name: string, i: number): object => ({ name, type: 2, i });

/** Node attributes as the file had them, less `drop`. */
function attrsOf(n: GraphNode, drop: string[] = []): object[] {
  return (n.source ?? []).filter((a: AttributeMessage) => !drop.includes(a.name));
}

/** Rewrites an opset-9..12 node to its opset-13 form (attributes that became inputs). */
function upgrade(n: GraphNode, opset: number, addConst: (t: OnnxTensor) => string): OutNode {
  const base: OutNode = {
    name: n.name,
    opType: n.opType,
    domain: n.domain,
    input: [...n.inputs],
    output: [...n.outputs],
    attribute: attrsOf(n),
  };
  const ints = (k: string): number[] | undefined => {
    const v = n.attrs.get(k);
    return Array.isArray(v) ? (v as number[]) : undefined;
  };
  const i64 = (v: number[]): string => addConst({ data: Float64Array.from(v), shape: [v.length], dtype: 'int64' });
  switch (n.opType) {
    case 'Clip':
      if (opset < 11) {
        const lo = n.attrs.get('min');
        const hi = n.attrs.get('max');
        base.input = [
          n.inputs[0]!,
          typeof lo === 'number' ? addConst({ data: Float32Array.of(lo), shape: [], dtype: 'float32' }) : '',
          typeof hi === 'number' ? addConst({ data: Float32Array.of(hi), shape: [], dtype: 'float32' }) : '',
        ];
        base.attribute = attrsOf(n, ['min', 'max']);
      }
      break;
    case 'Slice':
      if (opset < 10) {
        const axes = ints('axes');
        base.input = [n.inputs[0]!, i64(ints('starts')!), i64(ints('ends')!), ...(axes ? [i64(axes)] : [])];
        base.attribute = attrsOf(n, ['starts', 'ends', 'axes']);
      }
      break;
    case 'Squeeze':
    case 'Unsqueeze':
    case 'ReduceSum': {
      const axes = ints('axes');
      if (axes !== undefined) base.input = [n.inputs[0]!, i64(axes)];
      base.attribute = attrsOf(n, ['axes']);
      break;
    }
    case 'Split':
      if (ints('split') !== undefined) {
        base.input = [n.inputs[0]!, i64(ints('split')!)];
        base.attribute = attrsOf(n, ['split']);
      }
      break;
    case 'Upsample':
    case 'Pad':
      if (opset < 11)
        throw new QwasmError(`node '${n.name}' (${n.opType})`, `cannot be written at opset 13 from opset ${opset}`);
      break;
    default:
  }
  return base;
}

/**
 * Encodes the standard graph; with annotations, as a QDQ model.
 *
 * @param standard the graph before fusions (standard ONNX)
 * @param fused the graph the plans run (its conv inputs name the quantized activations)
 */
export function exportQdq(standard: Graph, fused: Graph, annotations: QuantAnnotations | null): Uint8Array {
  // a dynamic model quantizes at run time: the file it writes is the float graph
  const ann = annotations !== null && annotations.dynamic === true ? null : annotations;
  const opset = ann === null ? standard.opset : Math.max(13, standard.opset);
  const initializers = new Map<string, OnnxTensor>();
  const used = new Set<string>();
  for (const n of standard.nodes) for (const i of n.inputs) used.add(i);
  for (const o of standard.outputs) used.add(o.name);
  let k = 0;
  const addConst = (t: OnnxTensor, hint = 'const'): string => {
    const name = `qwasm::${hint}_${k++}`;
    initializers.set(name, t);
    return name;
  };
  const nodes: OutNode[] = [];
  const rename = new Map<string, string>();
  const scalar = (v: number): string => addConst({ data: Float32Array.of(v), shape: [], dtype: 'float32' }, 'scale');
  // quantized activations: T -> Q -> DQ -> T__dq (graph outputs keep their name: the producer writes T__f)
  const qdqAfter = (t: string, src: string, dst: string): void => {
    const q = ann!.values.get(t)!;
    // uint8 codes (the int8 code + 128, the same values): onnxruntime on x86 fuses DQ -> Conv -> Q
    // into its integer QLinearConv only for uint8 activations, and converts int8 Q -> DQ pairs
    // to uint8 only where the DQ has one reader, so with int8 a conv whose input or output
    // fans out ran in float32 there and rounded differently
    const zp = addConst({ data: Uint8Array.of(q.zeroPoint + 128), shape: [], dtype: 'uint8' }, 'zero_point');
    const s = scalar(q.scale);
    nodes.push({
      name: `${t}::quantize`,
      opType: 'QuantizeLinear',
      domain: '',
      input: [src, s, zp],
      output: [`${t}__q`],
      attribute: [],
    });
    nodes.push({
      name: `${t}::dequantize`,
      opType: 'DequantizeLinear',
      domain: '',
      input: [`${t}__q`, s, zp],
      output: [dst],
      attribute: [],
    });
  };
  const outputs = new Set(standard.outputs.map((o) => o.name));
  const inputNames = new Set(standard.inputs.map((i) => i.name));
  if (ann !== null) {
    for (const t of ann.values.keys()) {
      if (outputs.has(t)) rename.set(t, `${t}__f`);
      else if (used.has(t) || inputNames.has(t)) rename.set(`use:${t}`, `${t}__dq`);
    }
  }
  const convInput = new Map<string, string>();
  for (const n of fused.nodes)
    if (['Conv', 'ConvTranspose', 'MatMul'].includes(n.opType)) convInput.set(n.inputs[1]!, n.inputs[0]!);
  for (const t of inputNames) if (ann?.values.has(t)) qdqAfter(t, t, `${t}__dq`);
  for (const n of standard.nodes) {
    const out =
      opset !== standard.opset
        ? upgrade(n, standard.opset, (t) => addConst(t))
        : {
            name: n.name,
            opType: n.opType,
            domain: n.domain,
            input: [...n.inputs],
            output: [...n.outputs],
            attribute: attrsOf(n),
          };
    out.input = out.input.map((i) => rename.get(`use:${i}`) ?? i);
    // weights and biases behind DequantizeLinear
    const wName = n.inputs[1];
    const ws = wName === undefined ? undefined : ann?.weights.get(wName);
    const w = wName === undefined ? undefined : standard.initializers.get(wName);
    if (ann !== null && ws !== undefined && w !== undefined && ['Conv', 'ConvTranspose', 'MatMul'].includes(n.opType)) {
      const isMatMul = n.opType === 'MatMul';
      const wf = w.data as Float32Array;
      const wq = isMatMul
        ? (permute(
            quantizeWeights(permute(wf, w.shape, [1, 0]) as Float32Array, ws),
            [w.shape[1]!, w.shape[0]!],
            [1, 0],
          ) as Int8Array)
        : quantizeWeights(wf, ws);
      const qName = addConst({ data: wq, shape: w.shape, dtype: 'int8' }, 'weight_q');
      const perAxis = ws.length > 1 && n.opType !== 'ConvTranspose';
      const sName = perAxis
        ? addConst({ data: Float32Array.from(ws), shape: [ws.length], dtype: 'float32' }, 'weight_scale')
        : scalar(ws[0]!);
      const zName = addConst(
        { data: new Int8Array(perAxis ? ws.length : 1), shape: perAxis ? [ws.length] : [], dtype: 'int8' },
        'weight_zero_point',
      );
      const dq = `${wName}__dq`;
      nodes.push({
        name: `${wName}::dequantize`,
        opType: 'DequantizeLinear',
        domain: '',
        input: [qName, sName, zName],
        output: [dq],
        attribute: perAxis ? [intAttr('axis', isMatMul ? 1 : 0)] : [],
      });
      out.input[1] = dq;
      const x = ann.values.get(n.inputs[0]!);
      const bName = n.inputs[2];
      const b = bName ? standard.initializers.get(bName) : undefined;
      if (x !== undefined && b !== undefined && n.opType === 'Conv') {
        const M = w.shape[0]!;
        const bq = quantizeBias(b.data as Float32Array, x.scale, ws, M);
        const bs = Float32Array.from({ length: M }, (_, o) =>
          Math.fround(Math.fround(x.scale) * ws[ws.length === 1 ? 0 : o]!),
        );
        const bqName = addConst({ data: bq, shape: [M], dtype: 'int32' }, 'bias_q');
        const bsName = addConst({ data: bs, shape: [M], dtype: 'float32' }, 'bias_scale');
        const bzName = addConst({ data: new Int32Array(M), shape: [M], dtype: 'int32' }, 'bias_zero_point');
        nodes.push({
          name: `${bName}::dequantize`,
          opType: 'DequantizeLinear',
          domain: '',
          input: [bqName, bsName, bzName],
          output: [`${bName}__dq`],
          attribute: [intAttr('axis', 0)],
        });
        out.input[2] = `${bName}__dq`;
      }
    }
    out.output = out.output.map((o) => rename.get(o) ?? o);
    nodes.push(out);
    if (ann !== null) {
      for (const o of n.outputs) {
        if (!ann.values.has(o)) continue;
        if (outputs.has(o)) qdqAfter(o, `${o}__f`, o);
        else qdqAfter(o, o, `${o}__dq`);
      }
    }
  }
  for (const [name, t] of standard.initializers)
    if (used.has(name) && !initializers.has(name)) initializers.set(name, t);
  const model = {
    irVersion: 8,
    producerName: 'qwasm',
    opsetImport: [
      { domain: '', version: opset },
      ...[...new Set(nodes.map((n) => n.domain))]
        .filter((d) => d !== '' && d !== 'ai.onnx')
        .map((domain) => ({ domain, version: 1 })),
    ],
    graph: {
      name: 'qwasm',
      node: nodes,
      initializer: [...initializers]
        .filter(([name]) => nodes.some((n) => n.input.includes(name)))
        .map(([name, t]) => tensorMessage(name, t)),
      input: standard.inputs.map(valueInfo),
      output: standard.outputs.map(valueInfo),
    },
  };
  return encodeModel(model);
}
