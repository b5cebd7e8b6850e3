// Residual (hierarchical) quantization: x ~ sum_i scale_i * q_i, each stage an int8
// tensor quantizing what the previous stages left over. Stage i + 1's scale is the
// remaining max |r| / 127 <= scale_i / 254, so each stage cuts the worst-case error
// by about 2^8 (less where the residual is smaller than its bound).
import { check } from '../errors.js';
import { readTensorOrArray, readShape, type Tensor } from '../tensor.js';
import { describe, readOptions } from '../args.js';
import { given } from './args.js';
import { readAxis, splitAxis } from './scheme.js';
import { roundHalfEven } from '../quant/multiplier.js';

/**
 * One stage: symmetric int8 codes in [-127, 127] and their scales (1, or one per
 * channel along the quantization's axis).
 *
 * @example
 * ```ts
 * const { q, scale } = rq.stages[0]!;
 * ```
 */
export interface ResidualStage {
  /** The codes, in [-127, 127], row-major in the tensor's shape. */
  q: Int8Array;
  /** max |residual| / 127 (1 where the residual is all 0): one value per tensor, or one per channel along the axis. */
  scale: Float32Array;
}

/**
 * The result of {@link residualQuantize}: x ~ sum over stages of scale * q.
 *
 * @example
 * ```ts
 * const rq: ResidualQuantized = residualQuantize({ data: w, shape: [N, K] }, 2, { axis: 0 });
 * rq.stages.length; // 2
 * ```
 */
export interface ResidualQuantized {
  /** The quantized tensor's shape. */
  shape: number[];
  /** Channel axis of per-channel scales; absent per tensor. */
  axis?: number;
  /** The stages, coarsest first: each quantizes what the ones before it left over. */
  stages: ResidualStage[];
}

/**
 * Quantizes x into `stages` (1 to 4) int8 stages whose scaled sum approximates it:
 * stage 1 quantizes x (scale = max|x| / 127), each further stage the residual left by
 * the ones before, computed in float64. Per tensor, or per channel with `axis` (`null`
 * options or axis: per tensor). Non-finite values are refused.
 *
 * @example
 * ```ts
 * const rq = residualQuantize(x, 2);
 * const xHat = residualDequantize(rq); // error ~2^-16 of max|x|
 * ```
 */
export function residualQuantize(
  x: Tensor<Float32Array> | Float32Array,
  stages: number,
  options?: { axis?: number | null } | null,
): ResidualQuantized {
  const t = readTensorOrArray(x, 'x', Float32Array);
  check(
    Number.isInteger(stages) && stages >= 1 && stages <= 4,
    'stages',
    `must be an integer from 1 to 4, got ${describe(stages)}`,
  );
  const data = t.data as Float32Array;
  for (let i = 0; i < data.length; i++) check(Number.isFinite(data[i]!), 'x', `holds a non-finite value at ${i}`);
  let outer = 1;
  let C = 1;
  let inner = data.length;
  let axis: number | undefined;
  const axisOption = given(readOptions(options, 'options').axis);
  if (axisOption !== undefined) {
    axis = readAxis(axisOption, t.shape.length, 'axis');
    const s = splitAxis(t.shape, axis);
    outer = s.outer;
    C = s.A;
    inner = s.inner;
  }
  const r = Float64Array.from(data);
  const out: ResidualStage[] = [];
  for (let st = 0; st < stages; st++) {
    const amax = new Float64Array(C);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const base = (o * C + c) * inner;
        let m = amax[c]!;
        for (let i = 0; i < inner; i++) m = Math.max(m, Math.abs(r[base + i]!));
        amax[c] = m;
      }
    }
    const scale = new Float32Array(C);
    for (let c = 0; c < C; c++) scale[c] = amax[c]! > 0 ? Math.max(Math.fround(amax[c]! / 127), 2 ** -126) : 1;
    const q = new Int8Array(data.length);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const base = (o * C + c) * inner;
        const s = scale[c]!;
        for (let i = 0; i < inner; i++) {
          const j = base + i;
          const v = Math.max(-127, Math.min(127, roundHalfEven(r[j]! / s)));
          q[j] = v;
          r[j] = r[j]! - v * s;
        }
      }
    }
    out.push({ q, scale });
  }
  const res: ResidualQuantized = { shape: [...t.shape], stages: out };
  if (axis !== undefined) res.axis = axis;
  return res;
}

/**
 * The float32 reconstruction sum_i scale_i * q_i (summed in float64, rounded once).
 *
 * @example
 * ```ts
 * const xHat = residualDequantize(residualQuantize(x, 3));
 * ```
 */
export function residualDequantize(rq: ResidualQuantized): Float32Array {
  check(typeof rq === 'object' && rq !== null, 'rq', () => `expected ResidualQuantized, got ${describe(rq)}`);
  const shape = readShape(rq.shape, 'rq.shape');
  check(
    Array.isArray(rq.stages) && rq.stages.length > 0,
    'rq.stages',
    `must be a non-empty array of { q, scale }, got ${describe(rq.stages)}`,
  );
  const n = shape.reduce((a, b) => a * b, 1);
  let outer = 1;
  let C = 1;
  let inner = n;
  const axis = given(rq.axis);
  if (axis !== undefined) {
    const s = splitAxis(shape, readAxis(axis, shape.length, 'rq.axis'));
    outer = s.outer;
    C = s.A;
    inner = s.inner;
  }
  const stages: ResidualStage[] = Array.from(rq.stages);
  for (let i = 0; i < stages.length; i++) {
    const st = stages[i];
    const name = `rq.stages[${i}]`;
    check(typeof st === 'object' && st !== null, name, () => `expected { q, scale }, got ${describe(st)}`);
    check(
      st.q instanceof Int8Array && st.q.length === n,
      `${name}.q`,
      () => `needs ${n} int8 codes, got ${describe(st.q)}`,
    );
    check(
      st.scale instanceof Float32Array && st.scale.length === C,
      `${name}.scale`,
      `needs a Float32Array of ${C} scales, got ${describe(st.scale)}`,
    );
    for (let c = 0; c < C; c++) {
      const sc = st.scale[c]!;
      check(Number.isFinite(sc) && sc > 0, `${name}.scale`, `must be positive and finite, got ${sc} at ${c}`);
    }
  }
  const acc = new Float64Array(n);
  for (const st of stages) {
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < C; c++) {
        const base = (o * C + c) * inner;
        const s = st.scale[c]!;
        for (let i = 0; i < inner; i++) acc[base + i] = acc[base + i]! + st.q[base + i]! * s;
      }
    }
  }
  return Float32Array.from(acc);
}
