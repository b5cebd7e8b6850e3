// The OCR example (examples/ocr): each stage of the PaddleOCR pipeline through qwasm/onnx
// float32 checked against onnxruntime-node on the same input (detection map and boxes, the
// classifier's probabilities, recognition's probabilities and text, a whole page), the
// int8 classifier against float, and the pure post-processing pieces on made-up inputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { loadCharacters, loadSet, modelBytes } from '../examples/ocr/data.mjs';
import {
  CLS,
  REC,
  classify,
  cropBox,
  ctcDecode,
  dbPostprocess,
  detPreprocess,
  lineInput,
  ocr,
  ortRunner,
  recognize,
  rotate180,
  sortBoxes,
} from '../examples/ocr/pipeline.mjs';
import { calibrationFeeds } from '../examples/ocr/models.mjs';
import { PageScore, TextScore, editDistance } from '../examples/ocr/evaluate.mjs';

type Tensor = { data: Float32Array; shape: number[] };
type Runner = { run(feeds: Record<string, Tensor>): unknown };
type Models = { det: Runner; cls: Runner; rec: Runner };

const bytes = modelBytes() as { det: Uint8Array; cls: Uint8Array; rec: Uint8Array };
const chars = loadCharacters();
const evalSet = loadSet('eval');
let qw: Qwasm;
let qm: Models & { det: OnnxModel; cls: OnnxModel; rec: OnnxModel };
let om: Models;

beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd', threads: 1 });
  qm = {
    det: OnnxModel.load(qw, bytes.det),
    cls: OnnxModel.load(qw, bytes.cls),
    rec: OnnxModel.load(qw, bytes.rec),
  };
  om = {
    det: ortRunner(ort, await ort.InferenceSession.create(bytes.det)),
    cls: ortRunner(ort, await ort.InferenceSession.create(bytes.cls)),
    rec: ortRunner(ort, await ort.InferenceSession.create(bytes.rec)),
  };
});
afterAll(() => {
  for (const m of Object.values(qm ?? {})) m.dispose();
  qw?.dispose();
});

async function both(key: keyof Models, x: Tensor): Promise<[Float32Array, Float32Array, number[]]> {
  const a = Object.values(qm[key].run({ x }) as Record<string, Tensor>)[0]!;
  const b = Object.values((await om[key].run({ x })) as Record<string, Tensor>)[0]!;
  return [a.data as Float32Array, b.data, b.shape];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('OCR pipeline stages: qwasm/onnx float32 against onnxruntime-node', () => {
  const page = evalSet.pages[0]!;
  const lines = evalSet.lines.slice(0, 3);

  it('detection: the probability map and the DB boxes agree on a page', async () => {
    const img = page.image();
    const x = detPreprocess(img);
    expect(x.shape).toEqual([1, 3, 480, 640]);
    const [a, b, shape] = await both('det', x);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-3);
    const boxesA = dbPostprocess(a, shape, img.width, img.height);
    const boxesB = dbPostprocess(b, shape, img.width, img.height);
    expect(boxesA.length).toBe(boxesB.length);
    expect(boxesA.length).toBeGreaterThanOrEqual(page.lines.length - 1);
    boxesA.forEach((box: { box: number[][] }, i: number) =>
      expect(maxAbsDiff(box.box.flat(), boxesB[i]!.box.flat())).toBeLessThanOrEqual(1),
    );
  });

  it('direction classifier: the same probabilities and the same verdict on upright and turned lines', async () => {
    for (const l of lines) {
      const img = l.image();
      for (const im of [img, rotate180(img)]) {
        const [a, b] = await both('cls', lineInput(im, CLS.height, CLS.width));
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-3);
        expect((await classify(qm.cls, im)).upsideDown).toBe((await classify(om.cls, im)).upsideDown);
      }
    }
  });

  it('recognition: the same probabilities and the same decoded text', async () => {
    for (const l of lines) {
      const img = l.rotated ? rotate180(l.image()) : l.image();
      const [a, b] = await both('rec', lineInput(img, REC.height, REC.width));
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-3);
      const ta = await recognize(qm.rec, img, chars);
      expect(ta.text).toBe((await recognize(om.rec, img, chars)).text);
    }
  });

  it('a whole page reads the same and finds its ground-truth lines', async () => {
    const img = page.image();
    const a = await ocr(qm, img, chars);
    const b = await ocr(om, img, chars);
    expect(a.lines.map((l: { text: string }) => l.text)).toEqual(b.lines.map((l: { text: string }) => l.text));
    const score = new PageScore();
    score.add(page.lines, a.lines);
    expect(score.recall).toBeGreaterThanOrEqual(90);
    expect(score.text.cer).toBeLessThan(15);
  });
});

describe('OCR int8', () => {
  it('the quantized direction classifier gives float32 verdicts on evaluation lines', async () => {
    const calib = loadSet('calib').lines.slice(0, 8);
    const feeds = calibrationFeeds({
      pages: [],
      lines: calib.map((l: { image(): unknown; rotated: boolean }) => ({ image: l.image(), rotated: l.rotated })),
    });
    const q = await qm.cls.quantize({ calibration: feeds.cls });
    try {
      for (const l of evalSet.lines.slice(0, 4)) {
        const img = l.image();
        for (const im of [img, rotate180(img)]) {
          expect((await classify(q, im)).upsideDown).toBe((await classify(qm.cls, im)).upsideDown);
        }
      }
    } finally {
      q.dispose();
    }
  });
});

describe('OCR post-processing', () => {
  it('CTC greedy decode drops blanks and repeats but keeps a letter repeated across a blank', () => {
    const C = chars.length;
    const seq = [chars.indexOf('a'), chars.indexOf('a'), 0, chars.indexOf('a'), chars.indexOf('b'), 0];
    const probs = new Float32Array(seq.length * C);
    seq.forEach((c, t) => (probs[t * C + c] = 1));
    expect(ctcDecode(probs, [1, seq.length, C], chars).text).toBe('aab');
    expect(chars[0]).toBe('');
    expect(chars[C - 1]).toBe(' ');
    expect(C).toBe(6625);
  });

  it('DB post-processing turns a rectangle of text probability into its box grown by the unclip distance', () => {
    const w = 64;
    const h = 32;
    const map = new Float32Array(w * h);
    for (let y = 10; y < 20; y++) for (let x = 8; x < 48; x++) map[y * w + x] = 0.9;
    const boxes = dbPostprocess(map, [1, 1, h, w], w * 2, h * 2);
    expect(boxes.length).toBe(1);
    // pixel centres 8..47 x 10..19: 39 x 9, grown by 39 * 9 * 1.5 / (2 * 48) = 5.48 on each side
    const [tl, tr, br, bl] = boxes[0]!.box;
    expect(tl).toEqual([Math.round((8 - 5.484) * 2), Math.round((10 - 5.484) * 2)]);
    expect(br).toEqual([Math.round((47 + 5.484) * 2), Math.round((19 + 5.484) * 2)]);
    expect(tr![1]).toBe(tl![1]);
    expect(bl![0]).toBe(tl![0]);
    expect(dbPostprocess(new Float32Array(w * h).fill(0.2), [1, 1, h, w], w, h)).toEqual([]);
  });

  it('boxes sort top to bottom, and left to right within 10 pixels of a line', () => {
    const at = (x: number, y: number) => ({ box: [[x, y]], score: 1 });
    const sorted = sortBoxes([at(300, 52), at(10, 100), at(20, 45), at(5, 50)]);
    expect(sorted.map((b: { box: number[][] }) => b.box[0])).toEqual([
      [5, 50],
      [20, 45],
      [300, 52],
      [10, 100],
    ]);
  });

  it('a tall crop is turned upright, a wide one kept', () => {
    const img = { width: 10, height: 10, data: new Uint8ClampedArray(400).fill(200) };
    expect(
      cropBox(img, [
        [0, 0],
        [8, 0],
        [8, 2],
        [0, 2],
      ]).width,
    ).toBe(8);
    const tall = cropBox(img, [
      [0, 0],
      [2, 0],
      [2, 8],
      [0, 8],
    ]);
    expect([tall.width, tall.height]).toEqual([8, 2]);
  });

  it('character error rate and detection scores count as documented', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    const t = new TextScore();
    t.add('abcd', ' abed ');
    t.add('xy', 'xy');
    expect(t.cer).toBeCloseTo((100 * 1) / 6);
    expect(t.lineAccuracy).toBe(50);
    const p = new PageScore();
    p.add(
      [
        { text: 'ab', box: [0, 0, 10, 10] },
        { text: 'cd', box: [20, 0, 30, 10] },
      ],
      [
        {
          text: 'ab',
          box: [
            [0, 0],
            [10, 0],
            [10, 11],
            [0, 11],
          ],
        },
        {
          text: 'zz',
          box: [
            [50, 50],
            [60, 50],
            [60, 60],
            [50, 60],
          ],
        },
      ],
    );
    expect([p.recall, p.precision, p.text.cer]).toEqual([50, 50, 50]);
  });
});
