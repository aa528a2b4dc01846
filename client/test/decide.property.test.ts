import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decide,
  floorToStep,
  ceilToStep,
  mapSymbol,
  type DecisionState,
  type MarketInfo,
} from '../src/decide/index.js';
import type { Signal } from '@catalyst-signal/shared';
import { testConfig } from './helpers/config.js';

// Property tests of the PURE pipeline: no order ever exceeds a limit, a precision or a minimum, and the same
// inputs always give the same decision.

const NOW = Date.parse('2026-01-02T12:00:00Z');
const steps = [1, 0.1, 0.01, 0.001, 0.0001, 0.00001, 0.000001, 0.00000001, 0.5, 0.25, 5];

const marketArb: fc.Arbitrary<MarketInfo> = fc
  .record({
    amountStep: fc.constantFrom(...steps),
    priceStep: fc.constantFrom(0.01, 0.0001, 0.5, 1e-8),
    minAmountSteps: fc.integer({ min: 0, max: 50 }),
    minCost: fc.constantFrom(0, 1, 5, 10, 100),
  })
  .map((m) => ({
    symbol: 'BTC/USDT',
    base: 'BTC',
    quote: 'USDT',
    amountStep: m.amountStep,
    priceStep: m.priceStep,
    minAmount: Number((m.minAmountSteps * m.amountStep).toFixed(10)),
    minCost: m.minCost,
  }));

const signalArb: fc.Arbitrary<Signal> = fc
  .record({
    seq: fc.integer({ min: 1, max: 1e6 }),
    direction: fc.constantFrom('long', 'short', 'neutral'),
    confidence: fc.double({ min: 0, max: 1, noNaN: true }),
    price: fc.double({ min: 1e-4, max: 1e5, noNaN: true }),
    ageMs: fc.integer({ min: -5000, max: 200_000 }),
    stopFrac: fc.option(fc.double({ min: 0.001, max: 1.5, noNaN: true }), { nil: undefined }),
    symbol: fc.constantFrom('BTC', 'ETH', 'DOGE'),
  })
  .map((s) => ({
    source_id: `s${s.seq}`,
    symbol: s.symbol,
    catalyst: 'earnings',
    direction: s.direction as Signal['direction'],
    confidence: s.confidence,
    price: s.price,
    headline: 'h',
    classified_at: new Date(NOW - s.ageMs - 10).toISOString(),
    ingested_at: new Date(NOW - s.ageMs).toISOString(),
    stop_loss: s.stopFrac === undefined ? undefined : s.price * s.stopFrac,
    seq: s.seq,
    epoch: 'e1',
  }));

const stateArb: fc.Arbitrary<DecisionState> = fc
  .record({
    killSwitch: fc.boolean(),
    positions: fc.array(
      fc.record({
        market: fc.constantFrom('BTC/USDT', 'ETH/USDT', 'X/USDT', 'Y/USDT'),
        amount: fc.double({ min: 0, max: 10, noNaN: true }),
        cost: fc.double({ min: 0, max: 400, noNaN: true }),
      }),
      { maxLength: 4 },
    ),
    dailyPnl: fc.double({ min: -100, max: 100, noNaN: true }),
    ordersToday: fc.integer({ min: 0, max: 30 }),
    cooldownAgo: fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: undefined }),
    freeQuote: fc.double({ min: 0, max: 5000, noNaN: true }),
  })
  .map((s) => {
    const uniq = new Map(s.positions.map((p) => [p.market, p]));
    const positions = [...uniq.values()];
    return {
      killSwitch: s.killSwitch,
      positions,
      dailyPnl: s.dailyPnl,
      ordersToday: s.ordersToday,
      lastTradeAt: (s.cooldownAgo === undefined ? {} : { 'BTC/USDT': NOW - s.cooldownAgo }) as Record<
        string,
        number
      >,
      freeQuote: s.freeQuote,
      equity: s.freeQuote + positions.reduce((a, p) => a + p.cost, 0),
    };
  });

const configArb = fc
  .record({
    mode: fc.constantFrom('fixed_quote', 'equity_pct', 'risk_pct'),
    fixed: fc.double({ min: 0.01, max: 1000, noNaN: true }),
    eqPct: fc.double({ min: 0.1, max: 100, noNaN: true }),
    riskPct: fc.double({ min: 0.1, max: 10, noNaN: true }),
    scaling: fc.boolean(),
    maxPer: fc.double({ min: 1, max: 500, noNaN: true }),
    belowMin: fc.constantFrom('skip', 'raise'),
    raiseCap: fc.double({ min: 1, max: 200, noNaN: true }),
    maxSym: fc.double({ min: 0, max: 500, noNaN: true }),
    maxTotal: fc.double({ min: 0, max: 1000, noNaN: true }),
    maxOpen: fc.integer({ min: 0, max: 5 }),
    orderType: fc.constantFrom('market', 'limit'),
    short: fc.constantFrom('skip', 'sell_holdings'),
  })
  .map((c) =>
    testConfig({
      sizing: {
        mode: c.mode as 'fixed_quote',
        fixed_quote: c.fixed,
        equity_pct: c.eqPct,
        risk_pct: c.riskPct,
        confidence_scaling: c.scaling,
        max_quote_per_trade: c.maxPer,
        below_minimum: c.belowMin as 'skip',
        raise_cap_quote: c.raiseCap,
      },
      risk: {
        max_exposure_per_symbol_quote: c.maxSym,
        max_total_exposure_quote: c.maxTotal,
        max_open_positions: c.maxOpen,
        short_on_spot: c.short as 'skip',
        max_orders_per_day: 20,
        max_daily_loss_quote: 50,
        cooldown_per_symbol_ms: 600_000,
      },
      execution: { order_type: c.orderType as 'market' },
      filters: { min_confidence: 0.5 },
    }),
  );

const isMultiple = (x: number, step: number) => {
  const n = x / step;
  return Math.abs(n - Math.round(n)) < 1e-6 + Math.abs(n) * 1e-12;
};
const EPS = 1e-9;

describe('decide (property)', () => {
  it('never produces an order beyond a limit, a precision or a minimum', () => {
    fc.assert(
      fc.property(
        configArb,
        signalArb,
        marketArb,
        stateArb,
        fc.option(fc.double({ min: 1e-4, max: 1e5, noNaN: true }), { nil: undefined }),
        (cfg, signal, market, state, ticker) => {
          const d = decide(cfg, { signal, now: NOW, market, ticker, state });
          expect(['trade', 'skip', 'reject']).toContain(d.verdict);
          expect(d.reason.length).toBeGreaterThan(0);
          if (d.verdict !== 'trade') {
            expect(d.legs).toHaveLength(0);
            return;
          }
          expect(d.legs).toHaveLength(1);
          const leg = d.legs[0]!;
          const price = leg.limitPrice ?? leg.refPrice;
          // precision and exchange minimums, after rounding
          expect(isMultiple(leg.amount, market.amountStep)).toBe(true);
          expect(leg.amount).toBeGreaterThan(0);
          expect(leg.amount).toBeGreaterThanOrEqual(market.minAmount - EPS);
          expect(leg.amount * price).toBeGreaterThanOrEqual(market.minCost * (1 - 1e-9));
          if (leg.limitPrice !== undefined) expect(isMultiple(leg.limitPrice, market.priceStep)).toBe(true);
          // never trade what the filters refuse
          expect(state.killSwitch).toBe(false);
          expect(signal.confidence).toBeGreaterThanOrEqual(0.5);
          expect(NOW - Date.parse(signal.ingested_at)).toBeLessThanOrEqual(60_000);
          if (leg.side === 'buy') {
            expect(signal.direction).toBe('long');
            const value = leg.amount * price;
            const held = state.positions.find((p) => p.market === market.symbol);
            const total = state.positions.reduce((a, p) => a + p.cost, 0);
            expect(value).toBeLessThanOrEqual(cfg.sizing.max_quote_per_trade * (1 + 1e-9));
            expect(value + (held?.cost ?? 0)).toBeLessThanOrEqual(
              cfg.risk.max_exposure_per_symbol_quote * (1 + 1e-9) + EPS,
            );
            expect(value + total).toBeLessThanOrEqual(cfg.risk.max_total_exposure_quote * (1 + 1e-9) + EPS);
            expect(value).toBeLessThanOrEqual(state.freeQuote);
            if (d.reason === 'trade:entry_raised_to_minimum')
              expect(value).toBeLessThanOrEqual(cfg.sizing.raise_cap_quote * (1 + 1e-9));
            if (!held || held.amount <= 0)
              expect(state.positions.filter((p) => p.amount > 0).length).toBeLessThan(
                cfg.risk.max_open_positions,
              );
            expect(state.dailyPnl).toBeGreaterThan(-cfg.risk.max_daily_loss_quote);
            expect(state.ordersToday).toBeLessThan(cfg.risk.max_orders_per_day);
            const last = state.lastTradeAt[market.symbol];
            if (last !== undefined)
              expect(NOW - last).toBeGreaterThanOrEqual(cfg.risk.cooldown_per_symbol_ms);
          } else {
            expect(signal.direction).toBe('short');
            expect(cfg.risk.short_on_spot).toBe('sell_holdings');
            const held = state.positions.find((p) => p.market === market.symbol)!;
            expect(leg.amount).toBeLessThanOrEqual(held.amount + EPS);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('is deterministic: same inputs, same decision', () => {
    fc.assert(
      fc.property(configArb, signalArb, marketArb, stateArb, (cfg, signal, market, state) => {
        const a = decide(cfg, { signal, now: NOW, market, ticker: undefined, state });
        const b = decide(structuredClone(cfg), {
          signal: structuredClone(signal),
          now: NOW,
          market: { ...market },
          ticker: undefined,
          state: structuredClone(state),
        });
        expect(b).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });

  it('protocol 2: avoid and info never trade, exit only sells what this client holds; enter decides exactly as the v1 long/short', () => {
    const seen = { exits: 0 };
    fc.assert(
      fc.property(
        configArb,
        signalArb,
        marketArb,
        stateArb,
        fc.constantFrom('exit', 'avoid', 'info') as fc.Arbitrary<'exit' | 'avoid' | 'info'>,
        fc.double({ min: 0, max: 50, noNaN: true }),
        (cfg, signal, market, state, action, holding) => {
          const at = (s: Signal, st = state) =>
            decide(cfg, { signal: s, now: NOW, market, ticker: undefined, state: st });
          // direction is ignored for these (even short with sell_holdings on).
          const other = at({ ...signal, action });
          if (action !== 'exit') {
            expect(other.legs).toEqual([]);
            expect(other.verdict).toBe('skip');
            if (!state.killSwitch) expect(other.reason).toBe(`skipped:action_${action}`);
          } else {
            // Without and with a holding of this client's in the market: never a buy, never more than held.
            const holds = {
              ...state,
              positions: [
                ...state.positions.filter((p) => p.market !== market.symbol),
                { market: market.symbol, amount: holding, cost: holding },
              ],
            };
            for (const [st, d] of [
              [state, other],
              [holds, at({ ...signal, action }, holds)],
            ] as const) {
              const held = st.positions.find((p) => p.market === market.symbol)?.amount ?? 0;
              if (d.verdict !== 'trade') {
                expect(d.legs).toEqual([]);
                if (!st.killSwitch && !(held > 0)) expect(d.reason).toBe('skipped:no_holdings');
                continue;
              }
              seen.exits++;
              expect(d.reason).toBe('trade:exit');
              expect(d.legs).toHaveLength(1);
              const [leg] = d.legs;
              expect(leg).toMatchObject({ leg: 'exit', side: 'sell', market: market.symbol });
              expect(leg!.amount).toBeLessThanOrEqual(held + EPS);
              expect(isMultiple(leg!.amount, market.amountStep)).toBe(true);
            }
          }
          if (signal.direction !== 'neutral') expect(at({ ...signal, action: 'enter' })).toEqual(at(signal));
        },
      ),
      { numRuns: 1000 },
    );
    expect(seen.exits).toBeGreaterThan(0);
  });

  it('floorToStep / ceilToStep stay on the grid and on the right side', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.constantFrom(...steps), (x, step) => {
        const f = floorToStep(x, step);
        const c = ceilToStep(x, step);
        expect(f).toBeLessThanOrEqual(x * (1 + 1e-12));
        expect(c).toBeGreaterThanOrEqual(x);
        expect(isMultiple(f, step)).toBe(true);
        expect(isMultiple(c, step)).toBe(true);
        expect(c - f).toBeLessThanOrEqual(step * (1 + 1e-6) + x * 1e-12);
      }),
    );
  });
});

describe('decide (examples)', () => {
  const market: MarketInfo = {
    symbol: 'BTC/USDT',
    base: 'BTC',
    quote: 'USDT',
    amountStep: 0.00001,
    priceStep: 0.01,
    minAmount: 0.00001,
    minCost: 5,
  };
  const state: DecisionState = {
    killSwitch: false,
    positions: [],
    dailyPnl: 0,
    ordersToday: 0,
    lastTradeAt: {},
    equity: 1000,
    freeQuote: 1000,
  };
  const sig = (over: Partial<Signal> = {}): Signal => ({
    source_id: 'a',
    symbol: 'BTC',
    catalyst: 'fda',
    direction: 'long',
    confidence: 0.9,
    price: 60000,
    headline: 'h',
    classified_at: new Date(NOW - 2000).toISOString(),
    ingested_at: new Date(NOW - 1000).toISOString(),
    seq: 1,
    epoch: 'e',
    ...over,
  });
  const cfg = testConfig({});

  it('skips a stale signal with that reason', () => {
    const d = decide(cfg, {
      signal: sig({ ingested_at: new Date(NOW - 61_000).toISOString() }),
      now: NOW,
      market,
      ticker: undefined,
      state,
    });
    expect(d).toMatchObject({ verdict: 'skip', reason: 'skipped:stale' });
  });
  it('skips an expired signal, a denied symbol, low confidence, a missing market, drift', () => {
    const c = testConfig({ filters: { symbols_deny: ['DOGE'], max_price_drift_pct: 1 } });
    const r = (s: Signal, m: MarketInfo | null = market, t?: number) =>
      decide(c, { signal: s, now: NOW, market: m ?? undefined, ticker: t, state }).reason;
    expect(r(sig({ expires_at: new Date(NOW - 1).toISOString() }))).toBe('skipped:expired');
    expect(r(sig({ symbol: 'DOGE' }))).toBe('skipped:symbol_denied');
    expect(r(sig({ confidence: 0.1 }))).toBe('skipped:confidence');
    expect(r(sig(), null)).toBe('skipped:no_market');
    expect(r(sig(), market, 61000)).toBe('skipped:price_drift');
    expect(r(sig(), market, 60100)).toBe('trade:entry');
  });
  it('sizes fixed_quote at 25 USDT, rounded down to the step', () => {
    const d = decide(cfg, { signal: sig(), now: NOW, market, ticker: undefined, state });
    expect(d.legs[0]).toMatchObject({ side: 'buy', amount: 0.00041, type: 'market' });
  });
  it('risk_pct uses the signal stop distance', () => {
    const c = testConfig({
      sizing: { mode: 'risk_pct', risk_pct: 1, max_quote_per_trade: 1000 },
      risk: { max_exposure_per_symbol_quote: 1000, max_total_exposure_quote: 1000 },
    });
    // risk 10 USDT with a 10% stop -> 100 USDT
    const d = decide(c, { signal: sig({ stop_loss: 54000 }), now: NOW, market, ticker: undefined, state });
    expect(d.legs[0]!.quote).toBeCloseTo(100, 0);
    expect(d.legs[0]!.stopLoss).toBe(54000);
  });
  it('below minimum: skip by default, raise only up to the cap', () => {
    const small = testConfig({ sizing: { fixed_quote: 2 } });
    expect(decide(small, { signal: sig(), now: NOW, market, ticker: undefined, state }).reason).toBe(
      'skipped:below_minimum',
    );
    const raise = testConfig({ sizing: { fixed_quote: 2, below_minimum: 'raise', raise_cap_quote: 6 } });
    const d = decide(raise, { signal: sig(), now: NOW, market, ticker: undefined, state });
    expect(d.reason).toBe('trade:entry_raised_to_minimum');
    expect(d.legs[0]!.amount * 60000).toBeGreaterThanOrEqual(5);
    const capped = testConfig({ sizing: { fixed_quote: 2, below_minimum: 'raise', raise_cap_quote: 4 } });
    expect(decide(capped, { signal: sig(), now: NOW, market, ticker: undefined, state }).reason).toBe(
      'skipped:below_minimum',
    );
  });
  it('kill switch, daily loss, cooldown, orders per day, open positions', () => {
    const r = (s: Partial<DecisionState>) =>
      decide(cfg, { signal: sig(), now: NOW, market, ticker: undefined, state: { ...state, ...s } }).reason;
    expect(r({ killSwitch: true })).toBe('skipped:kill_switch');
    expect(r({ dailyPnl: -50 })).toBe('skipped:daily_loss');
    expect(r({ ordersToday: 20 })).toBe('skipped:max_orders_per_day');
    expect(r({ lastTradeAt: { 'BTC/USDT': NOW - 1000 } })).toBe('skipped:cooldown');
    const five = ['A', 'B', 'C', 'D', 'E'].map((m) => ({ market: `${m}/USDT`, amount: 1, cost: 10 }));
    expect(r({ positions: five })).toBe('skipped:max_open_positions');
  });
  it('short on spot: skip, or sell what this client holds', () => {
    expect(
      decide(cfg, { signal: sig({ direction: 'short' }), now: NOW, market, ticker: undefined, state }).reason,
    ).toBe('skipped:short_on_spot');
    const sell = testConfig({ risk: { short_on_spot: 'sell_holdings' } });
    const held = { ...state, positions: [{ market: 'BTC/USDT', amount: 0.001234567, cost: 70 }] };
    const d = decide(sell, {
      signal: sig({ direction: 'short' }),
      now: NOW,
      market,
      ticker: undefined,
      state: held,
    });
    expect(d.legs[0]).toMatchObject({ side: 'sell', amount: 0.00123, leg: 'exit' });
    expect(
      decide(sell, { signal: sig({ direction: 'short' }), now: NOW, market, ticker: undefined, state })
        .reason,
    ).toBe('skipped:no_holdings');
  });
  it('maps symbols: explicit map first, else SYMBOL/quote', () => {
    const ex = testConfig({ exchange: { quote: 'usdc', symbol_map: { XBT: 'BTC/USD' } } }).exchange;
    expect(mapSymbol('xbt', ex)).toBe('BTC/USD');
    expect(mapSymbol('eth', ex)).toBe('ETH/USDC');
  });
});
