import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassificationSchema } from '@catalyst-signal/shared';
import { createSigner } from '../../src/signing.js';
import { openDb } from '../../src/store/db.js';
import { sequence } from '../../src/log/sequence.js';
import type { SignFn } from '../../src/log/types.js';
import { SignalStore } from '../../src/store/signals.js';
import { classification } from '../helpers/server.js';

const scratch = new Set<string>();
process.once('exit', () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/**
 * Signals exactly as a cluster's ingest stores them in the stream: sequenced 1..n under the cluster epoch and
 * signed. Made by the single-node sequence() and SignalStore (the same sequencing and signing code) in a scratch database whose
 * epoch is set to the cluster's, so the bytes are what a real ingest produces, not a hand-written imitation.
 */
export class SignedLog {
  readonly epoch: string;
  private readonly store: SignalStore;
  private readonly sign: SignFn;
  private n = 0;

  private constructor(
    epoch: string,
    store: SignalStore,
    sign: SignedLog['sign'],
    /** The public key that verifies these signals (what ingest nodes record as the cluster's). */
    readonly jwk: object,
  ) {
    this.epoch = epoch;
    this.store = store;
    this.sign = sign;
  }

  static async create(epoch = randomBytes(8).toString('hex')): Promise<SignedLog> {
    // Not tempDir(): a log is often made in beforeAll, outside any test. Removed when the worker exits.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'catalyst-signed-log-'));
    scratch.add(dir);
    const db = openDb(dir);
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'epoch'`).run(epoch);
    const signer = await createSigner(generateKeyPairSync('ed25519').privateKey);
    return new SignedLog(epoch, new SignalStore(db), (u) => signer.sign(u), signer.publicJwk);
  }

  /** The next `count` signals' JSON, seqs head+1..head+count. */
  next(count: number): string[] {
    const items = Array.from({ length: count }, () => ClassificationSchema.parse(classification(this.n++)));
    const { fresh } = this.store.transaction(() => {
      const out = sequence(items, {
        head: this.store.readHead(),
        epoch: this.epoch,
        now: new Date(),
        seqOf: (id) => this.store.seqOf(id),
        sign: this.sign,
      });
      this.store.insert(out.fresh);
      return out;
    });
    return fresh.map((f) => f.json);
  }

  get head(): number {
    return this.store.head;
  }

  json(seq: number): string {
    return this.store.getJson(seq)!;
  }
}
