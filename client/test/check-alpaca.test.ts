import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkAlpaca, type CheckLine } from '../src/commands/check-alpaca.js';
import { parseConfig, type Config } from '../src/config.js';
import {
  AccountNotTradable,
  accountBlockers,
  assertAccountTradable,
  assertVenueTradable,
} from '../src/exchange/account-guard.js';
import type { EquityAccount } from '../src/exchange/equity-types.js';
import { alpacaAdapter } from './helpers/alpaca-adapter.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';
import { runCli, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

/** `check` on a us_equity config: the REAL ccxt.alpaca against the project's Alpaca emulator on 127.0.0.1. */

let emu: AlpacaEmulator;
afterEach(async () => {
  await emu?.close();
});

function equityConfig(e: AlpacaEmulator, o: { endpoint?: 'paper' | 'live'; mode?: 'paper' | 'live' } = {}) {
  return {
    mode: o.mode ?? 'paper',
    exchange: {
      venue: 'us_equity',
      timeout_ms: 2000,
      alpaca: { endpoint: o.endpoint ?? 'paper', base_url: e.url },
    },
  };
}

async function check(
  o: {
    endpoint?: 'paper' | 'live';
    mode?: 'paper' | 'live';
    live?: boolean;
    keyId?: string;
    secret?: string | undefined;
  } = {},
): Promise<{ lines: CheckLine[]; text: string; config: Config }> {
  const config = parseConfig(equityConfig(emu, o));
  const lines = await checkAlpaca({
    config,
    secrets: {
      serverKey: undefined,
      exchangeApiKey: o.keyId ?? emu.keyId,
      exchangeSecret: 'secret' in o ? o.secret : emu.secret,
      exchangePassword: undefined,
    },
    live: o.live ?? false,
    rateLimitMs: 1,
  });
  return { lines, text: lines.map((l) => `${String(l.ok)} ${l.what}`).join('\n'), config };
}
const failed = (ls: CheckLine[]) => ls.filter((l) => l.ok === false).map((l) => l.what);
const warned = (ls: CheckLine[]) => ls.filter((l) => l.ok === 'warn').map((l) => l.what);

describe('check: Alpaca account behind the keys', () => {
  beforeEach(async () => {
    emu = await startAlpacaEmulator(); // Monday 2026-11-23 10:00 New York, key id PKEMULATOR
  });

  it('a good paper account: every line OK, buying power, session and calendar shown', async () => {
    const { lines, text } = await check();
    expect(failed(lines)).toEqual([]);
    expect(warned(lines)).toEqual([]);
    expect(text).toContain('Alpaca endpoint paper (paper-api.alpaca.markets');
    expect(text).toContain('Alpaca keys accepted (APCA_API_KEY_ID, APCA_API_SECRET_KEY)');
    expect(text).toContain('Alpaca account ACTIVE, not blocked');
    expect(text).toMatch(/buying power \$10000\.00 .*cash account/);
    expect(text).toContain(
      'broker clock Mon 2026-11-23 10:00 ET: regular session; next open Tue 2026-11-24 09:30 ET, next close Mon 2026-11-23 16:00 ET',
    );
    expect(text).toContain(
      'calendar today 2026-11-23: pre-market 04:00, regular 09:30-16:00, after-hours to 20:00 ET',
    );
    // Alpaca removed the PDT fields: nothing about them, and never the retired $25k rule.
    expect(text).not.toMatch(/pattern_day|daytrade|25[,.]?000|25k/i);
  });

  it('buying power, not cash: an open buy order lowers what is shown', async () => {
    await emu.close();
    emu = await startAlpacaEmulator();
    const ex = await alpacaAdapter(emu);
    await ex.loadMarkets();
    await ex.createOrder({
      clientOrderId: 'cs-bp-1',
      market: 'AAPL/USD',
      side: 'buy',
      type: 'limit',
      amount: 10,
      price: 150,
      refPrice: 200,
    });
    await ex.close();
    const { text } = await check();
    expect(text).toMatch(/buying power \$8500\.00/);
  });

  it('wrong secret (403) and wrong key id (401): FAIL naming the env vars, never a secret', async () => {
    for (const bad of [{ secret: 'wrong-secret-value-xyz' }, { keyId: 'PKWRONGKEYID123' }]) {
      const { lines, text } = await check(bad);
      expect(failed(lines)).toHaveLength(1);
      expect(failed(lines)[0]).toContain(
        'Alpaca keys refused by paper-api.alpaca.markets: check APCA_API_KEY_ID and APCA_API_SECRET_KEY',
      );
      for (const secret of ['wrong-secret-value-xyz', 'PKWRONGKEYID123', emu.secret, emu.keyId])
        expect(text).not.toContain(secret);
    }
  });

  it('keys not set: a warning for a paper check, FAIL for --live', async () => {
    const paper = await check({ secret: undefined });
    expect(warned(paper.lines).join('\n')).toContain('APCA_API_SECRET_KEY not set');
    expect(failed(paper.lines)).toEqual([]);
    const live = await check({ secret: undefined, live: true, mode: 'live' });
    expect(failed(live.lines).join('\n')).toContain('APCA_API_SECRET_KEY not set');
  });

  it('a blocked account FAILs: trading_blocked, account_blocked, trade_suspended_by_user, not ACTIVE', async () => {
    const cases = [
      [{ trading_blocked: true }, 'trading_blocked'],
      [{ account_blocked: true }, 'account_blocked'],
      [{ trade_suspended_by_user: true }, 'trade_suspended_by_user'],
      [{ status: 'ACCOUNT_UPDATED' }, 'status ACCOUNT_UPDATED (not ACTIVE)'],
    ] as const;
    for (const [patch, word] of cases) {
      emu.setAccount({
        status: 'ACTIVE',
        trading_blocked: false,
        account_blocked: false,
        trade_suspended_by_user: false,
        ...patch,
      });
      const f = failed((await check({ live: true, mode: 'live' })).lines);
      expect(f).toHaveLength(1);
      expect(f[0]).toContain(word);
      expect(f[0]).toContain('refuse to start live on a blocked account');
    }
  });

  it('an account that still reports the PDT fields: shown as information only, still OK', async () => {
    emu.setAccount({ pattern_day_trader: false, daytrade_count: 2 });
    const { lines, text } = await check();
    expect(failed(lines)).toEqual([]);
    const info = lines.find((l) => l.what.includes('pattern_day_trader'));
    expect(info).toEqual({
      ok: true,
      what: "account still reports pattern_day_trader false, daytrade_count 2 (informational only; the client's own limits are equities.max_round_trips_per_day/week)",
    });
    expect(text).not.toMatch(/25[,.]?000|25k/i);
  });

  it('endpoint paper with --live: warned that orders go to the paper account', async () => {
    const { lines } = await check({ live: true, mode: 'live' });
    expect(failed(lines)).toEqual([]);
    expect(warned(lines)).toEqual([
      expect.stringContaining(
        'Alpaca endpoint is paper (paper-api.alpaca.markets, requests sent to http://127.0.0.1:',
      ),
    ]);
    expect(warned(lines)[0]).toContain("--live orders go to Alpaca's PAPER account, no real money moves");
  });

  it('on a holiday: closed, no trading today, next open after it; an early close is marked', async () => {
    emu.setClock('2026-11-26T11:00'); // Thanksgiving
    const h = (await check()).text;
    expect(h).toContain('broker clock Thu 2026-11-26 11:00 ET: closed; next open Fri 2026-11-27 09:30 ET');
    expect(h).toContain('calendar today 2026-11-26: no trading (weekend or market holiday)');
    emu.setClock('2026-11-27T14:30'); // early close 13:00
    const e = (await check()).text;
    expect(e).toContain('broker clock Fri 2026-11-27 14:30 ET: after-hours');
    expect(e).toContain('regular 09:30-13:00 (early close), after-hours to 17:00 ET');
    emu.setClock('2026-11-24T07:15');
    expect((await check()).text).toContain('broker clock Tue 2026-11-24 07:15 ET: pre-market');
  });
});

describe('check: live endpoint', () => {
  beforeEach(async () => {
    emu = await startAlpacaEmulator({ keyId: 'AKLIVEEMULATOR' });
  });

  it('plain check on a live endpoint says so; check --live on it is OK', async () => {
    const plain = await check({ endpoint: 'live', keyId: emu.keyId });
    expect(failed(plain.lines)).toEqual([]);
    expect(warned(plain.lines)).toEqual([
      expect.stringContaining(
        'Alpaca endpoint is live (api.alpaca.markets, requests sent to http://127.0.0.1:',
      ),
    ]);
    expect(warned(plain.lines)[0]).toContain(
      'REAL MONEY) but this check was not run with --live: `run` without --live stays paper; run `catalyst-client check --live` before `run --live`',
    );
    const live = await check({ endpoint: 'live', keyId: emu.keyId, live: true, mode: 'live' });
    expect(failed(live.lines)).toEqual([]);
    expect(warned(live.lines)).toEqual([]);
    expect(live.text).toContain('Alpaca endpoint live (api.alpaca.markets');
  });

  it('a paper key (PK...) on a live endpoint: warned, and named as the likely reason when refused', async () => {
    const { lines } = await check({ endpoint: 'live', keyId: 'PKPAPERKEY', live: true, mode: 'live' });
    expect(warned(lines)).toContain(
      'Alpaca key id in APCA_API_KEY_ID starts with PK (a paper key) but exchange.alpaca.endpoint is live',
    );
    expect(failed(lines)[0]).toContain('(a paper key does not work on the live endpoint)');
  });
});

describe('assertAccountTradable (run --live refuses a blocked account)', () => {
  const good: EquityAccount = {
    status: 'ACTIVE',
    tradingBlocked: false,
    accountBlocked: false,
    tradeSuspendedByUser: false,
    canTrade: true,
    buyingPower: 1000,
    cash: 1000,
    equity: 1000,
    multiplier: 1,
    shortingEnabled: false,
  };

  it('passes an ACTIVE unblocked account; names every blocking flag otherwise', () => {
    expect(() => assertAccountTradable(good)).not.toThrow();
    expect(accountBlockers({ ...good, tradingBlocked: true, accountBlocked: true })).toEqual([
      'account_blocked',
      'trading_blocked',
    ]);
    expect(() => assertAccountTradable({ ...good, tradeSuspendedByUser: true })).toThrow(
      /trade_suspended_by_user.*refuse to start live on a blocked account/,
    );
    expect(() => assertAccountTradable({ ...good, status: 'SUBMITTED' })).toThrow(AccountNotTradable);
  });

  it('reads the real account through the Alpaca adapter', async () => {
    emu = await startAlpacaEmulator();
    const ex = await alpacaAdapter(emu);
    try {
      await expect(assertVenueTradable(ex)).resolves.toBeUndefined();
      emu.setAccount({ trading_blocked: true });
      await expect(assertVenueTradable(ex)).rejects.toThrow(
        'broker account cannot trade: trading_blocked; refuse to start live on a blocked account',
      );
      // Nothing was ordered on the way.
      expect(emu.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    } finally {
      await ex.close();
    }
  });
});

describe('catalyst-client check --live (built CLI process)', () => {
  let server: FakeSignalServer;
  let dir: string;
  beforeEach(async () => {
    server = await FakeSignalServer.start({ heartbeatMs: 1000 });
    emu = await startAlpacaEmulator();
    dir = mkdtempSync(join(tmpdir(), 'cc-alpcheck-'));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (secret: string) => ({
    CATALYST_SERVER_KEY: server.key,
    APCA_API_KEY_ID: emu.keyId,
    APCA_API_SECRET_KEY: secret,
  });

  // Two client processes on a loaded 2-core machine took ~15 s: give them room.
  it(
    'passes on a good paper account; FAILs (exit 1) on a wrong secret without printing it',
    { timeout: 90_000 },
    async () => {
      const cfg = writeConfig(dir, {
        server: { url: server.url },
        ...equityConfig(emu, { mode: 'live' }),
      });
      const ok = await runCli(['-c', cfg, 'check', '--live'], env(emu.secret), dir);
      expect(ok.stdout).toContain('[ok  ] Alpaca keys accepted');
      expect(ok.stdout).toContain('[warn] Alpaca endpoint is paper');
      expect(ok.stdout).toContain('all checks passed');
      expect(ok.code).toBe(0);

      const bad = await runCli(['-c', cfg, 'check', '--live'], env('not-the-secret-0123'), dir);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain(
        '[FAIL] Alpaca keys refused by paper-api.alpaca.markets: check APCA_API_KEY_ID and APCA_API_SECRET_KEY',
      );
      expect(bad.stdout + bad.stderr).not.toContain('not-the-secret-0123');
      expect(bad.stdout + bad.stderr).not.toContain(emu.secret);
    },
  );

  it(
    'run --live on a blocked account refuses to start (exit 4) and sends nothing',
    { timeout: 60_000 },
    async () => {
      emu.setAccount({ trading_blocked: true });
      const cfg = writeConfig(dir, { server: { url: server.url }, ...equityConfig(emu, { mode: 'live' }) });
      const r = await runCli(['-c', cfg, 'run', '--live'], env(emu.secret), dir);
      expect(r.code).toBe(4);
      expect(r.stderr + r.stdout).toContain('trading_blocked');
      expect(emu.ledger()).toHaveLength(0);
    },
  );

  it('a blocked account: FAIL, exit 1', { timeout: 60_000 }, async () => {
    emu.setAccount({ account_blocked: true });
    const cfg = writeConfig(dir, { server: { url: server.url }, ...equityConfig(emu, { mode: 'live' }) });
    const r = await runCli(['-c', cfg, 'check', '--live'], env(emu.secret), dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '[FAIL] Alpaca account cannot trade: account_blocked: refuse to start live on a blocked account',
    );
  });
});
