// A tiny ONNX model writer for tests and benchmarks: one node, its inputs (runtime inputs or
// initializers) and outputs, encoded by hand as protobuf. Enough to let onnxruntime act
// as the oracle for any single operator without downloading or checking in a model.
//
// Field numbers are those of onnx/onnx.proto (proto2: repeated scalars are written
// unpacked, one tag per value, which every protobuf parser accepts).

// Plain JavaScript (types in JSDoc and model.d.mts) so vitest tests and the node
// benchmarks (bench/*.bench.mjs) can both import it.

/** Element types, as TensorProto.DataType numbers. */
export const DataType = Object.freeze({
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
});

class Writer {
  parts = [];

  varint(v) {
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

  tag(field, wire) {
    return this.varint((field << 3) | wire);
  }

  int(field, v) {
    return this.tag(field, 0).varint(v);
  }

  float(field, v) {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.parts.push(...b);
    return this;
  }

  bytes(field, data) {
    this.tag(field, 2).varint(data.length);
    for (let i = 0; i < data.length; i++) this.parts.push(data[i]);
    return this;
  }

  string(field, s) {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field, w) {
    return this.bytes(field, w.finish());
  }

  finish() {
    return Uint8Array.from(this.parts);
  }
}

function valueInfo(name, type, dims) {
  const shape = new Writer();
  for (const d of dims ?? []) shape.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, DataType[type]);
  if (dims) tensorType.message(2, shape);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

function tensor(v) {
  const w = new Writer();
  for (const d of v.dims) w.int(1, d);
  w.int(2, DataType[v.type]);
  w.string(8, v.name);
  // raw_data is little-endian, which typed arrays are on every host onnxruntime runs on
  w.bytes(9, new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  return w;
}

function attribute(name, v) {
  const w = new Writer().string(1, name);
  if (typeof v === 'string') return w.string(4, v).int(20, 3);
  if (typeof v === 'number') return Number.isInteger(v) ? w.int(3, v).int(20, 2) : w.float(2, v).int(20, 1);
  if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    return w.int(20, 7);
  }
  if ('float' in v) return w.float(2, v.float).int(20, 1);
  for (const x of v.floats) w.float(7, x);
  return w.int(20, 6);
}

/**
 * Encodes a model with one node: ModelProto bytes for an onnxruntime InferenceSession.
 * @param {import('./model.d.mts').NodeSpec} spec
 * @returns {Uint8Array}
 */
export function singleNodeModel(spec) {
  const node = new Writer();
  for (const i of spec.inputs) node.string(1, i === null ? '' : i.name);
  for (const o of spec.outputs) node.string(2, o.name);
  node.string(3, `${spec.opType}_0`);
  node.string(4, spec.opType);
  for (const [k, v] of Object.entries(spec.attributes ?? {})) node.message(5, attribute(k, v));
  if (spec.domain) node.string(7, spec.domain);

  const graph = new Writer().message(1, node).string(2, `${spec.opType}_graph`);
  for (const i of spec.inputs) if (i?.data) graph.message(5, tensor(i));
  for (const i of spec.inputs) if (i && !i.data) graph.message(11, valueInfo(i.name, i.type, i.dims));
  for (const o of spec.outputs) graph.message(12, valueInfo(o.name, o.type, o.dims));

  // the default domain is always imported; a contrib op's domain is imported beside it
  const model = new Writer().int(1, 7).string(2, 'qwasm-tests').message(7, graph);
  model.message(8, new Writer().string(1, '').int(2, spec.opset ?? 13));
  if (spec.domain) model.message(8, new Writer().string(1, spec.domain).int(2, spec.domainVersion ?? 1));
  return model.finish();
}
