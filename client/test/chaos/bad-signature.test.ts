import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { Journal } from '../../src/journal/index.js';
import { streamUrl } from '../../src/http.js';
import { startBinanceEmulator, type BinanceEmulator } from '../helpers/binance-emulator.js';
import { chaosDir, pollUntil } from '../helpers/chaos.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { FakeSignalServer } from '../helpers/fake-server.js';
import { baseSignal } from '../helpers/signals.js';

// A signal whose signature does not verify is never applied and never skipped: skipping it would let a hostile
// or corrupted gateway erase the genuine signal at that seq for good. The client asks the next gateway for the
// same seq; when every gateway (or the only one) serves it bad, trading stops (exit 3) with the cursor before it.

let emu: BinanceEmulator;
let a: FakeSignalServer;
let b: FakeSignalServer;
let dir: string;

beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 100_000 } });
  a = await FakeSignalServer.start({ heartbeatMs: 200 });
  b = await FakeSignalServer.start({ heartbeatMs: 200 });
  // Two gateways of one cluster: one log (epoch, seqs) signed by one key.
  b.signer = a.signer;
  dir = chaosDir('cc-badsig-');
});
afterEach(async () => {
  await a.close();
  await b.close();
  await emu.close();
});

const start = (urls: string[]) =>
  startTestEngine({
    dir,
    config: {
      mode: 'live',
      server: { urls, start_from: 'all', reconnect: { initial_delay_ms: 20, max_delay_ms: 100 } },
      exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000 },
      filters: { min_confidence: 0.6 },
      risk: { cooldown_per_symbol_ms: 0 },
    },
    serverKey: a.key,
    exchangeKeys: { apiKey: 'k', secret: 's' },
    live: true,
  });

/** Seq's genuine signal on every gateway given; `tamperOn` serves a copy altered after signing instead. */
async function genuine(seq: number, on: FakeSignalServer[], tamperOn?: FakeSignalServer): Promise<Signal> {
  const s = await a.signer.sign(baseSignal(seq, { epoch: a.epoch }));
  for (const g of on) g.publishRaw(s);
  tamperOn?.publishRaw({ ...s, price: 1, confidence: 1 });
  return s;
}

function journal<T>(t: TestEngine, fn: (j: Journal) => T): T {
  const j = Journal.open(t.journalPath);
  try {
    return fn(j);
  } finally {
    j.close();
  }
}

const decided = (t: TestEngine) =>
  journal(t, (j) =>
    j
      .decisions({ limit: 100 })
      .map((d) => [d.seq, d.reason])
      .reverse(),
  );

describe('a signal that fails verification: never applied, never skipped', () => {
  it('tampered at seq 2 on the first gateway: the client fails over and applies the genuine seq 2 once', async () => {
    const t = await start([a.url, b.url]);
    await genuine(1, [a, b]);
    await pollUntil('seq 1 applied', () => t.applied.includes(1));
    await genuine(2, [b], a);
    await pollUntil('seq 2 applied', () => t.applied.includes(2));
    await genuine(3, [b]);
    await pollUntil('seq 3 applied', () => t.applied.includes(3));

    expect(t.exitCode(), 'still running').toBeUndefined();
    expect(t.applied).toEqual([1, 2, 3]);
    expect(decided(t)).toEqual([
      [1, 'trade:entry'],
      [2, 'trade:entry'],
      [3, 'trade:entry'],
    ]);
    const switched = t.events.find((e) => e.type === 'reconnecting')?.detail as { why: string; url: string };
    expect(switched.url).toBe(streamUrl(a.url));
    expect(switched.why).toMatch(/^seq 2 rejected: bad signature/);
    // b was asked for seq 2 from the last applied seq.
    expect(b.subscribes.map((s) => s.from_seq)).toEqual([1]);
    expect(emu.orders).toHaveLength(3);
  });

  it('REST history paging: a page with a tampered seq 2 from the first gateway, the genuine page from the next', async () => {
    // Nothing replayable over the socket: the client pages history over REST from the gateway it is on.
    a.maxReplay = 0;
    b.maxReplay = 0;
    await genuine(1, [a, b]);
    await genuine(2, [b], a);
    await genuine(3, [a, b]);
    const t = await start([a.url, b.url]);
    await pollUntil('seq 3 applied', () => t.applied.includes(3));

    expect(t.exitCode(), 'still running').toBeUndefined();
    expect(t.applied).toEqual([1, 2, 3]);
    expect(decided(t).map(([seq]) => seq)).toEqual([1, 2, 3]);
    const switched = t.events.find((e) => e.type === 'reconnecting')?.detail as { why: string; url: string };
    expect(switched.url).toBe(streamUrl(a.url));
    expect(switched.why).toMatch(/^seq 2 rejected: bad signature/);
    expect(t.events.some((e) => e.type === 'gap')).toBe(false);
    expect(
      [a.historyRequests, b.historyRequests].every((n) => n > 0),
      'paged over REST from both',
    ).toBe(true);
  });

  it('tampered at seq 2 on the only gateway: trading stops (exit 3), cursor at 1, nothing decided for 2', async () => {
    const t = await start([a.url]);
    await genuine(1, [a]);
    await pollUntil('seq 1 applied', () => t.applied.includes(1));
    await genuine(2, [], a);
    await genuine(3, [a]);
    await pollUntil('engine stopped', () => t.exitCode() !== undefined);

    expect(t.exitCode()).toBe(3);
    const fatal = t.events.find((e) => e.type === 'fatal')?.detail as Error & { code: string };
    expect(fatal.code).toBe('bad_signature');
    expect(fatal.message).toContain('signal seq 2 failed verification from every server');
    expect(fatal.message).toContain(streamUrl(a.url));
    expect(t.applied).toEqual([1]);
    expect(journal(t, (j) => j.cursor().seq)).toBe(1);
    expect(decided(t)).toEqual([[1, 'trade:entry']]);
    expect(emu.orders).toHaveLength(1);
  });

  it('tampered on both gateways: every URL tried once, then trading stops naming both', async () => {
    const t = await start([a.url, b.url]);
    await genuine(1, [a, b]);
    await pollUntil('seq 1 applied', () => t.applied.includes(1));
    await genuine(2, [], a);
    b.publishRaw({ ...(await a.signer.sign(baseSignal(2, { epoch: a.epoch }))), confidence: 1 });
    await pollUntil('engine stopped', () => t.exitCode() !== undefined);

    expect(t.exitCode()).toBe(3);
    const fatal = t.events.find((e) => e.type === 'fatal')?.detail as Error;
    expect(fatal.message).toContain(streamUrl(a.url));
    expect(fatal.message).toContain(streamUrl(b.url));
    expect(journal(t, (j) => j.cursor().seq)).toBe(1);
    expect(decided(t)).toEqual([[1, 'trade:entry']]);
  });
});
