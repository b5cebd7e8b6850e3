// The PaddleOCR pipeline in plain JavaScript (no Node or DOM APIs, so the browser page uses
// it as is): detection (PP-OCRv4 det, DB post-processing) -> crop and rotate each box ->
// direction classifier (mobile v2.0 cls, rotate 180 degrees when it says so) -> recognition
// (PP-OCRv4 rec) -> CTC greedy decode. Pre- and post-processing follow PaddleOCR's
// tools/infer/predict_det.py, predict_cls.py, predict_rec.py and ppocr/postprocess/db_postprocess.py
// with their default settings.
//
// Inference goes through a runner: `{ run(feeds) -> outputs }` (sync or async), feeds and
// outputs being `{ [name]: { data: Float32Array, shape } }`; qwasm/onnx models are runners as
// they are, an onnxruntime session is one through ortRunner().
//
// Images are `{ width, height, data }`, data RGBA (4 bytes a pixel) like ImageData.

export const DET = {
  limitSideLen: 960,
  thresh: 0.3,
  boxThresh: 0.6,
  unclipRatio: 1.5,
  minSize: 3,
  maxCandidates: 1000,
};
export const CLS = { height: 48, width: 192, thresh: 0.9 };
export const REC = { height: 48, width: 320 };
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** An onnxruntime InferenceSession (node or web) as a runner. */
export function ortRunner(ort, session) {
  return {
    async run(feeds) {
      const t = {};
      for (const [k, v] of Object.entries(feeds)) t[k] = new ort.Tensor('float32', v.data, v.shape);
      const out = await session.run(t);
      const res = {};
      for (const [k, v] of Object.entries(out)) res[k] = { data: v.data, shape: v.dims };
      return res;
    },
  };
}

async function runOne(runner, data, shape) {
  const out = await runner.run({ x: { data, shape } });
  return Object.values(out)[0];
}

/** Bilinear resize of RGBA pixels with OpenCV's INTER_LINEAR sample positions (half-pixel centres). */
export function resizeBilinear(img, nw, nh) {
  const { width: w, height: h, data } = img;
  const out = new Uint8ClampedArray(nw * nh * 4);
  const sx = w / nw;
  const sy = h / nh;
  for (let y = 0; y < nh; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = Math.floor(fy);
    if (y0 > h - 1) y0 = h - 1;
    const y1 = Math.min(y0 + 1, h - 1);
    const ay = Math.min(fy - y0, 1);
    for (let x = 0; x < nw; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      let x0 = Math.floor(fx);
      if (x0 > w - 1) x0 = w - 1;
      const x1 = Math.min(x0 + 1, w - 1);
      const ax = Math.min(fx - x0, 1);
      const o = (y * nw + x) * 4;
      for (let c = 0; c < 3; c++) {
        const a = data[(y0 * w + x0) * 4 + c] * (1 - ax) + data[(y0 * w + x1) * 4 + c] * ax;
        const b = data[(y1 * w + x0) * 4 + c] * (1 - ax) + data[(y1 * w + x1) * 4 + c] * ax;
        out[o + c] = a * (1 - ay) + b * ay;
      }
      out[o + 3] = 255;
    }
  }
  return { width: nw, height: nh, data: out };
}

/** Turns an image upside down (cv2.rotate(img, ROTATE_180)). */
export function rotate180(img) {
  const { width, height, data } = img;
  const out = new Uint8ClampedArray(data.length);
  const n = width * height;
  for (let i = 0; i < n; i++) out.set(data.subarray(i * 4, i * 4 + 4), (n - 1 - i) * 4);
  return { width, height, data: out };
}

/**
 * Detection input: the longer side limited to 960, both sides rounded to multiples of 32,
 * pixels as B, G, R planes (PaddleOCR reads images with OpenCV) at (v / 255 - mean) / std.
 */
export function detPreprocess(img, { limitSideLen = DET.limitSideLen } = {}) {
  const { width: w, height: h } = img;
  const ratio = Math.max(w, h) > limitSideLen ? limitSideLen / Math.max(w, h) : 1;
  const rh = Math.max(Math.round(Math.trunc(h * ratio) / 32) * 32, 32);
  const rw = Math.max(Math.round(Math.trunc(w * ratio) / 32) * 32, 32);
  const r = rw === w && rh === h ? img : resizeBilinear(img, rw, rh);
  const plane = rw * rh;
  const x = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) x[c * plane + i] = (r.data[i * 4 + 2 - c] / 255 - MEAN[c]) / STD[c];
  }
  return { data: x, shape: [1, 3, rh, rw] };
}

/**
 * cls / rec input (resize_norm_img): height 48, width by aspect ratio, zero-padded on the
 * right to `width`; a line wider than that is squeezed to it. Recognition runs at the fixed
 * 3x48x320 of the model's export, so every line shares one plan.
 */
export function lineInput(img, height, width) {
  const ratio = img.width / img.height;
  const rw = Math.min(width, Math.ceil(height * ratio));
  const r = resizeBilinear(img, rw, height);
  const plane = height * width;
  const x = new Float32Array(3 * plane);
  for (let y = 0; y < height; y++) {
    for (let xx = 0; xx < rw; xx++) {
      const s = (y * rw + xx) * 4;
      for (let c = 0; c < 3; c++) x[c * plane + y * width + xx] = (r.data[s + 2 - c] / 255 - 0.5) / 0.5;
    }
  }
  return { data: x, shape: [1, 3, height, width] };
}

// ---------------------------------------------------------------- DB post-processing

/** 8-connected components of the thresholded map, each as its pixel coordinates. */
function components(bitmap, w, h) {
  const label = new Int32Array(w * h);
  const comps = [];
  const stack = [];
  for (let start = 0; start < w * h; start++) {
    if (!bitmap[start] || label[start]) continue;
    const xs = [];
    const ys = [];
    label[start] = comps.length + 1;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop();
      const px = p % w;
      const py = (p - px) / w;
      xs.push(px);
      ys.push(py);
      for (let dy = -1; dy <= 1; dy++) {
        const yy = py + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = px + dx;
          if (xx < 0 || xx >= w) continue;
          const q = yy * w + xx;
          if (bitmap[q] && !label[q]) {
            label[q] = comps.length + 1;
            stack.push(q);
          }
        }
      }
    }
    comps.push({ xs, ys });
  }
  return comps;
}

/** Each row's leftmost and rightmost pixel: the same convex hull as all the pixels, from far fewer points. */
function rowExtremes(xs, ys) {
  const rows = new Map();
  for (let i = 0; i < xs.length; i++) {
    const r = rows.get(ys[i]);
    if (r === undefined) rows.set(ys[i], [xs[i], xs[i]]);
    else if (xs[i] < r[0]) r[0] = xs[i];
    else if (xs[i] > r[1]) r[1] = xs[i];
  }
  const pts = [];
  for (const [y, [lo, hi]] of rows) {
    pts.push([lo, y]);
    if (hi !== lo) pts.push([hi, y]);
  }
  return pts;
}

/** Convex hull (monotone chain) of points given as [x, y] pairs. */
function convexHull(pts) {
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/** Minimum-area rectangle (cv2.minAreaRect) by rotating calipers: { cx, cy, w, h, ux, uy }. */
function minAreaRect(hull) {
  if (hull.length === 1) return { cx: hull[0][0], cy: hull[0][1], w: 0, h: 0, ux: 1, uy: 0 };
  let best = null;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % hull.length];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len;
    const uy = (b[1] - a[1]) / len;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const u = p[0] * ux + p[1] * uy;
      const v = -p[0] * uy + p[1] * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (best === null || area < best.area) {
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { area, cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, w: maxU - minU, h: maxV - minV, ux, uy };
    }
  }
  return best;
}

/** The rectangle's corners ordered as get_mini_boxes orders them: top-left, top-right, bottom-right, bottom-left. */
function corners(r) {
  const hw = r.w / 2;
  const hh = r.h / 2;
  const pts = [
    [-hw, -hh],
    [hw, -hh],
    [hw, hh],
    [-hw, hh],
  ].map(([u, v]) => [r.cx + u * r.ux - v * r.uy, r.cy + u * r.uy + v * r.ux]);
  pts.sort((a, b) => a[0] - b[0]);
  const [l0, l1] = pts[1][1] > pts[0][1] ? [pts[0], pts[1]] : [pts[1], pts[0]];
  const [r0, r1] = pts[3][1] > pts[2][1] ? [pts[2], pts[3]] : [pts[3], pts[2]];
  return [l0, r0, r1, l1];
}

function insideQuad(q, x, y) {
  let sign = 0;
  for (let i = 0; i < 4; i++) {
    const a = q[i];
    const b = q[(i + 1) % 4];
    const c = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
    if (c !== 0) {
      if (sign === 0) sign = Math.sign(c);
      else if (Math.sign(c) !== sign) return false;
    }
  }
  return true;
}

/** box_score_fast: the mean probability inside the box. */
function boxScore(pred, w, h, quad) {
  const xs = quad.map((p) => p[0]);
  const ys = quad.map((p) => p[1]);
  const x0 = Math.max(0, Math.min(w - 1, Math.floor(Math.min(...xs))));
  const x1 = Math.max(0, Math.min(w - 1, Math.ceil(Math.max(...xs))));
  const y0 = Math.max(0, Math.min(h - 1, Math.floor(Math.min(...ys))));
  const y1 = Math.max(0, Math.min(h - 1, Math.ceil(Math.max(...ys))));
  let s = 0;
  let n = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (insideQuad(quad, x, y)) {
        s += pred[y * w + x];
        n++;
      }
    }
  }
  return n ? s / n : 0;
}

/**
 * DB post-processing of the probability map [1, 1, H, W] into boxes in the source image's
 * pixels: threshold, connected regions, minimum-area rectangle, mean-probability score,
 * unclip (the rectangle offset outwards by area * ratio / perimeter), rectangle again, scale.
 */
export function dbPostprocess(pred, shape, srcWidth, srcHeight, opts = DET) {
  const h = shape[2];
  const w = shape[3];
  const bitmap = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) bitmap[i] = pred[i] > opts.thresh ? 1 : 0;
  const boxes = [];
  for (const { xs, ys } of components(bitmap, w, h).slice(0, opts.maxCandidates)) {
    const rect = minAreaRect(convexHull(rowExtremes(xs, ys)));
    if (Math.min(rect.w, rect.h) < opts.minSize) continue;
    const quad = corners(rect);
    const score = boxScore(pred, w, h, quad);
    if (score < opts.boxThresh) continue;
    // Offsetting a rectangle by d rounds its corners; the minimum-area rectangle of that is
    // the rectangle grown by d on every side.
    const d = (rect.w * rect.h * opts.unclipRatio) / (2 * (rect.w + rect.h));
    const grown = { ...rect, w: rect.w + 2 * d, h: rect.h + 2 * d };
    if (Math.min(grown.w, grown.h) < opts.minSize + 2) continue;
    const box = corners(grown).map(([x, y]) => [
      Math.min(Math.max(Math.round((x / w) * srcWidth), 0), srcWidth),
      Math.min(Math.max(Math.round((y / h) * srcHeight), 0), srcHeight),
    ]);
    const bw = Math.hypot(box[1][0] - box[0][0], box[1][1] - box[0][1]);
    const bh = Math.hypot(box[3][0] - box[0][0], box[3][1] - box[0][1]);
    if (bw <= 3 || bh <= 3) continue;
    boxes.push({ box, score });
  }
  return sortBoxes(boxes);
}

/** sorted_boxes: top to bottom, left to right within 10 pixels of the same line. */
export function sortBoxes(boxes) {
  const b = boxes.slice().sort((p, q) => p.box[0][1] - q.box[0][1] || p.box[0][0] - q.box[0][0]);
  for (let i = 0; i < b.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      if (Math.abs(b[j + 1].box[0][1] - b[j].box[0][1]) < 10 && b[j + 1].box[0][0] < b[j].box[0][0]) {
        [b[j], b[j + 1]] = [b[j + 1], b[j]];
      } else break;
    }
  }
  return b;
}

/**
 * get_rotate_crop_image: the box mapped onto an upright rectangle (bilinear, edges
 * replicated); a crop 1.5 times taller than wide is turned 90 degrees.
 */
export function cropBox(img, box) {
  const [p0, p1, p2, p3] = box;
  const cw = Math.trunc(Math.max(Math.hypot(p0[0] - p1[0], p0[1] - p1[1]), Math.hypot(p2[0] - p3[0], p2[1] - p3[1])));
  const ch = Math.trunc(Math.max(Math.hypot(p0[0] - p3[0], p0[1] - p3[1]), Math.hypot(p1[0] - p2[0], p1[1] - p2[1])));
  const w = Math.max(cw, 1);
  const h = Math.max(ch, 1);
  const out = new Uint8ClampedArray(w * h * 4);
  const { width: W, height: H, data } = img;
  const ux = (p1[0] - p0[0]) / w;
  const uy = (p1[1] - p0[1]) / w;
  const vx = (p3[0] - p0[0]) / h;
  const vy = (p3[1] - p0[1]) / h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = Math.min(Math.max(p0[0] + x * ux + y * vx, 0), W - 1);
      const sy = Math.min(Math.max(p0[1] + x * uy + y * vy, 0), H - 1);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, W - 1);
      const y1 = Math.min(y0 + 1, H - 1);
      const ax = sx - x0;
      const ay = sy - y0;
      const o = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) {
        const a = data[(y0 * W + x0) * 4 + c] * (1 - ax) + data[(y0 * W + x1) * 4 + c] * ax;
        const b = data[(y1 * W + x0) * 4 + c] * (1 - ax) + data[(y1 * W + x1) * 4 + c] * ax;
        out[o + c] = a * (1 - ay) + b * ay;
      }
      out[o + 3] = 255;
    }
  }
  const crop = { width: w, height: h, data: out };
  return h / w >= 1.5 ? rotate90ccw(crop) : crop;
}

function rotate90ccw(img) {
  const { width: w, height: h, data } = img;
  const out = new Uint8ClampedArray(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out.set(data.subarray((y * w + x) * 4, (y * w + x) * 4 + 4), ((w - 1 - x) * h + y) * 4);
  }
  return { width: h, height: w, data: out };
}

// ---------------------------------------------------------------- classifier, recognizer

/** Direction: { upsideDown, score } from the classifier's two probabilities ('0', '180'). */
export async function classify(runner, img) {
  const { data, shape } = lineInput(img, CLS.height, CLS.width);
  const y = await runOne(runner, data, shape);
  const label = y.data[1] > y.data[0] ? 1 : 0;
  const score = y.data[label];
  return { upsideDown: label === 1 && score > CLS.thresh, score };
}

/** The recognizer's characters: blank, the dictionary's lines, and a space (use_space_char). */
export function characters(dictText) {
  const lines = dictText.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return ['', ...lines, ' '];
}

/** CTC greedy decode of [1, T, C] probabilities: argmax per step, repeats and blanks dropped. */
export function ctcDecode(probs, shape, chars) {
  const [, T, C] = shape;
  let text = '';
  let prev = -1;
  let sum = 0;
  let n = 0;
  for (let t = 0; t < T; t++) {
    let best = 0;
    let bestP = probs[t * C];
    for (let c = 1; c < C; c++) {
      const p = probs[t * C + c];
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== prev) {
      text += chars[best];
      sum += bestP;
      n++;
    }
    prev = best;
  }
  return { text, score: n ? sum / n : 0 };
}

export async function recognize(runner, img, chars) {
  const { data, shape } = lineInput(img, REC.height, REC.width);
  const y = await runOne(runner, data, shape);
  return ctcDecode(y.data, y.shape, chars);
}

/** One text line (already cropped): direction, then text. */
export async function readLine(models, img, chars) {
  const t0 = performance.now();
  const dir = await classify(models.cls, img);
  const upright = dir.upsideDown ? rotate180(img) : img;
  const t1 = performance.now();
  const rec = await recognize(models.rec, upright, chars);
  const t2 = performance.now();
  return { ...rec, upsideDown: dir.upsideDown, ms: { cls: t1 - t0, rec: t2 - t1 } };
}

/** A whole image: boxes, then every box's text. `models` = { det, cls, rec } runners. */
export async function ocr(models, img, chars) {
  const t0 = performance.now();
  const input = detPreprocess(img);
  const y = await runOne(models.det, input.data, input.shape);
  const boxes = dbPostprocess(y.data, y.shape, img.width, img.height);
  const t1 = performance.now();
  const lines = [];
  for (const b of boxes)
    lines.push({ box: b.box, boxScore: b.score, ...(await readLine(models, cropBox(img, b.box), chars)) });
  return { lines, ms: { det: t1 - t0, total: performance.now() - t0 } };
}
