// Copies the wasm binaries next to the compiled JS: dist/wasm/*.wasm.
import { cpSync } from 'node:fs';

cpSync('src/wasm', 'dist/wasm', { recursive: true });
