// The engines users would pick instead, loaded single-threaded in Node.js through their
// wasm backends: onnxruntime-web (int8 MatMulInteger / QLinearMatMul / Conv ops) and
// @tensorflow/tfjs-backend-wasm (float32). Both are optional devDependencies.
import { createRequire } from 'node:module';
import path from 'node:path';
import { singleNodeModel } from '../../test/onnx/model.mjs';

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
  return {
    'onnxruntime-web': v('onnxruntime-web'),
    '@tensorflow/tfjs-backend-wasm': v('@tensorflow/tfjs-backend-wasm'),
  };
}

/**
 * An onnxruntime-web session of one int8 matrix op with b [K, N] as an initializer:
 * 'MatMulInteger' (int32 out) or 'QLinearMatMul' (requantized to a's type).
 */
export function ortMatMulSession(ort, op, aType, b, M, K, N, sessionOptions = {}) {
  const scalar = (name, data) => ({ name, type: onnxTypeOf(data), dims: [], data });
  const a = { name: 'a', type: aType, dims: [M, K] };
  const bv = { name: 'b', type: onnxTypeOf(b), dims: [K, N], data: b };
  const zp = (v) => (aType === 'uint8' ? new Uint8Array([v + 128]) : new Int8Array([v]));
  const model =
    op === 'MatMulInteger'
      ? singleNodeModel({ opType: op, inputs: [a, bv], outputs: [{ name: 'y', type: 'int32', dims: [M, N] }] })
      : singleNodeModel({
          opType: op,
          inputs: [
            a,
            scalar('as', new Float32Array([0.02])),
            scalar('az', zp(0)),
            bv,
            scalar('bs', new Float32Array([0.01])),
            scalar('bz', new Int8Array([0])),
            scalar('ys', new Float32Array([0.5])),
            scalar('yz', zp(0)),
          ],
          outputs: [{ name: 'y', type: aType, dims: [M, N] }],
        });
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'], ...sessionOptions });
}

/** @returns {import('../../test/onnx/model.d.mts').DataTypeName} */
function onnxTypeOf(a) {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  throw new Error(`no ONNX type for ${a.constructor.name}`);
}
