// Copies the wasm binaries next to the compiled JS: dist/wasm/*.wasm, and the thread pool's
// worker entry (plain JavaScript, so the same file also runs from src/ under vitest).
import { cpSync } from 'node:fs';

cpSync('src/wasm', 'dist/wasm', { recursive: true });
cpSync('src/threads/worker.js', 'dist/threads/worker.js');
