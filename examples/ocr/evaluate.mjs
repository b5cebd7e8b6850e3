// Accuracy measures of the OCR example (plain JavaScript, shared by the demo, tests and page).

/** Text as compared: surrounding spaces dropped, runs of spaces made one. */
export const normalizeText = (s) => s.trim().replace(/\s+/g, ' ');

/** Levenshtein distance between two strings (by UTF-16 code unit; the data is ASCII). */
export function editDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Accumulates character error rate (edits / reference characters) and exact-line accuracy. */
export class TextScore {
  edits = 0;
  chars = 0;
  exact = 0;
  lines = 0;

  add(truth, got) {
    const t = normalizeText(truth);
    const g = normalizeText(got);
    this.edits += editDistance(t, g);
    this.chars += t.length;
    this.exact += t === g ? 1 : 0;
    this.lines++;
  }

  /** Character error rate in percent. */
  get cer() {
    return (100 * this.edits) / Math.max(1, this.chars);
  }

  /** Lines read exactly, in percent. */
  get lineAccuracy() {
    return (100 * this.exact) / Math.max(1, this.lines);
  }
}

/** Axis-aligned bounds [x0, y0, x1, y1] of a quadrilateral. */
export const bounds = (quad) => [
  Math.min(...quad.map((p) => p[0])),
  Math.min(...quad.map((p) => p[1])),
  Math.max(...quad.map((p) => p[0])),
  Math.max(...quad.map((p) => p[1])),
];

export function iou(a, b) {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/**
 * Detection matched one to one at IoU >= 0.5 (greedy, best pairs first), and the text of
 * matched boxes scored against their ground truth; an unmatched ground-truth line counts as
 * read as '' and an unmatched detection adds nothing.
 */
export class PageScore {
  truths = 0;
  found = 0;
  matched = 0;
  text = new TextScore();

  add(truthLines, gotLines) {
    const pairs = [];
    truthLines.forEach((t, i) =>
      gotLines.forEach((g, j) => {
        const v = iou(t.box, bounds(g.box));
        if (v >= 0.5) pairs.push([v, i, j]);
      }),
    );
    pairs.sort((a, b) => b[0] - a[0]);
    const usedT = new Set();
    const usedG = new Set();
    for (const [, i, j] of pairs) {
      if (usedT.has(i) || usedG.has(j)) continue;
      usedT.add(i);
      usedG.add(j);
      this.text.add(truthLines[i].text, gotLines[j].text);
    }
    truthLines.forEach((t, i) => usedT.has(i) || this.text.add(t.text, ''));
    this.truths += truthLines.length;
    this.found += gotLines.length;
    this.matched += usedT.size;
  }

  get recall() {
    return (100 * this.matched) / Math.max(1, this.truths);
  }

  get precision() {
    return (100 * this.matched) / Math.max(1, this.found);
  }
}
