import {
  effectiveAction,
  inertText,
  STATUS_LIMITS,
  type RecentSignal,
  type Signal,
} from '@catalyst-signal/shared';

/** The latest signals, newest first, as the status frame lists them: a fixed-size ring, fed by the fan-out. */
export class RecentSignals {
  private readonly ring: RecentSignal[] = [];

  constructor(private readonly capacity: number = STATUS_LIMITS.maxRecent) {}

  add(s: Signal): void {
    this.ring.unshift(summarise(s));
    if (this.ring.length > this.capacity) this.ring.length = this.capacity;
  }

  /** A committed group in seq order: only its last `capacity` signals can be listed, so only those are kept. */
  addAll(group: readonly { signal: Signal }[]): void {
    for (let i = Math.max(0, group.length - this.capacity); i < group.length; i++) this.add(group[i]!.signal);
  }

  list(): readonly RecentSignal[] {
    return this.ring;
  }
}

export function summarise(s: Signal): RecentSignal {
  // A signal stored before ingest refused control and bidi characters is shown with them escaped.
  const text = inertText(s.headline);
  const headline =
    text.length > STATUS_LIMITS.headlineChars ? `${text.slice(0, STATUS_LIMITS.headlineChars - 1)}…` : text;
  return {
    seq: s.seq,
    symbol: s.symbol,
    catalyst: s.catalyst,
    action: effectiveAction(s),
    ...(s.direction !== undefined ? { direction: s.direction } : {}),
    confidence: s.confidence,
    headline,
    ingested_at: s.ingested_at,
  };
}
