// The one-row int8-weight path (relaxed dot with the 7-bit split on the relaxed build,
// widened int8 weights on simd) is picked only for one row and, on simd, big layers;
// here it is forced for up to 3 rows of every size on every build (scalar runs the
// same arithmetic lane by lane), so packing, split and offset correction are proven
// everywhere — and on the relaxed build under Node 24, the instruction itself.
import { describe, expect, it } from 'vitest';
import { loadBuild } from '../src/loader.js';
import { Runtime } from '../src/runtime.js';
import { DynamicLinear, Linear } from '../src/layers/linear.js';
import { backends, firstDiff, randInt, randomFloat32, randomInt8, randomUint8, rng } from './helpers.js';

async function runtimeWithGemvRows(backend: (typeof backends)[number], rows: number): Promise<Runtime> {
  const b = await loadBuild(backend);
  const rt = Runtime.single(b.kernels, b.memory, b.backend);
  Object.assign(rt.config, { gemvRows: rows, gemvMinWeights: 0 });
  return rt;
}

describe.each(backends)('one-row int8-weight path on %s', (backend) => {
  it('gives the int16 path bit for bit, int8 and uint8, on awkward shapes', async () => {
    const forced = await runtimeWithGemvRows(backend, 3);
    const plain = await runtimeWithGemvRows(backend, 0);
    const r = rng(70);
    for (const [M, K, N] of [
      [1, 1, 1],
      [1, 3, 9],
      [2, 17, 8],
      [3, 100, 17],
      [1, 768, 40],
      [1, 1001, 3],
    ] as [number, number, number][]) {
      for (const dtype of ['int8', 'uint8'] as const) {
        const w = randomInt8(r, N * K);
        w[0] = -128;
        const x = dtype === 'int8' ? randomInt8(r, M * K) : randomUint8(r, M * K);
        const cfg = {
          weights: { data: w, shape: [N, K] },
          weightScale: randomFloat32(r, N, 0.001, 0.01),
          bias: new Int32Array(N).map(() => randInt(r, -1000, 1000)),
          input: { scale: 0.02, zeroPoint: dtype === 'int8' ? -3 : 131, dtype },
          output: { scale: 0.05 * Math.sqrt(K), zeroPoint: dtype === 'int8' ? 2 : 120 },
        };
        const a = new Linear(forced, cfg);
        const b = new Linear(plain, cfg);
        expect(firstDiff(a.run(x), b.run(x))).toBe(-1);
        a.dispose();
        b.dispose();
      }
      const wf = randomFloat32(r, N * K);
      const xf = randomFloat32(r, M * K, -1, 2);
      const da = new DynamicLinear(forced, { weights: { data: wf, shape: [N, K] } });
      const db = new DynamicLinear(plain, { weights: { data: wf, shape: [N, K] } });
      expect(firstDiff(da.run(xf), db.run(xf))).toBe(-1);
      da.dispose();
      db.dispose();
    }
  });
});
