// qwasm/onnx imports protobufjs by name; protobufjs ships a browser build that sets
// globalThis.protobuf (index.html loads it with a classic script first) and no ES module.
export default globalThis.protobuf;
