import { closeSync, openSync, writeSync } from 'node:fs';
import { parseSince } from '../cli-args.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { EXPORT_KINDS, exportLines, type ExportKind } from '../export.js';
import { PRIVATE_FILE } from '../file-modes.js';
import { Journal } from '../journal/index.js';

/** `catalyst-client export <decisions|orders|fills> [--since] [--out file]`: CSV on stdout or into a file. */
export function exportCommand(
  ctx: Context,
  kind: string,
  opts: { since?: string; out?: string },
  write: (chunk: string) => void = (c) => void process.stdout.write(c),
): number {
  if (!(EXPORT_KINDS as readonly string[]).includes(kind))
    throw new UsageError(`unknown export "${kind}"; use one of: ${EXPORT_KINDS.join(', ')}`);
  const since = opts.since ? parseSince(opts.since) : 0;
  const j = Journal.openExisting(ctx.journalPath, ctx.configArg ?? ctx.configPath);
  // The journal holds trades: a file written here is private like the journal itself (0600).
  const fd = opts.out ? openSync(opts.out, 'w', PRIVATE_FILE) : undefined;
  const out = fd === undefined ? write : (c: string) => void writeSync(fd, c);
  let lines = 0;
  try {
    for (const line of exportLines(j, kind as ExportKind, since)) {
      out(line);
      lines++;
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
    j.close();
  }
  // Every line but the header is a row.
  if (opts.out) process.stderr.write(`${lines - 1} ${kind} written to ${opts.out}\n`);
  return 0;
}
