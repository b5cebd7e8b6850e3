// qwasm/onnx imports protobufjs/minimal.js (the runtime of its static ONNX decoder) as a
// default import; protobufjs ships a browser build that sets globalThis.protobuf (index.html
// loads it with a classic script first) and no ES module, so the page maps the import here.
export default globalThis.protobuf;
