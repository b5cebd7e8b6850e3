// Accuracy and speed of the demo's model variants, shared by the Node demo and the
// browser page. Speed is measured the way bench/ does it: every variant timed in the
// same rounds, speedups taken per round against float32, medians over rounds.
import { PIXELS } from './data.mjs';
import { argmax } from './reference.mjs';

/**
 * Fraction of `set` classified correctly, in batches; `onBatch(n)` after each.
 * @param {any} variant
 * @param {any} set
 * @param {{ batch?: number, onBatch?: (n: number) => void }} [options]
 */
export function accuracy(variant, set, { batch = 32, onBatch } = {}) {
  let correct = 0;
  for (let s = 0; s < set.count; s += batch) {
    const n = Math.min(batch, set.count - s);
    const logits = variant.run(set.images.subarray(s * PIXELS, (s + n) * PIXELS), n);
    for (let b = 0; b < n; b++) if (argmax(logits, b * 10, 10) === set.labels[s + b]) correct++;
    onBatch?.(n);
  }
  return correct / set.count;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds per call of `fn`, looping until at least `minMs` have passed. */
function timeCalls(fn, minMs) {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    fn();
    calls++;
    t = performance.now();
  }
  return (t - t0) / 1000 / calls;
}

/**
 * Times every variant at every batch size. `images` holds at least max(batches) images.
 * Returns { [batch]: { [variant name]: { secondsPerImage, speedup } } }, speedup against
 * `baseline` (a variant name), each the median over `rounds` interleaved rounds.
 * `onRound()` runs after each round (for a progress bar).
 * @param {any[]} variants
 * @param {any} images
 * @param {{ batches?: number[], rounds?: number, minMs?: number, baseline?: string, onRound?: () => void }} [options]
 */
export function timeVariants(
  variants,
  images,
  { batches = [1, 32], rounds = 9, minMs = 40, baseline = 'float32', onRound } = {},
) {
  const perRound = {};
  for (const b of batches) {
    const x = images.subarray(0, b * PIXELS);
    perRound[b] = Object.fromEntries(variants.map((v) => [v.name, []]));
    for (const v of variants) v.run(x, b); // warm-up: JIT tiers, wasm memory growth
  }
  for (let r = 0; r < rounds; r++) {
    for (const b of batches) {
      const x = images.subarray(0, b * PIXELS);
      for (const v of variants) perRound[b][v.name].push(timeCalls(() => v.run(x, b), minMs) / b);
    }
    onRound?.();
  }
  const out = {};
  for (const b of batches) {
    out[b] = {};
    const base = perRound[b][baseline];
    for (const v of variants) {
      const mine = perRound[b][v.name];
      out[b][v.name] = {
        secondsPerImage: median(mine),
        speedup: median(mine.map((t, i) => base[i] / t)),
      };
    }
  }
  return out;
}

/** Formats rows of cells as an aligned plain-text table (first column left-aligned). */
export function textTable(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => String(r[c]).length)));
  const line = (r) =>
    r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
