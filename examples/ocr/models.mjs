// The three PaddleOCR models on qwasm/onnx: float32 as loaded, int8 quantized on calibration
// images (shared by the Node demo, the tests and the browser page; no Node APIs here).
import { CLS, REC, detPreprocess, lineInput, rotate180 } from './pipeline.mjs';

/**
 * Calibration feeds per model from calibration images: pages through detection's
 * preprocessing, lines (as they come: upright and upside down) through the classifier's, and
 * the same lines turned upright through recognition's. `calib` = { pages: [image], lines: [{ image, rotated }] }.
 */
export function calibrationFeeds(calib) {
  return {
    det: calib.pages.map((img) => ({ x: detPreprocess(img) })),
    cls: calib.lines.map((l) => ({ x: lineInput(l.image, CLS.height, CLS.width) })),
    rec: calib.lines.map((l) => ({ x: lineInput(l.rotated ? rotate180(l.image) : l.image, REC.height, REC.width) })),
  };
}

/** Loads the float32 models: { det, cls, rec } OnnxModels. */
export function loadFloat32(qw, OnnxModel, bytes) {
  return Object.fromEntries(Object.entries(bytes).map(([k, b]) => [k, OnnxModel.load(qw, b)]));
}

/**
 * Quantizes each model with its calibration feeds; `options` go to model.quantize (observer,
 * one for all or { det, cls, rec }; keepFloat and int16 as { det: [...], ... }; equalizeTables (true
 * or conv names) and biasCorrection as { det: true, ... });
 * `onProgress(done)` counts calibration records overall.
 * @param {Record<string, any>} float32
 * @param {Record<string, any>} feeds
 * @param {{ observer?: any, keepFloat?: Record<string, string[]>, int16?: Record<string, string[]>, equalizeTables?: Record<string, boolean | string[]>, biasCorrection?: Record<string, boolean>, onProgress?: (done: number) => void }} [options]
 */
export async function quantizeAll(
  float32,
  feeds,
  { observer, keepFloat = {}, int16 = {}, equalizeTables = {}, biasCorrection = {}, onProgress } = {},
) {
  const int8 = {};
  let before = 0;
  for (const k of ['det', 'cls', 'rec']) {
    const base = before;
    int8[k] = await float32[k].quantize({
      calibration: feeds[k],
      observer: typeof observer === 'object' ? observer[k] : observer,
      keepFloat: keepFloat[k],
      int16: int16[k],
      equalizeTables: equalizeTables[k] ?? false,
      biasCorrection: biasCorrection[k] === true,
      onProgress: onProgress && ((done) => onProgress(base + done)),
    });
    before += feeds[k].length;
  }
  return int8;
}
