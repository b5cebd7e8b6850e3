// int8 against float32 on PP-OCRv4 detection's heaviest conv shapes, as qwasm/onnx runs them:
// the layers' runAt on addresses in wasm memory (no copies), int8 with and without the fused
// table (hard-swish), float32 with its own fused epilogue. One thread, simd build (or
// --backend), every case in the same run, interleaved rounds by CPU time
// (bench/lib.mjs measureInterleaved); ratios are medians of per-round ratios. Usage:
//   node bench/det-conv.bench.mjs [--rounds 15] [--backend simd] [--only name,name]
// Needs `npm run build` (reads dist/).
import { Qwasm } from '../dist/index.js';
import { args, codes, fmt, measureInterleaved, save, speedup } from './lib.mjs';

const opts = args({ rounds: 15, backend: 'simd', only: '' });
const qw = await Qwasm.create({ backend: opts.backend, threads: 1 });
const rt = qw.runtime;
const hardSwish = (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;

/** @type {Array<{ name: string; desc: string; H: number; C: number; O: number; k: number; s: number; act?: 'relu'; table?: boolean }>} */
const SHAPES = [
  { name: 'Conv.61', desc: '3x3 96->24 at 160x160, relu', H: 160, C: 96, O: 24, k: 3, s: 1, act: 'relu' },
  { name: 'Conv.55', desc: '3x3 96->24 at 80x80', H: 80, C: 96, O: 24, k: 3, s: 1 },
  { name: 'Conv.0', desc: '3x3 s2 3->16 at 640x640', H: 640, C: 3, O: 16, k: 3, s: 2, table: true },
  { name: 'Conv.2', desc: '1x1 16->32 at 320x320, hard-swish', H: 320, C: 16, O: 32, k: 1, s: 1, table: true },
  { name: 'Conv.6', desc: '1x1 48->48 at 160x160, hard-swish', H: 160, C: 48, O: 48, k: 1, s: 1, table: true },
  { name: 'Conv.10', desc: '1x1 96->96 at 80x80, hard-swish', H: 80, C: 96, O: 96, k: 1, s: 1, table: true },
  { name: 'Conv.28', desc: '1x1 384->384 at 20x20, hard-swish', H: 20, C: 384, O: 384, k: 1, s: 1, table: true },
  { name: 'Conv.36', desc: '1x1 384->360 at 20x20', H: 20, C: 384, O: 360, k: 1, s: 1 },
];
const only = opts.only ? String(opts.only).split(',') : null;

const results = [];
for (const sh of SHAPES) {
  if (only && !only.includes(sh.name)) continue;
  const { H, C, O, k, s } = sh;
  const pad = (k - 1) >> 1;
  const OH = Math.floor((H + 2 * pad - k) / s) + 1;
  const n = OH * OH * O;
  const wq = codes(O * k * k * C, 3, -60, 60);
  const shape = { strides: [s, s], pads: [pad, pad, pad, pad] };
  /** @type {import('../dist/index.js').Conv2dConfig} */
  const cfg = {
    weights: { data: wq, shape: [O, k, k, C] },
    weightScale: 0.01,
    input: { scale: 0.05, zeroPoint: -3 },
    output: { scale: 0.08, zeroPoint: 0 },
    activation: sh.act ?? 'none',
    ...shape,
  };
  const int8 = qw.conv2d(cfg);
  const lookup = { fn: hardSwish, output: { scale: 0.05, zeroPoint: -10 } };
  const int8t = sh.table ? qw.conv2d({ ...cfg, lookup }) : null;
  const f32 = qw.conv2dF32({
    weights: { data: Float32Array.from(wq, (v) => v * 0.01), shape: [O, k, k, C] },
    bias: new Float32Array(O).fill(0.1),
    activation: sh.table ? 'hardswish' : (sh.act ?? 'none'),
    ...shape,
  });
  const xs = [1, H, H, C];
  const xq = rt.heap.alloc(H * H * C + 64);
  rt.heap.i8.set(codes(H * H * C, 1), xq);
  const xf = rt.heap.alloc(H * H * C * 4 + 64);
  rt.heap.f32.set(
    Float32Array.from(codes(H * H * C, 1), (v) => v * 0.05),
    xf >> 2,
  );
  const yq = rt.heap.alloc(n + 64);
  const yf = rt.heap.alloc(n * 4 + 64);
  const pq = int8.planInput(xs);
  const pt = int8t?.planInput(xs);
  const pf = f32.planInput(xs);
  const cases = {
    f32: () => f32.runAt(pf, xf, yf),
    int8: () => int8.runAt(pq, xq, yq),
  };
  if (int8t) cases['int8 + table'] = () => int8t.runAt(pt, xq, yq);
  const r = measureInterleaved(cases, { rounds: Number(opts.rounds) });
  const row = {
    ...sh,
    us: Object.fromEntries(Object.entries(r.median).map(([c, v]) => [c, v * 1e6])),
    int8VsF32: speedup(r, sh.table ? 'int8 + table' : 'int8', 'f32'),
    tableCost: int8t ? speedup(r, 'int8', 'int8 + table') : null,
    runs: r.runs,
  };
  results.push(row);
  console.log(
    `${sh.name} ${sh.desc}: ${Object.entries(row.us)
      .map(([c, v]) => `${c} ${fmt(v)} us`)
      .join(
        ', ',
      )}; int8 vs f32 ${fmt(row.int8VsF32, 2)}x${int8t ? `, with table / without ${fmt(row.tableCost, 2)}` : ''}`,
  );
}

save(
  `det-conv-node${process.versions.node.split('.')[0]}`,
  { build: qw.backend, threads: 1, rounds: Number(opts.rounds), cases: results },
  ['layer', 'shape', 'f32 us', 'int8 us', 'int8 + table us', 'int8 vs f32', 'with table / without'],
  results.map((r) => [
    r.name,
    r.desc,
    fmt(r.us.f32),
    fmt(r.us.int8),
    r.table ? fmt(r.us['int8 + table']) : '-',
    `${fmt(r.int8VsF32, 2)}x`,
    r.tableCost === null ? '-' : fmt(r.tableCost, 2),
  ]),
  ['int8 vs f32: the int8 case with the table where the layer has one, against float32 with hard-swish fused.'],
);
