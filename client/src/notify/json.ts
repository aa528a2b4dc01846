import type { NotifyMessage } from './events.js';
import { plainText } from './format.js';
import { outcomeOf, post, type SendOutcome } from './post.js';
import type { ParsedTarget } from './url.js';
import type { Sender } from './sender.js';

/**
 * A plain JSON webhook with Apprise's body ({version, title, message, type}) plus what a program wants to branch
 * on: kind, priority, at (ISO), fields. Headers from ?+Name=value, Basic auth from user:password@.
 */

function typeOf(m: NotifyMessage): 'info' | 'success' | 'warning' | 'failure' {
  if (m.priority >= 5) return 'failure';
  if (m.priority === 4) return 'warning';
  return m.kind === 'filled' || m.kind === 'connection_back' ? 'success' : 'info';
}

export function jsonSender(t: ParsedTarget & { service: 'json' }): Sender {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...t.headers };
  if (t.auth)
    headers['authorization'] = 'Basic ' + Buffer.from(`${t.auth.user}:${t.auth.password}`).toString('base64');
  return {
    label: t.label,
    service: 'json',
    minIntervalMs: 0,
    async send(m: NotifyMessage, signal?: AbortSignal): Promise<SendOutcome> {
      const body = JSON.stringify({
        version: '1.0',
        title: m.title,
        message: plainText(m, 16_000),
        type: typeOf(m),
        kind: m.kind,
        priority: m.priority,
        at: new Date(m.at).toISOString(),
        fields: m.fields ?? [],
      });
      return outcomeOf(await post(t.url, { headers, body }, signal));
    },
  };
}
