// The optional `out` of the network op forms: a caller's typed array of the output's dtype
// and length is written in place (and is the result's data), equal to a new output; `out`
// may be an input's own array (the inputs are read first); a wrong type or length is a
// QwasmError naming `out`.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, type Qwasm, type Tensor } from '../src/index.js';
import { engines, firstDiff, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

type Out = Int8Array | Uint8Array | Float32Array;
type Data = Int8Array | Uint8Array | Float32Array;

/** An op called on its inputs, with or without `out`. */
interface OpCase {
  name: string;
  inputs: (r: () => number) => Tensor<Data>[];
  call: (qw: Qwasm, xs: Tensor<Data>[], out?: Out) => Tensor<Data>;
}

const map = [1, 6, 5, 7];
const codesOf = (r: () => number, n: number, u8 = false) => (u8 ? randomUint8(r, n) : randomInt8(r, n));
const t = (data: Data, shape: number[]) => ({ data, shape });
const hardSwish = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
const nhwcPool = { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], layout: 'NHWC' as const };

const CASES: OpCase[] = [
  {
    name: 'qlinearAdd',
    inputs: (r) => [t(codesOf(r, 210), map), t(codesOf(r, 7), [1, 1, 1, 7])],
    call: (qw, [a, b], out) => qw.qlinearAdd(a!, 0.05, 1, b!, 0.04, -3, 0.08, 2, undefined, out),
  },
  {
    name: 'qlinearMul (uint8)',
    inputs: (r) => [t(codesOf(r, 210, true), map), t(codesOf(r, 210, true), map)],
    call: (qw, [a, b], out) => qw.qlinearMul(a!, 0.05, 128, b!, 0.04, 120, 0.08, 130, { activation: 'relu' }, out),
  },
  {
    name: 'addF32',
    inputs: (r) => [t(randomFloat32(r, 210), map), t(randomFloat32(r, 210), map)],
    call: (qw, [a, b], out) => qw.addF32(a!, b!, undefined, out),
  },
  {
    name: 'mulF32',
    inputs: (r) => [t(randomFloat32(r, 210), map), t(randomFloat32(r, 7), [7])],
    call: (qw, [a, b], out) => qw.mulF32(a!, b!, undefined, out),
  },
  {
    name: 'qlinearLookup',
    inputs: (r) => [t(codesOf(r, 210), map)],
    call: (qw, [x], out) => qw.qlinearLookup(x!, hardSwish, 0.05, 0, 0.04, -20, out),
  },
  {
    name: 'qlinearLookup (large: the pair table)',
    inputs: (r) => [t(codesOf(r, 40000), [1, 50, 50, 16])],
    call: (qw, [x], out) => qw.qlinearLookup(x!, Math.tanh, 0.05, 0, 1 / 128, 0, out),
  },
  {
    name: 'qlinearSigmoid',
    inputs: (r) => [t(codesOf(r, 210, true), map)],
    call: (qw, [x], out) => qw.qlinearSigmoid(x!, 0.1, 128, 1 / 256, 0, out),
  },
  {
    name: 'qlinearLeakyRelu',
    inputs: (r) => [t(codesOf(r, 210), map)],
    call: (qw, [x], out) => qw.qlinearLeakyRelu(x!, 0.05, 0, 0.05, 0, { alpha: 0.1 }, out),
  },
  {
    name: 'unaryF32',
    inputs: (r) => [t(randomFloat32(r, 210), map)],
    call: (qw, [x], out) => qw.unaryF32(x!, 'sigmoid', undefined, out),
  },
  {
    name: 'qlinearSoftmax',
    inputs: (r) => [t(codesOf(r, 210), map)],
    call: (qw, [x], out) => qw.qlinearSoftmax(x!, 0.1, 0, 1 / 256, -128, { axis: -1 }, out),
  },
  {
    name: 'softmaxF32',
    inputs: (r) => [t(randomFloat32(r, 210), map)],
    call: (qw, [x], out) => qw.softmaxF32(x!, { axis: 1 }, out),
  },
  {
    name: 'qlinearConcat',
    inputs: (r) => [t(codesOf(r, 210), map), t(codesOf(r, 90), [1, 6, 5, 3])],
    call: (qw, [a, b], out) =>
      qw.qlinearConcat(
        [
          [a!, 0.05, 0],
          [b!, 0.1, 3],
        ],
        0.05,
        0,
        { axis: 3 },
        out,
      ),
  },
  {
    name: 'qlinearConcat (one input: out may be its array)',
    inputs: (r) => [t(codesOf(r, 210), map)],
    call: (qw, [a], out) => qw.qlinearConcat([[a!, 0.05, 4]], 0.04, 0, { axis: 0 }, out),
  },
  {
    name: 'concatF32',
    inputs: (r) => [t(randomFloat32(r, 210), map), t(randomFloat32(r, 30), [1, 6, 5, 1])],
    call: (qw, xs, out) => qw.concatF32(xs, { axis: -1 }, out),
  },
  {
    name: 'maxPool (NCHW)',
    inputs: (r) => [t(codesOf(r, 210), map)],
    call: (qw, [x], out) => qw.maxPool(x!, { kernelShape: [2, 2] }, out),
  },
  {
    name: 'maxPoolF32 (NHWC)',
    inputs: (r) => [t(randomFloat32(r, 210), map)],
    call: (qw, [x], out) => qw.maxPoolF32(x!, nhwcPool, out),
  },
  {
    name: 'qlinearAveragePool',
    inputs: (r) => [t(codesOf(r, 210), map)],
    call: (qw, [x], out) => qw.qlinearAveragePool(x!, 0.05, 0, 0.04, 1, nhwcPool, out),
  },
  {
    name: 'averagePoolF32',
    inputs: (r) => [t(randomFloat32(r, 210), map)],
    call: (qw, [x], out) => qw.averagePoolF32(x!, { kernelShape: [3, 3], pads: [1, 1, 1, 1] }, out),
  },
  {
    name: 'qlinearGlobalAveragePool',
    inputs: (r) => [t(codesOf(r, 210, true), map)],
    call: (qw, [x], out) => qw.qlinearGlobalAveragePool(x!, 0.05, 128, 0.02, 128, { layout: 'NHWC' }, out),
  },
  {
    name: 'globalAveragePoolF32',
    inputs: (r) => [t(randomFloat32(r, 210), map)],
    call: (qw, [x], out) => qw.globalAveragePoolF32(x!, undefined, out),
  },
  {
    name: 'resize (int8, linear, NHWC)',
    inputs: (r) => [t(codesOf(r, 210), map)],
    call: (qw, [x], out) => qw.resize(x!, { scales: [1, 2, 2, 1], mode: 'linear', layout: 'NHWC' }, out),
  },
  {
    name: 'resize (float32, nearest, NCHW)',
    inputs: (r) => [t(randomFloat32(r, 210), map)],
    call: (qw, [x], out) => qw.resize(x!, { scales: [1, 1, 2, 3], mode: 'nearest' }, out),
  },
];

const like = (d: Data, n: number): Out => new (d.constructor as new (n: number) => Out)(n);

describe('op forms with out', () => {
  for (const c of CASES) {
    it(`${c.name}: writes into out, equal to a new output, on every build`, () => {
      const r = rng(1400);
      const xs = c.inputs(r);
      for (const [backend, qw] of qws) {
        const want = c.call(qw, xs);
        const out = like(want.data, want.data.length).fill(7);
        const got = c.call(qw, xs, out);
        expect(got.data).toBe(out);
        expect(got.shape).toEqual(want.shape);
        expect(firstDiff(out, want.data), `${backend} ${c.name}`).toBe(-1);
        // null means a new output, as omitting it does
        expect(firstDiff(c.call(qw, xs, null as never).data, want.data)).toBe(-1);
      }
    });

    it(`${c.name}: refuses an out of the wrong type or length, naming out`, () => {
      const r = rng(1401);
      const xs = c.inputs(r);
      const qw = [...qws.values()][0]!;
      const want = c.call(qw, xs);
      const n = want.data.length;
      const wrongType: Out = want.data instanceof Float32Array ? new Int8Array(n) : new Float32Array(n);
      const otherCodes: Out = want.data instanceof Int8Array ? new Uint8Array(n) : new Int8Array(n);
      for (const bad of [wrongType, otherCodes, like(want.data, n + 1), like(want.data, n - 1)]) {
        try {
          c.call(qw, xs, bad);
          throw new Error('expected a refusal');
        } catch (e) {
          expect(e).toBeInstanceOf(QwasmError);
          expect((e as QwasmError).argument).toBe('out');
        }
      }
      expect(() => c.call(qw, xs, [] as never)).toThrow(QwasmError);
      // the engine still works after the refusals
      expect(firstDiff(c.call(qw, xs).data, want.data)).toBe(-1);
    });
  }

  it('runs in place when out is an input of the same size (the inputs are read first)', () => {
    const r = rng(1402);
    let inPlace = 0;
    for (const c of CASES) {
      const xs = c.inputs(r);
      for (const qw of qws.values()) {
        const want = c.call(qw, xs);
        const i = xs.findIndex(
          (x) => x.data.length === want.data.length && x.data.constructor === want.data.constructor,
        );
        if (i < 0) continue;
        const copies = xs.map((x) => ({ data: x.data.slice(), shape: x.shape }));
        const got = c.call(qw, copies, copies[i]!.data);
        expect(got.data).toBe(copies[i]!.data);
        expect(firstDiff(got.data, want.data), `${c.name} in place on input ${i}`).toBe(-1);
        inPlace++;
      }
    }
    expect(inPlace).toBeGreaterThan(10 * qws.size);
  });
});
