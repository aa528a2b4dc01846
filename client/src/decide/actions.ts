import type { Signal } from '@catalyst-signal/shared';

/**
 * What a signal asks for (signal v2, docs/signal-v2.md): enter | exit | avoid | info. Until shared/ carries the
 * v2 fields, they are read loosely here with the same rule as shared's effectiveAction(): `action` when present,
 * else enter for long/short and info for neutral (what a v1 signal meant). Replace with shared's when it lands.
 */
export const ACTIONS = ['enter', 'exit', 'avoid', 'info'] as const;
export type SignalAction = (typeof ACTIONS)[number];

type V2Fields = { action?: unknown; asset_class?: unknown };

export function actionOf(signal: Signal): SignalAction {
  const a = (signal as Signal & V2Fields).action;
  if (typeof a === 'string' && (ACTIONS as readonly string[]).includes(a)) return a as SignalAction;
  return signal.direction === 'neutral' ? 'info' : 'enter';
}

/** The asset class the publisher stated, or undefined (v1: "whatever your venue trades"). */
export function assetClassOf(signal: Signal): string | undefined {
  const c = (signal as Signal & V2Fields).asset_class;
  return typeof c === 'string' ? c : undefined;
}
