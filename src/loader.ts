import { instantiate } from '@assemblyscript/loader';
import { QwasmError } from './errors.js';
import type { Kernels } from './kernels.js';
import { wasmBytes, type WasmFile } from './platform/assets.js';
import { messageOf } from './platform/host.js';

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
 * A compiled `WebAssembly.Module`. Named here by its shape (TypeScript's DOM lib is where
 * `WebAssembly` is declared), so qwasm's declarations compile in projects without it.
 */
export type WasmModule = object;

/**
 * A `WebAssembly.Memory`, by the parts qwasm uses (see {@link WasmModule} for why).
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(delta: number): number;
}

/**
 * Bytes or a compiled `WebAssembly.Module` of one wasm build. The module is typed `object`
 * (TypeScript declares `WebAssembly` only in its DOM lib), so these declarations compile
 * in projects without it.
 *
 * @example
 * ```ts
 * const wasm: WasmSource = await WebAssembly.compileStreaming(fetch('/static/qwasm/simd.wasm'));
 * const qw = await Qwasm.create({ wasm });
 * ```
 */
export type WasmSource = ArrayBuffer | ArrayBufferView | object;

const BUILD_NAMES: readonly Backend[] = ['scalar', 'simd', 'relaxed'];

/** The wasm file of build `b`: the `-mt` builds are the same source compiled for a shared memory (src/threads/). */
function buildFile(b: Backend, threaded: boolean): WasmFile {
  return threaded ? `${b}-mt` : b;
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
 * through Node 20's baseline tier, which computes the relaxed dot wrongly. A probe file
 * that cannot be loaded rejects with a QwasmError saying where it was looked for.
 */
export function hostHasExactRelaxedSimd(): Promise<boolean> {
  relaxedVerdict ??= (async () => {
    // a probe that cannot be loaded is a packaging problem to report, not a host without
    // relaxed SIMD: that would quietly hand out a slower build
    const { bytes } = await wasmBytes('probe-relaxed');
    try {
      if (!WebAssembly.validate(bytes)) return false;
      const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes));
      return (instance.exports as { probe(): number }).probe() === 1;
    } catch {
      return false;
    }
  })();
  // a failed load is asked again next time (the file may be reachable then)
  relaxedVerdict.catch(() => (relaxedVerdict = undefined));
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
  memory: WasmMemory;
  /** The compiled build, which thread pool workers instantiate too. */
  module: WasmModule;
}

/**
 * Compiles and instantiates one build on a fresh memory, or on `shared` (a shared memory:
 * then the threaded `-mt` build is loaded).
 */
export async function loadBuild(
  backend: Backend | 'auto',
  source?: WasmSource,
  shared?: WasmMemory,
): Promise<LoadedBuild> {
  let chosen: Backend;
  if (source === undefined) {
    const supported = await supportedBackends();
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

  const memory = (shared as WebAssembly.Memory | undefined) ?? new WebAssembly.Memory({ initial: 16 });
  let module: WebAssembly.Module;
  if (source instanceof WebAssembly.Module) module = source;
  else {
    let bytes = source as BufferSource | undefined;
    let what = 'the given bytes';
    if (bytes === undefined) {
      const file = await wasmBytes(buildFile(chosen, shared !== undefined));
      bytes = file.bytes;
      what = file.from;
    }
    try {
      module = await WebAssembly.compile(bytes);
    } catch (e) {
      throw new QwasmError('wasm', `the host could not compile the '${chosen}' build (${what}): ${messageOf(e)}`);
    }
  }
  let exports: Record<string, unknown>;
  try {
    ({ exports } = await instantiate<Record<string, unknown>>(module, { env: { memory } }));
  } catch (e) {
    if (source === undefined || shared !== undefined || !(e instanceof WebAssembly.LinkError)) throw e;
    throw new QwasmError(
      'wasm',
      `the given module does not link to an unshared memory (a threaded *-mt.wasm build is only for threads > 1): ${messageOf(e)}`,
    );
  }
  const kernels = exports as unknown as Kernels;
  const id = typeof exports.build_id === 'function' ? kernels.build_id() : -1;
  const actual = BUILD_NAMES[id];
  if (actual === undefined)
    throw new QwasmError('wasm', 'the given module is not a qwasm build (it has no build_id export)');
  if (actual === 'relaxed' && source !== undefined && !(await hostHasExactRelaxedSimd())) {
    throw new QwasmError('wasm', 'the given module is the relaxed build, which this host does not run exactly');
  }
  return { backend: actual, kernels, memory, module };
}
