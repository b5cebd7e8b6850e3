// The fixed-point epilogue on every build against gemmlowp's arithmetic in BigInt, over
// the multipliers and accumulators that stress it: left shifts up to 30 (real
// multipliers up to 2^30), right shifts up to 31, exact ties, accumulators whose left
// shift leaves int32 (they must saturate to the right end, where TFLite's reference would
// wrap), per-channel multipliers mixed within one SIMD register, and the fp32 rule beside it.
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeMultiplier, fixedRealMultiplier } from '../src/index.js';
import { FixedF64, fillFixedF64, type FixedColumns } from '../src/ops/fixed-f64.js';
import { engines, randInt, randomInt8, rng } from './helpers.js';
import { refConvInteger } from './reference/conv.js';
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

/** The float64 path's mode for every 8-column window of `c` (N columns). */
function modes(c: FixedColumns, N: number): number[] {
  const fmode = new Int32Array(N);
  fillFixedF64(c, N, fmode, new Float64Array(N), new Float64Array(N), new Float64Array(N));
  return Array.from(fmode);
}

/** Columns from real multipliers, as the layers derive them. */
function columns(reals: number[], rest: Omit<FixedColumns, 'multiplier' | 'left' | 'right'>): FixedColumns {
  const fixed = reals.map((m) => quantizeMultiplier(m));
  return {
    multiplier: fixed.map((f) => f.multiplier),
    left: fixed.map((f) => Math.max(f.shift, 0)),
    right: fixed.map((f) => Math.max(-f.shift, 0)),
    ...rest,
  };
}

describe('fillFixedF64: which columns take the float64 path', () => {
  const typical = Array.from({ length: 16 }, (_, i) => 0.0007 + 0.0003 * i);
  const relu = { zeroPoint: -128, qmin: -128, qmax: 127, signed: true };

  it('a ReLU layer runs the ReLU form, with a small bias folded into FADD', () => {
    const bias = Int32Array.from(typical, (_, i) => 1000 * i - 5000);
    expect(modes(columns(typical, { ...relu, bias }), 16)).toEqual(Array(16).fill(FixedF64.Relu));
    const six = { ...relu, qmax: -128 + 60 };
    expect(modes(columns(typical, six), 16)).toEqual(Array(16).fill(FixedF64.Relu | FixedF64.Clamp));
  });

  it('a bias too large to fold is added as int32', () => {
    const bias = new Int32Array(16).fill(2 ** 28);
    expect(modes(columns(typical, { ...relu, bias }), 16)).toEqual(Array(16).fill(FixedF64.Relu | FixedF64.Adjust));
  });

  it('without an activation: the signed form, + 1/2 where a multiplier with many trailing zero bits can tie', () => {
    const none = { zeroPoint: 3, qmin: -128, qmax: 127, signed: true };
    expect(modes(columns(typical, none), 16)).toEqual(Array(16).fill(FixedF64.Signed));
    const pow2 = typical.map((m, i) => (i === 11 ? 2 ** -9 : m));
    // the windows holding column 11 (4 .. 11) adjust, the others do not
    expect(modes(columns(pow2, none), 16)).toEqual(
      Array.from({ length: 16 }, (_, n) => FixedF64.Signed | (n >= 4 && n <= 11 ? FixedF64.Adjust : 0)),
    );
    const uint8 = { zeroPoint: 100, qmin: 0, qmax: 200, signed: false };
    expect(modes(columns(typical, uint8), 16)[0]).toBe(FixedF64.Signed | FixedF64.Clamp);
  });

  it('a left shift, no right shift or a product beyond 2^52 sends its windows to the int64 path', () => {
    for (const odd of [1.5, 0.75, 2 ** -14]) {
      const reals = typical.map((m, i) => (i === 13 ? odd : m));
      expect(modes(columns(reals, relu), 16), `multiplier ${odd}`).toEqual(
        Array.from({ length: 16 }, (_, n) => (n >= 6 && n <= 13 ? 0 : FixedF64.Relu)),
      );
    }
  });
});

describe.each([...qws.keys()])('float64 fixed-point path on %s', (backend) => {
  const qw = qws.get(backend)!;

  it.each(['int8', 'uint8'] as const)(
    '%s: equals gemmlowp (BigInt) with every activation, folded and int32 biases, ties and int64 windows',
    (dtype) => {
      const r = rng(dtype === 'int8' ? 81 : 82);
      const [dmin, dmax] = dtype === 'int8' ? [-128, 127] : [0, 255];
      const zx = dtype === 'int8' ? -5 : 120;
      const K = 16;
      const N = 21; // two full panels and a tail
      const M = 37;
      const sx = 0.5;
      const sy = 0.25;
      const families: Record<string, () => number> = {
        typical: () => Math.exp(-2 - 6 * r()),
        'powers of two': () => 2 ** -randInt(r, 2, 12),
        'mixed, some int64': () => [1.5, 0.6, 2 ** -15, 2 ** -20, Math.exp(-3 - 4 * r())][randInt(r, 0, 4)]!,
      };
      for (const [family, draw] of Object.entries(families)) {
        for (const activation of ['none', 'relu', 'relu6'] as const) {
          for (const biasKind of ['none', 'small', 'large'] as const) {
            const reals = Array.from({ length: N }, draw);
            const ws = Float32Array.from(reals, (m) => (m * sy) / sx);
            const fixed = Array.from(ws, (s) => quantizeMultiplier(fixedRealMultiplier(sx, s, sy)));
            const w = randomInt8(r, N * K, -127, 127);
            const x = new (dtype === 'int8' ? Int8Array : Uint8Array)(M * K);
            for (let i = 0; i < x.length; i++) x[i] = randInt(r, dmin, dmax);
            const zy = randInt(r, dmin, dmax);
            const bias =
              biasKind === 'none'
                ? undefined
                : Int32Array.from({ length: N }, () =>
                    biasKind === 'small' ? randInt(r, -20000, 20000) : randInt(r, -(2 ** 26), 2 ** 26),
                  );
            const layer = qw.linear({
              weights: { data: w, shape: [N, K] },
              weightScale: ws,
              bias,
              input: { scale: sx, zeroPoint: zx, dtype },
              output: { scale: sy, zeroPoint: zy },
              activation,
              requant: 'fixedpoint',
            });
            const y = layer.run(x);
            layer.dispose();
            let qmin = dmin;
            let qmax = dmax;
            if (activation !== 'none') qmin = Math.max(dmin, zy);
            if (activation === 'relu6') qmax = Math.min(dmax, zy + Math.round(6 / sy));
            for (let m = 0; m < M; m++) {
              for (let n = 0; n < N; n++) {
                let acc = bias ? bias[n]! : 0;
                for (let k = 0; k < K; k++) acc += (x[m * K + k]! - zx) * w[n * K + k]!;
                const { multiplier, shift } = fixed[n]!;
                const want = fixedRef(acc, multiplier, shift, zy, qmin, qmax);
                if (y[m * N + n] !== want) {
                  expect(
                    y[m * N + n],
                    `${family}, ${activation}, ${biasKind} bias: row ${m} channel ${n}, acc ${acc}, multiplier ${multiplier}, shift ${shift}`,
                  ).toBe(want);
                }
              }
            }
          }
        }
      }
    },
  );

  it('grouped conv: each group reads its own float64 columns', () => {
    const r = rng(83);
    const [N, H, W, C, Mout, group] = [2, 5, 4, 6, 24, 2]; // 12 channels per group: a panel and a tail each
    const Cg = C / group;
    const sx = 0.05;
    const sy = 0.1;
    const ws = Float32Array.from({ length: Mout }, () => 0.0005 + 0.01 * r());
    const w = randomInt8(r, Mout * 3 * 3 * Cg, -127, 127);
    const x = randomInt8(r, N * H * W * C);
    const bias = Int32Array.from({ length: Mout }, () => randInt(r, -3000, 3000));
    const zx = 2;
    const zy = -10;
    for (const activation of ['none', 'relu'] as const) {
      const layer = qw.conv2d({
        weights: { data: w, shape: [Mout, 3, 3, Cg] },
        weightScale: ws,
        bias,
        input: { scale: sx, zeroPoint: zx },
        output: { scale: sy, zeroPoint: zy },
        pads: [1, 1, 1, 1],
        group,
        activation,
        requant: 'fixedpoint',
      });
      const y = layer.run({ data: x, shape: [N, H, W, C] }).data;
      layer.dispose();
      const acc = refConvInteger({ N, H, W, C, M: Mout, kH: 3, kW: 3, pads: [1, 1, 1, 1], group }, x, w, zx, [0]);
      const qmin = activation === 'relu' ? zy : -128;
      for (let i = 0; i < acc.length; i++) {
        const n = i % Mout;
        const { multiplier, shift } = quantizeMultiplier(fixedRealMultiplier(sx, ws[n]!, sy));
        const want = fixedRef(acc[i]! + bias[n]!, multiplier, shift, zy, qmin, 127);
        if (y[i] !== want) expect(y[i], `${activation}: output ${i} (channel ${n})`).toBe(want);
      }
    }
  });
});
