// Lifecycle under attack, on a 1-thread and a 2-thread engine: failed layer
// constructions and thousands of failed calls leave no live block behind and do not
// grow memory; disposed layers and engines refuse every call (empty inputs, `out`,
// runAsync included) with a QwasmError; Qwasm.create refuses bad options with a
// QwasmError naming the option and treats null as the default.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Qwasm, QwasmError } from '../../src/index.js';
import { Rng, SEED, show, t } from './generators.js';
import { EngineUnderTest, argOk, report, runCase, usedBytes, type Case, type Failure } from './harness.js';
import { matMulRef, diffExact } from './reference.js';

const A = Int8Array.from({ length: 12 }, (_, i) => i * 11 - 60);
const B = Int8Array.from({ length: 20 }, (_, i) => 50 - i * 7);
const WANT = matMulRef(A, [3, 4], B, [4, 5], 0, [0])!.acc;

/** Whether e is a QwasmError naming one of `args`; else what it is. */
function refusal(e: unknown, args: readonly string[] | null): string | null {
  if (!(e instanceof QwasmError)) {
    return `threw ${(e as { constructor?: { name?: string } })?.constructor?.name}: ${String((e as Error)?.message ?? e)}`;
  }
  if (args !== null && !argOk(e.argument, args))
    return `QwasmError names '${e.argument}', expected one of [${args.join(', ')}]`;
  return null;
}

/** A layer of every kind, with a valid input and an `out` for it. */
interface LayerKit {
  name: string;
  make: (qw: Qwasm) => {
    run(x: unknown, out?: unknown): unknown;
    runAsync?(x: unknown): Promise<unknown>;
    dispose(): void;
  };
  x: unknown;
  empty: unknown;
  out: () => unknown;
  /** A config whose last-checked field is bad (bias), for the leak test. */
  bad: Record<string, unknown>;
}

const q = { input: { scale: 0.05, zeroPoint: 0 }, output: { scale: 0.1, zeroPoint: 0 } };
const W64 = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
const I64 = (n: number) => Int8Array.from({ length: n }, (_, i) => ((i * 37) % 200) - 100);

const KITS: LayerKit[] = [
  {
    name: 'linear',
    make: (qw) => qw.linear({ weights: t(I64(64 * 32), [64, 32]), weightScale: 0.01, ...q }),
    x: I64(64),
    empty: new Int8Array(0),
    out: () => new Int8Array(128),
    bad: {
      method: 'linear',
      cfg: { weights: t(I64(256 * 256), [256, 256]), weightScale: 0.01, ...q, bias: new Int32Array(3) },
    },
  },
  {
    name: 'linear int4',
    make: (qw) => qw.linear({ weightBits: 4, weights: t(new Uint8Array(64 * 16), [64, 32]), weightScale: 0.01, ...q }),
    x: I64(64),
    empty: new Int8Array(0),
    out: () => new Int8Array(128),
    bad: {
      method: 'linear',
      cfg: {
        weightBits: 4,
        weights: t(new Uint8Array(256 * 128), [256, 256]),
        weightScale: 0.01,
        ...q,
        bias: new Int32Array(3),
      },
    },
  },
  {
    name: 'linearF32',
    make: (qw) => qw.linearF32({ weights: t(W64(64 * 32), [64, 32]) }),
    x: W64(64),
    empty: new Float32Array(0),
    out: () => new Float32Array(128),
    bad: { method: 'linearF32', cfg: { weights: t(W64(256 * 256), [256, 256]), bias: new Float32Array(3) } },
  },
  {
    name: 'dynamicLinear',
    make: (qw) => qw.dynamicLinear({ weights: t(W64(64 * 32), [64, 32]) }),
    x: W64(64),
    empty: new Float32Array(0),
    out: () => new Float32Array(128),
    bad: { method: 'dynamicLinear', cfg: { weights: t(W64(256 * 256), [256, 256]), bias: new Float32Array(3) } },
  },
  {
    name: 'linearResidual',
    make: (qw) => qw.linearResidual({ weights: t(W64(64 * 32), [64, 32]) }),
    x: W64(64),
    empty: new Float32Array(0),
    out: () => new Float32Array(128),
    bad: { method: 'linearResidual', cfg: { weights: t(W64(256 * 256), [256, 256]), bias: new Float32Array(3) } },
  },
  {
    name: 'conv2d',
    make: (qw) => qw.conv2d({ weights: t(I64(8 * 9 * 4), [8, 3, 3, 4]), weightScale: 0.01, ...q, pads: [1, 1, 1, 1] }),
    x: t(I64(36 * 4), [1, 6, 6, 4]),
    empty: t(new Int8Array(0), [0, 6, 6, 4]),
    out: () => t(new Int8Array(36 * 8), [1, 6, 6, 8]),
    bad: {
      method: 'conv2d',
      cfg: { weights: t(I64(64 * 9 * 64), [64, 3, 3, 64]), weightScale: 0.01, ...q, bias: new Int32Array(3) },
    },
  },
  {
    name: 'conv2dF32',
    make: (qw) => qw.conv2dF32({ weights: t(W64(8 * 9 * 4), [8, 3, 3, 4]), pads: [1, 1, 1, 1] }),
    x: t(W64(36 * 4), [1, 6, 6, 4]),
    empty: t(new Float32Array(0), [0, 6, 6, 4]),
    out: () => t(new Float32Array(36 * 8), [1, 6, 6, 8]),
    bad: { method: 'conv2dF32', cfg: { weights: t(W64(64 * 9 * 64), [64, 3, 3, 64]), bias: new Float32Array(3) } },
  },
  {
    name: 'binaryLinear',
    make: (qw) => qw.binaryLinear({ weights: t(W64(16 * 40), [16, 40]) }),
    x: { bits: new Uint32Array(4), shape: [2, 40] },
    empty: { bits: new Uint32Array(0), shape: [0, 40] },
    out: () => t(new Float32Array(32), [2, 16]),
    bad: { method: 'binaryLinear', cfg: { weights: t(W64(256 * 256), [256, 256]), bias: new Float32Array(3) } },
  },
  {
    name: 'binaryConv2dLayer',
    make: (qw) => qw.binaryConv2dLayer({ weights: t(W64(8 * 9 * 40), [8, 3, 3, 40]), pads: [1, 1, 1, 1] }),
    x: { bits: new Uint32Array(36 * 2), shape: [1, 6, 6, 40] },
    empty: { bits: new Uint32Array(0), shape: [0, 6, 6, 40] },
    out: () => t(new Float32Array(36 * 8), [1, 6, 6, 8]),
    bad: {
      method: 'binaryConv2dLayer',
      cfg: { weights: t(W64(64 * 9 * 64), [64, 3, 3, 64]), bias: new Float32Array(3) },
    },
  },
];

/** Valid calls of every engine op, and empty ones, for the disposed-engine test. */
function opCalls(): { name: string; call: (qw: Qwasm) => unknown }[] {
  const x = t(W64(8), [2, 4]);
  const xb = { bits: new Uint32Array(2), shape: [2, 5] };
  const cx = t(new Uint8Array(2 * 25), [1, 2, 5, 5]);
  const cw = t(new Int8Array(3 * 18), [3, 2, 3, 3]);
  return [
    { name: 'quantizeLinear', call: (qw) => qw.quantizeLinear(x, 0.1) },
    { name: 'quantizeLinear (empty)', call: (qw) => qw.quantizeLinear(t(new Float32Array(0), [0]), 0.1) },
    { name: 'dequantizeLinear', call: (qw) => qw.dequantizeLinear(t(new Int8Array(4), [4]), 0.1) },
    { name: 'dequantizeLinear (empty)', call: (qw) => qw.dequantizeLinear(t(new Int8Array(0), [0]), 0.1) },
    { name: 'dynamicQuantizeLinear (empty)', call: (qw) => qw.dynamicQuantizeLinear(t(new Float32Array(0), [0])) },
    { name: 'matMulInteger', call: (qw) => qw.matMulInteger(t(A, [3, 4]), t(B, [4, 5])) },
    { name: 'matMulInteger (empty)', call: (qw) => qw.matMulInteger(t(new Int8Array(0), [0, 4]), t(B, [4, 5])) },
    {
      name: 'qlinearMatMul (empty)',
      call: (qw) => qw.qlinearMatMul(t(new Int8Array(0), [0, 4]), 1, 0, t(B, [4, 5]), 1, 0, 1, 0),
    },
    { name: 'convInteger', call: (qw) => qw.convInteger(cx, cw) },
    { name: 'convInteger (empty)', call: (qw) => qw.convInteger(t(new Uint8Array(0), [0, 2, 5, 5]), cw) },
    {
      name: 'qlinearConv (empty)',
      call: (qw) => qw.qlinearConv(t(new Uint8Array(0), [0, 2, 5, 5]), 1, 0, cw, 1, 0, 1, 0),
    },
    { name: 'bitpack (empty)', call: (qw) => qw.bitpack(t(new Float32Array(0), [0, 3])) },
    { name: 'bitunpack (empty)', call: (qw) => qw.bitunpack({ bits: new Uint32Array(0), shape: [0, 5] }) },
    { name: 'binaryMatMul (empty)', call: (qw) => qw.binaryMatMul({ bits: new Uint32Array(0), shape: [0, 5] }, xb) },
    {
      name: 'binaryConv2d (empty)',
      call: (qw) =>
        qw.binaryConv2d(
          { bits: new Uint32Array(0), shape: [0, 2, 2, 5] },
          { bits: new Uint32Array(1), shape: [1, 1, 1, 5] },
        ),
    },
    { name: 'quantError', call: (qw) => qw.quantError(W64(4), W64(4)) },
    { name: 'quantError (empty)', call: (qw) => qw.quantError(new Float32Array(0), new Float32Array(0)) },
    ...KITS.map((k) => ({ name: `${k.name} construction`, call: (qw: Qwasm) => k.make(qw) })),
  ];
}

for (const threads of [1, 2]) {
  describe(`lifecycle on a ${threads}-thread engine`, () => {
    let eut: EngineUnderTest;
    beforeAll(async () => {
      eut = await EngineUnderTest.create(threads);
    });
    afterAll(() => eut?.dispose());

    it('failed layer constructions (a bad bias checked last) leak nothing: 200 linearF32 and 40 of every layer', async () => {
      const failures: Failure[] = [];
      const mem0 = eut.qw.memoryBytes;
      let i = 0;
      for (const k of KITS) {
        const { method, cfg } = k.bad as { method: string; cfg: Record<string, unknown> };
        const rounds = method === 'linearF32' ? 200 : 40;
        for (let j = 0; j < rounds; j++, i++) {
          const c: Case = {
            tag: 'failed-construction',
            repr: `qw.${method}(${show(cfg)})`,
            call: (qw) =>
              (qw as unknown as Record<string, (c: unknown) => { dispose(): void }>)[method]!(cfg).dispose(),
            expect: { kind: 'error', args: ['bias'] },
            allowed: ['bias'],
          };
          failures.push(...(await runCase(eut, `failed-construction@${threads}`, i, c, `${k.name} #${j}`)).failures);
        }
      }
      expect(failures.length, report(failures)).toBe(0);
      expect(eut.qw.memoryBytes - mem0, 'memoryBytes growth over the failed constructions').toBeLessThanOrEqual(
        4 << 20,
      );
    });

    it('3000 failed calls (huge sizes, bad numbers, hostile objects) keep memory and live blocks flat', async () => {
      const r = new Rng(SEED ^ 0xfa11);
      const bad: ((qw: Qwasm) => unknown)[] = [
        (qw) => qw.matMulInteger(t(new Int8Array(70000), [70000, 1]), t(new Int8Array(70000), [1, 70000])),
        (qw) =>
          qw.convInteger(t(new Uint8Array(50), [1, 2, 5, 5]), t(new Int8Array(54), [3, 2, 3, 3]), 0, 0, {
            pads: [0, 0, 1e6, 1e6],
          }),
        (qw) => qw.matMulInteger(t(A, [3, 4]), t(B, [4, 5]), 2 ** 32 + 3),
        (qw) => qw.qlinearMatMul(t(A, [3, 4]), 0, 0, t(B, [4, 5]), 1, 0, 1, 0),
        (qw) => qw.quantizeLinear(t(W64(8), [8]), NaN),
        (qw) => qw.bitpack(t(new Int16Array(8) as unknown as Int8Array, [8])),
        (qw) =>
          qw.binaryConv2d(
            { bits: new Uint32Array(4), shape: [1, 2, 2, 3] },
            { bits: new Uint32Array(2), shape: [2, 1, 1, 3] },
            {
              pads: [2 ** 40, 0, 0, 0],
            },
          ),
        (qw) =>
          qw.qlinearConv(
            t(new Uint8Array(50), [1, 2, 5, 5]),
            1,
            0,
            t(new Int8Array(54), [3, 2, 3, 3]),
            1,
            0,
            1,
            0,
            new Int32Array(2),
          ),
        (qw) => qw.linear({ weights: t(I64(4096), [64, 64]), weightScale: 0.01, ...q, activation: 'gelu' as never }),
      ];
      const failures: Failure[] = [];
      let mem100 = 0;
      for (let i = 0; i < 3000; i++) {
        if (i === 100) mem100 = eut.qw.memoryBytes;
        const j = r.int(0, bad.length - 1);
        const c: Case = {
          tag: `failed-call-${j}`,
          repr: `failing call #${j}`,
          call: bad[j]!,
          expect: { kind: 'error' },
          allowed: ['a', 'b', 'aZeroPoint', 'aScale', 'x', 'scale', 'attrs.pads', 'w', 'bias', 'activation'],
        };
        failures.push(...(await runCase(eut, `failed-calls@${threads}`, i, c, `failed call ${i}`)).failures);
      }
      expect(failures.length, report(failures)).toBe(0);
      expect(eut.qw.memoryBytes - mem100, 'memoryBytes growth after the first 100 failed calls').toBeLessThanOrEqual(
        1 << 20,
      );
    });

    for (const k of KITS) {
      it(`a disposed ${k.name} refuses run, run(empty), run(x, out) and runAsync; its blocks come back`, async () => {
        const before = usedBytes(eut.qw);
        const l = k.make(eut.qw);
        l.run(k.x);
        l.dispose();
        const problems: string[] = [];
        const attempts: [string, () => unknown][] = [
          ['run(x)', () => l.run(k.x)],
          ['run(empty)', () => l.run(k.empty)],
          ['run(x, out)', () => l.run(k.x, k.out())],
        ];
        for (const [what, f] of attempts) {
          try {
            f();
            problems.push(`${what} returned`);
          } catch (e) {
            const d = refusal(e, ['layer', 'engine']);
            if (d) problems.push(`${what}: ${d}`);
          }
        }
        if (typeof l.runAsync === 'function') {
          try {
            await l.runAsync(k.x);
            problems.push('runAsync(x) resolved');
          } catch (e) {
            const d = refusal(e, ['layer', 'engine']);
            if (d) problems.push(`runAsync(x): ${d}`);
          }
        }
        try {
          l.dispose();
        } catch (e) {
          problems.push(`a second dispose threw ${String(e)}`);
        }
        const after = usedBytes(eut.qw);
        if (before !== after) problems.push(`live heap bytes ${before} -> ${after}`);
        const g = eut.golden.check();
        if (g) problems.push(`engine corrupted: ${g}`);
        expect(problems, problems.join('\n')).toEqual([]);
      });
    }

    it('a disposed engine refuses every op and factory (empty inputs included) and its layers', async () => {
      const qw = await Qwasm.create({ threads });
      const layers = KITS.map((k) => ({ k, l: k.make(qw) }));
      qw.dispose();
      const problems: string[] = [];
      for (const { name, call } of opCalls()) {
        try {
          call(qw);
          problems.push(`${name} returned`);
        } catch (e) {
          const d = refusal(e, ['engine']);
          if (d) problems.push(`${name}: ${d}`);
        }
      }
      // every other method of the engine, called with no arguments
      const known = new Set(opCalls().map((c) => c.name.split(' ')[0]));
      for (const m of Object.getOwnPropertyNames(Qwasm.prototype)) {
        const f = (qw as unknown as Record<string, unknown>)[m];
        if (m === 'constructor' || m === 'dispose' || known.has(m) || typeof f !== 'function') continue;
        try {
          (f as () => unknown).call(qw);
          problems.push(`${m}() returned`);
        } catch (e) {
          const d = refusal(e, null);
          if (d) problems.push(`${m}(): ${d}`);
        }
      }
      for (const { k, l } of layers) {
        for (const [what, x] of [
          ['run(x)', k.x],
          ['run(empty)', k.empty],
        ] as const) {
          try {
            l.run(x);
            problems.push(`${k.name}.${what} returned after the engine was disposed`);
          } catch (e) {
            const d = refusal(e, ['engine', 'layer']);
            if (d) problems.push(`${k.name}.${what}: ${d}`);
          }
        }
        try {
          l.dispose();
        } catch (e) {
          const d = refusal(e, ['engine', 'layer']);
          if (d) problems.push(`${k.name}.dispose() after the engine: ${d}`);
        }
      }
      try {
        qw.dispose();
      } catch (e) {
        problems.push(`a second engine dispose threw ${String(e)}`);
      }
      expect(problems, problems.join('\n')).toEqual([]);
    });
  });
}

describe('Qwasm.create options', () => {
  const simd = readFileSync(new URL('../../src/wasm/simd.wasm', import.meta.url));
  const simdMt = readFileSync(new URL('../../src/wasm/simd-mt.wasm', import.meta.url));
  type Want = { ok: true; threads?: number } | { ok: false; args: string[] } | { either: string[] };
  const cases: [string, unknown, Want][] = [
    ['no options', undefined, { ok: true, threads: 1 }],
    ['null', null, { ok: true, threads: 1 }],
    ['{}', {}, { ok: true, threads: 1 }],
    ["{ backend: 'auto' }", { backend: 'auto' }, { ok: true }],
    ["{ backend: 'simd' }", { backend: 'simd' }, { ok: true }],
    ["{ backend: 'scalar' }", { backend: 'scalar' }, { ok: true }],
    ["{ backend: 'relaxed' } (host-dependent)", { backend: 'relaxed' }, { either: ['backend'] }],
    ['{ backend: null }', { backend: null }, { ok: true }],
    ["{ backend: 'bogus' }", { backend: 'bogus' }, { ok: false, args: ['backend'] }],
    ["{ backend: '' }", { backend: '' }, { ok: false, args: ['backend'] }],
    ['{ backend: 5 }', { backend: 5 }, { ok: false, args: ['backend'] }],
    ["{ backend: 'SIMD' }", { backend: 'SIMD' }, { ok: false, args: ['backend'] }],
    ['{ threads: null }', { threads: null }, { ok: true, threads: 1 }],
    ['{ threads: 1 }', { threads: 1 }, { ok: true, threads: 1 }],
    ['{ threads: 2 }', { threads: 2 }, { ok: true, threads: 2 }],
    ["{ threads: 'auto' }", { threads: 'auto' }, { ok: true }],
    ...([0, -1, 1.5, '2', 65, NaN, Infinity, 2n, [2], {}, true] as unknown[]).map(
      (v) => [`{ threads: ${show(v)} }`, { threads: v }, { ok: false, args: ['threads'] }] as [string, unknown, Want],
    ),
    ['{ wasm: simd.wasm bytes }', { wasm: simd }, { ok: true, threads: 1 }],
    ['{ wasm: a compiled simd module }', { wasm: new WebAssembly.Module(simd) }, { ok: true, threads: 1 }],
    ['{ wasm: simd-mt.wasm bytes, threads: 2 }', { wasm: simdMt, threads: 2 }, { ok: true, threads: 2 }],
    [
      '{ wasm: simd.wasm bytes, threads: 2 } (not a threaded build)',
      { wasm: simd, threads: 2 },
      { ok: false, args: ['wasm', 'threads'] },
    ],
    ['{ wasm: 10 garbage bytes }', { wasm: new Uint8Array(10).fill(7) }, { ok: false, args: ['wasm'] }],
    ['{ wasm: empty bytes }', { wasm: new Uint8Array(0) }, { ok: false, args: ['wasm'] }],
    [
      '{ wasm: a valid but foreign module }',
      { wasm: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]) },
      { ok: false, args: ['wasm'] },
    ],
    ["{ wasm: 'simd.wasm' }", { wasm: 'simd.wasm' }, { ok: false, args: ['wasm'] }],
    ['{ wasm: {} }', { wasm: {} }, { ok: false, args: ['wasm'] }],
    ["'simd' instead of an options object", 'simd', { either: ['options', 'backend'] }],
  ];

  it.each(cases)('Qwasm.create(%s)', async (_name, options, want) => {
    let qw: Qwasm | null = null;
    let error: unknown;
    const t0 = performance.now();
    try {
      qw = await Qwasm.create(options as never);
    } catch (e) {
      error = e;
    }
    const problems: string[] = [];
    if (performance.now() - t0 > 10_000) problems.push('took more than 10 s');
    if (qw !== null) {
      if ('ok' in want && !want.ok)
        problems.push(`created an engine instead of refusing naming one of [${want.args.join(', ')}]`);
      if ('ok' in want && want.ok && want.threads !== undefined && qw.threads !== want.threads) {
        problems.push(`threads ${qw.threads}, expected ${want.threads}`);
      }
      try {
        const y = qw.matMulInteger(t(A, [3, 4]), t(B, [4, 5]));
        const d = diffExact(y.data, WANT);
        if (d) problems.push(`the engine computes wrong: ${d}`);
      } catch (e) {
        problems.push(`the engine cannot compute: ${String(e)}`);
      }
      qw.dispose();
    } else {
      const args = 'ok' in want ? (want.ok ? null : want.args) : want.either;
      if ('ok' in want && want.ok) problems.push(`refused: ${String((error as Error)?.message ?? error)}`);
      else {
        const d = refusal(error, args);
        if (d) problems.push(d);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
