// The demo model as qwasm layers, in three variants that all take float32 NHWC images
// and return logits (float32, or int8 for the static int8 model; argmax is the same):
//   float32       qw.conv2dF32 / qw.linearF32: the baseline, same tiling as the int8 kernels
//   int8          qw.conv2d / qw.linear: static quantization (quantize.mjs), int8 end to end
//   dynamic int8  weights int8 once, activations quantized per call from their own range:
//                 ONNX's dynamic recipe (DynamicQuantizeLinear + ConvInteger, then scale
//                 and bias in float) for the convs, qw.dynamicLinear for 1x1 conv and fc
import { INPUT_SHAPE, layerShapes, paramShapes } from './model.mjs';

const convAttrs = (layer) => ({
  strides: [layer.stride, layer.stride],
  pads: [layer.pad, layer.pad, layer.pad, layer.pad],
  group: layer.group,
});

const activation = (layer) => (layer.relu ? 'relu' : 'none');

/**
 * Runs the conv layers then the linear layer on n NHWC images, writing into output
 * tensors allocated once per batch size (qwasm's layers then allocate nothing).
 */
function chain(convs, fc, first, ArrayType) {
  const buffers = new Map();
  const shapes = layerShapes();
  return (x, n) => {
    let outs = buffers.get(n);
    if (!outs) {
      outs = shapes.map((s) => ({ data: new ArrayType(n * s.reduce((a, b) => a * b, 1)), shape: [n, ...s] }));
      buffers.set(n, outs);
    }
    let cur = first({ data: x, shape: [n, ...INPUT_SHAPE] });
    convs.forEach((cv, i) => (cur = cv.run(cur, outs[i])));
    return fc.run(cur.data, outs[convs.length].data);
  };
}

/** The float32 baseline. */
export function buildFloat32(qw, model) {
  const convs = [];
  let fc;
  for (const layer of model.arch) {
    const weights = {
      data: model.params[`${layer.name}.weight`],
      shape: paramShapes(layer).weight,
    };
    const bias = model.params[`${layer.name}.bias`];
    if (layer.type === 'linear') fc = qw.linearF32({ weights, bias, activation: activation(layer) });
    else
      convs.push(
        qw.conv2dF32({
          weights,
          bias,
          ...convAttrs(layer),
          activation: activation(layer),
        }),
      );
  }
  return {
    name: 'float32',
    label: 'float32',
    bytes: Object.values(model.params).reduce((n, a) => n + a.byteLength, 0),
    run: chain(convs, fc, (x) => x, Float32Array),
    dispose: () => [...convs, fc].forEach((l) => l.dispose()),
  };
}

/**
 * Static int8 from quantizeModel's output; `requant` 'fp32' (ONNX) or 'fixedpoint' (TFLite).
 * With `int4Classifier` ({ quantizeWeightsInt4, params, groupSize }) the final linear
 * layer keeps 4-bit weights instead (per group of K, float bias, fp32 requantization).
 * @param {any} qw
 * @param {any} qmodel
 * @param {{ requant?: 'fp32' | 'fixedpoint', int4Classifier?: { quantizeWeightsInt4: Function, params: any, groupSize: number } }} [options]
 */
export function buildInt8(qw, qmodel, { requant = 'fp32', int4Classifier } = {}) {
  const convs = [];
  let fc;
  let bytes = 8; // input scale and zero point
  for (const q of qmodel.layers) {
    const { layer } = q;
    const common = {
      weights: { data: q.weights, shape: paramShapes(layer).weight },
      weightScale: q.weightScale,
      bias: q.bias,
      input: {
        scale: q.input.scale,
        zeroPoint: q.input.zeroPoint,
        dtype: 'int8',
      },
      output: { scale: q.output.scale, zeroPoint: q.output.zeroPoint },
      activation: activation(layer),
      requant,
    };
    if (layer.type === 'linear' && int4Classifier) {
      const { quantizeWeightsInt4, params, groupSize } = int4Classifier;
      const w = { data: params[`${layer.name}.weight`], shape: [layer.outF, layer.inF] };
      const int4 = quantizeWeightsInt4(w, { groupSize });
      const bias = params[`${layer.name}.bias`];
      fc = qw.linear({ ...common, ...int4, weightBits: 4, bias });
      bytes += int4.weights.data.byteLength + int4.weightScale.byteLength + bias.byteLength + 8;
      continue;
    }
    bytes += q.weights.byteLength + q.bias.byteLength + q.weightScale.byteLength + 8;
    if (layer.type === 'linear') fc = qw.linear(common);
    else convs.push(qw.conv2d({ ...common, ...convAttrs(layer) }));
  }
  const { scale, zeroPoint } = qmodel.input;
  const name = int4Classifier ? 'int8 + int4 fc' : requant === 'fp32' ? 'int8' : 'int8 fixed-point';
  return {
    name,
    label: int4Classifier
      ? `int8, int4 classifier (g${int4Classifier.groupSize})`
      : `int8 (${requant === 'fp32' ? 'fp32' : 'fixed-point'} requant)`,
    bytes,
    run: chain(convs, fc, (x) => qw.quantizeLinear(x, scale, zeroPoint, { dtype: 'int8' }), Int8Array),
    dispose: () => [...convs, fc].forEach((l) => l.dispose()),
  };
}

/**
 * Dynamic int8: every layer quantizes its input per call (uint8, ONNX
 * DynamicQuantizeLinear) against int8 weights quantized and packed once, and scales the
 * int32 sums back to float with bias and ReLU fused: qw.dynamicConv2d for the convs,
 * qw.dynamicLinear for the classifier.
 */
export function buildDynamic(qw, model) {
  const convs = [];
  let fc;
  let bytes = 0;
  for (const layer of model.arch) {
    const weights = { data: model.params[`${layer.name}.weight`], shape: paramShapes(layer).weight };
    const bias = model.params[`${layer.name}.bias`];
    bytes += weights.data.length + 2 * bias.byteLength; // int8 weights, float32 bias and per-channel scale
    if (layer.type === 'linear') fc = qw.dynamicLinear({ weights, bias, activation: activation(layer) });
    else convs.push(qw.dynamicConv2d({ weights, bias, ...convAttrs(layer), activation: activation(layer) }));
  }
  return {
    name: 'dynamic int8',
    label: 'dynamic int8',
    bytes,
    run: chain(convs, fc, (x) => x, Float32Array),
    dispose: () => [...convs, fc].forEach((l) => l.dispose()),
  };
}
