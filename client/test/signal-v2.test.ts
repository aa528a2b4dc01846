import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { Journal } from '../src/journal/index.js';
import { replay } from '../src/replay.js';
import { createVerifier } from '../src/verify.js';
import { testConfig } from './helpers/config.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';
import { waitEvent } from './helpers/wait.js';

// Signal v2 on the client (#11): signals carrying fields this version does not know are verified over
// everything received, processed and journaled with those fields, live and through REST; tampering with an
// unknown field fails verification; exit/avoid/info never open a position; a v2 enter is a v1 long/short.

let server: FakeSignalServer;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-v2-'));
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A field a later protocol version might add: nested, so the canonical form has to walk it. */
const FUTURE = { future_field: { nested: [1, 'two', { three: 3.5 }] }, zz_later: 'x' };

/** The v2 mix, in order, with the decision each must get. BTC is held after seq 1 (sell_holdings on) until the exit at seq 4. */
const MIX: [Partial<Signal> & Record<string, unknown>, string, { tamper?: boolean }?][] = [
  [{ action: 'enter', direction: 'long', asset_class: 'crypto', sentiment: 0.6, ...FUTURE }, 'trade:entry'],
  [{ action: 'enter', direction: 'long', ...FUTURE }, 'rejected:bad_signature', { tamper: true }],
  [{ action: 'info', direction: undefined, keywords: ['partnership'], ...FUTURE }, 'skipped:action_info'],
  // An exit sells what this client holds (the BTC bought at seq 1), never opens anything.
  [{ action: 'exit', direction: undefined, confidence: 1, ...FUTURE }, 'trade:exit'],
  // direction is ignored for exit: nothing is left to sell, and a short never becomes an entry.
  [{ action: 'exit', direction: 'short', confidence: 1 }, 'skipped:no_holdings'],
  [{ action: 'avoid', direction: undefined, keywords: ['offering'] }, 'skipped:action_avoid'],
  [{ direction: 'neutral' }, 'skipped:neutral'],
  // A v2 enter short is a v1 short: sell_holdings, and the exit above already sold them.
  [{ action: 'enter', direction: 'short', ...FUTURE }, 'skipped:no_holdings'],
];

/** tamper=false: the tampered entry goes out genuine (the live client would stop at a tampered one). */
async function publishMix(s: FakeSignalServer, tamper = true): Promise<void> {
  for (const [over, , opts] of MIX) {
    const unsigned = baseSignal(s.head + 1, { epoch: s.epoch, ...over } as Partial<Signal>);
    // baseSignal fills direction: long; a v2 signal that has none must not carry the key at all.
    if (unsigned.direction === undefined) delete (unsigned as { direction?: unknown }).direction;
    const signed = await s.signer.sign(unsigned);
    const tampered = { ...signed, future_field: { nested: [1, 'two', { three: 4 }] } } as Signal;
    s.publishRaw(opts?.tamper && tamper ? tampered : signed);
  }
}

const config = () => ({
  server: { url: server.url, start_from: 'all' as const },
  risk: { cooldown_per_symbol_ms: 0, short_on_spot: 'sell_holdings' as const },
  paper: { slippage_pct: 0, fee_rate: 0 },
});

function readJournal<T>(t: TestEngine, fn: (j: Journal) => T): T {
  const j = Journal.open(t.journalPath);
  try {
    return fn(j);
  } finally {
    j.close();
  }
}

describe('signal v2 on the client', () => {
  it('live: unknown fields verified, processed and journaled; tampering one stops; actions gate entries', async () => {
    server = await FakeSignalServer.start();
    const t = await startTestEngine({ dir, config: config(), serverKey: server.key });
    const last = waitEvent(t.engine.connection, 'applied', (seq: number) => seq === MIX.length);
    await publishMix(server, false);
    await last;
    const rows = readJournal(t, (j) => j.decisions({ limit: 100 })).reverse();
    // Seq 2 went out genuine here: a second BTC entry (cooldown 0).
    expect(rows.map((r) => r.reason)).toEqual(MIX.map(([, reason], i) => (i === 1 ? 'trade:entry' : reason)));
    // Journaled as received: the unknown fields are in the stored signal, byte for byte.
    const first = JSON.parse(rows[0]!.signal) as Record<string, unknown>;
    expect(first).toMatchObject(FUTURE);
    expect(JSON.parse(rows[2]!.signal)).not.toHaveProperty('direction');
    // Nothing but seqs 1 and 2 bought and the exit at seq 4 sold them (nothing left for seq 5 and seq 8).
    const intents = readJournal(t, (j) => j.allIntents());
    expect(intents.map((i) => [i.seq, i.leg])).toEqual([
      [1, 'entry'],
      [2, 'entry'],
      [4, 'exit'],
    ]);
    // An unknown field altered after signing: never applied, and with one gateway the client stops.
    const fatal = waitEvent<[Error & { code: string }]>(t.engine.connection, 'fatal');
    const ninth = await server.signer.sign(baseSignal(9, { epoch: server.epoch, ...FUTURE }));
    server.publishRaw({ ...ninth, future_field: { nested: [1, 'two', { three: 4 }] } } as Signal);
    expect((await fatal)[0].code).toBe('bad_signature');
    expect(await t.engine.done).toBe(3);
    expect(readJournal(t, (j) => j.cursor().seq)).toBe(MIX.length);
  });

  it('REST replay: the same decisions from history pages', async () => {
    server = await FakeSignalServer.start();
    await publishMix(server);
    const r = await replay({
      config: testConfig(config()),
      serverKey: server.key,
      afterSeq: 0,
      verify: await createVerifier(server.signer.jwk),
      log: testLog,
    });
    expect(r.signals).toBe(MIX.length);
    const want: Record<string, number> = {};
    for (const [, reason] of MIX) want[reason] = (want[reason] ?? 0) + 1;
    expect(r.byReason).toEqual(want);
  });

  it('accepts a protocol 1 server (its v1 signals trade as before) and refuses protocol 3', async () => {
    server = await FakeSignalServer.start({ protocol: 1 });
    const t = await startTestEngine({ dir, config: config(), serverKey: server.key });
    const applied = waitEvent(t.engine.connection, 'applied', (seq: number) => seq === 1);
    await server.publish({ direction: 'long' });
    await applied;
    expect(readJournal(t, (j) => j.decisions())[0]!.reason).toBe('trade:entry');
    await t.stop();
    await server.close();

    server = await FakeSignalServer.start({ protocol: 3 });
    const dir3 = mkdtempSync(join(dir, 'p3-'));
    const t3 = await startTestEngine({ dir: dir3, config: config(), serverKey: server.key });
    const [err] = await waitEvent<[Error & { code?: string }]>(t3.engine.connection, 'fatal');
    expect(err.code).toBe('protocol');
    expect(err.message).toContain('protocol 3');
  });
});
