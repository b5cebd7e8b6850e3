// The GEMM epilogue parameter block (the `epilogue` layout of scripts/layouts.mjs), resolved once
// from scales and zero points: ruy's "front end resolves, back end computes".
import { EPILOGUE_BYTES, EpilogueField } from '../layouts.generated.js';
import { QwasmError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { fixedRealMultiplier, fp32Multiplier, quantizeMultiplier, roundHalfAway } from '../quant/multiplier.js';
import { EpilogueKind } from '../kernels.js';
import { fillFixedF64 } from './fixed-f64.js';

/**
 * How int32 accumulators become int8: ONNX float32 multipliers or TFLite fixed point.
 *
 * @example
 * ```ts
 * const requant: Requant = 'fixedpoint';
 * const y = qw.qlinearMatMul(a, 0.02, 128, b, 0.01, 0, 0.05, 128, { requant });
 * ```
 */
export type Requant = 'fp32' | 'fixedpoint';
/**
 * A clamp fused into the epilogue: `'relu'` keeps y >= 0, `'relu6'` keeps y in [0, 6]
 * (real units, so quantized layers clamp at the output's codes for 0 and 6).
 *
 * @example
 * ```ts
 * const fc = qw.linear({ weights, weightScale: 0.02, input, output, activation: 'relu6' });
 * ```
 */
export type Activation = 'none' | 'relu' | 'relu6';

const HEADER = EPILOGUE_BYTES;
const F = EpilogueField;

/** Everything a requantizing epilogue needs, before it is written to wasm memory. */
export interface RequantSpec {
  requant: Requant;
  /** Input scale. */
  inputScale: number;
  /** Weight scale, 1 (per tensor) or N values. */
  weightScale: Float32Array;
  outputScale: number;
  /** The argument a multiplier that cannot be represented is blamed on (e.g. 'yScale', 'output.scale'). */
  outputScaleName: string;
  outputZeroPoint: number;
  qmin: number;
  qmax: number;
  signed: boolean;
  bias?: Int32Array;
  activation?: Activation;
}

/** The output range after the fused activation, as TFLite's CalculateActivationRangeQuantized. */
export function activationRange(
  activation: Activation,
  scale: number,
  zp: number,
  qmin: number,
  qmax: number,
): { qmin: number; qmax: number } {
  if (activation === 'relu') return { qmin: Math.max(qmin, zp), qmax };
  if (activation === 'relu6') return { qmin: Math.max(qmin, zp), qmax: Math.min(qmax, zp + roundHalfAway(6 / scale)) };
  return { qmin, qmax };
}

/** The constants of a residual add fused after the requantization (EpilogueParams.setResidual). */
export interface EpilogueResidual {
  /** 1: QLinearAdd(code, residual); 2: QLinearAdd(residual, code). */
  mode: 1 | 2;
  /** QLinearAdd's folded zero points. */
  F: number;
  /** The code's multiplier (its scale / the sum's). */
  Rc: number;
  /** The residual's multiplier. */
  Rr: number;
  /** The sum's lowest and highest code. */
  lo: number;
  hi: number;
}

/**
 * Writes a residual add's per-call offset (residual address - output address) into an
 * epilogue header and its `copies - 1` per-group copies that follow it.
 */
export function setResidualDelta(rt: Runtime, header: number, copies: number, delta: number): void {
  const i32 = rt.heap.i32;
  for (let g = 0; g < copies; g++) i32[(header >> 2) + g * (HEADER >> 2) + F.RDELTA] = delta;
}

/** A parameter block in wasm memory; free it with dispose(). */
export class EpilogueParams {
  readonly kind: EpilogueKind;
  readonly ptr: number;
  private readonly rt: Runtime;

  private constructor(rt: Runtime, kind: EpilogueKind, ptr: number) {
    this.rt = rt;
    this.kind = kind;
    this.ptr = ptr;
  }

  /** Requantizing epilogue (fp32 or fixed point) for N output columns. */
  static requant(rt: Runtime, N: number, spec: RequantSpec): EpilogueParams {
    const np = Math.ceil(N / rt.config.nr) * rt.config.nr;
    // fixed point: seven int32 arrays for the int64 path, FMODE, then three float64 arrays
    const arrays = spec.requant === 'fp32' ? 2 : 8;
    const f64Arrays = spec.requant === 'fp32' ? 0 : 3;
    const ptr = rt.heap.alloc(HEADER + arrays * np * 4 + f64Arrays * np * 8, 'weights');
    const i32 = rt.heap.i32;
    const f32 = rt.heap.f32;
    const h = ptr >> 2;
    i32.fill(0, h, h + HEADER / 4 + arrays * np + f64Arrays * np * 2);
    const arr = (k: number) => ptr + HEADER + k * np * 4;
    const ws = spec.weightScale;
    const act = activationRange(
      spec.activation ?? 'none',
      spec.outputScale,
      spec.outputZeroPoint,
      spec.qmin,
      spec.qmax,
    );
    if (spec.bias) {
      i32.set(spec.bias, arr(0) >> 2);
      i32[h + F.BIAS] = arr(0);
    }
    const refuse = (message: string): never => {
      rt.heap.release(ptr);
      throw new QwasmError(spec.outputScaleName, message);
    };
    if (spec.requant === 'fp32') {
      for (let n = 0; n < N; n++) {
        const m = fp32Multiplier(spec.inputScale, ws[ws.length === 1 ? 0 : n]!, spec.outputScale);
        if (!Number.isFinite(m)) {
          refuse(`the requantization multiplier (input scale x weight scale) / output scale overflows float32`);
        }
        f32[(arr(1) >> 2) + n] = m;
      }
      i32[h + F.MULT] = arr(1);
    } else {
      const mults = new Int32Array(N);
      const lefts = new Int32Array(N);
      const rights = new Int32Array(N);
      for (let n = 0; n < N; n++) {
        const real = fixedRealMultiplier(spec.inputScale, ws[ws.length === 1 ? 0 : n]!, spec.outputScale);
        const { multiplier, shift } = quantizeMultiplier(real);
        if (shift > 30) refuse(`requantization multiplier ${real} is too large for fixed point (at most 2^30)`);
        const left = shift > 0 ? shift : 0;
        const right = shift > 0 ? 0 : -shift;
        i32[(arr(1) >> 2) + n] = multiplier;
        i32[(arr(2) >> 2) + n] = 2 ** left;
        i32[(arr(3) >> 2) + n] = right;
        i32[(arr(4) >> 2) + n] = right >= 31 ? 0x7fffffff : 2 ** right - 1;
        i32[(arr(5) >> 2) + n] = -(2 ** (31 - left));
        // 2^31 is no int32: right = 0 columns are passed through, whatever this holds
        i32[(arr(6) >> 2) + n] = right === 0 ? 0 : 2 ** (31 - right);
        if (left > 0) i32[h + F.LEFT] = 1;
        mults[n] = multiplier;
        lefts[n] = left;
        rights[n] = right;
      }
      // the float64 arrays start 16-byte aligned: ptr is, and HEADER + 8 * np * 4 bytes keep it
      const farr = (k: number) => ptr + HEADER + arrays * np * 4 + k * np * 8;
      const f64 = (k: number) => new Float64Array(rt.heap.u8.buffer, farr(k), np);
      fillFixedF64(
        {
          multiplier: mults,
          left: lefts,
          right: rights,
          bias: spec.bias,
          zeroPoint: spec.outputZeroPoint,
          qmin: act.qmin,
          qmax: act.qmax,
          signed: spec.signed,
        },
        N,
        i32.subarray(arr(7) >> 2, (arr(7) >> 2) + np),
        f64(0),
        f64(1),
        f64(2),
      );
      i32[h + F.FMODE] = arr(7);
      i32[h + F.FMUL] = farr(0);
      i32[h + F.FADD] = farr(1);
      i32[h + F.FMAGIC] = farr(2);
      i32[h + F.MULT] = arr(1);
      i32[h + F.LMUL] = arr(2);
      i32[h + F.RSHIFT] = arr(3);
      i32[h + F.RMASK] = arr(4);
      i32[h + F.LFLOOR] = arr(5);
      i32[h + F.RPOW] = arr(6);
    }
    i32[h + F.ZP] = spec.outputZeroPoint;
    i32[h + F.QMIN] = act.qmin;
    i32[h + F.QMAX] = act.qmax;
    i32[h + F.SIGNED] = spec.signed ? 1 : 0;
    return new EpilogueParams(rt, spec.requant === 'fp32' ? EpilogueKind.Fp32 : EpilogueKind.Fixed, ptr);
  }

  /**
   * Dequantizing epilogue: y = clamp(acc * (xScale * colScale[n]) + bias[n], lo, hi) in
   * float32 (lo / hi from a fused activation, infinite without one).
   */
  static dequant(
    rt: Runtime,
    N: number,
    colScale: Float32Array,
    bias?: Float32Array,
    lo = -Infinity,
    hi = Infinity,
  ): EpilogueParams {
    const np = Math.ceil(N / rt.config.nr) * rt.config.nr;
    const ptr = rt.heap.alloc(HEADER + 2 * np * 4, 'weights');
    const i32 = rt.heap.i32;
    const f32 = rt.heap.f32;
    const h = ptr >> 2;
    i32.fill(0, h, h + HEADER / 4 + 2 * np);
    const b = ptr + HEADER;
    const c = b + np * 4;
    if (bias) {
      f32.set(bias, b >> 2);
      i32[h + F.BIAS] = b;
    }
    f32.set(colScale, c >> 2);
    i32[h + F.MULT] = c;
    f32[h + F.DQLO] = lo;
    f32[h + F.DQHI] = hi;
    return new EpilogueParams(rt, EpilogueKind.Dequant, ptr);
  }

  /**
   * Fuses a residual add after the requantization (the block's R* fields): mode 1 sums
   * (F + c * Rc) + r * Rr, mode 2 (F + r * Rr) + c * Rc, c the requantized code and r the
   * residual code RDELTA bytes from it (see residualAddTile in assembly/gemm/epilogue.ts).
   */
  setResidual(r: EpilogueResidual): void {
    const h = this.ptr >> 2;
    const { i32, f32 } = this.rt.heap;
    i32[h + F.RADD] = r.mode;
    f32[h + F.RF] = r.F;
    f32[h + F.RC] = r.Rc;
    f32[h + F.RR] = r.Rr;
    f32[h + F.RLO] = r.lo;
    f32[h + F.RHI] = r.hi;
  }

  /** Sets the per-call input scale of a dequantizing epilogue. */
  setInputScale(s: number): void {
    this.rt.heap.f32[(this.ptr >> 2) + F.XSCALE] = s;
  }

  dispose(): void {
    this.rt.heap.release(this.ptr);
  }
}
