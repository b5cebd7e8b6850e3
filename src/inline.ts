/**
 * `qwasm/inline`: the whole qwasm API, with the wasm builds and the thread-pool worker
 * embedded in JavaScript instead of read from files beside it. For bundlers that do not
 * copy `new URL('…', import.meta.url)` assets (esbuild, Rollup without an asset plugin)
 * and for hosts that cannot read them. Each build is a module of its own (base64),
 * imported and decoded only when an engine first needs it; threads start their workers
 * from the embedded script (a `blob:` URL in browsers).
 *
 * @example
 * ```ts
 * import { Qwasm } from 'qwasm/inline';
 * const qw = await Qwasm.create(); // no .wasm file to serve
 * ```
 *
 * @packageDocumentation
 */
import { embedAssets, type WasmFile } from './platform/assets.js';
import { wasm, worker } from './inline/assets.js';

/** base64 to bytes with what every host has (atob), not a Node.js Buffer. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const decoded = new Map<WasmFile, Promise<Uint8Array<ArrayBuffer>>>();

embedAssets({
  wasm(file) {
    let bytes = decoded.get(file);
    if (bytes === undefined) {
      bytes = wasm[file]().then((m) => decodeBase64(m.default));
      decoded.set(file, bytes);
    }
    return bytes;
  },
  async workerSource() {
    return (await worker()).default;
  },
});

export * from './index.js';
