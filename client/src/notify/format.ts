import type { NotifyMessage } from './events.js';

/** Service-neutral text helpers: each service cuts a message to its own limits with these. Pure. */

/** At most `max` characters, ending in an ellipsis when cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, Math.max(0, max - 1)) + '…';
}

/** Title, body and fields as plain text lines (ntfy, Telegram, JSON's message). */
export function plainText(m: NotifyMessage, max: number): string {
  const lines = [m.body, ...(m.fields ?? []).map((f) => `${f.name}: ${f.value}`)].filter((l) => l.length);
  return clip(lines.join('\n'), max);
}

export const PRIORITY_EMOJI = { 1: '', 2: '', 3: 'ℹ️', 4: '⚠️', 5: '🛑' } as const;
