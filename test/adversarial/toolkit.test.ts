// Seeded adversarial campaigns over the quantization toolkit's exported functions
// (parameters, quantize / dequantize / fake quantization / STE mask, int4 packing,
// residual stages, error metrics, observers, range search, sensitivity planning):
// results against plain scalar references or documented properties, bad arguments
// refused with a QwasmError naming them. Pure TypeScript: one engine serves the harness.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { share } from './generators.js';
import { EngineUnderTest, runCampaign } from './harness.js';
import { TOOLKIT_GENS, toolkitCase } from './toolkit-models.js';
import { expectClean } from './campaign.js';

/** Of TOTAL_CASES: 15 functions x 0.5% = 7.5%. */
const SHARE = 0.005;

describe('toolkit', () => {
  let eut: EngineUnderTest;
  beforeAll(async () => {
    eut = await EngineUnderTest.create(1);
  });
  afterAll(() => eut?.dispose());

  for (const name of TOOLKIT_GENS) {
    const count = share(SHARE);
    it(`${name}: ${count} seeded cases`, async () => {
      const res = await runCampaign(eut, `toolkit.${name}`, count, (r) => toolkitCase(name, r));
      expectClean(res, count);
    });
  }
});
