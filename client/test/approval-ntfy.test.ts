import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  APPROVAL_SECRET_FILE,
  approvalSecret,
  mintApprovalToken,
  readApprovalToken,
} from '../src/approval-token.js';
import { Journal } from '../src/journal/index.js';
import { startClient, writeConfig, type ClientProc } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { ServiceServer } from './helpers/notify-services.js';

// Approval from an ntfy notification, no inbound port: the real `run` (built CLI, paper) sends approval_requested
// to a local ntfy with Approve / Reject buttons; a button's http action (done here as the phone does) publishes a
// one-time signed token to the answer topic, which `run` follows (GET /<topic>/json). Each token counts once.

let server: FakeSignalServer;
let ntfy: ServiceServer;
let dir: string;
let client: ClientProc | undefined;

beforeEach(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  ntfy = await ServiceServer.start('ntfy');
  dir = mkdtempSync(join(tmpdir(), 'cc-approval-ntfy-'));
});
afterEach(async () => {
  if (client && client.child.exitCode === null) {
    client.child.kill('SIGKILL');
    await client.exited;
  }
  await ntfy.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('approval from an ntfy action', () => {
  it('tokens: signed by the data dir secret (0600), tampering and expiry refused', () => {
    const secret = approvalSecret(dir);
    expect(statSync(join(dir, APPROVAL_SECRET_FILE)).mode & 0o777).toBe(0o600);
    expect(approvalSecret(dir).equals(secret)).toBe(true);
    const facts = { epoch: 'ep', seq: 3, decisionId: 7, action: 'approve' as const, expiresAt: 10_000 };
    const t = mintApprovalToken(secret, facts);
    expect(readApprovalToken(secret, t, 9_999)).toMatchObject({ ok: true, facts });
    expect(readApprovalToken(secret, t, 10_000)).toMatchObject({ ok: false, why: /^expired/ });
    const [payload, mac] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ e: 'ep', s: 3, d: 7, a: 'approve', x: 99_999 })).toString(
      'base64url',
    );
    expect(readApprovalToken(secret, `${forged}.${mac}`, 0)).toEqual({ ok: false, why: 'bad signature' });
    expect(readApprovalToken(Buffer.alloc(32), t, 0)).toEqual({ ok: false, why: 'bad signature' });
    expect(readApprovalToken(secret, `${payload}`, 0)).toMatchObject({ ok: false });
  });

  it('Approve button -> one order; the same token again and an expired one are ignored with a log line', async () => {
    const configPath = writeConfig(dir, {
      server: { url: server.url, start_from: 'all' },
      risk: { cooldown_per_symbol_ms: 0 },
      approval: { mode: 'required', timeout_ms: 600_000, ntfy_url: `ntfy://${ntfy.host}/answers-x7` },
      notify: [{ url: `ntfy://${ntfy.host}/alerts`, events: ['approval_requested'] }],
    });
    writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
    const subscribed = new Promise((ok) => ntfy.once('subscribed', ok));
    await server.publish({ symbol: 'BTC', price: 60000 });
    client = startClient(['-c', configPath, 'run'], {}, dir);
    const [msg] = await ntfy.waitDelivered(1);
    expect(msg!.body).toMatchObject({ topic: 'alerts', priority: 4 });
    expect(String(msg!.body['title'])).toMatch(/approve\? BTC #1/);
    const actions = msg!.body['actions'] as { action: string; label: string; url: string; body: string }[];
    expect(actions.map((a) => [a.action, a.label, a.url])).toEqual([
      ['http', 'Approve', `${ntfy.url}/answers-x7`],
      ['http', 'Reject', `${ntfy.url}/answers-x7`],
    ]);
    await subscribed;

    // The phone: the Approve button POSTs its body to the answer topic.
    const tap = (body: string) => fetch(actions[0]!.url, { method: 'POST', body });
    expect((await tap(actions[0]!.body)).status).toBe(200);
    const answered = await client.waitLog((l) => l['msg'] === 'approval answered from ntfy');
    expect(answered['result']).toBe('done');
    const settled = await client.waitLog((l) => l['msg'] === 'approval settled' && l['seq'] === 1);
    expect(settled['reason']).toBe('trade:entry');

    await tap(actions[0]!.body);
    await client.waitLog((l) => l['msg'] === 'approval answered from ntfy' && l['result'] === 'replayed');
    const secret = approvalSecret(join(dir, 'catalyst-client-data'));
    const stale = mintApprovalToken(secret, {
      epoch: 'ep-test',
      seq: 1,
      decisionId: 1,
      action: 'reject',
      expiresAt: Date.now() - 1,
    });
    await tap(stale);
    const ignored = await client.waitLog((l) => l['msg'] === 'approval token ignored');
    expect(String(ignored['why'])).toMatch(/^expired at /);

    const j = Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite'));
    try {
      expect(j.intentsFor('ep-test', 1)).toHaveLength(1);
      expect(j.approvals.get('ep-test', 1)).toMatchObject({ state: 'approved', via: 'ntfy' });
    } finally {
      j.close();
    }
    expect(JSON.stringify(client.logs)).not.toContain(actions[0]!.body);
  });
});
