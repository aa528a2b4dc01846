import { cosignatureVerifier, verifiedCosignatures, type CosignatureVerifier } from '@catalyst-signal/shared';
import { ed25519Verify, sha256 } from './log-verify.js';
import type { Config } from './config.js';

/**
 * The witness policy (C2SP tlog-policy style: these witness keys, k of them): each checkpoint this client acts
 * on must be cosigned by `quorum` of `keys` within `within_ms` of the moment it acted on it, or a later
 * checkpoint it verified as consistent must be (a witness cosigning the larger tree vouches for its prefix).
 * Missing that is an alert, never a halt: witnesses are friends' machines, and they go offline. Pure: time and
 * notes come in as arguments.
 */

export type WitnessPolicyConfig = NonNullable<Config['log']['witness_policy']>;

export type PolicyVerdict =
  | { ok: true; cosigned: number; need: number }
  | {
      ok: false;
      /** The oldest checkpoint size acted on without the quorum, and since when. */
      size: number;
      sinceMs: number;
      /** Cosigners of the latest checkpoint seen. */
      cosigned: number;
      need: number;
    };

/** At most this many uncovered checkpoints are remembered; the newest then stands in for later ones. */
const MAX_PENDING = 1024;

export class WitnessPolicy {
  private readonly verifiers: CosignatureVerifier[];
  /** Checkpoints acted on and not yet covered by a quorum, ascending by size. */
  private readonly pending: { size: number; at: number }[] = [];
  private coveredSize = -1;
  private lastCosigned = 0;

  constructor(private readonly p: WitnessPolicyConfig) {
    this.verifiers = p.keys.map((k, i) => {
      try {
        return cosignatureVerifier(sha256, k, ed25519Verify);
      } catch (e) {
        throw new Error(`log.witness_policy.keys[${i}]: ${(e as Error).message}`);
      }
    });
  }

  /** A checkpoint this client verified as its latest and acts on, as served (with any cosignature lines). */
  observe(note: string, size: number, nowMs: number): void {
    const cosigned = verifiedCosignatures(note, this.verifiers).length;
    this.lastCosigned = cosigned;
    if (cosigned >= this.p.quorum) {
      this.coveredSize = Math.max(this.coveredSize, size);
      while (this.pending.length && this.pending[0]!.size <= this.coveredSize) this.pending.shift();
      return;
    }
    if (size <= this.coveredSize || (this.pending.at(-1)?.size ?? -1) >= size) return;
    if (this.pending.length >= MAX_PENDING) this.pending[this.pending.length - 1] = { size, at: nowMs };
    else this.pending.push({ size, at: nowMs });
  }

  check(nowMs: number): PolicyVerdict {
    const first = this.pending[0];
    if (!first || nowMs - first.at <= this.p.within_ms)
      return { ok: true, cosigned: this.lastCosigned, need: this.p.quorum };
    return {
      ok: false,
      size: first.size,
      sinceMs: first.at,
      cosigned: this.lastCosigned,
      need: this.p.quorum,
    };
  }
}
