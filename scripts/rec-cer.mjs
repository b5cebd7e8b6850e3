// Character error rate of PP-OCRv4 recognition alone on the OCR example's evaluation lines
// (examples/ocr/data/eval, each line turned upright by its known rotation, so the classifier
// plays no part), in qwasm float32 and in int8 quantized on the calibration lines, for one or
// more quantize settings in one run (the float32 pass is shared), with the SQNR of the logits.
//
//   node scripts/rec-cer.mjs [--lines 40] [--calib-lines 16] [--backend simd]
//        [--config 'observer=mse;tables=off;bc=off;keep=name,name;calib=16' ...]
//
// Without --config: the settings of examples/ocr/settings.mjs. Each --config key left out
// takes the settings' value. Uses dist/ (npm run build first), or the build in $QWASM_DIST.
import { loadCharacters, loadSet, modelBytes } from '../examples/ocr/data.mjs';
import { TextScore } from '../examples/ocr/evaluate.mjs';
import { REC, ctcDecode, lineInput, rotate180 } from '../examples/ocr/pipeline.mjs';
import { CALIBRATION } from '../examples/ocr/settings.mjs';

const dist = process.env.QWASM_DIST ?? new URL('../dist', import.meta.url).pathname;
const { Qwasm } = await import(`${dist}/index.js`);
const { OnnxModel } = await import(`${dist}/onnx/index.js`);

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const configs = argv.flatMap((a, i) => (a === '--config' ? [argv[i + 1]] : []));
if (configs.length === 0) configs.push('');

const o = CALIBRATION.options;
const pick = (v) => (typeof v === 'object' && v !== null ? v.rec : v);
function parseConfig(text) {
  const kv = Object.fromEntries(
    text
      .split(';')
      .filter((s) => s.includes('='))
      .map((s) => [s.slice(0, s.indexOf('=')).trim(), s.slice(s.indexOf('=') + 1).trim()]),
  );
  return {
    label: text || 'settings.mjs',
    observer: kv.observer ?? pick(o.observer),
    equalizeTables: kv.tables === undefined ? o.equalizeTables?.rec === true : kv.tables === 'on',
    biasCorrection: kv.bc === undefined ? o.biasCorrection?.rec === true : kv.bc === 'on',
    keepFloat: kv.keep === undefined ? (o.keepFloat?.rec ?? []) : kv.keep.split(',').filter(Boolean),
    calibLines: Number(kv.calib ?? opt('calib-lines', CALIBRATION.lines)),
    equalize: kv.equalize !== 'off',
  };
}

const evalSet = loadSet('eval');
const calibSet = loadSet('calib');
const chars = loadCharacters();
const recInput = (l) => {
  const img = l.image();
  return lineInput(l.rotated ? rotate180(img) : img, REC.height, REC.width);
};
const lines = evalSet.lines.slice(0, Number(opt('lines', 40))).map((l) => ({ text: l.text, x: recInput(l) }));
const calibAll = calibSet.lines.map((l) => ({ x: recInput(l) }));

const qw = await Qwasm.create({ backend: opt('backend', 'simd') });
const model = OnnxModel.load(qw, modelBytes().rec);

function score(run) {
  const text = new TextScore();
  const outs = [];
  for (const l of lines) {
    const y = Object.values(run({ x: l.x }))[0];
    outs.push(Float32Array.from(y.data));
    text.add(l.text, ctcDecode(y.data, y.shape, chars).text);
  }
  return { text, outs };
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

const float = score((feeds) => model.run(feeds));
console.log(
  `rec float32: CER ${float.text.cer.toFixed(2)}%, lines exact ${float.text.lineAccuracy.toFixed(1)}% (${lines.length} eval lines, ${qw.backend})`,
);
for (const text of configs) {
  const c = parseConfig(text);
  const q = await model.quantize({
    calibration: calibAll.slice(0, c.calibLines),
    observer: c.observer,
    keepFloat: c.keepFloat,
    equalize: c.equalize,
    equalizeTables: c.equalizeTables,
    biasCorrection: c.biasCorrection,
  });
  const r = score((feeds) => q.run(feeds));
  const db = r.outs.map((y, i) => sqnr(float.outs[i], y));
  const mean = db.reduce((s, v) => s + v, 0) / db.length;
  console.log(
    `rec int8 [${c.label}] (${c.observer}, ${c.calibLines} calib lines${c.equalizeTables ? ', tables equalized' : ''}${c.biasCorrection ? ', bias corrected' : ''}${c.keepFloat.length ? `, keepFloat ${c.keepFloat.length}` : ''}): ` +
      `CER ${r.text.cer.toFixed(2)}%, lines exact ${r.text.lineAccuracy.toFixed(1)}%, logits SQNR mean/min ${mean.toFixed(1)}/${Math.min(...db).toFixed(1)} dB`,
  );
  q.dispose();
}
model.dispose();
