// The float32 forward pass in plain JavaScript, written from the definitions with
// direct loops (no im2col, no tiling): what qwasm's float32 path is checked against,
// and the source of the activation ranges the demo calibrates on.
import { INPUT_SHAPE, convOut } from './model.mjs';

/**
 * NHWC conv with zero padding; weights [O, kH, kW, C / group]; optional ReLU.
 * @param {number[]} shape the input's [h, w, c]
 */
export function conv2dRef(x, n, shape, weight, bias, layer) {
  const [h, w, c] = shape;
  const { outC, kernel: k, stride, pad, group, relu } = layer;
  const oh = convOut(h, layer);
  const ow = convOut(w, layer);
  const cg = c / group;
  const og = outC / group;
  const y = new Float32Array(n * oh * ow * outC);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const yo = ((b * oh + i) * ow + j) * outC;
        for (let o = 0; o < outC; o++) {
          const g = Math.floor(o / og);
          let s = bias[o];
          for (let di = 0; di < k; di++) {
            const r = i * stride - pad + di;
            if (r < 0 || r >= h) continue;
            for (let dj = 0; dj < k; dj++) {
              const q = j * stride - pad + dj;
              if (q < 0 || q >= w) continue;
              const xo = ((b * h + r) * w + q) * c + g * cg;
              const wo = ((o * k + di) * k + dj) * cg;
              for (let ci = 0; ci < cg; ci++) s += x[xo + ci] * weight[wo + ci];
            }
          }
          y[yo + o] = relu && s < 0 ? 0 : s;
        }
      }
    }
  }
  return { y, shape: [oh, ow, outC] };
}

/** y[n, N] = x[n, K] . W[N, K]^T + bias; optional ReLU. */
export function linearRef(x, n, weight, bias, layer) {
  const { inF: K, outF: N, relu } = layer;
  const y = new Float32Array(n * N);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < N; o++) {
      let s = bias[o];
      for (let k = 0; k < K; k++) s += x[b * K + k] * weight[o * K + k];
      y[b * N + o] = relu && s < 0 ? 0 : s;
    }
  }
  return y;
}

/**
 * Runs the model on `n` NHWC images `x`; returns the logits [n, 10] and, when asked,
 * every layer's output (`outputs[i]` after layer i, post-ReLU) for calibration.
 */
export function forwardRef(model, x, n, { keepOutputs = false } = {}) {
  let cur = x;
  let shape = INPUT_SHAPE;
  const outputs = [];
  for (const layer of model.arch) {
    const weight = model.params[`${layer.name}.weight`];
    const bias = model.params[`${layer.name}.bias`];
    if (layer.type === 'conv') {
      const r = conv2dRef(cur, n, shape, weight, bias, layer);
      cur = r.y;
      shape = r.shape;
    } else {
      cur = linearRef(cur, n, weight, bias, layer);
      shape = [layer.outF];
    }
    if (keepOutputs) outputs.push(cur);
  }
  return { logits: cur, outputs };
}

/** Index of the largest of `row` (the first on ties). */
export function argmax(a, offset, len) {
  let best = 0;
  for (let i = 1; i < len; i++) if (a[offset + i] > a[offset + best]) best = i;
  return best;
}
