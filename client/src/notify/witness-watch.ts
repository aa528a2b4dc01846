import type { Logger } from 'pino';
import type { PolicyVerdict, WitnessPolicy } from '../log-policy.js';
import type { Notifier } from './index.js';
import { witnessQuorumBackMessage, witnessQuorumLostMessage } from './messages.js';

/** Journal meta key: the witness policy's latest verdict (JSON PolicyVerdict + at), for `status`. */
export const WITNESS_POLICY_META = 'witness_policy';

/**
 * Checks the witness policy on a timer and says so on each change, through every channel a person reads: a
 * notification, a log line, and `status` (journal meta). It never stops trading: a missing quorum means the
 * witnesses cannot vouch, not that the server lied (log-verify.ts halts on that).
 */
export function watchWitnessPolicy(o: {
  policy: WitnessPolicy;
  notifier: Notifier;
  log: Pick<Logger, 'warn' | 'info'>;
  setMeta: (key: string, value: string | undefined) => void;
  everyMs: number;
  now?: () => number;
}): () => void {
  const now = o.now ?? Date.now;
  let alerting = false;
  const record = (v: PolicyVerdict, at: number) =>
    o.setMeta(WITNESS_POLICY_META, JSON.stringify({ ...v, at: new Date(at).toISOString() }));
  const tick = () => {
    const at = now();
    const v = o.policy.check(at);
    if (!v.ok && !alerting) {
      alerting = true;
      o.log.warn(
        { size: v.size, since: new Date(v.sinceMs).toISOString(), cosigned: v.cosigned, need: v.need },
        'WITNESS QUORUM MISSING: the checkpoints this client acts on are not cosigned by enough witnesses (log.witness_policy); trading goes on',
      );
      o.notifier.emit(witnessQuorumLostMessage(at, v));
      record(v, at);
    } else if (v.ok && alerting) {
      alerting = false;
      o.log.info({ cosigned: v.cosigned, need: v.need }, 'witness quorum back');
      o.notifier.emit(witnessQuorumBackMessage(at, v));
      record(v, at);
    }
  };
  record(o.policy.check(now()), now());
  const timer = setInterval(tick, o.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
