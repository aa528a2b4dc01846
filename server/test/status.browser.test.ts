import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNSAFE_TEXT_RE, type Classification } from '@catalyst-signal/shared';
import { browserUnavailable, launchChromium, watchPageProblems } from '../../shared/test/helpers/browser.js';
import { natsSkipName, natsTestsRun } from './helpers/nats-cluster.js';
import { classification, startTestServer } from './helpers/server.js';
import { startTarget } from './helpers/target.js';
import { connect } from './helpers/ws-client.js';

/**
 * The operator's status page in Debian's Chromium against a real server on port 0: the admin key is
 * required (a wrong or non-admin key gets a message and no data), it lives in sessionStorage and never in a
 * URL, and the page follows what happens (a client connecting, a signal ingested) over its WebSocket.
 * Waits are on conditions in the page, never sleeps. Under CI=true a missing browser fails (launchChromium
 * throws); elsewhere the suite is skipped with the reason.
 */
const unavailable = browserUnavailable();
const skip = unavailable !== undefined && process.env.CI !== 'true';
const SESSION_ITEM = 'catalyst.status.admin_key';
const keyId = (key: string) => key.split('_')[1]!;
/** What the page keeps in sessionStorage (evaluated in the page: the test itself has no DOM types). */
const stored = (page: Page) =>
  page.evaluate<string | null>(`sessionStorage.getItem(${JSON.stringify(SESSION_ITEM)})`);

describe.skipIf(skip)(`status page in Chromium${skip ? ` (skipped: ${unavailable})` : ''}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(url: string): Promise<{ page: Page; violations: string[] }> {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    // CSP violations (as events, not console text), page errors, and any of the page's own files (the icon
    // included) failing to load: each fails the test at its end.
    const violations = await watchPageProblems(page);
    const res = await page.goto(`${url}/status`);
    // The CSP is in force for everything the page does below, its WebSocket included (connect-src 'self').
    expect(res?.headers()['content-security-policy']).toContain("connect-src 'self'");
    return { page, violations };
  }

  async function login(page: Page, key: string): Promise<void> {
    await page.fill('#key', key);
    await page.click('button[type=submit]');
  }

  it('refuses a wrong key and a non-admin key with a message, and shows no data', async () => {
    const t = await startTestServer();
    const { page, violations } = await open(t.url);
    expect(new URL(page.url()).pathname).toBe('/status/');

    await login(page, `cat_000000000000_${'A'.repeat(43)}`);
    await page.getByTestId('login-error').getByText('not accepted').waitFor();
    await login(page, t.readKey);
    await page.getByTestId('login-error').getByText('no admin scope').waitFor();

    expect(await page.locator('[data-testid=clients]').count()).toBe(0);
    expect(await stored(page)).toBeNull();
    expect(violations).toEqual([]);
    await page.close();
  });

  it("goes through the server's per-address failure gate: once it is spent even the admin key waits", async () => {
    const t = await startTestServer({ auth_failures_per_min: 1 });
    const { page, violations } = await open(t.url);
    await login(page, `cat_000000000000_${'B'.repeat(43)}`);
    await page.getByTestId('login-error').getByText('not accepted').waitFor();
    await login(page, t.adminKey);
    await page.getByTestId('login-error').getByText('Too many failed attempts').waitFor();
    expect(await page.locator('[data-testid=clients]').count()).toBe(0);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('logs in with the admin key (session storage, not the URL) and shows a client connecting and a new signal', async () => {
    const t = await startTestServer();
    const { page, violations } = await open(t.url);
    await login(page, t.adminKey);
    await page.getByTestId('connection').getByText('live').waitFor();
    await page.locator(`[data-testid=clients] tr[data-key-id="${keyId(t.adminKey)}"]`).waitFor();

    expect(page.url()).not.toContain(t.adminKey);
    expect(page.url()).not.toContain(keyId(t.adminKey));
    expect(await stored(page)).toBe(t.adminKey);
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);

    // A friend's client connects after login: its key appears in the table.
    const friend = connect(t.wsUrl, t.readKey);
    await friend.frame('hello');
    await page.locator(`[data-testid=clients] tr[data-key-id="${keyId(t.readKey)}"]`).waitFor();

    // A signal ingested now appears in the recent list (through the stream core's subscription).
    const res = await t.post(classification(3, { symbol: 'NVDA', headline: 'Status page sees this one' }));
    const { seq } = (await res.json()) as { seq: number };
    const row = page.locator(`[data-testid=recent] li[data-seq="${seq}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('NVDA');
    await page.getByTestId('head-seq').getByText(String(seq), { exact: true }).waitFor();

    // The friend leaves: the row goes.
    friend.ws.close();
    await page
      .locator(`[data-testid=clients] tr[data-key-id="${keyId(t.readKey)}"]`)
      .waitFor({ state: 'detached' });

    // Phone-sized: nothing wider than the screen (the table scrolls inside its own box).
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    // A reload keeps the session (sessionStorage), still without the key in the URL.
    await page.reload();
    await page.getByTestId('connection').getByText('live').waitFor();
    await page.locator(`[data-testid=recent] li[data-seq="${seq}"]`).waitFor();
    expect(page.url()).not.toContain(t.adminKey);
    // A node that ingests shows its ingest latency (a gateway does not: below).
    expect(await page.locator('.stat .label', { hasText: 'ingest p50' }).count()).toBe(1);

    await page.getByRole('button', { name: 'log out' }).click();
    await page.locator('#key').waitFor();
    expect(await stored(page)).toBeNull();
    expect(violations).toEqual([]);
    await page.close();
  });

  it('shows a stored signal with a bidi override and escape sequences inert, with the characters spelled out', async () => {
    const t = await startTestServer();
    // Stored as an earlier version (before ingest refused these) would have stored it.
    const headline = 'Buy \u202egnp.exe\u202c x FDA \u001b[2J\u200bapproves';
    const [r] = await t.server.driver.sequencer.submit([
      { ...classification(4), headline } as Classification,
    ]);
    const { page, violations } = await open(t.url);
    await login(page, t.adminKey);
    const row = page.locator(`[data-testid=recent] li[data-seq="${r!.seq}"] .headline`);
    await row.waitFor();
    const shown = (await row.textContent()) ?? '';
    expect(shown).toBe('Buy \\u202egnp.exe\\u202c x FDA \\u001b[2J\\u200bapproves');
    expect(UNSAFE_TEXT_RE.test(shown)).toBe(false);
    expect(violations).toEqual([]);
    await page.close();
  });

  const gatewayName =
    'on a cluster gateway: counts the signals it applied, and shows its replica lag and the log head';
  // Local runs without nats-server only: under CI=true the gateway case always runs; the name says why.
  if (!natsTestsRun()) it.skip(natsSkipName(gatewayName), () => {});
  else
    it(gatewayName, async () => {
      const t = await startTarget('gateway');
      const { page, violations } = await open(t.url);
      await login(page, t.adminKey);
      await page.getByTestId('connection').getByText('live').waitFor();
      await page.getByTestId('replica').waitFor();
      for (let i = 1; i <= 2; i++) expect((await t.post(classification(i))).status).toBe(201);
      await page.getByTestId('per-min').locator('.value').getByText('2', { exact: true }).waitFor();
      await page.getByTestId('per-min').getByText('2 applied since start').waitFor();
      const replica = page.getByTestId('replica');
      await replica.locator('.value').getByText('0', { exact: true }).waitFor();
      await replica.getByText(`applied ${t.head()} of log head`).waitFor();
      // No ingest latency card: a gateway commits no ingest (it read "— / —, 0 commits").
      expect(await page.locator('.stat .label', { hasText: 'ingest p50' }).count()).toBe(0);
      expect(violations).toEqual([]);
      await page.close();
    });
});
