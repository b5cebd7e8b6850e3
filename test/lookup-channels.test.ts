// lookup_u8_channels (assembly/lookup.ts): one 256-entry table per channel over runs of C
// codes, channels last. Against the plain scalar reference on every build, for C a multiple
// of 4 (the 32-bit path) and not, with a guard after the output that must stay untouched.
import { afterAll, describe, expect, it } from 'vitest';
import { loadBuild } from '../src/loader.js';
import { Runtime } from '../src/runtime.js';
import { backends, randInt, rng } from './helpers.js';

const runtimes = await Promise.all(
  backends.map(async (b) => {
    const l = await loadBuild(b);
    return Runtime.single(l.kernels, l.memory, l.backend);
  }),
);
afterAll(() => runtimes.forEach((rt) => rt.dispose()));

const GUARD = 64;

function reference(x: Uint8Array, C: number, tables: Uint8Array): Uint8Array {
  return Uint8Array.from(x, (v, i) => tables[(i % C) * 256 + v]!);
}

describe.each(runtimes.map((rt) => [rt.backend, rt] as const))('lookup_u8_channels on %s', (_name, rt) => {
  it('maps code i of each run through table i % C, for every C and run count, writing nothing past the output', () => {
    const r = rng(5);
    for (const C of [1, 2, 3, 4, 5, 8, 12, 16, 17, 32, 48]) {
      for (const pixels of [0, 1, 2, 7, 33]) {
        const tables = Uint8Array.from({ length: C * 256 }, () => randInt(r, 0, 255));
        const x = Uint8Array.from({ length: pixels * C }, () => randInt(r, 0, 255));
        const got = rt.scoped((alloc) => {
          const xp = alloc(x.length + 4);
          const tp = alloc(tables.length);
          const op = alloc(x.length + GUARD);
          rt.heap.u8.set(x, xp);
          rt.heap.u8.set(tables, tp);
          rt.heap.u8.fill(0x5a, op, op + x.length + GUARD);
          rt.kernels.lookup_u8_channels(xp, pixels, C, tp, op);
          const tail = rt.heap.u8.slice(op + x.length, op + x.length + GUARD);
          expect(tail.every((v) => v === 0x5a)).toBe(true);
          return rt.heap.u8.slice(op, op + x.length);
        });
        expect(Array.from(got), `C ${C} pixels ${pixels}`).toEqual(Array.from(reference(x, C, tables)));
      }
    }
  });
});
