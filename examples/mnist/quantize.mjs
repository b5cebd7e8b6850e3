// Post-training static quantization of the demo model, from the float32 weights and
// activation ranges observed on calibration images:
//   weights     int8, symmetric, per output channel: scale = max|w| / 127, zero point 0
//   activations int8, asymmetric, per tensor, from each observer's [min, max] (0 included)
//   bias        int32 at scale inputScale * weightScale[o], zero point 0
// qwasm then requantizes every layer's int32 accumulators to the next layer's int8.

/**
 * The local min-max observer: the running [min, max] of everything it sees. Used when
 * the qwasm build in dist/ exports no observer of its own.
 */
export class LocalMinMaxObserver {
  constructor() {
    this.min = Infinity;
    this.max = -Infinity;
  }

  observe(x) {
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
  }

  /** int8 { scale, zeroPoint } covering [min, max] widened to include 0. */
  params() {
    return int8Params(this.min, this.max);
  }
}

/** Wraps one of qwasm's toolkit observers in the two calls quantizeModel uses. */
function toolkitObserver(observer) {
  return {
    observe: (x) => observer.observe(x),
    params: () => {
      const p = observer.params({ bits: 8, signed: true, symmetric: false });
      return { scale: p.scale[0], zeroPoint: p.zeroPoint[0] };
    },
  };
}

/**
 * The calibration observer: qwasm's HistogramObserver (the range of least expected
 * quantization error) when the qwasm module exports it, else the local min-max.
 * Returns { name, create() }.
 */
export function chooseObserver(qwasm, method = 'mse') {
  if (typeof qwasm.HistogramObserver === 'function') {
    return {
      name: `HistogramObserver '${method}'`,
      create: () => toolkitObserver(new qwasm.HistogramObserver({ method })),
    };
  }
  return { name: 'local min-max', create: () => new LocalMinMaxObserver() };
}

/** Round half to even, as ONNX QuantizeLinear rounds. */
export function roundHalfEven(x) {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Asymmetric int8 parameters for a real range [lo, hi] (widened so 0 is exact). */
export function int8Params(lo, hi) {
  const min = Math.min(0, lo);
  const max = Math.max(0, hi);
  const scale = Math.fround(max > min ? (max - min) / 255 : 1);
  const zeroPoint = Math.max(-128, Math.min(127, roundHalfEven(-128 - min / scale)));
  return { scale, zeroPoint };
}

/** Symmetric per-output-channel int8 weights: { q: Int8Array, scale: Float32Array }. */
export function quantizeWeightsPerChannel(w, outChannels) {
  const per = w.length / outChannels;
  const q = new Int8Array(w.length);
  const scale = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    let m = 0;
    for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(w[o * per + k]));
    const s = Math.fround(m > 0 ? m / 127 : 1);
    scale[o] = s;
    for (let k = 0; k < per; k++) q[o * per + k] = Math.max(-127, Math.min(127, roundHalfEven(w[o * per + k] / s)));
  }
  return { q, scale };
}

/** int32 bias at scale inputScale * weightScale[o]. */
export function quantizeBias(b, inputScale, weightScale) {
  const q = new Int32Array(b.length);
  for (let o = 0; o < b.length; o++) q[o] = roundHalfEven(b[o] / Math.fround(inputScale * weightScale[o]));
  return q;
}

/**
 * Quantizes `model` ({ arch, params }) with one observer per activation: `observers[0]`
 * saw the input images, `observers[i + 1]` layer i's output. Returns
 * { input: { scale, zeroPoint }, layers: [{ layer, weights, weightScale, bias, input, output }] }.
 */
export function quantizeModel(model, observers) {
  const acts = observers.map((o) => o.params());
  const layers = model.arch.map((layer, i) => {
    const w = model.params[`${layer.name}.weight`];
    const b = model.params[`${layer.name}.bias`];
    const out = layer.type === 'linear' ? layer.outF : layer.outC;
    const { q, scale } = quantizeWeightsPerChannel(w, out);
    return {
      layer,
      weights: q,
      weightScale: scale,
      bias: quantizeBias(b, acts[i].scale, scale),
      input: acts[i],
      output: acts[i + 1],
    };
  });
  return { input: acts[0], layers };
}
