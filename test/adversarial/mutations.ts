// Mutations of one argument of a valid call, each with what the call must then do:
// refuse with a QwasmError naming that argument, or give the valid call's answer (or
// either, where both are sound: a lying length may be refused or read honestly).
import type { Expect } from './harness.js';
import {
  arrayLike,
  dataView,
  detached,
  fakeTyped,
  flipData,
  flipShape,
  getterShape,
  lyingLength,
  named,
  offsetView,
  proxied,
  proxyShape,
  proxyTensor,
  sharedCopy,
  show,
  type Rng,
} from './generators.js';

/** A mutated argument: its value, the expectation, the class tag, arrays to snapshot. */
export interface Mut {
  value: unknown;
  expect: Expect;
  tag: string;
  snapshots?: ArrayBufferView[];
}

type Typed = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array;
type Ctor = new (n: number) => Typed;

export const err = (args: readonly string[]): Expect => ({ kind: 'error', args });

export function either(valid: Expect, args: readonly string[]): Expect {
  if (valid.kind === 'error') return { kind: 'error', args: [...(valid.args ?? []), ...args] };
  return {
    kind: 'either',
    check: valid.check,
    args: [...(valid.kind === 'either' ? (valid.args ?? []) : []), ...args],
  };
}

const ALL_CTORS: (new (n: number) => ArrayBufferView & { length: number })[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
];

function copyInto(dst: { [i: number]: number }, src: ArrayLike<number>): void {
  for (let i = 0; i < src.length; i++) dst[i] = src[i]!;
}

/** The tensor mutations (class 1, 2 and 5 of the brief). */
export function mutateTensor(
  r: Rng,
  t: { data: Typed; shape: number[] },
  name: string,
  valid: Expect,
  accepts: readonly Ctor[],
  related: readonly string[] = [],
): Mut {
  const { data, shape } = t;
  const n = data.length;
  const C = data.constructor as Ctor;
  const blame = [name, ...related];
  const kinds = [
    'lying-length',
    'lying-length-long',
    'fake-typed',
    'array-like',
    'number-array',
    'proxy-data',
    'dataview',
    'detached',
    'offset-view',
    'shared',
    'wrong-dtype',
    'flip-shape',
    'flip-data',
    'getter-shape',
    'proxy-shape',
    'proxy-tensor',
    'bad-dim',
    'shape-mismatch',
    'not-a-tensor',
    'shape-not-array',
  ];
  const kind = r.pick(kinds);
  switch (kind) {
    case 'lying-length': {
      const real = r.bool(0.3) ? 1 << 16 : n * 2 + r.int(1, 300);
      const liar = lyingLength(C, real, n);
      copyInto(liar as unknown as { [i: number]: number }, data);
      return { value: { data: liar, shape }, expect: either(valid, [name]), tag: kind, snapshots: [liar] };
    }
    case 'lying-length-long': {
      const liar = lyingLength(C, n, n + r.int(1, 64));
      copyInto(liar as unknown as { [i: number]: number }, data);
      return { value: { data: liar, shape }, expect: either(valid, [name]), tag: kind, snapshots: [liar] };
    }
    case 'fake-typed':
      return { value: { data: fakeTyped(C, n, r.bool()), shape }, expect: err([name]), tag: kind };
    case 'array-like':
      return { value: { data: arrayLike(n), shape }, expect: err([name]), tag: kind };
    case 'number-array':
      return { value: { data: Array.from(data), shape }, expect: err([name]), tag: kind };
    case 'proxy-data':
      return { value: { data: proxied(data), shape }, expect: either(valid, [name]), tag: kind, snapshots: [data] };
    case 'dataview':
      return { value: { data: dataView(data.byteLength), shape }, expect: err([name]), tag: kind };
    case 'detached': {
      if (n === 0) return { value: { data: detached(C, 0), shape }, expect: valid, tag: 'detached-empty' };
      return { value: { data: detached(C, n), shape }, expect: err([name]), tag: kind };
    }
    case 'offset-view': {
      const v = offsetView(data as Int8Array);
      return { value: { data: v, shape }, expect: valid, tag: kind, snapshots: [v] };
    }
    case 'shared': {
      const v = sharedCopy(data as Int8Array);
      return { value: { data: v, shape }, expect: valid, tag: kind, snapshots: [v] };
    }
    case 'wrong-dtype': {
      const others = ALL_CTORS.filter((c) => !accepts.some((a) => a === c));
      const W = r.pick(others);
      const v = new W(n);
      return { value: { data: v, shape }, expect: err([name]), tag: kind };
    }
    case 'flip-shape': {
      if (shape.length === 0) return { value: t, expect: valid, tag: 'valid' };
      const later = [...shape];
      later[0] = later[0]! * 100 + 3;
      return { value: flipShape(data, shape, later), expect: either(valid, blame), tag: kind, snapshots: [data] };
    }
    case 'flip-data': {
      const big = new C(n * 50 + 7);
      big.fill(1);
      return { value: flipData(data, big, shape), expect: either(valid, blame), tag: kind, snapshots: [data, big] };
    }
    case 'getter-shape': {
      if (shape.length === 0) return { value: t, expect: valid, tag: 'valid' };
      const i = r.int(0, shape.length - 1);
      const s = getterShape(shape, i, shape[i]! * 100 + 3);
      return { value: { data, shape: s }, expect: either(valid, blame), tag: kind, snapshots: [data] };
    }
    case 'proxy-shape': {
      if (shape.length === 0) return { value: t, expect: valid, tag: 'valid' };
      const i = r.int(0, shape.length - 1);
      const s = proxyShape(shape, i, shape[i]! * 100 + 3);
      return { value: { data, shape: s }, expect: either(valid, blame), tag: kind, snapshots: [data] };
    }
    case 'proxy-tensor': {
      if (shape.length === 0) return { value: t, expect: valid, tag: 'valid' };
      const later = [...shape];
      later[0] = later[0]! * 100 + 3;
      return { value: proxyTensor(data, shape, later), expect: either(valid, blame), tag: kind, snapshots: [data] };
    }
    case 'bad-dim': {
      const bad = r.pick<unknown>([-1, 1.5, NaN, Infinity, '3', 3n, [3], null, undefined, Symbol('dim'), {}]);
      const s: unknown[] = [...shape];
      if (s.length === 0 || r.bool(0.3)) s.push(bad);
      else s[r.int(0, s.length - 1)] = bad;
      return {
        value: { data, shape: named(s, `[${s.map((d) => show(d)).join(', ')}]`) },
        expect: err([name]),
        tag: kind,
      };
    }
    case 'shape-mismatch': {
      const s = [...shape];
      if (s.length === 0 || r.bool(0.3)) s.push(2);
      else s[s.length - 1] = s[s.length - 1]! + r.int(1, 3);
      if (s.reduce((a, b) => a * b, 1) === n) s.splice(0, s.length, n + 1);
      return { value: { data, shape: s }, expect: err(blame), tag: kind };
    }
    case 'not-a-tensor': {
      const v = r.pick<unknown>([null, undefined, 5, 'tensor', [], {}, data, { data }, { shape }]);
      return { value: v, expect: err([name]), tag: kind };
    }
    default: {
      const v = r.pick<unknown>([shape.join(','), Int32Array.from(shape), { ...shape, length: shape.length }, 12]);
      return { value: { data, shape: v }, expect: err([name]), tag: 'shape-not-array' };
    }
  }
}

/** Values no scale argument may take (after float32 rounding none is positive and finite). */
export function badScale(r: Rng, perChannel: number): unknown {
  const vs: unknown[] = [0, -1, -0, NaN, Infinity, -Infinity, 1e-46, 1e39, '0.5', 5n, {}, [], [NaN], true];
  vs.push(Float32Array.of(0), new Float32Array(0), [0.1, -0.1]);
  if (perChannel > 1) vs.push(new Float32Array(perChannel + 1).fill(0.1), new Float32Array(perChannel).fill(NaN));
  else vs.push(new Float32Array(1031).fill(0.1));
  return r.pick(vs);
}

/** Values no zero point of a dtype may take. */
/**
 * Values no zero point of a dtype may take. `dtypeFixed` false: an Int8Array / Uint8Array
 * zero point chooses the output dtype there (quantizeLinear, yZeroPoint), so it is valid.
 */
export function badZeroPoint(r: Rng, signed: boolean, perChannel: number, dtypeFixed = true): unknown {
  const qmin = signed ? -128 : 0;
  const qmax = signed ? 127 : 255;
  const vs: unknown[] = [qmax + 1, qmin - 1, 2 ** 32 + 3, 2 ** 32, -(2 ** 53), 2 ** 53, 1.5, NaN, Infinity, -Infinity];
  vs.push('3', 3n, {}, true, new Int32Array(0), [qmax + 1]);
  if (dtypeFixed) vs.push(signed ? Uint8Array.of(0) : Int8Array.of(0));
  vs.push(Float32Array.of(0.5), [0.5]);
  if (perChannel > 1) vs.push(new Int32Array(perChannel + 1));
  else vs.push(new Int32Array(1031));
  return r.pick(vs);
}

/** Values no pair attribute (strides, dilations) may take. */
export function badPair(r: Rng): unknown {
  return r.pick<unknown>([
    [0, 1],
    [1, 0],
    [-1, 1],
    [1.5, 1],
    [NaN, 1],
    [Infinity, 1],
    ['1', 1],
    [1n, 1],
    [1],
    [1, 1, 1],
    [],
    '1,1',
    1,
    {},
    [[1], 1],
    Int32Array.of(1, 1),
  ]);
}

/** Values no pads attribute may take. */
export function badPads(r: Rng): unknown {
  return r.pick<unknown>([
    [-1, 0, 0, 0],
    [0, 0, 0],
    [0, 0, 0, 0, 0],
    [0.5, 0, 0, 0],
    [NaN, 0, 0, 0],
    ['1', 0, 0, 0],
    [1n, 0, 0, 0],
    [Infinity, 0, 0, 0],
    '0,0,0,0',
    0,
    {},
  ]);
}
