import type { Logger } from 'pino';
import {
  inFlightOf,
  outsideHoldings,
  positionIncidents,
  type PositionIncident,
  type SeenDifference,
} from '../decide/reconcile.js';
import type { Journal } from '../journal/index.js';
import type { AccountState } from './account-state.js';

/**
 * Compares the journal's positions with the broker's from the warm account state, on start and on run's
 * reconcile timer. The first comparison fixes what was held outside this client at start. A difference the
 * journal cannot explain is first only seen: the broker's order events are caught up (`catchUp`, a leg fill in
 * transit lands in the journal) and a second comparison right after it that still finds the same difference
 * journals it once as an incident (a symbol the catch-up changed waits for a newer broker read);
 * entries, exits and protection in that symbol are skipped until the friend acknowledges it
 * (`catalyst-client incidents --ack ID`). One comparison at a time; the sightings live here, between calls.
 * An incident is journaled with the time it was written (`clock`), not the time the comparison was asked for:
 * the catch-up in between (or a comparison queued behind another) can take seconds, and a decision made in
 * them, before the incident existed, must not look as if it came after it.
 */
export function positionReconciler(
  journal: Journal,
  state: AccountState,
  log: Logger,
  catchUp: () => Promise<unknown>,
  clock: () => number,
): (now: number) => Promise<PositionIncident[]> {
  let outsideAtStart: Map<string, number> | undefined;
  let seen = new Map<string, SeenDifference>();
  let running: Promise<PositionIncident[]> | undefined;

  /** One comparison of the journal with the broker's last read; the caught-up sightings it confirms are journaled. */
  const compareOnce = (now: number): PositionIncident[] => {
    const readAt = now - state.age('positions', now)!;
    const broker = state.positions().map((p) => ({ symbol: p.symbol, qty: p.qty }));
    const own = journal.positions();
    const { lastChange } = journal.reconcileFacts();
    // Changed in the journal after the broker's positions were read: compared with a newer read.
    const busy = new Set<string>();
    for (const [market, at] of lastChange) if (at >= readAt) busy.add(market);
    const inFlight = inFlightOf(journal.openIntents());
    outsideAtStart ??= outsideHoldings(
      own,
      broker.filter((b) => !busy.has(b.symbol) && !inFlight.has(b.symbol)),
    );
    const outside = new Map(outsideAtStart);
    for (const b of broker) {
      const acked = journal.outsideAcked(b.symbol);
      if (acked !== undefined) outside.set(b.symbol, acked);
    }
    const r = positionIncidents({ journal: own, broker, outsideAtStart: outside, busy, inFlight, seen });
    seen = r.seen;
    const created: PositionIncident[] = [];
    for (const i of r.incidents) {
      const row = journal.recordIncident(i, now);
      if (!row.created) continue;
      created.push(i);
      log.error(
        { incident: row.row.id, symbol: i.symbol, journal: i.journalQty, broker: i.brokerQty },
        `position incident #${row.row.id}: ${i.detail}; ${i.symbol} is not traded until it is acknowledged (catalyst-client incidents --ack ${row.row.id})`,
      );
    }
    return created;
  };

  const compare = async (asked: number): Promise<PositionIncident[]> => {
    const now = Math.max(asked, clock());
    // Only a fresh broker read is compared: an old one would report as "missing" what was bought since.
    if (state.stale(['positions'], now)) return [];
    const created = compareOnce(now);
    const waiting = [...seen.values()].filter((s) => !s.caughtUp);
    if (!waiting.length) return created;
    log.warn(
      { symbols: waiting.map((s) => s.incident.symbol) },
      'positions differ from the broker; catching up its order events before calling it an incident',
    );
    // The catch-up starts after the broker's positions were read, so every execution they reflect is in it. A
    // failed one leaves the sightings waiting: the next comparison asks again.
    await catchUp();
    for (const s of waiting) s.caughtUp = true;
    // Compared again at once: what the catch-up journaled makes the symbol busy (compared with a newer read).
    return [...created, ...compareOnce(Math.max(now, clock()))];
  };

  return (now) => {
    const next = (running ?? Promise.resolve([])).catch(() => []).then(() => compare(now));
    running = next;
    void next
      .finally(() => {
        if (running === next) running = undefined;
      })
      .catch(() => undefined);
    return next;
  };
}
