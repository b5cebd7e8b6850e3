// A tiny ONNX model writer for tests: one node, its inputs (runtime inputs or
// initializers) and outputs, encoded by hand as protobuf. Enough to let onnxruntime act
// as the oracle for any single operator without downloading or checking in a model.
//
// Field numbers are those of onnx/onnx.proto (proto2: repeated scalars are written
// unpacked, one tag per value, which every protobuf parser accepts).

/** Element types, as TensorProto.DataType numbers. */
export const DataType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
} as const;
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
  domain?: string;
  /** Default 13. */
  opset?: number;
  /** In the node's input order; `null` leaves an optional input out (empty name). */
  inputs: ReadonlyArray<ValueSpec | null>;
  outputs: readonly OutputSpec[];
  attributes?: Record<string, AttributeValue>;
}

class Writer {
  private readonly parts: number[] = [];

  varint(v: number | bigint): this {
    // negative int64s take ten bytes of two's complement
    let b = BigInt.asUintN(64, BigInt(v));
    do {
      let byte = Number(b & 0x7fn);
      b >>= 7n;
      if (b !== 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (b !== 0n);
    return this;
  }

  private tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v);
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.parts.push(...b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (let i = 0; i < data.length; i++) this.parts.push(data[i]!);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function valueInfo(name: string, type: DataTypeName, dims?: readonly number[]): Writer {
  const shape = new Writer();
  for (const d of dims ?? []) shape.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, DataType[type]);
  if (dims) tensorType.message(2, shape);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

function tensor(v: ValueSpec & { data: Numeric }): Writer {
  const w = new Writer();
  for (const d of v.dims) w.int(1, d);
  w.int(2, DataType[v.type]);
  w.string(8, v.name);
  // raw_data is little-endian, which typed arrays are on every host onnxruntime runs on
  w.bytes(9, new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  return w;
}

function attribute(name: string, v: AttributeValue): Writer {
  const w = new Writer().string(1, name);
  if (typeof v === 'string') return w.string(4, v).int(20, 3);
  if (typeof v === 'number') return Number.isInteger(v) ? w.int(3, v).int(20, 2) : w.float(2, v).int(20, 1);
  if (Array.isArray(v)) {
    for (const x of v as number[]) w.int(8, x);
    return w.int(20, 7);
  }
  if ('float' in v) return w.float(2, v.float).int(20, 1);
  for (const x of v.floats) w.float(7, x);
  return w.int(20, 6);
}

/** Encodes a model with one node: ModelProto bytes for an onnxruntime InferenceSession. */
export function singleNodeModel(spec: NodeSpec): Uint8Array {
  const node = new Writer();
  for (const i of spec.inputs) node.string(1, i === null ? '' : i.name);
  for (const o of spec.outputs) node.string(2, o.name);
  node.string(3, `${spec.opType}_0`);
  node.string(4, spec.opType);
  for (const [k, v] of Object.entries(spec.attributes ?? {})) node.message(5, attribute(k, v));
  if (spec.domain) node.string(7, spec.domain);

  const graph = new Writer().message(1, node).string(2, `${spec.opType}_graph`);
  for (const i of spec.inputs) if (i?.data) graph.message(5, tensor(i as ValueSpec & { data: Numeric }));
  for (const i of spec.inputs) if (i && !i.data) graph.message(11, valueInfo(i.name, i.type, i.dims));
  for (const o of spec.outputs) graph.message(12, valueInfo(o.name, o.type, o.dims));

  const opset = new Writer().string(1, spec.domain ?? '').int(2, spec.opset ?? 13);
  return new Writer().int(1, 7).string(2, 'qwasm-tests').message(7, graph).message(8, opset).finish();
}
