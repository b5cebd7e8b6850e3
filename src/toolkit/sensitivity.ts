// Sensitivity report: how much each layer suffers from 8-bit and 4-bit weights, per
// tensor, per channel and per group, measured on the weights themselves and on the
// layer's output for calibration activations; and a planner that picks 4 or 8 bits per
// layer under an error budget.
import { check } from '../errors.js';
import { checkDtype, readTensor, type Tensor } from '../tensor.js';
import { describe, readOptions } from '../args.js';
import { given } from './args.js';
import { computeQuantParams, fakeQuantize, type Granularity } from './scheme.js';
import { quantError } from './metrics.js';

/**
 * One layer to analyse: weights [N, K] (out_features x in_features) and optionally
 * calibration activations [M, K] (rows of its input).
 *
 * @example
 * ```ts
 * const layer: LayerSample = { name: 'fc1', weights: { data: w, shape: [256, 784] }, activations: { data: x, shape: [32, 784] } };
 * ```
 */
export interface LayerSample {
  /** The layer's label, carried into the report and the plan. */
  name: string;
  /** Float32 weights [N, K]; finite. */
  weights: Tensor<Float32Array>;
  /** Float32 calibration inputs [M, K] for the output SQNR (the first `maxRows` rows are used). */
  activations?: Tensor<Float32Array>;
}

/**
 * SQNR in dB of one bit width under three granularities.
 *
 * @example
 * ```ts
 * const s: GranularitySqnr = report[0]!.weightSqnr[4];
 * console.log(s.perTensor, s.perChannel, s.perGroup);
 * ```
 */
export interface GranularitySqnr {
  /** One scale for the whole weight tensor. */
  perTensor: number;
  /** One scale per output channel (row of the weights). */
  perChannel: number;
  /** One scale per group of `groupSize` along K. */
  perGroup: number;
}

/**
 * What {@link sensitivityReport} measured for one layer.
 *
 * @example
 * ```ts
 * for (const l of report) console.log(l.name, l.weightSqnr[4].perChannel, l.outputSqnr?.[4].perChannel);
 * ```
 */
export interface LayerSensitivity {
  /** The sample's name. */
  name: string;
  /** N, rows of the weights. */
  outFeatures: number;
  /** K, columns of the weights. */
  inFeatures: number;
  /** SQNR of the weights against their fake-quantized copies (symmetric signed). */
  weightSqnr: {
    /** With 8-bit weights. */
    8: GranularitySqnr;
    /** With 4-bit weights. */
    4: GranularitySqnr;
  };
  /**
   * SQNR of the layer's output X W^T against X_q W_q^T, X fake-quantized to asymmetric
   * uint8 per tensor (min-max); present when activations were given.
   */
  outputSqnr?: {
    /** With 8-bit weights. */
    8: GranularitySqnr;
    /** With 4-bit weights. */
    4: GranularitySqnr;
  };
  /** Bytes of the quantized weights (scales not counted). */
  weightBytes: {
    /** N * K: one byte per weight. */
    8: number;
    /** N * ceil(K / 2): two weights per byte. */
    4: number;
  };
}

/**
 * Options of {@link sensitivityReport}.
 *
 * @example
 * ```ts
 * const o: SensitivityOptions = { groupSize: 64, maxRows: 32 };
 * ```
 */
export interface SensitivityOptions {
  /** Group size of the per-group column (default 128). */
  groupSize?: number;
  /** Activation rows used for the output SQNR (default 64: the first rows). */
  maxRows?: number;
}

/** A 2-D float32 tensor argument read once: its data and [rows, columns]. */
function readMatrix(wArg: unknown, name: string): { data: Float32Array; rows: number; cols: number } {
  const w = readTensor(wArg, name);
  checkDtype(w, name, Float32Array);
  check(w.shape.length === 2, name, `must be 2-D [N, K], got shape [${w.shape.join(', ')}]`);
  return { data: w.data as Float32Array, rows: w.shape[0]!, cols: w.shape[1]! };
}

/** y[M, N] = x[M, K] w[N, K]^T in float64. */
function matmulNT(x: Float32Array, w: Float32Array, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      const xo = m * K;
      const wo = n * K;
      for (let k = 0; k < K; k++) s += x[xo + k]! * w[wo + k]!;
      y[m * N + n] = s;
    }
  }
  return y;
}

/**
 * Measures each layer's quantization sensitivity at 8 and 4 bits (symmetric signed
 * weights), per tensor, per channel and per group: SQNR of the weights, and of the
 * output on the calibration activations when given (computed in plain TypeScript, so
 * `maxRows` bounds its cost). `null` options or activations are the defaults / absent.
 *
 * @example
 * ```ts
 * const report = sensitivityReport([
 *   { name: 'fc1', weights: w1, activations: x1 },
 *   { name: 'fc2', weights: w2, activations: x2 },
 * ]);
 * const plan = planBits(report, { minSqnrDb: 30 });
 * ```
 */
export function sensitivityReport(
  layers: readonly LayerSample[],
  options?: SensitivityOptions | null,
): LayerSensitivity[] {
  check(
    Array.isArray(layers),
    'layers',
    `must be an array of { name, weights, activations? }, got ${describe(layers)}`,
  );
  const o = readOptions(options, 'options');
  const groupSize = given(o.groupSize) ?? 128;
  check(
    Number.isInteger(groupSize) && groupSize > 0,
    'groupSize',
    `must be a positive integer, got ${describe(groupSize)}`,
  );
  const maxRows = given(o.maxRows) ?? 64;
  check(
    Number.isInteger(maxRows) && maxRows > 0,
    'maxRows',
    () => `must be a positive integer, got ${describe(maxRows)}`,
  );
  return Array.from(layers, (sample: unknown, li) => {
    check(
      typeof sample === 'object' && sample !== null,
      `layers[${li}]`,
      `expected { name, weights, activations? }, got ${describe(sample)}`,
    );
    const layer = { ...sample } as LayerSample;
    check(typeof layer.name === 'string', `layers[${li}].name`, () => `must be a string, got ${describe(layer.name)}`);
    const name = `layers[${li}].weights`;
    const { data: w, rows: N, cols: K } = readMatrix(layer.weights, name);
    for (let i = 0; i < w.length; i++) check(Number.isFinite(w[i]!), name, `holds a non-finite value at ${i}`);
    const grans: Record<keyof GranularitySqnr, Granularity> = {
      perTensor: {},
      perChannel: { axis: 0 },
      perGroup: { axis: 1, groupSize },
    };
    const fq: Record<string, Float32Array> = {};
    for (const bits of [8, 4] as const) {
      for (const [g, gran] of Object.entries(grans)) {
        fq[`${bits}${g}`] = fakeQuantize(layer.weights, computeQuantParams(layer.weights, { bits, ...gran }));
      }
    }
    const pick = (f: (wq: Float32Array) => number) => ({
      8: { perTensor: f(fq['8perTensor']!), perChannel: f(fq['8perChannel']!), perGroup: f(fq['8perGroup']!) },
      4: { perTensor: f(fq['4perTensor']!), perChannel: f(fq['4perChannel']!), perGroup: f(fq['4perGroup']!) },
    });
    const out: LayerSensitivity = {
      name: layer.name,
      outFeatures: N,
      inFeatures: K,
      weightSqnr: pick((wq) => quantError(w, wq).sqnrDb),
      weightBytes: { 8: N * K, 4: N * Math.ceil(K / 2) },
    };
    if (given(layer.activations) !== undefined) {
      const aname = `layers[${li}].activations`;
      const acts = readMatrix(layer.activations, aname);
      const [M0, Ka] = [acts.rows, acts.cols];
      check(Ka === K, aname, `has ${Ka} columns, the weights have K = ${K}`);
      const M = Math.min(M0, maxRows);
      const x = acts.data.subarray(0, M * K);
      const xq = fakeQuantize(x, computeQuantParams(x, { bits: 8, signed: false, symmetric: false }));
      const ref = matmulNT(x, w, M, N, K);
      out.outputSqnr = pick((wq) => quantError(ref, matmulNT(xq, wq, M, N, K)).sqnrDb);
    }
    return out;
  });
}

/** Refuses a report entry that is not what sensitivityReport returns (the fields planBits reads). */
function checkReportEntry(l: unknown, name: string, g: keyof GranularitySqnr): void {
  check(typeof l === 'object' && l !== null, name, () => `expected a LayerSensitivity, got ${describe(l)}`);
  const e = l as Partial<LayerSensitivity>;
  const sqnr = (v: unknown, field: string) => {
    const at = (v as Record<number, Record<string, unknown> | undefined> | undefined)?.[8]?.[g];
    const at4 = (v as Record<number, Record<string, unknown> | undefined> | undefined)?.[4]?.[g];
    check(
      typeof at === 'number' && typeof at4 === 'number' && at === at && at4 === at4,
      `${name}.${field}`,
      `needs 8-bit and 4-bit '${g}' SQNRs (numbers, not NaN)`,
    );
  };
  sqnr(e.weightSqnr, 'weightSqnr');
  if (given(e.outputSqnr) !== undefined) sqnr(e.outputSqnr, 'outputSqnr');
  const b = e.weightBytes as Record<number, unknown> | undefined;
  check(
    typeof b === 'object' &&
      b !== null &&
      typeof b[8] === 'number' &&
      typeof b[4] === 'number' &&
      Number.isFinite(b[8]) &&
      Number.isFinite(b[4]) &&
      b[8] >= 0 &&
      b[4] >= 0,
    `${name}.weightBytes`,
    'needs finite, non-negative 8-bit and 4-bit byte counts',
  );
}

/**
 * Options of {@link planBits}.
 *
 * @example
 * ```ts
 * const o: PlanOptions = { minSqnrDb: 25, granularity: 'perGroup' };
 * ```
 */
export interface PlanOptions {
  /** The budget: the model's combined SQNR in dB must stay at or above this. */
  minSqnrDb: number;
  /** Which 4-bit / 8-bit variant the plan uses (default 'perChannel'). */
  granularity?: keyof GranularitySqnr;
  /** Judge layers by output SQNR (default, when measured) or weight SQNR. */
  use?: 'output' | 'weight';
}

/**
 * A mixed-precision plan.
 *
 * @example
 * ```ts
 * const plan: BitPlan = planBits(report, { minSqnrDb: 30 });
 * for (const l of plan.layers) console.log(l.name, l.bits);
 * ```
 */
export interface BitPlan {
  /** One entry per layer, in report order. */
  layers: {
    /** The layer's name. */
    name: string;
    /** The weight bits chosen. */
    bits: 4 | 8;
    /** The layer's SQNR in dB at those bits (output or weight SQNR, as the plan used). */
    sqnrDb: number;
  }[];
  /** Combined SQNR of the plan under the additive-noise model. */
  sqnrDb: number;
  /** Bytes of the quantized weights under the plan (scales not counted). */
  weightBytes: number;
  /** Bytes of the all-8-bit plan, for comparison. */
  weightBytes8: number;
}

/**
 * Picks 4 or 8 bits per layer under an error budget. Each layer's quantization noise is
 * taken as relative noise power 10^(-SQNR/10), and layers' noises as adding up (a
 * first-order model of independent errors); starting from all 8-bit, layers move to
 * 4 bits in order of bytes saved per unit of added noise while the combined SQNR stays
 * at or above `minSqnrDb`. Returns the all-8-bit plan when even that misses the budget.
 *
 * @example
 * ```ts
 * const plan = planBits(sensitivityReport(layers), { minSqnrDb: 30 });
 * console.log(plan.weightBytes / plan.weightBytes8); // fraction of the int8 size
 * ```
 */
export function planBits(report: readonly LayerSensitivity[], options: PlanOptions): BitPlan {
  check(Array.isArray(report), 'report', () => `must be the array sensitivityReport returned, got ${describe(report)}`);
  check(
    typeof options === 'object' && options !== null,
    'options',
    `expected { minSqnrDb, granularity?, use? }, got ${describe(options)}`,
  );
  const o = readOptions(options, 'options');
  check(
    typeof o.minSqnrDb === 'number' && Number.isFinite(o.minSqnrDb),
    'minSqnrDb',
    `must be a finite number of dB, got ${describe(o.minSqnrDb)}`,
  );
  const g = given(o.granularity) ?? 'perChannel';
  check(
    g === 'perTensor' || g === 'perChannel' || g === 'perGroup',
    'granularity',
    `must be 'perTensor', 'perChannel' or 'perGroup', got ${describe(g)}`,
  );
  const use = given(o.use) ?? 'output';
  check(use === 'output' || use === 'weight', 'use', () => `must be 'output' or 'weight', got ${describe(use)}`);
  report.forEach((l: unknown, i) => checkReportEntry(l, `report[${i}]`, g));
  const sq = (l: LayerSensitivity, bits: 4 | 8) =>
    (use === 'output' && l.outputSqnr ? l.outputSqnr : l.weightSqnr)[bits][g];
  const noise = (db: number) => (db === Infinity ? 0 : 10 ** (-db / 10));
  const budget = noise(o.minSqnrDb);
  const bits: (4 | 8)[] = report.map(() => 8);
  let total = report.reduce((s, l) => s + noise(sq(l, 8)), 0);
  const order = report
    .map((l, i) => ({ i, saved: l.weightBytes[8] - l.weightBytes[4], added: noise(sq(l, 4)) - noise(sq(l, 8)) }))
    .sort((a, b) => b.saved / Math.max(b.added, 1e-300) - a.saved / Math.max(a.added, 1e-300));
  if (total <= budget) {
    for (const c of order) {
      if (total + c.added <= budget) {
        bits[c.i] = 4;
        total += c.added;
      }
    }
  }
  const layers = report.map((l, i) => ({ name: l.name, bits: bits[i]!, sqnrDb: sq(l, bits[i]!) }));
  return {
    layers,
    sqnrDb: total > 0 ? -10 * Math.log10(total) : Infinity,
    weightBytes: report.reduce((s, l, i) => s + l.weightBytes[bits[i]!], 0),
    weightBytes8: report.reduce((s, l) => s + l.weightBytes[8], 0),
  };
}
