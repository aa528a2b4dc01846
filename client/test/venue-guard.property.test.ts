import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignalSchema, type Signal } from '@catalyst-signal/shared';
import {
  decide,
  decideEquity,
  sessionAt,
  venueMarket,
  VENUE_ASSET_CLASS,
  type CalendarDay,
  type Decision,
  type MarketInfo,
} from '../src/decide/index.js';
import type { Config } from '../src/config.js';
import { testConfig } from './helpers/config.js';

// Property tests of the venue gate (issue 19 item 1, issue 20 items 1-2): whatever the signal, no venue ever
// plans an order for a signal of another asset class, and no order is ever sized in a currency other than the
// configured quote unless the friend mapped that symbol. The exchange here has EVERY market a symbol could map to
// (the worst case: a real exchange lists ETH/BTC), and the account is rich, so only the gate can say no.

const NOW = Date.parse('2026-11-24T15:00:00Z'); // Tuesday 10:00 New York: the regular session
const CAL: CalendarDay[] = [
  { date: '2026-11-24', open: '09:30', close: '16:00', sessionOpen: '04:00', sessionClose: '20:00' },
];
const QUOTE = 'USDT';

const cryptoCfg = (map: Record<string, string> = {}) =>
  testConfig({
    exchange: { quote: QUOTE, symbol_map: map },
    filters: { min_confidence: 0 },
    risk: { cooldown_per_symbol_ms: 0, short_on_spot: 'sell_holdings' },
  });
const equityCfg = (map: Record<string, string> = {}) =>
  testConfig({
    exchange: { venue: 'us_equity', symbol_map: map },
    filters: { min_confidence: 0 },
    risk: { cooldown_per_symbol_ms: 0 },
    equities: { allow_short: true, min_price: 0, max_price: 1e9 },
  } as never);

/** The market a real exchange would list under this symbol: "<base>/<quote>", or a ticker priced in USD. */
function anyMarket(symbol: string, venue: 'crypto_spot' | 'us_equity'): MarketInfo {
  const slash = symbol.lastIndexOf('/');
  const base = slash > 0 ? symbol.slice(0, slash) : symbol;
  const quote = slash > 0 ? symbol.slice(slash + 1) : venue === 'us_equity' ? 'USD' : QUOTE;
  return {
    symbol,
    base,
    quote,
    venue,
    amountStep: 1e-8,
    priceStep: 1e-8,
    minAmount: 0,
    minCost: 0,
    ...(venue === 'us_equity'
      ? { equity: { tradable: true, fractionable: true, shortable: true, fractionalExtendedHours: true } }
      : {}),
  };
}

function signalOf(
  symbol: string,
  o: { assetClass?: string | undefined; action?: string | undefined; direction: string },
): Signal {
  return {
    source_id: 's1',
    symbol,
    catalyst: 'fda',
    direction: o.direction,
    confidence: 0.9,
    price: 10,
    headline: 'h',
    classified_at: new Date(NOW - 2000).toISOString(),
    ingested_at: new Date(NOW - 1000).toISOString(),
    seq: 1,
    epoch: 'e',
    ...(o.action ? { action: o.action } : {}),
    ...(o.assetClass ? { asset_class: o.assetClass } : {}),
  } as unknown as Signal;
}

/** Decide on one venue as the pipeline would: the gate names the market, the exchange has it, the account is rich. */
function decideOn(venue: 'crypto_spot' | 'us_equity', cfg: Config, signal: Signal, held: boolean): Decision {
  const gate = venueMarket(signal, cfg.exchange);
  const market = gate.ok ? anyMarket(gate.market, venue) : undefined;
  const positions = held && market ? [{ market: market.symbol, amount: 5, cost: 50 }] : [];
  const state = {
    killSwitch: false,
    positions,
    dailyPnl: 0,
    ordersToday: 0,
    lastTradeAt: {},
    equity: 10_000,
    freeQuote: 10_000,
  };
  if (venue === 'crypto_spot') return decide(cfg, { signal, now: NOW, market, ticker: undefined, state });
  return decideEquity(cfg, {
    signal,
    now: NOW,
    market,
    session: sessionAt(NOW, CAL),
    last: undefined,
    account: { buyingPower: 10_000, equity: 10_000 },
    state: { ...state, outsidePositions: [], avoids: {}, roundTripsToday: 0, roundTripsWeek: 0 },
  });
}

const venueArb = fc.constantFrom('crypto_spot' as const, 'us_equity' as const);
const caseArb = fc.record({
  venue: venueArb,
  assetClass: fc.constantFrom(undefined, 'crypto', 'us_equity'),
  action: fc.constantFrom(undefined, 'enter', 'exit', 'avoid', 'info'),
  direction: fc.constantFrom('long', 'short'),
  symbol: fc.constantFrom('ABCD', 'LINK', 'BTC', 'OP', 'ETH/USDT', 'AAPL/USD', 'BRK.B'),
  held: fc.boolean(),
});

describe('venue gate (property)', () => {
  it('no venue ever plans an order for a signal of another asset class', () => {
    const seen = { crossRefused: 0, trades: 0 };
    fc.assert(
      fc.property(caseArb, (c) => {
        const cfg = c.venue === 'crypto_spot' ? cryptoCfg() : equityCfg();
        const d = decideOn(c.venue, cfg, signalOf(c.symbol, c), c.held);
        const cross = c.assetClass !== undefined && c.assetClass !== VENUE_ASSET_CLASS[c.venue];
        if (cross) {
          expect(d).toMatchObject({ verdict: 'skip', reason: 'skipped:asset_class', legs: [] });
          seen.crossRefused++;
        }
        if (d.verdict === 'trade') seen.trades++;
      }),
      { numRuns: 3000 },
    );
    // The generator reaches both sides: refusals across classes, and trades within one.
    expect(seen.crossRefused).toBeGreaterThan(100);
    expect(seen.trades).toBeGreaterThan(100);
  });

  // Printable tickers, pairs in the configured quote and in others, dots, lowercase, and invisible or
  // direction-changing characters a hostile publisher or server might try.
  const piece = fc.constantFrom(
    'BTC',
    'eth',
    'ABCD',
    'BRK.B',
    'USDT',
    'usdt',
    'BTC',
    'USD',
    'EUR',
    '.',
    '..',
    '/',
    '-',
    ':',
    '\u200b',
    '\u202e',
    '\u200f',
    '\u0000',
    'A',
    'x',
  );
  const symbolArb = fc.oneof(
    fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join('')),
    fc.tuple(fc.constantFrom('ETH', 'btc', 'DOGE', '.', '..'), piece).map(([b, q]) => `${b}/${q}`),
    fc.string({ minLength: 1, maxLength: 8 }),
  );

  it('every order is sized in the configured quote, unless the friend mapped the symbol', () => {
    const seen = { wire: 0, refusedForeign: 0, trades: 0, mapped: 0 };
    fc.assert(
      fc.property(symbolArb, venueArb, fc.boolean(), fc.boolean(), (symbol, venue, mapIt, held) => {
        const map = mapIt ? { [symbol.toUpperCase()]: venue === 'us_equity' ? 'XYZ' : 'XBT/USD' } : {};
        const cfg = venue === 'crypto_spot' ? cryptoCfg(map) : equityCfg(map);
        const signal = signalOf(symbol, { direction: 'long', action: held ? 'exit' : undefined });
        const onWire = SignalSchema.safeParse(signal).success;
        // The wire contract refuses what is not a ticker: no dot segments, nothing invisible or out of ASCII.
        if (/^\.+$|(^|\/)\.{1,2}(\/|$)|[^\x21-\x7e]/.test(symbol)) expect(onWire).toBe(false);
        if (onWire) seen.wire++;
        const d = decideOn(venue, cfg, signal, held);
        if (d.reason === 'skipped:foreign_quote') seen.refusedForeign++;
        for (const leg of d.legs) {
          seen.trades++;
          const mapped = Object.hasOwn(map, symbol.toUpperCase());
          if (mapped) {
            seen.mapped++;
            expect(leg.market).toBe(map[symbol.toUpperCase()]);
            continue;
          }
          const m = anyMarket(leg.market, venue);
          expect(m.quote).toBe(venue === 'us_equity' ? 'USD' : QUOTE);
          expect(leg.market.includes('/')).toBe(venue === 'crypto_spot');
          expect(leg.quote).toBeLessThanOrEqual(cfg.sizing.max_quote_per_trade + 1e-9);
        }
      }),
      { numRuns: 4000 },
    );
    expect(seen.wire).toBeGreaterThan(200);
    expect(seen.refusedForeign).toBeGreaterThan(200);
    expect(seen.trades).toBeGreaterThan(200);
    expect(seen.mapped).toBeGreaterThan(20);
  });

  it('names the reasons: a stock signal on crypto, ETH/BTC on USDT, a mapped pair', () => {
    const c = cryptoCfg({ XBT: 'XBT/USD' });
    expect(venueMarket({ symbol: 'ABCD', asset_class: 'us_equity' }, c.exchange)).toMatchObject({
      ok: false,
      reason: 'skipped:asset_class',
    });
    expect(venueMarket({ symbol: 'ETH/BTC' }, c.exchange)).toMatchObject({
      ok: false,
      reason: 'skipped:foreign_quote',
    });
    expect(venueMarket({ symbol: 'eth/usdt' }, c.exchange)).toEqual({
      ok: true,
      market: 'ETH/USDT',
      explicit: false,
    });
    expect(venueMarket({ symbol: 'XBT' }, c.exchange)).toEqual({
      ok: true,
      market: 'XBT/USD',
      explicit: true,
    });
    // A symbol named like an Object.prototype member is not a mapping.
    expect(venueMarket({ symbol: 'constructor' }, c.exchange)).toEqual({
      ok: true,
      market: 'CONSTRUCTOR/USDT',
      explicit: false,
    });
    const e = equityCfg();
    expect(venueMarket({ symbol: 'AAPL/USD' }, e.exchange)).toEqual({
      ok: true,
      market: 'AAPL',
      explicit: false,
    });
    expect(venueMarket({ symbol: 'ETH/BTC' }, e.exchange)).toMatchObject({ reason: 'skipped:foreign_quote' });
    expect(venueMarket({ symbol: 'BTC', asset_class: 'crypto' }, e.exchange)).toMatchObject({
      reason: 'skipped:asset_class',
    });
  });
});
