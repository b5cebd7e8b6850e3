// The int8 form of a table op equalized per channel by quantize (see equalize.ts,
// "tableEqualizations"): y_c = fn(t_c * x_c + o_c) / s_c, read and written with one per-tensor
// scale each, computed as one 256-entry table per channel over x's codes. Its float form is
// the Mul -> Add -> table op -> Mul chain the equalized float graph and the QDQ export keep.
import type { GraphNode } from './graph.js';
import type { QuantContext } from './lower-int8.js';
import type { Lowering, Val } from './plan.js';
import { numel } from './tensor.js';
import { roundHalfEven } from '../quant/multiplier.js';

/** The node quantize puts in the int8 graph for an equalized table op: inputs [x, t, o, 1 / s]. */
export interface ChannelTableNode extends GraphNode {
  opType: 'ChannelTable';
  domain: 'qwasm';
  /** The table op's function of one real value. */
  fn: (x: number) => number;
}

/**
 * C tables of 256 codes (as bytes), table c at c * 256 indexed by the code's byte (code & 255): each real value computed
 * in float32 as the QDQ export's float ops compute it (dequantize, * t_c, + o_c, fn, * (1 / s_c)), then
 * quantized with ties to even.
 */
export function channelTables(
  fn: (x: number) => number,
  t: ArrayLike<number>,
  o: ArrayLike<number>,
  sInv: ArrayLike<number>,
  x: { scale: number; zeroPoint: number },
  y: { scale: number; zeroPoint: number },
): Uint8Array {
  const C = t.length;
  const out = new Uint8Array(C * 256);
  const f = Math.fround;
  const ys = f(y.scale);
  for (let c = 0; c < C; c++)
    for (let k = -128; k < 128; k++) {
      const real = f(f(f(f((k - x.zeroPoint) * f(x.scale)) * f(t[c]!)) + f(o[c]!)));
      const v = f(f(fn(real)) * f(sInv[c]!));
      const r = f(v / ys);
      out[c * 256 + (k & 255)] = Number.isNaN(r)
        ? y.zeroPoint & 255
        : Math.max(-128, Math.min(127, roundHalfEven(r) + y.zeroPoint)) & 255;
    }
  return out;
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
    if (x.shape.length === 4) x = p.nhwc(x);
    const t = p.constData(ins[1]!, n, 'the input scales');
    const o = p.constData(ins[2]!, n, 'the input offsets');
    const sInv = p.constData(ins[3]!, n, 'the output scales');
    const C = t.length;
    const tables = channelTables(n.fn, t, o, sInv, x.quant!, yq);
    const y: Val = p.val(x.shape, 'int8', x.nhwc, n.outputs[0]);
    y.quant = yq;
    const count = numel(x.shape);
    if (!p.isFolding && !x.isConst && (x.nhwc || x.shape.length === 2)) {
      const tablesPtr = p.constPtr({ ...ins[1]!, data: tables, name: `${n.name}:tables` });
      const pixels = count / C;
      p.step(n.name, `${n.opType} (lookup_u8_channels)`, [x], [y], () =>
        p.rt.kernels.lookup_u8_channels(x.ptr, pixels, C, tablesPtr, y.ptr),
      );
      return [y];
    }
    // folding, or channels not last: the same tables in JavaScript
    const inner = x.nhwc || x.shape.length < 3 ? 1 : numel(x.shape.slice(2));
    p.step(n.name, `${n.opType} (per-channel tables)`, [x], [y], () => {
      const xd = new Uint8Array(x.data!.buffer, x.data!.byteOffset, count);
      const yd = new Uint8Array(y.data!.buffer, y.data!.byteOffset, count);
      for (let i = 0; i < count; i++) yd[i] = tables[((Math.floor(i / inner) % C) << 8) | xd[i]!]!;
    });
    return [y];
  };
}
