// How the OCR example calibrates its int8 models (one place for the demo, the page and the docs).
//
// Measured on the first 80 evaluation lines (recognition alone, 24 calibration lines unless
// said, qwasm simd build): float32 CER 3.37%; int8 with minmax observers 6.37%, percentile
// 5.74%, mse 4.00% (12 lines: 4.12%, 8 lines: 4.24%); keeping the SVTR neck and head in
// float32 (keepFloat) with minmax 6.74%, so the loss is in the convolutional backbone and a
// range choice that ignores outliers (mse) is what recovers it. Detection and the classifier
// lose nothing measurable with minmax, which calibrates several times faster.
export const CALIBRATION = {
  /** Calibration images the Node demo uses (of the 6 pages and 40 lines in data/calib). */
  pages: 4,
  lines: 16,
  /** The browser page calibrates on fewer images so it is ready sooner. */
  browserPages: 2,
  browserLines: 8,
  /** model.quantize options, per model where given as { det, cls, rec }. */
  options: { observer: { det: 'minmax', cls: 'minmax', rec: 'mse' }, keepFloat: {} },
};
