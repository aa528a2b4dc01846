import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config, Secrets } from '../src/config.js';
import { AccountNotTradable } from '../src/exchange/account-guard.js';
import { Journal } from '../src/journal/index.js';
import { createVenue, type VenueDriver } from '../src/venue/index.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';

// The venue is chosen once, from the config: the driver's optional members are its capabilities, so nothing
// above it asks which venue or which mode it is (docs/client-venues.md).

const NO_KEYS: Secrets = {
  serverKey: 'x',
  exchangeApiKey: undefined,
  exchangeSecret: undefined,
  exchangePassword: undefined,
};
const caps = (v: VenueDriver) => ({
  venue: v.venue,
  kind: v.exchange.kind,
  session: typeof v.session === 'function',
  assertTradable: typeof v.assertTradable === 'function',
  marketClock: v.marketClock !== undefined,
});

describe('createVenue', () => {
  let dir: string;
  let journal: Journal;
  let emu: AlpacaEmulator | undefined;
  const made: VenueDriver[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-venue-'));
    journal = Journal.open(join(dir, 'j.sqlite'));
  });
  afterEach(async () => {
    for (const v of made.splice(0)) await v.exchange.close();
    journal.close();
    await emu?.close();
    emu = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const make = async (config: Config, live = false, secrets = NO_KEYS) => {
    const v = await createVenue({ config, journal, log: testLog, secrets, live });
    made.push(v);
    return v;
  };

  it('crypto spot paper: no sessions, no account to check, no market clock', async () => {
    expect(caps(await make(testConfig({})))).toEqual({
      venue: 'crypto_spot',
      kind: 'paper',
      session: false,
      assertTradable: false,
      marketClock: false,
    });
  });

  it('us_equity paper: sessions from the built-in calendar; a market clock only when configured', async () => {
    const plain = await make(testConfig({ exchange: { venue: 'us_equity' } } as never));
    expect(caps(plain)).toEqual({
      venue: 'us_equity',
      kind: 'paper',
      session: true,
      assertTradable: false,
      marketClock: false,
    });
    // Thanksgiving 2026, noon New York: the built-in calendar knows the holiday.
    expect((await plain.session!(Date.parse('2026-11-26T17:00:00Z'))).kind).toBe('closed');
    const clocked = await make(
      testConfig({
        exchange: { venue: 'us_equity' },
        paper: { market_clock: { start: '2026-11-24T09:00:00-05:00', speed: 30 } },
      } as never),
    );
    expect(caps(clocked)).toMatchObject({ session: true, marketClock: true });
  });

  it('us_equity live: Alpaca, whose account is checked before a start', async () => {
    emu = await startAlpacaEmulator({ now: '2026-11-23T10:00' });
    const config = testConfig({
      mode: 'live',
      exchange: { venue: 'us_equity', timeout_ms: 1500, alpaca: { endpoint: 'live', base_url: emu.url } },
    } as never);
    const v = await make(config, true, { ...NO_KEYS, exchangeApiKey: emu.keyId, exchangeSecret: emu.secret });
    expect(caps(v)).toEqual({
      venue: 'us_equity',
      kind: 'live',
      session: true,
      assertTradable: true,
      marketClock: false,
    });
    await expect(v.assertTradable!()).resolves.toBeUndefined();
    emu.setAccount({ trading_blocked: true });
    await expect(v.assertTradable!()).rejects.toBeInstanceOf(AccountNotTradable);
  });
});
