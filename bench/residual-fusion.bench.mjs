// What fusing a residual add into a conv layer saves: a 1x1 conv layer followed by addLayer
// (the skip connection), against conv2d with `residual` (the add done by the conv driver
// after each block of finished output rows, while the block is in cache), and against the conv alone (the floor: an add that
// cost nothing). One thread, simd build, every case in the same run. Timing: interleaved
// rounds by CPU time (bench/lib.mjs measureInterleaved), ratios the median of per-round
// ratios; --wall times with benny instead (wall clock, --runs runs), as --threads 2 does (CPU
// time would sum the pool's threads): the fused add runs on the pool with the conv, the
// addLayer on one thread. Usage:
//   node bench/residual-fusion.bench.mjs [--rounds 25] [--wall --runs 3] [--threads 2]
// Needs `npm run build` (reads dist/).
import { Qwasm } from '../dist/index.js';
import { args, codes, fmt, measure, measureInterleaved, repeat, save, speedup } from './lib.mjs';

const opts = args({ runs: 3, rounds: 25, wall: false, threads: 1 });
const threads = Number(opts.threads);
// CPU time sums every thread's: with a pool, only the wall clock says what a call takes
const wall = Boolean(opts.wall) || threads > 1;
const qw = await Qwasm.create({ backend: 'simd', threads });

/** Median over rounds of the per-round ratio slow / fast (cases next to each other in time). */
const roundRatio = (r, fast, slow) => speedup(r, fast, slow);

const SHAPES = [
  // MobileNetV2's projection conv at 56x56 and the block's skip connection
  { name: 'mbv2-56', desc: 'conv 1x1 1x56x56x144 -> 24, + residual 1x56x56x24', H: 56, C: 144, O: 24 },
  // the same at 14x14 (blocks 11-13)
  { name: 'mbv2-14', desc: 'conv 1x1 1x14x14x576 -> 96, + residual 1x14x14x96', H: 14, C: 576, O: 96 },
  // a detection FPN's lateral 1x1 conv plus the upsampled map above it
  { name: 'fpn-160', desc: 'conv 1x1 1x160x160x24 -> 96, + residual 1x160x160x96', H: 160, C: 24, O: 96 },
];

const results = [];
for (const sh of SHAPES) {
  const { H, C, O } = sh;
  const n = H * H * O;
  const cfg = {
    weights: { data: codes(O * C, 3, -60, 60), shape: [O, 1, 1, C] },
    weightScale: 0.01,
    input: { scale: 0.05, zeroPoint: -3 },
    output: { scale: 0.08, zeroPoint: 2 },
  };
  const residual = { scale: 0.06, zeroPoint: -5, output: { scale: 0.1, zeroPoint: 1 } };
  const conv = qw.conv2d(cfg);
  const fused = qw.conv2d({ ...cfg, residual });
  const add = qw.addLayer({
    a: cfg.output,
    b: { scale: residual.scale, zeroPoint: residual.zeroPoint },
    output: residual.output,
  });
  const x = { data: codes(H * H * C, 1), shape: [1, H, H, C] };
  const r = { data: codes(n, 2), shape: [1, H, H, O] };
  const y = { data: new Int8Array(n), shape: [1, H, H, O] };
  const z = { data: new Int8Array(n), shape: [1, H, H, O] };
  // the same codes both ways (test/conv-residual.test.ts proves it on every build)
  add.run([conv.run(x, y), r], z);
  const want = z.data.slice();
  fused.run([x, r], z);
  if (z.data.some((v, i) => v !== want[i])) throw new Error(`${sh.name}: fused and layered codes differ`);
  const cases = {
    'conv + addLayer': () => add.run([conv.run(x, y), r], z),
    'conv2d with residual': () => fused.run([x, r], z),
    'conv alone': () => conv.run(x, y),
  };
  const res = wall
    ? await repeat(Number(opts.runs), () => measure(sh.name, cases))
    : measureInterleaved(cases, { rounds: Number(opts.rounds) });
  results.push({ ...sh, n, r: res });
  console.log(
    `${sh.name}: ${Object.entries(res.median)
      .map(([c, v]) => `${c} ${fmt(v * 1e6)} us`)
      .join(', ')}, fused ${fmt(roundRatio(res, 'conv2d with residual', 'conv + addLayer'), 2)}x`,
  );
  conv.dispose();
  fused.dispose();
  add.dispose();
}

const rows = results.map(({ desc, r }) => [
  desc,
  fmt(r.median['conv + addLayer'] * 1e6),
  fmt(r.median['conv2d with residual'] * 1e6),
  fmt(r.median['conv alone'] * 1e6),
  `${fmt(roundRatio(r, 'conv2d with residual', 'conv + addLayer'), 2)}x`,
  `${fmt(roundRatio(r, 'conv alone', 'conv + addLayer'), 2)}x`,
]);
save(
  `residual-fusion-node${process.versions.node.split('.')[0]}${threads > 1 ? `-${threads}threads` : ''}`,
  {
    build: qw.backend,
    threads,
    clock: wall ? 'wall' : 'cpu',
    cases: results.map(({ name, desc, n, r }) => ({
      name,
      desc,
      elements: n,
      medianSeconds: r.median,
      runs: r.runs,
    })),
  },
  [
    'case',
    'conv + addLayer us',
    'conv2d with residual us',
    'conv alone us',
    'fused vs conv + addLayer',
    'conv alone vs conv + addLayer',
  ],
  rows,
  [
    `qwasm ${qw.backend} build, ${threads} thread${threads > 1 ? 's' : ''}; layers run with \`out\`. Times (${wall ? 'wall clock, benny' : 'CPU time of the process, interleaved rounds'}): medians; ratios: medians of per-round ratios.`,
    'conv2d with residual adds the residual per block of finished output rows, while the block is in cache (QLinearAdd); the same codes as conv + addLayer.',
    '"conv alone" is the floor: an add that cost nothing.',
  ],
);
qw.dispose();
