// The one roundHalfEven every quantizer uses (ops, layers, toolkit): ties to even, every
// other value to nearest, and never -0 (a fake-quantized zero is +0 as a dequantized one is).
import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '../src/quant/multiplier.js';

describe('roundHalfEven', () => {
  it('rounds ties to even and everything else to nearest', () => {
    const cases: [number, number][] = [
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [-0.5, 0],
      [-1.5, -2],
      [-2.5, -2],
      [2.4999999999999996, 2],
      [2.5000000000000004, 3],
      [-3.5, -4],
      [1e15 + 0.5, 1e15],
      [2 ** 52 + 1, 2 ** 52 + 1],
      [-127.5, -128],
      [127.5, 128],
    ];
    for (const [x, want] of cases) expect(roundHalfEven(x), String(x)).toBe(want);
  });
  it('never returns -0', () => {
    for (const x of [-0, -0.5, -0.25, -1e-300, -0.49999999999999994]) expect(Object.is(roundHalfEven(x), 0)).toBe(true);
  });
  it('agrees with a BigInt-free reference on random doubles', () => {
    let s = 12345;
    for (let i = 0; i < 20000; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      // every seventh value an exact tie k + 0.5, the rest spread over [-300, 300)
      const x = i % 7 === 0 ? (s % 600) - 300 + 0.5 : ((s / 2 ** 32) * 2 - 1) * 300;
      const f = Math.floor(x);
      const d = x - f;
      const want = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
      expect(roundHalfEven(x)).toBe(want + 0);
    }
  });
});
