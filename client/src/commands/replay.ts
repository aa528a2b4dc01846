import type { Context } from '../context.js';
import { historyVerifier } from '../history-pages.js';
import { formatReplay, replay } from '../replay.js';
import { parseSince } from '../cli-args.js';

/** `catalyst-client replay`: what this config would have done with the server's history (paper, throwaway journal). */
export async function replayCommand(
  ctx: Context,
  opts: { since?: string; fromSeq?: number | string; json?: boolean },
): Promise<string> {
  const { config, secrets, log } = ctx;
  if (!secrets.serverKey) throw new Error(`${config.server.key_env} is not set (environment or .env)`);
  const started = Date.now();
  const report = await replay({
    config,
    serverKey: secrets.serverKey,
    afterSeq: opts.fromSeq === undefined ? 0 : Number(opts.fromSeq),
    since: opts.since ? new Date(parseSince(opts.since)).toISOString() : undefined,
    verify: await historyVerifier(ctx),
    log,
    onProgress: (p) =>
      process.stderr.write(
        `replay: ${p.done} signals, at seq ${p.seq}${p.head ? ` of ${p.head}` : ''} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
      ),
  });
  return opts.json ? JSON.stringify(report, null, 2) : formatReplay(report);
}
