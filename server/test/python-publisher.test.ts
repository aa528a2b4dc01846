import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import fc from 'fast-check';
import { ClassificationSchema, illFormedStringPath } from '@catalyst-signal/shared';
import { signalClassification } from './fuzz/arbitraries.js';
import { ChildServer } from './helpers/child-server.js';
import { PY_PUBLISHER, PyDriver, runPython } from './helpers/python.js';
import { Relay } from './helpers/relay.js';
import { answering, refusedUrl } from './helpers/status-server.js';
import { tempDir } from './helpers/server.js';

// Issue #11: the vendorable Python publisher (integrations/python/catalyst_publisher.py), run by the machine's
// python3 against a real server process.

interface Stored {
  seq: number;
  source_id: string;
  [k: string]: unknown;
}

async function allSignals(s: ChildServer): Promise<Stored[]> {
  const out: Stored[] = [];
  let after = 0;
  for (;;) {
    const res = await fetch(`${s.url}/v1/signals?after_seq=${after}&limit=1000`, {
      headers: { authorization: `Bearer ${s.keys.readKey}` },
    });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { signals: Stored[]; next_after_seq: number };
    out.push(...page.signals);
    if (page.signals.length < 1000) return out;
    after = page.next_after_seq;
  }
}

function classification(sourceId: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    source_id: sourceId,
    symbol: 'abcd',
    catalyst: 'fda',
    direction: 'long',
    confidence: 0.9,
    price: 1.23,
    headline: `headline of ${sourceId}`,
    classified_at: '2026-11-23T14:00:00.000+00:00',
    ...over,
  };
}

const ids = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);

/** A server behind a relay: `down()` kills it (connections reset), `up()` restarts it on the same data. */
async function serverBehindRelay(): Promise<{
  server: ChildServer;
  relay: Relay;
  down: () => Promise<void>;
  up: () => Promise<void>;
}> {
  const server = await ChildServer.start();
  const relay = await Relay.start(server.port);
  onTestFinished(() => relay.close());
  return {
    server,
    relay,
    down: async () => {
      relay.setTarget(null);
      await server.kill('SIGKILL');
    },
    up: async () => {
      await server.spawn();
      relay.setTarget(server.port);
    },
  };
}

describe('python publisher against a real server', { timeout: 90_000 }, () => {
  it('publish returns the seq; the same source_id again returns the original seq', async () => {
    const server = await ChildServer.start();
    const py = await PyDriver.start();
    expect((await py.cmd('open', { url: server.url, key: server.keys.publishKey })).ok).toBe(true);
    const a = await py.cmd('publish', { c: classification('py-dup-1') });
    const b = await py.cmd('publish', { c: classification('py-dup-2') });
    const again = await py.cmd('send', { c: classification('py-dup-1') });
    expect([a.seq, b.seq]).toEqual([1, 2]);
    expect(again.result).toEqual({ source_id: 'py-dup-1', seq: 1, duplicate: true, spooled: false });
    const stored = await allSignals(server);
    expect(stored.map((s) => s.source_id)).toEqual(['py-dup-1', 'py-dup-2']);
    expect(stored[0]!.symbol).toBe('ABCD');
  });

  it('an invalid classification raises PublishRejected with the problem title, detail and every field error', async () => {
    const server = await ChildServer.start();
    const py = await PyDriver.start();
    await py.cmd('open', { url: server.url, key: server.keys.publishKey });
    const r = await py.cmd('publish', { c: classification('py-bad', { confidence: 2, price: -1 }) });
    expect(r.ok).toBe(false);
    expect(r.error).toBe('PublishRejected');
    expect(r.status).toBe(400);
    expect(r.code).toBe('validation_failed');
    expect(typeof r.title).toBe('string');
    expect(typeof r.detail).toBe('string');
    const paths = (r.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['confidence', 'price']);
    expect(r.message).toMatch(/^400 .*confidence: .*price: /);

    // A batch: error paths index into the caller's list, even past the first 500-item chunk.
    const items = ids('py-batch', 503).map((id) => classification(id));
    items[501] = classification('py-batch-bad', { direction: 'up' });
    const rb = await py.cmd('publish_batch', { items });
    expect(rb.error).toBe('PublishRejected');
    expect((rb.errors as { path: string }[]).map((e) => e.path)).toEqual(['[501].direction']);
    expect((rb.delivered as unknown[]).length).toBe(500); // the first chunk was stored before

    // A wrong key is a 401, not something to spool.
    await py.cmd('open', {
      url: server.url,
      key: server.keys.readKey,
      outbox_path: path.join(tempDir(), 'ob'),
    });
    const r401 = await py.cmd('publish', { c: classification('py-wrong-key') });
    expect([r401.error, r401.status]).toEqual(['PublishRejected', 403]);
  });

  it('429 with Retry-After: bounded wait, then PublishUnavailable (no outbox) or spooled (outbox)', async () => {
    const server = await ChildServer.start({ config: { rest_publish_per_min: 2 } });
    const py = await PyDriver.start();
    await py.cmd('open', { url: server.url, key: server.keys.publishKey, max_wait: 0.2 });
    expect((await py.cmd('publish', { c: classification('rl-1') })).seq).toBe(1);
    expect((await py.cmd('publish', { c: classification('rl-2') })).seq).toBe(2);
    const r = await py.cmd('publish', { c: classification('rl-3') });
    expect([r.error, r.status]).toEqual(['PublishUnavailable', 429]);
    expect(r.retry_after).toBeGreaterThan(0.2); // longer than the budget: not waited for

    const outbox = path.join(tempDir(), 'outbox.jsonl');
    await py.cmd('open', {
      url: server.url,
      key: server.keys.publishKey,
      max_wait: 0.2,
      outbox_path: outbox,
    });
    const s = await py.cmd('publish', { c: classification('rl-3') });
    expect(s.seq).toBeNull();
    expect(s.elapsed).toBeLessThan(10); // Retry-After is up to 60 s: it spooled instead of waiting
    expect(((await py.cmd('status')).status as { depth: number }).depth).toBe(1);
  });

  it('several ingest URLs: refused and 503 gateways are skipped at once, the answering one is kept; outbox across them', async () => {
    const server = await ChildServer.start();
    const sick = await answering(503, 30);
    onTestFinished(() => sick.close());
    const dead = await refusedUrl();
    const py = await PyDriver.start();
    await py.cmd('open', { url: [dead, sick.url, server.url], key: server.keys.publishKey, max_wait: 60 });
    const a = await py.cmd('publish', { c: classification('fo-1') });
    expect(a.seq).toBe(1);
    expect(a.elapsed).toBeLessThan(10); // the 503's Retry-After (30 s) was not waited out: another gateway was there
    expect(sick.hits()).toBe(1);
    expect((await py.cmd('publish', { c: classification('fo-2') })).seq).toBe(2);
    expect(sick.hits()).toBe(1); // the gateway that answered is asked first

    // A refusal (4xx) is the answer, not a reason to ask another gateway.
    await py.cmd('open', { url: [server.url, sick.url], key: server.keys.readKey });
    const r403 = await py.cmd('publish', { c: classification('fo-x') });
    expect([r403.error, r403.status, sick.hits()]).toEqual(['PublishRejected', 403, 1]);

    // Every gateway down: spooled; a list with one live gateway delivers the outbox once, in order.
    const outbox = path.join(tempDir(), 'outbox.jsonl');
    await py.cmd('open', {
      url: `${dead},${sick.url}`,
      key: server.keys.publishKey,
      max_wait: 0,
      outbox_path: outbox,
    });
    for (const id of ['fo-3', 'fo-4'])
      expect((await py.cmd('publish', { c: classification(id) })).seq).toBeNull();
    await py.cmd('open', { url: [dead, server.url], key: server.keys.publishKey, outbox_path: outbox });
    expect((await py.cmd('flush')).report).toMatchObject({ delivered: 2, duplicates: 0, drained: true });
    const stored = await allSignals(server);
    expect(stored.map((s) => [s.seq, s.source_id])).toEqual([
      [1, 'fo-1'],
      [2, 'fo-2'],
      [3, 'fo-3'],
      [4, 'fo-4'],
    ]);
  });

  it('server down: publish spools at once; server up: flush delivers exactly once, in order', async () => {
    const { server, relay, down, up } = await serverBehindRelay();
    const outbox = path.join(tempDir(), 'spool', 'outbox.jsonl');
    const py = await PyDriver.start();
    await py.cmd('open', { url: relay.url, key: server.keys.publishKey, outbox_path: outbox, batch_size: 4 });
    expect((await py.cmd('publish', { c: classification('o-00000') })).seq).toBe(1);
    await down();
    for (const id of ids('o', 10).slice(1)) {
      const r = await py.cmd('publish', { c: classification(id) });
      expect(r.seq).toBeNull();
    }
    const idle = await py.cmd('flush');
    expect(idle.report).toMatchObject({ delivered: 0, drained: false });
    expect(((await py.cmd('status')).status as { depth: number }).depth).toBe(9);

    await up();
    // Older records wait in the outbox, so a new one queues behind them instead of jumping ahead.
    expect((await py.cmd('publish', { c: classification('o-00010') })).seq).toBeNull();
    const f = await py.cmd('flush');
    expect(f.report).toEqual({
      delivered: 10,
      duplicates: 0,
      rejected: 0,
      corrupt: 0,
      drained: true,
      error: null,
      retry_after: null,
    });
    const stored = await allSignals(server);
    expect(stored.map((s) => s.source_id)).toEqual(ids('o', 11));
    expect(stored.map((s) => s.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    // Drained: the next publish goes straight through again.
    expect((await py.cmd('publish', { c: classification('o-00011') })).seq).toBe(12);
  });

  it('the background thread delivers the outbox once the server is back, telling on_delivered', async () => {
    const { server, relay, down, up } = await serverBehindRelay();
    await down();
    const outbox = path.join(tempDir(), 'outbox.jsonl');
    const py = await PyDriver.start();
    await py.cmd('open', {
      url: relay.url,
      key: server.keys.publishKey,
      outbox_path: outbox,
      background: true,
      notify: true,
    });
    for (const id of ids('bg', 5))
      expect((await py.cmd('publish', { c: classification(id) })).seq).toBeNull();
    await up();
    const delivered: string[] = [];
    await py.waitFor((l) => {
      if (l.event === 'delivered')
        delivered.push(...(l.results as { source_id: string }[]).map((r) => r.source_id));
      return delivered.length >= 5;
    });
    expect(delivered).toEqual(ids('bg', 5));
    expect((await allSignals(server)).map((s) => s.source_id)).toEqual(ids('bg', 5));
    await py.cmd('close');
  });

  it('kill -9 while spooling: every record that was confirmed spooled is delivered, once, in order; a torn tail is dropped', async () => {
    const { server, relay, down, up } = await serverBehindRelay();
    await down();
    const outbox = path.join(tempDir(), 'outbox.jsonl');
    const py = await PyDriver.start();
    await py.cmd('open', { url: relay.url, key: server.keys.publishKey, outbox_path: outbox });
    const loop = py.cmd('publish_many', { prefix: 'k', n: 5000 });
    await py.waitFor((l) => l.event === 'published' && l.i === 150);
    await py.kill(); // mid-loop: possibly mid-append
    await expect(loop).rejects.toThrow(/python exited/);
    const confirmed = py.lines.filter((l) => l.event === 'published').length;
    expect(py.lines.every((l) => l.event !== 'published' || l.spooled === true)).toBe(true);
    // What a crash in the middle of a write can leave: part of a line, no newline.
    appendFileSync(outbox, '1234abcd {"t":1,"c":{"source_id":"k-torn","symb');

    await up();
    const py2 = await PyDriver.start();
    await py2.cmd('open', {
      url: relay.url,
      key: server.keys.publishKey,
      outbox_path: outbox,
      batch_size: 64,
    });
    const f = await py2.cmd('flush');
    expect(f.report).toMatchObject({ duplicates: 0, rejected: 0, corrupt: 0, drained: true, error: null });
    const stored = (await allSignals(server)).map((s) => s.source_id);
    expect(stored.length).toBeGreaterThanOrEqual(confirmed);
    expect(stored).toEqual(ids('k', stored.length)); // contiguous from 0, in order, none twice, no torn record
    // The spool is usable after the repair: a new record is not glued onto the cut line.
    expect((await py2.cmd('publish', { c: classification('k-after') })).seq).toBe(stored.length + 1);
  });

  it('kill -9 after the server stored a batch but before progress was saved: redelivered as duplicates, stored once', async () => {
    const { server, relay, down, up } = await serverBehindRelay();
    await down();
    const outbox = path.join(tempDir(), 'outbox.jsonl');
    const py = await PyDriver.start();
    await py.cmd('open', {
      url: relay.url,
      key: server.keys.publishKey,
      outbox_path: outbox,
      batch_size: 10,
    });
    await py.cmd('publish_many', { prefix: 'c', n: 25 });
    await up();
    const flushing = py.cmd('flush', { hang_at_batch: 2 });
    const sent = await py.waitFor((l) => l.event === 'sent_not_committed');
    expect((sent.results as { seq: number }[]).map((r) => r.seq)).toEqual([
      11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ]);
    await py.kill();
    await expect(flushing).rejects.toThrow(/python exited/);

    const py2 = await PyDriver.start();
    await py2.cmd('open', {
      url: relay.url,
      key: server.keys.publishKey,
      outbox_path: outbox,
      batch_size: 10,
    });
    const f = await py2.cmd('flush');
    expect(f.report).toMatchObject({ delivered: 15, duplicates: 10, drained: true, error: null });
    const stored = await allSignals(server);
    expect(stored.map((s) => s.source_id)).toEqual(ids('c', 25));
    expect(stored.map((s) => s.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('a record the server refuses while delivering goes to .rejected; the rest still arrive in order', async () => {
    const { server, relay, down, up } = await serverBehindRelay();
    await down();
    const outbox = path.join(tempDir(), 'outbox.jsonl');
    const py = await PyDriver.start();
    await py.cmd('open', { url: relay.url, key: server.keys.publishKey, outbox_path: outbox });
    await py.cmd('publish', { c: classification('r-1') });
    // A URL the server's parser refuses (a space in the host) passes the publisher's own check, which is
    // never stricter than the server: the server is the judge at delivery, and the record goes to .rejected.
    await py.cmd('publish', { c: classification('r-2', { url: 'http://a b' }) });
    await py.cmd('publish', { c: classification('r-3') });
    await up();
    const f = await py.cmd('flush');
    expect(f.report).toMatchObject({ delivered: 2, rejected: 1, drained: true, error: null });
    expect((await allSignals(server)).map((s) => s.source_id)).toEqual(['r-1', 'r-3']);
    const rejected = readFileSync(`${outbox}.rejected`, 'utf8').trim().split('\n');
    expect(rejected).toHaveLength(1);
    const rec = JSON.parse(rejected[0]!) as { c: { source_id: string }; problem: { code: string } };
    expect([rec.c.source_id, rec.problem.code]).toEqual(['r-2', 'validation_failed']);
  });

  it('CLI: send reports every line and exits non-zero on a refused line; status; --help', async () => {
    const server = await ChildServer.start();
    const dir = tempDir();
    const file = path.join(dir, 'signals.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify(classification('cli-1')),
        JSON.stringify(classification('cli-1')),
        JSON.stringify(classification('cli-2', { confidence: 7 })),
        'not json',
        JSON.stringify(classification('cli-3')),
        '',
      ].join('\n'),
    );
    const env = { CATALYST_URL: server.url, CATALYST_PUBLISH_KEY: server.keys.publishKey };
    const r = await runPython([PY_PUBLISHER, 'send', file], env);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('line 1: accepted seq=1 cli-1');
    expect(lines[1]).toBe('line 2: duplicate seq=1 cli-1');
    expect(lines[2]).toMatch(/^line 3: rejected: 400 .*confidence: /);
    expect(lines[3]).toMatch(/^line 4: invalid: /);
    expect(lines[4]).toBe('line 5: accepted seq=2 cli-3');

    const ok = await runPython([
      PY_PUBLISHER,
      '--url',
      server.url,
      '--key',
      server.keys.publishKey,
      'send',
      file,
    ]);
    expect(ok.code).toBe(1); // line 3 and 4 are still refused; 1, 2 and 5 are duplicates now
    expect(ok.stdout).toContain('line 5: duplicate seq=2 cli-3');

    const help = await runPython([PY_PUBLISHER, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('send');
    const noKey = await runPython([PY_PUBLISHER, 'send', file], {
      CATALYST_URL: '',
      CATALYST_PUBLISH_KEY: '',
    });
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toContain('CATALYST_PUBLISH_KEY');
  });

  it('CLI: send spools to --outbox while the server is down; status shows it; flush delivers it', async () => {
    const { server, relay, down, up } = await serverBehindRelay();
    const dir = tempDir();
    const env = { CATALYST_URL: relay.url, CATALYST_PUBLISH_KEY: server.keys.publishKey };
    const outbox = path.join(dir, 'ob.jsonl');
    await down();
    const one = path.join(dir, 'one.jsonl');
    writeFileSync(one, `${JSON.stringify(classification('cli-4'))}\n`);
    const spooled = await runPython([PY_PUBLISHER, '--outbox', outbox, 'send', one], env);
    expect([spooled.code, spooled.stdout.trim()]).toEqual([0, 'line 1: spooled cli-4']);
    const st = await runPython([PY_PUBLISHER, 'status'], { CATALYST_OUTBOX: outbox });
    expect(st.code).toBe(0);
    const status = JSON.parse(st.stdout) as { depth: number; oldest_age_s: number };
    expect(status.depth).toBe(1);
    expect(status.oldest_age_s).toBeGreaterThanOrEqual(0);
    await up();
    const fl = await runPython([PY_PUBLISHER, '--outbox', outbox, 'flush'], env);
    expect(fl.code).toBe(0);
    expect(JSON.parse(fl.stdout)).toMatchObject({ delivered: 1, drained: true });
    expect((await allSignals(server)).map((s) => s.source_id)).toEqual(['cli-4']);
  });
});

describe('from_catalyst_bot', { timeout: 90_000 }, () => {
  const buy = {
    ticker: 'abcd',
    title: 'ABCD receives FDA approval for its lead candidate',
    link: 'https://www.globenewswire.com/news/abcd-fda',
    source: 'globenewswire',
    price: 2.5,
    score: 3.2,
    sentiment: 1.7,
    keyword_hits: { fda: 1.0, partnership: 0.5, 'Clinical Trial!': 0.4 },
    relevance: 2.4,
    trading_signal: {
      action: 'buy',
      confidence: 0.93,
      stop_loss_price: 2.375,
      take_profit_price: 2.8,
      position_size_pct: 3.06,
      timeframe: 'intraday',
    },
    published_at: '2026-11-23T13:59:00Z',
  };

  it('maps an alert to a classification the server accepts (protocol 1 fields, v2 ones in meta)', async () => {
    const server = await ChildServer.start();
    const py = await PyDriver.start();
    const r = await py.cmd('from_catalyst_bot', { args: { ...buy, protocol: 1 } });
    const c = r.c as Record<string, unknown>;
    // Catalyst-Bot's own dedupe id: md5("ABCD:<title>:<link>")[:16], prefixed cb-.
    const { createHash } = await import('node:crypto');
    const md5 = createHash('md5').update(`ABCD:${buy.title}:${buy.link}`).digest('hex').slice(0, 16);
    expect(c.source_id).toBe(`cb-${md5}`);
    expect(c).toMatchObject({
      symbol: 'ABCD',
      catalyst: 'fda',
      direction: 'long',
      confidence: 0.93,
      price: 2.5,
      score: 3.2,
      stop_loss: 2.375,
      take_profit: 2.8,
      published_at: '2026-11-23T13:59:00.000+00:00',
      meta: {
        action: 'enter',
        asset_class: 'us_equity',
        currency: 'USD',
        sentiment: 1,
        keywords: ['fda', 'partnership', 'clinical_trial'],
        relevance: 2.4,
        position_size_pct: 3.06,
        timeframe: 'intraday',
      },
    });
    expect(ClassificationSchema.safeParse(c).success).toBe(true);
    await py.cmd('open', { url: server.url, key: server.keys.publishKey });
    expect((await py.cmd('publish', { c })).seq).toBe(1);
  });

  it('v2: buy/close/avoid/none map to enter/exit/avoid/info and the server stores the fields', async () => {
    const server = await ChildServer.start();
    const py = await PyDriver.start();
    await py.cmd('open', { url: server.url, key: server.keys.publishKey });
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [buy, { action: 'enter', direction: 'long', position_size_pct: 3.06, timeframe: 'intraday' }],
      [
        {
          ...buy,
          title: 'ABCD files for bankruptcy',
          keyword_hits: ['bankruptcy'],
          trading_signal: { action: 'close', confidence: 1, timeframe: 'immediate', position_size_pct: 0 },
        },
        { action: 'exit', catalyst: 'bankruptcy', confidence: 1, timeframe: 'immediate' },
      ],
      [
        { ...buy, title: 'ABCD prices offering', keyword_hits: ['offering', 'fda'], trading_signal: null },
        { action: 'avoid', catalyst: 'offering' },
      ],
      [
        { ...buy, title: 'ABCD to present at conference', keyword_hits: [], trading_signal: null },
        { action: 'info', catalyst: 'other', confidence: 0 },
      ],
    ];
    for (const [args, want] of cases) {
      const c = (await py.cmd('from_catalyst_bot', { args })).c as Record<string, unknown>;
      expect(c).toMatchObject({ asset_class: 'us_equity', currency: 'USD', ...want });
      const p = await py.cmd('publish', { c });
      expect(p.ok, JSON.stringify(p)).toBe(true);
      const res = await fetch(`${server.url}/v1/signals/${p.seq as number}`, {
        headers: { authorization: `Bearer ${server.keys.readKey}` },
      });
      expect(await res.json()).toMatchObject(want);
    }
  });

  it('python unit tests (mapping, outbox file format, Python 3.9 syntax)', async () => {
    const r = await runPython([
      '-m',
      'unittest',
      'discover',
      '-s',
      path.join(path.dirname(PY_PUBLISHER), 'tests'),
      '-p',
      'test_*.py',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Ran \d+ tests/);
  });

  it('send --outbox with the server down spools only what the server would take; the rest is refused at once', async () => {
    const { server, relay, down } = await serverBehindRelay();
    await down();
    const dir = tempDir();
    const outbox = path.join(dir, 'outbox.jsonl');
    const file = path.join(dir, 'signals.jsonl');
    writeFileSync(
      file,
      [
        classification('s-1'),
        classification('s-2', { confidence: 7, catalyst: 'Not A Slug' }),
        classification('s-3', { action: 'enter', direction: 'neutral' }),
        classification('s-4'),
      ]
        .map((c) => JSON.stringify(c))
        .join('\n'),
    );
    const env = { CATALYST_URL: relay.url, CATALYST_PUBLISH_KEY: server.keys.publishKey };
    const r = await runPython([PY_PUBLISHER, '--outbox', outbox, '--timeout', '1', 'send', file], env);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('line 1: spooled s-1');
    expect(lines[1]).toBe(
      'line 2: invalid: classification s-2 would be refused by the server, not spooled: catalyst: lower-case slug; confidence: must be <= 1',
    );
    expect(lines[2]).toMatch(/^line 3: invalid: .*direction: action enter needs direction long or short$/);
    expect(lines[3]).toBe('line 4: spooled s-4');
    const status = await runPython([PY_PUBLISHER, '--outbox', outbox, 'status']);
    expect((JSON.parse(status.stdout) as { depth: number }).depth).toBe(2);

    // The library the same way: a batch with one bad item spools nothing and names the caller's index.
    const py = await PyDriver.start();
    await py.cmd('open', { url: relay.url, key: server.keys.publishKey, outbox_path: outbox });
    const rb = await py.cmd('publish_batch', {
      items: [classification('b-1'), classification('b-2', { price: 0 })],
    });
    expect(rb.ok).toBe(false);
    expect(rb.message).toMatch(
      /^item \[1\] \(b-2\) would be refused by the server, nothing spooled: price: must be > 0$/,
    );
    expect(((await py.cmd('status')).status as { depth: number }).depth).toBe(2);
  });

  it("the publisher's own check refuses every common mistake and never anything the server takes", async () => {
    const base = classification('base');
    const over = (o: Record<string, unknown>) => ({ ...base, ...o });
    const without = (k: string) => Object.fromEntries(Object.entries(base).filter(([key]) => key !== k));
    // One bad value per rule of the schema: the server refuses each; so must the publisher.
    const mistakes: Record<string, unknown>[] = [
      ...['source_id', 'symbol', 'catalyst', 'confidence', 'price', 'headline', 'classified_at'].map(without),
      without('direction'),
      over({ source_id: 'has space' }),
      over({ source_id: 'x'.repeat(129) }),
      over({ symbol: '' }),
      over({ symbol: 'A B' }),
      over({ symbol: 'X'.repeat(33) }),
      over({ catalyst: 'Not A Slug' }),
      over({ catalyst: 'a'.repeat(41) }),
      over({ direction: 'up' }),
      over({ direction: null }),
      over({ action: 'buy' }),
      over({ action: 'enter', direction: 'neutral' }),
      over({ asset_class: 'stock' }),
      over({ exchange: 'nasdaq' }),
      over({ currency: 'usd' }),
      over({ currency: 'U' }),
      over({ confidence: 2 }),
      over({ confidence: -0.1 }),
      over({ confidence: '0.5' }),
      over({ confidence: true }),
      over({ score: 'high' }),
      over({ sentiment: 1.5 }),
      over({ keywords: ['FDA'] }),
      over({ keywords: Array.from({ length: 17 }, () => 'a') }),
      over({ keywords: 'fda' }),
      over({ relevance: -1 }),
      over({ price: 0 }),
      over({ price: -1 }),
      over({ position_size_pct: 0 }),
      over({ position_size_pct: 101 }),
      over({ timeframe: 'weekly' }),
      over({ headline: '' }),
      over({ headline: 'x'.repeat(501) }),
      over({ headline: '😀'.repeat(501) }), // code points, as zod counts (1002 UTF-16 units)
      over({ url: 'ftp://example.org/x' }),
      over({ url: 'javascript:alert(1)' }),
      over({ source: 'x'.repeat(101) }),
      over({ published_at: '2026-02-30T00:00:00Z' }),
      over({ classified_at: '2026-01-01' }),
      over({ classified_at: '2026-01-01T00:00Z' }),
      over({ classified_at: '2026-01-01T00:00:00' }),
      over({ expires_at: 'tomorrow' }),
      over({ stop_loss: 0 }),
      over({ take_profit: -1 }),
      over({ meta: { a: { b: { c: { d: {} } } } } }),
      over({ meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])) }),
      over({ meta: { big: 'x'.repeat(4100) } }),
      over({ meta: { ['k'.repeat(65)]: 1 } }),
      over({ meta: [1, 2] }),
      over({ unknown_field: 1 }),
    ];
    const valid = fc.sample(
      signalClassification(fc.uuid()).map((c) => c as Record<string, unknown>),
      { numRuns: 400, seed: 15 },
    );
    const corpus = [...mistakes, ...valid];
    const server = (c: unknown) => ClassificationSchema.safeParse(c).success && !illFormedStringPath(c);
    for (const m of mistakes) expect(server(m), JSON.stringify(m).slice(0, 200)).toBe(false);

    const input = path.join(tempDir(), 'corpus.json');
    writeFileSync(input, JSON.stringify(corpus));
    const r = await runPython([
      '-c',
      'import json,sys,catalyst_publisher as p; print(json.dumps([p.problems(c) for c in json.load(open(sys.argv[1]))]))',
      input,
    ]);
    expect(r.stderr).toBe('');
    const verdicts = JSON.parse(r.stdout) as string[][];
    let refusedByBoth = 0;
    corpus.forEach((c, i) => {
      const py = verdicts[i]!;
      // Never stricter than the server: whatever the publisher refuses, the server refuses too.
      if (py.length)
        expect(server(c), `${JSON.stringify(c).slice(0, 300)} refused: ${py.join('; ')}`).toBe(false);
      if (py.length) refusedByBoth++;
    });
    // Every common mistake is caught before the outbox.
    mistakes.forEach((m, i) => expect(verdicts[i], JSON.stringify(m).slice(0, 200)).not.toEqual([]));
    expect(refusedByBoth).toBeGreaterThanOrEqual(mistakes.length);
    expect(valid.filter(server).length).toBeGreaterThan(300);
  });
});
