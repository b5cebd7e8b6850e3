// quantRange, the one public name for a code range: by dtype or by bit width; qrange is its
// deprecated alias for the dtype form.
import { describe, expect, it } from 'vitest';
import { QwasmError, qrange, quantRange } from '../src/index.js';

function argumentOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QwasmError);
    return (e as QwasmError).argument;
  }
  return undefined;
}

describe('quantRange', () => {
  it('gives the dtype ranges, narrow or not, as the bit-width form does', () => {
    expect(quantRange('int8')).toEqual({ qmin: -128, qmax: 127 });
    expect(quantRange('int8', true)).toEqual({ qmin: -127, qmax: 127 });
    expect(quantRange('uint8')).toEqual({ qmin: 0, qmax: 255 });
    expect(quantRange('uint8', true)).toEqual({ qmin: 1, qmax: 255 });
    for (const narrow of [false, true]) {
      expect(quantRange('int8', narrow)).toEqual(quantRange(8, true, narrow));
      expect(quantRange('uint8', narrow)).toEqual(quantRange(8, false, narrow));
      // the deprecated alias answers the same
      expect(qrange('int8', narrow)).toEqual(quantRange('int8', narrow));
      expect(qrange('uint8', narrow)).toEqual(quantRange('uint8', narrow));
    }
    expect(quantRange(4, true)).toEqual({ qmin: -8, qmax: 7 });
  });
  it('names the argument it refuses', () => {
    expect(argumentOf(() => quantRange('int4' as never))).toBe('bits');
    expect(argumentOf(() => quantRange('8' as never, true))).toBe('bits');
    expect(argumentOf(() => quantRange('int8', 'yes' as never))).toBe('narrow');
    expect(argumentOf(() => quantRange(9, true))).toBe('bits');
    expect(argumentOf(() => quantRange(8, undefined as never))).toBe('signed');
  });
});
