// Models of the prepacked layers for the fuzzer: a random valid configuration and input
// with the scalar reference of the output; one config field, the input or `out`
// mutated. A case constructs the layer, runs it (with a new output, then into `out`,
// sometimes through runAsync) and disposes it, so the harness's leak check sees every
// block the layer owned come back.
import type { Qwasm } from '../../src/index.js';
import type { Case, Expect } from './harness.js';
import { named, proxied, show, type Rng } from './generators.js';
import { badPads, badPair, badScale, badZeroPoint, either, err, mutateTensor, type Mut } from './mutations.js';
import {
  activationRangeRef,
  convAccRef,
  convGeometryRef,
  diffClose,
  diffExact,
  diffShape,
  dynamicRef,
  qrangeOf,
  requantFixedRef,
  requantFp32Ref,
  type ConvGeoRef,
} from './reference.js';
import { extremeMultiplier, withBaseArgs } from './models.js';
import { gemmNK } from '../reference/gemm.js';
import { refConvF32 } from '../reference/conv.js';
import { affineRef, binaryMatMulRef, conv2dRef, packRef, requantRef, signs, unpackRef } from '../reference/binary.js';
import { int4GroupedRef } from '../reference/toolkit.js';
import { roundHalfEven } from '../reference/requant.js';

type Typed = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array;
type Ctor = new (n: number) => Typed;

export interface FieldMeta {
  key: string;
  kind: 'weights' | 'scale' | 'zp' | 'bias' | 'quant' | 'enum' | 'pair' | 'pads' | 'group' | 'raw';
  optional: boolean;
  accepts?: Ctor[];
  /** Values the enum must refuse. */
  bad?: unknown[];
  perChannel?: number;
  signed?: boolean;
}

/** What a layer's run must return for x: exact values or values within a tolerance. */
export interface LayerWant {
  values: readonly number[];
  tol?: readonly number[];
  /** For tensor outputs: the shape; else the output is a bare typed array. */
  shape?: readonly number[];
  type: new (n: number) => ArrayLike<number>;
  /** Output bits (binary layers' 'bits' output): compare words. */
  bits?: boolean;
}

export interface LayerModel<S> {
  method: string;
  /** Config fields, plus 'x', 'out', 'config', 'layer'. */
  allowed: string[];
  valid(r: Rng): S;
  config(s: S): Record<string, unknown>;
  input(s: S): unknown;
  /** An `out` of the right size for run(x, out), or undefined. */
  out(s: S): unknown;
  /** The output, or the error the spec must give. */
  want(s: S): LayerWant | { error: string[] } | { either: string[]; want: LayerWant };
  fields(s: S): FieldMeta[];
  withDefault(s: S, key: string): S;
  /** Mutations of layer-specific fields. */
  mutateField?(r: Rng, s: S, f: FieldMeta, valid: Expect): Mut | null;
  /** Run-input mutations beyond the generic ones. */
  mutateInput?(r: Rng, s: S, valid: Expect): Mut;
  inputAccepts: Ctor[];
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function checkWant(w: LayerWant, y: unknown): string | null {
  if (w.bits) {
    const o = y as { bits: unknown; shape: unknown };
    if (!(o?.bits instanceof Uint32Array)) return 'bits is not a Uint32Array';
    return (w.shape ? diffShape(o.shape, w.shape) : null) ?? diffExact(o.bits, w.values, 'bits');
  }
  let data: unknown = y;
  if (w.shape) {
    const o = y as { data: unknown; shape: unknown };
    const d = diffShape(o?.shape, w.shape);
    if (d) return d;
    data = o.data;
  }
  if (!(data instanceof w.type)) return `output is ${(data as object)?.constructor?.name}, expected ${w.type.name}`;
  const arr = data as ArrayLike<number>;
  // `out` may be longer than needed: its first values are the result
  const got = arr.length > w.values.length && !w.shape ? Array.prototype.slice.call(arr, 0, w.values.length) : arr;
  return w.tol ? diffClose(got as ArrayLike<number>, w.values, w.tol) : diffExact(got as ArrayLike<number>, w.values);
}

function expectOf(w: ReturnType<LayerModel<unknown>['want']>, outGiven: boolean, asyncRun: boolean): Expect {
  if ('error' in w) return err(w.error);
  const lw = 'either' in w ? w.want : w;
  const check = (res: unknown) => {
    const o = res as { y: unknown; y2?: unknown; out?: unknown; same?: boolean };
    const d = checkWant(lw, o.y);
    if (d) return `run(x): ${d}`;
    if (outGiven) {
      if (!o.same) return 'run(x, out) did not return out';
      const d2 = checkWant(lw, o.y2);
      if (d2) return `run(x, out): ${d2}`;
    }
    if (asyncRun) {
      const d3 = checkWant(lw, o.out);
      if (d3) return `runAsync(x): ${d3}`;
    }
    return null;
  };
  return 'either' in w ? either({ kind: 'value', check }, w.either) : { kind: 'value', check };
}

type AnyLayer = {
  run(x: unknown, out?: unknown): unknown;
  runAsync?: (x: unknown, out?: unknown) => Promise<unknown>;
  dispose(): void;
};

/** A case from a layer model: a valid config and input, or one of them mutated. */
export function layerCaseOf<S>(m: LayerModel<S>, r: Rng, mutateP = 0.5): Case {
  let s = m.valid(r);
  let cfg: unknown = m.config(s);
  let x: unknown = m.input(s);
  let out: unknown = r.bool(0.6) ? m.out(s) : undefined;
  const asyncRun = r.bool(0.15);
  let expect = expectOf(m.want(s), out !== undefined, asyncRun);
  let tag = expect.kind === 'error' ? 'refused-spec' : 'valid';
  const snapshots: ArrayBufferView[] = [];
  const snap = (v: unknown) => {
    if (ArrayBuffer.isView(v)) snapshots.push(v);
  };
  const base = cfg as Record<string, unknown>;
  for (const v of Object.values(base)) {
    snap(v);
    if (typeof v === 'object' && v !== null) snap((v as { data?: unknown; bits?: unknown }).data);
  }
  if (typeof x === 'object' && x !== null) {
    snap(x);
    snap((x as { data?: unknown }).data);
    snap((x as { bits?: unknown }).bits);
  }
  if (expect.kind !== 'error' && r.bool(mutateP)) {
    const where = r.next();
    let mut: Mut | null = null;
    if (where < 0.55) {
      const fields = m.fields(s);
      const f = r.pick(fields);
      if (f.optional && r.bool(0.2)) {
        const d = m.withDefault(s, f.key);
        const v = r.pick([null, undefined]);
        s = d;
        mut = {
          value: v,
          expect: expectOf(m.want(d), out !== undefined, asyncRun),
          tag: `${v === null ? 'null' : 'undefined'}-${f.key}`,
        };
        // a default may change the output size
        if (out !== undefined) out = m.out(d);
      } else mut = m.mutateField?.(r, s, f, expect) ?? genericField(r, s, f, expect, m);
      if (mut !== null) {
        cfg = { ...base, [f.key]: mut.value };
        if (mut.value === undefined) delete (cfg as Record<string, unknown>)[f.key];
      }
    } else if (where < 0.65) {
      const v = r.pick<unknown>([null, undefined, 5, 'config', [], () => 1]);
      // an array or a function has no fields: naming the first missing one is sound too
      mut = { value: v, expect: err(['config', 'weights']), tag: 'bad-config' };
      cfg = v;
    } else if (where < 0.9) {
      mut = m.mutateInput ? m.mutateInput(r, s, expect) : genericInput(r, x, m, expect, (s as { K?: number }).K ?? 1);
      x = mut.value;
    } else {
      const w = m.want(s);
      const needed = 'error' in w ? 0 : ('either' in w ? w.want : w).values.length;
      mut = mutateOut(r, out, expect, needed);
      out = mut.value;
      if (out === undefined) mut.expect = expect;
    }
    if (mut !== null) {
      expect = withBaseArgs(mut.expect, expect);
      tag = mut.tag;
      snapshots.push(...(mut.snapshots ?? []));
    }
  }
  const config = cfg;
  const input = x;
  const output = out;
  const repr =
    `const l = qw.${m.method}(${show(config)}); l.run(${show(input)})` +
    (output !== undefined ? `; l.run(x, ${show(output)})` : '') +
    (asyncRun ? '; await l.runAsync(x)' : '') +
    '; l.dispose()';
  const call = (qw: Qwasm) => {
    const l = (qw as unknown as Record<string, (c: unknown) => AnyLayer>)[m.method]!(config);
    let disposeNow = true;
    try {
      const y = l.run(input);
      const res: { y: unknown; y2?: unknown; same?: boolean; out?: unknown } = { y };
      if (output !== undefined) {
        res.y2 = l.run(input, output);
        res.same = res.y2 === output;
      }
      if (asyncRun && typeof l.runAsync === 'function') {
        disposeNow = false;
        return l.runAsync(input).then(
          (v) => {
            l.dispose();
            return { ...res, out: v };
          },
          (e: unknown) => {
            l.dispose();
            throw e;
          },
        );
      }
      if (asyncRun) res.out = y;
      return res;
    } finally {
      if (disposeNow) l.dispose();
    }
  };
  return { tag, repr, call, expect, allowed: m.allowed, snapshots };
}

/** Generic mutations of a config field by its kind. */
function genericField<S>(r: Rng, s: S, f: FieldMeta, valid: Expect, m: LayerModel<S>): Mut {
  const cfg = m.config(s);
  switch (f.kind) {
    case 'weights': {
      const w = cfg[f.key] as { data: Typed; shape: number[] };
      const mt = mutateTensor(r, w, f.key, valid, f.accepts!);
      // a mutated weight tensor leaves the layer unable to run correctly: only refusals count
      return mt;
    }
    case 'scale':
      return { value: badScale(r, f.perChannel ?? 1), expect: err([f.key]), tag: `bad-${f.key}` };
    case 'zp':
      return { value: badZeroPoint(r, f.signed ?? true, 1), expect: err([f.key]), tag: `bad-${f.key}` };
    case 'bias': {
      const n = f.perChannel ?? 1;
      const v = r.pick<unknown>([new Int32Array(n + 1), new Float64Array(n), 'bias', 5, {}, new Int8Array(n)]);
      return { value: v, expect: err([f.key]), tag: `bad-${f.key}` };
    }
    case 'quant': {
      const q = cfg[f.key] as Record<string, unknown>;
      const k = r.int(0, 4);
      if (k === 0) return { value: r.pick<unknown>([null, 5, 'q', []]), expect: err([f.key]), tag: `bad-${f.key}` };
      if (k === 1)
        return {
          value: { ...q, scale: badScale(r, 1) },
          expect: err([`${f.key}.scale`, f.key]),
          tag: `bad-${f.key}.scale`,
        };
      if (k === 2) {
        const signed = (cfg.input as { dtype?: string }).dtype !== 'uint8';
        return {
          value: { ...q, zeroPoint: badZeroPoint(r, signed, 1) },
          expect: err([`${f.key}.zeroPoint`, f.key]),
          tag: `bad-${f.key}.zeroPoint`,
        };
      }
      if (k === 3) {
        const { scale: _s, ...rest } = q;
        return { value: rest, expect: err([`${f.key}.scale`, f.key]), tag: `missing-${f.key}.scale` };
      }
      if (f.key === 'input') {
        return {
          value: { ...q, dtype: r.pick<unknown>(['int16', 'INT8', 8, {}]) },
          expect: err(['input.dtype', 'input']),
          tag: 'bad-input.dtype',
        };
      }
      return {
        value: { ...q, scale: r.pick<unknown>(['0.1', null, {}]) },
        expect: err([`${f.key}.scale`, f.key]),
        tag: `bad-${f.key}.scale`,
      };
    }
    case 'enum':
      return { value: r.pick(f.bad ?? ['bogus']), expect: err([f.key]), tag: `bad-${f.key}` };
    case 'pair':
      return { value: badPair(r), expect: err([f.key]), tag: `bad-${f.key}` };
    case 'pads':
      return { value: badPads(r), expect: err([f.key]), tag: `bad-${f.key}` };
    case 'group':
      return {
        value: r.pick<unknown>([0, -1, 1.5, '1', 1n, NaN, 1e9]),
        expect: err([f.key, 'weights']),
        tag: `bad-${f.key}`,
      };
    default:
      return { value: r.pick<unknown>([{}, 'x', 5]), expect: err([f.key]), tag: `bad-${f.key}` };
  }
}

/** Input mutations of a layer taking a bare typed array (linear layers). */
function genericInput<S>(r: Rng, x: unknown, m: LayerModel<S>, valid: Expect, rowLen: number): Mut {
  const data = x as Typed;
  const n = data.length;
  const C = data.constructor as Ctor;
  const k = r.int(0, 9);
  switch (k) {
    case 0: {
      const Base = C as unknown as new (n: number) => Int8Array;
      const claimed = n;
      const Liar = class extends Base {
        override get length(): number {
          return claimed;
        }
      };
      // a true length of no whole rows: reading it honestly must refuse, trusting the lie gives the claimed rows
      let real = r.bool(0.4) ? 1 << 16 : n * 2 + r.int(1, 99);
      if (rowLen > 1 && real % rowLen === 0) real += 1;
      if (rowLen === 1) return { value: proxied(data), expect: either(valid, ['x']), tag: 'x-proxy' };
      const v = new Liar(real) as unknown as Typed;
      (v as Int8Array).set(data as Int8Array);
      named(v, `new (class extends ${C.name} { get length() { return ${claimed}; } })(${real})`);
      return { value: v, expect: either(valid, ['x']), tag: 'x-lying-length', snapshots: [v] };
    }
    case 1: {
      const p = named(new Proxy(data, {}), `new Proxy(${show(data)}, {})`);
      return { value: p, expect: either(valid, ['x']), tag: 'x-proxy' };
    }
    case 2: {
      const f = named(Object.create(C.prototype) as object, `Object.create(${C.name}.prototype)`);
      return { value: f, expect: err(['x']), tag: 'x-fake-typed' };
    }
    case 3: {
      const others: Ctor[] = [Int8Array, Uint8Array, Int16Array, Int32Array, Float32Array, Uint32Array];
      const W = r.pick(others.filter((o) => o !== C && !m.inputAccepts.includes(o)));
      return { value: new W(n), expect: err(['x']), tag: 'x-wrong-dtype' };
    }
    case 4: {
      if (rowLen === 1)
        return {
          value: new C(n + 1),
          expect: { kind: 'either', check: () => null, args: ['x', 'out'] },
          tag: 'x-extra-row',
        };
      return { value: new C(n + 1), expect: err(['x']), tag: 'x-not-whole-rows' };
    }
    case 5:
      return {
        value: r.pick<unknown>([null, undefined, 5, 'x', Array.from(data), { data, shape: [n] }]),
        expect: err(['x']),
        tag: 'x-not-an-array',
      };
    case 6: {
      const buf = new SharedArrayBuffer(data.byteLength);
      const sv = new (C as unknown as new (b: ArrayBufferLike) => Typed)(buf);
      (sv as Int8Array).set(data as Int8Array);
      named(sv, `shared(${show(data)})`);
      return { value: sv, expect: valid, tag: 'x-shared', snapshots: [sv] };
    }
    case 7: {
      const buf = new ArrayBuffer(data.byteLength + 64);
      const off = data.BYTES_PER_ELEMENT * 4;
      const v = new (C as unknown as new (b: ArrayBufferLike, o: number, n: number) => Typed)(buf, off, n);
      (v as Int8Array).set(data as Int8Array);
      new Uint8Array(buf, 0, off).fill(0x5a);
      named(v, `new ${C.name}(bigger.buffer, ${off}, ${n})`);
      return { value: v, expect: valid, tag: 'x-offset-view', snapshots: [v] };
    }
    case 8: {
      const v = new C(n);
      structuredClone(v.buffer, { transfer: [v.buffer as ArrayBuffer] });
      named(v, `detached(new ${C.name}(${n}))`);
      // a detached array has no rows: an empty result or a refusal
      return { value: v, expect: { kind: 'either', check: () => null, args: ['x'] }, tag: 'x-detached' };
    }
    default: {
      const v = new C(0);
      return { value: v, expect: { kind: 'either', check: emptyCheck, args: ['x'] }, tag: 'x-empty' };
    }
  }
}

function emptyCheck(res: unknown): string | null {
  const o = res as { y: { length?: number; data?: { length: number } } };
  const len = o.y?.length ?? o.y?.data?.length;
  return len === 0 ? null : `an empty input gave ${len} outputs`;
}

/** `out` mutations: the wrong type, too short, a lying length, not an array. */
/** `needed`: elements (or words) the output must hold; the mutated `out` holds fewer. */
function mutateOut(r: Rng, out: unknown, valid: Expect, needed: number): Mut {
  if (out === undefined) return { value: undefined, expect: valid, tag: 'valid' };
  const k = r.int(0, 3);
  const data = (
    ArrayBuffer.isView(out)
      ? out
      : ((out as { data?: unknown; bits?: unknown }).data ?? (out as { bits?: unknown }).bits)
  ) as Typed;
  const C = data.constructor as Ctor;
  const wrap = (d: unknown) =>
    ArrayBuffer.isView(out) ? d : { ...(out as object), [(out as { bits?: unknown }).bits ? 'bits' : 'data']: d };
  if (k === 0) {
    const W = C === Float32Array ? Int32Array : Float32Array;
    return { value: wrap(new W(data.length)), expect: err(['out']), tag: 'out-wrong-type' };
  }
  if (needed === 0 && k > 0) return { value: out, expect: valid, tag: 'valid' };
  if (k === 1) return { value: wrap(new C(needed - 1)), expect: err(['out']), tag: 'out-too-short' };
  if (k === 2) {
    const claimed = data.length;
    const Base = C as unknown as new (n: number) => Int8Array;
    const Liar = class extends Base {
      override get length(): number {
        return claimed + 1000;
      }
    };
    const v = named(
      new Liar(needed - 1) as unknown as Typed,
      `new (class extends ${C.name} { get length() { return ${claimed + 1000}; } })(${needed - 1})`,
    );
    return { value: wrap(v), expect: err(['out']), tag: 'out-lying-length' };
  }
  return { value: r.pick<unknown>([5, 'out', {}, []]), expect: err(['out']), tag: 'out-not-an-array' };
}

// ---------------------------------------------------------------------------------
// int8 linear

interface LinearSpec {
  N: number;
  K: number;
  M: number;
  w: Int8Array;
  ws: number[];
  wzp: number | undefined;
  bias: Int32Array | undefined;
  dtype: 'int8' | 'uint8' | undefined;
  sx: number;
  zx: number;
  sy: number;
  zy: number;
  activation: 'none' | 'relu' | 'relu6' | undefined;
  requant: 'fp32' | 'fixedpoint' | undefined;
  x: Int8Array | Uint8Array;
  outLonger: boolean;
}

const ACTS = ['none', 'relu', 'relu6', undefined] as const;

function linearSpec(r: Rng): LinearSpec {
  const N = r.dim(40, false);
  const K = r.bool(0.1) ? r.int(64, 400) : r.dim(70, false);
  const M = r.bool(0.3) ? 1 : r.dim(20);
  const dtype = r.pick<'int8' | 'uint8' | undefined>(['int8', 'uint8', undefined]);
  const signed = dtype !== 'uint8';
  const wzp = r.bool(0.15) ? r.extremeInt(-128, 127) : r.bool(0.3) ? 0 : undefined;
  let sx = r.scale();
  let ws = Array.from({ length: r.bool(0.5) ? N : 1 }, () => r.scale());
  let sy = r.scale();
  const e = r.next();
  if (e < 0.03) [sx, ws, sy] = [1e30, ws.map(() => 1e30), 1e-30];
  else if (e < 0.06) [sx, ws, sy] = [1024, ws.map(() => 1024), 1];
  return {
    N,
    K,
    M,
    w: r.quant(N * K, true) as Int8Array,
    ws,
    wzp,
    bias: r.bool(0.6) ? Int32Array.from({ length: N }, () => r.int(-20000, 20000)) : undefined,
    dtype,
    sx,
    zx: r.extremeInt(signed ? -128 : 0, signed ? 127 : 255),
    sy,
    zy: r.extremeInt(signed ? -128 : 0, signed ? 127 : 255),
    activation: r.pick(ACTS),
    requant: r.pick<'fp32' | 'fixedpoint' | undefined>(['fp32', 'fixedpoint', undefined]),
    x: r.quant(M * K, signed),
    outLonger: r.bool(0.2),
  };
}

/** Requantized int8 outputs of accumulators (bias already added), column n = i % N. */
function requantAll(
  acc: ArrayLike<number>,
  N: number,
  sx: number,
  ws: readonly number[],
  sy: number,
  zy: number,
  signed: boolean,
  activation: string | undefined,
  requant: string | undefined,
): number[] {
  const q = qrangeOf(signed);
  const { qmin, qmax } = activationRangeRef(activation, sy, zy, q.qmin, q.qmax);
  return Array.from(acc, (a, i) => {
    const w = ws.length > 1 ? ws[i % N]! : ws[0]!;
    return (requant ?? 'fp32') === 'fp32'
      ? requantFp32Ref(a, sx, w, sy, zy, qmin, qmax)
      : requantFixedRef(a, sx, w, sy, zy, qmin, qmax);
  });
}

export const linearModel: LayerModel<LinearSpec> = {
  method: 'linear',
  allowed: [
    'config',
    'weights',
    'weightScale',
    'weightZeroPoint',
    'bias',
    'input',
    'output',
    'activation',
    'requant',
    'weightBits',
    'x',
    'out',
  ],
  inputAccepts: [],
  valid: linearSpec,
  config: (s) => {
    const c: Record<string, unknown> = {
      weights: { data: s.w, shape: [s.N, s.K] },
      weightScale: s.ws.length > 1 ? Float32Array.from(s.ws) : s.ws[0],
      input:
        s.dtype === undefined ? { scale: s.sx, zeroPoint: s.zx } : { scale: s.sx, zeroPoint: s.zx, dtype: s.dtype },
      output: { scale: s.sy, zeroPoint: s.zy },
    };
    if (s.wzp !== undefined) c.weightZeroPoint = s.wzp;
    if (s.bias !== undefined) c.bias = s.bias;
    if (s.activation !== undefined) c.activation = s.activation;
    if (s.requant !== undefined) c.requant = s.requant;
    return c;
  },
  input: (s) => s.x,
  out: (s) =>
    s.dtype === 'uint8'
      ? new Uint8Array(s.M * s.N + (s.outLonger ? 5 : 0))
      : new Int8Array(s.M * s.N + (s.outLonger ? 5 : 0)),
  want: (s) => {
    const acc = gemmNK(s.x, s.w, s.M, s.N, s.K, s.zx, [s.wzp ?? 0]);
    if (s.bias) for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + s.bias[i % s.N]!;
    const signed = s.dtype !== 'uint8';
    const values = requantAll(acc, s.N, s.sx, s.ws, s.sy, s.zy, signed, s.activation, s.requant);
    const w: LayerWant = { values, type: signed ? Int8Array : Uint8Array };
    if (extremeMultiplier(s.sx, s.ws, s.sy, s.requant ?? 'fp32'))
      return { either: ['weightScale', 'input.scale', 'output.scale'], want: w };
    return w;
  },
  fields: (s) => [
    { key: 'weights', kind: 'weights', optional: false, accepts: [Int8Array] },
    { key: 'weightScale', kind: 'scale', optional: false, perChannel: s.N },
    { key: 'weightZeroPoint', kind: 'zp', optional: true, signed: true },
    { key: 'bias', kind: 'bias', optional: true, perChannel: s.N },
    { key: 'input', kind: 'quant', optional: false },
    { key: 'output', kind: 'quant', optional: false },
    { key: 'activation', kind: 'enum', optional: true, bad: ['gelu', 'RELU', 1, {}, true] },
    { key: 'requant', kind: 'enum', optional: true, bad: ['fp16', 'FIXED', 1, {}] },
    { key: 'weightBits', kind: 'enum', optional: true, bad: [2, 16, '8', 8.5, NaN] },
  ],
  withDefault: (s, key) =>
    key === 'weightZeroPoint'
      ? { ...s, wzp: undefined }
      : key === 'bias'
        ? { ...s, bias: undefined }
        : key === 'activation'
          ? { ...s, activation: undefined }
          : key === 'requant'
            ? { ...s, requant: undefined }
            : s,
};
linearModel.inputAccepts.push(Int8Array);

// ---------------------------------------------------------------------------------
// linearF32, dynamicLinear, linearResidual

interface FloatLinearSpec {
  N: number;
  K: number;
  M: number;
  w: Float32Array;
  bias: Float32Array | undefined;
  activation: 'none' | 'relu' | 'relu6' | undefined;
  x: Float32Array;
}

function floatLinearSpec(r: Rng): FloatLinearSpec {
  const N = r.dim(40, false);
  const K = r.bool(0.1) ? r.int(64, 300) : r.dim(70, false);
  const M = r.bool(0.3) ? 1 : r.dim(20);
  return {
    N,
    K,
    M,
    w: r.floats(N * K),
    bias: r.bool(0.6) ? r.floats(N, 4) : undefined,
    activation: r.pick(ACTS),
    x: r.floats(M * K, r.pick([1, 3])),
  };
}

function clampAct(v: number, act: string | undefined): number {
  if (act === 'relu') return Math.max(0, v);
  if (act === 'relu6') return Math.min(6, Math.max(0, v));
  return v;
}

/**
 * float64 x w^T + bias with a per-output tolerance: `rel` times the magnitude sum, or
 * with `quantized` (inputs and weights quantized per row / channel) `rel` times
 * max|x| sum|w| + max|w| sum|x|.
 */
function floatGemm(s: FloatLinearSpec, rel: number, quantized = false): { values: number[]; tol: number[] } {
  const values: number[] = [];
  const tol: number[] = [];
  for (let m = 0; m < s.M; m++)
    for (let n = 0; n < s.N; n++) {
      let acc = 0;
      let mag = 0;
      let xMax = 0;
      let wMax = 0;
      let xSum = 0;
      let wSum = 0;
      for (let k = 0; k < s.K; k++) {
        const xv = s.x[m * s.K + k]!;
        const wv = s.w[n * s.K + k]!;
        acc += xv * wv;
        mag += Math.abs(xv * wv);
        xMax = Math.max(xMax, Math.abs(xv));
        wMax = Math.max(wMax, Math.abs(wv));
        xSum += Math.abs(xv);
        wSum += Math.abs(wv);
      }
      const b = s.bias ? s.bias[n]! : 0;
      values.push(clampAct(acc + b, s.activation));
      const spread = quantized ? xMax * wSum + wMax * xSum : mag;
      tol.push(rel * (spread + Math.abs(b)) + 1e-30);
    }
  return { values, tol };
}

const floatFields = (s: FloatLinearSpec): FieldMeta[] => [
  { key: 'weights', kind: 'weights', optional: false, accepts: [Float32Array] },
  { key: 'bias', kind: 'bias', optional: true, perChannel: s.N },
  { key: 'activation', kind: 'enum', optional: true, bad: ['gelu', 'RELU', 1, {}, true] },
];

const floatDefault = (s: FloatLinearSpec, key: string): FloatLinearSpec =>
  key === 'bias' ? { ...s, bias: undefined } : key === 'activation' ? { ...s, activation: undefined } : s;

function floatConfig(s: FloatLinearSpec, withAct: boolean): Record<string, unknown> {
  const c: Record<string, unknown> = { weights: { data: s.w, shape: [s.N, s.K] } };
  if (s.bias !== undefined) c.bias = s.bias;
  if (withAct && s.activation !== undefined) c.activation = s.activation;
  return c;
}

/** Float weights with a NaN or infinity: refused, or (float32 layer) propagated. */
function hostileWeights(r: Rng, s: FloatLinearSpec, refuseOnly: boolean): Mut {
  const w = Float32Array.from(s.w);
  w[r.int(0, w.length - 1)] = r.pick([NaN, Infinity, -Infinity]);
  return {
    value: { data: w, shape: [s.N, s.K] },
    expect: refuseOnly ? err(['weights']) : { kind: 'either', check: () => null, args: ['weights'] },
    tag: 'nonfinite-weights',
    snapshots: [w],
  };
}

export const linearF32Model: LayerModel<FloatLinearSpec> = {
  method: 'linearF32',
  allowed: ['config', 'weights', 'bias', 'activation', 'x', 'out'],
  inputAccepts: [Float32Array],
  valid: floatLinearSpec,
  config: (s) => floatConfig(s, true),
  input: (s) => s.x,
  out: (s) => new Float32Array(s.M * s.N),
  want: (s) => ({ ...floatGemm(s, (s.K + 4) * 2 ** -22), type: Float32Array }),
  fields: floatFields,
  withDefault: floatDefault,
  mutateField: (r, s, f) => (f.key === 'weights' && r.bool(0.3) ? hostileWeights(r, s, false) : null),
};

export const dynamicLinearModel: LayerModel<FloatLinearSpec> = {
  method: 'dynamicLinear',
  allowed: ['config', 'weights', 'bias', 'x', 'out'],
  inputAccepts: [Float32Array],
  valid: (r) => ({ ...floatLinearSpec(r), activation: undefined }),
  config: (s) => floatConfig(s, false),
  input: (s) => s.x,
  out: (s) => new Float32Array(s.M * s.N),
  want: (s) => {
    // weights: symmetric int8 per output channel; input: DynamicQuantizeLinear's uint8 (no activation)
    const q = new Int8Array(s.N * s.K);
    const wsc: number[] = [];
    for (let n = 0; n < s.N; n++) {
      let mx = 0;
      for (let k = 0; k < s.K; k++) mx = Math.max(mx, Math.abs(s.w[n * s.K + k]!));
      const sc = mx > 0 ? Math.fround(mx / 127) : 1;
      wsc.push(sc);
      for (let k = 0; k < s.K; k++)
        q[n * s.K + k] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(s.w[n * s.K + k]! / sc))));
    }
    const d = dynamicRef(s.x)!;
    const acc = gemmNK(d.y, q, s.M, s.N, s.K, d.zeroPoint, [0]);
    const values: number[] = [];
    const tol: number[] = [];
    acc.forEach((a, i) => {
      const n = i % s.N;
      const b = s.bias ? s.bias[n]! : 0;
      values.push(a * d.scale * wsc[n]! + b);
      tol.push(4e-7 * (Math.abs(a * d.scale * wsc[n]!) + Math.abs(b)) + 1e-30);
    });
    return { values, tol, type: Float32Array };
  },
  fields: (s) => floatFields(s).filter((f) => f.key !== 'activation'),
  withDefault: floatDefault,
  mutateField: (r, s, f) => (f.key === 'weights' && r.bool(0.3) ? hostileWeights(r, s, true) : null),
  mutateInput: (r, s, valid) => {
    if (r.bool(0.3)) {
      const x = Float32Array.from(s.x);
      if (x.length === 0) return { value: x, expect: valid, tag: 'valid' };
      x[r.int(0, x.length - 1)] = r.pick([Infinity, -Infinity]);
      return { value: x, expect: err(['x']), tag: 'x-infinite', snapshots: [x] };
    }
    return genericInput(r, s.x, dynamicLinearModel, valid, s.K);
  },
};

export const linearResidualModel: LayerModel<FloatLinearSpec> = {
  method: 'linearResidual',
  allowed: ['config', 'weights', 'bias', 'activation', 'x', 'out'],
  inputAccepts: [Float32Array],
  valid: floatLinearSpec,
  config: (s) => floatConfig(s, true),
  input: (s) => s.x,
  out: (s) => new Float32Array(s.M * s.N),
  // two int8 stages and an int16 input: about 2^-14 of the magnitudes
  want: (s) => ({ ...floatGemm(s, 2 ** -12, true), type: Float32Array }),
  fields: floatFields,
  withDefault: floatDefault,
  mutateField: (r, s, f) => (f.key === 'weights' && r.bool(0.3) ? hostileWeights(r, s, true) : null),
  mutateInput: (r, s, valid) => {
    if (r.bool(0.3)) {
      const x = Float32Array.from(s.x);
      if (x.length === 0) return { value: x, expect: valid, tag: 'valid' };
      x[r.int(0, x.length - 1)] = r.pick([NaN, Infinity, -Infinity]);
      return { value: x, expect: err(['x']), tag: 'x-nonfinite', snapshots: [x] };
    }
    return genericInput(r, s.x, linearResidualModel, valid, s.K);
  },
};

// ---------------------------------------------------------------------------------
// int4 linear

interface Int4Spec extends LinearSpec {
  values: Int8Array;
  packed: boolean;
  groupSize: number | undefined;
  fbias: Float32Array | undefined;
}

function int4Spec(r: Rng): Int4Spec {
  const s = linearSpec(r);
  const values = Int8Array.from({ length: s.N * s.K }, () => r.extremeInt(-8, 7));
  const grouped = r.bool(0.4);
  const groupSize = grouped ? r.pick([4, 8, 12, 16, 32, 64]) : undefined;
  const groups = groupSize ? Math.ceil(s.K / groupSize) : 0;
  const ws = grouped ? Array.from({ length: s.N * groups }, () => r.scale()) : s.ws;
  return {
    ...s,
    w: values,
    values,
    wzp: undefined,
    ws: grouped ? ws : s.ws,
    packed: r.bool(0.6),
    groupSize,
    requant: grouped ? r.pick<'fp32' | undefined>(['fp32', undefined]) : s.requant,
    bias: grouped ? undefined : s.bias,
    fbias: grouped && r.bool(0.6) ? r.floats(s.N, 3) : undefined,
  };
}

function packNibbles(v: Int8Array, N: number, K: number): Uint8Array {
  const rb = Math.ceil(K / 2);
  const out = new Uint8Array(N * rb);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) out[n * rb + (k >> 1)]! |= (v[n * K + k]! & 15) << ((k & 1) * 4);
  return out;
}

export const int4Model: LayerModel<Int4Spec> = {
  method: 'linear',
  allowed: [...linearModel.allowed, 'groupSize'],
  inputAccepts: [Int8Array],
  valid: int4Spec,
  config: (s) => {
    const c: Record<string, unknown> = {
      weightBits: 4,
      weights: { data: s.packed ? packNibbles(s.values, s.N, s.K) : s.values, shape: [s.N, s.K] },
      weightScale: s.ws.length > 1 ? Float32Array.from(s.ws) : s.ws[0],
      input:
        s.dtype === undefined ? { scale: s.sx, zeroPoint: s.zx } : { scale: s.sx, zeroPoint: s.zx, dtype: s.dtype },
      output: { scale: s.sy, zeroPoint: s.zy },
    };
    if (s.groupSize !== undefined) c.groupSize = s.groupSize;
    if (s.bias !== undefined) c.bias = s.bias;
    if (s.fbias !== undefined) c.bias = s.fbias;
    if (s.activation !== undefined) c.activation = s.activation;
    if (s.requant !== undefined) c.requant = s.requant;
    return c;
  },
  input: (s) => s.x,
  out: linearModel.out as (s: Int4Spec) => unknown,
  want: (s) => {
    const signed = s.dtype !== 'uint8';
    const type = signed ? Int8Array : Uint8Array;
    if (s.groupSize === undefined) {
      const acc = gemmNK(s.x, s.values, s.M, s.N, s.K, s.zx, [0]);
      if (s.bias) for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + s.bias[i % s.N]!;
      const values = requantAll(acc, s.N, s.sx, s.ws, s.sy, s.zy, signed, s.activation, s.requant);
      const w: LayerWant = { values, type };
      if (extremeMultiplier(s.sx, s.ws, s.sy, s.requant ?? 'fp32'))
        return { either: ['weightScale', 'input.scale', 'output.scale'], want: w };
      return w;
    }
    const q = qrangeOf(signed);
    const { qmin, qmax } = activationRangeRef(s.activation, s.sy, s.zy, q.qmin, q.qmax);
    const mults = Float32Array.from(s.ws, (w) =>
      Math.fround(Math.fround(Math.fround(s.sx) * Math.fround(w)) / Math.fround(s.sy)),
    );
    const biasOut = s.fbias ? Float32Array.from(s.fbias, (b) => Math.fround(b / Math.fround(s.sy))) : undefined;
    if (mults.some((m) => !Number.isFinite(m)) || biasOut?.some((b) => !Number.isFinite(b))) {
      // no float32 multiplier: the exact result saturates by the sign of the real value
      const groups = Math.ceil(s.K / s.groupSize);
      const values: number[] = [];
      for (let m = 0; m < s.M; m++)
        for (let n = 0; n < s.N; n++) {
          let v = 0;
          for (let g = 0; g < groups; g++) {
            let acc = 0;
            for (let k = g * s.groupSize; k < Math.min(s.K, (g + 1) * s.groupSize); k++)
              acc += (s.x[m * s.K + k]! - s.zx) * s.values[n * s.K + k]!;
            v += Math.fround(s.sx) * acc * Math.fround(s.ws[n * groups + g]!);
          }
          v += s.fbias ? s.fbias[n]! : 0;
          values.push(v > 0 ? qmax : v < 0 ? qmin : Math.min(qmax, Math.max(qmin, s.zy)));
        }
      return { either: ['weightScale', 'input.scale', 'output.scale', 'bias'], want: { values, type } };
    }
    const values = int4GroupedRef(s.x, s.values, s.M, s.N, s.K, s.zx, s.groupSize, mults, biasOut, s.zy, qmin, qmax);
    return { values, type };
  },
  fields: (s) => [
    { key: 'weights', kind: 'weights', optional: false, accepts: [Int8Array, Uint8Array] },
    { key: 'weightScale', kind: 'scale', optional: false, perChannel: s.ws.length },
    { key: 'groupSize', kind: 'enum', optional: s.groupSize === undefined, bad: [3, 6, -4, 4.5, '32', NaN] },
    { key: 'bias', kind: 'bias', optional: true, perChannel: s.N },
    { key: 'input', kind: 'quant', optional: false },
    { key: 'output', kind: 'quant', optional: false },
    { key: 'activation', kind: 'enum', optional: true, bad: ['gelu', 1, {}] },
    { key: 'requant', kind: 'enum', optional: true, bad: ['fp16', 1, {}] },
  ],
  withDefault: (s, key) =>
    key === 'bias'
      ? { ...s, bias: undefined, fbias: undefined }
      : key === 'activation'
        ? { ...s, activation: undefined }
        : key === 'requant'
          ? { ...s, requant: undefined }
          : key === 'groupSize'
            ? { ...s, groupSize: undefined }
            : s,
  mutateField: (r, s, f, valid) => {
    if (f.key === 'weights' && s.packed) {
      const t = { data: packNibbles(s.values, s.N, s.K), shape: [s.N, s.K] };
      const m = mutateTensor(r, t, 'weights', valid, [Int8Array, Uint8Array]);
      // packed rows of K and K + 1 nibbles have the same bytes when K is odd: use K + 2
      if (m.tag === 'shape-mismatch') m.value = { data: t.data, shape: [s.N, s.K + 2] };
      return m;
    }
    if (f.key === 'weights' && r.bool(0.4)) {
      // values outside int4 in the unpacked form must be refused
      const v = Int8Array.from(s.values);
      v[r.int(0, v.length - 1)] = r.pick([8, -9, 127, -128]);
      return {
        value: { data: v, shape: [s.N, s.K] },
        expect: err(['weights']),
        tag: 'int4-out-of-range',
        snapshots: [v],
      };
    }
    return null;
  },
};

// ---------------------------------------------------------------------------------
// conv2d / conv2dF32

interface ConvLayerSpec {
  N: number;
  H: number;
  W: number;
  C: number;
  M: number;
  kH: number;
  kW: number;
  /** Input channels per group of the weights (fixed: a default group does not change them). */
  Cg: number;
  group: number | undefined;
  strides: [number, number] | undefined;
  pads: [number, number, number, number] | undefined;
  dilations: [number, number] | undefined;
  lin: LinearSpec;
  w: Int8Array;
  x: Int8Array | Uint8Array;
  wf: Float32Array;
  xf: Float32Array;
  fbias: Float32Array | undefined;
}

function convLayerSpec(r: Rng): ConvLayerSpec {
  const lin = linearSpec(r);
  const kind = r.next();
  let C = r.dim(12, false);
  let M = r.dim(12, false);
  let group: number | undefined = r.bool(0.2) ? 1 : undefined;
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
  const g = group ?? 1;
  const N = r.bool(0.05) ? 0 : r.pick([1, 1, 2]);
  const H = r.int(1, 9);
  const W = r.int(1, 9);
  const signed = lin.dtype !== 'uint8';
  const ws = lin.ws.length > 1 ? Array.from({ length: M }, () => r.scale()) : lin.ws;
  return {
    N,
    H,
    W,
    C,
    M,
    kH,
    kW,
    Cg: C / g,
    group,
    strides: r.bool(0.5) ? [r.pick([1, 2, 3]), r.pick([1, 2])] : undefined,
    pads: r.bool(0.5) ? [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)] : undefined,
    dilations: r.bool(0.3) ? [r.pick([1, 2]), r.pick([1, 2])] : undefined,
    lin: { ...lin, N: M, ws, bias: lin.bias ? Int32Array.from({ length: M }, () => r.int(-20000, 20000)) : undefined },
    w: r.quant(M * kH * kW * (C / g), true) as Int8Array,
    x: r.quant(N * H * W * C, signed),
    wf: r.floats(M * kH * kW * (C / g)),
    xf: r.floats(N * H * W * C, 2),
    fbias: r.bool(0.5) ? r.floats(M, 2) : undefined,
  };
}

function convLayerGeo(s: ConvLayerSpec): ConvGeoRef | string {
  return convGeometryRef([s.N, s.H, s.W, s.C], [s.M, s.kH, s.kW, s.Cg], {
    layout: 'NHWC',
    strides: s.strides ?? [1, 1],
    pads: s.pads ?? [0, 0, 0, 0],
    dilations: s.dilations ?? [1, 1],
    group: s.group ?? 1,
    autoPad: 'NOTSET',
  });
}

const convLayerFields = (s: ConvLayerSpec, f32: boolean): FieldMeta[] => [
  { key: 'weights', kind: 'weights', optional: false, accepts: [f32 ? Float32Array : Int8Array] },
  ...(f32
    ? []
    : ([
        { key: 'weightScale', kind: 'scale', optional: false, perChannel: s.M },
        { key: 'weightZeroPoint', kind: 'zp', optional: true, signed: true },
        { key: 'input', kind: 'quant', optional: false },
        { key: 'output', kind: 'quant', optional: false },
        { key: 'requant', kind: 'enum', optional: true, bad: ['fp16', 1, {}] },
      ] as FieldMeta[])),
  { key: 'bias', kind: 'bias', optional: true, perChannel: s.M },
  { key: 'activation', kind: 'enum', optional: true, bad: ['gelu', 1, {}] },
  { key: 'strides', kind: 'pair', optional: true },
  { key: 'dilations', kind: 'pair', optional: true },
  { key: 'pads', kind: 'pads', optional: true },
  { key: 'group', kind: 'group', optional: true },
];

function convLayerDefault(s: ConvLayerSpec, key: string): ConvLayerSpec {
  switch (key) {
    case 'bias':
      return { ...s, lin: { ...s.lin, bias: undefined }, fbias: undefined };
    case 'activation':
      return { ...s, lin: { ...s.lin, activation: undefined } };
    case 'requant':
      return { ...s, lin: { ...s.lin, requant: undefined } };
    case 'weightZeroPoint':
      return { ...s, lin: { ...s.lin, wzp: undefined } };
    case 'strides':
      return { ...s, strides: undefined };
    case 'dilations':
      return { ...s, dilations: undefined };
    case 'pads':
      return { ...s, pads: undefined };
    case 'group':
      // without group the weights no longer fit a grouped input: refused
      return { ...s, group: undefined };
    default:
      return s;
  }
}

function convShapeAttrs(s: ConvLayerSpec, c: Record<string, unknown>): void {
  if (s.strides) c.strides = [...s.strides];
  if (s.pads) c.pads = [...s.pads];
  if (s.dilations) c.dilations = [...s.dilations];
  if (s.group !== undefined) c.group = s.group;
}

/** Conv layers take x as a tensor: the generic tensor mutations, plus too-small inputs. */
function convInput(r: Rng, s: ConvLayerSpec, valid: Expect, f32: boolean): Mut {
  const data = f32 ? s.xf : s.x;
  const t = { data, shape: [s.N, s.H, s.W, s.C] };
  if (r.bool(0.15)) {
    // the wrong channel count
    const bad = { data: new (data.constructor as Ctor)(s.N * s.H * s.W * (s.C + 1)), shape: [s.N, s.H, s.W, s.C + 1] };
    return { value: bad, expect: err(['x']), tag: 'x-wrong-channels' };
  }
  const accepts: Ctor[] = f32 ? [Float32Array] : [s.lin.dtype === 'uint8' ? Uint8Array : Int8Array];
  // run(x, out) checks out against x's shape as read then: a shape that changes blames out
  return mutateTensor(r, t as { data: Typed; shape: number[] }, 'x', valid, accepts, ['out']);
}

export const conv2dModel: LayerModel<ConvLayerSpec> = {
  method: 'conv2d',
  allowed: [
    'config',
    'weights',
    'weightScale',
    'weightZeroPoint',
    'bias',
    'input',
    'output',
    'activation',
    'requant',
    'strides',
    'pads',
    'dilations',
    'group',
    'x',
    'out',
  ],
  inputAccepts: [],
  valid: convLayerSpec,
  config: (s) => {
    const c = linearModel.config(s.lin);
    c.weights = { data: s.w, shape: [s.M, s.kH, s.kW, s.Cg] };
    convShapeAttrs(s, c);
    return c;
  },
  input: (s) => ({ data: s.x, shape: [s.N, s.H, s.W, s.C] }),
  out: (s) => {
    const g = convLayerGeo(s);
    if (typeof g === 'string') return undefined;
    const n = g.N * g.OH * g.OW * g.M;
    return { data: s.lin.dtype === 'uint8' ? new Uint8Array(n) : new Int8Array(n), shape: [g.N, g.OH, g.OW, g.M] };
  },
  want: (s) => {
    const g = convLayerGeo(s);
    const l = s.lin;
    if (typeof g === 'string') {
      const extreme = extremeMultiplier(l.sx, l.ws, l.sy, l.requant ?? 'fp32')
        ? ['weightScale', 'input.scale', 'output.scale']
        : [];
      return {
        error: [
          ...(g === 'kernel' ? ['x', 'pads', 'dilations', 'strides', 'weights'] : ['group', 'weights', 'x']),
          ...extreme,
        ],
      };
    }
    const acc = g.N === 0 ? [] : convAccRef(g, 'NHWC', s.x, s.w, l.zx, [l.wzp ?? 0]);
    if (l.bias) for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + l.bias[i % s.M]!;
    const signed = l.dtype !== 'uint8';
    const values = requantAll(acc, s.M, l.sx, l.ws, l.sy, l.zy, signed, l.activation, l.requant);
    const w: LayerWant = { values, type: signed ? Int8Array : Uint8Array, shape: [g.N, g.OH, g.OW, g.M] };
    if (extremeMultiplier(l.sx, l.ws, l.sy, l.requant ?? 'fp32'))
      return { either: ['weightScale', 'input.scale', 'output.scale'], want: w };
    return w;
  },
  fields: (s) => convLayerFields(s, false),
  withDefault: convLayerDefault,
  mutateInput: (r, s, valid) => convInput(r, s, valid, false),
};

export const conv2dF32Model: LayerModel<ConvLayerSpec> = {
  method: 'conv2dF32',
  allowed: ['config', 'weights', 'bias', 'activation', 'strides', 'pads', 'dilations', 'group', 'x', 'out'],
  inputAccepts: [],
  valid: convLayerSpec,
  config: (s) => {
    const c: Record<string, unknown> = { weights: { data: s.wf, shape: [s.M, s.kH, s.kW, s.Cg] } };
    if (s.fbias) c.bias = s.fbias;
    if (s.lin.activation !== undefined) c.activation = s.lin.activation;
    convShapeAttrs(s, c);
    return c;
  },
  input: (s) => ({ data: s.xf, shape: [s.N, s.H, s.W, s.C] }),
  out: (s) => {
    const g = convLayerGeo(s);
    if (typeof g === 'string') return undefined;
    return { data: new Float32Array(g.N * g.OH * g.OW * g.M), shape: [g.N, g.OH, g.OW, g.M] };
  },
  want: (s) => {
    const g = convLayerGeo(s);
    if (typeof g === 'string') {
      return { error: g === 'kernel' ? ['x', 'pads', 'dilations', 'strides', 'weights'] : ['group', 'weights', 'x'] };
    }
    const lo = s.lin.activation === 'relu' || s.lin.activation === 'relu6' ? 0 : -Infinity;
    const hi = s.lin.activation === 'relu6' ? 6 : Infinity;
    const values = g.N === 0 ? [] : Array.from(refConvF32(g, s.xf, s.wf, s.fbias, lo, hi));
    // magnitudes for the tolerance: the same conv on |x| and |w|
    const mag =
      g.N === 0 ? [] : Array.from(refConvF32(g, s.xf.map(Math.abs), s.wf.map(Math.abs), s.fbias?.map(Math.abs)));
    const K = s.kH * s.kW * s.Cg;
    return {
      values,
      tol: mag.map((v) => (K + 4) * 2 ** -22 * v + 1e-30),
      type: Float32Array,
      shape: [g.N, g.OH, g.OW, g.M],
    };
  },
  fields: (s) => convLayerFields(s, true),
  withDefault: convLayerDefault,
  mutateInput: (r, s, valid) => convInput(r, s, valid, true),
};

// ---------------------------------------------------------------------------------
// Binary layers

interface BinLayerSpec {
  N: number;
  K: number;
  lead: number[];
  w: Float32Array;
  scale: unknown;
  scales: number[];
  bias: unknown;
  biases: number[];
  output: unknown;
  x: Uint32Array;
  conv: {
    O: number;
    kH: number;
    kW: number;
    C: number;
    Nb: number;
    H: number;
    W: number;
    attrs: Record<string, unknown>;
  } | null;
}

function binScaleBias(r: Rng, N: number, w: Float32Array, K: number) {
  const sk = r.int(0, 4);
  let scale: unknown;
  let scales: number[];
  if (sk === 0) {
    scale = undefined;
    scales = new Array<number>(N).fill(1);
  } else if (sk === 1) {
    scale = 'xnor';
    scales = Array.from({ length: N }, (_, o) => {
      let t = 0;
      for (let i = o * K; i < (o + 1) * K; i++) t += Math.abs(w[i]!);
      return Math.fround(t / K);
    });
  } else if (sk === 2) {
    const v = Math.fround((r.next() - 0.3) * 2);
    scale = v;
    scales = new Array<number>(N).fill(v);
  } else {
    scales = Array.from({ length: N }, () => Math.fround((r.next() - 0.2) * 3));
    scale = sk === 3 ? Float32Array.from(scales) : [...scales];
  }
  const bk = r.int(0, 2);
  const biases =
    bk === 0 ? new Array<number>(N).fill(0) : Array.from({ length: N }, () => Math.fround((r.next() - 0.5) * 10));
  const bias = bk === 0 ? undefined : bk === 1 ? Float32Array.from(biases) : [...biases];
  return { scale, scales, bias, biases };
}

function binOutput(r: Rng): unknown {
  const k = r.int(0, 3);
  if (k === 0) return undefined;
  if (k === 1) return 'float32';
  if (k === 2) return 'bits';
  const o: Record<string, unknown> = { dtype: 'int8', scale: r.scale() * 10 };
  if (r.bool(0.7)) o.zeroPoint = r.extremeInt(-128, 127);
  return o;
}

/** The binary layers' epilogue over accumulators [rows, N]. */
function binaryWant(acc: Int32Array, N: number, s: BinLayerSpec, shape: number[]): LayerWant {
  const o = s.output;
  if (o === 'bits') {
    const y = Array.from(acc, (a, i) => affineRef(a, s.scales[i % N]!, s.biases[i % N]!));
    return { values: Array.from(packRef(y, N)), type: Uint32Array, bits: true, shape };
  }
  if (typeof o === 'object' && o !== null) {
    const { scale, zeroPoint } = o as { scale: number; zeroPoint?: number };
    const zp = zeroPoint ?? 0;
    const values = Array.from(acc, (a, i) =>
      requantRef(a, Math.fround(s.scales[i % N]! / scale), Math.fround(s.biases[i % N]! / scale), zp),
    );
    return { values, type: Int8Array, shape };
  }
  return {
    values: Array.from(acc, (a, i) => affineRef(a, s.scales[i % N]!, s.biases[i % N]!)),
    type: Float32Array,
    shape,
  };
}

function binOut(s: BinLayerSpec, rows: number, shape: number[], N: number): unknown {
  if (s.output === 'bits') return { bits: new Uint32Array(rows * Math.ceil(N / 32)), shape };
  if (typeof s.output === 'object' && s.output !== null) return { data: new Int8Array(rows * N), shape };
  return { data: new Float32Array(rows * N), shape };
}

const binFields = (s: BinLayerSpec, conv: boolean): FieldMeta[] => [
  { key: 'weights', kind: 'weights', optional: false, accepts: [Float32Array] },
  { key: 'scale', kind: 'raw', optional: true },
  { key: 'bias', kind: 'raw', optional: true },
  {
    key: 'output',
    kind: 'enum',
    optional: true,
    bad: [
      'int8',
      'float16',
      { dtype: 'int8' },
      { dtype: 'int8', scale: 0 },
      { dtype: 'int8', scale: 1, zeroPoint: 300 },
      { dtype: 'uint8', scale: 1 },
      5,
    ],
  },
  ...(conv
    ? ([
        { key: 'strides', kind: 'pair', optional: true },
        { key: 'dilations', kind: 'pair', optional: true },
        { key: 'pads', kind: 'pads', optional: true },
        { key: 'padValue', kind: 'enum', optional: true, bad: [2, -1, '0', true, 0.5] },
      ] as FieldMeta[])
    : []),
];

function binMutateField(r: Rng, s: BinLayerSpec, f: FieldMeta): Mut | null {
  if (f.key === 'scale') {
    const v = r.pick<unknown>(['XNOR', NaN, Infinity, new Float32Array(s.N + 1), [NaN], 'x', {}, 5n]);
    return { value: v, expect: err(['scale']), tag: 'bad-scale' };
  }
  if (f.key === 'bias') {
    const v = r.pick<unknown>([new Float32Array(s.N + 1), [Infinity], NaN, 'x', {}, new Int32Array(s.N + 2)]);
    return { value: v, expect: err(['bias']), tag: 'bad-bias' };
  }
  if (f.key === 'output') {
    const bad = r.pick(f.bad!);
    const argsFor =
      typeof bad === 'object' && bad !== null
        ? ['output', 'output.scale', 'output.zeroPoint', 'output.dtype']
        : ['output'];
    return { value: bad, expect: err(argsFor), tag: 'bad-output' };
  }
  return null;
}

function binDefault(s: BinLayerSpec, key: string): BinLayerSpec {
  if (key === 'scale') return { ...s, scale: undefined, scales: new Array<number>(s.N).fill(1) };
  if (key === 'bias') return { ...s, bias: undefined, biases: new Array<number>(s.N).fill(0) };
  if (key === 'output') return { ...s, output: undefined };
  if (key === 'strides' || key === 'dilations' || key === 'pads' || key === 'padValue') {
    const attrs = { ...s.conv!.attrs };
    delete attrs[key];
    return { ...s, conv: { ...s.conv!, attrs } };
  }
  return s;
}

/** Bit inputs: the wrong word type or count, unpacked tensors, lying lengths. */
function binInput(r: Rng, s: BinLayerSpec, shape: number[], valid: Expect): Mut {
  const k = r.int(0, 5);
  if (k === 0) return { value: { bits: Int32Array.from(s.x), shape }, expect: err(['x']), tag: 'x-bits-wrong-type' };
  if (k === 1)
    return { value: { bits: new Uint32Array(s.x.length + 1), shape }, expect: err(['x']), tag: 'x-bits-wrong-count' };
  if (k === 2)
    return { value: { data: new Float32Array(sizeOf(shape)), shape }, expect: err(['x']), tag: 'x-unpacked' };
  if (k === 3) {
    const claimed = s.x.length;
    const Liar = class extends Uint32Array {
      override get length(): number {
        return claimed;
      }
    };
    const v = new Liar(claimed * 2 + 64);
    v.set(s.x);
    named(v, `new (class extends Uint32Array { get length() { return ${claimed}; } })(${claimed * 2 + 64})`);
    return { value: { bits: v, shape }, expect: either(valid, ['x']), tag: 'x-bits-lying-length', snapshots: [v] };
  }
  if (k === 4) {
    const bad = [...shape];
    bad[bad.length - 1] = bad[bad.length - 1]! + 1;
    return { value: { bits: s.x, shape: bad }, expect: err(['x']), tag: 'x-wrong-K' };
  }
  return { value: r.pick<unknown>([null, s.x, 'x', 3]), expect: err(['x']), tag: 'x-not-bits' };
}

function randomWords(r: Rng, rows: number, n: number): Uint32Array {
  return r.words(rows * Math.ceil(n / 32));
}

export const binaryLinearModel: LayerModel<BinLayerSpec> = {
  method: 'binaryLinear',
  allowed: ['config', 'weights', 'scale', 'bias', 'output', 'x', 'out'],
  inputAccepts: [],
  valid: (r) => {
    const N = r.dim(40, false);
    const K = r.bool(0.15) ? r.int(100, 700) : r.dim(70, false);
    const lead = r.pick([[r.dim(12)], [r.dim(3), r.dim(5)], []]);
    const w = r.floats(N * K);
    return {
      N,
      K,
      lead,
      w,
      ...binScaleBias(r, N, w, K),
      output: binOutput(r),
      x: randomWords(r, sizeOf(lead), K),
      conv: null,
    };
  },
  config: (s) => {
    const c: Record<string, unknown> = { weights: { data: s.w, shape: [s.N, s.K] } };
    if (s.scale !== undefined) c.scale = s.scale;
    if (s.bias !== undefined) c.bias = s.bias;
    if (s.output !== undefined) c.output = s.output;
    return c;
  },
  input: (s) => ({ bits: s.x, shape: [...s.lead, s.K] }),
  out: (s) => binOut(s, sizeOf(s.lead), [...s.lead, s.N], s.N),
  want: (s) => {
    const M = sizeOf(s.lead);
    const acc = binaryMatMulRef(unpackRef(s.x, M, s.K), signs(s.w), M, s.N, s.K);
    return binaryWant(acc, s.N, s, [...s.lead, s.N]);
  },
  fields: (s) => binFields(s, false),
  withDefault: binDefault,
  mutateField: (r, s, f) => binMutateField(r, s, f),
  mutateInput: (r, s, valid) => binInput(r, s, [...s.lead, s.K], valid),
};

export const binaryConvLayerModel: LayerModel<BinLayerSpec> = {
  method: 'binaryConv2dLayer',
  allowed: ['config', 'weights', 'scale', 'bias', 'output', 'strides', 'pads', 'dilations', 'padValue', 'x', 'out'],
  inputAccepts: [],
  valid: (r) => {
    const O = r.dim(20, false);
    const C = r.bool(0.15) ? r.int(100, 260) : r.dim(40, false);
    const kH = r.pick([1, 2, 3, 3]);
    const kW = r.bool(0.7) ? kH : r.pick([1, 2, 3]);
    const K = kH * kW * C;
    const w = r.floats(O * K);
    const attrs: Record<string, unknown> = {};
    if (r.bool()) attrs.strides = [r.pick([1, 2]), r.pick([1, 2, 3])];
    if (r.bool(0.6)) attrs.pads = [r.int(0, 2), r.int(0, 2), r.int(0, 2), r.int(0, 2)];
    if (r.bool(0.3)) attrs.dilations = [r.pick([1, 2]), r.pick([1, 2])];
    if (r.bool(0.4)) attrs.padValue = r.pick([0, 1]);
    const Nb = r.bool(0.05) ? 0 : r.pick([1, 1, 2]);
    const H = r.int(1, 8);
    const W = r.int(1, 8);
    return {
      N: O,
      K,
      lead: [],
      w,
      ...binScaleBias(r, O, w, K),
      output: binOutput(r),
      x: randomWords(r, Nb * H * W, C),
      conv: { O, kH, kW, C, Nb, H, W, attrs },
    };
  },
  config: (s) => {
    const c: Record<string, unknown> = { ...binaryLinearModel.config(s), ...s.conv!.attrs };
    c.weights = { data: s.w, shape: [s.conv!.O, s.conv!.kH, s.conv!.kW, s.conv!.C] };
    return c;
  },
  input: (s) => ({ bits: s.x, shape: [s.conv!.Nb, s.conv!.H, s.conv!.W, s.conv!.C] }),
  out: (s) => {
    const c = s.conv!;
    const w = binaryConvLayerModel.want(s);
    if ('error' in w) return undefined;
    const lw = 'either' in w ? w.want : w;
    const [, OH, OW] = lw.shape as number[];
    return binOut(s, c.Nb * OH! * OW!, [c.Nb, OH!, OW!, c.O], c.O);
  },
  want: (s) => {
    const c = s.conv!;
    const a = c.attrs as {
      strides?: [number, number];
      pads?: [number, number, number, number];
      dilations?: [number, number];
      padValue?: 0 | 1;
    };
    const st = a.strides ?? [1, 1];
    const p = a.pads ?? [0, 0, 0, 0];
    const d = a.dilations ?? [1, 1];
    const OH = Math.floor((c.H + p[0] + p[2] - (c.kH - 1) * d[0] - 1) / st[0]) + 1;
    const OW = Math.floor((c.W + p[1] + p[3] - (c.kW - 1) * d[1] - 1) / st[1]) + 1;
    if (OH < 1 || OW < 1) return { error: ['x', 'pads', 'dilations', 'strides', 'weights'] };
    const ref = conv2dRef(
      unpackRef(s.x, c.Nb * c.H * c.W, c.C),
      [c.Nb, c.H, c.W, c.C],
      signs(s.w),
      [c.O, c.kH, c.kW, c.C],
      a,
    );
    return binaryWant(ref.data, c.O, s, [c.Nb, OH, OW, c.O]);
  },
  fields: (s) => binFields(s, true),
  withDefault: binDefault,
  mutateField: (r, s, f) => binMutateField(r, s, f),
  mutateInput: (r, s, valid) => binInput(r, s, [s.conv!.Nb, s.conv!.H, s.conv!.W, s.conv!.C], valid),
};

export const LAYER_MODELS = [
  linearModel,
  linearF32Model,
  dynamicLinearModel,
  linearResidualModel,
  int4Model,
  conv2dModel,
  conv2dF32Model,
  binaryLinearModel,
  binaryConvLayerModel,
] as unknown as LayerModel<unknown>[];
