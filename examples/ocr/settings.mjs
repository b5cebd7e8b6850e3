// How the OCR example calibrates its int8 models (one place for the demo, the page and the docs).
//
// Measured on the first 80 evaluation lines (recognition alone, 24 calibration lines unless
// said, qwasm simd build): float32 CER 3.37%; int8 with minmax observers 6.37%, percentile
// 5.74%, mse 4.00% (12 lines: 4.12%, 8 lines: 4.24%); keeping the SVTR neck and head in
// float32 (keepFloat) with minmax 6.74%, so the loss is in the convolutional backbone and a
// range choice that ignores outliers (mse) is what recovers it. Detection on the first 12
// evaluation pages (4 calibration pages): float32 recall 96.3%; int8 minmax 91.0% (6 pages:
// 91.0%), percentile 95.5%, mse 94.8% at four times the calibration time. The classifier's
// verdicts hold with minmax.
export const CALIBRATION = {
  /** Calibration images the Node demo uses (of the 6 pages and 40 lines in data/calib). */
  pages: 4,
  lines: 16,
  /** The browser page calibrates on fewer images so it is ready sooner. */
  browserPages: 2,
  browserLines: 8,
  /** model.quantize options, per model where given as { det, cls, rec }. */
  options: { observer: { det: 'percentile', cls: 'minmax', rec: 'mse' }, keepFloat: {} },
};
