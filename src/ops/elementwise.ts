// QLinearAdd and QLinearMul (onnxruntime's com.microsoft contrib operators) and their
// float32 twins, with numpy broadcasting: validate -> resolve the quantization into the
// kernel's constants -> plan the runs (broadcast.ts) -> copy in -> kernel calls -> view.
import { check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkTensor, dtypeOf, type QuantDtype, type Tensor } from '../tensor.js';
import { dtypeRange } from '../quant/dtype.js';
import { resolveScale, resolveZeroPoint, type Scale, type ZeroPoint } from '../quant/params.js';
import { forEachOuter, planBroadcast, type BroadcastPlan } from './broadcast.js';
import { outputArray, type OpOutput } from './out.js';

/**
 * Options of qlinearAdd / qlinearMul and their float32 twins.
 *
 * @example
 * ```ts
 * const opts: ElementwiseOptions = { activation: 'relu' };
 * const y = qw.qlinearAdd(a, 0.05, 0, b, 0.05, 0, 0.1, -128, opts);
 * ```
 */
export interface ElementwiseOptions {
  /** 'relu' clamps the output at its zero point (0 in real terms), fused into the op; default 'none'. */
  activation?: 'none' | 'relu';
}

/** The two ops: which kernel and which constants. */
export type BinaryOp = 'add' | 'mul';

/**
 * The constants of a quantized add or mul, resolved once from scales and zero points
 * (f32 arithmetic in onnxruntime's order; see assembly/elementwise.ts).
 */
export interface QBinaryParams {
  op: BinaryOp;
  signed: boolean;
  /** add: F, Ra, Rb. mul: za, zb, M, zy. */
  F: number;
  Ra: number;
  Rb: number;
  za: number;
  zb: number;
  M: number;
  zy: number;
  lo: number;
  hi: number;
}

/** Resolves the kernel constants of y = a op b from per-tensor quantizations. */
export function qbinaryParams(
  op: BinaryOp,
  dtype: QuantDtype,
  sa: number,
  za: number,
  sb: number,
  zb: number,
  sy: number,
  zy: number,
  activation: 'none' | 'relu',
): QBinaryParams {
  const f = Math.fround;
  const { qmin, qmax } = dtypeRange(dtype);
  const Ra = f(f(sa) / f(sy));
  const Rb = f(f(sb) / f(sy));
  return {
    op,
    signed: dtype === 'int8',
    Ra,
    Rb,
    F: f(zy - f(f(Ra * za) + f(Rb * zb))),
    za,
    zb,
    M: f(f(f(sa) * f(sb)) / f(sy)),
    zy,
    lo: activation === 'relu' ? Math.max(qmin, zy) : qmin,
    hi: qmax,
  };
}

/** One kernel call of a plan (its innermost runs) on operands at pa, pb; output at po (bytes). */
export function runQBinaryAt(
  rt: Runtime,
  p: QBinaryParams,
  plan: BroadcastPlan,
  a: number,
  b: number,
  out: number,
): void {
  const k = rt.kernels;
  const s = p.signed ? 1 : 0;
  const { n, rows, aRow, bRow, kind } = plan;
  if (p.op === 'add') {
    if (kind === 'vv') k.qadd_s8(a, aRow, b, bRow, n, rows, out, s, p.F, p.Ra, p.Rb, p.lo, p.hi);
    else if (kind === 'sb') k.qadd_s8_s(a, aRow, b, bRow, n, rows, out, s, p.F, p.Ra, p.Rb, p.lo, p.hi);
    else k.qadd_s8_s(b, bRow, a, aRow, n, rows, out, s, p.F, p.Rb, p.Ra, p.lo, p.hi);
  } else if (kind === 'vv') k.qmul_s8(a, aRow, b, bRow, n, rows, out, s, p.za, p.zb, p.M, p.zy, p.lo, p.hi);
  else if (kind === 'sb') k.qmul_s8_s(a, aRow, b, bRow, n, rows, out, s, p.za, p.zb, p.M, p.zy, p.lo, p.hi);
  else k.qmul_s8_s(b, bRow, a, aRow, n, rows, out, s, p.zb, p.za, p.M, p.zy, p.lo, p.hi);
}

/** Runs every kernel call of a plan on operands already in wasm memory at pa, pb; output at po. */
export function runQBinary(
  rt: Runtime,
  p: QBinaryParams,
  plan: BroadcastPlan,
  pa: number,
  pb: number,
  po: number,
): void {
  forEachOuter(plan, (oa, ob, oo) => runQBinaryAt(rt, p, plan, pa + oa, pb + ob, po + oo));
}

/** Runs the float32 twin's kernel calls (pointers in bytes, plan offsets in elements). */
export function runF32Binary(
  rt: Runtime,
  op: BinaryOp,
  relu: boolean,
  plan: BroadcastPlan,
  pa: number,
  pb: number,
  po: number,
): void {
  const k = rt.kernels;
  const code = op === 'add' ? 0 : 1;
  const lo = relu ? 0 : -Infinity;
  const { n, rows, aRow, bRow, kind } = plan;
  forEachOuter(plan, (oa, ob, oo) => {
    const a = pa + oa * 4;
    const b = pb + ob * 4;
    const out = po + oo * 4;
    if (kind === 'vv') k.binary_f32(code, a, aRow, b, bRow, n, rows, out, lo, Infinity);
    else if (kind === 'sb') k.binary_f32_s(code, a, aRow, b, bRow, n, rows, out, lo, Infinity);
    else k.binary_f32_s(code, b, bRow, a, aRow, n, rows, out, lo, Infinity);
  });
}

function readActivation(opts: ElementwiseOptions | undefined): 'none' | 'relu' {
  check(opts === undefined || (typeof opts === 'object' && opts !== null), 'opts', 'expected an object');
  const act = opts?.activation ?? 'none';
  check(act === 'none' || act === 'relu', 'opts.activation', `must be 'none' or 'relu', got ${String(act)}`);
  return act;
}

/** Copies a typed array's bytes into wasm memory at `dst`. */
function copyIn(rt: Runtime, data: Int8Array | Uint8Array | Float32Array, dst: number): void {
  rt.heap.u8.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dst);
}

/** qlinearAdd / qlinearMul: y = a op b requantized to (yScale, yZeroPoint); see the engine's TSDoc. */
export function qlinearBinary(
  rt: Runtime,
  op: BinaryOp,
  a: Tensor,
  aScale: Scale,
  aZeroPoint: ZeroPoint | undefined,
  b: Tensor,
  bScale: Scale,
  bZeroPoint: ZeroPoint | undefined,
  yScale: Scale,
  yZeroPoint?: ZeroPoint,
  opts?: ElementwiseOptions,
  out?: OpOutput,
): Tensor<Int8Array | Uint8Array> {
  rt.live();
  checkTensor(a, 'a');
  checkTensor(b, 'b');
  const dtype = dtypeOf(a.data, 'a');
  check(dtypeOf(b.data, 'b') === dtype, 'b', `is ${dtypeOf(b.data, 'b')} but a is ${dtype}`);
  const sa = resolveScale(aScale, 'aScale')[0]!;
  const za = resolveZeroPoint(aZeroPoint, 'aZeroPoint', dtype)[0]!;
  const sb = resolveScale(bScale, 'bScale')[0]!;
  const zb = resolveZeroPoint(bZeroPoint, 'bZeroPoint', dtype)[0]!;
  const sy = resolveScale(yScale, 'yScale')[0]!;
  const zy = resolveZeroPoint(yZeroPoint, 'yZeroPoint', dtype)[0]!;
  const activation = readActivation(opts);
  const plan = planBroadcast(a.shape, b.shape);
  const data = outputArray(out, dtype, plan.size);
  if (plan.size === 0) return { data, shape: plan.shape };
  const params = qbinaryParams(op, dtype, sa, za, sb, zb, sy, zy, activation);
  const ad = a.data as Int8Array | Uint8Array;
  const bd = b.data as Int8Array | Uint8Array;
  rt.scoped((alloc) => {
    const pa = alloc(ad.length, 'a');
    const pb = alloc(bd.length, 'b');
    const po = alloc(plan.size, 'a');
    copyIn(rt, ad, pa);
    copyIn(rt, bd, pb);
    runQBinary(rt, params, plan, pa, pb, po);
    data.set(dtype === 'int8' ? rt.heap.i8.subarray(po, po + plan.size) : rt.heap.u8.subarray(po, po + plan.size));
  });
  return { data, shape: plan.shape };
}

/** addF32 / mulF32: the float32 twins, same broadcasting and fused ReLU. */
export function binaryF32(
  rt: Runtime,
  op: BinaryOp,
  a: Tensor,
  b: Tensor,
  opts?: ElementwiseOptions,
  out?: OpOutput,
): Tensor<Float32Array> {
  rt.live();
  checkTensor(a, 'a');
  checkTensor(b, 'b');
  check(a.data instanceof Float32Array, 'a', `expected Float32Array, got ${a.data.constructor.name}`);
  check(b.data instanceof Float32Array, 'b', `expected Float32Array, got ${b.data.constructor.name}`);
  const relu = readActivation(opts) === 'relu';
  const plan = planBroadcast(a.shape, b.shape);
  const data = outputArray(out, 'float32', plan.size);
  if (plan.size === 0) return { data, shape: plan.shape };
  rt.scoped((alloc) => {
    const pa = alloc(a.data.length * 4, 'a');
    const pb = alloc(b.data.length * 4, 'b');
    const po = alloc(plan.size * 4, 'a');
    copyIn(rt, a.data as Float32Array, pa);
    copyIn(rt, b.data as Float32Array, pb);
    runF32Binary(rt, op, relu, plan, pa, pb, po);
    data.set(rt.heap.f32.subarray(po >> 2, (po >> 2) + plan.size));
  });
  return { data, shape: plan.shape };
}
