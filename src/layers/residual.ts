// The residual add a conv2d / linear layer fuses into its epilogue: QLinearAdd of the
// layer's requantized output and a second operand given per call, resolved once into the
// constants of the `epilogue` block's R* fields (the same numbers qlinearAdd's kernel
// takes, so the fused sum is the separate add's, bit for bit).
import { describe, readObject } from '../args.js';
import { check } from '../errors.js';
import type { QuantDtype } from '../tensor.js';
import { resolveScale, resolveZeroPoint } from '../quant/params.js';
import { qbinaryParams } from '../ops/elementwise.js';
import type { EpilogueResidual } from '../ops/epilogue.js';

/**
 * The residual add of {@link Conv2dConfig.residual} and {@link LinearConfig.residual}:
 * y = QLinearAdd(the layer's output, residual) (com.microsoft QLinearAdd, as
 * {@link Qwasm.qlinearAdd} computes it), with the residual given per call as
 * `run([x, residual])`. The layer's own `output` is then the quantization of the conv /
 * linear result before the add, and `residual.output` the layer's result.
 *
 * @example
 * ```ts
 * // MobileNetV2's projection conv and the block's skip connection in one layer
 * const residual: ResidualConfig = { scale: 0.04, zeroPoint: 3, output: { scale: 0.05, zeroPoint: -2 } };
 * const cv = qw.conv2d({ weights, weightScale, input, output, residual });
 * const y = cv.run([{ data: x, shape: [1, 56, 56, 144] }, { data: skip, shape: [1, 56, 56, 24] }]);
 * ```
 */
export interface ResidualConfig {
  /** The residual's scale (per tensor). */
  scale: number;
  /** The residual's zero point (0 by default), in the layer's dtype. */
  zeroPoint?: number;
  /** The quantization of the sum: the layer's result. */
  output: {
    /** Real value of one integer step of the sum. */
    scale: number;
    /** The code of real 0 (0 by default), in the layer's dtype. */
    zeroPoint?: number;
  };
  /** 'relu' clamps the sum at its zero point, as qlinearAdd's `activation`; default 'none'. */
  activation?: 'none' | 'relu';
  /**
   * Where the residual sits in the add: 'second' (default: QLinearAdd(layer, residual)) or
   * 'first' (QLinearAdd(residual, layer)). Float addition is not associative, so the order
   * decides the last bit of a few sums: pick the one the model's Add node has.
   */
  operand?: 'first' | 'second';
}

/** A residual add resolved into the epilogue's constants (see the `epilogue` layout's R* fields). */
export interface ResidualSpec extends EpilogueResidual {
  /** The sum's quantization (a fused lookup's input). */
  outputScale: number;
  outputZeroPoint: number;
}

/**
 * Validates a layer config's `residual` (absent: null) against the layer's dtype and
 * output quantization, and resolves it with qlinearAdd's own arithmetic (qbinaryParams).
 */
export function resolveResidual(
  r: unknown,
  dtype: QuantDtype,
  outputScale: number,
  outputZeroPoint: number,
): ResidualSpec | null {
  if (r === undefined || r === null) return null;
  const c = readObject(
    r as ResidualConfig,
    'residual',
    'an object { scale, zeroPoint?, output, activation?, operand? }',
  );
  check(typeof c.scale === 'number', 'residual.scale', () => `must be a number, got ${describe(c.scale)}`);
  const sr = resolveScale(c.scale, 'residual.scale')[0]!;
  const zr = resolveZeroPoint(c.zeroPoint, 'residual.zeroPoint', dtype)[0]!;
  const o = readObject(c.output, 'residual.output', 'an object { scale, zeroPoint? }');
  check(typeof o.scale === 'number', 'residual.output.scale', () => `must be a number, got ${describe(o.scale)}`);
  const sy = resolveScale(o.scale, 'residual.output.scale')[0]!;
  const zy = resolveZeroPoint(o.zeroPoint, 'residual.output.zeroPoint', dtype)[0]!;
  const act = c.activation ?? 'none';
  check(
    act === 'none' || act === 'relu',
    'residual.activation',
    () => `must be 'none' or 'relu', got ${describe(c.activation)}`,
  );
  const operand = c.operand ?? 'second';
  check(
    operand === 'first' || operand === 'second',
    'residual.operand',
    () => `must be 'first' or 'second', got ${describe(c.operand)}`,
  );
  if (operand === 'second') {
    const p = qbinaryParams('add', dtype, outputScale, outputZeroPoint, sr, zr, sy, zy, act);
    return { mode: 1, F: p.F, Rc: p.Ra, Rr: p.Rb, lo: p.lo, hi: p.hi, outputScale: sy, outputZeroPoint: zy };
  }
  const p = qbinaryParams('add', dtype, sr, zr, outputScale, outputZeroPoint, sy, zy, act);
  return { mode: 2, F: p.F, Rc: p.Rb, Rr: p.Ra, lo: p.lo, hi: p.hi, outputScale: sy, outputZeroPoint: zy };
}

/**
 * Checks a layer's input against its residual: `[x, residual]` when the layer has one,
 * `x` alone when it has none (a QwasmError naming `x` otherwise). True for a pair.
 */
export function isResidualPair<T>(x: T | readonly [T, T], hasResidual: boolean): x is readonly [T, T] {
  const pair = Array.isArray(x);
  if (hasResidual) check(pair && x.length === 2, 'x', 'expected [x, residual]: this layer adds a residual');
  else check(!pair, 'x', 'is a pair, but this layer has no residual (config.residual)');
  return pair;
}
