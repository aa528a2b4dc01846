import { describe, expect, it } from 'vitest';
import { NotifyUrlError, parseTargetUrl, redact } from '../src/notify/url.js';
import { parseConfig } from '../src/config.js';

describe('notify target URLs (Apprise syntax)', () => {
  it('ntfy:// is http, ntfys:// https, ntfy://topic the public ntfy.sh; auth by user:pass or ?token', () => {
    expect(parseTargetUrl('ntfy://127.0.0.1:8080/alerts', {})).toMatchObject({
      service: 'ntfy',
      base: 'http://127.0.0.1:8080',
      topic: 'alerts',
      label: 'ntfy://127.0.0.1:8080/***',
    });
    expect(parseTargetUrl('ntfys://ntfy.example.org/alerts?token=tk_abc', {})).toMatchObject({
      base: 'https://ntfy.example.org',
      auth: { token: 'tk_abc' },
    });
    expect(parseTargetUrl('ntfy://mytopic', {})).toMatchObject({ base: 'https://ntfy.sh', topic: 'mytopic' });
    expect(parseTargetUrl('ntfy://me:pw@h/t', {})).toMatchObject({ auth: { user: 'me', password: 'pw' } });
  });

  it('discord://id/token, tgram://token/chat[/chat], json(s)://host/path with +headers', () => {
    expect(parseTargetUrl('discord://123/abc-DEF_1', {})).toMatchObject({
      id: '123',
      token: 'abc-DEF_1',
      label: 'discord://123/***',
    });
    const t = parseTargetUrl('tgram://123456:ABC-def/-100200/42', {});
    expect(t).toMatchObject({ service: 'telegram', token: '123456:ABC-def', chats: ['-100200', '42'] });
    expect(t.label).not.toContain('ABC');
    expect(parseTargetUrl('tgram://bot123456:ABC/42', {})).toMatchObject({ token: '123456:ABC' });
    const j = parseTargetUrl('jsons://hooks.example.org:8443/a/b?+X-Api-Key=s3cret&x=1', {});
    expect(j).toMatchObject({
      url: 'https://hooks.example.org:8443/a/b?x=1',
      headers: { 'X-Api-Key': 's3cret' },
    });
    expect(j.secrets).toContain('s3cret');
  });

  it('${VAR} comes from the environment; its value is a secret; an unset one is named, not guessed', () => {
    const t = parseTargetUrl('tgram://${TG_TOKEN}/42', { TG_TOKEN: '999:zzzSECRETzzz' });
    expect(t.secrets).toContain('999:zzzSECRETzzz');
    expect(() => parseTargetUrl('tgram://${TG_TOKEN}/42', {})).toThrow(
      '${TG_TOKEN} is not set (environment or .env)',
    );
  });

  it('refuses what it cannot use, in one line that never quotes a secret', () => {
    for (const [url, why] of [
      ['mailto://a@b', 'unknown scheme mailto://'],
      ['discord://abc/tok', 'webhook id is a number'],
      ['tgram://notatoken/42', 'bot token looks like'],
      ['tgram://123:ABC', 'at least one chat id'],
      ['ntfy://host:99999999/t', 'not a host'],
      ['no scheme', 'scheme://'],
    ] as const) {
      const err = (() => {
        try {
          parseTargetUrl(url, {});
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err, url).toBeInstanceOf(NotifyUrlError);
      expect(err!.message, url).toContain(why);
    }
  });

  it('an error about a part that came from ${VAR} does not quote its value', () => {
    expect(() => parseTargetUrl('ntfy://${H}/t', { H: 'bad host SECRETISH' })).toThrow(
      'ntfy: "[redacted]" is not a host[:port]',
    );
  });

  it('redact removes every secret, raw and URL-encoded', () => {
    expect(redact('GET /x?k=a%20b%2Fc and a b/c', ['a b/c'])).toBe('GET /x?k=[redacted] and [redacted]');
  });

  it('the config takes a list of targets with events and a minimum priority, and says what is wrong', () => {
    const c = parseConfig({ notify: [{ url: 'ntfy://h/t', events: ['trading_stopped'], min_priority: 4 }] });
    expect(c.notify[0]).toMatchObject({ events: ['trading_stopped'], min_priority: 4 });
    expect(parseConfig({}).notify).toEqual([]);
    // The URL is checked when the config is read (a ${VAR} one by its scheme only: the value comes later).
    expect(() => parseConfig({ notify: [{ url: 'discord://abc/tok' }, { url: 'mailto://${X}' }] })).toThrow(
      /notify\.0\.url: discord: the webhook id is a number[\s\S]*notify\.1\.url: unknown scheme mailto:\/\//,
    );
    expect(parseConfig({ notify: [{ url: 'tgram://${TG}/1' }] }).notify).toHaveLength(1);
    expect(() =>
      parseConfig({ notify: [{ url: 'ntfy://h/t', events: ['fills'], min_priority: 9 }] }),
    ).toThrow(/notify\.0\.events\.0[\s\S]*notify\.0\.min_priority/);
  });
});
