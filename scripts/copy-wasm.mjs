// Copies the wasm binaries next to the compiled JS: dist/wasm/*.wasm, and the thread pool's
// worker entry, the chunk runner it shares with the calling thread and the control-block
// layout both import (plain JavaScript, so the same files also run from src/ under vitest),
// and the ONNX messages' static protobuf code.
import { cpSync } from 'node:fs';

cpSync('src/wasm', 'dist/wasm', { recursive: true });
cpSync('src/threads/worker.js', 'dist/threads/worker.js');
cpSync('src/threads/chunk.js', 'dist/threads/chunk.js');
cpSync('src/threads/layout.generated.js', 'dist/threads/layout.generated.js');
cpSync('src/threads/layout.generated.d.ts', 'dist/threads/layout.generated.d.ts');
cpSync('src/onnx/proto.generated.js', 'dist/onnx/proto.generated.js');
cpSync('src/onnx/proto.generated.d.ts', 'dist/onnx/proto.generated.d.ts');
