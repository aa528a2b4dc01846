import type { Decision } from './types.js';

/** What the gate needs to know about an open incident (journal/incidents.ts). */
export interface OpenIncident {
  id: number;
  detail: string;
}

/** What a friend reads about an open incident, with the command that ends it. */
export const incidentDetail = (i: OpenIncident): string =>
  `position incident #${i.id}: ${i.detail} (catalyst-client incidents --ack ${i.id})`;

/** The decision for a signal in a symbol with an open incident: nothing traded (entries and exits alike). */
export function incidentSkip(i: OpenIncident, from?: Pick<Decision, 'avoidUntil' | 'session'>): Decision {
  return {
    verdict: 'skip',
    reason: 'skipped:incident',
    detail: incidentDetail(i),
    legs: [],
    // An avoid window still blocks entries; the session still counts for P&L by session.
    ...(from?.avoidUntil !== undefined ? { avoidUntil: from.avoidUntil } : {}),
    ...(from?.session ? { session: from.session } : {}),
  };
}

/**
 * The last look before a decision's legs are journaled. A venue decides with awaits in between (the broker's
 * snapshot, a catch-up of its order events), and the position reconciler may journal an incident in a leg's
 * market meanwhile: a decision that passed the venue's own incident check before those awaits would then trade
 * around it. Run synchronously right before the journal write, so nothing can slip in between.
 */
export function gateIncidents(
  decision: Decision,
  openFor: (market: string) => OpenIncident | undefined,
): Decision {
  for (const leg of decision.legs) {
    const incident = openFor(leg.market);
    if (incident) return incidentSkip(incident, decision);
  }
  return decision;
}
