// Helpers of the pooling, resize and transposed-convolution tests: one-node onnxruntime
// runs (test/onnx/model.mjs writes the model) and layout conversions of whole tensors.
import * as ort from 'onnxruntime-node';
import { singleNodeModel, type NodeSpec } from './onnx/model.mjs';
import { toNCHW, toNHWC } from './reference/conv.js';

type Data = Int8Array | Uint8Array | Float32Array | Int32Array;
const dtypeName = (d: Data) =>
  d instanceof Int8Array ? 'int8' : d instanceof Uint8Array ? 'uint8' : d instanceof Int32Array ? 'int32' : 'float32';

/** Runs a one-node model on x (NCHW) and returns its output 'y'. */
export async function runNode(
  spec: Omit<NodeSpec, 'outputs'>,
  x: Data,
  dims: number[],
): Promise<{ data: Data; dims: number[] }> {
  const type = dtypeName(x);
  const model = singleNodeModel({ ...spec, outputs: [{ name: 'y', type }] } as NodeSpec);
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  const out = await session.run({ x: new ort.Tensor(type, x, dims) });
  const y = out['y']!;
  return { data: y.data as Data, dims: [...y.dims] };
}

/** Same typed array class as `like`, of n elements. */
export function sameKind<T extends Data>(like: T, n: number): T {
  return new (like.constructor as new (n: number) => T)(n);
}

/** NCHW data [N, C, H, W] as NHWC. */
export function nhwc<T extends Data>(a: T, N: number, C: number, H: number, W: number): T {
  return toNHWC(a, N, C, H, W, (n) => sameKind(a, n));
}

/** NHWC data [N, H, W, C] as NCHW. */
export function nchw<T extends Data>(a: T, N: number, H: number, W: number, C: number): T {
  return toNCHW(a, N, H, W, C, (n) => sameKind(a, n));
}
