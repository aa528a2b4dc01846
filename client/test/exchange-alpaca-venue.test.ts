import { describe, expect, it } from 'vitest';
import { nyToMs } from './helpers/alpaca-emulator.js';
import { useAlpaca } from './helpers/alpaca-adapter.js';

// Alpaca's equity-only reads through the REAL ccxt.alpaca: account (without the retired PDT fields), clock and
// calendar (holidays, early closes), asset flags, quotes, halts.

const t = useAlpaca();

describe('account, clock, calendar, data', () => {
  it('reads the account without the retired PDT fields; a blocked account is refused definitively', async () => {
    const a = await t.ex.account();
    expect(a).toMatchObject({
      status: 'ACTIVE',
      canTrade: true,
      buyingPower: 10000,
      cash: 10000,
      multiplier: 1,
    });
    expect(a.patternDayTrader).toBeUndefined();
    expect(a.daytradeCount).toBeUndefined();
    t.emu.setAccount({ trading_blocked: true });
    expect((await t.ex.account()).canTrade).toBe(false);
    await expect(t.buy('cs-blocked')).rejects.toMatchObject({ code: 'account_blocked' });
    expect(t.emu.posted('cs-blocked')).toHaveLength(1);
  });

  it('clock and calendar know Thanksgiving and the early close after it', async () => {
    expect(await t.ex.clock()).toMatchObject({ isOpen: true, now: nyToMs('2026-11-23T10:00') });
    t.emu.setClock('2026-11-25T16:30');
    const c = await t.ex.clock();
    expect(c.isOpen).toBe(false);
    expect(c.nextOpen).toBe(nyToMs('2026-11-27T09:30'));
    expect(c.nextClose).toBe(nyToMs('2026-11-27T13:00'));
    const days = await t.ex.calendar('2026-11-23', '2026-11-30');
    expect(days.map((d) => d.date)).toEqual([
      '2026-11-23',
      '2026-11-24',
      '2026-11-25',
      '2026-11-27',
      '2026-11-30',
    ]);
    expect(days[3]).toMatchObject({
      open: '09:30',
      close: '13:00',
      sessionOpen: '04:00',
      sessionClose: '17:00',
    });
  });

  it('asset flags, latest quote and a ticker from the snapshot', async () => {
    expect(await t.ex.asset('PNNY')).toMatchObject({
      tradable: true,
      fractionable: false,
      shortable: false,
      easyToBorrow: false,
      exchange: 'NASDAQ',
      status: 'active',
    });
    expect((await t.ex.asset('AAPL'))?.fractionalExtendedHours).toBe(true);
    t.emu.setQuote('AAPL', { bid: 201, ask: 201.1, last: 201.05 });
    expect(await t.ex.latestQuote('AAPL/USD')).toMatchObject({ bid: 201, ask: 201.1 });
    expect(await t.ex.ticker('AAPL/USD')).toBe(201.05);
    expect(await t.ex.latestQuote('NOPE')).toBeUndefined();
  });

  it('a halted asset accepts orders but does not fill them', async () => {
    t.emu.haltAsset('AAPL');
    await t.buy('cs-halt', { type: 'market', price: undefined });
    t.emu.setQuote('AAPL', { bid: 199, ask: 199.1 });
    expect((await t.ex.fetchOrder('cs-halt'))?.status).toBe('open');
    t.emu.haltAsset('AAPL', false);
    t.emu.setQuote('AAPL', { bid: 199, ask: 199.1 });
    expect((await t.ex.fetchOrder('cs-halt'))?.status).toBe('closed');
  });
});
