// The int16 GEMM's fused fp32 tile (assembly/gemm/fused.ts): full 4 x 8 tiles requantized
// from registers, the accumulators started at the bias, and no clamp at the top when the
// output range reaches the dtype's top. Linear layers (gemm_s16) and 1x1 conv layers (the
// conv GEMM) against the scalar reference, on every build, int8 and uint8, with outputs
// that saturate at both ends (down to multipliers so large that acc * m overflows to
// infinity), ReLU / ReLU6, per-channel scales, with and without a bias, and shapes with
// partial tiles and panels around the full ones.
import { afterAll, describe, expect, it } from 'vitest';
import type { Activation } from '../src/index.js';
import { engines, firstDiff, randInt, randomInt8, randomUint8, rng } from './helpers.js';
import { gemmNK } from './reference/gemm.js';
import { requantFp32 } from './reference/requant.js';

const qws = await engines();
afterAll(() => qws.forEach((q) => q.dispose()));

/** The reference codes of a requantized linear / 1x1 conv. */
function reference(
  x: ArrayLike<number>,
  w: Int8Array,
  M: number,
  N: number,
  K: number,
  za: number,
  bias: Int32Array | undefined,
  sx: number,
  sw: Float32Array,
  sy: number,
  zy: number,
  qmin: number,
  qmax: number,
): number[] {
  const acc = gemmNK(x, w, M, N, K, za, [0]);
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const mult = Math.fround(Math.fround(sx * sw[n]!) / sy);
      out.push(requantFp32(acc[m * N + n]! + (bias ? bias[n]! : 0), mult, zy, qmin, qmax));
    }
  }
  return out;
}

describe('fused fp32 requantization tile', () => {
  for (const dtype of ['int8', 'uint8'] as const) {
    it(`${dtype}: linear and 1x1 conv layers equal the reference on every build, saturating at both ends`, () => {
      const r = rng(4100);
      const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
      let fused = 0;
      for (const [M, N, K] of [
        [4, 8, 2],
        [9, 16, 16],
        [13, 24, 24],
        [8, 13, 37],
        [1, 8, 5],
        [6, 40, 96],
      ] as const) {
        for (const activation of ['none', 'relu', 'relu6'] as Activation[]) {
          for (const sy of [0.5, 1e-4, 1e-30]) {
            const w = randomInt8(r, N * K);
            const x = dtype === 'int8' ? randomInt8(r, M * K) : randomUint8(r, M * K);
            const sx = 0.02 + r() * 0.05;
            const sw = Float32Array.from({ length: N }, () => 0.005 + r() * 0.02);
            const za = randInt(r, lo, hi);
            const zy = randInt(r, lo, hi);
            const bias = r() < 0.5 ? undefined : Int32Array.from({ length: N }, () => randInt(r, -5000, 5000));
            const input = { scale: sx, zeroPoint: za, dtype };
            const output = { scale: sy, zeroPoint: zy };
            // ReLU clamps at the zero point (in real units: 0), ReLU6 at 6 too
            const qmin = activation === 'none' ? lo : Math.max(lo, zy);
            const qmax = activation === 'relu6' ? Math.min(hi, zy + Math.round(6 / sy)) : hi;
            const want = reference(x, w, M, N, K, za, bias, sx, sw, sy, zy, qmin, qmax);
            if (want.some((v) => v === hi) && want.some((v) => v === qmin)) fused++;
            for (const [backend, qw] of qws) {
              const lin = qw.linear({
                weights: { data: w, shape: [N, K] },
                weightScale: sw,
                bias,
                input,
                output,
                activation,
              });
              const cv = qw.conv2d({
                weights: { data: w, shape: [N, 1, 1, K] },
                weightScale: sw,
                bias,
                input,
                output,
                activation,
              });
              const what = `${backend} ${dtype} ${M}x${N}x${K} ${activation} sy ${sy}`;
              expect(firstDiff(lin.run(x), want), `linear ${what}`).toBe(-1);
              expect(firstDiff(cv.run({ data: x, shape: [1, 1, M, K] }).data, want), `conv ${what}`).toBe(-1);
              lin.dispose();
              cv.dispose();
            }
          }
        }
      }
      // the cases that reach both ends of the range are a good share of them
      expect(fused).toBeGreaterThan(10);
    });
  }
});
