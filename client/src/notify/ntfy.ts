import type { NotifyMessage } from './events.js';
import { clip, plainText } from './format.js';
import { outcomeOf, post, type SendOutcome } from './post.js';
import type { ParsedTarget } from './url.js';
import type { Sender } from './sender.js';

/**
 * ntfy (docs.ntfy.sh/publish): a JSON publish to the server root, {topic, title, message, priority, tags}.
 * Auth is Basic (user:password@) or a Bearer access token (?token=tk_...). ntfy keeps 4,096 bytes of a message.
 */

const TAGS: Partial<Record<NotifyMessage['kind'], string>> = {
  trading_stopped: 'rotating_light',
  broker_refused: 'no_entry',
  protective_filled: 'dart',
  filled: 'white_check_mark',
  connection_lost: 'electric_plug',
  daily_summary: 'bar_chart',
};

/** ntfy message actions (docs.ntfy.sh/publish/#action-buttons) for one waiting entry, or none. */
export type ApprovalActions = (a: NonNullable<NotifyMessage['approval']>) => object[] | undefined;

export function ntfySender(t: ParsedTarget & { service: 'ntfy' }, approvalActions?: ApprovalActions): Sender {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (t.auth && 'token' in t.auth) headers['authorization'] = `Bearer ${t.auth.token}`;
  else if (t.auth)
    headers['authorization'] = 'Basic ' + Buffer.from(`${t.auth.user}:${t.auth.password}`).toString('base64');
  return {
    label: t.label,
    service: 'ntfy',
    // ntfy.sh allows bursts of 60 then one message per 5 s per visitor; a short gap keeps a burst polite.
    minIntervalMs: 200,
    async send(m: NotifyMessage, signal?: AbortSignal): Promise<SendOutcome> {
      const tags = [TAGS[m.kind], ...(t.tags ? t.tags.split(',') : [])].filter(Boolean);
      const actions = m.approval && approvalActions?.(m.approval);
      const body = JSON.stringify({
        topic: t.topic,
        title: clip(m.title, 250),
        message: plainText(m, 3500),
        priority: m.priority,
        ...(tags.length ? { tags } : {}),
        ...(actions?.length ? { actions } : {}),
      });
      return outcomeOf(await post(t.base + '/', { headers, body }, signal));
    },
  };
}
