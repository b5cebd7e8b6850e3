// Binary ops against float references on +-1 tensors, on every build: bitpack / bitunpack,
// binaryMatMul for every K that crosses a word, chunk or tile edge, binaryConv2d with
// every padding mode, strides, dilations and batch 2; bad input names its argument and
// leaves the engine working.
import { afterAll, describe, expect, it } from 'vitest';
import { QwasmError, type BitTensor } from '../src/index.js';
import { engines, firstDiff, randInt, randomFloat32, randomInt8, rng } from './helpers.js';
import { binaryMatMulRef, conv2dRef, packRef, signs, unpackRef, type ConvRefAttrs } from './reference/binary.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

/** Every K the issue names: word (32), chunk (128) and kernel tap (31 chunks) edges. */
const KS = [1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 2100, 3968, 3969, 4100];

/** Sets every padding bit of a packed tensor: results must not change. */
function dirtyPadding(t: BitTensor): BitTensor {
  const C = t.shape[t.shape.length - 1]!;
  const words = Math.ceil(C / 32);
  const bits = t.bits.slice();
  if (C % 32 !== 0) for (let w = words - 1; w < bits.length; w += words) bits[w]! |= ~(2 ** (C % 32) - 1);
  return { bits, shape: t.shape };
}

function expectError(fn: () => unknown, argument: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(QwasmError);
  expect((err as QwasmError).argument).toBe(argument);
}

describe('bitpack', () => {
  it('packs float32 signs along the last axis, padding bits 0, for row lengths around a word', () => {
    const r = rng(1);
    for (const C of [1, 5, 31, 32, 33, 64, 100, 129]) {
      const rows = randInt(r, 1, 4);
      const x = randomFloat32(r, rows * C);
      const want = packRef(x, C);
      for (const [b, qw] of qws) {
        const p = qw.bitpack({ data: x, shape: [rows, C] });
        expect(p.shape, b).toEqual([rows, C]);
        expect(firstDiff(p.bits, want), `${b} C=${C}`).toBe(-1);
      }
    }
  });

  it('packs int8 signs, whatever the rank', () => {
    const r = rng(2);
    for (const shape of [[7], [3, 33], [2, 3, 40], [2, 1, 2, 65]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randomInt8(r, n);
      const want = packRef(x, shape[shape.length - 1]!);
      for (const [b, qw] of qws) {
        const p = qw.bitpack({ data: x, shape });
        expect(p.shape).toEqual(shape);
        expect(firstDiff(p.bits, want), `${b} [${shape}]`).toBe(-1);
      }
    }
  });

  it('takes the bit as exactly x < 0: -0 and NaN pack as +1, -Inf as -1', () => {
    const x = new Float32Array(40).fill(1);
    x[0] = -0;
    x[1] = NaN;
    x[2] = -NaN;
    x[3] = Infinity;
    x[4] = -Infinity;
    x[5] = -1e-45;
    x[33] = -3;
    for (const [b, qw] of qws) {
      const p = qw.bitpack({ data: x, shape: [40] });
      expect(Array.from(p.bits), b).toEqual([(1 << 4) | (1 << 5), 1 << 1]);
    }
  });

  it('packs an empty tensor into no words', () => {
    for (const [, qw] of qws) {
      const p = qw.bitpack({ data: new Float32Array(0), shape: [0, 5] });
      expect(p.bits.length).toBe(0);
      expect(p.shape).toEqual([0, 5]);
    }
  });

  it('bitunpack gives the +-1 signs back', () => {
    const r = rng(3);
    const x = randomFloat32(r, 3 * 45);
    for (const [b, qw] of qws) {
      const u = qw.bitunpack(qw.bitpack({ data: x, shape: [3, 45] }));
      expect(u.shape).toEqual([3, 45]);
      expect(firstDiff(u.data, signs(x)), b).toBe(-1);
    }
    expect(firstDiff(unpackRef(packRef(x, 45), 3, 45), signs(x))).toBe(-1);
  });

  it('refuses other dtypes and scalars', () => {
    for (const [, qw] of qws) {
      expectError(() => qw.bitpack({ data: new Int32Array(4), shape: [4] }), 'x');
      expectError(() => qw.bitpack({ data: new Float32Array(1), shape: [] }), 'x');
      expectError(() => qw.bitunpack({ data: new Float32Array(4), shape: [4] } as unknown as BitTensor), 'p');
    }
  });
});

describe('binaryMatMul', () => {
  it('equals the +-1 float product for every K across word, chunk and tap edges', () => {
    const r = rng(10);
    for (const K of KS) {
      const M = randInt(r, 1, 9);
      const N = randInt(r, 1, 7);
      const a = randomFloat32(r, M * K);
      const b = randomFloat32(r, N * K);
      const want = binaryMatMulRef(signs(a), signs(b), M, N, K);
      for (const [name, qw] of qws) {
        const y = qw.binaryMatMul(qw.bitpack({ data: a, shape: [M, K] }), qw.bitpack({ data: b, shape: [N, K] }));
        expect(y.shape).toEqual([M, N]);
        expect(firstDiff(y.data, want), `${name} M=${M} N=${N} K=${K}`).toBe(-1);
      }
    }
  });

  it('is exact on random shapes, including tile remainders in M and N', () => {
    const r = rng(11);
    for (let i = 0; i < 25; i++) {
      const M = randInt(r, 1, 14);
      const N = randInt(r, 1, 11);
      const K = randInt(r, 1, 700);
      const a = randomFloat32(r, M * K);
      const b = randomFloat32(r, N * K);
      const want = binaryMatMulRef(signs(a), signs(b), M, N, K);
      for (const [name, qw] of qws) {
        const y = qw.binaryMatMul(qw.bitpack({ data: a, shape: [M, K] }), qw.bitpack({ data: b, shape: [N, K] }));
        expect(firstDiff(y.data, want), `${name} M=${M} N=${N} K=${K}`).toBe(-1);
      }
    }
  });

  it('ignores whatever the padding bits of the last word hold', () => {
    const r = rng(12);
    for (const K of [1, 33, 100, 129, 1000]) {
      const a = randomFloat32(r, 3 * K);
      const b = randomFloat32(r, 5 * K);
      const want = binaryMatMulRef(signs(a), signs(b), 3, 5, K);
      for (const [name, qw] of qws) {
        const ap = dirtyPadding(qw.bitpack({ data: a, shape: [3, K] }));
        const bp = dirtyPadding(qw.bitpack({ data: b, shape: [5, K] }));
        expect(firstDiff(qw.binaryMatMul(ap, bp).data, want), `${name} K=${K}`).toBe(-1);
      }
    }
  });

  it('takes leading dimensions on a', () => {
    const r = rng(13);
    const a = randomFloat32(r, 2 * 3 * 70);
    const b = randomFloat32(r, 4 * 70);
    const want = binaryMatMulRef(signs(a), signs(b), 6, 4, 70);
    for (const [, qw] of qws) {
      const y = qw.binaryMatMul(qw.bitpack({ data: a, shape: [2, 3, 70] }), qw.bitpack({ data: b, shape: [4, 70] }));
      expect(y.shape).toEqual([2, 3, 4]);
      expect(firstDiff(y.data, want)).toBe(-1);
    }
  });

  it('gives bit-identical results on every build at a size that fills many tiles', () => {
    const r = rng(14);
    const [M, N, K] = [37, 29, 1500];
    const a = randomFloat32(r, M * K);
    const b = randomFloat32(r, N * K);
    const results = [...qws.values()].map(
      (qw) => qw.binaryMatMul(qw.bitpack({ data: a, shape: [M, K] }), qw.bitpack({ data: b, shape: [N, K] })).data,
    );
    for (const y of results) expect(firstDiff(y, results[0]!)).toBe(-1);
    expect(firstDiff(results[0]!, binaryMatMulRef(signs(a), signs(b), M, N, K))).toBe(-1);
  });

  it('refuses a K mismatch, wrong dtypes and unpacked tensors, naming the argument, and keeps working', () => {
    const r = rng(15);
    for (const [, qw] of qws) {
      const a = qw.bitpack({ data: randomFloat32(r, 2 * 40), shape: [2, 40] });
      const b = qw.bitpack({ data: randomFloat32(r, 3 * 40), shape: [3, 40] });
      const b41 = qw.bitpack({ data: randomFloat32(r, 3 * 41), shape: [3, 41] });
      expectError(() => qw.binaryMatMul(a, b41), 'b');
      expectError(
        () => qw.binaryMatMul({ data: new Float32Array(80), shape: [2, 40] } as unknown as BitTensor, b),
        'a',
      );
      expectError(
        () => qw.binaryMatMul(a, { data: new Float32Array(120), shape: [3, 40] } as unknown as BitTensor),
        'b',
      );
      expectError(() => qw.binaryMatMul({ bits: new Int32Array(4), shape: [2, 40] } as unknown as BitTensor, b), 'a');
      expectError(() => qw.binaryMatMul({ bits: new Uint32Array(3), shape: [2, 40] }, b), 'a');
      expectError(() => qw.binaryMatMul(a, { bits: b.bits, shape: [1, 3, 40] }), 'b');
      expectError(() => qw.binaryMatMul(a, null as unknown as BitTensor), 'b');
      const y = qw.binaryMatMul(a, b);
      expect(firstDiff(y.data, binaryMatMulRef(qw.bitunpack(a).data, qw.bitunpack(b).data, 2, 3, 40))).toBe(-1);
    }
  });
});

interface ConvCase {
  N: number;
  H: number;
  W: number;
  C: number;
  O: number;
  kH: number;
  kW: number;
  attrs: ConvRefAttrs;
}

function checkConv(c: ConvCase, r: () => number, label: string): void {
  const x = randomFloat32(r, c.N * c.H * c.W * c.C);
  const w = randomFloat32(r, c.O * c.kH * c.kW * c.C);
  const want = conv2dRef(signs(x), [c.N, c.H, c.W, c.C], signs(w), [c.O, c.kH, c.kW, c.C], c.attrs);
  for (const [name, qw] of qws) {
    const y = qw.binaryConv2d(
      qw.bitpack({ data: x, shape: [c.N, c.H, c.W, c.C] }),
      qw.bitpack({ data: w, shape: [c.O, c.kH, c.kW, c.C] }),
      c.attrs,
    );
    expect(y.shape, `${name} ${label}`).toEqual(want.shape);
    expect(firstDiff(y.data, want.data), `${name} ${label}`).toBe(-1);
  }
}

describe('binaryConv2d', () => {
  const corners: Array<[string, ConvCase]> = [
    [
      '3x3 pad 1, zero padding, batch 2',
      { N: 2, H: 7, W: 6, C: 33, O: 5, kH: 3, kW: 3, attrs: { pads: [1, 1, 1, 1] } },
    ],
    [
      '3x3 pad 1, +1 padding, batch 2',
      { N: 2, H: 7, W: 6, C: 33, O: 5, kH: 3, kW: 3, attrs: { pads: [1, 1, 1, 1], padValue: 1 } },
    ],
    ['asymmetric pads', { N: 1, H: 6, W: 9, C: 40, O: 3, kH: 3, kW: 2, attrs: { pads: [2, 0, 1, 3] } }],
    [
      'asymmetric pads, +1 padding',
      { N: 1, H: 6, W: 9, C: 40, O: 3, kH: 3, kW: 2, attrs: { pads: [2, 0, 1, 3], padValue: 1 } },
    ],
    ['stride 2', { N: 2, H: 9, W: 8, C: 64, O: 7, kH: 3, kW: 3, attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } }],
    [
      'strides 3x1, dilations 2x3',
      {
        N: 1,
        H: 11,
        W: 10,
        C: 17,
        O: 4,
        kH: 3,
        kW: 3,
        attrs: { pads: [2, 3, 1, 2], strides: [3, 1], dilations: [2, 3] },
      },
    ],
    [
      'dilation 2 with +1 padding',
      { N: 2, H: 8, W: 8, C: 129, O: 6, kH: 3, kW: 3, attrs: { pads: [2, 2, 2, 2], dilations: [2, 2], padValue: 1 } },
    ],
    [
      '1x1 image, 3x3 kernel over its padding',
      { N: 2, H: 1, W: 1, C: 31, O: 3, kH: 3, kW: 3, attrs: { pads: [1, 1, 1, 1] } },
    ],
    [
      'padding wider than the kernel reach',
      { N: 1, H: 2, W: 3, C: 8, O: 2, kH: 2, kW: 2, attrs: { pads: [3, 3, 3, 3] } },
    ],
    ['5x5 kernel, C = 1', { N: 1, H: 9, W: 7, C: 1, O: 3, kH: 5, kW: 5, attrs: { pads: [2, 2, 2, 2] } }],
    ['1x1 kernel, no padding', { N: 2, H: 5, W: 4, C: 256, O: 9, kH: 1, kW: 1, attrs: {} }],
    [
      'C = 4100: more chunks than one tap holds',
      { N: 1, H: 3, W: 3, C: 4100, O: 3, kH: 2, kW: 2, attrs: { pads: [1, 0, 0, 1] } },
    ],
    [
      'C = 256, O = 33: several row blocks and an odd panel',
      { N: 1, H: 12, W: 11, C: 256, O: 33, kH: 3, kW: 3, attrs: { pads: [1, 1, 1, 1] } },
    ],
  ];
  for (const [label, c] of corners) it(label, () => checkConv(c, rng(label.length * 7 + c.C), label));

  it('is exact on random shapes, strides, dilations and both padding modes', () => {
    const r = rng(20);
    for (let i = 0; i < 30; i++) {
      const kH = randInt(r, 1, 4);
      const kW = randInt(r, 1, 4);
      const dilations: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
      const strides: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
      const pads: [number, number, number, number] = [
        randInt(r, 0, 3),
        randInt(r, 0, 3),
        randInt(r, 0, 3),
        randInt(r, 0, 3),
      ];
      const eH = (kH - 1) * dilations[0] + 1;
      const eW = (kW - 1) * dilations[1] + 1;
      const c: ConvCase = {
        N: randInt(r, 1, 2),
        H: randInt(r, Math.max(1, eH - pads[0] - pads[2]), eH + 6),
        W: randInt(r, Math.max(1, eW - pads[1] - pads[3]), eW + 6),
        C: [1, 31, 32, 33, 100, 128, 129, 300][randInt(r, 0, 7)]!,
        O: randInt(r, 1, 9),
        kH,
        kW,
        attrs: { strides, pads, dilations, padValue: r() < 0.5 ? 0 : 1 },
      };
      checkConv(c, r, JSON.stringify(c));
    }
  });

  it('ignores whatever the padding bits hold', () => {
    const r = rng(21);
    const x = randomFloat32(r, 2 * 5 * 5 * 45);
    const w = randomFloat32(r, 4 * 3 * 3 * 45);
    const attrs: ConvRefAttrs = { pads: [1, 1, 1, 1] };
    const want = conv2dRef(signs(x), [2, 5, 5, 45], signs(w), [4, 3, 3, 45], attrs);
    for (const [name, qw] of qws) {
      const xb = dirtyPadding(qw.bitpack({ data: x, shape: [2, 5, 5, 45] }));
      const wb = dirtyPadding(qw.bitpack({ data: w, shape: [4, 3, 3, 45] }));
      expect(firstDiff(qw.binaryConv2d(xb, wb, attrs).data, want.data), name).toBe(-1);
    }
  });

  it('refuses bad input, naming the argument, and keeps working', () => {
    const r = rng(22);
    for (const [, qw] of qws) {
      const x = qw.bitpack({ data: randomFloat32(r, 1 * 4 * 4 * 8), shape: [1, 4, 4, 8] });
      const w = qw.bitpack({ data: randomFloat32(r, 2 * 3 * 3 * 8), shape: [2, 3, 3, 8] });
      const w9 = qw.bitpack({ data: randomFloat32(r, 2 * 3 * 3 * 9), shape: [2, 3, 3, 9] });
      expectError(() => qw.binaryConv2d(x, w9), 'x');
      expectError(
        () => qw.binaryConv2d({ data: new Float32Array(128), shape: [1, 4, 4, 8] } as unknown as BitTensor, w),
        'x',
      );
      expectError(
        () => qw.binaryConv2d(x, { data: new Float32Array(144), shape: [2, 3, 3, 8] } as unknown as BitTensor),
        'w',
      );
      expectError(() => qw.binaryConv2d({ bits: x.bits, shape: [4, 4, 8] }, w), 'x');
      expectError(() => qw.binaryConv2d(x, { bits: w.bits, shape: [2, 9, 8] }), 'w');
      expectError(() => qw.binaryConv2d(x, w, { padValue: 2 as 0 }), 'attrs.padValue');
      expectError(() => qw.binaryConv2d(x, w, { strides: [0, 1] }), 'attrs.strides');
      expectError(() => qw.binaryConv2d(x, w, { pads: [1, 1] }), 'attrs.pads');
      expectError(() => qw.binaryConv2d(x, w, { dilations: [3, 3] }), 'x');
      const y = qw.binaryConv2d(x, w, { pads: [1, 1, 1, 1] });
      const want = conv2dRef(qw.bitunpack(x).data, [1, 4, 4, 8], qw.bitunpack(w).data, [2, 3, 3, 8], {
        pads: [1, 1, 1, 1],
      });
      expect(firstDiff(y.data, want.data)).toBe(-1);
    }
  });
});
