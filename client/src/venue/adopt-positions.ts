import type { Logger } from 'pino';
import { outsideHoldings } from '../decide/reconcile.js';
import type { AdoptionRow, Journal } from '../journal/index.js';
import type { AccountState } from './account-state.js';

/**
 * equities.outside_positions: adopt. At start, before the first reconciliation, the shares the broker holds that the
 * journal cannot explain (broker minus journal, long only) become this client's own: journaled at the broker's
 * average entry (journal.adoptPosition), so exposure counts them, exits sell them and reconciliation compares them
 * like any other. Once: afterwards the journal holds them, so a restart finds nothing left to adopt.
 */
export function positionAdopter(
  journal: Journal,
  state: AccountState,
  log: Logger,
): (now: number) => AdoptionRow[] {
  return (now) => {
    if (state.stale(['positions'], now)) {
      log.warn(
        'outside positions not adopted: the broker positions are not fresh (adopted at the next start; ignored until then)',
      );
      return [];
    }
    const readAt = now - state.age('positions', now)!;
    const held = state.positions().filter((p) => p.qty > 0);
    // An order of ours still working there, or a journal change since the read: the difference may be our own.
    const busy = new Set(journal.openIntents().map((i) => i.market));
    for (const [market, at] of journal.reconcileFacts().lastChange) if (at >= readAt) busy.add(market);
    const extra = outsideHoldings(
      journal.positions(),
      held.filter((p) => !busy.has(p.symbol)).map((p) => ({ symbol: p.symbol, qty: p.qty })),
    );
    const rows: AdoptionRow[] = [];
    for (const [symbol, qty] of extra) {
      const avgPrice = held.find((p) => p.symbol === symbol)!.avgEntryPrice;
      const row = journal.adoptPosition({ symbol, qty, avgPrice }, now);
      log.warn(
        { adoption: row.id, symbol, qty, avgPrice },
        `adopted ${qty} ${symbol} held at the broker as this client's own (equities.outside_positions: adopt)`,
      );
      rows.push(row);
    }
    return rows;
  };
}
