import { StorageType } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { z } from 'zod';
import type { Scope } from '@catalyst-signal/shared';
import { generateApiKey } from '../auth/api-keys.js';
import type { KeyRow } from '../store/keys.js';
import { CLUSTER_NAMES } from './cluster-log.js';
import type { NatsHandle } from './connection.js';

/**
 * One API key as the cluster stores it in KV bucket `catalyst_keys` (KV key = the key's public id). The same
 * fields as the single-node key table, with the SHA-256 of the secret as hex: never the secret itself.
 * `last_used_at` is not kept cluster-wide (it would be a write per request); nodes keep it locally.
 */
const KeyRecordSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{12}$/),
  name: z.string().min(1).max(200),
  scopes: z.array(z.enum(['read', 'publish', 'admin'])).min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});
export type KeyRecord = z.output<typeof KeyRecordSchema>;

export const toKeyRecord = (r: Omit<KeyRow, 'last_used_at'>): KeyRecord => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes,
  hash: r.hash.toString('hex'),
  created_at: r.created_at,
  revoked_at: r.revoked_at,
  expires_at: r.expires_at,
});

/** A new key: its record for the bucket (hash only) and the plain key, to be shown once. */
export function newKeyRecord(
  name: string,
  scopes: KeyRecord['scopes'],
  now = new Date(),
): { record: KeyRecord; key: string } {
  const k = generateApiKey();
  return {
    key: k.key,
    record: {
      id: k.id,
      name,
      scopes: [...new Set(scopes)],
      hash: k.hash.toString('hex'),
      created_at: now.toISOString(),
      revoked_at: null,
      expires_at: null,
    },
  };
}

export const toKeyRow = (r: KeyRecord): KeyRow => ({
  ...r,
  scopes: r.scopes as Scope[],
  hash: Buffer.from(r.hash, 'hex'),
  last_used_at: null,
});

/** A change seen by `watch`: the record as it now is, or `deleted` when the KV entry was removed. */
export type KeyChange = { id: string; record: KeyRecord } | { id: string; deleted: true };

/** Parses one KV entry; a malformed record is reported as undefined (and never authenticates). */
function parseEntry(e: KvEntry): KeyRecord | undefined {
  if (e.operation !== 'PUT') return undefined;
  try {
    const r = KeyRecordSchema.safeParse(e.json());
    return r.success && r.data.id === e.key ? r.data : undefined;
  } catch {
    return undefined;
  }
}

const MAX_CAS_TRIES = 5;

/** API keys cluster-wide, on KV. Writes are compare-and-set on the entry's revision, so two admins never lose an update. */
export class ClusterKeys {
  private constructor(readonly kv: KV) {}

  /**
   * The bucket as it exists (kvm.open, then its stream info: both allowed to a read-only gateway user), or
   * undefined while no ingest node has created it. Never creates anything.
   */
  static async openExisting(h: NatsHandle): Promise<ClusterKeys | undefined> {
    const kv = await h.kvm.open(CLUSTER_NAMES.keysBucket);
    try {
      await kv.status();
    } catch (err) {
      if (err instanceof Error && /not found/i.test(err.message)) return undefined;
      throw err;
    }
    return new ClusterKeys(kv);
  }

  /** Open the bucket if it exists, else create it (a node allowed to write: ingest, or tests). */
  static async open(h: NatsHandle, replicas: 1 | 3): Promise<ClusterKeys> {
    const existing = await ClusterKeys.openExisting(h);
    if (existing) return existing;
    const kv = await h.kvm.create(CLUSTER_NAMES.keysBucket, {
      replicas,
      history: 1,
      storage: StorageType.File,
    });
    return new ClusterKeys(kv);
  }

  /** Store a new key record; refuses an id that exists (ids are random, a clash means a bug). */
  async insert(record: KeyRecord): Promise<void> {
    await this.kv.create(record.id, JSON.stringify(KeyRecordSchema.parse(record)));
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const e = await this.kv.get(id);
    return e ? parseEntry(e) : undefined;
  }

  async list(): Promise<KeyRecord[]> {
    const out: KeyRecord[] = [];
    for await (const id of await this.kv.keys()) {
      const r = await this.get(id);
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Revoke; false when there is no such active key. */
  revoke(id: string, now = new Date()): Promise<boolean> {
    return this.change(id, (r) => (r.revoked_at ? undefined : { ...r, revoked_at: now.toISOString() }));
  }

  /** Let a key live until `at` (rotation's grace period); false when there is no such active key. */
  expireAt(id: string, at: Date): Promise<boolean> {
    return this.change(id, (r) => (r.revoked_at ? undefined : { ...r, expires_at: at.toISOString() }));
  }

  private async change(id: string, f: (r: KeyRecord) => KeyRecord | undefined): Promise<boolean> {
    for (let i = 0; i < MAX_CAS_TRIES; i++) {
      const e = await this.kv.get(id);
      const r = e && parseEntry(e);
      if (!e || !r) return false;
      const next = f(r);
      if (!next) return false;
      try {
        await this.kv.update(id, JSON.stringify(next), e.revision);
        return true;
      } catch (err) {
        // Someone else changed it since our read: read again and re-apply.
        if (i === MAX_CAS_TRIES - 1) throw err;
      }
    }
    return false;
  }

  /**
   * Calls `onChange` for every key now stored, then `onReady` once, then for every later change, until the
   * returned stop() is called. A node keeps its mirror from this (the KV watcher recovers across reconnects).
   */
  async watch(
    onChange: (c: KeyChange) => void,
    onReady?: () => void,
    o: { resyncMs?: number } = {},
  ): Promise<{ stop(): void }> {
    // v3's KV watch has no "initial values done" callback: an entry's delta is the number still pending
    // after it, so delta 0 ends the initial state; an empty bucket is ready at once.
    let ready = false;
    const markReady = () => {
      if (!ready) {
        ready = true;
        onReady?.();
      }
    };
    // Newest KV revision applied per key, from the watch or a resync: an older read never overwrites a newer
    // one (a resync that read a key just before its revocation must not un-revoke it).
    const applied = new Map<string, number>();
    const emit = (key: string, revision: number, e: KvEntry | null) => {
      if ((applied.get(key) ?? 0) >= revision) return;
      applied.set(key, revision);
      const record = e && e.operation === 'PUT' ? parseEntry(e) : undefined;
      onChange(record ? { id: key, record } : { id: key, deleted: true });
    };
    const empty = (await this.kv.status()).values === 0;
    const iter = await this.kv.watch();
    if (empty) markReady();
    void (async () => {
      for await (const e of iter) {
        emit(e.key, e.revision, e);
        if (e.delta === 0) markReady();
      }
    })();
    // The watch is a push consumer on one server; if that server dies it may stall without saying so (see
    // ../shared/notes/jetstream.md). A periodic full read bounds how late a revocation can be seen.
    const resyncMs = o.resyncMs ?? 30_000;
    const timer =
      resyncMs > 0
        ? setInterval(() => void this.resync(applied, emit).catch(() => undefined), resyncMs)
        : undefined;
    timer?.unref();
    return {
      stop: () => {
        clearInterval(timer);
        iter.stop();
      },
    };
  }

  private async resync(
    applied: Map<string, number>,
    emit: (key: string, revision: number, e: KvEntry | null) => void,
  ): Promise<void> {
    const present = new Set<string>();
    for await (const id of await this.kv.keys()) present.add(id);
    for (const id of present) {
      const e = await this.kv.get(id);
      if (e) emit(id, e.revision, e);
    }
    // Gone from the bucket (deleted and its marker purged): drop it. Revision +1: newer than what we had.
    for (const [id, rev] of applied) if (!present.has(id)) emit(id, rev + 1, null);
  }
}

/** An in-memory mirror of the keys bucket, for nodes that authenticate without a local key table (ingest). */
export class KeyMirror {
  private readonly byId = new Map<string, KeyRow>();
  private changes = 0;

  apply(c: KeyChange): void {
    if ('deleted' in c) this.byId.delete(c.id);
    else this.byId.set(c.id, toKeyRow(c.record));
    this.changes++;
  }

  get(id: string): KeyRow | undefined {
    return this.byId.get(id);
  }

  list(): KeyRow[] {
    return [...this.byId.values()];
  }

  /** Changes applied so far, as the key table's version: the Authenticator reloads when it moves. */
  version(): string {
    return String(this.changes);
  }
}
