// The OCR page (examples/ocr/index.html) in headless Chromium: qwasm/onnx loads the PaddleOCR
// models in the page, quantizes them, draws boxes and text for a sample page in float32 and
// int8, and the exported int8 model gives the same boxes and text on every wasm build.
// Needs Debian's chromium (CHROMIUM_PATH, else /usr/bin/chromium) and a built dist/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer } from '../../examples/browser/serve.mjs';

interface Line {
  text: string;
  box: number[][];
}
interface OcrResult {
  error?: string;
  backend?: string;
  threads?: number;
  float32?: { ms: number; lines: Line[] };
  int8?: { ms: number; lines: Line[] };
  builds?: Record<string, Line[]>;
  buildsEqual?: boolean;
}

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// test-results/ on every run; QWASM_UPDATE_SCREENSHOT=1 refreshes the one docs/ocr.md shows.
const SCREENSHOT = process.env.QWASM_UPDATE_SCREENSHOT ? 'docs/images/ocr-browser.png' : 'test-results/ocr-browser.png';

describe.skipIf(!existsSync(executablePath))('OCR page (examples/ocr) in headless Chromium', () => {
  let server: { url: string; close(): Promise<void> };
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];
  let result: OcrResult;
  let state: string | undefined;

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
      viewport: { width: 1360, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}examples/ocr/`);
    await page.waitForFunction(() => document.documentElement.dataset.state !== undefined, undefined, {
      timeout: 400_000,
    });
    state = await page.evaluate(() => document.documentElement.dataset.state);
    result = (await page.evaluate(() => (window as unknown as { qwasmOcr: OcrResult }).qwasmOcr)) ?? {};
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  }, 480_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('finishes without errors, threaded when cross-origin isolated', () => {
    expect(result.error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(state).toBe('done');
    expect(result.threads).toBeGreaterThanOrEqual(1);
  });

  it('draws boxes and recognizes the sample page in float32 and int8', async () => {
    for (const v of [result.float32!, result.int8!]) {
      expect(v.lines.length).toBeGreaterThanOrEqual(8);
      const text = v.lines.map((l) => l.text).join(' ');
      expect(text).toContain('Summer');
      expect(text).toContain('hotel');
    }
    expect(await page.locator('#float32 li').count()).toBe(result.float32!.lines.length);
    expect(await page.locator('#int8 li').count()).toBe(result.int8!.lines.length);
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('gives identical int8 boxes and text on every wasm build', () => {
    const builds = Object.keys(result.builds ?? {});
    expect(builds).toContain('simd');
    expect(builds).toContain('scalar');
    expect(result.buildsEqual).toBe(true);
  });
});
