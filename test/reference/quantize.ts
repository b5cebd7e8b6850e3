// Scalar references of ONNX QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear.
import { clamp, roundHalfEven } from './requant.js';

export function quantizeRef(x: number, scale: number, zp: number, qmin: number, qmax: number): number {
  if (Number.isNaN(x)) return zp;
  const v = Math.fround(Math.fround(x) / Math.fround(scale));
  if (v === Infinity) return qmax;
  if (v === -Infinity) return qmin;
  return clamp(roundHalfEven(v) + zp, qmin, qmax);
}

export function dequantizeRef(q: number, scale: number, zp: number): number {
  return Math.fround((q - zp) * Math.fround(scale));
}

/** ONNX DynamicQuantizeLinear's scale and zero point (onnxruntime's choices for an empty range). */
export function dynamicParamsRef(x: Float32Array): { scale: number; zeroPoint: number } {
  let lo = 0;
  let hi = 0;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
  const zp = roundHalfEven(clamp(Math.fround(0 - Math.fround(lo / scale)), 0, 255));
  return { scale, zeroPoint: zp };
}
