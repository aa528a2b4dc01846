import type { Decision } from './types.js';

/** What the gate needs to know about an open incident (journal/incidents.ts). */
export interface OpenIncident {
  id: number;
  detail: string;
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
    if (incident)
      return {
        verdict: 'skip',
        reason: 'skipped:incident',
        detail: `position incident #${incident.id}: ${incident.detail} (catalyst-client incidents --ack ${incident.id})`,
        legs: [],
        // An avoid window still blocks entries; the session still counts for P&L by session.
        ...(decision.avoidUntil !== undefined ? { avoidUntil: decision.avoidUntil } : {}),
        ...(decision.session ? { session: decision.session } : {}),
      };
  }
  return decision;
}
