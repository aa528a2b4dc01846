import { ed25519Signer, ed25519VerifierKey } from '@catalyst-signal/shared';
import { CheckpointLog } from '../log/checkpoints.js';
import { sha256 } from '../log/tlog-crypto.js';
import type { FanOut, SignalLogDriver, SignFn } from '../log/types.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Db } from './db.js';
import { WitnessBook } from '../log/witnesses.js';
import { CosignatureStore } from './cosignatures.js';
import { SqliteSequencer } from './sequencer.js';
import { SignalStore } from './signals.js';

export interface SqliteLogOptions {
  sign: SignFn;
  metrics?: Metrics;
  /** config.group_commit_max: most signals in one transaction. */
  groupCommitMax: number;
  /** A fan-out that throws after a commit: logged, never un-acknowledged. */
  onPublishError?: (err: unknown) => void;
  /** Sign transparency-log checkpoints with this Ed25519 key (docs/transparency-log.md); absent: none. */
  checkpoints?: {
    /** The log's name (origin line and key name); default `catalyst-signals/<epoch>`. */
    origin: string | undefined;
    intervalMs: number;
    key: { publicKeyRaw: Uint8Array; signBytes(message: Uint8Array): Uint8Array };
    log: Logger;
    /** config.log.witnesses: whose cosignatures are kept and served. */
    witnesses?: readonly { name: string; vkey: string }[];
  };
}

/** Whether the database takes writes now (readyz): a no-op UPDATE fails on a read-only or broken file. */
function writable(db: Db): boolean {
  try {
    db.prepare(`UPDATE meta SET value = value WHERE key = 'epoch'`).run();
    return true;
  } catch {
    return false;
  }
}

/**
 * The single-node signal log: SQLite is both the sequencer and the reader. Each group is committed,
 * published to the attached fan-out and answered in one synchronous step (store/sequencer.ts), so a reader
 * in the same thread never sees a row that was not, or will not be, published.
 */
export class SqliteLog implements SignalLogDriver {
  readonly kind = 'sqlite';
  /** The concrete store (retention, tests); the same object as `reader`. */
  readonly store: SignalStore;
  readonly reader: SignalStore;
  readonly sequencer: SqliteSequencer;
  readonly transparency: CheckpointLog | undefined;
  readonly witnesses: WitnessBook | undefined;
  private fanOut: FanOut | undefined;

  constructor(
    private readonly db: Db,
    o: SqliteLogOptions,
  ) {
    this.store = this.reader = new SignalStore(db);
    this.sequencer = new SqliteSequencer(
      this.store,
      o.sign,
      (fresh) => {
        // Before the fan-out, which may throw: a grown tree always gets its checkpoint scheduled.
        this.transparency?.grew();
        this.fanOut?.publish(fresh);
      },
      o.metrics,
      o.groupCommitMax,
      o.onPublishError,
    );
    const cp = o.checkpoints;
    this.witnesses = cp?.witnesses?.length
      ? new WitnessBook({ witnesses: cp.witnesses, rows: new CosignatureStore(db) })
      : undefined;
    if (cp) {
      const origin = cp.origin ?? `catalyst-signals/${this.store.epoch}`;
      this.transparency = new CheckpointLog({
        cosignatures: this.witnesses,
        tree: this.store.tree,
        origin,
        signer: ed25519Signer(sha256, origin, cp.key.publicKeyRaw, (m) => cp.key.signBytes(m)),
        vkey: ed25519VerifierKey(sha256, origin, cp.key.publicKeyRaw),
        intervalMs: cp.intervalMs,
        log: cp.log,
      });
    }
  }

  attach(fanOut: FanOut): void {
    if (this.fanOut) throw new Error('a fan-out is already attached to this log');
    this.fanOut = fanOut;
  }

  notReady(): string | undefined {
    return writable(this.db) ? undefined : 'database is not writable';
  }

  /** The database belongs to the caller (keys share it): closing the log only finishes in-flight commits. */
  close(): Promise<void> {
    return this.sequencer.drained().finally(() => this.transparency?.close());
  }
}
