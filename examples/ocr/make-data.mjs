// Generates the OCR evaluation and calibration images in examples/ocr/data/ (committed; rerun
// to reproduce them byte for byte): text rendered with pureimage in DejaVu fonts (the npm
// package dejavu-fonts-ttf, no system fonts), then paper tint, gaussian noise, an optional box
// blur and JPEG compression at a random quality. Everything is seeded.
//
//   lines/  text-line images, ground truth = the text (some rotated 180 degrees)
//   pages/  640x480 page-like images of several lines in mixed sizes, ground truth = text and
//           axis-aligned boxes (a few pages rotated 180 degrees)
//   calib/  lines and pages made from other seeds and other words: calibration only
//
//   node examples/ocr/make-data.mjs
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as PImage from 'pureimage';
import jpeg from 'jpeg-js';
import * as prettier from 'prettier';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'data');
const fontDir = path.join(path.dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const FONTS = [
  ['DejaVuSans.ttf', 'Sans'],
  ['DejaVuSerif.ttf', 'Serif'],
  ['DejaVuSansMono.ttf', 'Mono'],
  ['DejaVuSans-Bold.ttf', 'SansBold'],
  ['DejaVuSerifCondensed.ttf', 'SerifCond'],
];
for (const [file, family] of FONTS) PImage.registerFont(path.join(fontDir, file), family).loadSync();

const WORDS = (
  'the of and to in is for on with as by at from that this are be or it an was which not have ' +
  'model engine kernel image text line page scan invoice total amount date order number price ' +
  'quantity street city north south river paper print office report table column value market ' +
  'station ticket receipt coffee bread water light green black orange winter summer monday friday ' +
  'account balance payment delivery address phone email customer service product version update ' +
  'school garden window museum library hotel airport bridge harbor castle forest island valley'
).split(' ');

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (r, a) => a[Math.floor(r() * a.length)];

/** A short phrase: words, sometimes a number, a price or a date; capitalised at random. */
function phrase(r, words, maxChars) {
  const parts = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const k = r();
    let w;
    if (k < 0.15) w = String(Math.floor(r() * 10000));
    else if (k < 0.22) w = `${Math.floor(r() * 100)}.${String(Math.floor(r() * 100)).padStart(2, '0')}`;
    else if (k < 0.27) w = `${1 + Math.floor(r() * 28)}/${1 + Math.floor(r() * 12)}/20${10 + Math.floor(r() * 20)}`;
    else {
      w = pick(r, words);
      const c = r();
      if (c < 0.3) w = w[0].toUpperCase() + w.slice(1);
      else if (c < 0.38) w = w.toUpperCase();
    }
    if (parts.join(' ').length + w.length + 1 > maxChars && parts.length) break;
    parts.push(w);
  }
  let s = parts.join(' ');
  if (r() < 0.15) s += pick(r, [':', '.', ',', '!', '?']);
  return s;
}

/** Paper tint, gaussian noise, optional 3x3 box blur, 180-degree rotation; RGBA in place. */
function degrade(r, bmp, { blur, sigma, rotate }) {
  const { width: w, height: h, data } = bmp;
  if (blur) {
    const src = Uint8ClampedArray.from(data);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          let n = 0;
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const yy = y + dy;
              const xx = x + dx;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              s += src[(yy * w + xx) * 4 + c];
              n++;
            }
          }
          data[(y * w + x) * 4 + c] = s / n;
        }
      }
    }
  }
  for (let i = 0; i < w * h; i++) {
    const g = sigma * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    for (let c = 0; c < 3; c++) data[i * 4 + c] = data[i * 4 + c] + g;
    data[i * 4 + 3] = 255;
  }
  if (rotate) {
    for (let i = 0, j = w * h - 1; i < j; i++, j--) {
      for (let c = 0; c < 4; c++) {
        const t = data[i * 4 + c];
        data[i * 4 + c] = data[j * 4 + c];
        data[j * 4 + c] = t;
      }
    }
  }
}

function paper(r, ctx, w, h) {
  const base = 225 + Math.floor(r() * 30);
  ctx.fillStyle = `rgb(${base}, ${base - Math.floor(r() * 8)}, ${base - Math.floor(r() * 16)})`;
  ctx.fillRect(0, 0, w, h);
}
const ink = (r) => {
  const v = Math.floor(r() * 60);
  return `rgb(${v}, ${v}, ${v + Math.floor(r() * 40)})`;
};

function save(file, r, bmp, opts) {
  degrade(r, bmp, opts);
  const quality = 55 + Math.floor(r() * 35);
  fs.writeFileSync(file, jpeg.encode({ data: bmp.data, width: bmp.width, height: bmp.height }, quality).data);
}

function makeLine(r, words, file) {
  const size = 18 + Math.floor(r() * 18);
  const family = pick(r, FONTS)[1];
  const text = phrase(r, words, 18);
  const probe = PImage.make(8, 8);
  const pctx = probe.getContext('2d');
  pctx.font = `${size}px ${family}`;
  const tw = Math.ceil(pctx.measureText(text).width);
  const padX = 4 + Math.floor(r() * 10);
  const h = Math.round(size * (1.35 + r() * 0.3));
  const w = tw + 2 * padX;
  const bmp = PImage.make(w, h);
  const ctx = bmp.getContext('2d');
  paper(r, ctx, w, h);
  ctx.font = `${size}px ${family}`;
  ctx.fillStyle = ink(r);
  ctx.fillText(text, padX, Math.round(h / 2 + size * 0.36));
  const rotate = r() < 0.1;
  save(file, r, bmp, { blur: r() < 0.3, sigma: 2 + r() * 8, rotate });
  return { file: path.basename(file), text, font: family, size, rotated: rotate };
}

function makePage(r, words, file) {
  const W = 640;
  const H = 480;
  const bmp = PImage.make(W, H);
  const ctx = bmp.getContext('2d');
  paper(r, ctx, W, H);
  const lines = [];
  let y = 20 + Math.floor(r() * 30);
  const family = pick(r, FONTS)[1];
  while (true) {
    const size = pick(r, [16, 18, 20, 24, 28, 34, 40]);
    const lineH = Math.round(size * 1.25);
    if (y + lineH > H - 20) break;
    ctx.font = `${size}px ${family}`;
    // One or two phrases per row, separated by a wide gap (columns, a price beside an item).
    let x = 20 + Math.floor(r() * 80);
    const cols = r() < 0.4 ? 2 : 1;
    for (let c = 0; c < cols; c++) {
      const text = phrase(r, words, 16);
      const tw = Math.ceil(ctx.measureText(text).width);
      if (x + tw > W - 20) break;
      ctx.fillStyle = ink(r);
      const base = y + Math.round(size * 0.95);
      ctx.fillText(text, x, base);
      // Ground-truth box: the advance width by the em box (ascender to descender).
      lines.push({ text, box: [x, base - Math.round(size * 0.93), x + tw, base + Math.round(size * 0.24)], size });
      x += tw + 40 + Math.floor(r() * 120);
    }
    y += lineH + Math.floor(r() * size * 1.2) + 4;
  }
  const rotate = r() < 0.15;
  if (rotate) for (const l of lines) l.box = [W - l.box[2], H - l.box[3], W - l.box[0], H - l.box[1]];
  save(file, r, bmp, { blur: r() < 0.25, sigma: 2 + r() * 6, rotate });
  return { file: path.basename(file), width: W, height: H, font: family, rotated: rotate, lines };
}

async function build(dir, seed, words, nLines, nPages) {
  fs.rmSync(path.join(out, dir), { recursive: true, force: true });
  fs.mkdirSync(path.join(out, dir, 'lines'), { recursive: true });
  fs.mkdirSync(path.join(out, dir, 'pages'), { recursive: true });
  const r = rng(seed);
  const lines = [];
  for (let i = 0; i < nLines; i++) {
    lines.push(makeLine(r, words, path.join(out, dir, 'lines', `line-${String(i).padStart(3, '0')}.jpg`)));
  }
  const pages = [];
  for (let i = 0; i < nPages; i++) {
    pages.push(makePage(r, words, path.join(out, dir, 'pages', `page-${String(i).padStart(3, '0')}.jpg`)));
  }
  // Written as the repository's formatter writes JSON, so `npm run format:check` passes.
  const json = await prettier.format(JSON.stringify({ lines, pages }), { parser: 'json', printWidth: 120 });
  fs.writeFileSync(path.join(out, dir, 'truth.json'), json);
  console.log(`${dir}: ${nLines} lines, ${nPages} pages`);
}

// Calibration uses other seeds and a disjoint half of the vocabulary.
const evalWords = WORDS.filter((_, i) => i % 4 !== 3);
const calibWords = WORDS.filter((_, i) => i % 4 === 3);
await build('eval', 20261201, evalWords, 200, 20);
await build('calib', 777, calibWords, 40, 6);
