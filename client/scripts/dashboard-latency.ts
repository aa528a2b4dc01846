/**
 * Measures "decision journaled -> its row on the dashboard page" in real Chromium (Debian's, through
 * playwright-core): a writer connection journals decisions the way `run` does (Journal.recordDecision, WAL,
 * synchronous=FULL), the dashboard (its own connection: change log -> event -> WebSocket) pushes them, and the
 * page records with a MutationObserver when each row appears, on the same clock (Date.now) as decided_at.
 * Decisions are spaced at random (20-120 ms) so the 50 ms poll phase is sampled evenly. Target: p99 <= 100 ms on
 * a quiet machine. A benchmark, not a test: run it by hand (it prints, it never fails a build).
 * Run: npm run build && npx tsx client/scripts/dashboard-latency.ts [count=300]   (DEBUG_LAT=1: every latency, in order)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Signal } from '@catalyst-signal/shared';
import { parseConfig } from '../dist/config.js';
import { startDashboard } from '../dist/dashboard/server.js';
import { Journal } from '../dist/journal/index.js';
import { launchChromium } from '../../shared/test/helpers/browser.js';
import { baseSignal } from '../test/helpers/signals.js';

const N = Number(process.argv[2] ?? 300);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const dir = mkdtempSync(join(tmpdir(), 'cc-dash-latency-'));
const path = join(dir, 'journal.sqlite');
const writer = Journal.open(path);
const dash = await startDashboard({
  config: parseConfig({}),
  journalPath: path,
  log: pino({ level: 'silent' }),
});
const browser = await launchChromium();
try {
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
  await page.goto(dash.url);
  await page.locator('#live-state.live-live').waitFor();
  await page.evaluate(() => {
    const w = window as unknown as { __seen: Record<string, number> };
    w.__seen = {};
    new MutationObserver(() => {
      for (const el of document.querySelectorAll<HTMLElement>('#feed .feed-row'))
        w.__seen[el.dataset['seq']!] ??= Date.now();
    }).observe(document.body, { subtree: true, childList: true });
  });
  const decidedAt: number[] = [];
  for (let seq = 1; seq <= N; seq++) {
    const at = Date.now();
    writer.recordDecision({
      signal: baseSignal(seq, { epoch: 'bench', confidence: 0.1 }, at) as Signal,
      receivedAt: at,
      decidedAt: at,
      decision: { verdict: 'skip', reason: 'skipped:confidence', detail: '0.1 < 0.6', legs: [] },
      intents: [],
    });
    decidedAt[seq] = at;
    await sleep(20 + Math.random() * 100);
  }
  await page.waitForFunction(
    (n) => Object.keys((window as unknown as { __seen: Record<string, number> }).__seen).length >= n,
    N,
    { timeout: 30_000 },
  );
  const seen = await page.evaluate(() => (window as unknown as { __seen: Record<string, number> }).__seen);
  const lat = Array.from({ length: N }, (_, i) => seen[String(i + 1)]! - decidedAt[i + 1]!);
  const f = (p: number) => pct(lat, p).toFixed(0);
  if (process.env['DEBUG_LAT']) console.log(lat.join(' '));
  console.log(
    `decision -> row on the page, ${N} decisions: p50 ${f(50)} ms, p90 ${f(90)} ms, p99 ${f(99)} ms, max ${Math.max(...lat)} ms (target p99 <= 100 ms)`,
  );
} finally {
  await browser.close();
  await dash.close();
  writer.close();
  rmSync(dir, { recursive: true, force: true });
}
