// Trains the demo's digit classifier in float32, in plain JavaScript (im2col convs,
// Adam, softmax cross-entropy, random-shift augmentation) from a fixed seed, and
// writes model.json + model.bin beside this file. The demo never trains: it loads
// what this script committed.
//
//   node examples/mnist/train.mjs [--epochs 2]
//
// Same seed, same engine, same files: every random number comes from data.mjs's rng.
import { writeFile } from 'node:fs/promises';
import { loadMnist, rng, shuffle, gather, PIXELS } from './data.mjs';
import { ARCH, INPUT_SHAPE, paramShapes, layerShapes, serializeModel } from './model.mjs';
import { forwardRef, argmax } from './reference.mjs';
import { Progress } from '../progress.mjs';

const SEED = 6;
const BATCH = 32;
const LR = 2e-3;
const argv = process.argv.slice(2);
const EPOCHS = argv.includes('--epochs') ? Number(argv[argv.indexOf('--epochs') + 1]) : 2;

const size = (s) => s.reduce((a, b) => a * b, 1);

/** He-normal weights (std sqrt(2 / fan-in)) from the seeded stream, zero biases. */
function initParams(rand) {
  const gauss = () => {
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const params = {};
  for (const layer of ARCH) {
    const { weight, bias } = paramShapes(layer);
    const fanIn = size(weight.slice(1));
    const std = Math.sqrt(2 / fanIn);
    params[`${layer.name}.weight`] = Float32Array.from({ length: size(weight) }, () => gauss() * std);
    params[`${layer.name}.bias`] = new Float32Array(size(bias));
  }
  return params;
}

/** Rows of kernel windows: cols[(b, i, j), (di, dj, c)], zeros where the window leaves the image. */
function im2col(x, B, [h, w, c], layer, [oh, ow], cols) {
  const { kernel: k, stride, pad } = layer;
  const K = k * k * c;
  cols.fill(0);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const row = ((b * oh + i) * ow + j) * K;
        for (let di = 0; di < k; di++) {
          const r = i * stride - pad + di;
          if (r < 0 || r >= h) continue;
          for (let dj = 0; dj < k; dj++) {
            const q = j * stride - pad + dj;
            if (q < 0 || q >= w) continue;
            const src = ((b * h + r) * w + q) * c;
            const dst = row + (di * k + dj) * c;
            for (let ci = 0; ci < c; ci++) cols[dst + ci] = x[src + ci];
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: scatters column gradients back onto the image. */
function col2im(dcols, B, [h, w, c], layer, [oh, ow], dx) {
  const { kernel: k, stride, pad } = layer;
  const K = k * k * c;
  dx.fill(0);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const row = ((b * oh + i) * ow + j) * K;
        for (let di = 0; di < k; di++) {
          const r = i * stride - pad + di;
          if (r < 0 || r >= h) continue;
          for (let dj = 0; dj < k; dj++) {
            const q = j * stride - pad + dj;
            if (q < 0 || q >= w) continue;
            const dst = ((b * h + r) * w + q) * c;
            const src = row + (di * k + dj) * c;
            for (let ci = 0; ci < c; ci++) dx[dst + ci] += dcols[src + ci];
          }
        }
      }
    }
  }
}

/** y[M, N] = relu?(a[M, K] . W[N, K]^T + bias); four outputs per pass over a row of a. */
function gemmForward(a, M, K, W, bias, N, relu, y) {
  for (let m = 0; m < M; m++) {
    const ab = m * K;
    let o = 0;
    for (; o + 4 <= N; o += 4) {
      const w0 = o * K;
      const w1 = w0 + K;
      const w2 = w1 + K;
      const w3 = w2 + K;
      let s0 = bias[o];
      let s1 = bias[o + 1];
      let s2 = bias[o + 2];
      let s3 = bias[o + 3];
      for (let k = 0; k < K; k++) {
        const v = a[ab + k];
        s0 += v * W[w0 + k];
        s1 += v * W[w1 + k];
        s2 += v * W[w2 + k];
        s3 += v * W[w3 + k];
      }
      const yo = m * N + o;
      y[yo] = relu && s0 < 0 ? 0 : s0;
      y[yo + 1] = relu && s1 < 0 ? 0 : s1;
      y[yo + 2] = relu && s2 < 0 ? 0 : s2;
      y[yo + 3] = relu && s3 < 0 ? 0 : s3;
    }
    for (; o < N; o++) {
      const wb = o * K;
      let s = bias[o];
      for (let k = 0; k < K; k++) s += a[ab + k] * W[wb + k];
      y[m * N + o] = relu && s < 0 ? 0 : s;
    }
  }
}

/**
 * Accumulates dW and dB, and writes da (when given), from dy (ReLU already applied).
 * `Wt` is W transposed [K, N], so da's products run along contiguous rows, four at a time.
 */
function gemmBackward(dy, a, M, K, Wt, N, dW, dB, da) {
  for (let m = 0; m < M; m++) {
    const ab = m * K;
    const yb = m * N;
    for (let o = 0; o < N; o++) {
      const g = dy[yb + o];
      if (g === 0) continue;
      dB[o] += g;
      const wb = o * K;
      for (let k = 0; k < K; k++) dW[wb + k] += g * a[ab + k];
    }
    if (!da) continue;
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const t0 = k * N;
      const t1 = t0 + N;
      const t2 = t1 + N;
      const t3 = t2 + N;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let o = 0; o < N; o++) {
        const g = dy[yb + o];
        s0 += g * Wt[t0 + o];
        s1 += g * Wt[t1 + o];
        s2 += g * Wt[t2 + o];
        s3 += g * Wt[t3 + o];
      }
      da[ab + k] = s0;
      da[ab + k + 1] = s1;
      da[ab + k + 2] = s2;
      da[ab + k + 3] = s3;
    }
    for (; k < K; k++) {
      const tb = k * N;
      let s = 0;
      for (let o = 0; o < N; o++) s += dy[yb + o] * Wt[tb + o];
      da[ab + k] = s;
    }
  }
}

function transpose(W, N, K, Wt) {
  for (let o = 0; o < N; o++) for (let k = 0; k < K; k++) Wt[k * N + o] = W[o * K + k];
  return Wt;
}

/** Depthwise conv (group = channels), weights [C, k, k, 1]. */
function depthwiseForward(x, B, [h, w, c], layer, [oh, ow], W, bias, y) {
  const { kernel: k, stride, pad, relu } = layer;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const yo = ((b * oh + i) * ow + j) * c;
        for (let ci = 0; ci < c; ci++) y[yo + ci] = bias[ci];
        for (let di = 0; di < k; di++) {
          const r = i * stride - pad + di;
          if (r < 0 || r >= h) continue;
          for (let dj = 0; dj < k; dj++) {
            const q = j * stride - pad + dj;
            if (q < 0 || q >= w) continue;
            const xo = ((b * h + r) * w + q) * c;
            for (let ci = 0; ci < c; ci++) y[yo + ci] += x[xo + ci] * W[(ci * k + di) * k + dj];
          }
        }
        if (relu) for (let ci = 0; ci < c; ci++) if (y[yo + ci] < 0) y[yo + ci] = 0;
      }
    }
  }
}

function depthwiseBackward(dy, x, B, [h, w, c], layer, [oh, ow], W, dW, dB, dx) {
  const { kernel: k, stride, pad } = layer;
  dx.fill(0);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const yo = ((b * oh + i) * ow + j) * c;
        for (let ci = 0; ci < c; ci++) dB[ci] += dy[yo + ci];
        for (let di = 0; di < k; di++) {
          const r = i * stride - pad + di;
          if (r < 0 || r >= h) continue;
          for (let dj = 0; dj < k; dj++) {
            const q = j * stride - pad + dj;
            if (q < 0 || q >= w) continue;
            const xo = ((b * h + r) * w + q) * c;
            for (let ci = 0; ci < c; ci++) {
              const g = dy[yo + ci];
              const wi = (ci * k + di) * k + dj;
              dW[wi] += g * x[xo + ci];
              dx[xo + ci] += g * W[wi];
            }
          }
        }
      }
    }
  }
}

/** Per-layer buffers for a batch of B, allocated once. */
function makeBuffers(B) {
  const shapes = layerShapes();
  let inShape = INPUT_SHAPE;
  return ARCH.map((layer, i) => {
    const outShape = shapes[i];
    const outLen = B * size(outShape);
    const inLen = B * size(inShape);
    const wt = new Float32Array(size(paramShapes(layer).weight));
    const buf = {
      layer,
      inShape,
      outShape,
      wt,
      y: new Float32Array(outLen),
      dx: new Float32Array(inLen),
      dy: new Float32Array(outLen),
    };
    if (layer.type === 'conv' && layer.group === 1 && !(layer.kernel === 1 && layer.stride === 1 && layer.pad === 0)) {
      const K = layer.kernel * layer.kernel * inShape[2];
      buf.cols = new Float32Array(B * outShape[0] * outShape[1] * K);
      buf.dcols = new Float32Array(buf.cols.length);
    }
    inShape = outShape;
    return buf;
  });
}

function forward(params, bufs, x, B) {
  let cur = x;
  for (const buf of bufs) {
    const { layer, inShape, outShape } = buf;
    const W = params[`${layer.name}.weight`];
    const bias = params[`${layer.name}.bias`];
    buf.x = cur;
    if (layer.type === 'linear') {
      gemmForward(cur, B, layer.inF, W, bias, layer.outF, layer.relu, buf.y);
    } else if (layer.group > 1) {
      depthwiseForward(cur, B, inShape, layer, outShape, W, bias, buf.y);
    } else {
      const K = layer.kernel * layer.kernel * inShape[2];
      const M = B * outShape[0] * outShape[1];
      if (buf.cols) im2col(cur, B, inShape, layer, outShape, buf.cols);
      gemmForward(buf.cols ?? cur, M, K, W, bias, layer.outC, layer.relu, buf.y);
    }
    cur = buf.y;
  }
  return cur;
}

/** Softmax cross-entropy: returns the mean loss and writes dLogits into `dy`. */
function lossAndGrad(logits, labels, B, dy) {
  let loss = 0;
  for (let b = 0; b < B; b++) {
    let mx = -Infinity;
    for (let c = 0; c < 10; c++) mx = Math.max(mx, logits[b * 10 + c]);
    let sum = 0;
    for (let c = 0; c < 10; c++) sum += Math.exp(logits[b * 10 + c] - mx);
    for (let c = 0; c < 10; c++) {
      const p = Math.exp(logits[b * 10 + c] - mx) / sum;
      dy[b * 10 + c] = (p - (c === labels[b] ? 1 : 0)) / B;
    }
    loss -= logits[b * 10 + labels[b]] - mx - Math.log(sum);
  }
  return loss / B;
}

function backward(params, grads, bufs, B) {
  for (let i = bufs.length - 1; i >= 0; i--) {
    const { layer, inShape, outShape, x, y, dy, dx } = bufs[i];
    const W = params[`${layer.name}.weight`];
    const dW = grads[`${layer.name}.weight`];
    const dB = grads[`${layer.name}.bias`];
    if (layer.relu) for (let k = 0; k < y.length; k++) if (y[k] <= 0) dy[k] = 0;
    const needDx = i > 0;
    if (layer.type === 'linear') {
      const Wt = transpose(W, layer.outF, layer.inF, bufs[i].wt);
      gemmBackward(dy, x, B, layer.inF, Wt, layer.outF, dW, dB, needDx ? dx : null);
    } else if (layer.group > 1) {
      depthwiseBackward(dy, x, B, inShape, layer, outShape, W, dW, dB, dx);
    } else {
      const K = layer.kernel * layer.kernel * inShape[2];
      const M = B * outShape[0] * outShape[1];
      const b = bufs[i];
      const Wt = transpose(W, layer.outC, K, b.wt);
      gemmBackward(dy, b.cols ?? x, M, K, Wt, layer.outC, dW, dB, needDx ? (b.dcols ?? dx) : null);
      if (needDx && b.cols) col2im(b.dcols, B, inShape, layer, outShape, dx);
    }
    if (needDx) bufs[i - 1].dy.set(dx);
  }
}

/** Adam (Kingma & Ba) with bias correction. */
function adamStep(params, grads, state, lr, t) {
  const b1 = 0.9;
  const b2 = 0.999;
  const c1 = 1 - b1 ** t;
  const c2 = 1 - b2 ** t;
  for (const name of Object.keys(params)) {
    const p = params[name];
    const g = grads[name];
    const m = state.m[name];
    const v = state.v[name];
    for (let k = 0; k < p.length; k++) {
      m[k] = b1 * m[k] + (1 - b1) * g[k];
      v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
      p[k] -= (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + 1e-8);
      g[k] = 0;
    }
  }
}

/** Augmentation: each image moved by a random whole-pixel offset in [-2, 2] on both axes. */
function shiftImages(x, B, rand, out) {
  const side = INPUT_SHAPE[0];
  out.fill(0);
  for (let b = 0; b < B; b++) {
    const dy = Math.floor(rand() * 5) - 2;
    const dx = Math.floor(rand() * 5) - 2;
    for (let i = Math.max(0, dy); i < Math.min(side, side + dy); i++) {
      const src = b * PIXELS + (i - dy) * side - dx;
      const dst = b * PIXELS + i * side;
      for (let j = Math.max(0, dx); j < Math.min(side, side + dx); j++) out[dst + j] = x[src + j];
    }
  }
  return out;
}

const { train, test } = await loadMnist();
const rand = rng(SEED);
const params = initParams(rand);
const zeros = () => Object.fromEntries(Object.entries(params).map(([k, v]) => [k, new Float32Array(v.length)]));
const grads = zeros();
const state = { m: zeros(), v: zeros() };
const bufs = makeBuffers(BATCH);
const dLogits = bufs[bufs.length - 1].dy;
const stepsPerEpoch = Math.floor(train.count / BATCH);
const totalSteps = EPOCHS * stepsPerEpoch;
const labels = new Uint8Array(BATCH);
const shiftBuf = new Float32Array(BATCH * PIXELS);
let t = 0;
let runningLoss = 2.3;
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const order = shuffle(
    Array.from({ length: train.count }, (_, i) => i),
    rand,
  );
  const bar = new Progress(`train epoch ${epoch}/${EPOCHS}`, stepsPerEpoch);
  for (let s = 0; s < stepsPerEpoch; s++) {
    const idx = order.slice(s * BATCH, (s + 1) * BATCH);
    for (let b = 0; b < BATCH; b++) labels[b] = train.labels[idx[b]];
    const logits = forward(params, bufs, shiftImages(gather(train, idx), BATCH, rand, shiftBuf), BATCH);
    const loss = lossAndGrad(logits, labels, BATCH, dLogits);
    runningLoss = 0.95 * runningLoss + 0.05 * loss;
    backward(params, grads, bufs, BATCH);
    t++;
    // cosine decay from LR to 0 over the whole run
    const lr = LR * 0.5 * (1 + Math.cos((Math.PI * (t - 1)) / totalSteps));
    adamStep(params, grads, state, lr, t);
    bar.tick(1, `loss ${runningLoss.toFixed(3)}`);
  }
  bar.finish(`loss ${runningLoss.toFixed(3)}`);
}

// Held-out accuracy through the plain reference forward: also proves the trainer's
// im2col path and reference.mjs compute the same network.
const model = { arch: ARCH, params };
const evalBar = new Progress('test accuracy (reference forward)', test.count);
let correct = 0;
const chunk = 100;
for (let s = 0; s < test.count; s += chunk) {
  const n = Math.min(chunk, test.count - s);
  const { logits } = forwardRef(model, test.images.subarray(s * PIXELS, (s + n) * PIXELS), n);
  for (let b = 0; b < n; b++) if (argmax(logits, b * 10, 10) === test.labels[s + b]) correct++;
  evalBar.tick(n);
}
const testAccuracy = correct / test.count;
evalBar.finish(`${(100 * testAccuracy).toFixed(2)}%`);

const { header, bytes } = serializeModel(params, {
  script: 'examples/mnist/train.mjs',
  seed: SEED,
  epochs: EPOCHS,
  batch: BATCH,
  optimizer: 'adam',
  learningRate: LR,
  schedule: 'cosine',
  augmentation: 'random shift, -2..2 pixels per axis',
  trainImages: train.count,
  testImages: test.count,
  testAccuracy,
});
await writeFile(new URL('./model.bin', import.meta.url), bytes);
// formatted as the repository's prettier check expects
const prettier = await import('prettier');
const jsonFile = new URL('./model.json', import.meta.url);
const options = await prettier.resolveConfig(jsonFile);
await writeFile(jsonFile, await prettier.format(JSON.stringify(header), { ...options, parser: 'json' }));
console.log(
  `wrote examples/mnist/model.json + model.bin (${bytes.length} bytes), test accuracy ${(100 * testAccuracy).toFixed(2)}%`,
);
