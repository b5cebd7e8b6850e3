// What fusing a lookup activation (hard-swish) into a conv layer saves: a conv layer
// followed by lookupLayer, against conv2d with `lookup` (the table applied to the output
// codes in wasm memory before the copy-out), and against the conv alone (the most an
// activation folded into the requantization itself could reach). One thread, simd build,
// every case in the same run. The cases take turns within each run (a few calls each, over
// and over), so a change of load on a shared machine hits all of them alike. Usage:
//   node bench/lookup-fusion.bench.mjs [--runs 5] [--rounds 15]   (runs x rounds rounds in all)
// Needs `npm run build` (reads dist/).
import { Qwasm } from '../dist/index.js';
import { args, codes, fmt, median, save } from './lib.mjs';

const opts = args({ runs: 5, rounds: 15 });
const qw = await Qwasm.create({ backend: 'simd', threads: 1 });
const hardSwish = (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;

/**
 * Seconds per call of each case in each of `rounds` rounds, every case running 4 calls in
 * turn within a round: { name: [seconds, ...] }.
 */
function interleaved(cases, rounds) {
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [k, f] of Object.entries(cases)) {
      f();
      const t = performance.now();
      for (let i = 0; i < 4; i++) f();
      times[k].push((performance.now() - t) / 4e3);
    }
  }
  return times;
}

/** Median over rounds of the per-round ratio slow / fast (cases next to each other in time). */
const roundRatio = (times, fast, slow) => median(times[slow].map((t, i) => t / times[fast][i]));

const SHAPES = [
  // MobileNetV3's stem: 3x3 s2 conv to 16 channels, then hard-swish
  { name: 'stem', desc: 'conv 3x3 s2 1x224x224x3 -> 16, hard-swish', H: 224, C: 3, O: 16, k: 3, s: 2 },
  // an expansion 1x1 conv followed by hard-swish (MobileNetV3 blocks at 28x28)
  { name: 'expand', desc: 'conv 1x1 1x28x28x40 -> 240, hard-swish', H: 28, C: 40, O: 240, k: 1, s: 1 },
];

const results = [];
for (const sh of SHAPES) {
  const { H, C, O, k, s } = sh;
  const pad = (k - 1) >> 1;
  const OH = Math.floor((H + 2 * pad - k) / s) + 1;
  const n = OH * OH * O;
  const cfg = {
    weights: { data: codes(O * k * k * C, 3, -60, 60), shape: [O, k, k, C] },
    weightScale: 0.01,
    input: { scale: 0.05, zeroPoint: -3 },
    output: { scale: 0.08, zeroPoint: 0 },
    strides: [s, s],
    pads: [pad, pad, pad, pad],
  };
  const conv = qw.conv2d(cfg);
  const fused = qw.conv2d({ ...cfg, lookup: { fn: hardSwish, output: { scale: 0.05, zeroPoint: -10 } } });
  const hs = qw.lookupLayer({
    fn: hardSwish,
    input: { scale: 0.08, zeroPoint: 0 },
    output: { scale: 0.05, zeroPoint: -10 },
  });
  const x = { data: codes(H * H * C, 1), shape: [1, H, H, C] };
  const y = { data: new Int8Array(n), shape: [1, OH, OH, O] };
  const z = { data: new Int8Array(n), shape: [1, OH, OH, O] };
  const cases = {
    'conv + lookupLayer': () => hs.run(conv.run(x, y), z),
    'conv2d with lookup': () => fused.run(x, z),
    'conv alone': () => conv.run(x, y),
  };
  const times = interleaved(cases, Number(opts.runs) * Number(opts.rounds));
  const r = { median: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])), times };
  results.push({ ...sh, n, r });
  console.log(
    `${sh.name}: ${Object.entries(r.median)
      .map(([c, v]) => `${c} ${fmt(v * 1e6)} us`)
      .join(', ')}`,
  );
}

const rows = results.map(({ desc, r }) => [
  desc,
  fmt(r.median['conv + lookupLayer'] * 1e6),
  fmt(r.median['conv2d with lookup'] * 1e6),
  fmt(r.median['conv alone'] * 1e6),
  `${fmt(roundRatio(r.times, 'conv2d with lookup', 'conv + lookupLayer'), 2)}x`,
  `${fmt(roundRatio(r.times, 'conv alone', 'conv + lookupLayer'), 2)}x`,
]);
save(
  `lookup-fusion-node${process.versions.node.split('.')[0]}`,
  {
    build: qw.backend,
    threads: 1,
    runs: Number(opts.runs),
    cases: results.map(({ name, desc, n, r }) => ({
      name,
      desc,
      elements: n,
      medianSeconds: r.median,
      rounds: r.times,
    })),
  },
  [
    'case',
    'conv + lookupLayer us',
    'conv2d with lookup us',
    'conv alone us',
    'fused vs conv + lookupLayer',
    'conv alone vs conv + lookupLayer',
  ],
  rows,
  [
    `qwasm ${qw.backend} build, 1 thread; layers run with \`out\`. Times: medians over rounds; ratios: medians of per-round ratios (the cases of a round run next to each other, so a change of machine load hits them alike).`,
    'conv2d with lookup applies the table to the output codes in wasm memory (lookup_u8_pairs) before the copy-out; the same codes as conv + lookupLayer.',
    '"conv alone" bounds what a table folded into the requantization itself could reach.',
  ],
);
qw.dispose();
