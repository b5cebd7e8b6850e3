// Convolutions on 16-bit inputs with power-of-two grids (quantize's `int16` option): the
// input is rounded to an int16 grid of step 2^a, the weights of output channel c to a grid of
// step 2^e_c and its bias to 2^(a + e_c). Every product is then an integer times 2^(a + e_c),
// and a bound on the input's codes keeps every partial sum below 2^24 such units, so float32
// sums them exactly, in any order: qwasm's float32 kernels and onnxruntime's give the same
// bits. The 24 bits are shared between the input's codes and the weights' (about 11 bits
// each for a 3x3 conv over 3 channels, against int8's 8), so the region costs far less
// rounding than int8 and runs at float32 speed; the first int8 value after it is quantized
// from identical floats.
//
// In the plan the input's rounding is a `qwasm.QuantizeDequantize` node (float to float, the
// grid's values); in the standard graph (the QDQ export) it is a Clip (when the code bound is
// below the int16 range) and a com.microsoft QuantizeLinear / DequantizeLinear pair with an
// int16 zero point. The weights and bias are float32 initializers holding the grid's values in
// both. Loading such a file turns the pair back into the node (qdq.ts).
import { QwasmError } from '../errors.js';
import { roundHalfEven } from '../quant/multiplier.js';
import type { AttributeMessage } from './proto.js';
import type { Graph, GraphNode } from './graph.js';
import type { PlannedNode } from './lower-float.js';
import type { OnnxTensor } from './tensor.js';

/** Largest magnitude float32 holds every integer up to: the bound on any partial sum, in units. */
export const EXACT_SUM = 2 ** 24 - 1;
const INT16_MAX = 32767;

/** The grid of one convolution's 16-bit input, weights and bias. */
export interface Int16Grid {
  /** The input's step is 2^a. */
  a: number;
  /** Input codes are clamped to [-q, q] (q <= 32767). */
  q: number;
  /** The weights on their grid (float32 values, the weight tensor's shape). */
  w: Float32Array;
  /** The bias on its grid (float32 values), or null without a bias. */
  b: Float32Array | null;
  /** The weight codes (int16) and each output channel's weight step, 2^e_c. */
  wq: Int16Array;
  wScales: Float32Array;
  /** The bias codes (int32, at 2^(a + e_c)), or null without a bias. */
  bq: Int32Array | null;
}

/**
 * The weights and bias of output channel c on the finest power-of-two step that keeps the
 * channel's sum bound (sum of |weight codes| times `codes`, plus |bias code|) within
 * EXACT_SUM, the input's step being 2^a: [step exponent, weight codes' sum, bias code], or
 * null when even a step as large as the largest weight does not.
 */
function channelStep(
  wf: Float32Array,
  from: number,
  per: number,
  bias: number,
  a: number,
  codes: number,
): [number, number, number] | null {
  let m = 0;
  for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(wf[from + k]!));
  if (m === 0) {
    const bq = roundHalfEven(bias / 2 ** a);
    return Math.abs(bq) <= EXACT_SUM ? [0, 0, bq] : null;
  }
  for (let e = Math.floor(Math.log2(m)) - 24; e <= Math.ceil(Math.log2(m)); e++) {
    let sum = 0;
    if (m / 2 ** e > INT16_MAX) continue;
    for (let k = 0; k < per; k++) sum += Math.abs(roundHalfEven(wf[from + k]! / 2 ** e));
    const bq = roundHalfEven(bias / 2 ** (a + e));
    if (sum * codes + Math.abs(bq) <= EXACT_SUM) return [e, sum, bq];
  }
  return null;
}

/** The weight codes the largest weight of every channel keeps at least (int8's 127, and a bit). */
export const WEIGHT_CODES = 255;

/**
 * The grid of a convolution with float32 weights `w` ([M, C/group, kh, kw]) and bias `b`
 * whose input reached `maxAbs` in calibration. Every channel's sum bound (sum of |weight
 * codes| times the input code bound, plus |bias code|) stays within {@link EXACT_SUM}: the
 * input takes the finest step 2^a that leaves each channel's largest weight at least
 * {@link WEIGHT_CODES} codes (activations, not weights, are what 8 bits cost most; the weights
 * then take the finest steps the bound leaves), with its codes at most 32767. Null when no
 * step keeps the bound.
 */
export function int16Grid(w: OnnxTensor, b: OnnxTensor | undefined, maxAbs: number): Int16Grid | null {
  const M = w.shape[0]!;
  const per = w.data.length / M;
  const wf = w.data as Float32Array;
  const bf = b?.data as Float32Array | undefined;
  const top = Math.max(maxAbs, 2 ** -30);
  let best: { a: number; steps: [number, number, number][] } | null = null;
  for (let a = Math.ceil(Math.log2(top / INT16_MAX)); a < Math.ceil(Math.log2(top)) + 1 && best === null; a++) {
    const codes = Math.ceil(top / 2 ** a);
    const steps: [number, number, number][] = [];
    for (let c = 0; c < M; c++) {
      const st = channelStep(wf, c * per, per, bf?.[c] ?? 0, a, codes);
      if (st === null) break;
      let m = 0;
      for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(wf[c * per + k]!));
      if (m > 0 && m / 2 ** st[0] < WEIGHT_CODES) break;
      steps.push(st);
    }
    if (steps.length === M) best = { a, steps };
  }
  if (best === null) return null;
  const { a, steps } = best;
  const gw = new Float32Array(wf.length);
  const wq = new Int16Array(wf.length);
  for (let c = 0; c < M; c++) {
    const e = steps[c]![0];
    for (let k = 0; k < per; k++) {
      const v = roundHalfEven(wf[c * per + k]! / 2 ** e);
      wq[c * per + k] = v;
      gw[c * per + k] = v * 2 ** e;
    }
  }
  const bq = bf === undefined ? null : Int32Array.from(steps, ([, , v]) => v);
  const q = inputCodeBound(wq, M, bq);
  const gb = bq === null ? null : Float32Array.from(steps, ([e, , v]) => v * 2 ** (a + e));
  const wScales = Float32Array.from(steps, ([e]) => 2 ** e);
  return { a, q, w: gw, b: gb, wq, wScales, bq };
}

/**
 * The largest input code (at most 32767) for which every output channel's sum bound, the sum
 * of its |weight codes| times the code plus its |bias code|, stays within {@link EXACT_SUM}.
 */
export function inputCodeBound(wq: Int16Array, M: number, bq: Int32Array | null): number {
  const per = wq.length / M;
  let q = INT16_MAX;
  for (let c = 0; c < M; c++) {
    let sum = 0;
    for (let k = 0; k < per; k++) sum += Math.abs(wq[c * per + k]!);
    if (sum > 0) q = Math.min(q, Math.floor((EXACT_SUM - Math.abs(bq?.[c] ?? 0)) / sum));
  }
  return q;
}

/** A float32 tensor of one value. */
const scalarF32 = (v: number): OnnxTensor => ({ data: Float32Array.of(v), shape: [], dtype: 'float32' });

/**
 * Rewrites conv `name` of `fused` (the plan's graph) and `standard` (the export's) onto
 * `grid`: new graphs (node lists and initializer maps copied; the inputs untouched).
 */
export function applyInt16(
  fused: Graph,
  standard: Graph,
  name: string,
  grid: Int16Grid,
): { fused: Graph; standard: Graph } {
  const f: Graph = { ...fused, nodes: fused.nodes.map((n) => ({ ...n })), initializers: new Map(fused.initializers) };
  const s: Graph = {
    ...standard,
    nodes: standard.nodes.map((n) => ({ ...n })),
    initializers: new Map(standard.initializers),
  };
  const fi = f.nodes.findIndex((n) => n.name === name);
  const si = s.nodes.findIndex((n) => n.name === name);
  const fn = f.nodes[fi];
  const sn = s.nodes[si];
  if (fn === undefined || sn === undefined || sn.opType !== 'Conv' || sn.inputs[1] !== fn.inputs[1]) {
    throw new QwasmError('options.int16', `names '${name}', which is not a convolution of both graphs`);
  }
  const [x, wName, bName] = fn.inputs as [string, string, string | undefined];
  const w = f.initializers.get(wName)!;
  const M = w.shape[0]!;
  const step = 2 ** grid.a;
  const xs = `${name}::x16`;
  const w16 = `${wName}::int16`;
  const b16 = bName ? `${bName}::int16` : undefined;
  // the plan: the weights and bias on the grid, as float32 values (exact in any float32 sum)
  f.initializers.set(w16, { data: grid.w, shape: w.shape, dtype: 'float32' });
  if (b16 !== undefined && grid.b !== null) f.initializers.set(b16, { data: grid.b, shape: [M], dtype: 'float32' });
  fn.inputs = [xs, w16, ...(b16 !== undefined ? [b16] : [])];
  (fn as PlannedNode).int16 = { a: grid.a, wq: grid.wq, wScales: grid.wScales, bq: grid.bq };
  f.nodes.splice(fi, 0, {
    name: `${name}::quantize16`,
    opType: 'QuantizeDequantize',
    domain: 'qwasm',
    inputs: [x],
    outputs: [xs],
    attrs: new Map([
      ['scale', step],
      ['lo', -grid.q],
      ['hi', grid.q],
    ]),
  });
  // the export: Clip, int16 Q / DQ, int8 and int32 DequantizeLinear
  const init = (n: string, t: OnnxTensor): string => {
    s.initializers.set(n, t);
    return n;
  };
  const added: GraphNode[] = [];
  let src = x;
  if (grid.q < INT16_MAX) {
    const lim = grid.q * step;
    const out = `${name}::x16_clipped`;
    added.push(
      s.opset >= 11
        ? {
            name: `${name}::clip16`,
            opType: 'Clip',
            domain: '',
            inputs: [x, init(`${name}::x16_lo`, scalarF32(-lim)), init(`${name}::x16_hi`, scalarF32(lim))],
            outputs: [out],
            attrs: new Map(),
            source: [],
          }
        : {
            name: `${name}::clip16`,
            opType: 'Clip',
            domain: '',
            inputs: [x],
            outputs: [out],
            attrs: new Map([
              ['min', -lim],
              ['max', lim],
            ]),
            source: [
              { name: 'min', type: 1, f: -lim },
              { name: 'max', type: 1, f: lim },
            ] as unknown as AttributeMessage[],
          },
    );
    src = out;
  }
  const xScale = init(`${name}::x16_scale`, scalarF32(step));
  const xZero = init(`${name}::x16_zero_point`, { data: new Int16Array(1), shape: [], dtype: 'int16' });
  added.push(
    {
      name: `${name}::x16_quantize`,
      opType: 'QuantizeLinear',
      domain: 'com.microsoft',
      inputs: [src, xScale, xZero],
      outputs: [`${xs}__q`],
      attrs: new Map(),
      source: [],
    },
    {
      name: `${name}::x16_dequantize`,
      opType: 'DequantizeLinear',
      domain: 'com.microsoft',
      inputs: [`${xs}__q`, xScale, xZero],
      outputs: [xs],
      attrs: new Map(),
      source: [],
    },
  );
  // the export: the codes behind DequantizeLinear (int16 weights in the contrib domain, which
  // takes int16; the int32 bias in the standard one), which onnxruntime turns into the same floats
  const dq = (base: string, data: Int16Array | Int32Array, scales: Float32Array, shape: readonly number[]): void => {
    const dtype = data instanceof Int16Array ? 'int16' : 'int32';
    added.push({
      name: `${base}::dequantize16`,
      opType: 'DequantizeLinear',
      domain: dtype === 'int16' ? 'com.microsoft' : '',
      inputs: [
        init(`${base}::q16`, { data, shape, dtype }),
        init(`${base}::q16_scale`, { data: scales, shape: [M], dtype: 'float32' }),
        init(`${base}::q16_zero_point`, {
          data: dtype === 'int16' ? new Int16Array(M) : new Int32Array(M),
          shape: [M],
          dtype,
        }),
      ],
      outputs: [`${base}::int16`],
      attrs: new Map([['axis', 0]]),
      source: [{ name: 'axis', type: 2, i: 0 } as unknown as AttributeMessage],
    });
  };
  dq(wName, grid.wq, grid.wScales, w.shape);
  if (bName && grid.bq !== null)
    dq(
      bName,
      grid.bq,
      Float32Array.from(grid.wScales, (v) => v * step),
      [M],
    );
  sn.inputs = [xs, w16, ...(b16 !== undefined ? [b16] : [])];
  s.nodes.splice(si, 0, ...added);
  return { fused: f, standard: s };
}

/**
 * The convolutions `names` may put on 16-bit inputs: each must be a Conv of `g` with a
 * constant float32 weight of 4 dimensions (and a constant bias, if any) read by no other node.
 */
export function int16Convs(g: Graph, names: readonly string[]): GraphNode[] {
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  return names.map((name) => {
    const n = g.nodes.find((m) => m.name === name);
    const w = n === undefined ? undefined : g.initializers.get(n.inputs[1] ?? '');
    const b = n?.inputs[2] ? g.initializers.get(n.inputs[2]) : undefined;
    if (
      n === undefined ||
      n.opType !== 'Conv' ||
      n.domain !== '' ||
      w?.dtype !== 'float32' ||
      w.shape.length !== 4 ||
      uses.get(n.inputs[1]!) !== 1 ||
      (n.inputs[2] ? b?.dtype !== 'float32' || uses.get(n.inputs[2]) !== 1 : false)
    ) {
      throw new QwasmError(
        'options.int16',
        `names '${name}', which is not a convolution with its own constant float32 weights in this model`,
      );
    }
    return n;
  });
}
