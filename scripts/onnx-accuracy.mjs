// Accuracy of qwasm/onnx int8 on the PaddleOCR models, output against output (no OCR
// scoring): for each model, the SQNR of qwasm int8 against qwasm float32, of qwasm int8
// against onnxruntime-node running the exported QDQ file, and of that QDQ file against
// float32, on evaluation images (examples/ocr/data/eval), calibrated on examples/ocr/data/calib.
// The worst nodes of the sensitivity report follow each model.
//
//   node scripts/onnx-accuracy.mjs [--models det,cls,rec] [--pages 3] [--lines 8]
//        [--observer minmax|mse|percentile|entropy (default: examples/ocr/settings.mjs)]
//        [--calib-pages 4] [--calib-lines 16] [--worst 8] [--backend simd] [--no-equalize]
//        [--tables on|off|conv,conv (equalization through table ops on every chain, none, or
//         the chains of the convs named; default: examples/ocr/settings.mjs)]
//        [--bias-correction on|off (default: examples/ocr/settings.mjs)]
//        [--keep-float name,name,3:6 (node names, or start:end of the planned graph's node order,
//         added to the settings' keepFloat)] [--int16 name,0:2|none (convolutions on 16-bit
//         inputs, in place of the settings' int16)] [--trace (every node's report SQNR)]
//
// Uses dist/ (npm run build first), or the build in $QWASM_DIST.
import * as ort from 'onnxruntime-node';
import { loadSet, modelBytes } from '../examples/ocr/data.mjs';
import { calibrationFeeds } from '../examples/ocr/models.mjs';
import { CLS, REC, detPreprocess, lineInput, rotate180 } from '../examples/ocr/pipeline.mjs';
import { CALIBRATION } from '../examples/ocr/settings.mjs';

const dist = process.env.QWASM_DIST ?? new URL('../dist', import.meta.url).pathname;
const { Qwasm } = await import(`${dist}/index.js`);
const { OnnxModel } = await import(`${dist}/onnx/index.js`);

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const models = opt('models', 'det,cls,rec').split(',');
const observerArg = opt('observer', undefined);
const worst = Number(opt('worst', 8));

/** The node names of --keep-float (or `flag`): names as given, `a:b` as the planned graph's nodes a..b-1. */
function keepFloatArg(model, flag = 'keep-float') {
  const arg = opt(flag, '');
  if (arg === '') return [];
  return arg.split(',').flatMap((s) => {
    if (!/^\d+:\d+$/.test(s)) return [s];
    const [a, b] = s.split(':').map(Number);
    return model.planGraph.nodes.slice(a, b).map((n) => n.name);
  });
}

function sqnr(f, q) {
  let s = 0;
  let e = 0;
  for (let i = 0; i < f.length; i++) {
    s += f[i] * f[i];
    e += (f[i] - q[i]) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

const evalSet = loadSet('eval');
const calibSet = loadSet('calib');
const calibImages = {
  pages: calibSet.pages.slice(0, Number(opt('calib-pages', CALIBRATION.pages))).map((p) => p.image()),
  lines: calibSet.lines
    .slice(0, Number(opt('calib-lines', CALIBRATION.lines)))
    .map((l) => ({ image: l.image(), rotated: l.rotated })),
};
const calib = calibrationFeeds(calibImages);
const evalLines = evalSet.lines
  .slice(0, Number(opt('lines', 8)))
  .map((l) => ({ image: l.image(), rotated: l.rotated }));
const evalFeeds = {
  det: evalSet.pages.slice(0, Number(opt('pages', 3))).map((p) => ({ x: detPreprocess(p.image()) })),
  cls: evalLines.map((l) => ({ x: lineInput(l.image, CLS.height, CLS.width) })),
  rec: evalLines.map((l) => ({ x: lineInput(l.rotated ? rotate180(l.image) : l.image, REC.height, REC.width) })),
};

const qw = await Qwasm.create({ backend: opt('backend', 'simd') });
const bytes = modelBytes();
const fmt = (v) => (v === Infinity ? 'inf' : v.toFixed(1));
for (const k of models) {
  const observer =
    observerArg ??
    (typeof CALIBRATION.options.observer === 'object' ? CALIBRATION.options.observer[k] : CALIBRATION.options.observer);
  const model = OnnxModel.load(qw, bytes[k]);
  const tablesArg = opt('tables', undefined);
  const equalizeTables =
    tablesArg === undefined
      ? (CALIBRATION.options.equalizeTables?.[k] ?? false)
      : tablesArg === 'on' || (tablesArg !== 'off' && tablesArg.split(','));
  const bcArg = opt('bias-correction', undefined);
  const biasCorrection = bcArg === undefined ? CALIBRATION.options.biasCorrection?.[k] === true : bcArg === 'on';
  const t0 = performance.now();
  const q = await model.quantize({
    calibration: calib[k],
    observer,
    keepFloat: [...(CALIBRATION.options.keepFloat?.[k] ?? []), ...keepFloatArg(model)],
    int16: argv.includes('--int16')
      ? keepFloatArg(model, 'int16').filter((n) => n !== 'none')
      : (CALIBRATION.options.int16?.[k] ?? []),
    equalize: !argv.includes('--no-equalize'),
    equalizeTables,
    biasCorrection,
  });
  const calibS = (performance.now() - t0) / 1000;
  const session = await ort.InferenceSession.create(q.toOnnx());
  const rows = [];
  for (const feeds of evalFeeds[k]) {
    const f = Object.values(model.run(feeds))[0].data;
    const i8 = Object.values(q.run(feeds))[0].data;
    const x = feeds.x;
    const o = Object.values(await session.run({ x: new ort.Tensor('float32', x.data, x.shape) }))[0].data;
    rows.push([sqnr(f, i8), sqnr(o, i8), sqnr(f, o)]);
  }
  const mean = (j) => rows.reduce((s, r) => s + r[j], 0) / rows.length;
  const min = (j) => Math.min(...rows.map((r) => r[j]));
  console.log(
    `${k} (${observer}${equalizeTables === true ? ', tables equalized' : Array.isArray(equalizeTables) ? `, ${equalizeTables.length} table chains equalized` : ''}${biasCorrection ? ', bias corrected' : ''}, calibrated on ${calib[k].length} in ${calibS.toFixed(0)} s; ${rows.length} eval inputs): ` +
      `SQNR dB mean/min  int8 vs float ${fmt(mean(0))}/${fmt(min(0))}  ` +
      `int8 vs ort-QDQ ${fmt(mean(1))}/${fmt(min(1))}  ort-QDQ vs float ${fmt(mean(2))}/${fmt(min(2))}`,
  );
  if (worst > 0) {
    const nodes = q.report.nodes;
    // the drop of each node against the best of its inputs shows where error is added
    const list = nodes
      .map((n, i) => ({ ...n, i }))
      .sort((a, b) => a.sqnrDb - b.sqnrDb)
      .slice(0, worst);
    console.log(`  lowest report SQNR of ${nodes.length} int8 nodes (first calibration record):`);
    for (const n of list) console.log(`   #${n.i} ${n.node} -> ${n.output}: ${fmt(n.sqnrDb)} dB`);
  }
  if (argv.includes('--trace')) {
    for (const [i, n] of q.report.nodes.entries()) console.log(`   #${i} ${n.node}: ${fmt(n.sqnrDb)}`);
  }
  model.dispose();
  q.dispose();
}
