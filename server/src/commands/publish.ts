import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ClassificationSchema, type Classification } from '@catalyst-signal/shared';
import { z } from 'zod';
import { UsageError } from '../errors.js';

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

type Line = { n: number; item: Classification };

/**
 * Read JSONL (one classification a line) and POST it in batches through the server's ingest, reporting
 * accepted / duplicate / rejected per line. Lines that fail validation are reported without being sent.
 */
export async function publish(
  input: string,
  o: PublishOptions,
  out: (line: string) => void,
  progress: (msg: string) => void,
): Promise<PublishSummary> {
  if (!o.key) throw new UsageError('a publish key is needed: --key or CATALYST_PUBLISH_KEY');
  const stream = input === '-' ? process.stdin : createReadStream(input);
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  const summary: PublishSummary = { accepted: 0, duplicate: 0, rejected: 0 };
  let pending: Line[] = [];
  let n = 0;
  const flush = async () => {
    if (!pending.length) return;
    const batch = pending;
    pending = [];
    const res = await fetch(new URL('/v1/signals', o.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${o.key}` },
      body: JSON.stringify(batch.map((l) => l.item)),
    });
    const body = (await res.json().catch(() => ({}))) as {
      results?: { seq: number; duplicate: boolean }[];
      detail?: string;
    };
    if (!res.ok || !body.results) {
      for (const l of batch) out(`line ${l.n}: rejected (HTTP ${res.status}: ${body.detail ?? 'no detail'})`);
      summary.rejected += batch.length;
      if (res.status === 401 || res.status === 403)
        throw new UsageError(`server refused the key (HTTP ${res.status})`);
      return;
    }
    body.results.forEach((r, i) => {
      const l = batch[i]!;
      if (r.duplicate) summary.duplicate++;
      else summary.accepted++;
      out(`line ${l.n}: ${r.duplicate ? 'duplicate' : 'accepted'} seq ${r.seq}`);
    });
    progress(`published ${summary.accepted + summary.duplicate + summary.rejected} line(s)`);
  };
  for await (const text of rl) {
    n++;
    if (!text.trim()) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      out(`line ${n}: rejected (not JSON)`);
      summary.rejected++;
      continue;
    }
    const r = ClassificationSchema.safeParse(raw);
    if (!r.success) {
      out(`line ${n}: rejected (${z.prettifyError(r.error).replace(/\n/g, '; ')})`);
      summary.rejected++;
      continue;
    }
    pending.push({ n, item: r.data });
    if (pending.length >= o.batch) await flush();
  }
  await flush();
  return summary;
}
