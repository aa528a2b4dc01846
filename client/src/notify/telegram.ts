import type { NotifyMessage } from './events.js';
import { PRIORITY_EMOJI, clip, plainText } from './format.js';
import { outcomeOf, post, secondsToMs, type SendOutcome } from './post.js';
import type { ParsedTarget } from './url.js';
import type { Sender } from './sender.js';

/**
 * Telegram Bot API sendMessage, one Sender per chat: Telegram allows about one message per second per chat (short
 * bursts tolerated) and answers 429 with parameters.retry_after. Plain text (no parse_mode), so nothing in a
 * headline or a broker's reason needs escaping; 4,096 characters at most.
 */

export const TELEGRAM_MAX_TEXT = 4096;

export function telegramSenders(t: ParsedTarget & { service: 'telegram' }, apiBase?: string): Sender[] {
  const url = `${(apiBase ?? 'https://api.telegram.org').replace(/\/$/, '')}/bot${t.token}/sendMessage`;
  return t.chats.map((chat) => ({
    label: `tgram://***/${chat}`,
    service: 'telegram' as const,
    minIntervalMs: 1000,
    async send(m: NotifyMessage, signal?: AbortSignal): Promise<SendOutcome> {
      const head = `${PRIORITY_EMOJI[m.priority]} ${m.title}`.trim();
      const text = clip(`${head}\n${plainText(m, TELEGRAM_MAX_TEXT)}`, TELEGRAM_MAX_TEXT);
      const body = JSON.stringify({
        chat_id: /^-?\d+$/.test(chat) ? Number(chat) : chat,
        text,
        disable_web_page_preview: true,
        disable_notification: m.priority <= 2,
      });
      const r = await post(url, { headers: { 'content-type': 'application/json' }, body }, signal);
      return outcomeOf(r, (res) => {
        try {
          return secondsToMs(
            (JSON.parse(res.body) as { parameters?: { retry_after?: unknown } }).parameters?.retry_after,
          );
        } catch {
          return undefined;
        }
      });
    },
  }));
}
