import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { csvCell } from '../src/export.js';
import { Journal } from '../src/journal/index.js';
import { runCli, writeConfig } from './helpers/client-process.js';
import { baseSignal } from './helpers/signals.js';

// `catalyst-client export` (the built CLI) on a real journal: decisions, orders and fills as CSV a spreadsheet
// opens safely (a headline that is a formula is shown, never evaluated).

let dir: string;
let cfg: string;
const T0 = Date.parse('2026-12-01T15:00:00Z');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-export-'));
  cfg = writeConfig(dir, { server: { url: 'http://127.0.0.1:9' }, data_dir: './data' });
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  const j = Journal.open(join(dir, 'data', 'journal.sqlite'));
  const leg = {
    leg: 'entry' as const,
    market: 'BTC/USDT',
    side: 'buy' as const,
    type: 'market' as const,
    amount: 0.5,
    refPrice: 60000,
    quote: 30000,
  };
  j.recordDecision({
    signal: baseSignal(
      1,
      { epoch: 'e1', headline: '=HYPERLINK("http://x", "click"), "quoted"' },
      T0,
    ) as Signal,
    receivedAt: T0,
    decidedAt: T0 + 5,
    decision: { verdict: 'trade', reason: 'trade:entry', legs: [leg] },
    intents: [{ clientOrderId: 'c1', leg }],
  });
  j.updateIntent('c1', { status: 'filled', filled: 0.5, avgPrice: 60010, feeQuote: 30 }, T0 + 10);
  j.recordDecision({
    signal: baseSignal(2, { epoch: 'e1', symbol: 'ETH', confidence: 0.2 }, T0 + 3_600_000) as Signal,
    receivedAt: T0 + 3_600_000,
    decidedAt: T0 + 3_600_001,
    decision: { verdict: 'skip', reason: 'skipped:confidence', detail: '0.2 < 0.6', legs: [] },
    intents: [],
  });
  // A limit order filled in two executions and still working (2 of 3 filled), as the broker's stream told it.
  const limit = {
    ...leg,
    market: 'ETH/USDT',
    type: 'limit' as const,
    amount: 3,
    refPrice: 3000,
    quote: 9000,
  };
  j.recordDecision({
    signal: baseSignal(3, { epoch: 'e1', symbol: 'ETH', catalyst: 'fda' }, T0 + 7_200_000) as Signal,
    receivedAt: T0 + 7_200_000,
    decidedAt: T0 + 7_200_001,
    decision: { verdict: 'trade', reason: 'trade:entry', legs: [limit] },
    intents: [{ clientOrderId: 'c2', leg: limit }],
  });
  const ev = { event: 'fill', orderId: 'B2', clientOrderId: 'c2', market: 'ETH/USDT', side: 'buy' as const };
  const common = { ...ev, status: 'open' as const, legs: [], source: 'stream' as const };
  j.applyBrokerEvent(
    {
      ...common,
      key: 'k1',
      filled: 0.5,
      average: 3000,
      executionId: 'x-1',
      qty: 0.5,
      price: 3000,
      at: T0 + 7_200_100,
    },
    T0 + 7_200_100,
  );
  j.applyBrokerEvent(
    {
      ...common,
      key: 'k2',
      filled: 2,
      average: 3006,
      executionId: 'x-2',
      qty: 1.5,
      price: 3008,
      at: T0 + 7_200_200,
    },
    T0 + 7_200_200,
  );
  j.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (s: string) => s.split('\r\n').filter(Boolean);

describe('export', () => {
  it('decisions: one row each, the words run printed, formula-looking text made inert and quoted', async () => {
    const r = await runCli(['-c', cfg, 'export', 'decisions'], {}, dir);
    expect(r.code).toBe(0);
    const [head, first, second] = lines(r.stdout);
    expect(head).toBe(
      'decided_at,received_at,epoch,seq,symbol,catalyst,action,direction,confidence,price,verdict,reason,detail,text,headline',
    );
    expect(first).toMatch(/^2026-12-01T15:00:00\.005Z,2026-12-01T15:00:00\.000Z,e1,1,BTC,earnings,/);
    expect(first).toContain('buy 0.5 BTC/USDT @ 60010 = 30005.00 USDT  filled');
    expect(first!.endsWith(`,"'=HYPERLINK(""http://x"", ""click""), ""quoted"""`)).toBe(true);
    expect(second).toContain(',skip,skipped:confidence,0.2 < 0.6,confidence: 0.2 < 0.6,');
  });

  it('orders and fills; --since; --out writes a private file', async () => {
    const orders = lines((await runCli(['-c', cfg, 'export', 'orders'], {}, dir)).stdout);
    expect(orders[1]).toMatch(
      /^2026-12-01T15:00:00\.005Z,2026-12-01T15:00:00\.010Z,c1,e1,1,entry,BTC\/USDT,buy,market,0\.5,,60000,,,filled,0\.5,60010,30,0,,$/,
    );
    expect(orders).toHaveLength(3);
    // One row per execution, not per order: c1 filled at once (no broker ids: an order reply), c2 in two steps.
    const fills = lines((await runCli(['-c', cfg, 'export', 'fills'], {}, dir)).stdout);
    expect(fills).toEqual([
      'at,execution_id,n,order_id,client_order_id,epoch,seq,symbol,catalyst,action,leg,market,side,qty,price,value,fee_quote,fee_base,cum_filled',
      '2026-12-01T15:00:00.010Z,,1,,c1,e1,1,BTC,earnings,,entry,BTC/USDT,buy,0.5,60010,30005,30,0,0.5',
      '2026-12-01T17:00:00.100Z,x-1,1,B2,c2,e1,3,ETH,fda,,entry,ETH/USDT,buy,0.5,3000,1500,0,0,0.5',
      // 2 @ 3006 after 0.5 @ 3000: 6012 - 1500 = 4512 for 1.5, i.e. 3008 each (the execution's own price).
      '2026-12-01T17:00:00.200Z,x-2,2,B2,c2,e1,3,ETH,fda,,entry,ETH/USDT,buy,1.5,3008,4512,0,0,2',
    ]);
    const late = lines(
      (await runCli(['-c', cfg, 'export', 'fills', '--since', '2026-12-01T17:00:00.150Z'], {}, dir)).stdout,
    );
    expect(late.map((l) => l.split(',')[1])).toEqual(['execution_id', 'x-2']);
    const since = lines(
      (await runCli(['-c', cfg, 'export', 'decisions', '--since', '2026-12-01T15:30:00Z'], {}, dir)).stdout,
    );
    expect(since.map((l) => l.split(',')[4])).toEqual(['symbol', 'ETH', 'ETH']);
    const out = join(dir, 'decisions.csv');
    const w = await runCli(['-c', cfg, 'export', 'decisions', '-o', out], {}, dir);
    expect(w).toMatchObject({ code: 0, stdout: '' });
    expect(w.stderr).toContain(`3 decisions written to ${out}`);
    expect(lines(readFileSync(out, 'utf8'))).toHaveLength(4);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('bad input is one line and exit 2', async () => {
    const bad = await runCli(['-c', cfg, 'export', 'trades'], {}, dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'catalyst-client: unknown export "trades"; use one of: decisions, orders, fills',
    );
    const since = await runCli(['-c', cfg, 'export', 'fills', '--since', 'yesterday'], {}, dir);
    expect(since.code).toBe(2);
    expect(since.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('cells: RFC 4180 quoting; text starting like a formula gets an apostrophe; numbers stay numbers', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('+1 555')).toBe("'+1 555");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell(-2.5)).toBe('-2.5');
    expect(csvCell(null)).toBe('');
  });
});
