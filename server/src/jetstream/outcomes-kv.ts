import { SIGNAL_ACTIONS } from '@catalyst-signal/shared';
import { JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import type { PublishedOutcome } from '../store/outcome-db.js';
import type { NatsHandle } from './connection.js';

/**
 * Outcomes in cluster mode (docs/outcomes.md "Cluster mode"): the lease holder publishes each signal's
 * outcomes as one entry `o.<seq>` of the bucket `catalyst_outcomes`; every node watches it. Only the holder
 * writes, and every write names the bucket's last stream seq it knows, so a deposed holder that wakes up is
 * refused (FencedError) once anyone else wrote.
 */
export const OUTCOMES_BUCKET = 'catalyst_outcomes';
const keyOf = (seq: number) => `o.${seq}`;
const fig = z.number().optional();

/** What a node accepts from the bucket: derived figures, facets and the job's state; never bars. */
const PublishedOutcomeSchema = z.strictObject({
  seq: z.int().positive(),
  symbol: z.string().min(1).max(32),
  signal: z.string().max(4000),
  facets: z.strictObject({
    seq: z.int().positive(),
    at: z.int(),
    symbol: z.string(),
    action: z.enum(SIGNAL_ACTIONS),
    direction: z.string().optional(),
    catalyst: z.string(),
    session: z.enum(['pre', 'regular', 'after', 'closed']),
    confidence: z.number(),
    publisher: z.string().optional(),
    keywords: z.array(z.string()),
  }),
  outcomes: z
    .array(
      z.strictObject({
        horizon: z.string().max(8),
        minutes: z.int(),
        start: fig,
        end: fig,
        missing: z.string().optional(),
        bars: z.int(),
        ret: fig,
        firstTradePrice: fig,
        retFirstTrade: fig,
        mfe: fig,
        mae: fig,
        mfeR: fig,
        maeR: fig,
        minutesToMfe: fig,
        bracket: z
          .strictObject({ first: z.enum(['stop', 'target', 'neither']), ret: z.number(), r: fig })
          .optional(),
        benchRet: fig,
        abnormalRet: fig,
      }),
    )
    .max(20),
  next_due: z.int().nullable(),
  computed_at: z.int(),
});

/** Another node published since the stream seq this publisher knows: read up to the new end, then go on. */
export class OutcomesFencedError extends Error {
  override name = 'OutcomesFencedError';
}

export class OutcomesBucket {
  private constructor(
    private readonly h: NatsHandle,
    private readonly kv: KV,
  ) {}

  /** The bucket, created when missing (a `both` node may write). */
  static async ensure(h: NatsHandle, replicas: number): Promise<OutcomesBucket> {
    const kv = await h.kvm.create(OUTCOMES_BUCKET, { replicas, history: 1, storage: StorageType.File });
    return new OutcomesBucket(h, kv);
  }

  /** The bucket as it exists, or undefined before a `both` node created it (a read-only gateway). */
  static async openExisting(h: NatsHandle): Promise<OutcomesBucket | undefined> {
    const kv = await h.kvm.open(OUTCOMES_BUCKET);
    try {
      await kv.status();
    } catch (err) {
      if (err instanceof Error && /not found/i.test(err.message)) return undefined;
      throw err;
    }
    return new OutcomesBucket(h, kv);
  }

  /** The bucket's last stream seq now: everything published so far is at or below it. */
  async lastSeq(): Promise<number> {
    const s = await this.kv.status();
    return s.streamInfo.state.last_seq;
  }

  /**
   * Publishes as the only writer, fenced on the bucket's stream seq: each write expects the stream to end at
   * the seq this publisher last knew (`from`, then its own writes). Returns the record's stream seq.
   */
  publisher(from: number): { publish(r: PublishedOutcome): Promise<number> } {
    let last = from;
    let chain: Promise<unknown> = Promise.resolve();
    const subject = (seq: number) => `$KV.${OUTCOMES_BUCKET}.${keyOf(seq)}`;
    return {
      publish: (r) => {
        const next = chain.then(async () => {
          try {
            const ack = await this.h.js.publish(subject(r.seq), JSON.stringify(r), {
              expect: { lastSequence: last },
            });
            last = ack.seq;
            return ack.seq;
          } catch (err) {
            if (
              err instanceof JetStreamApiError &&
              (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
                err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
            )
              throw new OutcomesFencedError(`outcome not published: another node published after ${last}`);
            throw err;
          }
        });
        // A failed write fails every later one too: the holder reads up to the end and starts a new publisher.
        chain = next;
        return next;
      },
    };
  }

  /**
   * Calls `onRecord` with every record published after stream seq `after`, in order, then each later one.
   * A malformed entry is reported and skipped (it never reaches the store).
   */
  async watch(
    after: number,
    onRecord: (r: PublishedOutcome, streamSeq: number) => void,
    onBad: (key: string, why: string) => void,
  ): Promise<{ stop(): void }> {
    const w = await this.kv.watch({ key: 'o.>', resumeFromRevision: after + 1 });
    void (async () => {
      for await (const e of w) {
        if (e.operation !== 'PUT') continue;
        let parsed;
        try {
          parsed = PublishedOutcomeSchema.safeParse(e.json());
        } catch (err) {
          onBad(e.key, (err as Error).message);
          continue;
        }
        if (!parsed.success || e.key !== keyOf(parsed.data.seq)) {
          onBad(e.key, parsed.success ? 'key and seq differ' : parsed.error.message);
          continue;
        }
        onRecord(parsed.data as PublishedOutcome, e.revision);
      }
    })();
    return { stop: () => w.stop() };
  }
}

/** The meta-bucket key of the outcome worker's lease (jetstream/lease.ts), beside the checkpoint signer's. */
export const OUTCOMES_LEASE_KEY = 'outcomes_lease';
