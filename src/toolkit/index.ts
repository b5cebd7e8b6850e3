// The quantization toolkit: parameters, observers, range search, error metrics, fake
// quantization, int4 packing, residual quantization and the sensitivity report.
export {
  quantRange,
  resolveScheme,
  nudgeZeroPoint,
  rangeParams,
  paramsFromRange,
  computeQuantParams,
  paramsShape,
  quantizeTensor,
  dequantizeTensor,
  fakeQuantize,
  steGradientMask,
  type QuantScheme,
  type Granularity,
  type QuantParams,
  type ResolvedScheme,
} from './scheme.js';
export {
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  HistogramObserver,
  type Observer,
  type ObserverInput,
  type ObserverOptions,
  type ObservedRange,
  type MovingAverageOptions,
  type HistogramOptions,
} from './observers.js';
export type { HistogramMethod, HistogramSnapshot } from './histogram.js';
export {
  searchRange,
  searchClipRange,
  type RangeObjective,
  type SearchMethod,
  type RangeSearchOptions,
  type RangeSearchResult,
  type ReconstructionLoss,
  type ClipSearchOptions,
  type ClipSearchResult,
} from './search.js';
export { quantError, metricLoss, type QuantErrorReport, type ErrorMetric } from './metrics.js';
export { packInt4, unpackInt4, quantizeWeightsInt4, type Int4Weights } from './int4.js';
export { residualQuantize, residualDequantize, type ResidualQuantized, type ResidualStage } from './residual.js';
export {
  sensitivityReport,
  planBits,
  type LayerSample,
  type LayerSensitivity,
  type GranularitySqnr,
  type SensitivityOptions,
  type PlanOptions,
  type BitPlan,
} from './sensitivity.js';
