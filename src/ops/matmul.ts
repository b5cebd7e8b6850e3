// MatMulInteger and QLinearMatMul with ONNX (numpy matmul) semantics.
import { QwasmError, check } from '../errors.js';
import { readOptions } from '../args.js';
import type { Runtime } from '../runtime.js';
import { checkResultSize, dtypeOf, readTensor, sizeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { newQuantArray, dtypeRange } from '../quant/dtype.js';
import { resolveScale, resolveZeroPoint, zeroPointDtype, type Scale, type ZeroPoint } from '../quant/params.js';
import { EpilogueKind } from '../kernels.js';
import { EpilogueParams, type Requant } from './epilogue.js';
import { checkAccumulation, maxCentred, packActivations, packedActivationBytes, packedWeightBytes } from './gemm.js';

interface MatMulPlan {
  M: number;
  K: number;
  N: number;
  /** Broadcast batch shape of the output. */
  batch: number[];
  /** For each output batch, the batch index into a and into b. */
  aIndex: Int32Array;
  bIndex: Int32Array;
  aBatches: number;
  bBatches: number;
  outShape: number[];
}

/** numpy matmul shape rules: 1-D operands are promoted and their dim dropped afterwards. */
function planMatMul(a: Tensor, b: Tensor, outBytesPerElem: number): MatMulPlan {
  check(a.shape.length >= 1, 'a', 'must have rank >= 1');
  check(b.shape.length >= 1, 'b', 'must have rank >= 1');
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : [...a.shape];
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : [...b.shape];
  const M = as[as.length - 2]!;
  const K = as[as.length - 1]!;
  const K2 = bs[bs.length - 2]!;
  const N = bs[bs.length - 1]!;
  check(
    K === K2,
    'b',
    `inner dimensions differ: a is [${a.shape.join(', ')}] (K = ${K}), b is [${b.shape.join(', ')}] (K = ${K2})`,
  );
  const ab = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = ab[i - (rank - ab.length)] ?? 1;
    const db = bb[i - (rank - bb.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new QwasmError('b', `batch dimensions [${ab.join(', ')}] and [${bb.join(', ')}] do not broadcast`);
    }
    batch.push(da === 1 ? db : da);
  }
  const outShape = [...batch];
  if (a.shape.length > 1) outShape.push(M);
  if (b.shape.length > 1) outShape.push(N);
  const outCount = sizeOf(outShape);
  checkResultSize(outCount, outBytesPerElem, 'a');
  // an empty result needs no batch indices (its batch count alone may be huge)
  const total = outCount === 0 ? 0 : sizeOf(batch);
  const aIndex = new Int32Array(total);
  const bIndex = new Int32Array(total);
  const idx = new Array<number>(rank).fill(0);
  for (let t = 0; t < total; t++) {
    let ai = 0;
    let bi = 0;
    for (let i = 0; i < rank; i++) {
      const da = ab[i - (rank - ab.length)] ?? 1;
      const db = bb[i - (rank - bb.length)] ?? 1;
      ai = ai * da + (da === 1 ? 0 : idx[i]!);
      bi = bi * db + (db === 1 ? 0 : idx[i]!);
    }
    aIndex[t] = ai;
    bIndex[t] = bi;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < batch[i]!) break;
      idx[i] = 0;
    }
  }
  return { M, K, N, batch, aIndex, bIndex, aBatches: sizeOf(ab), bBatches: sizeOf(bb), outShape };
}

/**
 * Runs the int8 GEMM over every batch of a plan. `epi` is null for int32 output.
 * b is [K, N] per batch (ONNX layout): packed with sn = 1, sk = N.
 */
function runBatched(
  rt: Runtime,
  a: Tensor,
  b: Tensor,
  plan: MatMulPlan,
  za: number,
  zb: Int32Array,
  outBytesPerElem: number,
  epi: EpilogueParams | null,
  readOut: (ptr: number, n: number) => void,
): void {
  const { M, K, N } = plan;
  const k = rt.kernels;
  const aSigned = a.data instanceof Int8Array;
  const bSigned = b.data instanceof Int8Array;
  const kPairs = Math.ceil(K / 2);
  const total = plan.aIndex.length;
  const outCount = total * M * N;
  rt.scoped((alloc) => {
    const ap = alloc(a.data.length, 'a');
    const bp = alloc(b.data.length, 'b');
    rt.heap.u8.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.length), ap);
    rt.heap.u8.set(new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.length), bp);
    const wBytes = packedWeightBytes(rt, N, K);
    const wp = alloc(wBytes * plan.bBatches, 'b');
    const zbp = zb.length > 1 ? alloc(N * 4) : 0;
    if (zbp) rt.heap.i32.set(zb, zbp >> 2);
    for (let i = 0; i < plan.bBatches; i++) {
      k.pack_w_s16(bp + i * K * N, N, K, 1, N, bSigned ? 1 : 0, zb[0]!, zbp, wp + i * wBytes);
    }
    const aBytes = packedActivationBytes(M, K);
    const pa = alloc(aBytes * plan.aBatches, 'a');
    for (let i = 0; i < plan.aBatches; i++) {
      packActivations(rt, ap + i * M * K, M, K, K, aSigned, za, pa + i * aBytes);
    }
    const op = alloc(outCount * outBytesPerElem, 'a');
    const kind = epi ? epi.kind : EpilogueKind.I32;
    const params = epi ? epi.ptr : 0;
    if (plan.bBatches === 1) {
      // every output batch uses the one b: run all of a's rows as one GEMM when a is not broadcast
      if (plan.aBatches === total) {
        if (plan.aBatches === 1 || M % rt.config.mr === 0) {
          k.gemm_s16(pa, wp, M * total, N, kPairs, op, N, kind, params);
        } else {
          for (let t = 0; t < total; t++) {
            k.gemm_s16(pa + t * aBytes, wp, M, N, kPairs, op + t * M * N * outBytesPerElem, N, kind, params);
          }
        }
      } else {
        for (let t = 0; t < total; t++) {
          const ai = plan.aIndex[t]!;
          k.gemm_s16(pa + ai * aBytes, wp, M, N, kPairs, op + t * M * N * outBytesPerElem, N, kind, params);
        }
      }
    } else {
      for (let t = 0; t < total; t++) {
        const ai = plan.aIndex[t]!;
        const bi = plan.bIndex[t]!;
        k.gemm_s16(pa + ai * aBytes, wp + bi * wBytes, M, N, kPairs, op + t * M * N * outBytesPerElem, N, kind, params);
      }
    }
    readOut(op, outCount);
  });
}

/** Snapshots of both operands with their quantized dtypes. */
function readOperands(a: unknown, b: unknown): { a: Tensor; b: Tensor; aType: QuantDtype; bType: QuantDtype } {
  const at = readTensor(a, 'a');
  const bt = readTensor(b, 'b');
  return { a: at, b: bt, aType: dtypeOf(at.data, 'a'), bType: dtypeOf(bt.data, 'b') };
}

export function matMulInteger(
  rt: Runtime,
  a: Tensor,
  b: Tensor,
  aZeroPoint?: ZeroPoint,
  bZeroPoint?: ZeroPoint,
): Tensor<Int32Array> {
  rt.live();
  const ops = readOperands(a, b);
  const { aType, bType } = ops;
  [a, b] = [ops.a, ops.b];
  const plan = planMatMul(a, b, 4);
  const za = resolveZeroPoint(aZeroPoint, 'aZeroPoint', aType);
  const zb = resolveZeroPoint(bZeroPoint, 'bZeroPoint', bType, plan.N);
  checkAccumulation(plan.K, maxCentred(aType, za), maxCentred(bType, zb), 'a');
  const data = new Int32Array(plan.aIndex.length * plan.M * plan.N);
  if (data.length > 0) {
    if (plan.K === 0) data.fill(0);
    else
      runBatched(rt, a, b, plan, za[0]!, zb, 4, null, (ptr, n) => {
        data.set(rt.heap.i32.subarray(ptr >> 2, (ptr >> 2) + n));
      });
  }
  return { data, shape: plan.outShape };
}

/**
 * Options of qlinearMatMul beyond ONNX's inputs.
 *
 * @example
 * ```ts
 * const opts: QLinearMatMulOptions = { requant: 'fixedpoint' };
 * const y = qw.qlinearMatMul(a, 0.02, 128, b, 0.01, 0, 0.05, 128, opts);
 * ```
 */
export interface QLinearMatMulOptions {
  /** 'fp32' (ONNX, default) or 'fixedpoint' (TFLite) requantization. */
  requant?: Requant;
}

export function qlinearMatMul(
  rt: Runtime,
  a: Tensor,
  aScale: Scale,
  aZeroPoint: ZeroPoint | undefined,
  b: Tensor,
  bScale: Scale,
  bZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint?: ZeroPoint,
  optsArg: QLinearMatMulOptions | null = {},
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  const ops = readOperands(a, b);
  const { aType, bType } = ops;
  [a, b] = [ops.a, ops.b];
  const plan = planMatMul(a, b, 1);
  const sa = resolveScale(aScale, 'aScale');
  const za = resolveZeroPoint(aZeroPoint, 'aZeroPoint', aType);
  const sb = resolveScale(bScale, 'bScale', plan.N);
  const zb = resolveZeroPoint(bZeroPoint, 'bZeroPoint', bType, plan.N);
  const sy = resolveScale(yScale, 'yScale');
  const yType = zeroPointDtype(yZeroPoint) ?? aType;
  const zy = resolveZeroPoint(yZeroPoint, 'yZeroPoint', yType);
  const requant = readOptions(optsArg).requant ?? 'fp32';
  check(requant === 'fp32' || requant === 'fixedpoint', 'opts.requant', `must be 'fp32' or 'fixedpoint'`);
  checkAccumulation(plan.K, maxCentred(aType, za), maxCentred(bType, zb), 'a');
  const count = plan.aIndex.length * plan.M * plan.N;
  const data = newQuantArray(yType, count);
  const { qmin, qmax } = dtypeRange(yType);
  if (count === 0) return { data, shape: plan.outShape };
  const epi = EpilogueParams.requant(rt, plan.N, {
    requant,
    outputScaleName: 'yScale',
    inputScale: sa[0]!,
    weightScale: sb,
    outputScale: sy[0]!,
    outputZeroPoint: zy[0]!,
    qmin,
    qmax,
    signed: yType === 'int8',
  });
  try {
    if (plan.K === 0) {
      // no products: every accumulator is 0, which requantizes to the zero point
      data.fill(zy[0]!);
    } else {
      runBatched(rt, a, b, plan, za[0]!, zb, 1, epi, (ptr, n) => {
        data.set(yType === 'int8' ? rt.heap.i8.subarray(ptr, ptr + n) : rt.heap.u8.subarray(ptr, ptr + n));
      });
    }
  } finally {
    epi.dispose();
  }
  return { data, shape: plan.outShape };
}
