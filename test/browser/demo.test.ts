// The browser page in headless Chromium: qwasm loads from dist/ in the page, picks the
// relaxed build, gives identical int8 outputs on every build, and draws its charts.
// Needs Debian's chromium (CHROMIUM_PATH, else /usr/bin/chromium) and a built dist/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer } from '../../examples/browser/serve.mjs';

interface DemoResult {
  state?: 'done' | 'error';
  error?: string;
  backend?: string;
  builds?: string[];
  identical?: boolean;
  outputs?: { build: string; int8: string; fixedpoint: string }[];
  demo?: { name: string; accuracy: number }[];
  bench?: { rows: { status: string }[] };
}

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The screenshot goes to test-results/ on every run; QWASM_UPDATE_SCREENSHOT=1 refreshes
// the one the README shows (docs/images/), so a test run leaves the tree clean.
const SCREENSHOT = process.env.QWASM_UPDATE_SCREENSHOT
  ? 'docs/images/browser-demo.png'
  : 'test-results/browser-demo.png';

describe.skipIf(!existsSync(executablePath))('browser page (examples/browser) in headless Chromium', () => {
  let server: { url: string; close(): Promise<void> };
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];
  let result: DemoResult;

  beforeAll(async () => {
    server = await startServer({ port: 0 });
    profile = mkdtempSync(join(tmpdir(), 'qwasm-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 860, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}examples/browser/`);
    await page.waitForFunction(() => document.documentElement.dataset.state !== undefined, undefined, {
      timeout: 240_000,
    });
    result = (await page.evaluate(() => (window as unknown as { qwasmDemo: DemoResult }).qwasmDemo)) ?? {};
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('finishes without errors', () => {
    expect(result.error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(result.state).toBe('done');
  });

  it('chooses the relaxed build in Chromium', () => {
    expect(result.backend).toBe('relaxed');
  });

  it('runs all three builds and gets byte-identical int8 outputs from each', () => {
    expect(result.builds).toEqual(['relaxed', 'simd', 'scalar']);
    expect(result.outputs?.map((o) => o.build)).toEqual(['relaxed', 'simd', 'scalar']);
    expect(result.identical).toBe(true);
    const first = result.outputs![0]!;
    for (const o of result.outputs!) expect(o).toEqual({ ...first, build: o.build });
  });

  it('classifies the held-out digits and runs the quick bench', () => {
    const float32 = result.demo?.find((d) => d.name === 'float32');
    const int8 = result.demo?.find((d) => d.name === 'int8');
    expect(float32!.accuracy).toBeGreaterThan(0.9);
    expect(Math.abs(int8!.accuracy - float32!.accuracy)).toBeLessThanOrEqual(0.005);
    expect(result.bench!.rows.some((r) => r.status === 'ok')).toBe(true);
  });

  it('draws both bar charts and saves a screenshot', async () => {
    expect(await page.locator('#demo-chart svg rect').count()).toBeGreaterThan(4);
    expect(await page.locator('#bench-chart svg rect').count()).toBeGreaterThan(2);
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
