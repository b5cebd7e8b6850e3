import { instantiate } from '@assemblyscript/loader';
import { QwasmError } from './errors.js';
import type { Kernels } from './kernels.js';

/**
 * A wasm build of qwasm: `relaxed` (SIMD128 + relaxed SIMD), `simd` (SIMD128) or `scalar`.
 *
 * @example
 * ```ts
 * const qw = await Qwasm.create({ backend: 'simd' });
 * const b: Backend = qw.backend; // 'simd'
 * ```
 */
export type Backend = 'relaxed' | 'simd' | 'scalar';

/**
 * Bytes or a compiled module of one wasm build.
 *
 * @example
 * ```ts
 * const wasm: WasmSource = await WebAssembly.compileStreaming(fetch('/static/qwasm/simd.wasm'));
 * const qw = await Qwasm.create({ wasm });
 * ```
 */
export type WasmSource = BufferSource | WebAssembly.Module;

const BUILD_NAMES: readonly Backend[] = ['scalar', 'simd', 'relaxed'];

/** Reads a file: URL in Node.js, fetches anything else. */
async function readUrl(url: URL): Promise<ArrayBuffer> {
  if (url.protocol === 'file:') {
    const fs = await import(/* @vite-ignore */ 'node:fs/promises');
    const b = await fs.readFile(url);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
  const res = await fetch(url);
  if (!res.ok) throw new QwasmError('backend', `could not load ${url.href}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

// Each URL is written out literally so bundlers (Vite, webpack 5, esbuild) find the files.
// The `-mt` builds are the same source compiled for a shared memory (src/threads/).
function buildUrl(b: Backend, threaded: boolean): URL {
  switch (b) {
    case 'relaxed':
      return threaded
        ? new URL('./wasm/relaxed-mt.wasm', import.meta.url)
        : new URL('./wasm/relaxed.wasm', import.meta.url);
    case 'simd':
      return threaded ? new URL('./wasm/simd-mt.wasm', import.meta.url) : new URL('./wasm/simd.wasm', import.meta.url);
    case 'scalar':
      return threaded
        ? new URL('./wasm/scalar-mt.wasm', import.meta.url)
        : new URL('./wasm/scalar.wasm', import.meta.url);
  }
}

function probeUrl(): URL {
  return new URL('./wasm/probe-relaxed.wasm', import.meta.url);
}

// The smallest module using a SIMD128 instruction: (func (result v128) v128.const 0) .
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);

/** True when the host validates SIMD128. */
export function hostHasSimd(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

let relaxedVerdict: Promise<boolean> | undefined;

/**
 * True when the host runs relaxed SIMD exactly in the range qwasm uses. The probe module
 * is validated, then instantiated and run on a known answer: validation alone would let
 * through Node 20's baseline tier, which computes the relaxed dot wrongly.
 */
export function hostHasExactRelaxedSimd(): Promise<boolean> {
  relaxedVerdict ??= (async () => {
    try {
      const bytes = await readUrl(probeUrl());
      if (!WebAssembly.validate(bytes)) return false;
      const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes));
      return (instance.exports as { probe(): number }).probe() === 1;
    } catch {
      return false;
    }
  })();
  return relaxedVerdict;
}

/**
 * What the host can run, best first.
 *
 * @example
 * ```ts
 * const backends = await supportedBackends(); // e.g. ['relaxed', 'simd', 'scalar']
 * if (!backends.includes('relaxed')) console.log('no exact relaxed SIMD on this host');
 * ```
 */
export async function supportedBackends(): Promise<Backend[]> {
  const out: Backend[] = [];
  if (hostHasSimd()) {
    if (await hostHasExactRelaxedSimd()) out.push('relaxed');
    out.push('simd');
  }
  out.push('scalar');
  return out;
}

export interface LoadedBuild {
  backend: Backend;
  kernels: Kernels;
  memory: WebAssembly.Memory;
  /** The compiled build, which thread pool workers instantiate too. */
  module: WebAssembly.Module;
}

/**
 * Compiles and instantiates one build on a fresh memory, or on `shared` (a shared memory:
 * then the threaded `-mt` build is loaded).
 */
export async function loadBuild(
  backend: Backend | 'auto',
  source?: WasmSource,
  shared?: WebAssembly.Memory,
): Promise<LoadedBuild> {
  let chosen: Backend;
  const supported = await supportedBackends();
  if (source === undefined) {
    if (backend === 'auto') chosen = supported[0]!;
    else {
      if (!supported.includes(backend)) {
        throw new QwasmError(
          'backend',
          `this host cannot run the '${backend}' build (it supports: ${supported.join(', ')})`,
        );
      }
      chosen = backend;
    }
  } else chosen = backend === 'auto' ? 'simd' : backend;

  const memory = shared ?? new WebAssembly.Memory({ initial: 16 });
  let module: WebAssembly.Module;
  try {
    if (source instanceof WebAssembly.Module) module = source;
    else module = await WebAssembly.compile(source ?? (await readUrl(buildUrl(chosen, shared !== undefined))));
  } catch (e) {
    throw new QwasmError('wasm', `the host could not compile the '${chosen}' build: ${(e as Error).message}`);
  }
  const { exports } = await instantiate<Record<string, unknown>>(module, { env: { memory } });
  const kernels = exports as unknown as Kernels;
  const id = kernels.build_id();
  const actual = BUILD_NAMES[id]!;
  if (actual === 'relaxed' && source !== undefined && !supported.includes('relaxed')) {
    throw new QwasmError('wasm', 'the given module is the relaxed build, which this host does not run exactly');
  }
  return { backend: actual, kernels, memory, module };
}
