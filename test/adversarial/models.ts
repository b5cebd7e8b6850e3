// Models of the engine's ops for the fuzzer: a random valid call (awkward shapes,
// extreme zero points and scales, saturating values) with its scalar reference, and
// the argument metadata the mutations need. A model's `build` is also a validator: a
// spec the contract refuses (an empty input, a kernel larger than the padded input)
// builds an error expectation naming the arguments that may be blamed.
import type { Qwasm } from '../../src/index.js';
import type { Case, Expect } from './harness.js';
import { named as nameIt, Rng, show } from './generators.js';
import { badPads, badPair, badScale, badZeroPoint, either, err, mutateTensor, type Mut } from './mutations.js';
import {
  channelOf,
  convAccRef,
  convGeometryRef,
  diffClose,
  diffExact,
  diffShape,
  dequantizeRef,
  dynamicRef,
  dynamicWith,
  matMulRef,
  qrangeOf,
  quantizeMultiplierRef,
  quantizeRef,
  requantFixedRef,
  requantFp32Ref,
  type ConvAttrsRef,
} from './reference.js';
import { binaryMatMulRef, conv2dRef, packRef, unpackRef } from '../reference/binary.js';

type Typed = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array;
type Ctor = new (n: number) => Typed;

export interface ArgMeta {
  name: string;
  kind: 'tensor' | 'scale' | 'zp' | 'attrs' | 'opts' | 'bias' | 'bits' | 'floats';
  optional: boolean;
  accepts?: Ctor[];
  signed?: boolean;
  perChannel?: number;
  related?: string[];
  /** zp: false where a typed-array zero point chooses the dtype (any Int8Array / Uint8Array is valid). */
  dtypeFixed?: boolean;
}

export interface Built {
  args: unknown[];
  expect: Expect;
  snapshots: ArrayBufferView[];
}

export interface OpModel<S> {
  /** The engine method. */
  method: string;
  /** Every argument and attribute name a QwasmError may carry. */
  allowed: string[];
  valid(r: Rng): S;
  build(s: S): Built;
  meta(s: S): ArgMeta[];
  /** The spec with argument i at its default (null / undefined must mean that). */
  withDefault(s: S, i: number): S;
  /** Attribute / option mutations: a new value for argument i and what must happen. */
  mutateAttrs?(r: Rng, s: S, i: number, valid: Expect): Mut;
}

const value = (check: (r: unknown) => string | null): Expect => ({ kind: 'value', check });

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function zpForm(r: Rng, z: number[], signed: boolean): unknown {
  if (z.length > 1)
    return r.pick(['typed', 'i32', 'array']) === 'typed'
      ? signed
        ? Int8Array.from(z)
        : Uint8Array.from(z)
      : r.bool()
        ? Int32Array.from(z)
        : [...z];
  const f = r.pick(['number', 'number', 'typed', 'i32', 'array']);
  if (f === 'number') return z[0];
  if (f === 'typed') return signed ? Int8Array.of(z[0]!) : Uint8Array.of(z[0]!);
  if (f === 'i32') return Int32Array.of(z[0]!);
  return [z[0]!];
}

function scaleForm(r: Rng, s: number[]): unknown {
  if (s.length > 1) return r.bool(0.7) ? Float32Array.from(s) : [...s];
  const f = r.pick(['number', 'number', 'number', 'f32', 'array']);
  if (f === 'number') return s[0];
  if (f === 'f32') return Float32Array.of(s[0]!);
  return [s[0]!];
}

const f32 = (s: readonly number[]) => s.map((v) => Math.fround(v));

/** Checks a { data, shape } result against exact expected values and a dtype. */
function tensorCheck(
  want: readonly number[],
  shape: readonly number[],
  type: new (n: number) => ArrayLike<number>,
): (r: unknown) => string | null {
  return (res) => {
    const t = res as { data: ArrayLike<number>; shape: unknown };
    if (!(t?.data instanceof type)) return `data is ${(t?.data as object)?.constructor?.name}, expected ${type.name}`;
    return diffShape(t.shape, shape) ?? diffExact(t.data, want);
  };
}

/** A random extreme zero point inside a dtype's range. */
function zpIn(r: Rng, signed: boolean): number {
  const { qmin, qmax } = qrangeOf(signed);
  return r.extremeInt(qmin, qmax);
}

// ---------------------------------------------------------------------------------
// The case from a model: a valid call, or one argument mutated

/**
 * A mutation's expectation on a base call that may already be refused (an extreme
 * multiplier): that refusal stays sound whatever else is mutated.
 */
export function withBaseArgs(mut: Expect, base: Expect): Expect {
  if (base.kind !== 'either' || !base.args?.length) return mut;
  if (mut.kind === 'value') return { kind: 'either', check: mut.check, args: base.args };
  return { ...mut, args: [...(mut.args ?? []), ...base.args] };
}

export function caseOf<S>(m: OpModel<S>, r: Rng, mutateP = 0.5): Case {
  const s = m.valid(r);
  const base = m.build(s);
  let args = [...base.args];
  let expect = base.expect;
  let tag = expect.kind === 'error' ? 'refused-spec' : 'valid';
  const snapshots = [...base.snapshots];
  if (expect.kind !== 'error' && r.bool(mutateP)) {
    const meta = m.meta(s);
    const i = r.int(0, meta.length - 1);
    const a = meta[i]!;
    let mut: Mut | null = null;
    if (a.optional && r.bool(0.2)) {
      const d = m.build(m.withDefault(s, i));
      mut = { value: r.pick([null, undefined]), expect: d.expect, tag: `default-${a.name}` };
      mut.tag = mut.value === null ? `null-${a.name}` : `undefined-${a.name}`;
      snapshots.push(...d.snapshots);
    } else if (a.kind === 'tensor') {
      mut = mutateTensor(r, args[i] as { data: Typed; shape: number[] }, a.name, expect, a.accepts!, a.related);
    } else if (a.kind === 'scale') {
      mut = { value: badScale(r, a.perChannel ?? 1), expect: err([a.name, ...(a.related ?? [])]), tag: 'bad-scale' };
    } else if (a.kind === 'zp') {
      const v = badZeroPoint(r, a.signed!, a.perChannel ?? 1, a.dtypeFixed ?? true);
      mut = { value: v, expect: err([a.name]), tag: 'bad-zero-point' };
    } else if (a.kind === 'bias') {
      const n = a.perChannel ?? 1;
      if (r.bool(0.2)) {
        // a plain array of the right length: refusing or reading it are both sound
        const v = Array.from({ length: n }, () => 0);
        mut = { value: v, expect: either(m.build(m.withDefault(s, i)).expect, [a.name]), tag: 'array-bias' };
      } else {
        const v = r.pick<unknown>([new Int32Array(n + 1), new Float32Array(n), 'bias', 5, {}, new Int32Array(0)]);
        mut = { value: v, expect: err([a.name]), tag: 'bad-bias' };
      }
    } else if (m.mutateAttrs) {
      mut = m.mutateAttrs(r, s, i, expect);
    }
    if (mut !== null) {
      args[i] = mut.value;
      expect = withBaseArgs(mut.expect, expect);
      tag = mut.tag;
      snapshots.push(...(mut.snapshots ?? []));
    }
  }
  // trailing undefined arguments are left out, as a caller would
  while (args.length > 0 && args[args.length - 1] === undefined) args = args.slice(0, -1);
  const callArgs = args;
  return {
    tag,
    repr: `qw.${m.method}(${callArgs.map((a) => show(a)).join(', ')})`,
    call: (qw: Qwasm) => (qw as unknown as Record<string, (...a: unknown[]) => unknown>)[m.method]!(...callArgs),
    expect,
    allowed: m.allowed,
    snapshots,
  };
}

// ---------------------------------------------------------------------------------
// quantizeLinear / dequantizeLinear / dynamicQuantizeLinear

interface QuantSpec {
  shape: number[];
  x: Float32Array | Int8Array | Uint8Array;
  scales: number[];
  scaleArg: unknown;
  zps: number[];
  zpArg: unknown;
  axis: number | undefined;
  dtype: 'int8' | 'uint8' | undefined;
  optsGiven: boolean;
}

function randomShape(r: Rng, maxRank = 4, maxElems = 600): number[] {
  for (;;) {
    const rank = r.int(0, maxRank);
    const s = Array.from({ length: rank }, () => r.dim(rank > 2 ? 9 : 33));
    if (sizeOf(s) <= maxElems) return s;
  }
}

function quantSpec(r: Rng, dequant: boolean): QuantSpec {
  const shape = randomShape(r);
  const n = sizeOf(shape);
  const perAxis = shape.length > 0 && r.bool(0.35);
  let axis: number | undefined;
  let C = 1;
  if (perAxis) {
    const a = shape.length >= 2 && r.bool(0.3) ? undefined : r.int(-shape.length, shape.length - 1);
    axis = a;
    C = shape[(a ?? 1) < 0 ? (a ?? 1) + shape.length : (a ?? 1)]!;
  } else if (r.bool(0.2)) axis = r.int(-5, 5);
  const signed = r.bool();
  const dtype: 'int8' | 'uint8' = signed ? 'int8' : 'uint8';
  const scales = Array.from({ length: C > 1 ? C : 1 }, () => r.scale());
  if (r.bool(0.05)) scales[0] = r.pick([1e-45, 3e38, 1e-30]);
  const zps = Array.from({ length: C > 1 && r.bool(0.6) ? C : 1 }, () => zpIn(r, signed));
  const optsGiven = r.bool(0.7);
  const x = dequant ? r.quant(n, signed) : r.bool(0.2) ? r.hostileFloats(n) : r.floats(n, r.pick([1, 10, 1000]));
  let zpArg = zpForm(r, zps, signed);
  if (zps.length === 1 && zps[0] === 0 && r.bool(0.3)) zpArg = undefined;
  return {
    shape,
    x,
    scales,
    scaleArg: scaleForm(r, scales),
    zps,
    zpArg,
    axis,
    dtype: dequant ? undefined : dtype,
    optsGiven,
  };
}

/** The dtype a zero point argument implies. */
function zpDtype(z: unknown): 'int8' | 'uint8' | undefined {
  if (z instanceof Int8Array) return 'int8';
  if (z instanceof Uint8Array) return 'uint8';
  return undefined;
}

function quantExpect(s: QuantSpec, dequant: boolean): Expect {
  const rank = s.shape.length;
  const signed = dequant
    ? s.x instanceof Int8Array
    : ((s.optsGiven ? s.dtype : undefined) ?? zpDtype(s.zpArg) ?? 'uint8');
  const isSigned = signed === true || signed === 'int8';
  // every problem of the spec: the op may report any of them first
  const problems: string[] = [];
  const implied = zpDtype(s.zpArg);
  if (implied !== undefined && implied !== (isSigned ? 'int8' : 'uint8')) problems.push('zeroPoint');
  const { qmin, qmax } = qrangeOf(isSigned);
  const zps = s.zpArg === undefined ? [0] : s.zps;
  if (zps.some((z) => z < qmin || z > qmax)) problems.push('zeroPoint');
  let axis = 0;
  const perAxis = s.scales.length > 1;
  if (perAxis) {
    const a = (s.optsGiven ? s.axis : undefined) ?? 1;
    if (!(a >= -rank && a < rank)) problems.push('axis', 'opts.axis', 'scale');
    else {
      axis = a < 0 ? a + rank : a;
      if (s.shape[axis] !== s.scales.length) problems.push('scale', 'axis', 'opts.axis');
      if (zps.length > 1 && zps.length !== s.scales.length) problems.push('zeroPoint');
    }
  } else if (zps.length > 1) problems.push('zeroPoint', 'scale');
  const a = s.optsGiven ? s.axis : undefined;
  const axisIgnored = !perAxis && a !== undefined && !(a >= -rank && a < rank);
  const sc = f32(s.scales);
  if (sc.some((v) => !(v > 0 && Number.isFinite(v)))) problems.push('scale');
  if (problems.length > 0) return err(problems);
  if (dequant) {
    const want = dequantizeRef(s.x, s.shape, sc, zps, axis);
    const v = value(tensorCheck(want, s.shape, Float32Array));
    return axisIgnored ? either(v, ['axis', 'opts.axis']) : v;
  }
  const want = quantizeRef(s.x, s.shape, sc, zps, axis, isSigned);
  const v = value(tensorCheck(want, s.shape, isSigned ? Int8Array : Uint8Array));
  // ONNX ignores axis for a per-tensor scale: refusing an out-of-range one is sound too
  return axisIgnored ? either(v, ['axis', 'opts.axis']) : v;
}

function quantOpts(s: QuantSpec): unknown {
  if (!s.optsGiven) return undefined;
  const o: Record<string, unknown> = {};
  if (s.axis !== undefined) o.axis = s.axis;
  if (s.dtype !== undefined) o.dtype = s.dtype;
  return o;
}

function quantMutateAttrs(r: Rng, s: QuantSpec, i: number, valid: Expect, dequant: boolean): Mut {
  if (i !== 3) return { value: undefined, expect: valid, tag: 'valid' };
  const k = r.int(0, dequant ? 1 : 3);
  if (k === 0) {
    const bad = r.pick<unknown>([s.shape.length, -s.shape.length - 1, 1.5, '1', NaN, 1n, 99]);
    const o = { ...(quantOpts(s) as object), axis: bad };
    const perAxis = s.scales.length > 1;
    return {
      value: o,
      expect: perAxis ? err(['axis', 'opts.axis', 'opts']) : either(valid, ['axis', 'opts.axis']),
      tag: 'bad-axis',
    };
  }
  if (k === 1) {
    const bad = r.pick<unknown>(['string', 5, [], () => 1]);
    return { value: bad, expect: err(['opts']), tag: 'bad-opts' };
  }
  const bad = r.pick<unknown>(['int16', 'INT8', 'float32', 8, {}, 'int4']);
  return {
    value: { ...(quantOpts(s) as object), dtype: bad },
    expect: err(['dtype', 'opts.dtype', 'opts']),
    tag: 'bad-dtype',
  };
}

export const quantizeModel: OpModel<QuantSpec> = {
  method: 'quantizeLinear',
  allowed: ['x', 'scale', 'zeroPoint', 'opts', 'axis', 'dtype'],
  valid: (r) => quantSpec(r, false),
  build: (s) => ({
    args: [{ data: s.x, shape: s.shape }, s.scaleArg, s.zpArg, quantOpts(s)],
    expect: quantExpect(s, false),
    snapshots: [s.x],
  }),
  meta: (s) => [
    { name: 'x', kind: 'tensor', optional: false, accepts: [Float32Array], related: ['scale', 'zeroPoint', 'axis'] },
    {
      name: 'scale',
      kind: 'scale',
      optional: false,
      perChannel: s.scales.length,
      // a scale of several values is per axis: the axis (default 1) may be what is out of range
      related: ['axis', 'opts.axis', 'zeroPoint'],
    },
    {
      name: 'zeroPoint',
      kind: 'zp',
      optional: true,
      // a number zero point: the dtype is opts.dtype, else uint8
      signed: s.optsGiven && s.dtype === 'int8',
      perChannel: s.zps.length,
      dtypeFixed: s.optsGiven && s.dtype !== undefined,
    },
    { name: 'opts', kind: 'opts', optional: true },
  ],
  withDefault: (s, i) => (i === 2 ? { ...s, zpArg: undefined, zps: [0] } : i === 3 ? { ...s, optsGiven: false } : s),
  mutateAttrs: (r, s, i, valid) => quantMutateAttrs(r, s, i, valid, false),
};

export const dequantizeModel: OpModel<QuantSpec> = {
  method: 'dequantizeLinear',
  allowed: ['q', 'scale', 'zeroPoint', 'opts', 'axis'],
  valid: (r) => quantSpec(r, true),
  build: (s) => {
    const e = quantExpect(s, true);
    return {
      args: [{ data: s.x, shape: s.shape }, s.scaleArg, s.zpArg, quantOpts(s)],
      expect: e.kind === 'error' ? err((e.args ?? []).map((a) => (a === 'x' ? 'q' : a))) : e,
      snapshots: [s.x],
    };
  },
  meta: (s) => [
    {
      name: 'q',
      kind: 'tensor',
      optional: false,
      accepts: [Int8Array, Uint8Array],
      related: ['scale', 'zeroPoint', 'axis'],
    },
    {
      name: 'scale',
      kind: 'scale',
      optional: false,
      perChannel: s.scales.length,
      // a scale of several values is per axis: the axis (default 1) may be what is out of range
      related: ['axis', 'opts.axis', 'zeroPoint'],
    },
    { name: 'zeroPoint', kind: 'zp', optional: true, signed: s.x instanceof Int8Array, perChannel: s.zps.length },
    { name: 'opts', kind: 'opts', optional: true },
  ],
  withDefault: (s, i) => (i === 2 ? { ...s, zpArg: undefined, zps: [0] } : i === 3 ? { ...s, optsGiven: false } : s),
  mutateAttrs: (r, s, i, valid) => quantMutateAttrs(r, s, i, valid, true),
};

interface DynSpec {
  shape: number[];
  x: Float32Array;
}

export const dynamicModel: OpModel<DynSpec> = {
  method: 'dynamicQuantizeLinear',
  allowed: ['x'],
  valid: (r) => {
    const shape = randomShape(r);
    const n = sizeOf(shape);
    return { shape, x: r.bool(0.15) ? r.hostileFloats(n) : r.floats(n, r.pick([0, 1, 100, 1e-6])) };
  },
  build: (s) => {
    const ref = dynamicRef(s.x);
    if (ref === null) return { args: [{ data: s.x, shape: s.shape }], expect: err(['x']), snapshots: [s.x] };
    const check = (res: unknown) => {
      const o = res as { y: { data: unknown; shape: unknown }; scale: number; zeroPoint: number };
      let want = ref;
      if (ref.overflow) {
        // no float32 range: any positive finite scale near the double one, used consistently
        const near =
          ref.scale <= 2 ** -149
            ? o.scale > 0 && o.scale < 2 ** -100
            : Math.abs(o.scale - ref.scale) <= 1e-6 * ref.scale;
        if (!near) return `scale ${o.scale}, expected a positive finite scale near ${ref.scale}`;
        want = { ...ref, scale: o.scale, ...dynamicWith(s.x, ref.lo, o.scale) };
      }
      if (!Object.is(o.scale, want.scale)) return `scale ${o.scale}, expected ${want.scale}`;
      if (o.zeroPoint !== want.zeroPoint) return `zeroPoint ${o.zeroPoint}, expected ${want.zeroPoint}`;
      return tensorCheck(want.y, s.shape, Uint8Array)(o.y);
    };
    const hasNaN = s.x.some((v) => Number.isNaN(v));
    return {
      args: [{ data: s.x, shape: s.shape }],
      expect: hasNaN || ref.overflow ? either(value(check), ['x']) : value(check),
      snapshots: [s.x],
    };
  },
  meta: () => [{ name: 'x', kind: 'tensor', optional: false, accepts: [Float32Array] }],
  withDefault: (s) => s,
};

// ---------------------------------------------------------------------------------
// matMulInteger / qlinearMatMul

interface MatMulSpec {
  aShape: number[];
  bShape: number[];
  a: Int8Array | Uint8Array;
  b: Int8Array | Uint8Array;
  za: number;
  zaArg: unknown;
  zb: number[];
  zbArg: unknown;
  N: number;
  // qlinear only
  sa: number;
  sb: number[];
  sy: number;
  zy: number;
  zyArg: unknown;
  saArg: unknown;
  sbArg: unknown;
  syArg: unknown;
  requant: 'fp32' | 'fixedpoint' | undefined;
  optsGiven: boolean;
}

function matMulShapes(r: Rng): { aShape: number[]; bShape: number[]; N: number } {
  for (;;) {
    const M = r.dim(33);
    const K = r.bool(0.08) ? r.int(60, 300) : r.dim(40);
    const N = r.dim(33);
    const batchRank = r.pick([0, 0, 0, 1, 2]);
    const ab: number[] = [];
    const bb: number[] = [];
    for (let i = 0; i < batchRank; i++) {
      const d = r.pick([1, 2, 3]);
      ab.push(r.bool(0.3) ? 1 : d);
      bb.push(r.bool(0.3) ? 1 : d);
    }
    const aShape = r.bool(0.1) && batchRank === 0 ? [K] : [...(r.bool(0.2) ? ab.slice(1) : ab), M, K];
    const bShape = r.bool(0.1) && batchRank === 0 ? [K] : [...(r.bool(0.2) ? bb.slice(1) : bb), K, N];
    const n = sizeOf(aShape) + sizeOf(bShape);
    const nb = bShape.length === 1 ? 1 : N;
    if (n <= 4000 && sizeOf(aShape) * nb <= 6000) return { aShape, bShape, N: nb };
  }
}

function matMulSpec(r: Rng): MatMulSpec {
  const { aShape, bShape, N } = matMulShapes(r);
  const aSigned = r.bool();
  const bSigned = r.bool();
  const a = r.quant(sizeOf(aShape), aSigned);
  const b = r.quant(sizeOf(bShape), bSigned);
  const za = zpIn(r, aSigned);
  const zb = Array.from({ length: N > 1 && r.bool(0.3) ? N : 1 }, () => zpIn(r, bSigned));
  const ySigned = r.bool();
  const zy = zpIn(r, ySigned);
  let sa = r.scale();
  let sb = Array.from({ length: N > 1 && r.bool(0.4) ? N : 1 }, () => r.scale());
  let sy = r.scale();
  const requant = r.pick<'fp32' | 'fixedpoint' | undefined>(['fp32', 'fixedpoint', 'fixedpoint', undefined]);
  const extreme = r.next();
  if (extreme < 0.04) [sa, sb, sy] = [1e30, sb.map(() => 1e30), 1e-30];
  else if (extreme < 0.08) [sa, sb, sy] = [1024, sb.map(() => 1024), 1];
  else if (extreme < 0.1) [sa, sb, sy] = [1e-30, sb.map(() => 1e-30), 1e30];
  else if (extreme < 0.14) sy = Math.fround(sa * sb[0]! * r.pick([2 ** 20, 2 ** 29, 2 ** 31, 3, 0.5]));
  const zyArg = r.pick(['typed', 'typed', 'number', 'undefined']);
  return {
    aShape,
    bShape,
    a,
    b,
    za,
    zaArg: za === 0 && r.bool(0.3) ? undefined : zpForm(r, [za], aSigned),
    zb,
    zbArg: zb.length === 1 && zb[0] === 0 && r.bool(0.3) ? undefined : zpForm(r, zb, bSigned),
    N,
    sa,
    sb,
    sy,
    zy: zyArg === 'undefined' ? 0 : zy,
    zyArg: zyArg === 'typed' ? (ySigned ? Int8Array.of(zy) : Uint8Array.of(zy)) : zyArg === 'number' ? zy : undefined,
    saArg: scaleForm(r, [sa]),
    sbArg: scaleForm(r, sb),
    syArg: scaleForm(r, [sy]),
    requant,
    optsGiven: requant !== undefined || r.bool(0.3),
  };
}

function zpCheck(z: unknown, v: number[], signed: boolean, name: string, channels: number): string[] | null {
  if (z === undefined) return null;
  const implied = zpDtype(z);
  if (implied !== undefined && implied !== (signed ? 'int8' : 'uint8')) return [name];
  const { qmin, qmax } = qrangeOf(signed);
  if (v.some((x) => x < qmin || x > qmax)) return [name];
  if (v.length > 1 && v.length !== channels) return [name];
  return null;
}

function matMulExpect(s: MatMulSpec, qlinear: boolean): Expect {
  const aSigned = s.a instanceof Int8Array;
  const bSigned = s.b instanceof Int8Array;
  const za = s.zaArg === undefined ? 0 : s.za;
  const zb = s.zbArg === undefined ? [0] : s.zb;
  const ref = matMulRef(s.a, s.aShape, s.b, s.bShape, za, zb);
  if (ref === null) return err(['a', 'b']);
  const bad = zpCheck(s.zaArg, [za], aSigned, 'aZeroPoint', 1) ?? zpCheck(s.zbArg, zb, bSigned, 'bZeroPoint', ref.N);
  if (bad) return err(bad);
  if (!qlinear) return value(tensorCheck(ref.acc, ref.shape, Int32Array));
  const ySigned = zpDtype(s.zyArg) === undefined ? aSigned : zpDtype(s.zyArg) === 'int8';
  const zy = s.zyArg === undefined ? 0 : s.zy;
  const zyBad = zpCheck(s.zyArg, [zy], ySigned, 'yZeroPoint', 1);
  if (zyBad) return err(zyBad);
  if (s.sb.length > 1 && s.sb.length !== ref.N) return err(['bScale']);
  const { qmin, qmax } = qrangeOf(ySigned);
  const requant = (s.optsGiven ? s.requant : undefined) ?? 'fp32';
  const want = ref.acc.map((acc, i) => {
    const sb = s.sb.length > 1 ? s.sb[i % ref.N]! : s.sb[0]!;
    return requant === 'fp32'
      ? requantFp32Ref(acc, s.sa, sb, s.sy, zy, qmin, qmax)
      : requantFixedRef(acc, s.sa, sb, s.sy, zy, qmin, qmax);
  });
  const check = tensorCheck(want, ref.shape, ySigned ? Int8Array : Uint8Array);
  return extremeMultiplier(s.sa, s.sb, s.sy, requant)
    ? either(value(check), ['aScale', 'bScale', 'yScale'])
    : value(check);
}

/** Whether a multiplier overflows float32 (fp32) or needs a left shift beyond 30 (fixed point). */
export function extremeMultiplier(sa: number, sbs: readonly number[], sy: number, requant: string): boolean {
  return sbs.some((sb) => {
    if (requant === 'fp32') {
      return !Number.isFinite(Math.fround(Math.fround(Math.fround(sa) * Math.fround(sb)) / Math.fround(sy)));
    }
    const real = (Math.fround(sa) * Math.fround(sb)) / Math.fround(sy);
    return !Number.isFinite(real) || quantizeMultiplierRef(real).shift > 30;
  });
}

export const matMulModel: OpModel<MatMulSpec> = {
  method: 'matMulInteger',
  allowed: ['a', 'b', 'aZeroPoint', 'bZeroPoint'],
  valid: matMulSpec,
  build: (s) => ({
    args: [{ data: s.a, shape: s.aShape }, { data: s.b, shape: s.bShape }, s.zaArg, s.zbArg],
    expect: matMulExpect(s, false),
    snapshots: [s.a, s.b],
  }),
  meta: (s) => [
    { name: 'a', kind: 'tensor', optional: false, accepts: [Int8Array, Uint8Array], related: ['b'] },
    { name: 'b', kind: 'tensor', optional: false, accepts: [Int8Array, Uint8Array], related: ['a'] },
    { name: 'aZeroPoint', kind: 'zp', optional: true, signed: s.a instanceof Int8Array },
    { name: 'bZeroPoint', kind: 'zp', optional: true, signed: s.b instanceof Int8Array, perChannel: s.N },
  ],
  withDefault: (s, i) => (i === 2 ? { ...s, zaArg: undefined } : i === 3 ? { ...s, zbArg: undefined } : s),
};

export const qlinearMatMulModel: OpModel<MatMulSpec> = {
  method: 'qlinearMatMul',
  allowed: ['a', 'aScale', 'aZeroPoint', 'b', 'bScale', 'bZeroPoint', 'yScale', 'yZeroPoint', 'opts', 'requant'],
  valid: matMulSpec,
  build: (s) => ({
    args: [
      { data: s.a, shape: s.aShape },
      s.saArg,
      s.zaArg,
      { data: s.b, shape: s.bShape },
      s.sbArg,
      s.zbArg,
      s.syArg,
      s.zyArg,
      s.optsGiven ? (s.requant === undefined ? {} : { requant: s.requant }) : undefined,
    ],
    expect: matMulExpect(s, true),
    snapshots: [s.a, s.b],
  }),
  meta: (s) => [
    { name: 'a', kind: 'tensor', optional: false, accepts: [Int8Array, Uint8Array], related: ['b'] },
    { name: 'aScale', kind: 'scale', optional: false },
    { name: 'aZeroPoint', kind: 'zp', optional: true, signed: s.a instanceof Int8Array },
    { name: 'b', kind: 'tensor', optional: false, accepts: [Int8Array, Uint8Array], related: ['a'] },
    { name: 'bScale', kind: 'scale', optional: false, perChannel: s.N },
    { name: 'bZeroPoint', kind: 'zp', optional: true, signed: s.b instanceof Int8Array, perChannel: s.N },
    { name: 'yScale', kind: 'scale', optional: false },
    { name: 'yZeroPoint', kind: 'zp', optional: true, signed: s.a instanceof Int8Array, dtypeFixed: false },
    { name: 'opts', kind: 'opts', optional: true },
  ],
  withDefault: (s, i) =>
    i === 2
      ? { ...s, zaArg: undefined }
      : i === 5
        ? { ...s, zbArg: undefined }
        : i === 7
          ? { ...s, zyArg: undefined, zy: 0 }
          : i === 8
            ? { ...s, optsGiven: false }
            : s,
  mutateAttrs: (r) => {
    const bad = r.pick<unknown>(['fp16', 'FP32', 'fixed', 1, {}, true]);
    return r.bool(0.7)
      ? { value: { requant: bad }, expect: err(['opts', 'requant', 'opts.requant']), tag: 'bad-requant' }
      : { value: r.pick<unknown>(['fp32', 5, []]), expect: err(['opts']), tag: 'bad-opts' };
  },
};

// ---------------------------------------------------------------------------------
// convInteger / qlinearConv

interface ConvSpec {
  xShape: number[];
  wShape: number[];
  x: Int8Array | Uint8Array;
  w: Int8Array | Uint8Array;
  attrs: ConvAttrsRef;
  /** Which attributes are passed explicitly (the others take their defaults). */
  given: Record<string, boolean>;
  attrsGiven: boolean;
  zx: number;
  zxArg: unknown;
  zw: number[];
  zwArg: unknown;
  M: number;
  // qlinear only
  sx: number;
  sw: number[];
  sy: number;
  zy: number;
  zyArg: unknown;
  bias: Int32Array | undefined;
  requant: 'fp32' | 'fixedpoint' | undefined;
}

function convSpec(r: Rng): ConvSpec {
  const layout = r.pick<'NCHW' | 'NHWC'>(['NCHW', 'NHWC']);
  const kind = r.next();
  let group = 1;
  let C = r.dim(12, false);
  let M = r.dim(12, false);
  if (kind < 0.25) {
    group = C;
    M = C * r.pick([1, 1, 2]);
  } else if (kind < 0.35) {
    group = r.pick([2, 3]);
    C = group * r.int(1, 4);
    M = group * r.int(1, 3);
  }
  const kH = r.pick([1, 1, 2, 3, 3, 5]);
  const kW = r.bool(0.7) ? kH : r.pick([1, 2, 3]);
  const strides: [number, number] = [r.pick([1, 1, 1, 2, 3]), r.pick([1, 1, 2])];
  const dilations: [number, number] = [r.pick([1, 1, 1, 2]), r.pick([1, 1, 2])];
  const pads: [number, number, number, number] = r.bool(0.5)
    ? [0, 0, 0, 0]
    : [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)];
  const autoPad = r.pick<ConvAttrsRef['autoPad']>(['NOTSET', 'NOTSET', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']);
  const H = r.int(1, 10);
  const W = r.int(1, 10);
  const N = r.bool(0.05) ? 0 : r.pick([1, 1, 1, 2]);
  const xShape = layout === 'NCHW' ? [N, C, H, W] : [N, H, W, C];
  const Cg = C / group;
  const wShape = layout === 'NCHW' ? [M, Cg, kH, kW] : [M, kH, kW, Cg];
  const xSigned = r.bool();
  const wSigned = r.bool(0.7);
  const zx = zpIn(r, xSigned);
  const zw = Array.from({ length: M > 1 && r.bool(0.3) ? M : 1 }, () => zpIn(r, wSigned));
  const ySigned = r.bool();
  const zy = zpIn(r, ySigned);
  const zyForm = r.pick(['typed', 'typed', 'number', 'undefined']);
  const given: Record<string, boolean> = {
    strides: strides.join() !== '1,1' || r.bool(0.3),
    dilations: dilations.join() !== '1,1' || r.bool(0.3),
    pads: autoPad === 'NOTSET' && (pads.join() !== '0,0,0,0' || r.bool(0.3)),
    group: group !== 1 || r.bool(0.3),
    autoPad: autoPad !== 'NOTSET' || r.bool(0.2),
    layout: layout !== 'NCHW' || r.bool(0.3),
  };
  let sx = r.scale();
  let sw = Array.from({ length: M > 1 && r.bool(0.4) ? M : 1 }, () => r.scale());
  let sy = r.scale();
  const extreme = r.next();
  if (extreme < 0.03) [sx, sw, sy] = [1e30, sw.map(() => 1e30), 1e-30];
  else if (extreme < 0.06) [sx, sw, sy] = [1024, sw.map(() => 1024), 1];
  const requant = r.pick<'fp32' | 'fixedpoint' | undefined>(['fp32', 'fixedpoint', undefined]);
  return {
    xShape,
    wShape,
    x: r.quant(sizeOf(xShape), xSigned),
    w: r.quant(sizeOf(wShape), wSigned),
    attrs: { layout, strides, pads: autoPad === 'NOTSET' ? pads : [0, 0, 0, 0], dilations, group, autoPad },
    given,
    attrsGiven: Object.values(given).some((g) => g) || requant !== undefined || r.bool(0.3),
    zx,
    zxArg: zx === 0 && r.bool(0.3) ? undefined : zpForm(r, [zx], xSigned),
    zw,
    zwArg: zw.length === 1 && zw[0] === 0 && r.bool(0.3) ? undefined : zpForm(r, zw, wSigned),
    M,
    sx,
    sw,
    sy,
    zy: zyForm === 'undefined' ? 0 : zy,
    zyArg: zyForm === 'typed' ? (ySigned ? Int8Array.of(zy) : Uint8Array.of(zy)) : zyForm === 'number' ? zy : undefined,
    bias: r.bool(0.6)
      ? Int32Array.from({ length: M }, () => (r.bool(0.1) ? r.extremeInt(-(2 ** 20), 2 ** 20) : r.int(-5000, 5000)))
      : undefined,
    requant,
  };
}

function convAttrs(s: ConvSpec, qlinear: boolean): unknown {
  if (!s.attrsGiven) return undefined;
  const o: Record<string, unknown> = {};
  for (const k of ['strides', 'dilations', 'pads', 'group', 'autoPad', 'layout'] as const) {
    if (s.given[k]) o[k] = Array.isArray(s.attrs[k]) ? [...(s.attrs[k] as number[])] : s.attrs[k];
  }
  if (qlinear && s.requant !== undefined) o.requant = s.requant;
  return o;
}

/** The attributes the op really sees (defaults where not given). */
function effectiveAttrs(s: ConvSpec): ConvAttrsRef {
  const g = s.attrsGiven ? s.given : {};
  return {
    layout: g.layout ? s.attrs.layout : 'NCHW',
    strides: g.strides ? s.attrs.strides : [1, 1],
    dilations: g.dilations ? s.attrs.dilations : [1, 1],
    pads: g.pads ? s.attrs.pads : [0, 0, 0, 0],
    group: g.group ? s.attrs.group : 1,
    autoPad: g.autoPad ? s.attrs.autoPad : 'NOTSET',
  };
}

const CONV_ATTR_NAMES = [
  'attrs',
  'attrs.strides',
  'attrs.pads',
  'attrs.dilations',
  'attrs.group',
  'attrs.autoPad',
  'attrs.layout',
];

function convExpect(s: ConvSpec, qlinear: boolean): Expect {
  const a = effectiveAttrs(s);
  const geo = convGeometryRef(s.xShape, s.wShape, a);
  if (typeof geo === 'string') {
    const blame: Record<string, string[]> = {
      x: ['x', 'w', 'attrs.layout'],
      w: ['w', 'x', 'attrs.layout', 'attrs.group'],
      group: ['attrs.group', 'w', 'x', 'attrs.layout'],
      kernel: ['w', 'x', 'attrs.pads', 'attrs.dilations', 'attrs.strides', 'attrs.layout'],
    };
    // extreme scales may be refused before the geometry is looked at
    const requant = (s.attrsGiven ? s.requant : undefined) ?? 'fp32';
    const extreme = qlinear && extremeMultiplier(s.sx, s.sw, s.sy, requant) ? ['xScale', 'wScale', 'yScale'] : [];
    return err([...blame[geo]!, ...extreme]);
  }
  const xSigned = s.x instanceof Int8Array;
  const wSigned = s.w instanceof Int8Array;
  const zx = s.zxArg === undefined ? 0 : s.zx;
  const zw = s.zwArg === undefined ? [0] : s.zw;
  const bad = zpCheck(s.zxArg, [zx], xSigned, 'xZeroPoint', 1) ?? zpCheck(s.zwArg, zw, wSigned, 'wZeroPoint', geo.M);
  if (bad) return err(bad);
  const acc = geo.N === 0 ? [] : convAccRef(geo, a.layout, s.x, s.w, zx, zw);
  const shape = a.layout === 'NCHW' ? [geo.N, geo.M, geo.OH, geo.OW] : [geo.N, geo.OH, geo.OW, geo.M];
  if (!qlinear) return value(tensorCheck(acc, shape, Int32Array));
  const ySigned = zpDtype(s.zyArg) === undefined ? xSigned : zpDtype(s.zyArg) === 'int8';
  const zy = s.zyArg === undefined ? 0 : s.zy;
  const zyBad = zpCheck(s.zyArg, [zy], ySigned, 'yZeroPoint', 1);
  if (zyBad) return err(zyBad);
  if (s.sw.length > 1 && s.sw.length !== geo.M) return err(['wScale']);
  const { qmin, qmax } = qrangeOf(ySigned);
  const requant = (s.attrsGiven ? s.requant : undefined) ?? 'fp32';
  const want = acc.map((v, i) => {
    const m = channelOf(i, geo, a.layout);
    const sw = s.sw.length > 1 ? s.sw[m]! : s.sw[0]!;
    const total = v + (s.bias ? s.bias[m]! : 0);
    return requant === 'fp32'
      ? requantFp32Ref(total, s.sx, sw, s.sy, zy, qmin, qmax)
      : requantFixedRef(total, s.sx, sw, s.sy, zy, qmin, qmax);
  });
  const check = tensorCheck(want, shape, ySigned ? Int8Array : Uint8Array);
  return geo.N > 0 && extremeMultiplier(s.sx, s.sw, s.sy, requant)
    ? either(value(check), ['xScale', 'wScale', 'yScale'])
    : value(check);
}

function convMutateAttrs(r: Rng, s: ConvSpec, valid: Expect, qlinear: boolean): Mut {
  const base = (convAttrs(s, qlinear) ?? {}) as Record<string, unknown>;
  const k = r.int(0, 12);
  const geoBlame = ['attrs.pads', 'x', 'w', 'attrs.strides', 'attrs.dilations'];
  switch (k) {
    case 0:
      return { value: { ...base, strides: badPair(r) }, expect: err(['attrs.strides', 'attrs']), tag: 'bad-strides' };
    case 1:
      return {
        value: { ...base, dilations: badPair(r) },
        expect: err(['attrs.dilations', 'attrs']),
        tag: 'bad-dilations',
      };
    case 2:
      return {
        value: { ...base, pads: badPads(r), autoPad: 'NOTSET' },
        expect: err(['attrs.pads', 'attrs']),
        tag: 'bad-pads',
      };
    case 3: {
      const g = r.pick<unknown>([0, -1, 1.5, '1', 1n, NaN, Infinity, s.attrs.group + 1, 1e9]);
      return { value: { ...base, group: g }, expect: err(['attrs.group', 'w', 'x']), tag: 'bad-group' };
    }
    case 4: {
      const ap = r.pick<unknown>(['same', 'SAME', 'same_upper', 1, {}, '']);
      return { value: { ...base, autoPad: ap }, expect: err(['attrs.autoPad', 'attrs']), tag: 'bad-autoPad' };
    }
    case 5:
      return {
        value: { ...base, autoPad: r.pick(['SAME_UPPER', 'SAME_LOWER', 'VALID']), pads: [1, 0, 0, 1] },
        expect: err(['attrs.pads', 'attrs.autoPad']),
        tag: 'pads-with-autoPad',
      };
    case 6: {
      const l = r.pick<unknown>(['nchw', 'NCWH', 'CHW', 1, {}]);
      return { value: { ...base, layout: l }, expect: err(['attrs.layout', 'attrs']), tag: 'bad-layout' };
    }
    case 7: {
      const huge = r.pick<unknown>([
        [0, 0, 1e6, 1e6],
        [0, 0, 2e9, 0],
        [2 ** 31, 0, 0, 0],
        [0, 2 ** 40, 0, 0],
        [1e9, 1e9, 1e9, 1e9],
        [0, 0, 2 ** 53, 0],
      ]);
      if (s.xShape[0] !== 0)
        return { value: { ...base, pads: huge, autoPad: 'NOTSET' }, expect: err(geoBlame), tag: 'huge-pads' };
      // an empty batch: the empty output may come back at once
      const s2: ConvSpec = {
        ...s,
        attrsGiven: true,
        given: { ...s.given, pads: true, autoPad: false },
        attrs: { ...s.attrs, pads: huge as [number, number, number, number], autoPad: 'NOTSET' },
      };
      return {
        value: convAttrs(s2, qlinear),
        expect: either(convExpect(s2, qlinear), geoBlame),
        tag: 'huge-pads-empty-batch',
      };
    }
    case 8: {
      // a huge stride gives one output row or column: valid
      const st: [number, number] = r.bool() ? [2 ** 40, 1] : [1, 2 ** 31];
      const s2: ConvSpec = {
        ...s,
        attrsGiven: true,
        given: { ...s.given, strides: true },
        attrs: { ...s.attrs, strides: st },
      };
      // a documented upper limit on strides is sound too
      return {
        value: convAttrs(s2, qlinear),
        expect: either(convExpect(s2, qlinear), ['attrs.strides']),
        tag: 'huge-stride',
      };
    }
    case 9: {
      const d: [number, number] = [2 ** 30, 2 ** 30];
      const s2: ConvSpec = {
        ...s,
        attrsGiven: true,
        given: { ...s.given, dilations: true },
        attrs: { ...s.attrs, dilations: d },
      };
      return {
        value: convAttrs(s2, qlinear),
        expect: either(convExpect(s2, qlinear), ['attrs.dilations', 'attrs.pads', 'x', 'w']),
        tag: 'huge-dilation',
      };
    }
    case 10: {
      // null attributes mean their defaults
      const keys = ['strides', 'dilations', 'pads', 'group', 'autoPad', 'layout'] as const;
      const key = r.pick(keys);
      const s2: ConvSpec = { ...s, attrsGiven: true, given: { ...s.given, [key]: false } };
      const v = { ...(convAttrs(s2, qlinear) as object), [key]: null };
      return { value: v, expect: convExpect(s2, qlinear), tag: `null-attrs.${key}` };
    }
    case 11:
      return { value: r.pick<unknown>(['NCHW', 5, [], true]), expect: err(['attrs']), tag: 'bad-attrs' };
    default: {
      // unknown keys are ignored
      return { value: { ...base, foo: 1, kernel_shape: 'x' }, expect: valid, tag: 'extra-attrs' };
    }
  }
}

export const convIntegerModel: OpModel<ConvSpec> = {
  method: 'convInteger',
  allowed: ['x', 'w', 'xZeroPoint', 'wZeroPoint', ...CONV_ATTR_NAMES, 'attrs.kernelShape'],
  valid: convSpec,
  build: (s) => ({
    args: [{ data: s.x, shape: s.xShape }, { data: s.w, shape: s.wShape }, s.zxArg, s.zwArg, convAttrs(s, false)],
    expect: convExpect(s, false),
    snapshots: [s.x, s.w],
  }),
  meta: (s) => [
    { name: 'x', kind: 'tensor', optional: false, accepts: [Int8Array, Uint8Array], related: ['w'] },
    { name: 'w', kind: 'tensor', optional: false, accepts: [Int8Array, Uint8Array], related: ['x'] },
    { name: 'xZeroPoint', kind: 'zp', optional: true, signed: s.x instanceof Int8Array },
    { name: 'wZeroPoint', kind: 'zp', optional: true, signed: s.w instanceof Int8Array, perChannel: s.M },
    { name: 'attrs', kind: 'attrs', optional: true },
  ],
  withDefault: (s, i) =>
    i === 2
      ? { ...s, zxArg: undefined }
      : i === 3
        ? { ...s, zwArg: undefined }
        : i === 4
          ? { ...s, attrsGiven: false }
          : s,
  mutateAttrs: (r, s, _i, valid) => convMutateAttrs(r, s, valid, false),
};

export const qlinearConvModel: OpModel<ConvSpec> = {
  method: 'qlinearConv',
  allowed: [
    'x',
    'xScale',
    'xZeroPoint',
    'w',
    'wScale',
    'wZeroPoint',
    'yScale',
    'yZeroPoint',
    'bias',
    ...CONV_ATTR_NAMES,
    'attrs.kernelShape',
    'attrs.requant',
  ],
  valid: convSpec,
  build: (s) => ({
    args: [
      { data: s.x, shape: s.xShape },
      s.sx,
      s.zxArg,
      { data: s.w, shape: s.wShape },
      s.sw.length > 1 ? Float32Array.from(s.sw) : s.sw[0],
      s.zwArg,
      s.sy,
      s.zyArg,
      s.bias,
      convAttrs(s, true),
    ],
    expect: convExpect(s, true),
    snapshots: [s.x, s.w, ...(s.bias ? [s.bias] : [])],
  }),
  meta: (s) => [
    { name: 'x', kind: 'tensor', optional: false, accepts: [Int8Array, Uint8Array], related: ['w'] },
    { name: 'xScale', kind: 'scale', optional: false },
    { name: 'xZeroPoint', kind: 'zp', optional: true, signed: s.x instanceof Int8Array },
    { name: 'w', kind: 'tensor', optional: false, accepts: [Int8Array, Uint8Array], related: ['x'] },
    { name: 'wScale', kind: 'scale', optional: false, perChannel: s.M },
    { name: 'wZeroPoint', kind: 'zp', optional: true, signed: s.w instanceof Int8Array, perChannel: s.M },
    { name: 'yScale', kind: 'scale', optional: false },
    { name: 'yZeroPoint', kind: 'zp', optional: true, signed: s.x instanceof Int8Array, dtypeFixed: false },
    { name: 'bias', kind: 'bias', optional: true, perChannel: s.M },
    { name: 'attrs', kind: 'attrs', optional: true },
  ],
  withDefault: (s, i) =>
    i === 2
      ? { ...s, zxArg: undefined }
      : i === 5
        ? { ...s, zwArg: undefined }
        : i === 7
          ? { ...s, zyArg: undefined, zy: 0 }
          : i === 8
            ? { ...s, bias: undefined }
            : i === 9
              ? { ...s, attrsGiven: false }
              : s,
  mutateAttrs: (r, s, _i, valid) =>
    r.bool(0.15)
      ? {
          value: { ...((convAttrs(s, true) ?? {}) as object), requant: r.pick<unknown>(['fp16', 'FIXED', 1, {}]) },
          expect: err(['attrs.requant', 'attrs']),
          tag: 'bad-requant',
        }
      : convMutateAttrs(r, s, valid, true),
};

// ---------------------------------------------------------------------------------
// Binary ops

interface BitpackSpec {
  shape: number[];
  x: Float32Array | Int8Array;
}

export const bitpackModel: OpModel<BitpackSpec> = {
  method: 'bitpack',
  allowed: ['x'],
  valid: (r) => {
    const shape = randomShape(r, 3, 2000);
    if (shape.length === 0) shape.push(r.dim(70));
    const n = sizeOf(shape);
    return {
      shape,
      x: r.bool(0.6) ? (r.bool(0.3) ? r.hostileFloats(n) : r.floats(n)) : (r.quant(n, true) as Int8Array),
    };
  },
  build: (s) => {
    const C = s.shape[s.shape.length - 1]!;
    const want = packRef(s.x, C);
    return {
      args: [{ data: s.x, shape: s.shape }],
      expect: value((res) => {
        const o = res as { bits: unknown; shape: unknown };
        if (!(o.bits instanceof Uint32Array)) return 'bits is not a Uint32Array';
        return diffShape(o.shape, s.shape) ?? diffExact(o.bits, want, 'bits');
      }),
      snapshots: [s.x],
    };
  },
  meta: () => [{ name: 'x', kind: 'tensor', optional: false, accepts: [Float32Array, Int8Array] }],
  withDefault: (s) => s,
};

interface BitsSpec {
  shape: number[];
  bits: Uint32Array;
}

function randomBits(r: Rng, shape: number[]): Uint32Array {
  const C = shape[shape.length - 1]!;
  const rows = sizeOf(shape.slice(0, -1));
  return r.words(rows * Math.ceil(C / 32));
}

/** Bit-tensor mutations: the wrong word type or count, an unpacked tensor, bad shapes. */
function mutateBits(r: Rng, s: BitsSpec, name: string, valid: Expect): Mut {
  const k = r.int(0, 7);
  const { bits, shape } = s;
  switch (k) {
    case 0:
      return { value: { bits: Int32Array.from(bits), shape }, expect: err([name]), tag: 'bits-wrong-type' };
    case 1:
      return { value: { bits: new Uint32Array(bits.length + 1), shape }, expect: err([name]), tag: 'bits-wrong-count' };
    case 2:
      return { value: { data: new Float32Array(sizeOf(shape)), shape }, expect: err([name]), tag: 'bits-unpacked' };
    case 3: {
      const bad = r.pick<unknown>([[], [-1], [1.5], [NaN], ['4'], [4n], null, '4']);
      return { value: { bits, shape: bad }, expect: err([name]), tag: 'bits-bad-shape' };
    }
    case 4: {
      const later = [...shape];
      later[0] = later[0]! * 100 + 3;
      return {
        value: flipShapeBits(bits, shape, later),
        expect: either(valid, [name]),
        tag: 'bits-flip-shape',
        snapshots: [bits],
      };
    }
    case 5: {
      const liar = lyingWords(bits, bits.length * 2 + 64);
      return {
        value: { bits: liar, shape },
        expect: either(valid, [name]),
        tag: 'bits-lying-length',
        snapshots: [liar],
      };
    }
    case 6:
      return { value: r.pick<unknown>([null, undefined, bits, 3, {}]), expect: err([name]), tag: 'bits-not-a-tensor' };
    default: {
      const v = sharedWords(bits);
      return { value: { bits: v, shape }, expect: valid, tag: 'bits-shared', snapshots: [v] };
    }
  }
}

function flipShapeBits(bits: Uint32Array, first: number[], later: number[]): object {
  let reads = 0;
  return nameIt(
    {
      bits,
      get shape() {
        return reads++ === 0 ? first : later;
      },
    },
    `{ bits: ${show(bits)}, get shape() { return reads++ ? [${later}] : [${first}]; } }`,
  );
}

function lyingWords(bits: Uint32Array, real: number): Uint32Array {
  const claimed = bits.length;
  const Liar = class extends Uint32Array {
    override get length(): number {
      return claimed;
    }
  };
  const v = new Liar(real);
  v.set(bits);
  return nameIt(v, `new (class extends Uint32Array { get length() { return ${claimed}; } })(${real})`);
}

function sharedWords(bits: Uint32Array): Uint32Array {
  const v = new Uint32Array(new SharedArrayBuffer(bits.byteLength));
  v.set(bits);
  return nameIt(v, `shared(${show(bits)})`);
}

export const bitunpackModel: OpModel<BitsSpec> = {
  method: 'bitunpack',
  allowed: ['p'],
  valid: (r) => {
    const shape = randomShape(r, 3, 2000);
    if (shape.length === 0) shape.push(r.dim(70));
    return { shape, bits: randomBits(r, shape) };
  },
  build: (s) => {
    const C = s.shape[s.shape.length - 1]!;
    const rows = sizeOf(s.shape.slice(0, -1));
    const want = Array.from(unpackRef(s.bits, C === 0 ? 0 : rows, C));
    return {
      args: [{ bits: s.bits, shape: s.shape }],
      expect: value(tensorCheck(want, s.shape, Float32Array)),
      snapshots: [s.bits],
    };
  },
  meta: () => [{ name: 'p', kind: 'bits', optional: false }],
  withDefault: (s) => s,
  mutateAttrs: (r, s, _i, valid) => mutateBits(r, s, 'p', valid),
};

interface BinMatSpec {
  a: BitsSpec;
  b: BitsSpec;
}

export const binaryMatMulModel: OpModel<BinMatSpec> = {
  method: 'binaryMatMul',
  allowed: ['a', 'b'],
  valid: (r) => {
    const K = r.bool(0.1) ? r.int(100, 700) : r.dim(70);
    const lead = r.pick([[r.dim(20)], [r.dim(4), r.dim(9)], []]);
    const aShape = [...lead, K];
    const bShape = [r.dim(20), K];
    return { a: { shape: aShape, bits: randomBits(r, aShape) }, b: { shape: bShape, bits: randomBits(r, bShape) } };
  },
  build: (s) => {
    const K = s.a.shape[s.a.shape.length - 1]!;
    const M = sizeOf(s.a.shape.slice(0, -1));
    const N = s.b.shape[0]!;
    const af = unpackRef(s.a.bits, M, K);
    const bf = unpackRef(s.b.bits, N, K);
    const want = Array.from(binaryMatMulRef(af, bf, M, N, K));
    const check = tensorCheck(want, [...s.a.shape.slice(0, -1), N], Int32Array);
    return {
      args: [
        { bits: s.a.bits, shape: s.a.shape },
        { bits: s.b.bits, shape: s.b.shape },
      ],
      expect: K === 0 ? either(value(check), ['a', 'b']) : value(check),
      snapshots: [s.a.bits, s.b.bits],
    };
  },
  meta: () => [
    { name: 'a', kind: 'bits', optional: false },
    { name: 'b', kind: 'bits', optional: false },
  ],
  withDefault: (s) => s,
  mutateAttrs: (r, s, i, valid) => {
    const m = mutateBits(r, i === 0 ? s.a : s.b, i === 0 ? 'a' : 'b', valid);
    // a mismatch of K may be blamed on either operand
    if (m.expect.kind !== 'value') m.expect = { ...m.expect, args: [...(m.expect.args ?? []), 'a', 'b'] };
    return m;
  },
};

interface BinConvSpec {
  x: BitsSpec;
  w: BitsSpec;
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
  padValue: 0 | 1;
  given: Record<string, boolean>;
  attrsGiven: boolean;
}

function binConvAttrs(s: BinConvSpec): unknown {
  if (!s.attrsGiven) return undefined;
  const o: Record<string, unknown> = {};
  if (s.given.strides) o.strides = [...s.strides];
  if (s.given.pads) o.pads = [...s.pads];
  if (s.given.dilations) o.dilations = [...s.dilations];
  if (s.given.padValue) o.padValue = s.padValue;
  return o;
}

function binConvExpect(s: BinConvSpec): Expect {
  const g = s.attrsGiven ? s.given : {};
  const strides = g.strides ? s.strides : [1, 1];
  const pads = g.pads ? s.pads : [0, 0, 0, 0];
  const dilations = g.dilations ? s.dilations : [1, 1];
  const padValue = g.padValue ? s.padValue : 0;
  const [Nb, H, W, C] = s.x.shape as [number, number, number, number];
  const [O, kH, kW] = s.w.shape as [number, number, number, number];
  const OH = Math.floor((H + pads[0]! + pads[2]! - (kH - 1) * dilations[0]! - 1) / strides[0]!) + 1;
  const OW = Math.floor((W + pads[1]! + pads[3]! - (kW - 1) * dilations[1]! - 1) / strides[1]!) + 1;
  if (OH < 1 || OW < 1) return err(['x', 'w', 'attrs.pads', 'attrs.dilations', 'attrs.strides']);
  const xf = unpackRef(s.x.bits, Nb * H * W, C);
  const wf = unpackRef(s.w.bits, O * kH * kW, C);
  const ref = conv2dRef(xf, [Nb, H, W, C], wf, s.w.shape as [number, number, number, number], {
    strides: strides as [number, number],
    pads: pads as [number, number, number, number],
    dilations: dilations as [number, number],
    padValue: padValue as 0 | 1,
  });
  return value(tensorCheck(Array.from(ref.data), ref.shape, Int32Array));
}

export const binaryConvModel: OpModel<BinConvSpec> = {
  method: 'binaryConv2d',
  allowed: ['x', 'w', 'attrs', 'attrs.strides', 'attrs.pads', 'attrs.dilations', 'attrs.padValue'],
  valid: (r) => {
    const C = r.bool(0.15) ? r.int(100, 300) : r.dim(40, false);
    const kH = r.pick([1, 1, 2, 3, 3]);
    const kW = r.bool(0.7) ? kH : r.pick([1, 2, 3]);
    const xShape = [r.bool(0.05) ? 0 : r.pick([1, 1, 2]), r.int(1, 8), r.int(1, 8), C];
    const wShape = [r.dim(12, false), kH, kW, C];
    const strides: [number, number] = [r.pick([1, 1, 2]), r.pick([1, 1, 2, 3])];
    const dilations: [number, number] = [r.pick([1, 1, 2]), r.pick([1, 1, 2])];
    const pads: [number, number, number, number] = [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)];
    const given = { strides: r.bool(), pads: r.bool(0.7), dilations: r.bool(0.4), padValue: r.bool(0.5) };
    return {
      x: { shape: xShape, bits: randomBits(r, xShape) },
      w: { shape: wShape, bits: randomBits(r, wShape) },
      strides,
      pads,
      dilations,
      padValue: r.bool(0.7) ? 0 : 1,
      given,
      attrsGiven: Object.values(given).some((g) => g) || r.bool(0.3),
    };
  },
  build: (s) => ({
    args: [{ bits: s.x.bits, shape: s.x.shape }, { bits: s.w.bits, shape: s.w.shape }, binConvAttrs(s)],
    expect: binConvExpect(s),
    snapshots: [s.x.bits, s.w.bits],
  }),
  meta: () => [
    { name: 'x', kind: 'bits', optional: false },
    { name: 'w', kind: 'bits', optional: false },
    { name: 'attrs', kind: 'attrs', optional: true },
  ],
  withDefault: (s, i) => (i === 2 ? { ...s, attrsGiven: false } : s),
  mutateAttrs: (r, s, i, valid) => {
    if (i < 2) {
      const m = mutateBits(r, i === 0 ? s.x : s.w, i === 0 ? 'x' : 'w', valid);
      if (m.expect.kind !== 'value') m.expect = { ...m.expect, args: [...(m.expect.args ?? []), 'x', 'w'] };
      return m;
    }
    const base = (binConvAttrs(s) ?? {}) as Record<string, unknown>;
    const k = r.int(0, 6);
    if (k === 0)
      return { value: { ...base, strides: badPair(r) }, expect: err(['attrs.strides', 'attrs']), tag: 'bad-strides' };
    if (k === 1)
      return {
        value: { ...base, dilations: badPair(r) },
        expect: err(['attrs.dilations', 'attrs']),
        tag: 'bad-dilations',
      };
    if (k === 2) return { value: { ...base, pads: badPads(r) }, expect: err(['attrs.pads', 'attrs']), tag: 'bad-pads' };
    if (k === 3) {
      const pv = r.pick<unknown>([2, -1, '0', true, 0.5, NaN]);
      return { value: { ...base, padValue: pv }, expect: err(['attrs.padValue', 'attrs']), tag: 'bad-padValue' };
    }
    if (k === 4) {
      const huge = r.pick<unknown>([
        [2 ** 40, 0, 0, 0],
        [1e9, 0, 0, 0],
        [0, 0, 0, 2 ** 40],
        [1e6, 1e6, 1e6, 1e6],
      ]);
      // an empty batch may come back empty at once
      const empty = s.x.shape[0] === 0;
      const ok = (res: unknown) => ((res as { data?: { length: number } })?.data?.length === 0 ? null : 'not empty');
      return {
        value: { ...base, pads: huge },
        expect: empty ? { kind: 'either', check: ok, args: ['attrs.pads', 'x', 'w'] } : err(['attrs.pads', 'x', 'w']),
        tag: empty ? 'huge-pads-empty-batch' : 'huge-pads',
      };
    }
    if (k === 5) {
      const key = r.pick(['strides', 'dilations', 'pads', 'padValue'] as const);
      const s2: BinConvSpec = { ...s, attrsGiven: true, given: { ...s.given, [key]: false } };
      return {
        value: { ...(binConvAttrs(s2) as object), [key]: null },
        expect: binConvExpect(s2),
        tag: `null-attrs.${key}`,
      };
    }
    return { value: r.pick<unknown>(['x', 5, true]), expect: err(['attrs']), tag: 'bad-attrs' };
  },
};

// ---------------------------------------------------------------------------------
// quantError (the engine's SIMD metrics)

interface QErrSpec {
  x: Float32Array;
  y: Float32Array;
}

/** The report from float64 sums (the documented definitions), compared with a tolerance. */
function quantErrorCheck(x: Float32Array, y: Float32Array): (r: unknown) => string | null {
  let see = 0;
  let sae = 0;
  let mae = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    const e = x[i]! - y[i]!;
    see += e * e;
    sae += Math.abs(e);
    mae = Math.max(mae, Math.abs(e));
    sxx += x[i]! * x[i]!;
    syy += y[i]! * y[i]!;
    sxy += x[i]! * y[i]!;
  }
  const n = x.length;
  return (res) => {
    const o = res as Record<string, number>;
    if (n === 0) {
      return o.maxAbs === 0 && o.mse === 0 && o.sqnrDb === Infinity && o.cosine === 1
        ? null
        : `empty: ${JSON.stringify(o)}`;
    }
    const want: Record<string, number> = {
      maxAbs: mae,
      meanAbs: sae / n,
      mse: see / n,
      rmse: Math.sqrt(see / n),
    };
    if (sxx > 0 && see > 0) want.sqnrDb = 10 * Math.log10(sxx / see);
    if (sxx > 0) want.relative = Math.sqrt(see / sxx);
    if (sxx > 0 && syy > 0) want.cosine = sxy / Math.sqrt(sxx * syy);
    for (const [k, w] of Object.entries(want)) {
      const tol = Number.isFinite(w) ? 1e-9 * Math.max(1, Math.abs(w)) : 0;
      const d = diffClose([o[k]!], [w], tol, k);
      if (d) return d;
    }
    return null;
  };
}

export const quantErrorModel: OpModel<QErrSpec> = {
  method: 'quantError',
  allowed: ['x', 'xHat'],
  valid: (r) => {
    const n = r.bool(0.1) ? 0 : r.bool(0.05) ? r.int(1000, 5000) : r.int(1, 300);
    const x = r.floats(n, 10);
    const y = Float32Array.from(x, (v) => v + (r.next() - 0.5) * 0.01);
    return { x, y };
  },
  build: (s) => ({ args: [s.x, s.y], expect: value(quantErrorCheck(s.x, s.y)), snapshots: [s.x, s.y] }),
  meta: () => [
    { name: 'x', kind: 'floats', optional: false },
    { name: 'xHat', kind: 'floats', optional: false },
  ],
  withDefault: (s) => s,
  mutateAttrs: (r, s, i) => {
    const name = i === 0 ? 'x' : 'xHat';
    const src = i === 0 ? s.x : s.y;
    const v = r.pick<unknown>([
      Float64Array.from(src),
      Array.from(src),
      new Float32Array(src.length + 1),
      null,
      'x',
      { data: src, shape: [src.length] },
    ]);
    return { value: v, expect: err([name, 'x', 'xHat']), tag: 'bad-floats' };
  },
};

export const OP_MODELS = [
  quantizeModel,
  dequantizeModel,
  dynamicModel,
  matMulModel,
  qlinearMatMulModel,
  convIntegerModel,
  qlinearConvModel,
  bitpackModel,
  bitunpackModel,
  binaryMatMulModel,
  binaryConvModel,
  quantErrorModel,
] as OpModel<unknown>[];
