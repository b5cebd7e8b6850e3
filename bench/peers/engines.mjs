// The engines users would pick instead, loaded single-threaded in Node.js through their
// wasm backends: onnxruntime-web (int8 MatMulInteger / QLinearMatMul / Conv ops) and
// @tensorflow/tfjs-backend-wasm (float32). Both are optional devDependencies.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** onnxruntime-web, single thread, or null when it is not installed. */
export async function loadOrt() {
  try {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    return ort;
  } catch {
    return null;
  }
}

/** tfjs-core with the wasm backend ready, single thread, or null when not installed. */
export async function loadTfjs(threads = 1) {
  try {
    const tf = await import('@tensorflow/tfjs-core');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + '/');
    wasm.setThreadsCount(threads);
    await tf.setBackend('wasm');
    await tf.ready();
    return tf;
  } catch {
    return null;
  }
}

export function versions() {
  const v = (p) => {
    try {
      return require(`${p}/package.json`).version;
    } catch {
      return null;
    }
  };
  return { 'onnxruntime-web': v('onnxruntime-web'), '@tensorflow/tfjs-backend-wasm': v('@tensorflow/tfjs-backend-wasm') };
}
