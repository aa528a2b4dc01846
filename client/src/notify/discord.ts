import type { NotifyMessage } from './events.js';
import { clip } from './format.js';
import { outcomeOf, post, secondsToMs, type SendOutcome } from './post.js';
import type { ParsedTarget } from './url.js';
import type { Sender } from './sender.js';

/**
 * Discord webhook: POST /api/webhooks/<id>/<token> with one embed. Discord refuses (50035) a field value over
 * 1,024 characters, a title over 256, a description over 4,096, more than 25 fields, or ~6,000 characters across
 * a message's embeds, so everything is cut to fit here. A 429 carries retry_after (seconds) in its JSON body.
 */

export const DISCORD_LIMITS = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  total: 6000,
} as const;

const COLOR = { 1: 0x95a5a6, 2: 0x95a5a6, 3: 0x3498db, 4: 0xe67e22, 5: 0xe74c3c } as const;

export function discordEmbed(m: NotifyMessage) {
  const L = DISCORD_LIMITS;
  const title = clip(m.title, L.title);
  let budget = L.total - title.length;
  const description = clip(m.body, Math.min(L.description, Math.max(0, budget - 200)));
  budget -= description.length;
  const fields: { name: string; value: string; inline: boolean }[] = [];
  for (const f of (m.fields ?? []).slice(0, L.fields)) {
    const name = clip(f.name || '-', L.fieldName);
    const value = clip(f.value || '-', Math.min(L.fieldValue, budget - name.length));
    if (budget - name.length - value.length < 0 || value.length === 0) break;
    budget -= name.length + value.length;
    fields.push({ name, value, inline: value.length <= 40 });
  }
  return {
    title,
    description,
    color: COLOR[m.priority],
    ...(fields.length ? { fields } : {}),
    timestamp: new Date(m.at).toISOString(),
  };
}

export function discordSender(t: ParsedTarget & { service: 'discord' }, apiBase?: string): Sender {
  const url = `${(apiBase ?? 'https://discord.com').replace(/\/$/, '')}/api/webhooks/${t.id}/${t.token}?wait=true`;
  return {
    label: t.label,
    service: 'discord',
    // A webhook takes about 5 requests per 2 s; beyond that Discord answers 429 with retry_after.
    minIntervalMs: 400,
    async send(m: NotifyMessage, signal?: AbortSignal): Promise<SendOutcome> {
      const body = JSON.stringify({
        ...(t.username ? { username: t.username } : {}),
        embeds: [discordEmbed(m)],
        allowed_mentions: { parse: [] },
      });
      const r = await post(url, { headers: { 'content-type': 'application/json' }, body }, signal);
      return outcomeOf(r, (res) => {
        try {
          return secondsToMs((JSON.parse(res.body) as { retry_after?: unknown }).retry_after);
        } catch {
          return undefined;
        }
      });
    },
  };
}
