// The quantization toolkit (src/toolkit, exported from the package) for the fuzzer:
// plain scalar references of its arithmetic written from the documented formulas
// (quantization parameters per tensor / channel / group, quantize, dequantize, fake
// quantization, the STE mask, int4 packing, residual stages, error metrics), property
// checks where no closed form exists (observers, range search, sensitivity), and
// mutations of every argument (wrong types, hostile tensors, bad options, null defaults).
import * as toolkit from '../../src/index.js';
import type { Case, Expect } from './harness.js';
import { named, show, type Rng } from './generators.js';
import { err, mutateTensor } from './mutations.js';
import { diffClose, diffExact, quantizeMultiplierRef } from './reference.js';
import { roundHalfEven } from '../reference/requant.js';

const FLT_MIN = 2 ** -126;
const value = (check: (r: unknown) => string | null): Expect => ({ kind: 'value', check });
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const rhe = (v: number) => roundHalfEven(v) + 0;

interface Scheme {
  bits: number;
  signed: boolean;
  symmetric: boolean;
  narrow: boolean;
}

function rangeOf(s: Scheme): { qmin: number; qmax: number } {
  const n = s.narrow ? 1 : 0;
  return s.signed
    ? { qmin: -(2 ** (s.bits - 1)) + n, qmax: 2 ** (s.bits - 1) - 1 }
    : { qmin: n, qmax: 2 ** s.bits - 1 };
}

/** Scale and zero point of one range (the documented rules). */
function rangeParamsRef(min: number, max: number, s: Scheme): { scale: number; zeroPoint: number } {
  const { qmin, qmax } = rangeOf(s);
  if (!s.symmetric) {
    const lo = Math.min(min, 0);
    const hi = Math.max(max, 0);
    let scale = hi > lo ? Math.fround((hi - lo) / (qmax - qmin)) : 1;
    if (scale < FLT_MIN) scale = FLT_MIN;
    return { scale, zeroPoint: Math.min(qmax, Math.max(qmin, rhe(qmin - lo / scale))) };
  }
  const zp = s.signed ? 0 : 2 ** (s.bits - 1);
  const amax = Math.max(Math.abs(min), Math.abs(max));
  let scale = amax > 0 ? Math.fround(amax / (qmax - zp)) : 1;
  if (scale < FLT_MIN) scale = FLT_MIN;
  return { scale, zeroPoint: zp };
}

interface Layout {
  slots: number;
  /** Slot of every element. */
  slotOf: Int32Array;
  shape: number[];
}

function layoutRef(shape: readonly number[], axis: number | undefined, groupSize: number | undefined): Layout {
  const n = sizeOf(shape);
  const slotOf = new Int32Array(n);
  if (axis === undefined && groupSize === undefined) return { slots: 1, slotOf, shape: [] };
  const a = (axis ?? -1) < 0 ? (axis ?? -1) + shape.length : axis!;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < a; i++) outer *= shape[i]!;
  for (let i = a + 1; i < shape.length; i++) inner *= shape[i]!;
  const A = shape[a]!;
  if (groupSize === undefined) {
    for (let j = 0; j < n; j++) slotOf[j] = Math.floor(j / inner) % A;
    return { slots: A, slotOf, shape: [A] };
  }
  const groups = Math.ceil(A / groupSize);
  for (let j = 0; j < n; j++) {
    const o = Math.floor(j / (A * inner));
    const ai = Math.floor(j / inner) % A;
    const i = j % inner;
    slotOf[j] = (o * groups + Math.floor(ai / groupSize)) * inner + i;
  }
  const ps = [...shape];
  ps[a] = groups;
  return { slots: outer * groups * inner, slotOf, shape: ps };
}

function paramsRef(x: Float32Array, L: Layout, s: Scheme): { scale: number[]; zeroPoint: number[] } {
  const min = new Array<number>(L.slots).fill(Infinity);
  const max = new Array<number>(L.slots).fill(-Infinity);
  for (let j = 0; j < x.length; j++) {
    const v = x[j]!;
    if (!Number.isFinite(v)) continue;
    const k = L.slotOf[j]!;
    min[k] = Math.min(min[k]!, v);
    max[k] = Math.max(max[k]!, v);
  }
  const scale: number[] = [];
  const zeroPoint: number[] = [];
  for (let k = 0; k < L.slots; k++) {
    const p = min[k]! > max[k]! ? rangeParamsRef(0, 0, s) : rangeParamsRef(min[k]!, max[k]!, s);
    scale.push(p.scale);
    zeroPoint.push(p.zeroPoint);
  }
  return { scale, zeroPoint };
}

function quantRef(x: Float32Array, L: Layout, p: { scale: number[]; zeroPoint: number[] }, s: Scheme) {
  const { qmin, qmax } = rangeOf(s);
  const q: number[] = [];
  const fq: number[] = [];
  const mask: number[] = [];
  for (let j = 0; j < x.length; j++) {
    const k = L.slotOf[j]!;
    const sc = p.scale[k]!;
    const zp = p.zeroPoint[k]!;
    const v = Math.fround(x[j]! / sc);
    if (Number.isNaN(v)) {
      q.push(zp);
      fq.push(0);
      mask.push(0);
      continue;
    }
    const c = Math.min(qmax - zp, Math.max(qmin - zp, v));
    q.push(rhe(c) + zp);
    fq.push(Math.fround(rhe(c) * sc));
    const r = rhe(v) + zp;
    mask.push(r >= qmin && r <= qmax ? 1 : 0);
  }
  return { q, fq, mask };
}

// ---------------------------------------------------------------------------------
// The campaign

const T_ALLOWED = [
  'x',
  'q',
  'xHat',
  'options',
  'scheme',
  'granularity',
  'bits',
  'signed',
  'symmetric',
  'narrow',
  'axis',
  'groupSize',
  'params',
  'out',
  'values',
  'shape',
  'packed',
  'weights',
  'stages',
  'rq',
  'range',
  'qmin',
  'qmax',
  'min',
  'max',
  'metric',
  'objective',
  'bounds',
  'method',
  'budget',
  'seed',
  'minFraction',
  'layers',
  'report',
  'maxRows',
  'minSqnrDb',
  'use',
  'averagingConstant',
  'percentile',
  'bins',
  'observer',
  'channel',
  'm',
  'sa',
  'sb',
  'sy',
  'dtype',
  'narrow',
];

function randomScheme(r: Rng): Scheme {
  return { bits: r.int(2, 8), signed: r.bool(), symmetric: r.bool(), narrow: r.bool(0.2) };
}

function schemeArg(r: Rng, s: Scheme): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (s.bits !== 8 || r.bool()) o.bits = s.bits;
  if (!s.signed || r.bool()) o.signed = s.signed;
  if (!s.symmetric || r.bool()) o.symmetric = s.symmetric;
  if (s.narrow || r.bool(0.3)) o.narrow = s.narrow;
  return o;
}

function randomTensor(r: Rng): { data: Float32Array; shape: number[] } {
  for (;;) {
    const rank = r.int(1, 3);
    const shape = Array.from({ length: rank }, () => r.dim(rank > 2 ? 7 : 40));
    if (sizeOf(shape) <= 800) {
      const n = sizeOf(shape);
      return { data: r.bool(0.2) ? r.hostileFloats(n) : r.floats(n, r.pick([1, 50, 1e-3])), shape };
    }
  }
}

function granularityOf(r: Rng, shape: readonly number[]): { axis?: number; groupSize?: number } {
  const k = r.int(0, 2);
  if (k === 0) return {};
  const axis = r.int(-shape.length, shape.length - 1);
  if (k === 1) return { axis };
  return { axis, groupSize: r.pick([1, 2, 3, 4, 8, 32]) };
}

function paramsObj(
  s: Scheme,
  p: { scale: number[]; zeroPoint: number[] },
  g: { axis?: number; groupSize?: number },
  rank: number,
): unknown {
  const { qmin, qmax } = rangeOf(s);
  const granularity = g.groupSize !== undefined ? 'group' : g.axis !== undefined ? 'channel' : 'tensor';
  const axis = g.axis === undefined ? (granularity === 'group' ? rank - 1 : 0) : g.axis < 0 ? g.axis + rank : g.axis;
  return {
    ...s,
    qmin,
    qmax,
    granularity,
    axis,
    groupSize: g.groupSize ?? 0,
    scale: Float32Array.from(p.scale),
    zeroPoint: Int32Array.from(p.zeroPoint),
  };
}

function checkParams(res: unknown, p: { scale: number[]; zeroPoint: number[] }): string | null {
  const o = res as { scale: Float32Array; zeroPoint: Int32Array };
  if (!(o?.scale instanceof Float32Array) || !(o.zeroPoint instanceof Int32Array))
    return 'scale / zeroPoint of the wrong type';
  return diffExact(o.scale, p.scale, 'scale') ?? diffExact(o.zeroPoint, p.zeroPoint, 'zeroPoint');
}

type Gen = (r: Rng) => {
  repr: string;
  call: () => unknown;
  expect: Expect;
  tag: string;
  snapshots?: ArrayBufferView[];
};

const fn = toolkit as unknown as Record<string, (...a: unknown[]) => unknown>;

/** A call of toolkit function `name` with `args`, shown as code. */
function tcall(name: string, args: unknown[], expect: Expect, tag: string, snapshots: ArrayBufferView[] = []) {
  let a = [...args];
  while (a.length > 0 && a[a.length - 1] === undefined) a = a.slice(0, -1);
  return { repr: `${name}(${a.map((v) => show(v)).join(', ')})`, call: () => fn[name]!(...a), expect, tag, snapshots };
}

/** A tensor argument, sometimes mutated (a bare Float32Array is a valid 1-D tensor here). */
function tensorArg(r: Rng, t: { data: Float32Array; shape: number[] }, name: string, valid: Expect, p: number) {
  if (!r.bool(p))
    return {
      value: r.bool(0.2) && t.shape.length === 1 ? t.data : t,
      expect: valid,
      tag: 'valid',
      snapshots: [t.data],
    };
  const m = mutateTensor(r, t, name, valid, [Float32Array]);
  if (m.value === t.data && t.shape.length === 1)
    return { value: t.data, expect: valid, tag: 'bare-array', snapshots: [t.data] };
  // a bare array of a multi-dimensional tensor is another (1-D) tensor: only a crash would be wrong
  if (m.value === t.data) {
    const any: Expect = { kind: 'either', check: () => null, args: [name, 'axis', 'options', 'params'] };
    return { value: t.data, expect: any, tag: 'bare-array', snapshots: [t.data] };
  }
  return { value: m.value, expect: m.expect, tag: m.tag, snapshots: [t.data, ...(m.snapshots ?? [])] };
}

const BAD_SCHEMES: [unknown, string[]][] = [
  [{ bits: 1 }, ['bits']],
  [{ bits: 9 }, ['bits']],
  [{ bits: 4.5 }, ['bits']],
  [{ bits: '8' }, ['bits']],
  [{ bits: NaN }, ['bits']],
  [{ bits: 8n }, ['bits']],
  [{ signed: 'yes' }, ['signed', 'scheme.signed']],
  [{ symmetric: 1 }, ['symmetric', 'scheme.symmetric']],
  [{ narrow: 'no' }, ['narrow', 'scheme.narrow']],
  ['int8', ['scheme', 'options']],
];

const GENS: Record<string, Gen> = {
  quantRange: (r) => {
    const s = randomScheme(r);
    if (r.bool(0.3)) {
      const bad = r.pick<unknown>([1, 9, 0, 2.5, NaN, '8', 8n, null, Infinity]);
      return tcall('quantRange', [bad, s.signed, s.narrow], err(['bits']), 'bad-bits');
    }
    const want = rangeOf(s);
    return tcall(
      'quantRange',
      [s.bits, s.signed, s.narrow],
      value((o) => diffExact([(o as typeof want).qmin, (o as typeof want).qmax], [want.qmin, want.qmax])),
      'valid',
    );
  },
  resolveScheme: (r) => {
    const s = randomScheme(r);
    if (r.bool(0.35)) {
      const [bad, args] = r.pick(BAD_SCHEMES);
      return tcall('resolveScheme', [bad], err(args), 'bad-scheme');
    }
    const arg = r.bool(0.1) ? null : schemeArg(r, s);
    const ws = arg === null ? { bits: 8, signed: true, symmetric: true, narrow: false } : s;
    const wr = rangeOf(ws);
    return tcall(
      'resolveScheme',
      [arg],
      value((o) => {
        const v = o as Scheme & { qmin: number; qmax: number };
        return diffExact(
          [v.bits, +v.signed, +v.symmetric, +v.narrow, v.qmin, v.qmax],
          [ws.bits, +ws.signed, +ws.symmetric, +ws.narrow, wr.qmin, wr.qmax],
        );
      }),
      arg === null ? 'null-scheme' : 'valid',
    );
  },
  nudgeZeroPoint: (r) => {
    const s = { ...randomScheme(r), symmetric: false };
    const { qmin, qmax } = rangeOf(s);
    let min = Math.fround((r.next() - 0.7) * 10 ** r.int(-3, 3));
    let max = Math.fround(min + r.next() * 10 ** r.int(-3, 3));
    if (r.bool(0.1)) [min, max] = [0, 0];
    if (r.bool(0.25)) {
      const k = r.int(0, 3);
      const bad: [unknown[], string[], string][] = [
        [[NaN, max, qmin, qmax], ['range', 'min'], 'nan-range'],
        [[min, Infinity, qmin, qmax], ['range', 'max'], 'infinite-range'],
        [[max + 1, min, qmin, qmax], ['range', 'min', 'max'], 'min-above-max'],
        [[min, max, qmax, qmin], ['qmin', 'qmax'], 'bad-qrange'],
      ];
      const [args, names, tag] = bad[k]!;
      return tcall('nudgeZeroPoint', args, err(names), tag);
    }
    const p = rangeParamsRef(min, max, s);
    return tcall(
      'nudgeZeroPoint',
      [min, max, qmin, qmax],
      value((o) => {
        const v = o as { scale: number; zeroPoint: number; nudgedMin: number; nudgedMax: number };
        return (
          diffExact([v.scale, v.zeroPoint], [p.scale, p.zeroPoint]) ??
          (v.nudgedMin <= 0 && v.nudgedMax >= 0 ? null : 'nudged range does not hold 0')
        );
      }),
      'valid',
    );
  },
  computeQuantParams: (r) => {
    const t = randomTensor(r);
    const s = randomScheme(r);
    const g = granularityOf(r, t.shape);
    const L = layoutRef(t.shape, g.axis, g.groupSize);
    const p = paramsRef(t.data, L, s);
    const valid = value((o) => checkParams(o, p));
    const opts = { ...schemeArg(r, s), ...g };
    if (r.bool(0.25)) {
      const k = r.int(0, 2);
      if (k === 0) {
        const [bad, args] = r.pick(BAD_SCHEMES);
        const o = typeof bad === 'object' ? { ...opts, ...(bad as object) } : bad;
        return tcall('computeQuantParams', [t, o], err([...args, 'options']), 'bad-scheme', [t.data]);
      }
      if (k === 1) {
        const ax = r.pick<unknown>([t.shape.length, -t.shape.length - 1, 1.5, '0', 0n]);
        return tcall(
          'computeQuantParams',
          [t, { ...opts, axis: ax }],
          err(['axis', 'options', 'granularity']),
          'bad-axis',
          [t.data],
        );
      }
      const gs = r.pick<unknown>([0, -1, 2.5, '4', NaN, 4n]);
      return tcall(
        'computeQuantParams',
        [t, { ...opts, groupSize: gs }],
        err(['groupSize', 'options', 'granularity']),
        'bad-groupSize',
        [t.data],
      );
    }
    const a = tensorArg(r, t, 'x', valid, 0.3);
    return tcall(
      'computeQuantParams',
      [a.value, r.bool(0.1) && Object.keys(opts).length === 0 ? null : opts],
      a.expect,
      a.tag,
      a.snapshots,
    );
  },
  paramsShape: (r) => {
    const t = randomTensor(r);
    const g = granularityOf(r, t.shape);
    const L = layoutRef(t.shape, g.axis, g.groupSize);
    return tcall(
      'paramsShape',
      [t.shape, g],
      value((o) => diffExact(o as number[], L.shape, 'shape')),
      'valid',
    );
  },
  quantizeFamily: (r) => {
    const t = randomTensor(r);
    const s = randomScheme(r);
    const g = granularityOf(r, t.shape);
    const L = layoutRef(t.shape, g.axis, g.groupSize);
    const p = paramsRef(t.data, L, s);
    if (r.bool(0.3)) {
      // a finer scale than the data's range: saturation
      for (let k = 0; k < p.scale.length; k++) {
        const v = Math.fround(p.scale[k]! * r.pick([0.01, 0.5, 1, 3]));
        if (v > 0 && Number.isFinite(v)) p.scale[k] = v;
      }
    }
    const params = paramsObj(s, p, g, t.shape.length);
    const ref = quantRef(t.data, L, p, s);
    const which = r.pick(['quantizeTensor', 'fakeQuantize', 'steGradientMask', 'dequantizeTensor']);
    if (r.bool(0.25)) {
      const pb = { ...(params as Record<string, unknown>) };
      // NaN scales and out-of-range zero points break nothing where there are no slots
      const slotless = (pb.scale as Float32Array).length === 0;
      const k0 = r.int(0, 4);
      const k = slotless && k0 < 2 ? 3 : k0;
      const broken = ['scale NaN', 'zeroPoint 1000', 'one scale too many', "granularity 'row'", 'qmax + 1'][k]!;
      if (k === 0) pb.scale = new Float32Array((pb.scale as Float32Array).length).fill(NaN);
      else if (k === 1) pb.zeroPoint = Int32Array.from(pb.zeroPoint as Int32Array, () => 1000);
      else if (k === 2) pb.scale = new Float32Array((pb.scale as Float32Array).length + 1).fill(0.1);
      else if (k === 3) pb.granularity = 'row';
      else pb.qmax = (pb.qmax as number) + 1;
      const x =
        which === 'dequantizeTensor'
          ? { data: s.signed ? new Int8Array(t.data.length) : new Uint8Array(t.data.length), shape: t.shape }
          : t;
      return tcall(
        which,
        [x, named(pb, `params with ${broken}`)],
        err(['params', 'params.scale', 'params.zeroPoint', 'params.granularity']),
        'bad-params',
      );
    }
    if (which === 'dequantizeTensor') {
      const q = s.signed ? Int8Array.from(ref.q) : Uint8Array.from(ref.q);
      const want = ref.q.map((v, j) => Math.fround((v - p.zeroPoint[L.slotOf[j]!]!) * p.scale[L.slotOf[j]!]!));
      return tcall(
        which,
        [{ data: q, shape: t.shape }, params],
        value((o) => diffExact(o as Float32Array, want)),
        'valid',
        [q],
      );
    }
    const want = which === 'quantizeTensor' ? ref.q : which === 'fakeQuantize' ? ref.fq : ref.mask;
    const type =
      which === 'quantizeTensor'
        ? s.signed
          ? Int8Array
          : Uint8Array
        : which === 'fakeQuantize'
          ? Float32Array
          : Uint8Array;
    const valid = value((o) => (o instanceof type ? diffExact(o as ArrayLike<number>, want) : `not a ${type.name}`));
    const a = tensorArg(r, t, 'x', valid, 0.25);
    return tcall(which, [a.value, params], a.expect, a.tag, a.snapshots);
  },
  packInt4: (r) => {
    const K = r.dim(33);
    const rows = r.dim(9);
    const v = Int8Array.from({ length: rows * K }, () => r.extremeInt(-8, 7));
    const rb = Math.ceil(K / 2);
    const want = new Array<number>(rows * rb).fill(0);
    for (let i = 0; i < rows; i++)
      for (let k = 0; k < K; k++) want[i * rb + (k >> 1)]! |= (v[i * K + k]! & 15) << ((k & 1) * 4);
    if (r.bool(0.25) && v.length > 0) {
      const bad = Int8Array.from(v);
      bad[r.int(0, bad.length - 1)] = r.pick([8, -9, 127]);
      return tcall('packInt4', [bad, [rows, K]], err(['values']), 'out-of-int4', [bad]);
    }
    if (r.bool(0.15)) return tcall('packInt4', [Uint8Array.from(v), [rows, K]], err(['values']), 'wrong-type');
    if (r.bool(0.1) && rows > 0)
      return tcall('packInt4', [v, [rows, K + 1]], err(['values', 'shape']), 'shape-mismatch', [v]);
    if (r.bool(0.2) && rows === 1)
      return tcall(
        'packInt4',
        [v, r.pick([undefined, null])],
        value((o) => diffExact(o as Uint8Array, want)),
        'default-shape',
        [v],
      );
    return tcall(
      'packInt4',
      [v, [rows, K]],
      value((o) => (o instanceof Uint8Array ? diffExact(o, want) : 'not a Uint8Array')),
      'valid',
      [v],
    );
  },
  unpackInt4: (r) => {
    const K = r.dim(33);
    const rows = r.dim(9);
    const rb = Math.ceil(K / 2);
    const packed = Uint8Array.from({ length: rows * rb }, () => r.int(0, 255));
    const want: number[] = [];
    for (let i = 0; i < rows; i++)
      for (let k = 0; k < K; k++) {
        const nb = (packed[i * rb + (k >> 1)]! >> ((k & 1) * 4)) & 15;
        want.push(nb >= 8 ? nb - 16 : nb);
      }
    if (r.bool(0.25)) {
      const k = r.int(0, 3);
      if (k === 0 && rows > 0)
        return tcall('unpackInt4', [packed, [rows, K + 2]], err(['packed', 'shape']), 'shape-mismatch', [packed]);
      if (k === 1) return tcall('unpackInt4', [Int8Array.from(packed), [rows, K]], err(['packed']), 'wrong-type');
      if (k === 2)
        return tcall('unpackInt4', [packed, [rows, -K - 1]], err(['shape', 'packed']), 'bad-shape', [packed]);
      return tcall('unpackInt4', [packed, r.pick<unknown>([null, 'x', [NaN]])], err(['shape', 'packed']), 'bad-shape', [
        packed,
      ]);
    }
    return tcall(
      'unpackInt4',
      [packed, [rows, K]],
      value((o) => (o instanceof Int8Array ? diffExact(o, want) : 'not an Int8Array')),
      'valid',
      [packed],
    );
  },
  quantizeWeightsInt4: (r) => {
    const N = r.dim(17, false);
    const K = r.dim(40, false);
    const w = r.floats(N * K, r.pick([1, 0.01, 100]));
    const t = { data: w, shape: [N, K] };
    const gs = r.bool(0.5) ? r.pick([4, 8, 16, 32]) : undefined;
    const s = { bits: 4, signed: true, symmetric: true, narrow: false };
    const L = layoutRef([N, K], gs === undefined ? 0 : 1, gs);
    const p = paramsRef(w, L, s);
    const q = quantRef(w, L, p, s).q;
    const rb = Math.ceil(K / 2);
    const packed = new Array<number>(N * rb).fill(0);
    for (let i = 0; i < N; i++)
      for (let k = 0; k < K; k++) packed[i * rb + (k >> 1)]! |= (q[i * K + k]! & 15) << ((k & 1) * 4);
    const valid = value((o) => {
      const v = o as { weights: { data: Uint8Array; shape: number[] }; weightScale: Float32Array; groupSize?: number };
      return (
        diffExact(v.weights.data, packed, 'weights') ??
        diffExact(v.weightScale, p.scale, 'weightScale') ??
        (v.groupSize === gs ? null : `groupSize ${v.groupSize}`)
      );
    });
    if (r.bool(0.2)) {
      const bad = Float32Array.from(w);
      bad[r.int(0, bad.length - 1)] = r.pick([NaN, Infinity]);
      return tcall(
        'quantizeWeightsInt4',
        [{ data: bad, shape: [N, K] }, gs === undefined ? undefined : { groupSize: gs }],
        err(['weights', 'x']),
        'nonfinite-weights',
      );
    }
    const a = tensorArg(r, t, 'weights', valid, 0.25);
    const expect =
      a.expect.kind === 'value' ? a.expect : { ...a.expect, args: [...(a.expect.args ?? []), 'weights', 'x'] };
    return tcall(
      'quantizeWeightsInt4',
      [a.value, gs === undefined ? (r.bool(0.2) ? null : undefined) : { groupSize: gs }],
      expect as Expect,
      a.tag,
      a.snapshots,
    );
  },
  residual: (r) => {
    const t = randomTensor(r);
    const stages = r.int(1, 4);
    const axis = r.bool(0.5) ? r.int(-t.shape.length, t.shape.length - 1) : undefined;
    const finite = t.data.every((v) => Number.isFinite(v));
    if (!finite)
      return tcall(
        'residualQuantize',
        [t, stages, axis === undefined ? undefined : { axis }],
        err(['x']),
        'nonfinite-x',
        [t.data],
      );
    if (r.bool(0.15)) {
      return tcall(
        'residualQuantize',
        [t, r.pick<unknown>([0, 5, 1.5, '2', null]), undefined],
        err(['stages']),
        'bad-stages',
        [t.data],
      );
    }
    const L = layoutRef(t.shape, axis, undefined);
    const res = Float64Array.from(t.data);
    const st: { q: number[]; scale: number[] }[] = [];
    for (let k = 0; k < stages; k++) {
      const amax = new Array<number>(L.slots).fill(0);
      for (let j = 0; j < res.length; j++) amax[L.slotOf[j]!] = Math.max(amax[L.slotOf[j]!]!, Math.abs(res[j]!));
      const scale = amax.map((m) => (m > 0 ? Math.max(Math.fround(m / 127), FLT_MIN) : 1));
      const q: number[] = [];
      for (let j = 0; j < res.length; j++) {
        const sc = scale[L.slotOf[j]!]!;
        const v = Math.max(-127, Math.min(127, rhe(res[j]! / sc)));
        q.push(v);
        res[j] = res[j]! - v * sc;
      }
      st.push({ q, scale });
    }
    const recon = Array.from(t.data, (_, j) =>
      Math.fround(st.reduce((acc, s) => acc + s.q[j]! * s.scale[L.slotOf[j]!]!, 0)),
    );
    const dequant = r.bool(0.5);
    const check = (o: unknown) => {
      const v = o as { stages: { q: Int8Array; scale: Float32Array }[] };
      if (v.stages?.length !== stages) return `${v.stages?.length} stages, expected ${stages}`;
      for (let k = 0; k < stages; k++) {
        const d =
          diffExact(v.stages[k]!.q, st[k]!.q, `stages[${k}].q`) ??
          diffExact(v.stages[k]!.scale, st[k]!.scale, `stages[${k}].scale`);
        if (d) return d;
      }
      if (dequant) {
        const back = fn.residualDequantize!(o) as Float32Array;
        const tol = recon.map((x) => Math.abs(x) * 2 ** -23);
        return diffClose(back, recon, tol, 'residualDequantize');
      }
      return null;
    };
    const a = tensorArg(r, t, 'x', value(check), 0.2);
    return tcall(
      'residualQuantize',
      [a.value, stages, axis === undefined ? undefined : { axis }],
      a.expect,
      a.tag,
      a.snapshots,
    );
  },
  quantError: (r) => {
    const n = r.int(0, 200);
    const x = r.floats(n, 5);
    const y = Float32Array.from(x, (v) => v + (r.next() - 0.5) * 0.1);
    if (r.bool(0.25)) {
      const bad = r.pick<[unknown, unknown, string[]]>([
        [x, new Float32Array(n + 1), ['xHat', 'x']],
        [x, 'y', ['xHat']],
        [new DataView(new ArrayBuffer(4)), y, ['x']],
        [null, y, ['x']],
        [x, { length: n }, ['xHat']],
      ]);
      return tcall('quantError', [bad[0], bad[1]], err(bad[2]), 'bad-arrays');
    }
    let see = 0;
    let sxx = 0;
    let mae = 0;
    for (let i = 0; i < n; i++) {
      const e = x[i]! - y[i]!;
      see += e * e;
      sxx += x[i]! * x[i]!;
      mae = Math.max(mae, Math.abs(e));
    }
    const arr = r.bool(0.2);
    return tcall(
      'quantError',
      [arr ? Array.from(x) : x, arr ? Array.from(y) : y],
      value((o) => {
        const v = o as Record<string, number>;
        if (n === 0) return v.sqnrDb === Infinity && v.mse === 0 ? null : 'empty input: wrong report';
        const want = [mae, see / n, sxx > 0 && see > 0 ? 10 * Math.log10(sxx / see) : v.sqnrDb!];
        return diffClose(
          [v.maxAbs!, v.mse!, v.sqnrDb!],
          want,
          want.map((w) => Math.abs(w) * 1e-12 + 1e-300),
        );
      }),
      arr ? 'plain-arrays' : 'valid',
      [x, y],
    );
  },
  quantizeMultiplier: (r) => {
    const m = r.pick([0, 2 ** r.int(-40, 40) * (0.5 + r.next() / 2), r.next(), 1, 0.5, 2 ** -31, 2 ** -32, 1e-12]);
    const want = quantizeMultiplierRef(m);
    return tcall(
      'quantizeMultiplier',
      [m],
      value((o) => diffExact([(o as typeof want).multiplier, (o as typeof want).shift], [want.multiplier, want.shift])),
      'valid',
    );
  },
  minMaxObserver: (r) => {
    const t = randomTensor(r);
    const axis = r.bool(0.5) ? r.int(-t.shape.length, t.shape.length - 1) : undefined;
    const s = randomScheme(r);
    const L = layoutRef(t.shape, axis, undefined);
    const batches = r.int(1, 3);
    const datas = [t.data, ...Array.from({ length: batches - 1 }, () => r.floats(t.data.length, 3))];
    const min = new Array<number>(L.slots).fill(Infinity);
    const max = new Array<number>(L.slots).fill(-Infinity);
    for (const d of datas)
      for (let j = 0; j < d.length; j++)
        if (Number.isFinite(d[j]!)) {
          min[L.slotOf[j]!] = Math.min(min[L.slotOf[j]!]!, d[j]!);
          max[L.slotOf[j]!] = Math.max(max[L.slotOf[j]!]!, d[j]!);
        }
    const seen = min.some((v, k) => v <= max[k]!);
    const want = min.map((v, k) => (v <= max[k]! ? rangeParamsRef(v, max[k]!, s) : rangeParamsRef(0, 0, s)));
    const opts = axis === undefined ? {} : { axis };
    return {
      repr: `new MinMaxObserver(${show(opts)}).observe(...${batches} batches of ${show(t.shape)}).params(${show(s)})`,
      call: () => {
        const o = new toolkit.MinMaxObserver(opts);
        for (const d of datas) o.observe({ data: d, shape: t.shape });
        return o.params(s);
      },
      expect: seen
        ? value((o) => checkParams(o, { scale: want.map((w) => w.scale), zeroPoint: want.map((w) => w.zeroPoint) }))
        : err(['observer']),
      tag: seen ? 'valid' : 'nothing-finite',
      snapshots: datas,
    };
  },
  histogramObserver: (r) => {
    const t = randomTensor(r);
    const method = r.pick<unknown>(['mse', 'percentile', 'entropy', undefined]);
    const bad = r.bool(0.25);
    const opts: Record<string, unknown> = { method, bins: r.pick([16, 128, 2048]) };
    let args = ['options'];
    if (bad) {
      const k = r.int(0, 2);
      if (k === 0) [opts.method, args] = [r.pick(['MSE', 'kl', 5]), ['method', 'options']];
      else if (k === 1) [opts.bins, args] = [r.pick([0, -1, 1.5, 'x', 1e12]), ['bins', 'options']];
      else [opts.percentile, args] = [r.pick([0, 101, NaN, '99']), ['percentile', 'options']];
    }
    const finite = t.data.filter((v) => Number.isFinite(v));
    const lo = finite.length ? Math.min(0, ...finite) : 0;
    const hi = finite.length ? Math.max(0, ...finite) : 0;
    return {
      repr: `new HistogramObserver(${show(opts)}).observe(${show(t.shape)}).range()`,
      call: () => new toolkit.HistogramObserver(opts as never).observe(t).range(),
      expect: bad
        ? err(args)
        : finite.length === 0
          ? err(['observer'])
          : value((o) => {
              const v = o as { min: Float32Array; max: Float32Array };
              const a = v.min[0]!;
              const b = v.max[0]!;
              // a clipping range inside the data's (widened) range
              const slack = (hi - lo) * 1e-6 + 1e-30;
              return Number.isFinite(a) && Number.isFinite(b) && a <= b && a >= lo - slack && b <= hi + slack
                ? null
                : `range [${a}, ${b}] outside [${lo}, ${hi}]`;
            }),
      tag: bad ? 'bad-options' : 'valid',
      snapshots: [t.data],
    };
  },
  searchRange: (r) => {
    const c = (r.next() - 0.5) * 4;
    const min = -r.next() * 5;
    const max = r.next() * 5;
    const objective = named(
      (a: number, b: number) => (a - c) ** 2 + (b - c) ** 2 + (r.bool(0.01) ? NaN : 0),
      'objective',
    );
    const budget = r.int(1, 80);
    const opts: Record<string, unknown> = {
      method: r.pick(['grid', 'golden', 'random', 'pso']),
      budget,
      symmetric: r.bool(),
    };
    if (r.bool(0.25)) {
      const k = r.int(0, 3);
      const bads: [string, unknown, string[]][] = [
        ['budget', r.pick([0, -1, 1.5, 'x', NaN]), ['budget']],
        ['method', r.pick(['bfgs', 5, {}]), ['method']],
        ['minFraction', r.pick([0, 2, NaN, '0.5']), ['minFraction']],
        ['seed', r.pick([1.5, 'x', NaN]), ['seed']],
      ];
      const [key, v, args] = bads[k]!;
      return tcall(
        'searchRange',
        [objective, { min, max }, { ...opts, [key]: v }],
        err([...args, 'options']),
        `bad-${key}`,
      );
    }
    if (r.bool(0.1))
      return tcall('searchRange', [objective, { min: max + 1, max: min }, opts], err(['bounds']), 'bad-bounds');
    return tcall(
      'searchRange',
      [objective, { min, max }, opts],
      value((o) => {
        const v = o as { min: number; max: number; loss: number; fullRangeLoss: number; evaluations: number };
        if (!(v.evaluations >= 1 && v.evaluations <= budget)) return `${v.evaluations} evaluations, budget ${budget}`;
        if (!(v.min >= min - 1e-12 && v.max <= max + 1e-12 && v.min <= v.max))
          return `range [${v.min}, ${v.max}] outside [${min}, ${max}]`;
        if (!(v.loss <= v.fullRangeLoss || Number.isNaN(v.fullRangeLoss)))
          return `loss ${v.loss} above the full range's ${v.fullRangeLoss}`;
        return null;
      }),
      'valid',
    );
  },
  sensitivity: (r) => {
    const layers = Array.from({ length: r.int(0, 3) }, (_, i) => {
      const N = r.dim(9, false);
      const K = r.dim(40, false);
      const l: Record<string, unknown> = { name: `l${i}`, weights: { data: r.floats(N * K), shape: [N, K] } };
      if (r.bool()) l.activations = { data: r.floats(3 * K), shape: [3, K] };
      return l;
    });
    const bad = r.bool(0.2) && layers.length > 0;
    if (bad) {
      const k = r.int(0, 2);
      const l = layers[0]!;
      if (k === 0) (l.weights as { data: Float32Array }).data[0] = NaN;
      else if (k === 1) l.weights = { data: new Float32Array(6), shape: [6] };
      else
        l.activations = {
          data: new Float32Array(3),
          shape: [1, 3 + ((l.weights as { shape: number[] }).shape[1]! === 3 ? 1 : 0)],
        };
    }
    const minSqnrDb = r.pick([10, 30, 60, 200]);
    return {
      repr: `planBits(sensitivityReport(${layers.length} layers), { minSqnrDb: ${minSqnrDb} })`,
      call: () => toolkit.planBits(toolkit.sensitivityReport(layers as never), { minSqnrDb }),
      expect: bad
        ? err(['layers[0].weights', 'layers[0].activations', 'layers'])
        : value((o) => {
            const p = o as toolkit.BitPlan;
            if (p.layers.length !== layers.length) return 'one plan entry per layer expected';
            if (p.layers.some((l) => l.bits !== 4 && l.bits !== 8)) return 'bits other than 4 or 8';
            const w8 = layers.reduce((s, l) => s + sizeOf((l.weights as { shape: number[] }).shape), 0);
            if (p.weightBytes8 !== w8) return `weightBytes8 ${p.weightBytes8}, expected ${w8}`;
            return p.weightBytes <= p.weightBytes8 ? null : 'weightBytes above the 8-bit plan';
          }),
      tag: bad ? 'bad-layer' : 'valid',
    };
  },
};

export const TOOLKIT_GENS = Object.keys(GENS);

/** A toolkit case: the function's generator wrapped for the harness (the engine is unused). */
export function toolkitCase(name: string, r: Rng): Case {
  const g = GENS[name]!(r);
  return {
    tag: g.tag,
    repr: g.repr,
    call: () => g.call(),
    expect: g.expect,
    allowed: T_ALLOWED,
    snapshots: g.snapshots ?? [],
  };
}
