import { effectiveAction, type Signal, type SignalAction } from '@catalyst-signal/shared';

/**
 * What a signal asks for (signal v2): shared's effectiveAction() is the single rule (`action` when present,
 * else enter for long/short and info for neutral). Re-exported so decide/ reads it from one place.
 */
export type { SignalAction };

export function actionOf(signal: Signal): SignalAction {
  return effectiveAction(signal);
}

/** The asset class the publisher stated, or undefined (v1: "whatever your venue trades"). */
export function assetClassOf(signal: Signal): string | undefined {
  return signal.asset_class;
}
