// Seeded adversarial campaigns over the engine's ops, on a 1-thread and a 2-thread
// engine: valid calls (awkward shapes, extreme zero points and scales) against the
// scalar references, and every argument mutated in turn (lying lengths, getters that
// change their answer, proxies, detached and shared buffers, wrong types, bad numbers,
// null defaults, huge attributes). QWASM_FUZZ_SEED / QWASM_FUZZ_CASES / QWASM_FUZZ_ONLY
// choose the run; a failure prints its repro.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { share } from './generators.js';
import { EngineUnderTest, runCampaign } from './harness.js';
import { OP_MODELS, caseOf } from './models.js';
import { expectClean } from './campaign.js';

/** Of TOTAL_CASES: 12 ops x 2 engines x 2.4% = 58%. */
const SHARE = 0.024;

for (const threads of [1, 2]) {
  describe(`ops on a ${threads}-thread engine`, () => {
    let eut: EngineUnderTest;
    beforeAll(async () => {
      eut = await EngineUnderTest.create(threads);
    });
    afterAll(() => eut?.dispose());

    for (const m of OP_MODELS) {
      const count = share(SHARE);
      it(`${m.method}: ${count} seeded cases`, async () => {
        const res = await runCampaign(eut, `${m.method}@${threads}`, count, (r) => caseOf(m, r));
        expectClean(res, count);
      });
    }
  });
}
