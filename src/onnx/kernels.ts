// The float32 loops of the graph layer for the ops that move or reduce data rather than
// compute with weights (broadcasting binaries, gathers, slices, reductions, small batched
// matmuls) and for the pointwise programs the fusion pass builds. Each writes into an output
// array the plan gave it and allocates nothing.
import type { OnnxArray } from './tensor.js';
import { stridesOf } from './tensor.js';
import { roundHalfEven } from '../quant/multiplier.js';

/** Binary elementwise operations. */
export type BinaryOp = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow' | 'Max' | 'Min';

/** Applies `op` to one pair. */
export function binaryScalar(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'Add':
      return a + b;
    case 'Sub':
      return a - b;
    case 'Mul':
      return a * b;
    case 'Div':
      return a / b;
    case 'Pow':
      return b === 2 ? a * a : b === 0.5 ? Math.sqrt(a) : Math.pow(a, b);
    case 'Max':
      return a > b || Number.isNaN(a) ? a : b;
    default:
      return a < b || Number.isNaN(a) ? a : b;
  }
}

/** Integer division as ONNX does it for integer tensors (truncation toward zero). */
function binaryInt(op: BinaryOp, a: number, b: number): number {
  return op === 'Div' ? Math.trunc(a / b) : binaryScalar(op, a, b);
}

/**
 * The broadcast of two shapes (numpy rules), and each input's strides over the output
 * (0 along broadcast dims).
 */
export function broadcastPlan(
  a: readonly number[],
  b: readonly number[],
): { shape: number[]; sa: number[]; sb: number[] } | null {
  const r = Math.max(a.length, b.length);
  const shape: number[] = [];
  const pa = [...new Array<number>(r - a.length).fill(1), ...a];
  const pb = [...new Array<number>(r - b.length).fill(1), ...b];
  for (let i = 0; i < r; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x !== y && x !== 1 && y !== 1) return null;
    shape.push(x === 1 ? y : x);
  }
  const ta = stridesOf(pa);
  const tb = stridesOf(pb);
  return {
    shape,
    sa: pa.map((d, i) => (d === 1 ? 0 : ta[i]!)),
    sb: pb.map((d, i) => (d === 1 ? 0 : tb[i]!)),
  };
}

/** Elementwise `op` of a and b broadcast to `shape` into out. */
export function broadcastBinary(
  op: BinaryOp,
  a: OnnxArray,
  sa: readonly number[],
  b: OnnxArray,
  sb: readonly number[],
  shape: readonly number[],
  out: OnnxArray,
  float: boolean,
): void {
  const n = out.length;
  const f = float ? binaryScalar : binaryInt;
  if (a.length === n && b.length === n) {
    if (float) {
      switch (op) {
        case 'Add':
          for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
          return;
        case 'Mul':
          for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
          return;
        case 'Sub':
          for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
          return;
        case 'Div':
          for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
          return;
        default:
      }
    }
    for (let i = 0; i < n; i++) out[i] = f(op, a[i]!, b[i]!);
    return;
  }
  if (b.length === 1) {
    const y = b[0]!;
    if (float && op === 'Mul') for (let i = 0; i < n; i++) out[i] = a[i]! * y;
    else if (float && op === 'Add') for (let i = 0; i < n; i++) out[i] = a[i]! + y;
    else for (let i = 0; i < n; i++) out[i] = f(op, a[i]!, y);
    return;
  }
  if (a.length === 1) {
    const x = a[0]!;
    for (let i = 0; i < n; i++) out[i] = f(op, x, b[i]!);
    return;
  }
  // rows: the last dim walks both inputs with their own step; the outer dims by odometer
  const r = shape.length;
  const inner = shape[r - 1]!;
  const ia = sa[r - 1]!;
  const ib = sb[r - 1]!;
  const outer = n / inner;
  const idx = new Array<number>(r).fill(0);
  let pa = 0;
  let pb = 0;
  let o = 0;
  for (let row = 0; row < outer; row++) {
    if (float && op === 'Mul' && ia === 1 && ib === 1) {
      for (let j = 0; j < inner; j++) out[o + j] = a[pa + j]! * b[pb + j]!;
    } else if (float && op === 'Add' && ia === 1 && ib === 1) {
      for (let j = 0; j < inner; j++) out[o + j] = a[pa + j]! + b[pb + j]!;
    } else if (float && op === 'Mul' && ia === 1 && ib === 0) {
      const y = b[pb]!;
      for (let j = 0; j < inner; j++) out[o + j] = a[pa + j]! * y;
    } else if (float && op === 'Add' && ia === 1 && ib === 0) {
      const y = b[pb]!;
      for (let j = 0; j < inner; j++) out[o + j] = a[pa + j]! + y;
    } else {
      for (let j = 0; j < inner; j++) out[o + j] = f(op, a[pa + j * ia]!, b[pb + j * ib]!);
    }
    o += inner;
    for (let k = r - 2; k >= 0; k--) {
      idx[k]!++;
      pa += sa[k]!;
      pb += sb[k]!;
      if (idx[k]! < shape[k]!) break;
      pa -= sa[k]! * shape[k]!;
      pb -= sb[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
}

/** erf (Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7, float32's own step near 1). */
export function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}

/**
 * A pointwise program: instructions over registers (register 0 holds the input), each
 * `dst = op(a, b)` where a and b are registers or, for `bc`, a constant.
 */
export interface PointwiseInst {
  op:
    | BinaryOp
    | 'Relu'
    | 'Clip'
    | 'Sigmoid'
    | 'Tanh'
    | 'Erf'
    | 'Sqrt'
    | 'Neg'
    | 'Exp'
    | 'Abs'
    | 'HardSigmoid'
    | 'HardSwish'
    | 'LeakyRelu';
  dst: number;
  a: number;
  /** Second register, or -1 when the second operand is the constant `c`. */
  b: number;
  c: number;
  /** Extra constants: clip bounds, hard-sigmoid alpha / beta, leaky alpha. */
  lo: number;
  hi: number;
  /** When set, the constant is the first operand (c op a). */
  swap: boolean;
}

/** A register program over the input x, the result in register `result`. */
export interface PointwiseProgram {
  insts: PointwiseInst[];
  registers: number;
  result: number;
}

const CHUNK = 1024;

/** One instruction bound to its registers: a monomorphic loop over the first `len` lanes. */
type BoundInst = (len: number) => void;

/** Binds an instruction to its register arrays: one small loop per op, so each stays monomorphic. */
function bind(s: PointwiseInst, regs: Float32Array[]): BoundInst {
  const d = regs[s.dst]!;
  const a = regs[s.a]!;
  if (s.b >= 0) {
    const b = regs[s.b]!;
    switch (s.op) {
      case 'Mul':
        return (len) => {
          for (let i = 0; i < len; i++) d[i] = a[i]! * b[i]!;
        };
      case 'Add':
        return (len) => {
          for (let i = 0; i < len; i++) d[i] = a[i]! + b[i]!;
        };
      default:
        return (len) => {
          for (let i = 0; i < len; i++) d[i] = evalInst(s, a[i]!, b[i]!);
        };
    }
  }
  const c = s.c;
  const lo = s.lo;
  const hi = s.hi;
  switch (s.swap ? '' : s.op) {
    case 'Add':
      return (len) => {
        for (let i = 0; i < len; i++) d[i] = a[i]! + c;
      };
    case 'Sub':
      return (len) => {
        for (let i = 0; i < len; i++) d[i] = a[i]! - c;
      };
    case 'Mul':
      return (len) => {
        for (let i = 0; i < len; i++) d[i] = a[i]! * c;
      };
    case 'Div':
      return (len) => {
        for (let i = 0; i < len; i++) d[i] = a[i]! / c;
      };
    case 'Clip':
      return (len) => {
        for (let i = 0; i < len; i++) {
          const v = a[i]!;
          d[i] = v < lo ? lo : v > hi ? hi : v;
        }
      };
    case 'Relu':
      return (len) => {
        for (let i = 0; i < len; i++) {
          const v = a[i]!;
          d[i] = v > 0 ? v : 0;
        }
      };
    case 'HardSigmoid':
      return (len) => {
        for (let i = 0; i < len; i++) {
          const v = lo * a[i]! + hi;
          d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
      };
    case 'Sigmoid':
      return (len) => {
        for (let i = 0; i < len; i++) d[i] = 1 / (1 + Math.exp(-a[i]!));
      };
    default:
      return (len) => {
        for (let i = 0; i < len; i++) d[i] = evalInst(s, a[i]!, c);
      };
  }
}

/** Whether register r is read only by instruction `at` of the program. */
function usedOnce(insts: PointwiseInst[], r: number, at: number): boolean {
  return insts.every((s, i) => i === at || (s.a !== r && s.b !== r));
}

/** True where insts k..k+3 are x * clip(x + 3, 0, 6) / 6 (hard-swish as exporters write it). */
function hardSwishAt(insts: PointwiseInst[], k: number): true | null {
  const [a, c, m, d] = [insts[k], insts[k + 1], insts[k + 2], insts[k + 3]];
  if (a === undefined || c === undefined || m === undefined || d === undefined) return null;
  const ok =
    a.op === 'Add' &&
    a.b < 0 &&
    a.c === 3 &&
    c.op === 'Clip' &&
    c.a === a.dst &&
    c.lo === 0 &&
    c.hi === 6 &&
    m.op === 'Mul' &&
    m.b >= 0 &&
    ((m.a === a.a && m.b === c.dst) || (m.b === a.a && m.a === c.dst)) &&
    d.op === 'Div' &&
    d.b < 0 &&
    !d.swap &&
    d.a === m.dst &&
    d.c === 6 &&
    usedOnce(insts, a.dst, k + 1) &&
    usedOnce(insts, c.dst, k + 2) &&
    usedOnce(insts, m.dst, k + 3);
  return ok ? true : null;
}

function bindHardSwish(x: Float32Array, y: Float32Array): BoundInst {
  return (len) => {
    for (let i = 0; i < len; i++) {
      const v = x[i]!;
      const t = v + 3;
      y[i] = (v * (t < 0 ? 0 : t > 6 ? 6 : t)) / 6;
    }
  };
}

function bindAffine(x: Float32Array, y: Float32Array, m: number, c: number): BoundInst {
  return (len) => {
    for (let i = 0; i < len; i++) y[i] = x[i]! * m + c;
  };
}

/**
 * When a program is hard-swish of its input, optionally followed by `* m + c`, the two
 * constants (m = 1, c = 0 without the affine part); null otherwise. The engine's float32
 * hard-swish kernel (SIMD) runs such programs.
 */
export function hardSwishAffine(program: PointwiseProgram): { m: number; c: number } | null {
  const insts = program.insts;
  if (insts.length < 4 || insts[0]!.a !== 0 || hardSwishAt(insts, 0) === null) return null;
  if (insts.length === 4) return program.result === insts[3]!.dst ? { m: 1, c: 0 } : null;
  const [s, t] = [insts[4], insts[5]];
  if (
    insts.length === 6 &&
    s!.op === 'Mul' &&
    s!.b < 0 &&
    s!.a === insts[3]!.dst &&
    t!.op === 'Add' &&
    t!.b < 0 &&
    t!.a === s!.dst &&
    program.result === t!.dst
  ) {
    return { m: s!.c, c: t!.c };
  }
  return null;
}

/** Applies a pointwise program elementwise, chunk by chunk through its registers. */
export class PointwiseRunner {
  private readonly regs: Float32Array[];
  private readonly bound: BoundInst[];

  /**
   * @param exact each instruction rounds to float32 on its own, as one ONNX op per instruction
   *   does (no fused hard-swish or multiply-add passes): Add, Sub, Mul, Div, Clip, Relu, Max and
   *   Min then give onnxruntime's float32 results bit for bit
   */
  constructor(
    readonly program: PointwiseProgram,
    exact = false,
  ) {
    this.regs = Array.from({ length: program.registers }, () => new Float32Array(CHUNK));
    this.bound = [];
    const insts = program.insts;
    for (let k = 0; k < insts.length; k++) {
      if (exact) {
        this.bound.push(bind(insts[k]!, this.regs));
        continue;
      }
      const hs = hardSwishAt(insts, k);
      if (hs !== null) {
        this.bound.push(bindHardSwish(this.regs[insts[k]!.a]!, this.regs[insts[k + 3]!.dst]!));
        k += 3;
        continue;
      }
      const s = insts[k]!;
      const t = insts[k + 1];
      // x * c1 + c2 (the affine scalars PaddleOCR's learnable blocks put after activations)
      if (
        t !== undefined &&
        s.op === 'Mul' &&
        s.b < 0 &&
        t.op === 'Add' &&
        t.b < 0 &&
        t.a === s.dst &&
        !s.swap &&
        !t.swap &&
        usedOnce(insts, s.dst, k + 1)
      ) {
        this.bound.push(bindAffine(this.regs[s.a]!, this.regs[t.dst]!, s.c, t.c));
        k += 1;
        continue;
      }
      this.bound.push(bind(s, this.regs));
    }
  }

  /** Real function of one value (the int8 path's lookup tables are built from it). */
  scalar(x: number): number {
    const r = new Float64Array(this.program.registers);
    r[0] = x;
    for (const s of this.program.insts) r[s.dst] = evalInst(s, r[s.a]!, s.b >= 0 ? r[s.b]! : s.c);
    return Math.fround(r[this.program.result]!);
  }

  /**
   * The same function with every instruction's result rounded to float32, as a graph of one
   * ONNX op per instruction computes it (onnxruntime running a QDQ file's float ops).
   */
  scalar32(x: number): number {
    const r = new Float32Array(this.program.registers);
    r[0] = x;
    for (const s of this.program.insts) r[s.dst] = evalInst(s, r[s.a]!, s.b >= 0 ? r[s.b]! : s.c);
    return r[this.program.result]!;
  }

  run(x: Float32Array, out: Float32Array): void {
    const r0 = this.regs[0]!;
    const res = this.regs[this.program.result]!;
    const bound = this.bound;
    const n = x.length;
    for (let base = 0; base < n; base += CHUNK) {
      const len = Math.min(CHUNK, n - base);
      for (let i = 0; i < len; i++) r0[i] = x[base + i]!;
      for (let k = 0; k < bound.length; k++) bound[k]!(len);
      for (let i = 0; i < len; i++) out[base + i] = res[i]!;
    }
  }
}

function evalInst(s: PointwiseInst, a: number, b: number): number {
  switch (s.op) {
    case 'Relu':
      return a > 0 ? a : 0;
    case 'Clip':
      return a < s.lo ? s.lo : a > s.hi ? s.hi : a;
    case 'Sigmoid':
      return 1 / (1 + Math.exp(-a));
    case 'Tanh':
      return Math.tanh(a);
    case 'Erf':
      return erf(a);
    case 'Sqrt':
      return Math.sqrt(a);
    case 'Neg':
      return -a;
    case 'Exp':
      return Math.exp(a);
    case 'Abs':
      return Math.abs(a);
    case 'HardSigmoid':
      return Math.max(0, Math.min(1, s.lo * a + s.hi));
    case 'HardSwish':
      return a * Math.max(0, Math.min(1, a / 6 + 0.5));
    case 'LeakyRelu':
      return a >= 0 ? a : s.lo * a;
    default:
      return s.swap ? binaryScalar(s.op, b, a) : binaryScalar(s.op, a, b);
  }
}

/** Softmax over the innermost `d` elements of each row. */
export function softmaxRows(x: Float32Array, out: Float32Array, d: number): void {
  const rows = x.length / d;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let m = -Infinity;
    for (let i = 0; i < d; i++) m = Math.max(m, x[o + i]!);
    let s = 0;
    for (let i = 0; i < d; i++) {
      const e = Math.exp(x[o + i]! - m);
      out[o + i] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let i = 0; i < d; i++) out[o + i]! *= inv;
  }
}

/** Batched row-major matmul: a [B, M, K] (batch stride sa, 0 to broadcast) x b [B, K, N] -> out [B, M, N]. */
export function matmulBatched(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  batch: number,
  M: number,
  K: number,
  N: number,
  sa: number,
  sb: number,
): void {
  for (let t = 0; t < batch; t++) {
    const ao = t * sa;
    const bo = t * sb;
    const oo = t * M * N;
    out.fill(0, oo, oo + M * N);
    for (let m = 0; m < M; m++) {
      const orow = oo + m * N;
      for (let k = 0; k < K; k++) {
        const av = a[ao + m * K + k]!;
        if (av === 0) continue;
        const brow = bo + k * N;
        for (let n = 0; n < N; n++) out[orow + n]! += av * b[brow + n]!;
      }
    }
  }
}

/**
 * Depth to space over NHWC rows: src [rows, W, kH * kW * M] (channel (i * kW + j) * M + m)
 * into dst [rows * kH, W * kW, M], where `rows` is N * H. The shuffle after a transposed
 * convolution run as a 1x1 convolution.
 */
export function depthToSpaceF32(
  src: Float32Array,
  dst: Float32Array,
  rows: number,
  W: number,
  kH: number,
  kW: number,
  M: number,
): void {
  const blk = kW * M;
  const pix = kH * blk;
  let d = 0;
  for (let r = 0; r < rows; r++) {
    const rowBase = r * W * pix;
    for (let i = 0; i < kH; i++) {
      for (let w = 0, s = rowBase + i * blk; w < W; w++, s += pix) {
        for (let k = 0; k < blk; k++) dst[d++] = src[s + k]!;
      }
    }
  }
}

/** Float32 `a op b` of two arrays of one length (Add, Sub, Mul, Div): loops that only see Float32Array. */
export function sameShapeF32(op: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  switch (op) {
    case 'Add':
      for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
      return;
    case 'Sub':
      for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
      return;
    case 'Mul':
      for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
      return;
    default:
      for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
  }
}

/**
 * Float32 `x op v` with v (C values) repeated along x's rows of C (`vFirst`: `v op x`), for
 * Add, Sub, Mul, Div: the channels-last squeeze-excite scale and a scalar (C = 1).
 */
export function rowsF32(op: BinaryOp, x: Float32Array, v: Float32Array, out: Float32Array, vFirst: boolean): void {
  const n = out.length;
  const C = v.length;
  if (C === 1) {
    const s = v[0]!;
    if (op === 'Mul') for (let i = 0; i < n; i++) out[i] = x[i]! * s;
    else if (op === 'Add') for (let i = 0; i < n; i++) out[i] = x[i]! + s;
    else for (let i = 0; i < n; i++) out[i] = vFirst ? binaryScalar(op, s, x[i]!) : binaryScalar(op, x[i]!, s);
    return;
  }
  for (let r = 0; r < n; r += C) {
    switch (op) {
      case 'Mul':
        for (let c = 0; c < C; c++) out[r + c] = x[r + c]! * v[c]!;
        break;
      case 'Add':
        for (let c = 0; c < C; c++) out[r + c] = x[r + c]! + v[c]!;
        break;
      case 'Sub':
        if (vFirst) for (let c = 0; c < C; c++) out[r + c] = v[c]! - x[r + c]!;
        else for (let c = 0; c < C; c++) out[r + c] = x[r + c]! - v[c]!;
        break;
      default:
        if (vFirst) for (let c = 0; c < C; c++) out[r + c] = v[c]! / x[r + c]!;
        else for (let c = 0; c < C; c++) out[r + c] = x[r + c]! / v[c]!;
    }
  }
}

/** Channels-last concat of float32 rows: out rows of `rowOut` from each input's rows of blocks[k] at offsets. */
export function concatRowsF32(srcs: Float32Array[], blocks: readonly number[], out: Float32Array, outer: number): void {
  let rowOut = 0;
  for (const b of blocks) rowOut += b;
  let off = 0;
  for (let k = 0; k < srcs.length; k++) {
    const src = srcs[k]!;
    const blk = blocks[k]!;
    for (let o = 0, si = 0; o < outer; o++) {
      const d = o * rowOut + off;
      for (let j = 0; j < blk; j++) out[d + j] = src[si++]!;
    }
    off += blk;
  }
}

/** `hardSwish(x) * m + c` elementwise in one pass (hard-swish as x * clip(x + 3, 0, 6) / 6). */
export function hardSwishAffineF32(x: Float32Array, y: Float32Array, m: number, c: number): void {
  const k = m / 6;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const t = v + 3;
    y[i] = v * (t < 0 ? 0 : t > 6 ? 6 : t) * k + c;
  }
}

/**
 * Rounds x to the grid of `scale` (ONNX QuantizeLinear then DequantizeLinear, zero point 0):
 * y = clamp(roundHalfEven(float32(x / scale)), lo, hi) * scale, NaN to 0, with lo and hi
 * integers (the codes' range).
 */
export function quantizeDequantizeF32(x: Float32Array, y: Float32Array, scale: number, lo: number, hi: number): void {
  for (let i = 0; i < x.length; i++) {
    const r = roundHalfEven(Math.fround(x[i]! / scale));
    y[i] = (r < lo ? lo : r > hi ? hi : r === r ? r : 0) * scale;
  }
}

/**
 * hardSwishAffineF32 as the ONNX graph computes it, each op rounded to float32: t = clip(x + 3,
 * 0, 6), h = (x * t) / 6, then (with `affine`) h * m + c as a Mul and an Add. onnxruntime's
 * float32 on the same graph gives these bits.
 */
export function hardSwishAffineExactF32(x: Float32Array, y: Float32Array, m: number, c: number, affine: boolean): void {
  const fr = Math.fround;
  const mf = fr(m);
  const cf = fr(c);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    let t = fr(v + 3);
    t = t < 0 ? 0 : t > 6 ? 6 : t;
    const h = fr(fr(v * t) / 6);
    y[i] = affine ? fr(h * mf) + cf : h;
  }
}
