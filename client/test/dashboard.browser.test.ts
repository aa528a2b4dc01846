/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// (page.evaluate callbacks run in the browser: DOM types for them only)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchChromium, watchPageProblems } from '../../shared/test/helpers/browser.js';
import { parseConfig } from '../src/config.js';
import { startDashboard, type DashboardServer } from '../src/dashboard/server.js';
import { startClient, writeConfig, type ClientProc } from './helpers/client-process.js';
import { testLog } from './helpers/logger.js';
import { serverBuilt, startRealServer, type RealServer } from './helpers/real-server.js';

// The dashboard in real Chromium (Debian's, through playwright-core): a REAL signal server process, a REAL
// paper client process (`run --dashboard`, the built CLI), and a second, standalone dashboard in this process
// on the same journal (the cross-process case: `run` writes, the dashboard reads the WAL file), which the test
// can cut off and restart. Every wait is a condition in the page; nothing sleeps.

const missing = browserUnavailable();
// Under CI=true a missing browser is a failure (launchChromium throws), never a skip.
const skip = !serverBuilt() || (missing !== undefined && process.env['CI'] !== 'true');

const CONFIG = {
  filters: { min_confidence: 0.5 },
  risk: { cooldown_per_symbol_ms: 0, short_on_spot: 'sell_holdings' },
  // A signal with a stop gets a protective leg (the feed card words it; signals without one get none).
  execution: { protective_orders: 'stop_loss' },
};

let dir: string;
let server: RealServer;
let publishKey: string;
let client: ClientProc;
let runUrl: string;
let browser: Browser;
/** One browser context (sessionStorage is per page anyway): a new context per page costs a second here. */
let context: BrowserContext;
/** CSP violations, page errors and page files that failed to load, in any page of the context. */
let problems: string[] = [];
let dash: DashboardServer;
let n = 0;

const publish = async (over: object) => {
  const r = await server.publish(publishKey, {
    source_id: `browser-${++n}`,
    symbol: 'BTC',
    catalyst: 'earnings',
    direction: 'long',
    confidence: 0.9,
    price: 60000,
    headline: `browser headline ${n}`,
    classified_at: new Date().toISOString(),
    ...over,
  });
  expect(r.status).toBe(201);
  return r.body['seq'] as number;
};

const startStandalone = (port = 0) =>
  startDashboard({
    config: parseConfig({ ...CONFIG, dashboard: { port } }),
    journalPath: join(dir, 'data', 'journal.sqlite'),
    log: testLog,
    heartbeatMs: 1000,
  });

/** Record when each feed row first appears in the page (Date.now(), the same clock as the journal's). */
async function watchRows(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __seen: Record<string, number> };
    w.__seen = {};
    const look = () => {
      for (const tr of document.querySelectorAll<HTMLElement>('#feed .feed-row')) {
        const k = tr.dataset['key']!;
        if (!(k in w.__seen)) w.__seen[k] = Date.now();
      }
    };
    look();
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true });
  });
}

const row = (page: Page, seq: number) => page.locator(`#feed .feed-row[data-seq="${seq}"]`);

/** ms from the journal's decided_at to the row being in the page. */
async function latency(page: Page, seq: number): Promise<number> {
  const tr = row(page, seq);
  await tr.waitFor();
  const key = (await tr.getAttribute('data-key'))!;
  const decidedAt = Number(await tr.getAttribute('data-decided-at'));
  const seen = await page.evaluate(
    (k) => (window as unknown as { __seen: Record<string, number> }).__seen[k]!,
    key,
  );
  return seen - decidedAt;
}

async function openDashboard(url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('#live-state.live-live').waitFor();
  return page;
}

const applied = (page: Page) =>
  page.evaluate(
    () => (window as unknown as { __dashboard: { applied: number[]; resets: number } }).__dashboard,
  );

describe.skipIf(skip)('dashboard in a real browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-dash-browser-'));
    server = await startRealServer(join(dir, 'server'));
    const readKey = await server.createKey('friend', 'read');
    publishKey = await server.createKey('bot', 'publish');
    const cfg = writeConfig(dir, {
      ...CONFIG,
      data_dir: './data',
      server: { url: server.url, start_from: 'all' },
    });
    client = startClient(['-c', cfg, 'run', '--dashboard'], { CATALYST_SERVER_KEY: readKey }, dir);
    // stdout is a pipe here, so the link (with its token) is in a 0600 file, not on stdout.
    const linkFile = (
      await client.waitStdout(/^dashboard: the link \(with its access token\) is in (\S+);/m)
    )[1]!;
    runUrl = readFileSync(linkFile, 'utf8').trim();
    expect(runUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{43}$/);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    problems = await watchPageProblems(context);
    dash = await startStandalone();
  }, 60_000);

  // Every test, every page: no CSP violation (docs/security.md), no error, no missing icon.
  afterEach(() => {
    const seen = problems.splice(0);
    expect(seen).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    client?.child.kill('SIGTERM');
    await client?.exited;
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('without the token: a clear message in the page, 401 from the API; the fragment never stays', async () => {
    const base = runUrl.replace(/#.*$/, '');
    const page = await context.newPage();
    await page.goto(base);
    await page.locator('#no-token', { hasText: 'needs the link' }).waitFor();
    const wrong = await context.newPage();
    await wrong.goto(`${base}#token=${'A'.repeat(43)}`);
    await wrong.locator('#no-token').waitFor();
    expect(wrong.url()).toBe(base);
    await wrong.close();
    expect((await fetch(`${base}api/snapshot`)).status).toBe(401);
    await page.close();

    const ok = await openDashboard(runUrl);
    expect(ok.url()).toBe(base); // the token moved from the fragment to sessionStorage
    expect(await ok.evaluate(() => sessionStorage.length)).toBe(1);
    await ok.close();
  });

  it('shows a decision just made, within ~100 ms of the journal commit (run --dashboard and standalone)', async () => {
    const inRun = await openDashboard(runUrl);
    const standalone = await openDashboard(dash.url.replace('127.0.0.1', 'localhost'));
    await watchRows(inRun);
    await watchRows(standalone);
    const lat: { run: number[]; standalone: number[] } = { run: [], standalone: [] };
    for (const over of [
      { symbol: 'BTC', price: 60000 },
      { symbol: 'ETH', price: 3000, catalyst: 'merger' },
      { symbol: 'SOL', price: 150, confidence: 0.2 },
      { symbol: 'ADA', price: 1, catalyst: 'fda' },
      { symbol: 'BTC', price: 61000, direction: 'short' },
    ]) {
      const seq = await publish(over);
      lat.run.push(await latency(inRun, seq));
      lat.standalone.push(await latency(standalone, seq));
    }
    expect(await row(inRun, 3).getAttribute('data-reason')).toBe('skipped:confidence');
    expect(await row(inRun, 1).locator('.verdict').textContent()).toBe('TRADED');
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    console.log(
      `decision -> row on page, ms: run --dashboard ${sorted(lat.run)}; standalone ${sorted(lat.standalone)}`,
    );
    // The target is 100 ms (50 ms poll + a WebSocket frame + a render); the median is asserted with slack for a
    // loaded 2-core machine (7 busy processes here: 190 ms median seen; 40-50 ms when calmer).
    expect(sorted(lat.run)[2]).toBeLessThanOrEqual(300);
    expect(sorted(lat.standalone)[2]).toBeLessThanOrEqual(300);
    // The P&L by catalyst kind follows the fills: BTC was bought (earnings) and sold (the short) at a profit.
    await inRun.locator('#by-catalyst tr[data-key="earnings"]').waitFor();
    // The performance view: by session (crypto has none: n/a), by confidence bucket, and the closed round trip.
    await inRun.locator('#by-session tr[data-key="n/a"]').waitFor();
    await inRun.locator('#by-confidence tr[data-key="0.9–1.0"]').waitFor();
    await inRun.locator('#trades[data-closed="1"][data-wins="1"]').waitFor();
    console.log('trades:', await inRun.locator('#trades').innerText());
    await inRun.close();
    await standalone.close();
  });

  it('pause with the confirm dialog accepted: the next signal is skipped with kill_switch, shown in the page', async () => {
    const page = await openDashboard(runUrl);
    await page.click('#pause-toggle');
    await page.locator('#confirm-dialog[open]').waitFor();
    // Cancel first: nothing changes.
    await page.click('#confirm-cancel');
    await page.locator('#confirm-dialog:not([open])').waitFor({ state: 'attached' });
    await page.locator('#kill-state', { hasText: 'entries on' }).waitFor();
    await page.click('#pause-toggle');
    await page.fill('#pause-reason', 'browser test');
    await page.click('#confirm-ok');
    await page.locator('#kill-state', { hasText: 'PAUSED: browser test' }).waitFor();

    const seq = await publish({ symbol: 'DOGE', price: 0.1 });
    await page.locator(`#feed .feed-row[data-seq="${seq}"][data-reason="skipped:kill_switch"]`).waitFor();
    // The other page (standalone dashboard, another process's journal connection) sees the switch too.
    const other = await openDashboard(dash.url);
    await other.locator('#kill-state', { hasText: 'PAUSED' }).waitFor();

    await page.click('#pause-toggle');
    await page.click('#confirm-ok');
    await page.locator('#kill-state', { hasText: 'entries on' }).waitFor();
    await other.locator('#kill-state', { hasText: 'entries on' }).waitFor();
    const seq2 = await publish({ symbol: 'DOGE', price: 0.1 });
    await page.locator(`#feed .feed-row[data-seq="${seq2}"][data-reason="trade:entry"]`).waitFor();
    await page.close();
    await other.close();
  });

  it('info skips are folded behind a toggle with their count; a row expands to its whole story', async () => {
    const page = await openDashboard(runUrl);
    const seq = await publish({ symbol: 'NEWS', action: 'info', direction: undefined });
    const toggle = page.locator('#info-toggle');
    await toggle.waitFor(); // appears with the first info row
    expect(Number(await toggle.getAttribute('data-count'))).toBe(1);
    // Folded: the info row is counted, not shown; actions stay in view.
    expect(await row(page, seq).count()).toBe(0);
    expect(await row(page, 1).count()).toBe(1);
    await toggle.click();
    await page.locator(`#feed .feed-row[data-seq="${seq}"][data-reason="skipped:action_info"]`).waitFor();
    await toggle.click();
    await row(page, seq).waitFor({ state: 'detached' });

    // seq 1 (BTC bought) was sold by seq 5: its story shows the filled entry and the profit it made.
    await row(page, 1).locator('.row-head').click();
    const story = row(page, 1).locator('.story');
    await story.locator('li[data-leg="entry"][data-status="filled"]').waitFor();
    await story.locator('#story-pnl', { hasText: /realised \+/ }).waitFor();
    expect(await row(page, 1).locator('.headline').textContent()).toMatch(/^browser headline/);
    expect(await row(page, 1).locator('.why').first().textContent()).toMatch(/^buy [\d.]+ BTC\/USDT @ /);

    // A protective leg reads as what it is, with its live state, never as a sell at the entry's price.
    const legSeq = await publish({ symbol: 'LEG', price: 10, stop_loss: 9 });
    await row(page, legSeq).locator('.legs', { hasText: 'stop 9 (resting)' }).waitFor();
    expect(await row(page, legSeq).locator('.why').first().textContent()).toMatch(/^buy [\d.]+ LEG\/USDT @ /);
    expect(await row(page, legSeq).textContent()).not.toMatch(/sell/);
    await page.close();
  });

  it('a reconnect resumes from the last seq without a duplicate row; a dashboard restart reloads', async () => {
    const page = await openDashboard(dash.url);
    const rowsBefore = await page.locator('#feed .feed-row').count();

    // 1. The page's WebSocket is cut and reconnects are refused while a decision is made; then the stream
    // core's reconnect resumes from the page's last seq and replays exactly the missed event.
    const head = dash.feed.headSeq();
    dash.stream.suspend();
    await page.waitForFunction(
      () => (window as unknown as { __dashboard: { reconnects: number } }).__dashboard.reconnects >= 1,
    );
    const seq = await publish({ symbol: 'LTC', price: 80 });
    await expect.poll(() => dash.feed.headSeq(), { timeout: 10_000 }).toBeGreaterThan(head);
    expect(await row(page, seq).count()).toBe(0);
    dash.stream.resumeAccepting();
    await row(page, seq).waitFor();
    await page.locator('#live-state.live-live').waitFor();
    expect(await page.locator('#feed .feed-row').count()).toBe(rowsBefore + 1);
    const a = await applied(page);
    expect(a.resets).toBe(0); // resumed, not reloaded
    expect(new Set(a.applied).size).toBe(a.applied.length);
    expect(a.applied).toEqual(a.applied.map((_, i) => a.applied[0]! + i)); // gapless

    // 2. The dashboard restarts: a new start has a new token, so the page says its link is stale (no stale
    // data); the new link shows every row once.
    const port = dash.port;
    await dash.close();
    const seq2 = await publish({ symbol: 'XLM', price: 0.3 });
    dash = await startStandalone(port);
    await page.locator('#no-token', { hasText: 'refused this link' }).waitFor();
    await page.close();
    const fresh = await openDashboard(dash.url);
    await row(fresh, seq2).waitFor();
    const keys = await fresh
      .locator('#feed .feed-row')
      .evaluateAll((trs) => trs.map((t) => t.getAttribute('data-key')));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(rowsBefore + 2);
    await fresh.close();
  });

  // Last: it stops the signal server and kills `run`.
  it('presence, desktop and phone: green while run and the server are up; red when the server stops and when run is killed', async () => {
    await publish({ symbol: 'PHN', price: 10, catalyst: 'fda' }); // a row and a position, whatever ran before
    const info = await publish({ symbol: 'PHN', action: 'info', direction: undefined });
    const desk = await openDashboard(dash.url);
    const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const phoneProblems = await watchPageProblems(phoneContext);
    const phone = await phoneContext.newPage();
    await phone.goto(dash.url);
    await phone.locator('#live-state.live-live').waitFor();
    for (const p of [desk, phone]) {
      await p.locator('#presence[data-level="ok"]').waitFor();
      await p.locator('#p-run[data-tone="ok"]', { hasText: 'running' }).waitFor();
      await p.locator('#p-server[data-tone="ok"]', { hasText: 'connected' }).waitFor();
      await p.locator('#p-broker', { hasText: 'unknown' }).waitFor(); // nothing writes it in this setup
      await p.locator('#mode[data-mode="paper"]').waitFor();
      await p.locator('#p-last-signal', { hasText: /\d+ (s|min) ago/ }).waitFor();
    }
    // The phone shows everything without scrolling sideways: no element reaches past the screen's edge.
    await phone.locator('#feed .feed-row').first().waitFor();
    await phone.locator('#feed .feed-row .row-head').first().click(); // an open story too
    await phone.locator('#feed .story').first().waitFor();
    // Info folding on the phone too: counted, shown on demand.
    await phone.locator('#info-toggle').click();
    await phone.locator(`#feed .feed-row[data-seq="${info}"]`).waitFor();
    const overflow = await phone.evaluate(() => {
      const w = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll<HTMLElement>('body *')]
        .filter((el) => el.getBoundingClientRect().right > w + 1)
        .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
      return { scroll: document.documentElement.scrollWidth, w, wide: wide.slice(0, 5) };
    });
    expect(overflow).toEqual({ scroll: 390, w: 390, wide: [] });

    await server.stop();
    for (const p of [desk, phone]) {
      await p.locator('#p-server[data-tone="bad"]', { hasText: 'lost' }).waitFor();
      await p.locator('#presence[data-level="bad"]').waitFor();
    }
    client.child.kill('SIGKILL');
    await client.exited;
    for (const p of [desk, phone]) {
      await p.locator('#p-run[data-tone="bad"]', { hasText: 'NOT RUNNING' }).waitFor();
      await p.locator('#p-server', { hasText: 'unknown' }).waitFor(); // nobody is connected any more
    }
    await desk.close();
    await phoneContext.close();
    expect(phoneProblems).toEqual([]);
    // Two pages, a server stop and a kill: ~4 s alone, several times that beside the whole suite on 2 cores.
  }, 90_000);
});
