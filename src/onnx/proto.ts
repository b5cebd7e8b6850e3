// The ONNX protobuf messages a model file uses: protobufjs does the wire decoding and
// encoding with static code it generated (src/onnx/proto.generated.js, from the schema in
// scripts/onnx-schema.mjs by scripts/gen-onnx-proto.mjs; no eval, so qwasm/onnx runs under a
// strict Content-Security-Policy); this file types what the loader reads.
import { onnx } from './proto.generated.js';

/** The message type of a model file (static code protobufjs generated from the schema). */
export const ModelProto = onnx.ModelProto;

/** An int64 field as protobufjs gives it: a number, or a Long-like object. */
export type Int64 = number | { toNumber(): number };

/** The decoded shapes this package reads (protobufjs' runtime objects, typed by hand). */
export interface TensorMessage {
  dims: Int64[];
  dataType: number;
  floatData: number[];
  int32Data: number[];
  int64Data: Int64[];
  doubleData: number[];
  uint64Data: Int64[];
  name: string;
  rawData: Uint8Array;
  dataLocation: number;
  externalData: { key: string; value: string }[];
}

export interface AttributeMessage {
  name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t: TensorMessage | null;
  g: GraphMessage | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: TensorMessage[];
  graphs: GraphMessage[];
}

export interface NodeMessage {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: AttributeMessage[];
}

export interface ValueInfoMessage {
  name: string;
  type: {
    tensorType: {
      elemType: number;
      shape: { dim: { dimValue: Int64; dimParam: string }[] } | null;
    } | null;
  } | null;
}

export interface GraphMessage {
  node: NodeMessage[];
  name: string;
  initializer: TensorMessage[];
  input: ValueInfoMessage[];
  output: ValueInfoMessage[];
  valueInfo: ValueInfoMessage[];
}

export interface ModelMessage {
  irVersion: Int64;
  opsetImport: { domain: string; version: Int64 }[];
  producerName: string;
  graph: GraphMessage | null;
}

/** An int64 field as a JavaScript number (values beyond 2^53 lose their low bits, as Slice's INT64_MAX may). */
export function int64(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Decodes a model file; protobufjs throws on truncated or malformed bytes. */
export function decodeModel(bytes: Uint8Array): ModelMessage {
  return ModelProto.decode(bytes) as unknown as ModelMessage;
}

/** Encodes a model from a plain object in the shape of {@link ModelMessage} (fields may be omitted). */
export function encodeModel(model: object): Uint8Array {
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
