// addLayer / mulLayer / lookupLayer: the layer forms equal the op forms bit for bit, reuse
// `out`, keep a constant operand, and refuse bad input by name.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError } from '../src/index.js';
import { engines, firstDiff, randomInt8, randomUint8, rng } from './helpers.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

describe('addLayer / mulLayer', () => {
  const shapes: Array<[number[], number[]]> = [
    [
      [1, 56, 56, 24],
      [1, 56, 56, 24],
    ],
    [
      [1, 28, 28, 40],
      [1, 1, 1, 40],
    ],
    [
      [2, 5, 3, 3],
      [2, 5, 1, 1],
    ],
    [
      [3, 1, 7],
      [1, 4, 1],
    ],
    [[5], []],
    [[0, 4], [4]],
  ];
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: equal the op forms, with [a, b] and with a constant b, into a reused out`, () => {
      const r = rng(900);
      const codes = (n: number) => (dtype === 'int8' ? randomInt8(r, n) : randomUint8(r, n));
      const z = dtype === 'int8' ? [-5, 3, -20] : [128, 120, 100];
      for (const [as, bs] of shapes) {
        const a = { data: codes(size(as)), shape: as };
        const b = { data: codes(size(bs)), shape: bs };
        for (const qw of qws.values()) {
          for (const op of ['add', 'mul'] as const) {
            const cfg = {
              a: { scale: 0.05, zeroPoint: z[0], dtype },
              b: { scale: 0.03, zeroPoint: z[1] },
              output: { scale: 0.07, zeroPoint: z[2] },
              activation: 'relu' as const,
            };
            const want = (op === 'add' ? qw.qlinearAdd : qw.qlinearMul).call(
              qw,
              a,
              0.05,
              z[0],
              b,
              0.03,
              z[1],
              0.07,
              z[2],
              {
                activation: 'relu',
              },
            );
            const make = op === 'add' ? qw.addLayer.bind(qw) : qw.mulLayer.bind(qw);
            const layer = make(cfg);
            const withConst = make({ ...cfg, constant: b });
            const out = {
              data: dtype === 'int8' ? new Int8Array(want.data.length) : new Uint8Array(want.data.length),
              shape: want.shape,
            };
            for (let rep = 0; rep < 2; rep++) {
              expect(layer.run([a, b], out)).toBe(out);
              expect(firstDiff(out.data, want.data), `${op} [${as}] [${bs}]`).toBe(-1);
              const y = withConst.run(a);
              expect(y.shape).toEqual(want.shape);
              expect(firstDiff(y.data, want.data), `${op} constant [${as}] [${bs}]`).toBe(-1);
            }
            layer.dispose();
            withConst.dispose();
          }
        }
      }
    });
  }
});

describe('lookupLayer', () => {
  it('equals qlinearLookup, and a ready table', () => {
    const r = rng(901);
    const x = { data: randomInt8(r, 112 * 112 * 16), shape: [1, 112, 112, 16] };
    const hs = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
    for (const qw of qws.values()) {
      const want = qw.qlinearLookup(x, hs, 0.05, 0, 0.04, -20);
      const layer = qw.lookupLayer({ fn: hs, input: { scale: 0.05 }, output: { scale: 0.04, zeroPoint: -20 } });
      const out = { data: new Int8Array(x.data.length), shape: x.shape };
      expect(firstDiff(layer.run(x, out).data, want.data)).toBe(-1);
      const fromTable = qw.lookupLayer({ fn: layer.table, input: { scale: 1 }, output: { scale: 1 } });
      expect(firstDiff(fromTable.run(x).data, want.data)).toBe(-1);
      layer.dispose();
      fromTable.dispose();
    }
  });
});

describe('elementwise layer errors', () => {
  const qw = [...qws.values()][0]!;
  const expectError = (fn: () => unknown, argument: string) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(QwasmError);
      expect((e as QwasmError).argument).toBe(argument);
      return;
    }
    throw new Error(`expected a QwasmError naming ${argument}`);
  };
  const q = { scale: 0.1 };
  const a = { data: new Int8Array(6), shape: [2, 3] };

  it('names the argument', () => {
    expectError(() => qw.addLayer({ a: { scale: -1 }, b: q, output: q }), 'a.scale');
    expectError(() => qw.addLayer({ a: q, b: { scale: 0.1, zeroPoint: 200 }, output: q }), 'b.zeroPoint');
    expectError(() => qw.addLayer({ a: q, b: q, output: q, activation: 'relu6' as 'relu' }), 'activation');
    expectError(
      () => qw.addLayer({ a: q, b: q, output: q, constant: { data: new Uint8Array(3), shape: [3] } }),
      'constant',
    );
    const layer = qw.addLayer({ a: q, b: q, output: q });
    expectError(() => layer.run([a, { data: new Int8Array(4), shape: [4] }]), 'b');
    expectError(() => layer.run(a), 'x');
    expectError(() => layer.run([a, a], { data: new Int8Array(5), shape: [5] }), 'out');
    expectError(() => qw.lookupLayer({ fn: new Uint8Array(3), input: q, output: q }), 'fn');
    layer.dispose();
    expectError(() => layer.run([a, a]), 'layer');
  });
});
