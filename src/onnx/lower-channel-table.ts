// The int8 form of a float function applied per channel between two quantized values, run as
// one 256-entry table per channel over x's codes. Two graphs make it: quantize, for a table op
// it equalized per channel (see equalize.ts, "tableEqualizations"): y_c = fn(t_c * x_c + o_c)
// / s_c, whose float form is the Mul -> Add -> table op -> Mul chain the equalized float graph
// and the QDQ export keep; and the load of a QDQ file, where such a chain (or any chain of
// one-input elementwise ops with per-channel constants, fuse-channel-tables.ts) between a
// dequantize and a quantize runs as float ops in onnxruntime. Either way each table entry is
// the chain computed in float32, one rounding per op, as onnxruntime computes the file.
import { QwasmError } from '../errors.js';
import type { GraphNode } from './graph.js';
import { binaryScalar, type BinaryOp } from './kernels.js';
import type { QuantContext } from './lower-int8.js';
import { at, type Lowering, type Planner, type Val, type ValQuant } from './plan.js';
import { numel } from './tensor.js';
import { roundHalfEven } from '../quant/multiplier.js';

/**
 * One instruction of a {@link ChannelProgram}: register `i + 1` (for instruction i) gets
 * `op(register a, register b)`, or `op(register a, c)` with b = -1 (`c` one value, or one per
 * channel; `swap` puts it first), or for a function op, `op(register a)` (it rounds its own
 * result to float32).
 */
export interface ChannelInst {
  op: BinaryOp | ((x: number) => number);
  a: number;
  b: number;
  c: Float32Array;
  swap: boolean;
}

/** A float32 function of one value with per-channel constants; register 0 holds the input, the last instruction writes the result. */
export interface ChannelProgram {
  insts: ChannelInst[];
  /** How many channels the per-channel constants have. */
  channels: number;
  /** The channel axis counted from the end of the input's dims (3 for constants [1, C, 1, 1] or [C, 1, 1] on NCHW). */
  axisFromEnd: number;
  /** The constants' largest rank: an input of fewer dims is broadcast to it (leading 1s). */
  rank: number;
}

/**
 * The node that runs a per-channel function as tables. quantize's form has inputs [x, t, o,
 * 1 / s] and `fn` (the table op); a QDQ file's has input [x] and `program`, and `chain`, the
 * float nodes it stands for (the standard graph a re-export writes keeps them).
 */
export interface ChannelTableNode extends GraphNode {
  opType: 'ChannelTable';
  domain: 'qwasm';
  /** The table op's function of one real value (quantize's form). */
  fn?: (x: number) => number;
  /** The whole function, constants included (a QDQ file's form). */
  program?: ChannelProgram;
  /** The float nodes the node replaced, in order. */
  chain?: GraphNode[];
}

/**
 * C tables of 256 codes (as bytes), table c at c * 256 indexed by the code's byte (code & 255):
 * each code dequantized in float32 ((code - zp) * scale, ONNX DequantizeLinear), run through
 * the program's instructions in float32 (one rounding per instruction), then quantized as
 * ONNX QuantizeLinear does (float32 division by the scale, ties to even, NaN to the zero point).
 */
export function programTables(
  program: ChannelProgram,
  x: { scale: number; zeroPoint: number },
  y: { scale: number; zeroPoint: number },
): Uint8Array {
  const C = program.channels;
  const insts = program.insts;
  const out = new Uint8Array(C * 256);
  const f = Math.fround;
  const xs = f(x.scale);
  const ys = f(y.scale);
  const regs = new Float32Array(insts.length + 1);
  for (let c = 0; c < C; c++)
    for (let k = -128; k < 128; k++) {
      regs[0] = (k - x.zeroPoint) * xs;
      for (let i = 0; i < insts.length; i++) {
        const s = insts[i]!;
        const a = regs[s.a]!;
        if (typeof s.op === 'function') regs[i + 1] = s.op(a);
        else {
          const b = s.b >= 0 ? regs[s.b]! : s.c[s.c.length === 1 ? 0 : c]!;
          regs[i + 1] = s.swap ? binaryScalar(s.op, b, a) : binaryScalar(s.op, a, b);
        }
      }
      const r = f(regs[insts.length]! / ys);
      out[c * 256 + (k & 255)] = Number.isNaN(r)
        ? y.zeroPoint & 255
        : Math.max(-128, Math.min(127, roundHalfEven(r) + y.zeroPoint)) & 255;
    }
  return out;
}

/**
 * quantize's tables: real = (code - zp) * scale * t_c + o_c, then fn, then * (1 / s_c), each
 * rounded to float32 as the QDQ export's float ops compute it.
 */
export function channelTables(
  fn: (x: number) => number,
  t: ArrayLike<number>,
  o: ArrayLike<number>,
  sInv: ArrayLike<number>,
  x: { scale: number; zeroPoint: number },
  y: { scale: number; zeroPoint: number },
): Uint8Array {
  const inst = (op: ChannelInst['op'], a: number, c: ArrayLike<number> = []): ChannelInst => ({
    op,
    a,
    b: -1,
    c: Float32Array.from(c),
    swap: false,
  });
  const f = Math.fround;
  const program: ChannelProgram = {
    insts: [inst('Mul', 0, t), inst('Add', 1, o), inst((v) => f(fn(v)), 2), inst('Mul', 3, sInv)],
    channels: t.length,
    axisFromEnd: 3,
    rank: 0,
  };
  return programTables(program, x, y);
}

/**
 * A ChannelTable whose input has one channel where its constants have C: the output repeats
 * the input along that axis, channel c through table c (numpy broadcasting), in JavaScript.
 */
function broadcastChannels(
  p: Planner,
  n: GraphNode,
  x: Val,
  axis: number,
  C: number,
  tables: Uint8Array,
  yq: ValQuant,
): Val {
  const lead = Math.max(0, (n as ChannelTableNode).program!.rank - x.shape.length);
  const xs = p.nchw(x);
  const shape = [...new Array<number>(lead).fill(1), ...xs.shape];
  shape[lead + axis] = C;
  const y = p.val(shape, 'int8', false, n.outputs[0]);
  y.quant = yq;
  const inner = numel(xs.shape.slice(axis + 1));
  const outer = numel(xs.shape.slice(0, axis));
  p.step(n.name, `${n.opType} (per-channel tables, broadcast)`, [xs], [y], () => {
    const xd = new Uint8Array(xs.data!.buffer, xs.data!.byteOffset, outer * inner);
    const yd = new Uint8Array(y.data!.buffer, y.data!.byteOffset, outer * C * inner);
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < C; c++)
        for (let i = 0; i < inner; i++) yd[(o * C + c) * inner + i] = tables[(c << 8) | xd[o * inner + i]!]!;
  });
  return y;
}

/** A program of scalar constants: one table on the engine's lookup layer, x's layout kept. */
function perTensor(p: Planner, n: GraphNode, x: Val, table: Uint8Array, yq: ValQuant): Val {
  const lead = Math.max(0, (n as ChannelTableNode).program!.rank - x.shape.length);
  const xs = lead > 0 ? p.nchw(x) : x;
  const y = p.val([...new Array<number>(lead).fill(1), ...xs.shape], 'int8', xs.nhwc, n.outputs[0]);
  y.quant = yq;
  const xq = xs.quant!;
  const layer = p.layer(`${n.name}:lookup`, () =>
    p.qw.lookupLayer({
      fn: table,
      input: { scale: xq.scale, zeroPoint: xq.zeroPoint },
      output: { scale: yq.scale, zeroPoint: yq.zeroPoint },
    }),
  );
  const count = numel(xs.shape);
  if (!p.isFolding && !xs.isConst) {
    p.step(n.name, `${n.opType} (lookup table)`, [xs], [y], () => layer.runAt(count, xs.ptr, y.ptr));
    return y;
  }
  p.step(n.name, `${n.opType} (lookup table)`, [xs], [y], () => {
    const xd = new Uint8Array(xs.data!.buffer, xs.data!.byteOffset, count);
    const yd = new Uint8Array(y.data!.buffer, y.data!.byteOffset, count);
    for (let i = 0; i < count; i++) yd[i] = table[xd[i]!]!;
  });
  return y;
}

/** The lowering of ChannelTable nodes in an int8 plan (x and y annotated; else the codes are made first). */
export function channelTableLowering(c: QuantContext): Lowering {
  return (p, node, ins) => {
    const n = node as ChannelTableNode;
    const yq = c.ann.values.get(n.outputs[0]!);
    const xq = c.ann.values.get(n.inputs[0]!);
    if (yq === undefined || xq === undefined)
      throw new Error(`node '${n.name}' (ChannelTable): needs quantized input and output`);
    let x = ins[0]!;
    if (x.dtype !== 'int8') x = c.quantize(p, x, xq);
    let tables: Uint8Array;
    let C: number;
    let axis = 1;
    if (n.program !== undefined && n.program.channels === 1)
      return [perTensor(p, n, x, programTables(n.program, x.quant!, yq), yq)];
    if (n.program !== undefined) {
      C = n.program.channels;
      axis = x.shape.length - n.program.axisFromEnd;
      if (axis < 0 || (C > 1 && x.shape[axis] !== C && x.shape[axis] !== 1))
        throw new QwasmError(at(n), `has ${C} per-channel constants, its input has shape [${x.shape.join(', ')}]`);
      tables = programTables(n.program, x.quant!, yq);
      if (x.shape[axis] === 1 && C > 1) return [broadcastChannels(p, n, x, axis, C, tables, yq)];
    } else {
      const t = p.constData(ins[1]!, n, 'the input scales');
      const o = p.constData(ins[2]!, n, 'the input offsets');
      const sInv = p.constData(ins[3]!, n, 'the output scales');
      C = t.length;
      tables = channelTables(n.fn!, t, o, sInv, x.quant!, yq);
    }
    // constants of more dims than x broadcast it to their rank (the same elements in the same order)
    const lead = Math.max(0, (n.program?.rank ?? 0) - x.shape.length);
    // channels last in memory, where the kernel reads them: NHWC for 4-D values
    x = x.shape.length === 4 && axis === 1 && lead === 0 ? p.nhwc(x) : p.nchw(x);
    const y: Val = p.val([...new Array<number>(lead).fill(1), ...x.shape], 'int8', x.nhwc, n.outputs[0]);
    y.quant = yq;
    const count = numel(x.shape);
    const inner = x.nhwc ? 1 : numel(x.shape.slice(axis + 1));
    if (!p.isFolding && !x.isConst && inner === 1) {
      const tablesPtr = p.constPtr({ ...x, isConst: true, data: tables, name: `${n.name}:tables` });
      const pixels = count / C;
      p.step(n.name, `${n.opType} (lookup_u8_channels)`, [x], [y], () =>
        p.rt.kernels.lookup_u8_channels(x.ptr, pixels, C, tablesPtr, y.ptr),
      );
      return [y];
    }
    // folding, or channels not last: the same tables in JavaScript
    p.step(n.name, `${n.opType} (per-channel tables)`, [x], [y], () => {
      const xd = new Uint8Array(x.data!.buffer, x.data!.byteOffset, count);
      const yd = new Uint8Array(y.data!.buffer, y.data!.byteOffset, count);
      for (let i = 0; i < count; i++) yd[i] = tables[((Math.floor(i / inner) % C) << 8) | xd[i]!]!;
    });
    return [y];
  };
}
