// The demo's digit classifier: architecture, and the weight files written by train.mjs
// (model.json: architecture, tensor table and training record; model.bin: the float32
// tensors, little-endian, back to back). Layouts are qwasm's: NHWC activations, conv
// weights [O, kH, kW, C / group], linear weights [N, K].

/** conv 3x3 -> ReLU -> conv 3x3 stride 2 -> ReLU -> depthwise 3x3 stride 2 -> ReLU -> 1x1 -> ReLU -> flatten -> linear. */
export const ARCH = [
  {
    name: 'conv1',
    type: 'conv',
    inC: 1,
    outC: 16,
    kernel: 3,
    stride: 1,
    pad: 1,
    group: 1,
    relu: true,
  },
  {
    name: 'conv2',
    type: 'conv',
    inC: 16,
    outC: 32,
    kernel: 3,
    stride: 2,
    pad: 1,
    group: 1,
    relu: true,
  },
  {
    name: 'dw3',
    type: 'conv',
    inC: 32,
    outC: 32,
    kernel: 3,
    stride: 2,
    pad: 1,
    group: 32,
    relu: true,
  },
  {
    name: 'pw4',
    type: 'conv',
    inC: 32,
    outC: 64,
    kernel: 1,
    stride: 1,
    pad: 0,
    group: 1,
    relu: true,
  },
  { name: 'fc', type: 'linear', inF: 7 * 7 * 64, outF: 10, relu: false },
];

export const INPUT_SHAPE = [28, 28, 1];

/** Output spatial size of a conv along one axis. */
export function convOut(size, layer) {
  return Math.floor((size + 2 * layer.pad - layer.kernel) / layer.stride) + 1;
}

/** [H, W, C] of every layer's output, in order. */
export function layerShapes(arch = ARCH) {
  let [h, w, c] = INPUT_SHAPE;
  return arch.map((l) => {
    if (l.type === 'linear') return [l.outF];
    h = convOut(h, l);
    w = convOut(w, l);
    c = l.outC;
    return [h, w, c];
  });
}

/** Shapes of a layer's weight and bias tensors. */
export function paramShapes(layer) {
  if (layer.type === 'linear') return { weight: [layer.outF, layer.inF], bias: [layer.outF] };
  return {
    weight: [layer.outC, layer.kernel, layer.kernel, layer.inC / layer.group],
    bias: [layer.outC],
  };
}

const size = (shape) => shape.reduce((a, b) => a * b, 1);

/** Builds model.json's header and model.bin's bytes from { 'conv1.weight': Float32Array, ... }. */
export function serializeModel(params, training) {
  const tensors = [];
  let offset = 0;
  for (const layer of ARCH) {
    const shapes = paramShapes(layer);
    for (const kind of ['weight', 'bias']) {
      const name = `${layer.name}.${kind}`;
      const length = size(shapes[kind]);
      if (params[name].length !== length)
        throw new Error(`${name} has ${params[name].length} values, expected ${length}`);
      tensors.push({ name, shape: shapes[kind], offset, length });
      offset += length;
    }
  }
  const all = new Float32Array(offset);
  for (const t of tensors) all.set(params[t.name], t.offset);
  const bytes = new Uint8Array(all.buffer);
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1)
    throw new Error('model.bin is little-endian; this host is not');
  const header = {
    format: 'qwasm-mnist-cnn/1',
    dtype: 'float32',
    arch: ARCH,
    tensors,
    training,
  };
  return { header, bytes };
}

/** The inverse of serializeModel: { arch, params, training }. */
export function parseModel(header, buffer) {
  if (header.format !== 'qwasm-mnist-cnn/1') throw new Error(`unknown model format ${header.format}`);
  const all = new Float32Array(
    buffer.buffer ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) : buffer,
  );
  const params = {};
  for (const t of header.tensors) params[t.name] = all.slice(t.offset, t.offset + t.length);
  return { arch: header.arch, params, training: header.training };
}

/** Node.js: reads examples/mnist/model.json + model.bin. */
export async function loadModel() {
  const { readFile } = await import('node:fs/promises');
  const header = JSON.parse(await readFile(new URL('./model.json', import.meta.url), 'utf8'));
  const bin = await readFile(new URL('./model.bin', import.meta.url));
  return parseModel(header, bin);
}

/** The browser: fetches the same two files. */
export async function fetchModel(base = new URL('./', import.meta.url)) {
  const header = await (await fetch(new URL('model.json', base))).json();
  const bin = await (await fetch(new URL('model.bin', base))).arrayBuffer();
  return parseModel(header, bin);
}
