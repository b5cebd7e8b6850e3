// Deterministic stand-ins for text images for the onnx tests, CLI examples and benchmark:
// lines of "words" made of thin dark strokes (the bars and boxes letters are made of) on a
// white page, normalized as PaddleOCR normalizes pixels ((v / 255 - mean) / std).

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * A [1, 3, H, W] float32 image of text-like lines on a white background.
 * @param {readonly number[]} shape
 * @param {number} seed
 * @returns {Float32Array}
 */
export function textImage(shape, seed) {
  const [, , H, W] = shape;
  const ink = new Uint8Array(H * W);
  let s = seed;
  const r = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const lineH = Math.max(8, Math.min(32, Math.floor(H / 3)));
  for (let top = 2 + Math.floor(r() * 4); top + lineH < H; top += lineH + 4 + Math.floor(r() * lineH)) {
    let x = 2 + Math.floor(r() * 10);
    while (x < W - lineH) {
      const letters = 2 + Math.floor(r() * 6);
      for (let l = 0; l < letters && x < W - lineH; l++) {
        const w = Math.max(3, Math.floor(lineH * (0.4 + 0.3 * r())));
        const stroke = Math.max(1, Math.floor(lineH / 8));
        const kind = Math.floor(r() * 4);
        for (let y = 0; y < lineH; y++) {
          for (let dx = 0; dx < w; dx++) {
            const edgeX = dx < stroke || dx >= w - stroke;
            const edgeY = y < stroke || y >= lineH - stroke;
            const mid = Math.abs(y - lineH / 2) < stroke / 2 + 0.5;
            const on =
              kind === 0
                ? edgeX || edgeY
                : kind === 1
                  ? dx < stroke || mid
                  : kind === 2
                    ? edgeX || mid
                    : dx < stroke || edgeY;
            if (on) ink[(top + y) * W + x + dx] = 1;
          }
        }
        x += w + 2;
      }
      x += lineH;
    }
  }
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < H * W; i++) out[c * H * W + i] = ((ink[i] ? 0.1 : 0.95) - MEAN[c]) / STD[c];
  }
  return out;
}

/**
 * 10 log10(sum f^2 / sum (f - g)^2) in dB.
 * @param {ArrayLike<number>} f
 * @param {ArrayLike<number>} g
 * @returns {number}
 */
export function sqnrDb(f, g) {
  let s = 0;
  let e = 0;
  for (let i = 0; i < f.length; i++) {
    s += f[i] * f[i];
    e += (f[i] - g[i]) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}
