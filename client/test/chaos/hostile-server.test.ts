import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { Journal } from '../../src/journal/index.js';
import { WS_MAX_PAYLOAD_BYTES } from '../../src/limits.js';
import { clientOrderId } from '../../src/order-id.js';
import { startEngine } from '../../src/commands/run.js';
import { parseConfig } from '../../src/config.js';
import { startBinanceEmulator, type BinanceEmulator } from '../helpers/binance-emulator.js';
import { chaosDir, pollUntil } from '../helpers/chaos.js';
import { startTestEngine, type TestEngine } from '../helpers/engine.js';
import { FakeSignalServer } from '../helpers/fake-server.js';
import { testLog } from '../helpers/logger.js';
import { baseSignal, createSigner } from '../helpers/signals.js';

// Issue 7, client side: a hostile or broken server. The live client (real ccxt.binance -> Binance emulator)
// must never trade what it cannot trust: a signal whose signature does not verify is neither applied nor skipped
// (the client stops when no other gateway serves it genuine), malformed frames are ignored or cost a
// re-subscribe, and no order request reaches the exchange for any of it.

let emu: BinanceEmulator;
let server: FakeSignalServer;
let dir: string;

beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 100_000 } });
  server = await FakeSignalServer.start({ heartbeatMs: 200 });
  dir = chaosDir('cc-hostile-');
});
afterEach(async () => {
  await server.close();
  await emu.close();
});

const config = () => ({
  mode: 'live',
  server: { url: server.url, start_from: 'all', reconnect: { initial_delay_ms: 20, max_delay_ms: 100 } },
  exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000 },
  filters: { min_confidence: 0.6 },
  risk: { cooldown_per_symbol_ms: 0 },
});

const start = () =>
  startTestEngine({
    dir,
    config: config(),
    serverKey: server.key,
    exchangeKeys: { apiKey: 'k', secret: 's' },
    live: true,
  });

/** The next seq's signal as the server would sign it (tradeable: BTC long 0.9 at the emulator's price). */
const next = (over: Partial<Signal> = {}) =>
  server.signer.sign(baseSignal(server.head + 1, { epoch: server.epoch, ...over }));

const orderPosts = () => emu.requests.filter((r) => r === 'POST /api/v3/order').length;

function readJournal<T>(t: TestEngine, fn: (j: Journal) => T): T {
  const j = Journal.open(t.journalPath);
  try {
    return fn(j);
  } finally {
    j.close();
  }
}

/** The engine has applied seq (its decision and intents are durable, its orders sent). */
const applied = (t: TestEngine, seq: number) =>
  pollUntil(`seq ${seq} applied`, () => t.applied.includes(seq));

describe('hostile server: nothing untrusted is traded', () => {
  /** Seq 2 as a hostile gateway might serve it, each way a signature can be missing or wrong. */
  const forged: [string, () => Promise<Signal>][] = [
    ['unsigned', async () => ({ ...(await next()), sig: undefined }) as unknown as Signal],
    ['content altered after signing', async () => ({ ...(await next()), price: 1, confidence: 1 })],
    [
      'signed by another key',
      async () => (await createSigner()).sign(baseSignal(server.head + 1, { epoch: server.epoch })),
    ],
    ['garbage signature', async () => ({ ...(await next()), sig: 'eyJhbGciOiJFZERTQSJ9..AAAA' })],
    [
      'alg none, empty signature',
      async () => ({
        ...(await next()),
        sig: `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}..`,
      }),
    ],
    ['a valid signature of another signal', async () => ({ ...(await next()), sig: server.signals[0]!.sig })],
  ];

  it.each(forged)(
    '%s: never applied nor skipped; the only gateway serves it, so trading stops (exit 3), no order',
    async (_kind, forge) => {
      const t = await start();
      await server.publish(); // 1: good, traded (the control: this test can see an order)
      await applied(t, 1);
      server.publishRaw(await forge()); // 2
      await pollUntil('trading stopped', () => t.exitCode() !== undefined);

      expect(t.exitCode()).toBe(3);
      const fatal = t.events.find((e) => e.type === 'fatal')?.detail as Error & { code: string };
      expect(fatal.code).toBe('bad_signature');
      expect(fatal.message).toContain('signal seq 2 failed verification');
      // Seq 2 is neither decided nor skipped: the cursor waits before it for the genuine signal.
      expect(t.applied).toEqual([1]);
      const rows = readJournal(t, (j) => j.decisions({ limit: 100 }));
      expect(rows.map((d) => [d.seq, d.reason])).toEqual([[1, 'trade:entry']]);
      expect(readJournal(t, (j) => j.cursor().seq)).toBe(1);
      const salt = readJournal(t, (j) => j.installSalt());
      expect(emu.orders.map((o) => o.clientOrderId)).toEqual([clientOrderId(salt, server.epoch, 1, 'entry')]);
      expect(orderPosts()).toBe(1);
    },
  );

  it('malformed frames are ignored; a garbled frame in place of a signal costs a re-subscribe, not the signal', async () => {
    const t = await start();
    await server.publish();
    await applied(t, 1);
    server.sendRaw('not json {');
    server.sendRaw('{"type":"no_such_frame"}');
    server.sendRaw(JSON.stringify({ type: 'signal', signal: { seq: 2, epoch: server.epoch } })); // schema-invalid
    server.sendRaw(JSON.stringify({ type: 'signal', signal: { ...(await next()), seq: '2' } })); // wrong type
    server.sendRaw(JSON.stringify({ type: 'heartbeat', head_seq: -5, time: 'noon' }));
    server.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef])); // binary frame
    // Seq 2 is stored, but the wire carries a truncated copy of it instead.
    server.dropLive.add(2);
    const two = await server.publish();
    server.sendRaw(JSON.stringify({ type: 'signal', signal: two }).slice(0, 120));
    await server.publish({ confidence: 0.3 }); // 3: arrives after 1 -> gap -> re-subscribe from 1
    await applied(t, 3);

    expect(t.exitCode(), 'still running').toBeUndefined();
    expect(t.applied).toEqual([1, 2, 3]);
    expect(t.events.filter((e) => e.type === 'gap').map((e) => e.detail)).toEqual([
      { from: 2, to: 2, via: 'seq' },
    ]);
    expect(server.subscribes.map((s) => s.from_seq)).toEqual([0, 1]);
    expect(
      readJournal(t, (j) =>
        j
          .decisions({ limit: 100 })
          .map((d) => [d.seq, d.reason])
          .reverse(),
      ),
    ).toEqual([
      [1, 'trade:entry'],
      [2, 'trade:entry'],
      [3, 'skipped:confidence'],
    ]);
    expect(emu.orders).toHaveLength(2);
    expect(orderPosts()).toBe(2);
  });

  it('a frame over WS_MAX_PAYLOAD_BYTES drops that socket, not the engine: nothing from it decided, no order', async () => {
    const t = await start();
    await server.publish(); // 1: traded
    await applied(t, 1);
    // A validly signed, tradeable seq 2 padded past the bound with an unknown field (the signature covers it).
    const big = await next({
      source_id: 'oversize-2',
      pad: 'x'.repeat(WS_MAX_PAYLOAD_BYTES),
    } as Partial<Signal>);
    server.sendRaw(JSON.stringify({ type: 'signal', signal: big }));
    await pollUntil('the socket dropped', () => t.events.some((e) => e.type === 'reconnecting'));
    await pollUntil('resubscribed from seq 1', () => server.subscribes.some((x) => x.from_seq === 1));
    await server.publish({ confidence: 0.3 }); // the genuine 2: skipped
    await applied(t, 2);

    expect(t.exitCode(), 'still running').toBeUndefined();
    const why = (t.events.find((e) => e.type === 'reconnecting')?.detail as { why: string }).why;
    expect(why).toContain(`frame over ${WS_MAX_PAYLOAD_BYTES} bytes`);
    expect(t.applied).toEqual([1, 2]);
    const rows = readJournal(t, (j) => j.decisions({ limit: 100 }).reverse());
    expect(rows.map((d) => [d.seq, d.reason])).toEqual([
      [1, 'trade:entry'],
      [2, 'skipped:confidence'],
    ]);
    expect(rows.some((d) => d.signal.includes('oversize-2'))).toBe(false);
    expect(emu.orders).toHaveLength(1);
    expect(orderPosts()).toBe(1);
  });

  it('a frame over the bound on every connection: the backoff grows across the drops instead of a tight loop', async () => {
    const t = await start();
    await server.publish(); // 1: traded
    await applied(t, 1);
    // From now on every subscription is followed by a frame over the bound (after its replay and caught_up).
    const big = JSON.stringify({ type: 'signal', signal: { pad: 'x'.repeat(WS_MAX_PAYLOAD_BYTES) } });
    server.on('subscribe', () => setImmediate(() => server.sendRaw(big)));
    server.sendRaw(big);
    await pollUntil('five drops', () => t.events.filter((e) => e.type === 'reconnecting').length >= 5);
    const attempts = t.events
      .filter((e) => e.type === 'reconnecting')
      .map((e) => (e.detail as { attempt: number }).attempt);
    // Each drop counts as one more failed attempt (it was stuck at 1: each subscription reset it).
    expect(attempts.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(t.exitCode(), 'still running').toBeUndefined();
    expect(emu.orders).toHaveLength(1);
  });

  it('a signed signal over the contract (meta over 4 KiB) is refused by seq and stops trading, not a silent stall', async () => {
    const t = await start();
    await server.publish(); // 1: traded
    await applied(t, 1);
    server.publishRaw(await next({ meta: { pad: 'x'.repeat(5000) } }));
    await pollUntil('trading stopped', () => t.exitCode() !== undefined);

    expect(t.exitCode()).toBe(3);
    const fatal = t.events.find((e) => e.type === 'fatal')?.detail as Error & { code: string };
    expect(fatal.code).toBe('invalid_signal');
    expect(fatal.message).toContain('signal seq 2 is not a valid signal');
    expect(fatal.message).toContain('4096 bytes');
    expect(t.applied).toEqual([1]);
    expect(readJournal(t, (j) => j.cursor().seq)).toBe(1);
    expect(orderPosts()).toBe(1);
  });

  it('the same signal met in a REST history page: the valid ones before it are applied, then it is refused by seq', async () => {
    server.maxReplay = 0; // the socket cannot replay: history over REST
    await server.publish({ confidence: 0.3 }); // 1
    server.publishRaw(await next({ meta: { pad: 'x'.repeat(5000) } })); // 2, signed, over the contract
    await server.publish({ confidence: 0.3 }); // 3
    const t = await start();
    await pollUntil('trading stopped', () => t.exitCode() !== undefined);

    expect(t.exitCode()).toBe(3);
    const fatal = t.events.find((e) => e.type === 'fatal')?.detail as Error & { code: string };
    expect(fatal.code).toBe('invalid_signal');
    expect(fatal.message).toContain('signal seq 2 is not a valid signal');
    expect(t.applied).toEqual([1]);
    expect(t.events.filter((e) => e.type === 'gap')).toEqual([]);
    expect(readJournal(t, (j) => j.cursor().seq)).toBe(1);
    expect(orderPosts()).toBe(0);
  });

  it('stopping while a history page trickles in aborts the read at once (it waited for the 10 s timeout)', async () => {
    server.maxReplay = 0;
    for (let i = 0; i < 3; i++) await server.publish({ confidence: 0.3 });
    server.historyTrickle = true;
    const trickling = new Promise((r) => server.once('trickling', r));
    const t = await start(); // start_from all, the socket cannot replay: history over REST
    await trickling;
    const began = Date.now();
    await t.stop();
    const took = Date.now() - began;
    expect(took).toBeLessThan(2000);
    expect(t.applied).toEqual([]);
    // Nothing was given up for the aborted read.
    expect(t.events.filter((e) => e.type === 'gap')).toEqual([]);
  });

  it('seq going backwards, repeated, or forged ahead: ignored as duplicates / never applied; the first decision stands', async () => {
    const t = await start();
    const one = await server.publish(); // traded
    const two = await server.publish({ confidence: 0.3 }); // skipped:confidence
    await server.publish({ confidence: 0.3 });
    await applied(t, 3);
    // A validly signed, DIFFERENT and tradeable signal for seq 2; seq 1 again as it was; seq 3 twice.
    const evilTwo = await server.signer.sign(
      baseSignal(2, { epoch: server.epoch, confidence: 0.99, source_id: 'evil-2' }),
    );
    for (const s of [evilTwo, one, server.signals[2]!, server.signals[2]!])
      server.sendRaw(JSON.stringify({ type: 'signal', signal: s }));
    // A signed signal far ahead of the head that the server never stored: a gap the client cannot fill.
    const forged = await server.signer.sign(
      baseSignal(server.head + 5, { epoch: server.epoch, source_id: 'forged-ahead' }),
    );
    server.sendRaw(JSON.stringify({ type: 'signal', signal: forged }));
    await pollUntil('re-subscribe after the forged jump', () => server.subscribes.length >= 2);
    await server.publish({ confidence: 0.3 }); // 4: the stream goes on
    await applied(t, 4);

    expect(t.applied).toEqual([1, 2, 3, 4]);
    // The old seqs were dropped as duplicates (no re-subscribe); only the forged jump made the client re-subscribe.
    expect(server.subscribes.map((x) => x.from_seq)).toEqual([0, 3]);
    expect(t.events.filter((e) => e.type === 'gap').map((e) => e.detail)).toEqual([
      { from: 4, to: 7, via: 'seq' },
    ]);
    const rows = readJournal(t, (j) => j.decisions({ limit: 100 }).reverse());
    expect(rows.map((d) => d.seq)).toEqual([1, 2, 3, 4]);
    const d2 = rows.find((d) => d.seq === 2)!;
    expect(d2.reason).toBe('skipped:confidence');
    expect((JSON.parse(d2.signal) as Signal).source_id).toBe(two.source_id);
    expect(rows.some((d) => d.signal.includes('forged-ahead') || d.signal.includes('evil-2'))).toBe(false);
    expect(emu.orders).toHaveLength(1);
    expect(orderPosts()).toBe(1);
    expect(readJournal(t, (j) => j.cursor())).toEqual({ epoch: server.epoch, seq: 4 });
  });

  it('a signal from another epoch stops trading (exit 3), halts the journal with the reason, and a restart is refused', async () => {
    const t = await start();
    await server.publish();
    await applied(t, 1);
    const foreign = await server.signer.sign(baseSignal(2, { epoch: 'ep-other', source_id: 'other-epoch' }));
    server.sendRaw(JSON.stringify({ type: 'signal', signal: foreign }));
    await pollUntil('the engine to stop', () => t.exitCode() !== undefined);
    expect(t.exitCode()).toBe(3);
    expect(t.events.find((e) => e.type === 'fatal')).toBeDefined();
    const halted = readJournal(t, (j) => j.halted());
    expect(halted).toMatch(/epoch ep-other/);
    expect(readJournal(t, (j) => [j.cursor(), j.decisions({ limit: 10 }).map((d) => d.seq)])).toEqual([
      { epoch: server.epoch, seq: 1 },
      [1],
    ]);
    expect(emu.orders).toHaveLength(1);
    // A restart must not trade on through the halt.
    const ctx = {
      configPath: `${dir}/catalyst.yaml`,
      config: parseConfig(config()),
      secrets: {
        serverKey: server.key,
        exchangeApiKey: 'k',
        exchangeSecret: 's',
        exchangePassword: undefined,
      },
      dataDir: dir,
      journalPath: t.journalPath,
      log: testLog,
    };
    await expect(startEngine(ctx, { live: true })).rejects.toThrow(/HALTED/);
  });
});
