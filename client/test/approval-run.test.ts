import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { Journal } from '../src/journal/index.js';
import { clientOrderId } from '../src/order-id.js';
import { runCli, startClient, writeConfig, type ClientProc } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// Approval mode end to end with the real `run` (built CLI, paper adapter, real journal): an entry waits, is
// placed once when approved (also across kill -9 and restart), expires, or is skipped when a re-check fails.

let server: FakeSignalServer;
let dir: string;
let configPath: string;
const runs: ClientProc[] = [];

const setup = (timeoutMs: number) => {
  configPath = writeConfig(dir, {
    server: { url: server.url, start_from: 'all' },
    risk: { cooldown_per_symbol_ms: 0 },
    approval: { mode: 'required', timeout_ms: timeoutMs },
  });
  writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
};
const run = () => {
  const r = startClient(['-c', configPath, 'run'], {}, dir);
  runs.push(r);
  return r;
};
const kill9 = async (r: ClientProc) => {
  r.child.kill('SIGKILL');
  await r.exited;
};
/** What the dashboard (or an ntfy action) writes: the friend's answer, in the journal. */
const answer = (seq: number, a: 'approved' | 'rejected') => {
  const j = Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite'));
  try {
    return j.approvals.answer('ep-test', seq, a, 'test', Date.now());
  } finally {
    j.close();
  }
};
const journalFacts = (seq: number) => {
  const j = Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite'));
  try {
    return {
      salt: j.installSalt(),
      intents: j.intentsFor('ep-test', seq),
      redecision: j.redecision('ep-test', seq),
      approval: j.approvals.get('ep-test', seq),
    };
  } finally {
    j.close();
  }
};
const settled = (r: ClientProc, seq: number) =>
  r.waitLog((l) => l['msg'] === 'approval settled' && l['seq'] === seq);

beforeEach(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'cc-approval-'));
});
afterEach(async () => {
  for (const r of runs.splice(0)) if (r.child.exitCode === null) await kill9(r);
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('approval mode (run, paper)', () => {
  it('pending -> approve -> one order, with the id the signal would have had', async () => {
    setup(60_000);
    await server.publish({ symbol: 'BTC', price: 60000 });
    const r = run();
    const d = await r.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 1);
    expect(d['reason']).toBe('deferred:pending_approval');
    expect(journalFacts(1).intents).toEqual([]);
    expect(answer(1, 'approved')).toBe('done');
    expect(answer(1, 'approved')).toBe('too_late');
    expect((await settled(r, 1))['reason']).toBe('trade:entry');
    const { intents, redecision, salt } = journalFacts(1);
    expect(redecision?.reason).toBe('trade:entry');
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ leg: 'entry', market: 'BTC/USDT', status: 'filled' });
    const maxLen = parseConfig({}).execution.client_order_id_max_len;
    expect(intents[0]!.client_order_id).toBe(clientOrderId(salt, 'ep-test', 1, 'entry', maxLen));
  });

  it('pending -> kill -9 -> restart -> approve -> one order; kill -9 again -> still one', async () => {
    setup(60_000);
    await server.publish({ symbol: 'ETH', price: 3000 });
    const a = run();
    await a.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 1);
    await kill9(a);
    const b = run();
    await b.waitLog((l) => l['msg'] === 'starting');
    expect(answer(1, 'approved')).toBe('done');
    await settled(b, 1);
    await kill9(b);
    const c = run();
    await server.publish({ symbol: 'SOL', price: 150 });
    await c.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 2);
    expect(c.logs.some((l) => l['msg'] === 'approval settled' && l['seq'] === 1)).toBe(false);
    const { intents } = journalFacts(1);
    expect(intents).toHaveLength(1);
    expect(intents[0]!.status).toBe('filled');
  });

  it('approved while run is down: the restart places it once', async () => {
    setup(60_000);
    await server.publish({ symbol: 'ETH', price: 3000 });
    const a = run();
    await a.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 1);
    await kill9(a);
    expect(answer(1, 'approved')).toBe('done');
    const b = run();
    expect((await settled(b, 1))['reason']).toBe('trade:entry');
    expect(journalFacts(1).intents).toHaveLength(1);
  });

  it('no answer in time -> skipped:approval_expired, also when the deadline passed while run was down', async () => {
    setup(1000);
    await server.publish({ symbol: 'BTC', price: 60000 });
    const a = run();
    await a.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 1);
    expect((await settled(a, 1))['reason']).toBe('skipped:approval_expired');
    expect(answer(1, 'approved')).toBe('too_late');
    await server.publish({ symbol: 'ETH', price: 3000 });
    await a.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 2);
    await kill9(a);
    const expiresAt = journalFacts(2).approval!.expires_at;
    // The deadline passes while nothing runs: a condition on the clock, not a sleep standing in for an event.
    await new Promise<void>((ok) => {
      const t = setInterval(() => Date.now() > expiresAt && (clearInterval(t), ok()), 50);
    });
    const b = run();
    expect((await settled(b, 2))['reason']).toBe('skipped:approval_expired');
    expect(journalFacts(2).intents).toEqual([]);
  });

  it('re-checked at approval: kill switch paused meanwhile -> skipped:kill_switch, no order; rejected -> skipped', async () => {
    setup(60_000);
    await server.publish({ symbol: 'BTC', price: 60000 });
    await server.publish({ symbol: 'ETH', price: 3000 });
    const r = run();
    await r.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 2);
    expect((await runCli(['-c', configPath, 'pause', '--reason', 'test'], {}, dir)).code).toBe(0);
    expect(answer(1, 'approved')).toBe('done');
    expect((await settled(r, 1))['reason']).toBe('skipped:kill_switch');
    expect(journalFacts(1).intents).toEqual([]);
    expect(answer(2, 'rejected')).toBe('done');
    expect((await settled(r, 2))['reason']).toBe('skipped:approval_rejected');
    expect(journalFacts(2).intents).toEqual([]);
  });
});
