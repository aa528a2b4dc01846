import { z } from 'zod';
import { NOTIFY_EVENT_KINDS, type NotifyEventKind } from './events.js';
import { NotifyUrlError, parseTargetUrl } from './url.js';

/** What a target can ask for (`test` reaches every target anyway). */
const CHOOSABLE = NOTIFY_EVENT_KINDS.filter((k) => k !== 'test') as [NotifyEventKind, ...NotifyEventKind[]];

/**
 * The `notify:` block of the client config (part of the one ConfigSchema in config.ts). Targets are Apprise-style
 * URLs, so the strings a self-hoster already uses work as they are; secrets stay in the environment through
 * `${VAR}` (resolved by url.ts when notifications start, never written back).
 */

/**
 * A URL is checked when the config is read: fully when it names no `${VAR}`, else its scheme only (the values
 * come from the environment when notifications start, and an unset one is reported then, per target).
 */
function checkUrl(url: string, ctx: z.RefinementCtx): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const known = ['ntfy', 'ntfys', 'discord', 'tgram', 'json', 'jsons'];
  let message: string | undefined;
  if (/\$\{/.test(url)) {
    if (!scheme || !known.includes(scheme))
      message = `unknown scheme ${scheme ?? '(none)'}:// (use ${known.map((k) => `${k}://`).join(', ')})`;
  } else {
    try {
      parseTargetUrl(url, {});
    } catch (e) {
      if (!(e instanceof NotifyUrlError)) throw e;
      message = e.message;
    }
  }
  if (message) ctx.addIssue({ code: 'custom', path: ['url'], message });
}

export const NotifyTargetSchema = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .max(2048)
      .describe(
        'Apprise-style URL: ntfy://host/topic (http), ntfys://host/topic (https), discord://webhook_id/webhook_token, tgram://bot_token/chat_id, json://host/path (http), jsons://host/path (https). `${VAR}` is replaced by the environment variable (or .env entry) VAR, e.g. tgram://${TELEGRAM_BOT_TOKEN}/12345; secrets are redacted in every log line.',
      ),
    events: z
      .array(z.enum(CHOOSABLE))
      .min(1)
      .optional()
      .describe(
        'Events sent to this target (absent: all): docs/notifications.md says what each one carries.',
      ),
    min_priority: z
      .int()
      .min(1)
      .max(5)
      .default(3)
      .describe(
        'Send only events of at least this priority (1 min, 2 low, 3 default, 4 high, 5 max; trading_stopped is 5, partially_filled 2).',
      ),
    api_base_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'Advanced (tests, self-hosted proxies): send discord:// and tgram:// requests to this base URL instead of discord.com / api.telegram.org.',
      ),
  })
  .superRefine((t, ctx) => checkUrl(t.url, ctx));
export type NotifyTarget = z.output<typeof NotifyTargetSchema>;

export const NotifySchema = z
  .array(NotifyTargetSchema)
  .max(16)
  .default([])
  .describe('Notification targets; each is sent the events it asks for (docs/notifications.md).');

export const NotifyOptionsSchema = z
  .strictObject({
    lost_after_ms: z
      .int()
      .min(1000)
      .default(60_000)
      .describe('Tell connection_lost once the signal server has been unreachable this long.'),
    queue_max: z
      .int()
      .min(1)
      .max(10_000)
      .default(200)
      .describe(
        'Messages waiting per target; beyond it the oldest is dropped (counted in `status`), so a dead target never holds memory or time.',
      ),
    halt_wait_ms: z
      .int()
      .min(0)
      .max(10_000)
      .default(3000)
      .describe('Before exiting on a halt, wait at most this long for trading_stopped to be delivered.'),
  })
  .describe('How notifications are delivered.');
