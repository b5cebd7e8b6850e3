// The fixed-point epilogue on every build against gemmlowp's arithmetic in BigInt, over
// the multipliers and accumulators that stress it: left shifts up to 30 (real
// multipliers up to 2^30), right shifts up to 31, exact ties, accumulators whose left
// shift leaves int32 (they must saturate to the right end, where TFLite's reference would
// wrap), per-channel multipliers mixed within one SIMD register, and the fp32 rule beside it.
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeMultiplier, fixedRealMultiplier } from '../src/index.js';
import { engines, randInt, rng } from './helpers.js';
import { rdbpot, srdhm } from './reference/requant.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** TFLite's MultiplyByQuantizedMultiplier with a saturating left shift, then zp and clamp. */
function fixedRef(acc: number, multiplier: number, shift: number, zp: number, qmin: number, qmax: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const shifted = acc * 2 ** left;
  // left > 0 means a real multiplier >= 1: out of int32 is out of the output range too
  if (shifted > INT32_MAX) return qmax;
  if (shifted < INT32_MIN) return qmin;
  return Math.min(qmax, Math.max(qmin, rdbpot(srdhm(shifted, multiplier), right) + zp));
}

// real multipliers: flushed, tiny, ties-prone halves, just below powers of two, > 1, huge
const MULTIPLIERS = [
  2 ** -33,
  2 ** -31,
  2 ** -30,
  3 * 2 ** -29,
  2 ** -20,
  0.001,
  0.0039,
  0.25,
  0.5,
  0.75,
  0.999999,
  1,
  1.5,
  3,
  1000,
  2 ** 10 - 1,
  2 ** 20,
  2 ** 29,
  2 ** 30 - 100,
  0.1,
  0.37,
  2 ** -7,
  0.0625,
  7.5,
];

describe.each([...qws.keys()])('fixed-point epilogue on %s', (backend) => {
  const qw = qws.get(backend)!;

  it.each(['int8', 'uint8'] as const)(
    '%s: equals gemmlowp (BigInt) for every multiplier, tie and saturating accumulator',
    (dtype) => {
      const r = rng(dtype === 'int8' ? 71 : 72);
      const N = MULTIPLIERS.length;
      const sx = 0.5;
      const sy = 0.25;
      // weight scale per channel so that (sx * ws) / sy is the wanted multiplier
      const ws = Float32Array.from(MULTIPLIERS, (m) => (m * sy) / sx);
      const fixed = Array.from(ws, (s) => quantizeMultiplier(fixedRealMultiplier(sx, s, sy)));
      const zy = dtype === 'int8' ? -3 : 130;
      const [qmin, qmax] = dtype === 'int8' ? [-128, 127] : [0, 255];
      // K = 1 and every weight 1: acc = (x - zx) + bias[n], so the bias sets the range
      const M = 40;
      const x = dtype === 'int8' ? new Int8Array(M) : new Uint8Array(M);
      const zx = dtype === 'int8' ? 0 : 128;
      for (let m = 0; m < M; m++) x[m] = zx + randInt(r, -100, 100);
      for (let round = 0; round < 6; round++) {
        const bias = new Int32Array(N);
        for (let n = 0; n < N; n++) {
          const { multiplier, shift } = fixed[n]!;
          const right = shift > 0 ? 0 : -shift;
          if (round === 0) bias[n] = 0;
          else if (round === 1 && multiplier !== 0 && right > 0 && right < 31) {
            // an accumulator that lands on an exact .5 after both roundings
            bias[n] = randInt(r, -3, 3) * 2 ** (right - 1) + 2 ** (right - 2);
          } else if (round === 2) bias[n] = randInt(r, -(2 ** 30), 2 ** 30);
          // as far out as a bias may go (the layer refuses one the accumulator could push past int32)
          else if (round === 3) bias[n] = r() < 0.5 ? INT32_MAX - 16384 - 200 : INT32_MIN + 16384 + 200;
          else bias[n] = randInt(r, -(2 ** (10 + round)), 2 ** (10 + round));
        }
        const layer = qw.linear({
          weights: { data: new Int8Array(N).fill(1), shape: [N, 1] },
          weightScale: ws,
          bias,
          input: { scale: sx, zeroPoint: zx, dtype },
          output: { scale: sy, zeroPoint: zy },
          requant: 'fixedpoint',
        });
        const y = layer.run(x);
        layer.dispose();
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            const acc = x[m]! - zx + bias[n]!;
            const { multiplier, shift } = fixed[n]!;
            const want = fixedRef(acc, multiplier, shift, zy, qmin, qmax);
            if (y[m * N + n] !== want) {
              expect(y[m * N + n], `row ${m} channel ${n}: acc ${acc}, multiplier ${multiplier}, shift ${shift}`).toBe(
                want,
              );
            }
          }
        }
      }
    },
  );
});
