// A minimal ONNX model writer: one graph of a few nodes, inputs, initializers and
// outputs, encoded as protobuf by hand so tests and benchmarks need no model files.
// Used as the oracle harness (onnxruntime-node) and by the peer benchmarks.

const DTYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7 };

/** The ONNX element type of a typed array. */
export function onnxType(a) {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  throw new Error(`no ONNX type for ${a?.constructor?.name}`);
}

class Writer {
  bytes = [];
  varint(v) {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      this.bytes.push(b);
    } while (x);
    return this;
  }
  tag(field, wire) {
    return this.varint((field << 3) | wire);
  }
  int(field, v) {
    return this.tag(field, 0).varint(v);
  }
  bytesField(field, data) {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  string(field, s) {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  message(field, w) {
    return this.bytesField(field, w.bytes);
  }
  float(field, f) {
    const b = new Uint8Array(new Float32Array([f]).buffer);
    this.tag(field, 5);
    for (const x of b) this.bytes.push(x);
    return this;
  }
}

function tensorProto(name, data, dims) {
  const w = new Writer();
  for (const d of dims) w.int(1, d);
  w.int(2, DTYPE[onnxType(data)]);
  w.string(8, name);
  w.bytesField(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return w;
}

function valueInfo(name, type, dims) {
  const tensor = new Writer().int(1, DTYPE[type]);
  if (dims !== undefined) tensor.message(2, shapeProto(dims));
  return new Writer().string(1, name).message(2, new Writer().message(1, tensor));
}

function shapeProto(dims) {
  const shape = new Writer();
  for (const d of dims) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  return shape;
}

function attribute(name, value) {
  const w = new Writer().string(1, name);
  if (Array.isArray(value)) {
    if (value.every((v) => Number.isInteger(v))) {
      for (const v of value) w.int(8, v);
      w.int(20, 7);
    } else {
      for (const v of value) w.float(7, v);
      w.int(20, 6);
    }
  } else if (typeof value === 'string') w.string(4, value).int(20, 3);
  else if (Number.isInteger(value)) w.int(3, value).int(20, 2);
  else w.float(2, value).int(20, 1);
  return w;
}

/**
 * Builds model bytes. `nodes`: [{ op, inputs: [names], outputs: [names], attrs?: {} }]
 * (an empty input name is an omitted optional input); `inputs`: [{ name, type, dims }]
 * (dims may hold strings for symbolic sizes); `initializers`: [{ name, data, dims }];
 * `outputs`: [{ name, type, dims? }] (no dims: shape left to inference).
 */
export function buildModel({ nodes, inputs = [], initializers = [], outputs, opset = 21 }) {
  const graph = new Writer();
  nodes.forEach((n, i) => {
    const node = new Writer();
    for (const x of n.inputs) node.string(1, x);
    for (const y of n.outputs) node.string(2, y);
    node.string(3, `n${i}`);
    node.string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attribute(k, v));
    graph.message(1, node);
  });
  graph.string(2, 'g');
  for (const t of initializers) graph.message(5, tensorProto(t.name, t.data, t.dims));
  for (const v of inputs) graph.message(11, valueInfo(v.name, v.type, v.dims));
  for (const v of outputs) graph.message(12, valueInfo(v.name, v.type, v.dims));
  const model = new Writer().int(1, 8);
  model.message(8, new Writer().string(1, '').int(2, opset));
  model.string(2, 'qwasm');
  model.message(7, graph);
  return new Uint8Array(model.bytes);
}
