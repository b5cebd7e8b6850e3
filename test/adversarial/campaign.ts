// What every fuzz test asserts about its campaign: that it ran all its cases, checked
// real values (a suite that only sees refusals proves little) and had no failure.
import { expect } from 'vitest';
import { FULL_RUN, report, type CampaignResult } from './harness.js';

export function expectClean(res: CampaignResult, planned: number): void {
  const text = report(res.failures);
  if (FULL_RUN) {
    expect(res.ran, 'cases run').toBe(planned);
    expect(res.valuesChecked + res.errorsChecked, 'cases that behaved').toBeGreaterThan(0);
  }
  expect(res.failures.length, `${res.failures.length} failing cases:\n${text}`).toBe(0);
}
