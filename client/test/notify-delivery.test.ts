import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Notifier, type NotifyMessage } from '../src/notify/index.js';
import { DISCORD_LIMITS } from '../src/notify/discord.js';
import { ServiceServer } from './helpers/notify-services.js';

// Delivery against local servers speaking each service's API: content, rate limits, retries, bounded queues,
// and no secret in any log line.

const servers: ServiceServer[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) n.close();
  for (const s of servers.splice(0)) await s.close();
});

async function service(kind: ServiceServer['kind']) {
  const s = await ServiceServer.start(kind);
  servers.push(s);
  return s;
}

function capture() {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { log, lines };
}

function notifier(
  targets: ConstructorParameters<typeof Notifier>[0],
  env: Record<string, string> = {},
  o = {},
) {
  const c = capture();
  const n = new Notifier(targets, { env, log: c.log, baseDelayMs: 50, maxDelayMs: 400, ...o });
  notifiers.push(n);
  return { n, lines: c.lines };
}

const msg = (
  kind: NotifyMessage['kind'],
  title: string,
  extra: Partial<NotifyMessage> = {},
): NotifyMessage => ({
  kind,
  priority: kind === 'trading_stopped' ? 5 : 3,
  title,
  body: `${title} body`,
  at: Date.parse('2026-12-07T15:00:00Z'),
  ...extra,
});

const target = (url: string, o: Record<string, unknown> = {}) => ({ url, min_priority: 1, ...o });

describe('notification delivery', () => {
  it('ntfy: a JSON publish with topic, title, priority and the Bearer token from the environment', async () => {
    const s = await service('ntfy');
    const { n } = notifier([target(`ntfy://${s.host}/alerts?token=\${NTFY_TOKEN}`)], {
      NTFY_TOKEN: 'tk_secret123',
    });
    n.emit(msg('trading_stopped', 'TRADING STOPPED'));
    const [r] = await s.waitDelivered(1);
    expect(r!.headers.authorization).toBe('Bearer tk_secret123');
    expect(r!.body).toMatchObject({
      topic: 'alerts',
      title: 'TRADING STOPPED',
      priority: 5,
      tags: ['rotating_light'],
    });
    expect(r!.body['message']).toContain('TRADING STOPPED body');
  });

  it('a target gets only the events it asks for, at its minimum priority or above', async () => {
    const s = await service('json');
    const { n } = notifier([
      target(`json://${s.host}/hook`, { events: ['filled', 'trading_stopped'], min_priority: 3 }),
    ]);
    n.emit(msg('trade_placed', 'placed')); // not asked for
    n.emit(msg('filled', 'quiet fill', { priority: 2 })); // below min_priority
    n.emit(msg('filled', 'filled'));
    n.emit(msg('trading_stopped', 'stopped'));
    await n.flush(10_000);
    expect(s.delivered.map((r) => r.body['title'])).toEqual(['filled', 'stopped']);
    expect(s.delivered[1]!.body).toMatchObject({
      version: '1.0',
      type: 'failure',
      kind: 'trading_stopped',
      priority: 5,
    });
  });

  it('Discord: a 429 is retried after its retry_after, and embed fields are cut to 1,024 characters', async () => {
    const s = await service('discord');
    s.script.push({
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: 0.3, global: false },
    });
    const { n } = notifier([target('discord://42/tok-en', { api_base_url: s.url })]);
    n.emit(msg('broker_refused', 'refused', { fields: [{ name: 'reason', value: 'x'.repeat(5000) }] }));
    const [first, second] = await s.waitReceived(2);
    expect(first!.status).toBe(429);
    expect(second!.status).toBe(200);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(300);
    const embed = (second!.body['embeds'] as { title: string; fields: { value: string }[] }[])[0]!;
    expect(embed.title).toBe('refused');
    expect(embed.fields[0]!.value.length).toBe(DISCORD_LIMITS.fieldValue);
    await n.flush(5000);
    expect(n.states()[0]).toMatchObject({ sent: 1, failed: 0 });
  });

  it('Telegram: messages to one chat are at least a second apart, so the Bot API never answers 429', async () => {
    const s = await service('telegram');
    const { n } = notifier([target('tgram://${TG}/1001', { api_base_url: s.url })], {
      TG: '123456:SECRETtoken',
    });
    for (const t of ['one', 'two', 'three']) n.emit(msg('filled', t));
    const got = await s.waitDelivered(3);
    expect(s.received.every((r) => r.status === 200)).toBe(true);
    expect(got.map((r) => r.body['chat_id'])).toEqual([1001, 1001, 1001]);
    expect(got.map((r) => String(r.body['text']).split('\n')[0])).toEqual(['ℹ️ one', 'ℹ️ two', 'ℹ️ three']);
    for (let i = 1; i < got.length; i++) expect(got[i]!.at - got[i - 1]!.at).toBeGreaterThanOrEqual(990);
  });

  it('a 5xx is retried with backoff; a 4xx is final (counted as failed, not resent)', async () => {
    const s = await service('json');
    s.script.push({ status: 503 }, { status: 502 }, { status: 200 }, { status: 400, body: { error: 'bad' } });
    const { n } = notifier([target(`json://${s.host}/h`)]);
    n.emit(msg('filled', 'a'));
    n.emit(msg('filled', 'b'));
    await n.flush(10_000);
    expect(s.received.map((r) => [r.body['title'], r.status])).toEqual([
      ['a', 503],
      ['a', 502],
      ['a', 200],
      ['b', 400],
    ]);
    expect(s.received[2]!.at - s.received[1]!.at).toBeGreaterThanOrEqual(
      s.received[1]!.at - s.received[0]!.at,
    );
    expect(n.states()[0]).toMatchObject({
      sent: 1,
      failed: 1,
      last_error: expect.stringContaining('HTTP 400'),
    });
  });

  it("trading_stopped jumps the queue and does not wait out an older message's backoff", async () => {
    const s = await service('json');
    s.script.push({ status: 503 });
    const { n } = notifier([target(`json://${s.host}/h`)], {}, { baseDelayMs: 60_000, maxDelayMs: 60_000 });
    n.emit(msg('filled', 'older'));
    n.emit(msg('filled', 'newer'));
    await s.waitReceived(1); // 'older' failed; its retry is a minute away
    n.emit(msg('trading_stopped', 'STOPPED'));
    const got = await s.waitDelivered(1);
    expect(got[0]!.body['title']).toBe('STOPPED');
    expect(s.received.map((r) => r.body['title'])).toEqual(['older', 'STOPPED']);
  });

  it('a dead target never grows the queue past queue_max, and emit returns at once', async () => {
    const s = await service('json');
    const port = s.host;
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const { n } = notifier([target(`json://${port}/h`)], {}, { queueMax: 5 });
    for (let i = 0; i < 50; i++) n.emit(msg('filled', `m${i}`));
    const st = n.states()[0]!;
    expect(st.queued).toBeLessThanOrEqual(5);
    expect(st.dropped).toBe(45);
  });

  it('no secret reaches a log line or the state, even when the service echoes it back', async () => {
    const s = await service('json');
    const secret = 'hdr-SECRET-value-42';
    s.script.push({ status: 401, body: { error: `bad key ${secret}` } });
    const { n, lines } = notifier([target('json://${HOOK_HOST}/h?+X-Api-Key=${HOOK_KEY}')], {
      HOOK_HOST: s.host,
      HOOK_KEY: secret,
    });
    n.emit(msg('filled', 'x'));
    await n.flush(10_000);
    expect(s.received[0]!.headers['x-api-key']).toBe(secret);
    expect(lines.join('')).toContain('notification not delivered');
    expect(lines.join('')).toContain('[redacted]');
    expect(lines.join('')).not.toContain(secret);
    expect(JSON.stringify(n.states())).not.toContain(secret);
  });

  it('an unusable target (unset ${VAR}) is reported, and the others still deliver', async () => {
    const s = await service('json');
    const { n, lines } = notifier([target('tgram://${MISSING}/1'), target(`json://${s.host}/h`)]);
    n.emit(msg('filled', 'x'));
    await s.waitDelivered(1);
    expect(n.states()[0]).toMatchObject({
      target: 'notify[0]',
      last_error: 'notify[0].url: ${MISSING} is not set (environment or .env)',
    });
    expect(lines.join('')).toContain('notification target unusable');
  });
});
