// Runs one com.microsoft contrib node (QLinearAdd, QLinearSigmoid, ...) in onnxruntime-node:
// the tensors named in `feeds` are graph inputs, every other input is an initializer.
import * as ort from 'onnxruntime-node';
import { singleNodeModel, type DataTypeName } from './model.mjs';

export type Arr = Float32Array | Int8Array | Uint8Array | Int32Array;

export interface ContribInput {
  name: string;
  data: Arr;
  dims: readonly number[];
  /** Fed at run time instead of stored in the model. */
  feed?: boolean;
}

export function onnxType(a: Arr): DataTypeName {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  return 'int32';
}

/** A scalar initializer. */
export const scalar = (name: string, data: Arr): ContribInput => ({ name, data, dims: [] });

/** Runs `op` (domain com.microsoft) with `inputs` in node order; returns output 'y'. */
export async function runContrib(
  op: string,
  inputs: ReadonlyArray<ContribInput | null>,
  outType: DataTypeName,
  attributes: Record<string, number | { float: number }> = {},
): Promise<ort.Tensor> {
  const model = singleNodeModel({
    opType: op,
    domain: 'com.microsoft',
    opset: 13,
    inputs: inputs.map((i) =>
      i === null
        ? null
        : i.feed
          ? { name: i.name, type: onnxType(i.data), dims: i.dims }
          : { name: i.name, type: onnxType(i.data), dims: i.dims, data: i.data },
    ),
    outputs: [{ name: 'y', type: outType }],
    attributes,
  });
  const session = await ort.InferenceSession.create(model);
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of inputs) {
    if (i?.feed) feeds[i.name] = new ort.Tensor(onnxType(i.data) as 'float32', i.data as Float32Array, [...i.dims]);
  }
  const r = await session.run(feeds);
  await session.release();
  return r['y']!;
}
