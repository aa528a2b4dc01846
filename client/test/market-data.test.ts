import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AlpacaMarketData,
  AlpacaSymbolBarsSchema,
  CachedMarketData,
  MarketDataError,
  type AlpacaMarketDataOptions,
} from '@catalyst-signal/shared/market-data';
import { SqliteBarStore } from '../src/journal/bar-store.js';
import { nyToMs, startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';

// The market-data seam (shared/src/market-data) against the project's Alpaca emulator, which serves seeded bars
// (client/test/helpers/alpaca/bars.ts): pagination, the client-side rate limit, the SQLite cache, split
// adjustment, halts, and the SIP/IEX choice.

let emu: AlpacaEmulator;
let dir: string;
const stores: SqliteBarStore[] = [];

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'catalyst-bars-'));
});
afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(opts: Parameters<typeof startAlpacaEmulator>[0] = {}) {
  emu = await startAlpacaEmulator({ now: '2026-11-25T10:00', ...opts });
}
/** A data client on the emulator's clock: waiting moves that clock, so a rate limit costs no real time. */
function client(over: Partial<AlpacaMarketDataOptions> = {}) {
  return new AlpacaMarketData({
    keyId: emu.keyId,
    secret: emu.secret,
    baseUrl: emu.url,
    now: () => emu.now(),
    sleep: async (ms) => emu.advanceClock(ms),
    ...over,
  });
}
const barCalls = () => emu.requests.filter((r) => r.path.endsWith('/bars'));
const MON = (hm: string) => nyToMs(`2026-11-23T${hm}`);

describe('the Alpaca data client against the emulator', () => {
  it('follows next_page_token across symbols and gets the same bars as one big page', async () => {
    await start();
    const big = await client().getBars(['PNNY', 'AAPL'], MON('04:00'), MON('20:00'));
    expect(barCalls()).toHaveLength(1);
    const small = await client({ pageLimit: 500 }).getBars(['PNNY', 'AAPL'], MON('04:00'), MON('20:00'));
    const calls = barCalls().slice(1);
    const total = big.get('AAPL')!.length + big.get('PNNY')!.length;
    expect(total).toBeGreaterThan(1000);
    expect(calls).toHaveLength(Math.ceil(total / 500));
    expect(calls[0]!.query['page_token']).toBeUndefined();
    expect(calls.slice(1).every((c) => typeof c.query['page_token'] === 'string')).toBe(true);
    expect(small).toEqual(big);
    // Every request: multi-symbol, 1Min, split-adjusted, SIP for a day that ended long ago.
    for (const c of calls)
      expect(c.query).toMatchObject({
        symbols: 'PNNY,AAPL',
        timeframe: '1Min',
        adjustment: 'split',
        feed: 'sip',
      });
    // Oldest first, inside the range, sessions only (04:00-20:00), every bar a real price.
    for (const bars of big.values()) {
      expect(bars.map((b) => b.t)).toEqual([...bars.map((b) => b.t)].sort((a, b) => a - b));
      expect(bars[0]!.t).toBeGreaterThanOrEqual(MON('04:00'));
      expect(bars.at(-1)!.t).toBeLessThan(MON('20:00'));
      expect(bars.every((b) => b.l > 0 && b.l <= Math.min(b.o, b.c) && b.h >= Math.max(b.o, b.c))).toBe(true);
    }
    // The single-symbol form pages the same way and returns the same bars.
    const one: number[] = [];
    let token: string | null | undefined;
    do {
      const q = new URLSearchParams({
        timeframe: '1Min',
        start: new Date(MON('04:00')).toISOString(),
        end: new Date(MON('20:00') - 1).toISOString(),
        limit: '300',
        feed: 'sip',
        adjustment: 'split',
      });
      if (token) q.set('page_token', token);
      const res = await fetch(`${emu.url}/v2/stocks/AAPL/bars?${q}`, {
        headers: { 'APCA-API-KEY-ID': emu.keyId, 'APCA-API-SECRET-KEY': emu.secret },
      });
      const page = AlpacaSymbolBarsSchema.parse(await res.json());
      one.push(...(page.bars ?? []).map((b) => Date.parse(b.t)));
      token = page.next_page_token;
    } while (token);
    expect(one).toEqual(big.get('AAPL')!.map((b) => b.t));
  });

  it('stays inside the rate limit: never a 429, the calls spread over the limit windows', async () => {
    await start({ bars: { callsPerMinute: 3 } });
    const md = client({ pageLimit: 50, callsPerMinute: 3 });
    const t0 = emu.now();
    await md.getBars(['AAPL'], MON('09:30'), MON('16:00'));
    const calls = barCalls();
    expect(calls.length).toBeGreaterThanOrEqual(2 * 3 + 1);
    expect(calls.every((c) => c.status === 200)).toBe(true);
    // 3 a minute: the 7th call waited two windows on the clock.
    expect(emu.now() - t0).toBeGreaterThanOrEqual(2 * 60_000);
  });

  it('a 429 (another process used the quota) is waited out with Retry-After, not an error', async () => {
    await start({ bars: { callsPerMinute: 2 } });
    const md = client({ pageLimit: 100, callsPerMinute: 100 });
    const got = await md.getBars(['AAPL'], MON('09:30'), MON('16:00'));
    expect(barCalls().some((c) => c.status === 429)).toBe(true);
    expect(got.get('AAPL')!.length).toBeGreaterThan(300);
  });

  it('adjusts a split: LOWP (1-for-10 reverse on 11-24) is continuous split-adjusted and jumps 10x raw', async () => {
    await start();
    const md = client();
    const adj = (await md.getBars(['LOWP'], MON('04:00'), nyToMs('2026-11-24T20:00'))).get('LOWP')!;
    const split = nyToMs('2026-11-24T00:00');
    const before = adj.filter((b) => b.t < split).at(-1)!;
    const after = adj.find((b) => b.t >= split)!;
    expect(after.o / before.c).toBeGreaterThan(0.8);
    expect(after.o / before.c).toBeLessThan(1.25);
    // The same minutes raw: pre-split prices a tenth, volumes ten times.
    const q = new URLSearchParams({
      symbols: 'LOWP',
      timeframe: '1Min',
      start: new Date(MON('04:00')).toISOString(),
      end: new Date(MON('20:00')).toISOString(),
      feed: 'sip',
      adjustment: 'raw',
      limit: '10000',
    });
    const raw = (await (
      await fetch(`${emu.url}/v2/stocks/bars?${q}`, {
        headers: { 'APCA-API-KEY-ID': emu.keyId, 'APCA-API-SECRET-KEY': emu.secret },
      })
    ).json()) as { bars: { LOWP: { c: number; v: number }[] } };
    const lastRaw = raw.bars.LOWP.at(-1)!;
    expect(lastRaw.c).toBeCloseTo(before.c / 10, 2);
    expect(lastRaw.v).toBe(before.v * 10);
  });

  it('a halt is missing bars, never zero bars', async () => {
    await start();
    const bars = (await client().getBars(['PNNY'], MON('10:00'), MON('11:15'))).get('PNNY')!;
    expect(bars.filter((b) => b.t >= MON('10:30') && b.t < MON('10:45'))).toEqual([]);
    expect(bars.filter((b) => b.t < MON('10:30')).length).toBeGreaterThan(20);
    expect(bars.filter((b) => b.t >= MON('10:45')).length).toBeGreaterThan(20);
    expect(bars.every((b) => b.o > 0 && b.c > 0 && b.v > 0)).toBe(true);
    // A weekend has no bars at all.
    const sat = (
      await client().getBars(['PNNY'], nyToMs('2026-11-21T00:00'), nyToMs('2026-11-22T23:59'))
    ).get('PNNY');
    expect(sat).toEqual([]);
  });

  it('asks IEX for the last 15 minutes (SIP is refused there on the free plan) and never sees a closed-minute-only gap', async () => {
    await start({ now: '2026-11-23T11:00' });
    const md = client();
    const recent = (await md.getBars(['AAPL'], MON('10:40'), MON('11:01'))).get('AAPL')!;
    expect(barCalls().map((c) => [c.query['feed'], c.query['start']])).toEqual([
      ['sip', new Date(MON('10:40')).toISOString()],
      ['iex', new Date(MON('10:45')).toISOString()],
    ]);
    expect(recent.filter((b) => b.t < MON('10:45')).every((b) => b.v > 1000)).toBe(true);
    // The minute still open (11:00) has no bar yet.
    expect(recent.at(-1)!.t).toBeLessThan(MON('11:00'));
    const res = await fetch(
      `${emu.url}/v2/stocks/bars?symbols=AAPL&timeframe=1Min&feed=sip&start=${encodeURIComponent(new Date(MON('10:40')).toISOString())}`,
      { headers: { 'APCA-API-KEY-ID': emu.keyId, 'APCA-API-SECRET-KEY': emu.secret } },
    );
    expect(res.status).toBe(403);
  });

  it('asks for at most 100 symbols a call', async () => {
    await start();
    const many = ['AAPL', ...Array.from({ length: 249 }, (_, i) => `Z${String(i).padStart(3, '0')}`)];
    const got = await client().getBars(many, MON('09:30'), MON('09:40'));
    expect(barCalls().map((c) => c.query['symbols']!.split(',').length)).toEqual([100, 100, 50]);
    expect(got.size).toBe(250);
    expect(got.get('AAPL')!.length).toBeGreaterThan(5);
    expect(got.get('Z000')).toEqual([]);
  });

  it('latest quotes: several symbols in one call (IEX, real time), unknown ones left out', async () => {
    await start();
    emu.setQuote('AAPL', { bid: 199.5, ask: 200.5 });
    const q = await client().getLatestQuotes(['AAPL', 'PNNY', 'NOPE']);
    expect(q.get('AAPL')).toMatchObject({ bid: 199.5, ask: 200.5, t: emu.now() });
    expect(q.get('PNNY')!.ask).toBeGreaterThan(0);
    expect(q.has('NOPE')).toBe(false);
    expect(emu.requests.at(-1)!.query).toMatchObject({ symbols: 'AAPL,PNNY,NOPE', feed: 'iex' });
  });

  it('refuses a body over the cap and a response of the wrong shape, with one-line errors', async () => {
    await start();
    await expect(
      client({ maxBodyBytes: 1000 }).getBars(['AAPL'], MON('09:30'), MON('16:00')),
    ).rejects.toMatchObject({ name: 'MarketDataError', code: 'body_too_large' });
    const bad = createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"bars":{"AAPL":[{"t":"2026-11-23T15:00:00Z","o":0,"h":1,"l":1,"c":1,"v":1}]}}'),
    );
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    try {
      const md = new AlpacaMarketData({
        keyId: 'k',
        secret: 's',
        baseUrl: `http://127.0.0.1:${(bad.address() as AddressInfo).port}`,
      });
      const err = await md.getBars(['AAPL'], MON('09:30'), MON('16:00')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MarketDataError);
      expect((err as MarketDataError).code).toBe('bad_response');
      expect((err as Error).message).toMatch(
        /^\/v2\/stocks\/bars: unexpected response \(bars\.AAPL\.0\.o: .*\)$/,
      );
    } finally {
      bad.close();
    }
    await expect(client().getBars(['aapl; drop'], 0, 1)).rejects.toThrow(/bad symbol/);
  });
});

describe('the bar cache (CachedMarketData over SQLite)', () => {
  const cached = () => {
    const store = new SqliteBarStore(path.join(dir, 'bars.sqlite'));
    stores.push(store);
    return new CachedMarketData(client(), store, { now: () => emu.now() });
  };

  it('fetches a closed range once: a repeat or a sub-range makes no request, a wider one fetches only the rest', async () => {
    await start();
    const md = cached();
    const first = await md.getBars(['AAPL', 'PNNY'], MON('09:30'), MON('12:00'));
    expect(barCalls()).toHaveLength(1);
    expect(await md.getBars(['AAPL', 'PNNY'], MON('09:30'), MON('12:00'))).toEqual(first);
    const sub = await md.getBars(['PNNY'], MON('10:00'), MON('11:00'));
    expect(barCalls()).toHaveLength(1);
    expect(sub.get('PNNY')).toEqual(
      first.get('PNNY')!.filter((b) => b.t >= MON('10:00') && b.t < MON('11:00')),
    );
    // The halt inside the covered range is known to be empty: not fetched again.
    expect((await md.getBars(['PNNY'], MON('10:30'), MON('10:45'))).get('PNNY')).toEqual([]);
    expect(barCalls()).toHaveLength(1);
    // Wider: only 12:00-13:00 is asked for, for both symbols in one call.
    const wide = await md.getBars(['AAPL', 'PNNY'], MON('09:30'), MON('13:00'));
    expect(barCalls()).toHaveLength(2);
    expect(barCalls()[1]!.query['start']).toBe(new Date(MON('12:00')).toISOString());
    expect(wide.get('AAPL')!.slice(0, first.get('AAPL')!.length)).toEqual(first.get('AAPL'));
    // A new store on the same file still has them (a restart costs nothing).
    const again = cached();
    await again.getBars(['AAPL'], MON('09:30'), MON('13:00'));
    expect(barCalls()).toHaveLength(2);
  });

  it('never caches the last 15 minutes nor the open minute: they are fetched (IEX) every time', async () => {
    await start({ now: '2026-11-23T11:00' });
    const md = cached();
    await md.getBars(['AAPL'], MON('10:00'), MON('11:00'));
    const [a, b] = barCalls();
    expect(a!.query).toMatchObject({ feed: 'sip', start: new Date(MON('10:00')).toISOString() });
    expect(b!.query).toMatchObject({ feed: 'iex', start: new Date(MON('10:45')).toISOString() });
    await md.getBars(['AAPL'], MON('10:00'), MON('11:00'));
    expect(barCalls()).toHaveLength(3);
    expect(barCalls()[2]!.query['feed']).toBe('iex');
    // Later, the same minutes are SIP and old enough: fetched once more, then cached.
    emu.setClock('2026-11-23T12:00');
    await md.getBars(['AAPL'], MON('10:00'), MON('11:00'));
    await md.getBars(['AAPL'], MON('10:00'), MON('11:00'));
    expect(
      barCalls()
        .slice(3)
        .map((c) => c.query['feed']),
    ).toEqual(['sip']);
  });
});
