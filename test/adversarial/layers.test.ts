// Seeded adversarial campaigns over the prepacked layers (linear, linearF32,
// dynamicLinear, linearResidual, int4 linear, conv2d, conv2dF32, binaryLinear,
// binaryConv2dLayer) on a 1-thread and a 2-thread engine: construct, run into a new
// output and into `out` (sometimes runAsync), dispose; one config field, the input or
// `out` mutated in half the cases. Every block a layer owned must come back.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { share } from './generators.js';
import { EngineUnderTest, runCampaign } from './harness.js';
import { LAYER_MODELS, layerCaseOf } from './layers.js';
import { expectClean } from './campaign.js';

/** Of TOTAL_CASES: 9 layers x 2 engines x 1.7% = 31%. */
const SHARE = 0.017;

for (const threads of [1, 2]) {
  describe(`layers on a ${threads}-thread engine`, () => {
    let eut: EngineUnderTest;
    beforeAll(async () => {
      eut = await EngineUnderTest.create(threads);
    });
    afterAll(() => eut?.dispose());

    LAYER_MODELS.forEach((m, i) => {
      const count = share(SHARE);
      const name = i === 4 ? 'linear-int4' : m.method;
      it(`${name}: ${count} seeded cases`, async () => {
        const res = await runCampaign(eut, `${name}@${threads}`, count, (r) => layerCaseOf(m, r));
        expectClean(res, count);
      });
    });
  });
}
