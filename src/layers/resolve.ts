// The watershed of the quantized layers (ruy's front end): a layer config's quantization —
// input and output scale / zero point, dtype, fused activation, requantization rule —
// validated and resolved once into plain numbers. Nothing below this line validates.
import { describe, readObject } from '../args.js';
import { check } from '../errors.js';
import type { QuantDtype } from '../tensor.js';
import { resolveScale, resolveZeroPoint } from '../quant/params.js';
import type { Activation, Requant, RequantSpec } from '../ops/epilogue.js';
import { dtypeRange } from '../quant/dtype.js';

/** A layer's quantization, resolved: per-tensor numbers the epilogue builder takes as they are. */
export interface LayerQuant {
  /** The input and output dtype (`input.dtype`, int8 by default). */
  dtype: QuantDtype;
  inputScale: number;
  inputZeroPoint: number;
  outputScale: number;
  outputZeroPoint: number;
  activation: Activation;
  requant: Requant;
}

/** Validates `activation` ('none' when absent). */
export function checkActivation(a: unknown, name: string): Activation {
  const act = (a ?? 'none') as Activation;
  check(
    act === 'none' || act === 'relu' || act === 'relu6',
    name,
    `must be 'none', 'relu' or 'relu6', got ${describe(a)}`,
  );
  return act;
}

/** The output clamp of a float layer's fused activation. */
export function activationBounds(activation: Activation): { lo: number; hi: number } {
  return { lo: activation === 'none' ? -Infinity : 0, hi: activation === 'relu6' ? 6 : Infinity };
}

/** Validates `requant` ('fp32' when absent). */
export function checkRequant(r: unknown, name: string): Requant {
  const requant = r ?? 'fp32';
  check(
    requant === 'fp32' || requant === 'fixedpoint',
    name,
    () => `must be 'fp32' or 'fixedpoint', got ${describe(r)}`,
  );
  return requant;
}

/** Resolves the `input`, `output`, `activation` and `requant` fields of a quantized layer's config. */
export function resolveLayerQuant(cfg: {
  input?: unknown;
  output?: unknown;
  activation?: unknown;
  requant?: unknown;
}): LayerQuant {
  const input = readObject(
    cfg.input as { scale?: unknown; zeroPoint?: unknown; dtype?: unknown },
    'input',
    '{ scale, zeroPoint, dtype? }',
  );
  const output = readObject(cfg.output as { scale?: unknown; zeroPoint?: unknown }, 'output', '{ scale, zeroPoint }');
  const dtype = input.dtype ?? 'int8';
  check(
    dtype === 'int8' || dtype === 'uint8',
    'input.dtype',
    () => `must be 'int8' or 'uint8', got ${describe(dtype)}`,
  );
  // one number each (QuantSpec): arrays are per-channel forms these layers do not take
  check(typeof input.scale === 'number', 'input.scale', () => `must be a number, got ${describe(input.scale)}`);
  check(typeof output.scale === 'number', 'output.scale', () => `must be a number, got ${describe(output.scale)}`);
  for (const [v, name] of [
    [input.zeroPoint, 'input.zeroPoint'],
    [output.zeroPoint, 'output.zeroPoint'],
  ] as const) {
    check(v === undefined || v === null || typeof v === 'number', name, () => `must be a number, got ${describe(v)}`);
  }
  return {
    dtype,
    inputScale: resolveScale(input.scale as number, 'input.scale')[0]!,
    inputZeroPoint: resolveZeroPoint(input.zeroPoint as number, 'input.zeroPoint', dtype)[0]!,
    outputScale: resolveScale(output.scale as number, 'output.scale')[0]!,
    outputZeroPoint: resolveZeroPoint(output.zeroPoint as number, 'output.zeroPoint', dtype)[0]!,
    activation: checkActivation(cfg.activation, 'activation'),
    requant: checkRequant(cfg.requant, 'requant'),
  };
}

/** The epilogue spec of a quantized layer: its resolved quantization, weight scales and bias. */
export function layerRequantSpec(q: LayerQuant, weightScale: Float32Array, bias: Int32Array | undefined): RequantSpec {
  const { qmin, qmax } = dtypeRange(q.dtype);
  return {
    requant: q.requant,
    outputScaleName: 'output.scale',
    inputScale: q.inputScale,
    weightScale,
    outputScale: q.outputScale,
    outputZeroPoint: q.outputZeroPoint,
    qmin,
    qmax,
    signed: q.dtype === 'int8',
    bias,
    activation: q.activation,
  };
}
