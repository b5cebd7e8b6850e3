// onnxruntime-node as the oracle, with its one known inexact case.
//
// On x86-64 hosts without VNNI (AVX2-only Zen 3, older Intel), onnxruntime's u8 x s8
// integer kernels multiply with pmaddubsw, which adds each adjacent pair of u8 * s8
// products into an int16 with saturation before widening to int32. Pairs such as
// 255 * -128 + 255 * -128 = -65280 come out as -32768, so MatMulInteger, ConvInteger,
// QLinearMatMul and QLinearConv with one uint8 and one int8 operand (either order: a
// ConvInteger with int8 x and uint8 w multiplies w * x in its u8 x s8 kernel) are not
// the exact ONNX result there. qwasm's are. The judge below keeps onnxruntime as the
// oracle, and only where onnxruntime disagrees on such a mixed-sign operand pair does
// the exact scalar reference (test/reference) decide, saying so once per test.
import { assert, expect } from 'vitest';
import { firstDiff } from './helpers.js';
import { requantFp32 } from './reference/requant.js';

/** The element types of the two multiplied operands, as ONNX names them. */
export type OperandType = 'int8' | 'uint8';

/**
 * True where onnxruntime's output may be inexact on some x86-64 host: one operand uint8 and
 * the other int8, in either order (its u8 x s8 kernel saturates int16 pair sums without VNNI).
 */
export function onnxruntimeMayBeInexact(operands: readonly [OperandType, OperandType]): boolean {
  return operands[0] !== operands[1];
}

export interface OracleCase {
  /** What is compared, for failure messages: op, dtypes, shape, build. */
  label: string;
  /** Element types of the two multiplied operands (activations, weights). */
  operands: readonly [OperandType, OperandType];
  /** qwasm's output. */
  got: ArrayLike<number>;
  /** onnxruntime's output, in the same layout. */
  oracle: ArrayLike<number>;
  /** The exact answer from the scalar reference; computed only when onnxruntime disagrees. */
  exact: () => ArrayLike<number>;
}

export type Judgement =
  | { pass: true; judgedBy: 'onnxruntime' }
  | { pass: true; judgedBy: 'reference'; oracleDiffersAt: number }
  | { pass: false; reason: string };

const at = (a: ArrayLike<number>, i: number) => (i < a.length ? String(a[i]) : 'nothing');

/**
 * Judges qwasm's output: equal to onnxruntime passes; otherwise, on an operand pair where
 * onnxruntime is known to be inexact, equal to the exact reference passes (judged by the
 * reference); every other disagreement fails.
 */
export function judge(c: OracleCase): Judgement {
  const d = firstDiff(c.got, c.oracle);
  if (d === -1) return { pass: true, judgedBy: 'onnxruntime' };
  const vsOracle = `${c.label}: qwasm differs from onnxruntime at index ${d} (qwasm ${at(c.got, d)}, onnxruntime ${at(c.oracle, d)}, lengths ${c.got.length} and ${c.oracle.length})`;
  if (!onnxruntimeMayBeInexact(c.operands)) return { pass: false, reason: vsOracle };
  const exact = c.exact();
  const e = firstDiff(c.got, exact);
  if (e !== -1) {
    return {
      pass: false,
      reason: `${vsOracle}, and from the exact reference at index ${e} (qwasm ${at(c.got, e)}, reference ${at(exact, e)})`,
    };
  }
  return { pass: true, judgedBy: 'reference', oracleDiffersAt: d };
}

const noted = new Set<string>();

/**
 * Asserts the judgement inside a test; when the exact reference decided, prints so
 * once per test.
 */
export function expectOracle(c: OracleCase): void {
  const v = judge(c);
  if (!v.pass) assert.fail(v.reason);
  if (v.judgedBy === 'reference') {
    const test = expect.getState().currentTestName ?? c.label;
    if (!noted.has(test)) {
      noted.add(test);
      console.warn(
        `${test}: judged by the exact reference, because onnxruntime disagreed on this host ` +
          `(first at index ${v.oracleDiffersAt} of ${c.label}; its u8 x s8 kernel saturates int16 pair sums without VNNI)`,
      );
    }
  }
}

/**
 * ONNX fp32 requantization of int32 accumulators (bias already added), the multiplier
 * f32(f32(sa * sb[c]) / sy) per tensor or per channel; `channel(i)` is the channel of element i.
 */
export function requantizeRef(
  acc: ArrayLike<number>,
  sa: number,
  sb: ArrayLike<number>,
  sy: number,
  zy: number,
  dtype: OperandType,
  channel: (i: number) => number,
): Int8Array | Uint8Array {
  const [qmin, qmax] = dtype === 'int8' ? [-128, 127] : [0, 255];
  const out = dtype === 'int8' ? new Int8Array(acc.length) : new Uint8Array(acc.length);
  for (let i = 0; i < acc.length; i++) {
    const s = sb.length > 1 ? sb[channel(i)]! : sb[0]!;
    const m = Math.fround(Math.fround(Math.fround(sa) * Math.fround(s)) / Math.fround(sy));
    out[i] = requantFp32(acc[i]!, m, zy, qmin, qmax);
  }
  return out;
}

/**
 * Emulates onnxruntime's u8 x s8 MatMulInteger on an x86-64 host without VNNI: raw products
 * a[m,k] * b[k,n] added pairwise (k = 2j, 2j + 1) with int16 saturation (pmaddubsw), the
 * pairs summed in int32, then the zero points folded in from row and column sums.
 */
export function pmaddubswMatMulInteger(
  a: Uint8Array,
  b: Int8Array,
  M: number,
  K: number,
  N: number,
  za: number,
  zb: number,
): Int32Array {
  const sat16 = (v: number) => Math.max(-32768, Math.min(32767, v));
  const out = new Int32Array(M * N);
  for (let m = 0; m < M; m++) {
    let rowSum = 0;
    for (let k = 0; k < K; k++) rowSum += a[m * K + k]!;
    for (let n = 0; n < N; n++) {
      let dot = 0;
      let colSum = 0;
      for (let k = 0; k < K; k += 2) {
        const p0 = a[m * K + k]! * b[k * N + n]!;
        const p1 = k + 1 < K ? a[m * K + k + 1]! * b[(k + 1) * N + n]! : 0;
        dot = (dot + sat16(p0 + p1)) | 0;
        colSum += b[k * N + n]! + (k + 1 < K ? b[(k + 1) * N + n]! : 0);
      }
      out[m * N + n] = (dot - zb * rowSum - za * colSum + K * za * zb) | 0;
    }
  }
  return out;
}
