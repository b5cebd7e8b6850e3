import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Qwasm, QwasmError, supportedBackends } from '../src/index.js';
import { hostHasExactRelaxedSimd } from '../src/loader.js';

const wasm = (b: string) => readFileSync(new URL(`../src/wasm/${b}.wasm`, import.meta.url));

describe('Qwasm.create', () => {
  it("'auto' loads the best build the host runs exactly", async () => {
    const supported = await supportedBackends();
    const qw = await Qwasm.create();
    expect(qw.backend).toBe(supported[0]);
    // Node 20 only validates relaxed SIMD behind a flag, and then computes it wrongly in
    // its baseline tier; Node 22+ runs it: the probe decides, never the version number
    expect(supported.includes('relaxed')).toBe(await hostHasExactRelaxedSimd());
    expect(supported).toContain('scalar');
    qw.dispose();
  });

  it('loads each named build the host supports and reports it', async () => {
    for (const b of await supportedBackends()) {
      const qw = await Qwasm.create({ backend: b });
      expect(qw.backend).toBe(b);
      expect(qw.memoryBytes).toBeGreaterThan(0);
      qw.dispose();
    }
  });

  it('refuses a build the host cannot run, and a name that is no build, with QwasmError', async () => {
    if (!(await supportedBackends()).includes('relaxed')) {
      await expect(Qwasm.create({ backend: 'relaxed' })).rejects.toThrow(QwasmError);
    }
    await expect(Qwasm.create({ backend: 'avx' as never })).rejects.toMatchObject({ argument: 'backend' });
  });

  it('takes the wasm as bytes or as a compiled module and detects which build it is', async () => {
    const fromBytes = await Qwasm.create({ wasm: wasm('scalar') });
    expect(fromBytes.backend).toBe('scalar');
    const fromModule = await Qwasm.create({ wasm: new WebAssembly.Module(wasm('simd')) });
    expect(fromModule.backend).toBe('simd');
    const q = fromModule.quantizeLinear({ data: new Float32Array([1, -1]), shape: [2] }, 0.5, 0, { dtype: 'int8' });
    expect(Array.from(q.data)).toEqual([2, -2]);
    await expect(Qwasm.create({ wasm: new Uint8Array([0, 1, 2, 3]) })).rejects.toMatchObject({ argument: 'wasm' });
  });

  it('grows memory for big inputs, refreshes its views, and returns blocks after each call', async () => {
    const qw = await Qwasm.create();
    const before = qw.memoryBytes;
    const n = 8 << 20;
    const x = new Float32Array(n).fill(0.5);
    const q = qw.quantizeLinear({ data: x, shape: [n] }, 0.25, 0, { dtype: 'int8' });
    expect(qw.memoryBytes).toBeGreaterThan(before);
    expect(q.data[n - 1]).toBe(2);
    const grown = qw.memoryBytes;
    for (let i = 0; i < 3; i++) qw.quantizeLinear({ data: x, shape: [n] }, 0.25, 0, { dtype: 'int8' });
    expect(qw.memoryBytes).toBe(grown);
    qw.dispose();
  });
});
