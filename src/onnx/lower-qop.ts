// Lowerings of the quantized ONNX operators as files carry them (QOperator form): ONNX
// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
// QLinearConv, QLinearMatMul, and onnxruntime's com.microsoft QLinearAdd / QLinearMul /
// QLinearSigmoid / QLinearLeakyRelu / QLinearGlobalAveragePool / QLinearAveragePool /
// QLinearConcat / QLinearSoftmax. Each runs the engine op of the same name, in NCHW as
// the file lays its tensors out, so its arithmetic is the engine's, exactly.
import { QwasmError } from '../errors.js';
import type { Qwasm } from '../engine.js';
import type { Tensor, TypedArray } from '../tensor.js';
import type { GraphNode } from './graph.js';
import { attrFloat, attrInt, attrInts, attrString, refuse } from './attrs.js';
import { at, type Lowering, type Planner, type Val } from './plan.js';
import { allocArray, dtypeOfArray, numel, type OnnxArray } from './tensor.js';

type Scalarish = number | Float32Array | Int8Array | Uint8Array | Int32Array;

/** The engine call of one node: activations as tensors, constants already read. */
type EngineCall = (qw: Qwasm, x: Tensor[], k: (i: number) => Scalarish | undefined) => Tensor | Tensor[];

function constParam(p: Planner, n: GraphNode, v: Val | null | undefined, i: number): Scalarish | undefined {
  if (v === null || v === undefined) return undefined;
  const d = p.constData(v, n, `input ${i} (a scale or zero point)`);
  if (d instanceof Float64Array) return numel(v.shape) === 1 ? d[0]! : Float32Array.from(d);
  return numel(v.shape) === 1 && d instanceof Float32Array ? d[0]! : (d as Scalarish);
}

/**
 * A lowering through an engine op: `acts` are the indices of runtime tensor inputs, the rest
 * are constants. The output shape and dtype come from one call on zeros at plan time.
 */
function engineLowering(label: string, acts: number[], call: EngineCall): Lowering {
  return (p, n, ins) => {
    const xs = acts.map((i) => {
      const v = ins[i];
      if (v === null || v === undefined) throw new QwasmError(at(n), `is missing input ${i}`);
      return p.nchw(v);
    });
    const k = (i: number): Scalarish | undefined => constParam(p, n, ins[i], i);
    const probe = xs.map((v): Tensor => ({
      data: (v.isConst ? v.data : allocArray(v.dtype, numel(v.shape))) as TypedArray,
      shape: [...v.shape],
    }));
    let r: Tensor | Tensor[];
    try {
      r = call(p.qw, probe, k);
    } catch (e) {
      if (e instanceof QwasmError) throw new QwasmError(at(n), e.message);
      throw e;
    }
    const results = Array.isArray(r) ? r : [r];
    const outs = results.map((t, j) => {
      const dtype = dtypeOfArray(t.data);
      if (dtype === undefined) throw new QwasmError(at(n), 'gave an output type qwasm/onnx does not carry');
      return p.val(t.shape, dtype, false, n.outputs[j] ?? '');
    });
    const tensors = xs.map((v): Tensor => ({ data: new Float32Array(0), shape: [...v.shape] }));
    p.step(n.name, `${n.opType} (${label})`, xs, outs, () => {
      xs.forEach((v, i) => (tensors[i]!.data = v.data as TypedArray));
      const res = call(p.qw, tensors, k);
      (Array.isArray(res) ? res : [res]).forEach((t, j) => outs[j]!.data!.set(t.data as never));
    });
    return outs;
  };
}

function convAttrs(n: GraphNode): {
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group: number;
  autoPad: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
} {
  const autoPad = attrString(n, 'auto_pad', 'NOTSET') as 'NOTSET';
  refuse(
    n,
    ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad),
    `auto_pad ${autoPad} is not an ONNX value`,
  );
  return {
    strides: attrInts(n, 'strides'),
    pads: attrInts(n, 'pads'),
    dilations: attrInts(n, 'dilations'),
    group: attrInt(n, 'group', 1),
    autoPad,
  };
}

const num = (v: Scalarish | undefined): number => (typeof v === 'number' ? v : v === undefined ? 0 : v[0]!);

function qlinearBinary(kind: 'Add' | 'Mul'): EngineCall {
  return (qw, [a, b], k) =>
    (kind === 'Add' ? qw.qlinearAdd : qw.qlinearMul).call(
      qw,
      a!,
      num(k(1)),
      num(k(2)),
      b!,
      num(k(4)),
      num(k(5)),
      num(k(6)),
      num(k(7)),
    );
}

/** The QOperator lowerings, by op type (contrib ops as 'com.microsoft.<op>'). */
export function qopLowerings(): Map<string, Lowering> {
  const m = new Map<string, Lowering>();
  m.set('QuantizeLinear', (p, n, ins) => {
    const zp = ins[2];
    const dtype = zp === null || zp === undefined ? 'uint8' : zp.dtype;
    if (dtype !== 'int8' && dtype !== 'uint8')
      throw new QwasmError(at(n), `quantizes to ${dtype}; int8 and uint8 are run`);
    return engineLowering('quantizeLinear', [0], (qw, [x], k) =>
      qw.quantizeLinear(x!, k(1) as number, k(2) as number, { axis: attrInt(n, 'axis', 1), dtype }),
    )(p, n, ins);
  });
  m.set('DequantizeLinear', (p, n, ins) =>
    engineLowering('dequantizeLinear', [0], (qw, [x], k) =>
      qw.dequantizeLinear(x!, k(1) as number, k(2) as number, { axis: attrInt(n, 'axis', 1) }),
    )(p, n, ins),
  );
  m.set(
    'DynamicQuantizeLinear',
    engineLowering('dynamicQuantizeLinear', [0], (qw, [x]) => {
      const r = qw.dynamicQuantizeLinear(x!);
      return [r.y, { data: Float32Array.of(r.scale), shape: [] }, { data: Uint8Array.of(r.zeroPoint), shape: [] }];
    }),
  );
  m.set(
    'MatMulInteger',
    engineLowering('matMulInteger', [0, 1], (qw, [a, b], k) =>
      qw.matMulInteger(a!, b!, k(2) as number, k(3) as number),
    ),
  );
  m.set(
    'QLinearMatMul',
    engineLowering('qlinearMatMul', [0, 3], (qw, [a, b], k) =>
      qw.qlinearMatMul(a!, num(k(1)), num(k(2)), b!, k(4) as number, k(5) as number, num(k(6)), num(k(7))),
    ),
  );
  m.set('ConvInteger', (p, n, ins) =>
    engineLowering('convInteger', [0, 1], (qw, [x, w], k) =>
      qw.convInteger(x!, w!, k(2) as number, k(3) as number, convAttrs(n)),
    )(p, n, ins),
  );
  m.set('QLinearConv', (p, n, ins) =>
    engineLowering('qlinearConv', [0, 3], (qw, [x, w], k) =>
      qw.qlinearConv(
        x!,
        num(k(1)),
        num(k(2)),
        w!,
        k(4) as number,
        k(5) as number,
        num(k(6)),
        num(k(7)),
        k(8) as Int32Array | undefined,
        convAttrs(n),
      ),
    )(p, n, ins),
  );
  m.set('com.microsoft.QLinearAdd', engineLowering('qlinearAdd', [0, 3], qlinearBinary('Add')));
  m.set('com.microsoft.QLinearMul', engineLowering('qlinearMul', [0, 3], qlinearBinary('Mul')));
  m.set(
    'com.microsoft.QLinearSigmoid',
    engineLowering('qlinearSigmoid', [0], (qw, [x], k) =>
      qw.qlinearSigmoid(x!, num(k(1)), num(k(2)), num(k(3)), num(k(4))),
    ),
  );
  m.set('com.microsoft.QLinearLeakyRelu', (p, n, ins) =>
    engineLowering('qlinearLeakyRelu', [0], (qw, [x], k) =>
      qw.qlinearLeakyRelu(x!, num(k(1)), num(k(2)), num(k(3)), num(k(4)), { alpha: attrFloat(n, 'alpha', 0.01) }),
    )(p, n, ins),
  );
  m.set('com.microsoft.QLinearGlobalAveragePool', (p, n, ins) =>
    engineLowering('qlinearGlobalAveragePool', [0], (qw, [x], k) =>
      qw.qlinearGlobalAveragePool(x!, num(k(1)), num(k(2)), num(k(3)), num(k(4)), {
        layout: attrInt(n, 'channels_last', 0) === 1 ? 'NHWC' : 'NCHW',
      }),
    )(p, n, ins),
  );
  m.set('com.microsoft.QLinearAveragePool', (p, n, ins) =>
    engineLowering('qlinearAveragePool', [0], (qw, [x], k) =>
      qw.qlinearAveragePool(x!, num(k(1)), num(k(2)), num(k(3)), num(k(4)), {
        kernelShape: attrInts(n, 'kernel_shape') ?? [],
        strides: attrInts(n, 'strides'),
        pads: attrInts(n, 'pads'),
        ceilMode: attrInt(n, 'ceil_mode', 0) === 1,
        countIncludePad: attrInt(n, 'count_include_pad', 0) === 1,
        layout: attrInt(n, 'channels_last', 0) === 1 ? 'NHWC' : 'NCHW',
      }),
    )(p, n, ins),
  );
  m.set('com.microsoft.QLinearSoftmax', (p, n, ins) =>
    engineLowering('qlinearSoftmax', [0], (qw, [x], k) =>
      qw.qlinearSoftmax(x!, num(k(1)), num(k(2)), num(k(3)), num(k(4)), { axis: attrInt(n, 'axis', -1) }),
    )(p, n, ins),
  );
  m.set('com.microsoft.QLinearConcat', (p, n, ins) => {
    const count = (ins.length - 2) / 3;
    refuse(n, Number.isInteger(count) && count >= 1, 'needs Y_scale, Y_zero_point and (X, scale, zero point) triples');
    const acts = Array.from({ length: count }, (_, i) => 2 + 3 * i);
    return engineLowering('qlinearConcat', acts, (qw, xs, k) =>
      qw.qlinearConcat(
        xs.map((x, i) => [x, num(k(3 + 3 * i)), num(k(4 + 3 * i))] as [Tensor, number, number]),
        num(k(0)),
        num(k(1)),
        { axis: attrInt(n, 'axis', 0) },
      ),
    )(p, n, ins);
  });
  return m;
}

export type { OnnxArray };
