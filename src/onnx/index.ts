/**
 * qwasm/onnx: ONNX models planned onto qwasm's kernels - float32, int8 (QDQ and QOperator
 * graphs), post-training quantization in JavaScript and QDQ export.
 *
 * @packageDocumentation
 */
export { OnnxModel, type LoadOptions, type ValueInfo, type FeedTensor, type StepProfile } from './model.js';
export type { QuantizeOptions, QuantizedReport, NodeSensitivity } from './quantize.js';
export type { OnnxTensor, OnnxDtype, OnnxArray } from './tensor.js';
