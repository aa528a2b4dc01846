/// <reference lib="dom" />
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchChromium, watchPageProblems } from '../../shared/test/helpers/browser.js';
import { exportCommand } from '../src/commands/export.js';
import type { Context } from '../src/context.js';
import { parseConfig } from '../src/config.js';
import { startDashboard, type DashboardServer } from '../src/dashboard/server.js';
import { Journal } from '../src/journal/index.js';
import { writeExportJournal } from './helpers/export-journal.js';
import { testLog } from './helpers/logger.js';

// The CSV buttons in real Chromium (Debian's, through playwright-core) at phone size, on the built page: a tap
// downloads the file `catalyst-client export` writes; a download past the row cap shows the server's words. And
// a position adopted from the broker at start, as its feed card and its mark in the positions.

const missing = browserUnavailable();
// Under CI=true a missing browser is a failure (launchChromium throws), never a skip.
const skip = missing !== undefined && process.env['CI'] !== 'true';

let dir: string;
let journalPath: string;
let dash: DashboardServer;
let capped: DashboardServer;
let adopted: DashboardServer;
let browser: Browser;
let context: BrowserContext;
let problems: string[];
const PHONE = { width: 390, height: 844 };

describe.skipIf(skip)('dashboard CSV export and adoptions (Chromium, phone)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-export-browser-'));
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    journalPath = join(dir, 'data', 'journal.sqlite');
    // Now-ish rows, so the page's default period (last 7 days) holds them.
    writeExportJournal(journalPath, Date.now() - 3 * 3_600_000);
    const base = { config: parseConfig({}), journalPath, log: testLog };
    dash = await startDashboard(base);
    capped = await startDashboard({ ...base, exportMaxRows: 1 });
    // A second journal holding only shares adopted from the broker at start.
    const adoptedPath = join(dir, 'data', 'adopted.sqlite');
    const j = Journal.open(adoptedPath);
    j.adoptPosition({ symbol: 'ABCD', qty: 10, avgPrice: 3 }, Date.now());
    j.close();
    adopted = await startDashboard({ ...base, journalPath: adoptedPath });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: PHONE, acceptDownloads: true });
    problems = await watchPageProblems(context);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await capped?.close();
    await adopted?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a tap on "fills" downloads the CLI\'s file; nothing scrolls sideways; no CSP violation', async () => {
    const page = await context.newPage();
    await page.goto(dash.url);
    const button = page.locator('#export button[data-export="fills"]');
    await button.scrollIntoViewIfNeeded();
    expect(await button.isVisible()).toBe(true);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(wide).toBeLessThanOrEqual(0);
    const box = await page.locator('#export').boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    expect(download.suggestedFilename()).toMatch(/^catalyst-fills-\d{4}-\d{2}-\d{2}\.csv$/);
    const file = readFileSync((await download.path())!, 'utf8');
    let cli = '';
    const ctx = { journalPath, configPath: join(dir, 'config.yaml') } as Context;
    exportCommand(ctx, 'fills', { since: '7d' }, (c) => (cli += c));
    expect(file).toBe(cli);
    expect(file.split('\r\n').filter(Boolean)).toHaveLength(4);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('past the row cap the page says what to do, and downloads nothing', async () => {
    const page = await context.newPage();
    let downloads = 0;
    page.on('download', () => downloads++);
    await page.goto(capped.url);
    await page.locator('#export button[data-export="decisions"]').click();
    await page.locator('#export .down').waitFor();
    expect(await page.locator('#export .down').textContent()).toBe(
      'more than 1 decisions since 7d: choose a shorter period, or run catalyst-client export decisions (no limit)',
    );
    expect(downloads).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('an adopted position is a card in the feed and is marked in the positions', async () => {
    const page = await context.newPage();
    await page.goto(adopted.url);
    const card = page.locator('#feed .feed-row[data-kind="adoption"]');
    await card.waitFor();
    expect(await card.locator('.why').textContent()).toBe(
      'adopted 10 ABCD at 3.00 (held at the broker when the client started)',
    );
    const mark = page.locator('#positions .pos[data-market="ABCD"] .adopted');
    expect(await mark.textContent()).toBe('all adopted from the broker at start');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(wide).toBeLessThanOrEqual(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});
