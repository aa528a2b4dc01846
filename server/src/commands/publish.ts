import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ClassificationSchema, type Classification } from '@catalyst-signal/shared';
import { ServerUnreachableError, UsageError } from '../errors.js';

export interface PublishOptions {
  url: string;
  key: string | undefined;
  batch: number;
}

export interface PublishSummary {
  accepted: number;
  duplicate: number;
  rejected: number;
}

/** One input line: a classification to send, or already decided (blank lines are not kept). */
type Line = { n: number; item: Classification } | { n: number; report: string };

/** Zod issues as `field: message`, one per line, indented under the line they belong to. */
function problems(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const lines = issues.map(
    (i) => `  ${i.path.map(String).join('.') || '(line)'}: ${i.message.replace(/\s+/g, ' ')}`,
  );
  return `rejected (${issues.length} problem${issues.length === 1 ? '' : 's'})\n${lines.join('\n')}`;
}

/**
 * Where the publish key comes from: `--key-file`, else `--key`, else the environment (CATALYST_PUBLISH_KEY).
 * `--key` still works but is warned about: an argument is readable by every user of the machine (ps, /proc) and
 * lands in shell history. A key file readable by others is warned about too.
 */
export function publishKey(o: {
  keyFile?: string | undefined;
  key?: string | undefined;
  env?: string | undefined;
}): {
  key: string | undefined;
  warnings: string[];
} {
  const warnings: string[] = [];
  if (o.key !== undefined)
    warnings.push(
      '--key puts the key in the process list and shell history; use CATALYST_PUBLISH_KEY or --key-file',
    );
  if (o.keyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(o.keyFile, 'utf8');
    } catch (err) {
      throw new UsageError(
        `cannot read --key-file ${o.keyFile}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
    const key = text.trim();
    if (!key || /\s/.test(key))
      throw new UsageError(`--key-file ${o.keyFile} must hold one key and nothing else`);
    if ((statSync(o.keyFile).mode & 0o077) !== 0)
      warnings.push(`${o.keyFile} is readable by other users: chmod 600 ${o.keyFile}`);
    return { key, warnings };
  }
  // An explicit --key beats the environment (what was typed is what was meant), warned about above.
  return { key: o.key ?? (o.env || undefined), warnings };
}

/** Codes of the errors under undici's `fetch failed`, as a person reads them. */
const CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'the server closed the connection',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/**
 * Why a request got no answer, in one line: undici says only `fetch failed` and keeps the reason in `cause`
 * (a system error code, or an OpenSSL one for a TLS handshake that failed, e.g. https against an http port).
 */
export function unreachable(url: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  const at = `${url.replace(/\/+$/, '')}`;
  if (code.startsWith('ERR_SSL') || code === 'EPROTO' || /ssl|tls/i.test(cause?.message ?? '')) {
    const hint = at.startsWith('https:') ? ': is the server http? (then use http://)' : '';
    return `TLS handshake with ${at} failed (${code || cause?.message})${hint}`;
  }
  if (code.startsWith('ERR_TLS') || code.includes('CERT'))
    return `TLS certificate of ${at} not accepted (${code})`;
  const what = CAUSES[code];
  if (what)
    return `${what} at ${at}${code === 'ECONNREFUSED' ? ' (is the server running, on that port?)' : ''}`;
  return `cannot reach ${at}: ${cause?.message ?? (err as Error).message}`;
}

/**
 * Read JSONL (one classification a line) and POST it in batches through the server's ingest, reporting
 * accepted / duplicate / rejected per line, in input order: lines that fail validation here are not sent,
 * but wait in the queue with the others so the report reads top to bottom like the file.
 */
export async function publish(
  input: string,
  o: PublishOptions,
  out: (line: string) => void,
  progress: (msg: string) => void,
): Promise<PublishSummary> {
  if (!o.key) throw new UsageError('a publish key is needed: CATALYST_PUBLISH_KEY or --key-file');
  const stream = input === '-' ? process.stdin : createReadStream(input);
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  const summary: PublishSummary = { accepted: 0, duplicate: 0, rejected: 0 };
  let pending: Line[] = [];
  let n = 0;
  const flush = async () => {
    if (!pending.length) return;
    const queue = pending;
    pending = [];
    const batch = queue.filter((l): l is Extract<Line, { item: Classification }> => 'item' in l);
    const reports = new Map<number, string>();
    let refused: UsageError | undefined;
    if (batch.length) {
      const res = await fetch(new URL('/v1/signals', o.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.key}` },
        body: JSON.stringify(batch.map((l) => l.item)),
      }).catch((err: unknown) => {
        throw new ServerUnreachableError(unreachable(o.url, err));
      });
      const body = (await res.json().catch(() => ({}))) as {
        results?: { seq: number; duplicate: boolean }[];
        detail?: string;
        errors?: { path: string; message: string }[];
      };
      if (!res.ok || !body.results) {
        // The server's own field errors are `[i].field`: give each line its own.
        const byIndex = new Map<number, { path: string[]; message: string }[]>();
        for (const e of body.errors ?? []) {
          const m = /^\[(\d+)\]\.?(.*)$/.exec(e.path);
          if (!m) continue;
          const list = byIndex.get(Number(m[1])) ?? [];
          byIndex.set(Number(m[1]), [...list, { path: m[2] ? [m[2]] : [], message: e.message }]);
        }
        batch.forEach((l, i) => {
          const own = byIndex.get(i);
          reports.set(
            l.n,
            own ? problems(own) : `rejected (HTTP ${res.status}: ${body.detail ?? 'no detail'})`,
          );
        });
        summary.rejected += batch.length;
        if (res.status === 401 || res.status === 403)
          refused = new UsageError(`server refused the key (HTTP ${res.status})`);
      } else {
        body.results.forEach((r, i) => {
          const l = batch[i]!;
          if (r.duplicate) summary.duplicate++;
          else summary.accepted++;
          reports.set(l.n, `${r.duplicate ? 'duplicate' : 'accepted'} seq ${r.seq}`);
        });
      }
    }
    for (const l of queue) out(`line ${l.n}: ${'report' in l ? l.report : reports.get(l.n)}`);
    if (refused) throw refused;
    progress(`published ${summary.accepted + summary.duplicate + summary.rejected} line(s)`);
  };
  for await (const text of rl) {
    n++;
    if (!text.trim()) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      pending.push({ n, report: 'rejected (not JSON)' });
      summary.rejected++;
      continue;
    }
    const r = ClassificationSchema.safeParse(raw);
    if (!r.success) pending.push({ n, report: problems(r.error.issues) });
    else pending.push({ n, item: r.data });
    if (!r.success) summary.rejected++;
    // Bounded either way: at most `batch` lines wait, sent or not.
    if (pending.length >= o.batch) await flush();
  }
  await flush();
  return summary;
}
