import { describe, expect, it } from 'vitest';
import { QwasmError, planBits, sensitivityReport, type LayerSample } from '../src/index.js';
import { rng } from './helpers.js';
import { samples } from './reference/toolkit.js';

function layer(name: string, N: number, K: number, seed: number, rowSpread: number, outliers = 0): LayerSample {
  const r = rng(seed);
  const w = samples(r, 'gaussian', N * K);
  // rows with very different magnitudes make per-tensor scales bad
  for (let n = 0; n < N; n++) {
    const s = Math.exp((r() - 0.5) * rowSpread);
    for (let k = 0; k < K; k++) w[n * K + k] = w[n * K + k]! * s;
  }
  for (let i = 0; i < outliers; i++) w[Math.floor(r() * N * K)] = 40 * (r() - 0.5);
  const x = samples(r, 'relu', 16 * K);
  return { name, weights: { data: w, shape: [N, K] }, activations: { data: x, shape: [16, K] } };
}

describe('sensitivityReport', () => {
  const layers = [
    layer('smooth', 24, 256, 1, 0.2),
    layer('spread', 24, 256, 2, 4),
    layer('outliers', 24, 256, 3, 0.2, 12),
  ];
  const report = sensitivityReport(layers, { groupSize: 64 });

  it('measures SQNR at 8 and 4 bits, per tensor, per channel and per group, on weights and outputs', () => {
    expect(report.map((l) => l.name)).toEqual(['smooth', 'spread', 'outliers']);
    for (const l of report) {
      expect([l.outFeatures, l.inFeatures]).toEqual([24, 256]);
      expect(l.weightBytes).toEqual({ 8: 24 * 256, 4: 24 * 128 });
      for (const where of [l.weightSqnr, l.outputSqnr!]) {
        for (const g of ['perTensor', 'perChannel', 'perGroup'] as const) {
          // each extra bit is worth about 6 dB: 8 bits beat 4 bits by 18-30 dB
          expect(where[8][g] - where[4][g]).toBeGreaterThan(15);
          expect(where[8][g] - where[4][g]).toBeLessThan(32);
        }
        // finer granularity never hurts much and per group is best
        expect(where[4].perGroup).toBeGreaterThanOrEqual(where[4].perChannel - 0.5);
      }
    }
    const spread = report[1]!;
    expect(spread.weightSqnr[4].perChannel - spread.weightSqnr[4].perTensor).toBeGreaterThan(6);
    // the weight SQNR of smooth Gaussian weights at 8 bits per channel is ~40 dB
    expect(report[0]!.weightSqnr[8].perChannel).toBeGreaterThan(35);
    expect(report[0]!.weightSqnr[8].perChannel).toBeLessThan(45);
  });

  it('plans 4 bits where the budget allows and 8 where it does not', () => {
    const loose = planBits(report, { minSqnrDb: 5 });
    expect(loose.layers.every((l) => l.bits === 4)).toBe(true);
    expect(loose.weightBytes).toBe(loose.weightBytes8 / 2);
    const tight = planBits(report, { minSqnrDb: 60 });
    expect(tight.layers.every((l) => l.bits === 8)).toBe(true);
    // in between: the combined SQNR meets the budget; the robust layers go to 4 bits
    // first and the outlier layer (11.8 dB at 4 bits per channel) stays 8-bit longest
    const bits = (b: number) => planBits(report, { minSqnrDb: b }).layers.map((l) => l.bits);
    expect(bits(15)).toEqual([4, 8, 8]);
    expect(bits(10)).toEqual([4, 4, 8]);
    for (const budget of [10, 15, 18, 20, 25, 30])
      expect(planBits(report, { minSqnrDb: budget }).sqnrDb).toBeGreaterThanOrEqual(budget);
    const w = planBits(report, { minSqnrDb: 20, use: 'weight', granularity: 'perGroup' });
    expect(w.layers.length).toBe(3);
  });

  it('works without activations (weight SQNR only) and validates its input', () => {
    const r = sensitivityReport([{ name: 'w', weights: layers[0]!.weights }]);
    expect(r[0]!.outputSqnr).toBeUndefined();
    expect(planBits(r, { minSqnrDb: 10 }).layers[0]!.bits).toBe(4);
    expect(() => sensitivityReport([{ name: 'bad', weights: { data: new Float32Array(6), shape: [6] } }])).toThrow(
      QwasmError,
    );
    expect(() =>
      sensitivityReport([{ ...layers[0]!, activations: { data: new Float32Array(10), shape: [2, 5] } }]),
    ).toThrow(/columns/);
    expect(() => planBits(report, { minSqnrDb: NaN })).toThrow(QwasmError);
  });
});
