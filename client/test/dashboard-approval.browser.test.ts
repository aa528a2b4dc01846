/// <reference lib="dom" />
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailable, launchChromium, watchPageProblems } from '../../shared/test/helpers/browser.js';
import { Journal } from '../src/journal/index.js';
import { startClient, writeConfig, type ClientProc } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// Approval mode's button in real Chromium (Debian's, through playwright-core) at phone size: a real `run
// --dashboard` process (built CLI, paper) holds an entry for approval; a tap on Approve places exactly one order,
// a tap on Reject places none; the POST needs the page's token and origin. Every wait is a condition.

const missing = browserUnavailable();
const skip = missing !== undefined && process.env['CI'] !== 'true';

let dir: string;
let server: FakeSignalServer;
let client: ClientProc;
let url: string;
let browser: Browser;

const journalPath = () => join(dir, 'data', 'journal.sqlite');
const intents = (seq: number) => {
  const j = Journal.open(journalPath());
  try {
    return j.intentsFor('ep-test', seq);
  } finally {
    j.close();
  }
};

describe.skipIf(skip)('approval in the dashboard (Chromium, phone)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-approval-browser-'));
    server = await FakeSignalServer.start({ heartbeatMs: 1000 });
    const cfg = writeConfig(dir, {
      data_dir: './data',
      server: { url: server.url, start_from: 'all' },
      risk: { cooldown_per_symbol_ms: 0 },
      approval: { mode: 'required', timeout_ms: 600_000 },
    });
    writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
    client = startClient(['-c', cfg, 'run', '--dashboard'], {}, dir);
    const linkFile = (
      await client.waitStdout(/^dashboard: the link \(with its access token\) is in (\S+);/m)
    )[1]!;
    url = readFileSync(linkFile, 'utf8').trim();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    client?.child.kill('SIGTERM');
    await client?.exited;
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Approve places one order, Reject none; the buttons fit a phone; the API wants token and origin', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const problems = await watchPageProblems(context);
    const page = await context.newPage();
    await page.goto(url);
    await server.publish({ symbol: 'BTC', price: 60000 });
    await server.publish({ symbol: 'ETH', price: 3000 });
    const card = (seq: number) => page.locator(`#approvals .approval[data-seq="${seq}"]`);
    await card(1).waitFor();
    await card(2).waitFor();
    expect(await card(1).textContent()).toMatch(/BTC.*#1.*buy/);
    // A phone never scrolls sideways, and the button is a thumb's size.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const box = (await card(1).locator('button.approve').boundingBox())!;
    expect(box.height).toBeGreaterThanOrEqual(40);

    // Not our page, or no token: refused, nothing journaled.
    const base = url.replace(/#.*$/, '');
    const token = url.split('#token=')[1]!;
    const post = (headers: Record<string, string>) =>
      fetch(`${base}api/approval`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ epoch: 'ep-test', seq: 1, action: 'approve' }),
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ Authorization: `Bearer ${token}`, Origin: 'http://evil.example' })).status).toBe(
      403,
    );

    await card(1).locator('button.approve').tap();
    await client.waitLog((l) => l['msg'] === 'approval settled' && l['seq'] === 1);
    await card(1).waitFor({ state: 'detached' });
    expect(intents(1)).toHaveLength(1);
    expect(intents(1)[0]!.status).toBe('filled');
    // A second approval of the same entry (a replayed request) is too late and places nothing.
    expect((await post({ Authorization: `Bearer ${token}` })).status).toBe(409);

    await card(2).locator('button.reject').tap();
    const s = await client.waitLog((l) => l['msg'] === 'approval settled' && l['seq'] === 2);
    expect(s['reason']).toBe('skipped:approval_rejected');
    await card(2).waitFor({ state: 'detached' });
    expect(intents(2)).toEqual([]);
    await page.locator('#feed .feed-row[data-seq="1"]').first().waitFor();

    // Answered elsewhere (an ntfy button writes the same journal row): the card goes without a reload.
    await server.publish({ symbol: 'SOL', price: 150 });
    await card(3).waitFor();
    const j = Journal.open(journalPath());
    try {
      expect(j.approvals.answer('ep-test', 3, 'rejected', 'test', Date.now())).toBe('done');
    } finally {
      j.close();
    }
    await card(3).waitFor({ state: 'detached' });
    await context.close();
    expect(problems).toEqual([]);
  });
});
