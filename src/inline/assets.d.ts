// Types of dist/inline/assets.js, which scripts/build-inline.mjs generates from the wasm
// builds and the worker scripts: each file is a module of its own, imported on first use.
import type { WasmFile } from '../platform/assets.js';

/** Each wasm file as base64, one dynamic import per file. */
export declare const wasm: Record<WasmFile, () => Promise<{ default: string }>>;

/** threads/worker.js with chunk.js, as the text of one script without imports. */
export declare const worker: () => Promise<{ default: string }>;
