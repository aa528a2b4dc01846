import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import {
  decideEquity,
  onEquityTick,
  sessionAt,
  type CalendarDay,
  type EquityState,
  type MarketInfo,
} from '../src/decide/index.js';
import { testConfig } from './helpers/config.js';

// Property tests of the PURE US equity rules: whatever the time, signal, asset, account and policy, no order is
// outside its session's allowed types, no fractional quantity reaches a non-fractionable asset (or a bracket, or
// a GTC order), no entry exceeds a cap or the buying power, prices sit on Alpaca's ticks, and exits never grow a
// position. An independent oracle (the tz database through Intl) checks the session classification.

const CAL: CalendarDay[] = ['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-27', '2026-11-30'].map(
  (d) => ({
    date: d,
    open: '09:30',
    close: d === '2026-11-27' ? '13:00' : '16:00',
    sessionOpen: '04:00',
    sessionClose: d === '2026-11-27' ? '17:00' : '20:00',
  }),
);
const FROM = Date.parse('2026-11-22T00:00:00Z');
const TO = Date.parse('2026-12-01T06:00:00Z');
const nowArb = fc.integer({ min: FROM, max: TO });

/** New York wall clock via the tz database: an oracle independent of sessions.ts's daylight-saving rule. */
function oracleKind(now: number): string {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/New_York',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const p = Object.fromEntries(f.formatToParts(new Date(now)).map((x) => [x.type, x.value]));
  const date = `${p['year']}-${p['month']}-${p['day']}`;
  const t = Number(p['hour']) * 3600 + Number(p['minute']) * 60 + Number(p['second']);
  const d = CAL.find((c) => c.date === date);
  if (!d) return 'closed';
  const hm = (s: string) =>
    Number(s.replace(':', '').slice(0, 2)) * 3600 + Number(s.replace(':', '').slice(2)) * 60;
  if (t < hm(d.sessionOpen) || t >= hm(d.sessionClose)) return 'closed';
  if (t < hm(d.open)) return 'pre';
  return t < hm(d.close) ? 'regular' : 'after';
}

const SYMBOL = 'ACME';

const caseArb = fc.record({
  now: nowArb,
  ageMs: fc.integer({ min: 0, max: 120_000 }),
  action: fc.constantFrom('enter', 'enter', 'exit', 'avoid', 'info', undefined),
  direction: fc.constantFrom('long', 'short'),
  price: fc.oneof(
    fc.integer({ min: 5, max: 99_99 }).map((c) => c / 10_000),
    fc.integer({ min: 100, max: 60_000 }).map((c) => c / 100),
  ),
  drift: fc.integer({ min: -300, max: 300 }).map((b) => 1 + b / 10_000),
  hasLast: fc.boolean(),
  slPct: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  tpPct: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  asset: fc.record({
    tradable: fc.oneof(
      { weight: 9, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    fractionable: fc.boolean(),
    shortable: fc.boolean(),
    fractionalExtendedHours: fc.boolean(),
  }),
  // Flat more often than not: an entry in a held symbol is a simple order, and brackets (from flat only) must
  // still be exercised many times in every run, whatever the seed.
  held: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 500 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000_000 }).map((n) => n / 1e6) },
  ),
  buyingPower: fc.integer({ min: 0, max: 20_000 }),
  policy: fc.constantFrom('regular_only', 'extended', 'extended', 'hold_until_open'),
  tif: fc.constantFrom('day', 'gtc'),
  fractional: fc.boolean(),
  allowShort: fc.boolean(),
  avoidExits: fc.boolean(),
  orderType: fc.constantFrom('market', 'limit'),
  slippage: fc.integer({ min: 0, max: 500 }).map((b) => b / 100),
  sizing: fc.constantFrom('fixed_quote', 'equity_pct', 'risk_pct'),
  fixedQuote: fc.integer({ min: 1, max: 5000 }),
  maxPerTrade: fc.integer({ min: 1, max: 5000 }),
  symbolCap: fc.integer({ min: 0, max: 5000 }),
  killSwitch: fc.oneof(
    { weight: 9, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function run(c: Case) {
  const cfg = testConfig({
    exchange: { venue: 'us_equity' },
    filters: { min_confidence: 0, max_signal_age_ms: 6 * 3_600_000 },
    sizing: { mode: c.sizing, fixed_quote: c.fixedQuote, max_quote_per_trade: c.maxPerTrade },
    risk: {
      max_exposure_per_symbol_quote: c.symbolCap,
      max_total_exposure_quote: 1e9,
      max_open_positions: 100,
      max_orders_per_day: 1000,
      cooldown_per_symbol_ms: 0,
    },
    execution: { stop_loss_pct: 5 },
    equities: {
      session_policy: c.policy,
      extended_time_in_force: c.tif,
      fractional: c.fractional,
      allow_short: c.allowShort,
      avoid_exits: c.avoidExits,
      regular_order_type: c.orderType,
      limit_slippage_pct: c.slippage,
      min_price: 0,
      max_price: 1e9,
    },
  } as never);
  const signal = {
    source_id: 's',
    symbol: SYMBOL,
    catalyst: 'fda',
    direction: c.direction,
    confidence: 0.9,
    price: c.price,
    headline: 'h',
    classified_at: new Date(c.now - c.ageMs - 1).toISOString(),
    ingested_at: new Date(c.now - c.ageMs).toISOString(),
    seq: 1,
    epoch: 'e',
    sig: 'x',
    ...(c.action ? { action: c.action } : {}),
    ...(c.slPct ? { stop_loss: c.price * (1 - c.slPct / 100) } : {}),
    ...(c.tpPct ? { take_profit: c.price * (1 + c.tpPct / 100) } : {}),
  } as unknown as Signal;
  const market: MarketInfo = {
    symbol: SYMBOL,
    base: SYMBOL,
    quote: 'USD',
    venue: 'us_equity',
    amountStep: 1,
    priceStep: 0.0001,
    minAmount: 0,
    minCost: 0,
    equity: c.asset,
  };
  const state: EquityState = {
    killSwitch: c.killSwitch,
    positions: c.held > 0 ? [{ market: SYMBOL, amount: c.held, cost: c.held * c.price }] : [],
    dailyPnl: 0,
    ordersToday: 0,
    lastTradeAt: {},
    equity: 10_000,
    freeQuote: c.buyingPower,
    outsidePositions: [],
    avoids: {},
    roundTripsToday: 0,
    roundTripsWeek: 0,
  };
  const session = sessionAt(c.now, CAL);
  const last = c.hasLast ? Math.round(c.price * c.drift * 10_000) / 10_000 : undefined;
  const d = decideEquity(cfg, {
    signal,
    now: c.now,
    market,
    session,
    last,
    account: { buyingPower: c.buyingPower, equity: 10_000 },
    state,
  });
  return { d, session, cfg, held: c.held };
}

describe('US equity rules (property)', () => {
  it('the session at any instant matches the tz database oracle', () => {
    fc.assert(
      fc.property(nowArb, (now) => {
        expect(sessionAt(now, CAL).kind).toBe(oracleKind(now));
      }),
      { numRuns: 2000 },
    );
  });

  it('no order outside its session, no fraction where not allowed, within caps and buying power, on ticks; exits never grow', () => {
    const seen = { trades: 0, extended: 0, bracket: 0, fractional: 0, exits: 0 };
    fc.assert(
      fc.property(caseArb, (c) => {
        const { d, session, held } = run(c);
        if (d.verdict !== 'trade') {
          expect(d.legs).toEqual([]);
          return;
        }
        seen.trades += 1;
        expect(session.kind).not.toBe('closed');
        for (const l of d.legs) {
          const p = l.params!;
          expect(p).toBeDefined();
          if (session.kind === 'regular') {
            expect(p.extendedHours).toBe(false);
            // A bracket's legs share its time in force: GTC, so the stop outlives the session (issue 19).
            expect(p.timeInForce).toBe(p.orderClass === 'bracket' ? 'gtc' : 'day');
            if (p.orderClass === 'bracket') expect(l.type).toBe('market');
          } else {
            // Extended hours: limit + extended_hours, DAY or GTC, simple, no stop and no bracket legs.
            expect(c.policy).toBe('extended');
            expect(l.type).toBe('limit');
            expect(p.extendedHours).toBe(true);
            expect(p.orderClass).toBe('simple');
            expect(p.stopLoss).toBeUndefined();
            expect(p.takeProfit).toBeUndefined();
            expect(['day', 'gtc']).toContain(p.timeInForce);
          }
          if (!Number.isInteger(l.amount)) {
            expect(c.asset.fractionable || l.leg === 'exit').toBe(true);
            expect(p.orderClass).toBe('simple');
            expect(p.timeInForce).toBe('day');
            if (p.extendedHours) expect(c.asset.fractionalExtendedHours).toBe(true);
          }
          if (l.limitPrice !== undefined)
            expect(onEquityTick(l.limitPrice), `limit ${l.limitPrice}`).toBe(true);
          if (p.orderClass === 'bracket') {
            expect(onEquityTick(p.stopLoss!)).toBe(true);
            expect(onEquityTick(p.takeProfit!)).toBe(true);
            const base = l.limitPrice ?? l.refPrice;
            expect(p.stopLoss!).toBeLessThanOrEqual(base - 0.01 + 1e-9);
            expect(p.takeProfit!).toBeGreaterThanOrEqual(base + 0.01 - 1e-9);
            expect(Number.isInteger(l.amount)).toBe(true);
          }
          expect(l.amount).toBeGreaterThan(0);
          if (p.extendedHours) seen.extended += 1;
          if (p.orderClass === 'bracket') seen.bracket += 1;
          if (!Number.isInteger(l.amount)) seen.fractional += 1;
          if (l.leg === 'exit') seen.exits += 1;
          if (l.leg === 'exit') {
            expect(l.side).toBe('sell');
            expect(l.amount).toBeLessThanOrEqual(held + 1e-12);
            expect(p.cancelProtectiveFirst).toBe(true);
          } else {
            expect(c.action === undefined || c.action === 'enter').toBe(true);
            expect(c.killSwitch).toBe(false);
            if (c.direction === 'short') expect(c.allowShort && c.asset.shortable).toBe(true);
            expect(c.asset.tradable).toBe(true);
            const worst = l.amount * (l.limitPrice ?? l.refPrice * 1.01);
            expect(worst).toBeLessThanOrEqual(c.buyingPower + 1e-6);
            expect(worst).toBeLessThanOrEqual(c.maxPerTrade + 1e-6);
            expect(worst).toBeLessThanOrEqual(c.symbolCap + 1e-6);
          }
        }
        expect(['trade:entry', 'trade:exit', 'trade:exit_on_avoid']).toContain(d.reason);
      }),
      { numRuns: 6000 },
    );
    // The invariants were exercised on every kind of order, not vacuously.
    for (const [k, n] of Object.entries(seen)) expect(n, k).toBeGreaterThan(5);
  });

  it('info never trades; avoid blocks entries for the window; exits need holdings of this client', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const info = run({ ...c, action: 'info' }).d;
        expect(info.verdict).toBe('skip');
        const avoid = run({ ...c, action: 'avoid' });
        if (!c.avoidExits) expect(avoid.d.legs).toEqual([]);
        if (!(c.killSwitch && !c.avoidExits))
          expect(avoid.d.avoidUntil).toBe(c.now + avoid.cfg.equities.avoid_window_ms);
        const exit = run({ ...c, action: 'exit', held: 0 }).d;
        expect(exit.legs).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
