// Where qwasm's packaged files come from. By default they sit beside the JavaScript
// (dist/wasm/*.wasm, dist/threads/worker.js) and are found with
// `new URL('…', import.meta.url)`, written out literally here and in threads/pool.ts so
// that bundlers which understand that pattern (Vite, webpack 5, Parcel) copy them into
// their output. `qwasm/inline` (src/inline.ts) embeds them in JavaScript instead, for
// bundlers that do not (esbuild, Rollup) and for hosts that cannot read files beside
// the code.
import { QwasmError } from '../errors.js';
import { readBytes } from './host.js';

/** The wasm files qwasm ships: each build, its threaded (`-mt`) twin, and the relaxed-SIMD probe. */
export type WasmFile = 'relaxed' | 'relaxed-mt' | 'simd' | 'simd-mt' | 'scalar' | 'scalar-mt' | 'probe-relaxed';

/** Packaged files embedded in JavaScript, each decoded only when first asked for. */
export interface EmbeddedAssets {
  /** The bytes of one wasm file. */
  wasm(file: WasmFile): Promise<Uint8Array<ArrayBuffer>>;
  /** The thread-pool worker (threads/worker.js with chunk.js) as one self-contained script. */
  workerSource(): Promise<string>;
}

let embedded: EmbeddedAssets | null = null;

/** Makes every engine of this realm take its files from `assets` (qwasm/inline calls this). */
export function embedAssets(assets: EmbeddedAssets): void {
  embedded = assets;
}

/** The embedded files, or null when they are read from beside the JavaScript. */
export function embeddedAssets(): EmbeddedAssets | null {
  return embedded;
}

/** Where wasm file `file` lives beside the JavaScript; each URL literal so bundlers see it. */
export function wasmUrl(file: WasmFile): URL {
  if (typeof import.meta.url !== 'string') {
    throw new QwasmError(
      'wasm',
      `cannot locate ${file}.wasm: import.meta.url is empty in this bundle (a script, not an ES module, e.g. esbuild's default iife format); bundle as ESM with qwasm's files beside it, or import qwasm/inline`,
    );
  }
  switch (file) {
    case 'relaxed':
      return new URL('../wasm/relaxed.wasm', import.meta.url);
    case 'relaxed-mt':
      return new URL('../wasm/relaxed-mt.wasm', import.meta.url);
    case 'simd':
      return new URL('../wasm/simd.wasm', import.meta.url);
    case 'simd-mt':
      return new URL('../wasm/simd-mt.wasm', import.meta.url);
    case 'scalar':
      return new URL('../wasm/scalar.wasm', import.meta.url);
    case 'scalar-mt':
      return new URL('../wasm/scalar-mt.wasm', import.meta.url);
    case 'probe-relaxed':
      return new URL('../wasm/probe-relaxed.wasm', import.meta.url);
  }
}

/**
 * The bytes of wasm file `file` and where they came from (for error messages): the
 * embedded copy under qwasm/inline, else the file beside the JavaScript.
 */
export async function wasmBytes(
  file: WasmFile,
): Promise<{ bytes: ArrayBuffer | Uint8Array<ArrayBuffer>; from: string }> {
  if (embedded !== null) return { bytes: await embedded.wasm(file), from: `qwasm/inline (${file}.wasm)` };
  const url = wasmUrl(file);
  const bytes = await readBytes(url);
  const head = new Uint8Array(bytes, 0, Math.min(4, bytes.byteLength));
  // a dev server or an SPA host answers a missing file with its index page (200, HTML):
  // say so, instead of "cannot compile" or, for the probe, a quietly slower build
  if (!WASM_MAGIC.every((b, i) => head[i] === b)) {
    const text = String.fromCharCode(...new Uint8Array(bytes, 0, Math.min(16, bytes.byteLength)));
    throw new QwasmError(
      'wasm',
      `could not load ${url.href}: the server sent something else (${JSON.stringify(text)}...)`,
    );
  }
  return { bytes, from: url.href };
}

/** The first four bytes of every wasm module: "\0asm". */
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
