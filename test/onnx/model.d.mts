// Types of model.mjs (the single-node ONNX model writer).

/** Element types, as TensorProto.DataType numbers. */
export declare const DataType: Readonly<{ float32: 1; uint8: 2; int8: 3; int32: 6; int64: 7 }>;
export type DataTypeName = keyof typeof DataType;

type Numeric = Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;

/** A graph input: `data` makes it an initializer (a constant), otherwise it is fed at run time. */
export interface ValueSpec {
  name: string;
  type: DataTypeName;
  dims: readonly number[];
  data?: Numeric;
}

/** A graph output; dims may be left out (onnxruntime infers them). */
export interface OutputSpec {
  name: string;
  type: DataTypeName;
  dims?: readonly number[];
}

/**
 * Attribute values: integers become INT, other numbers FLOAT, strings STRING, arrays of
 * integers INTS; `{ float }` / `{ floats }` force the float kinds for integral values.
 */
export type AttributeValue = number | string | readonly number[] | { float: number } | { floats: readonly number[] };

export interface NodeSpec {
  opType: string;
  /** A contrib domain such as 'com.microsoft' (imported at `domainVersion`, default 1). */
  domain?: string;
  domainVersion?: number;
  /** Version of the default domain, default 13. */
  opset?: number;
  /** In the node's input order; `null` leaves an optional input out (empty name). */
  inputs: ReadonlyArray<ValueSpec | null>;
  outputs: readonly OutputSpec[];
  attributes?: Record<string, AttributeValue>;
}

/** Encodes a model with one node: ModelProto bytes for an onnxruntime InferenceSession. */
export declare function singleNodeModel(spec: NodeSpec): Uint8Array;
