import type { JWK } from 'jose';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from './config.js';
import type { Context } from './context.js';
import { failover, fetchHistory, fetchJwks } from './http.js';
import { Journal } from './journal/index.js';
import { HISTORY_PAGE_SIZE } from './limits.js';
import { createVerifier, signingJwk, type Verifier } from './verify.js';

/**
 * The server's history over REST with a read key, page by page (failing over between server.urls): what
 * `replay` and `backtest` read. `source` replaces the server (tests).
 */
export interface HistoryPagesOptions {
  config: Pick<Config, 'server'>;
  serverKey: string;
  afterSeq: number;
  since?: string | undefined;
  source?: AsyncIterable<Signal[]> | undefined;
}

export async function* historyPages(
  o: HistoryPagesOptions,
): AsyncGenerator<{ signals: Signal[]; head: number }> {
  if (o.source) {
    for await (const s of o.source) yield { signals: s, head: 0 };
    return;
  }
  let after = o.afterSeq;
  for (;;) {
    const p = await failover(o.config.server.urls, (baseUrl, failFast) =>
      fetchHistory(
        { baseUrl, key: o.serverKey, failFast },
        after,
        HISTORY_PAGE_SIZE,
        o.since ? { since: o.since } : {},
      ),
    );
    yield { signals: p.signals, head: p.head_seq };
    if (p.signals.length === 0 || p.next_after_seq >= p.head_seq || p.next_after_seq <= after) return;
    after = p.next_after_seq;
  }
}

/** History is verified against the pinned key when this installation has one; otherwise against what the server presents. */
export async function historyVerifier(
  ctx: Pick<Context, 'config' | 'journalPath' | 'log'>,
): Promise<Verifier> {
  const j = Journal.open(ctx.journalPath);
  const pin = j.pinnedKey();
  j.close();
  const jwk =
    (pin?.jwk as JWK | undefined) ??
    signingJwk(
      await failover(ctx.config.server.urls, (baseUrl, failFast) => fetchJwks({ baseUrl, failFast })),
    );
  if (!pin) ctx.log.warn('no pinned server key: verifying history against the key the server presents now');
  return createVerifier(jwk);
}
