import { hostname } from 'node:os';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { Notifier } from '../notify/index.js';
import { testMessage } from '../notify/messages.js';

/** `catalyst-client notify test`: one message to every target, and what each answered. */

export const NOTIFY_TEST_TIMEOUT_MS = 30_000;

export async function notifyTestCommand(
  ctx: Context,
  o: { timeoutMs?: number } = {},
): Promise<{ ok: boolean; report: string }> {
  const targets = ctx.config.notify;
  if (!targets.length)
    throw new UsageError(`no notification targets: add a notify: list to ${ctx.configArg ?? ctx.configPath}`);
  // Retried a little (a 429 with retry_after, a blip), then reported; `run` retries for longer.
  const n = new Notifier(targets, {
    env: process.env,
    log: ctx.log,
    maxAttempts: 3,
    baseDelayMs: 500,
    maxDelayMs: 5000,
  });
  try {
    const results = await n.deliver(
      testMessage(Date.now(), hostname()),
      o.timeoutMs ?? NOTIFY_TEST_TIMEOUT_MS,
    );
    const lines = results.map((r) =>
      r.ok ? `ok      ${r.target}` : `FAILED  ${r.target}: ${n.redact(r.error ?? 'not delivered')}`,
    );
    const failed = results.filter((r) => !r.ok).length;
    lines.push(
      failed
        ? `${failed} of ${results.length} target${results.length === 1 ? '' : 's'} failed`
        : `all ${results.length} target${results.length === 1 ? '' : 's'} answered`,
    );
    return { ok: failed === 0, report: lines.join('\n') };
  } finally {
    n.close();
  }
}
