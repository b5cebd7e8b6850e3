/**
 * qwasm: int8 and binary integer kernels for WebAssembly, with the TypeScript API that
 * owns layouts and quantization bookkeeping.
 *
 * @packageDocumentation
 */
export { Qwasm, type CreateOptions } from './engine.js';
export { QwasmError } from './errors.js';
export { supportedBackends, type Backend, type WasmSource } from './loader.js';
export type { Tensor, TypedArray, QuantDtype } from './tensor.js';
export type { Scale, ZeroPoint } from './quant/params.js';
export { qrange, type CodeRange } from './quant/dtype.js';
export { quantizeMultiplier, fp32Multiplier, fixedRealMultiplier, type FixedMultiplier } from './quant/multiplier.js';
export type { QuantizeOptions, DynamicQuantized } from './ops/quantize.js';
export type { QLinearMatMulOptions } from './ops/matmul.js';
export type { Requant, Activation } from './ops/epilogue.js';
export {
  Linear,
  LinearF32,
  DynamicLinear,
  type LinearConfig,
  type LinearF32Config,
  type DynamicLinearConfig,
  type QuantSpec,
  type LinearInput,
} from './layers/linear.js';
export type { ResidualConfig } from './layers/residual.js';
export type { ConvAttributes, AutoPad } from './ops/conv-plan.js';
export type { ConvOpAttributes, QLinearConvAttributes } from './ops/conv.js';
export {
  Conv2d,
  Conv2dF32,
  DynamicConv2d,
  type Conv2dConfig,
  type ConvLookup,
  type Conv2dInput,
  type Conv2dF32Config,
  type ActivationF32,
  type Conv2dShapeConfig,
  type DynamicConv2dConfig,
} from './layers/conv.js';
export { LinearInt4, type LinearInt4Config } from './layers/linear-int4.js';
export { LinearResidual, type LinearResidualConfig } from './layers/linear-residual.js';
export * from './toolkit/index.js';
export type { BitTensor, BinaryConvAttributes } from './ops/binary.js';
export {
  BinaryLinear,
  BinaryConv2d,
  type BinaryLinearConfig,
  type BinaryConv2dConfig,
  type BinaryOutput,
  type BinaryInt8Output,
  type BinaryResult,
  type BinaryScale,
} from './layers/binary.js';
export type { ElementwiseOptions } from './ops/elementwise.js';
export type { LookupFunction, UnaryKind, LeakyReluAttributes } from './ops/lookup.js';
export type { SoftmaxAttributes } from './ops/softmax.js';
export type { QuantizedInput, ConcatAttributes } from './ops/concat.js';
export type { OpOutput } from './ops/out.js';
export { ConcatLayer, type ConcatLayerConfig } from './layers/concat.js';
export { SoftmaxLayer, type SoftmaxLayerConfig } from './layers/softmax.js';
export {
  QLinearBinaryLayer,
  LookupLayer,
  type BinaryLayerConfig,
  type BinaryLayerInput,
  type LookupLayerConfig,
  type ElementwiseQuant,
} from './layers/elementwise.js';
export type { PoolAttributes, MaxPoolAttributes, AveragePoolAttributes, GlobalPoolAttributes } from './ops/pool.js';
export type { ResizeAttributes, CoordinateTransformationMode, NearestMode } from './ops/resize.js';
export type { ConvTransposeAttributes, QLinearConvTransposeAttributes } from './ops/conv-transpose.js';
export type { Layout } from './ops/nhwc.js';
export { MaxPool2d, AveragePool2d, Resize2d, ConvTranspose2d } from './layers/network.js';
export type {
  MaxPool2dConfig,
  AveragePool2dConfig,
  Resize2dConfig,
  ConvTranspose2dConfig,
  MapTensor,
} from './layers/network.js';
