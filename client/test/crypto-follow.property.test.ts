import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { executionEvent, FeeCounter, type MarketAssets } from '../src/exchange/ccxt-follow.js';
import { fillKey, type BrokerEvent } from '../src/exchange/types.js';
import { Journal } from '../src/journal/index.js';

// Crypto spot's side of following the broker (real SQLite): Binance executionReports of a buy filled in three
// executions (fees in BTC) and a sell in two (fees in USDT), delivered by the stream duplicated and in any order
// (the two ccxt watch loops race), mixed with the REST read-back of the same orders, always end in the same
// journal: one row per event, the same positions, realised P&L and fees as the stream in order.

const BTC: MarketAssets = { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT' };
const market = (id: string) => (id === 'BTCUSDT' ? BTC : undefined);

type Exec = { t: number; l: number; L: number; n: number };
function reports(c: string, i: number, side: 'BUY' | 'SELL', execs: Exec[], feeAsset: string) {
  const out: Record<string, unknown>[] = [
    { e: 'executionReport', s: 'BTCUSDT', c, C: '', S: side, x: 'NEW', X: 'NEW', i, z: '0', l: '0', T: i },
  ];
  let z = 0;
  let Z = 0;
  execs.forEach((x, k) => {
    z = Math.round((z + x.l) * 1e8) / 1e8;
    Z += x.l * x.L;
    out.push({
      e: 'executionReport',
      s: 'BTCUSDT',
      c,
      C: '',
      S: side,
      x: 'TRADE',
      X: k === execs.length - 1 ? 'FILLED' : 'PARTIALLY_FILLED',
      i,
      t: x.t,
      l: String(x.l),
      z: String(z),
      L: String(x.L),
      n: String(x.n),
      N: feeAsset,
      Z: String(Z),
      T: i + k + 1,
    });
  });
  return out;
}

const BUY = reports(
  'buy-1',
  100,
  'BUY',
  [
    { t: 1, l: 0.001, L: 60000, n: 0.000001 },
    { t: 2, l: 0.002, L: 60100, n: 0.000002 },
    { t: 3, l: 0.001, L: 60200, n: 0.000001 },
  ],
  'BTC',
);
const SELL = reports(
  'sell-1',
  200,
  'SELL',
  [
    { t: 4, l: 0.002, L: 61000, n: 0.122 },
    { t: 5, l: 0.001996, L: 61500, n: 0.122754 },
  ],
  'USDT',
);
const STREAM = [...BUY, ...SELL];

/** The REST read-back of both orders (exchange/ccxt-follow.ts readBack): every trade, fees summed per order. */
function restEvents(): BrokerEvent[] {
  const out: BrokerEvent[] = [];
  for (const r of STREAM) {
    const side = r['S'] === 'BUY' ? ('buy' as const) : ('sell' as const);
    const c = String(r['c']);
    const base = { orderId: String(r['i']), clientOrderId: c, market: BTC.symbol, side, legs: [] };
    if (r['x'] === 'NEW') {
      out.push({
        ...base,
        key: `new:${c}`,
        event: 'new',
        status: 'open',
        filled: 0,
        average: undefined,
        at: 0,
        source: 'rest',
      });
      continue;
    }
    const z = Number(r['z']);
    const prior = STREAM.filter((p) => p['c'] === c && p['x'] === 'TRADE' && Number(p['z']) <= z);
    const fee = prior.reduce((s, p) => s + Number(p['n']), 0);
    out.push({
      ...base,
      key: fillKey(c, z),
      event: r['X'] === 'FILLED' ? 'fill' : 'partial_fill',
      status: r['X'] === 'FILLED' ? 'closed' : 'open',
      filled: z,
      average: Number(r['Z']) / z,
      executionId: String(r['t']),
      qty: Number(r['l']),
      price: Number(r['L']),
      feeQuote: side === 'sell' ? fee : 0,
      feeBase: side === 'buy' ? fee : 0,
      at: Number(r['T']),
      source: 'rest',
    });
  }
  return out;
}

/** Apply a delivery: stream reports (through one FeeCounter, as the follower does) and REST events, in order. */
function apply(items: ({ raw: Record<string, unknown> } | { event: BrokerEvent })[]) {
  const j = Journal.open(':memory:');
  for (const [c, side, amount] of [
    ['buy-1', 'buy', 0.004],
    ['sell-1', 'sell', 0.003996],
  ] as const)
    j.addIntent(
      {
        client_order_id: c,
        epoch: 'ep',
        seq: c === 'buy-1' ? 1 : 2,
        leg: c === 'buy-1' ? 'entry' : 'exit',
        market: BTC.symbol,
        side,
        type: 'market',
        amount,
        price: null,
        ref_price: 60000,
        stop_loss: null,
        take_profit: null,
      },
      0,
    );
  const fees = new FeeCounter();
  items.forEach((it, k) => {
    const e = 'raw' in it ? executionEvent(it.raw, market, 'stream', fees.add(it.raw, market)) : it.event;
    if (e) j.applyBrokerEvent(e, 1000 + k);
  });
  const out = {
    rows: j.orderEventCount(),
    positions: j.positions().map((p) => ({ ...p, amount: +p.amount.toFixed(12), cost: +p.cost.toFixed(6) })),
    realized: +j.totalRealized().toFixed(6),
    intents: ['buy-1', 'sell-1'].map((c) => {
      const i = j.intent(c)!;
      return { status: i.status, filled: +i.filled.toFixed(12) };
    }),
  };
  j.close();
  return out;
}

describe('crypto order events in the journal (property)', () => {
  it('any duplication or reordering of the stream and the REST read-back gives the ledger of the stream in order', () => {
    const expected = apply(STREAM.map((raw) => ({ raw })));
    // Bought 0.004 less 0.000004 BTC of fees; sold all 0.003996: nothing left, P&L = proceeds - fees - cost.
    const cost = 0.001 * 60000 + 0.002 * 60100 + 0.001 * 60200;
    const proceeds = 0.002 * 61000 + 0.001996 * 61500 - 0.122 - 0.122754;
    expect(expected).toMatchObject({
      rows: 7,
      positions: [],
      realized: +(proceeds - cost).toFixed(6),
      intents: [
        { status: 'filled', filled: 0.004 },
        { status: 'filled', filled: 0.003996 },
      ],
    });
    const all = [...STREAM.map((raw) => ({ raw })), ...restEvents().map((event) => ({ event }))];
    fc.assert(
      fc.property(
        // Any subset of the stream (a cut loses reports) - the REST read-back has them all - in any order, with
        // any duplicates.
        fc.shuffledSubarray(
          all.map((_, k) => k),
          { minLength: restEvents().length },
        ),
        fc.array(fc.nat(all.length - 1), { maxLength: 10 }),
        (order, dups) => {
          const withRest = new Set([...order, ...STREAM.map((_, k) => STREAM.length + k)]);
          const items = [...order, ...[...withRest].filter((k) => !order.includes(k)), ...dups].map(
            (k) => all[k]!,
          );
          expect(apply(items)).toEqual(expected);
        },
      ),
      { numRuns: 80 },
    );
  });
});
