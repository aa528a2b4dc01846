// Screenshots of the pages for docs/img, generated from the real thing (not a test):
//
//   npm run build && npx tsx scripts/screenshots.ts
//
// A signal server on a temp SQLite file (in this process, 127.0.0.1), the demo publisher's feed (what
// Catalyst-Bot sends: US small caps, $0.10-$10; server/src/demo/feed.ts), a paper client trading US stocks
// (`run --dashboard`, the built CLI, venue us_equity on a simulated market clock in the regular session)
// deciding them, and Debian's Chromium (playwright-core, never a browser download) at desktop and phone sizes.
// One function per page: add the next page as another shoot*() and call it in main().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../shared/test/helpers/browser.js';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'docs/img');
const DESKTOP = { width: 1280, height: 1000 };
const PHONE = { width: 390, height: 844 };

interface Demo {
  serverUrl: string;
  /** For the operator's status page. */
  adminKey: string;
  publish(classification: object): Promise<void>;
  dashboardUrl: string;
  decided(n: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * How many alerts the feed publishes: its scripted opening (an entry, an avoid and the entry it blocks, a
 * bracket entry, an exit) and then its random mix, enough for open positions, realised P&L both ways and skips.
 * At most the status page's recent list (20), so both pages show every one.
 */
const SIGNALS = 20;
/**
 * A seed whose mix enters several symbols and exits three of them, never buying a symbol held or exited before
 * (found by running the feed over seeds; the scripted opening exits TLMD).
 */
const SEED = 9590;
async function startDemo(dir: string): Promise<Demo> {
  const { startServer } = await import(path.join(root, 'server/dist/app.js'));
  const { loadConfig } = await import(path.join(root, 'server/dist/config.js'));
  const { createLogger } = await import(path.join(root, 'server/dist/logger.js'));
  const { createApiKey } = await import(path.join(root, 'server/dist/auth/api-keys.js'));
  const config = loadConfig({
    flags: { data_dir: path.join(dir, 'server'), port: 0, host: '127.0.0.1', log_level: 'warn' },
  });
  const server = await startServer(config, createLogger('warn'));
  const publishKey = createApiKey(server.keys, 'shots-publisher', ['publish']).key;
  const readKey = createApiKey(server.keys, 'shots-friend', ['read']).key;
  const adminKey = createApiKey(server.keys, 'shots-operator', ['admin']).key;
  server.auth.refresh();

  const clientDir = path.join(dir, 'client');
  mkdirSync(clientDir, { recursive: true });
  const cfg = path.join(clientDir, 'catalyst.yaml');
  const { builtinCalendar, newYorkToUtc } = await import(path.join(root, 'client/dist/decide/index.js'));
  // A trading day's regular session whatever the real hour: entries are brackets, exits market sells.
  const day = (builtinCalendar(Date.now(), 9) as { date: string; open: string; close: string }[]).find(
    (d) => d.open === '09:30' && d.close === '16:00',
  )!;
  writeFileSync(
    cfg,
    JSON.stringify({
      data_dir: './journal',
      server: { url: server.url, start_from: 'all' },
      exchange: { venue: 'us_equity' },
      equities: { session_policy: 'extended' },
      filters: { min_confidence: 0.55 },
      sizing: { mode: 'fixed_quote', fixed_quote: 25, confidence_scaling: true, max_quote_per_trade: 50 },
      risk: { cooldown_per_symbol_ms: 0, max_orders_per_day: 50 },
      paper: {
        starting_balance_quote: 1000,
        market_clock: { start: new Date(newYorkToUtc(day.date, '10:15') as number).toISOString(), speed: 1 },
      },
    }),
  );
  const client: ChildProcess = spawn(
    process.execPath,
    [path.join(root, 'client/bin/catalyst-client.js'), '-c', cfg, 'run', '--dashboard'],
    {
      cwd: clientDir,
      env: { PATH: process.env['PATH'], CATALYST_SERVER_KEY: readKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  client.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let decided = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  let gotUrl!: (u: string) => void;
  const urlP = new Promise<string>((r) => (gotUrl = r));
  createInterface({ input: client.stdout! }).on('line', (line) => {
    // stdout is a pipe: the link (it carries the token) is in a 0600 file, and this line says which.
    const m = /^dashboard: the link \(with its access token\) is in (\S+);/.exec(line);
    if (m) gotUrl(readFileSync(m[1]!, 'utf8').trim());
    if (line.startsWith('#')) decided++;
    for (const w of waiters) if (decided >= w.n) w.resolve();
  });
  const exited = new Promise<void>((r) => client.on('exit', () => r()));
  void exited.then(() => gotUrl(''));
  const dashboardUrl = await urlP;
  if (!dashboardUrl) throw new Error(`the client exited before printing its dashboard URL:\n${stderr}`);
  return {
    serverUrl: server.url,
    adminKey,
    dashboardUrl,
    async publish(c) {
      const res = await fetch(`${server.url}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${publishKey}` },
        body: JSON.stringify(c),
      });
      if (res.status !== 201) throw new Error(`publish: HTTP ${res.status} ${await res.text()}`);
    },
    decided: (k) =>
      new Promise<void>((resolve) => (decided >= k ? resolve() : waiters.push({ n: k, resolve }))),
    async stop() {
      client.kill('SIGTERM');
      await exited;
      await server.close();
    },
  };
}

async function shoot(
  browser: Browser,
  url: string,
  file: string,
  viewport: typeof DESKTOP,
  ready: (p: Page) => Promise<void>,
) {
  const page = await browser.newPage({ viewport, deviceScaleFactor: viewport === PHONE ? 2 : 1 });
  await page.goto(url);
  await ready(page);
  await page.screenshot({ path: path.join(out, file), fullPage: true });
  await page.close();
  console.log(`wrote docs/img/${file}`);
}

/** The friend's local dashboard: feed, positions, P&L, charts. */
async function shootDashboard(browser: Browser, demo: Demo): Promise<void> {
  const ready = async (p: Page) => {
    // Every decided signal is a card, or counted behind the info toggle (info signals are folded).
    await p.waitForFunction((k) => {
      const folded = Number(document.querySelector('#info-toggle')?.getAttribute('data-count') ?? 0);
      return document.querySelectorAll('#feed .feed-row').length + folded >= k;
    }, SIGNALS);
    await p.locator('#live-state.live-live').waitFor();
    await p.locator('.chart canvas').waitFor();
  };
  await shoot(browser, demo.dashboardUrl, 'dashboard.png', DESKTOP, ready);
  await shoot(browser, demo.dashboardUrl, 'dashboard-phone.png', PHONE, ready);
}

/** The operator's status page (/status on the server): the friend's client connected, rates, recent signals. */
async function shootStatus(browser: Browser, demo: Demo): Promise<void> {
  const ready = async (p: Page) => {
    await p.fill('#key', demo.adminKey);
    await p.click('button[type=submit]');
    await p.getByTestId('connection').getByText('live').waitFor();
    await p.waitForFunction(
      (k) => document.querySelectorAll('[data-testid=recent] li[data-seq]').length >= k,
      SIGNALS,
    );
    // The friend's client and the page's own socket.
    await p.waitForFunction(
      () => document.querySelectorAll('[data-testid=clients] tr[data-key-id]').length >= 2,
    );
    await p.locator('.spark canvas').waitFor();
  };
  await shoot(browser, `${demo.serverUrl}/status`, 'status.png', DESKTOP, ready);
  await shoot(browser, `${demo.serverUrl}/status`, 'status-phone.png', PHONE, ready);
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'catalyst-shots-'));
  const demo = await startDemo(dir);
  const browser = await launchChromium();
  try {
    const { createFeed, DEMO_OPENING } = await import(path.join(root, 'server/dist/demo/feed.js'));
    const next = createFeed(SEED, undefined, [...DEMO_OPENING.pre, ...DEMO_OPENING.regular]) as () => object;
    for (let i = 0; i < SIGNALS; i++) await demo.publish(next());
    await demo.decided(SIGNALS);
    await shootDashboard(browser, demo);
    await shootStatus(browser, demo);
  } finally {
    await browser.close();
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
