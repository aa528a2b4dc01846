import { expect, it } from 'vitest';
import { classification, startTestServer } from './helpers/server.js';

// The ticker grammar at ingest (issue 20 item 2): a symbol ends up as a path segment of broker URLs, so "." and
// "..", separators without a ticker, control, invisible and direction-changing characters are refused with a 400
// naming the field; every legitimate shape (class shares, crypto pairs) is stored, upper-cased.

it('refuses symbols that are not tickers with 400 on `symbol`, stores legitimate ones', async () => {
  const t = await startTestServer();
  const bad = [
    '.',
    '..',
    './BTC',
    '../USDT',
    'BTC/',
    '/BTC',
    'A..B',
    'A\u0000',
    'A\u001b[31m',
    'A\u202eB',
    'A\u200bB',
    'AB\n',
  ];
  for (const symbol of bad) {
    const res = await t.post(classification(1, { symbol }));
    expect(res.status, JSON.stringify(symbol)).toBe(400);
    const p = await res.json();
    expect(p.errors.map((e: { path: string }) => e.path)).toEqual(['symbol']);
  }
  const good = ['AAPL', 'brk.b', 'BRK/B', 'BTC/USDT', 'BTC-USDT', 'BF_B', 'BTC/USDT:USDT', 'A'.repeat(32)];
  for (const [i, symbol] of good.entries()) {
    const res = await t.post(classification(100 + i, { symbol }));
    expect(res.status, symbol).toBe(201);
    const { seq } = await res.json();
    expect((await (await t.get(`/v1/signals/${seq}`)).json()).symbol).toBe(symbol.toUpperCase());
  }
});
