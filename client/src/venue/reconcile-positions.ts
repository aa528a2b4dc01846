import type { Logger } from 'pino';
import { outsideHoldings, positionIncidents, type PositionIncident } from '../decide/reconcile.js';
import type { Journal } from '../journal/index.js';
import type { AccountState } from './account-state.js';

/**
 * Compares the journal's positions with the broker's from the warm account state (no request of its own), on
 * start and on run's reconcile timer. The first comparison fixes what was held outside this client at start;
 * every later difference the journal cannot explain is journaled once as an incident, and entries and exits in
 * that symbol are skipped (skipped:incident) until the friend acknowledges it (`catalyst-client incidents --ack ID`).
 */
export function positionReconciler(
  journal: Journal,
  state: AccountState,
  log: Logger,
): (now: number) => PositionIncident[] {
  let outsideAtStart: Map<string, number> | undefined;
  return (now) => {
    // Only a fresh broker read is compared: an old one would report as "missing" what was bought since.
    if (state.stale(['positions'], now)) return [];
    const readAt = now - state.age('positions', now)!;
    const broker = state.positions().map((p) => ({ symbol: p.symbol, qty: p.qty }));
    const own = journal.positions();
    const { lastChange, legMarkets } = journal.reconcileFacts();
    // In flight (not final), or changed in the journal after the broker's positions were read: compared later.
    const busy = new Set(journal.openIntents().map((i) => i.market));
    for (const [market, at] of lastChange) if (at >= readAt) busy.add(market);
    outsideAtStart ??= outsideHoldings(
      own,
      broker.filter((b) => !busy.has(b.symbol)),
    );
    const outside = new Map(outsideAtStart);
    for (const b of broker) {
      const acked = journal.outsideAcked(b.symbol);
      if (acked !== undefined) outside.set(b.symbol, acked);
    }
    const found = positionIncidents({
      journal: own,
      broker,
      outsideAtStart: outside,
      busy,
      legs: legMarkets,
    });
    const created: PositionIncident[] = [];
    for (const i of found) {
      const r = journal.recordIncident(i, now);
      if (!r.created) continue;
      created.push(i);
      log.error(
        { incident: r.row.id, symbol: i.symbol, journal: i.journalQty, broker: i.brokerQty },
        `position incident #${r.row.id}: ${i.detail}; ${i.symbol} is not traded until it is acknowledged (catalyst-client incidents --ack ${r.row.id})`,
      );
    }
    return created;
  };
}
