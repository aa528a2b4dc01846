import os from 'node:os';
import { startServer, type LogDriverFactory, type Server, type StartOptions } from '../app.js';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { startIngestBackend, type IngestBackend } from '../jetstream/ingest-backend.js';
import { newKeyRecord, toKeyRow } from '../jetstream/keys-kv.js';
import { registerStreamMetrics } from '../jetstream/stream-state.js';
import type { KeyAdmin, Sequencer, SignalLogDriver } from '../log/types.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { KeyTableMirror } from '../store/key-mirror.js';

/**
 * The ingest role: POST /v1/signals on the cluster log. No reader (no history, no WebSocket: gateways serve
 * those from their replicas); the cluster sequencer answers 201 only once JetStream has the signal at the
 * configured replication, 503 + Retry-After while the cluster cannot take it.
 */
export class IngestLog implements SignalLogDriver {
  readonly kind = 'jetstream-ingest';
  readonly reader = undefined;
  readonly sequencer: Sequencer;
  readonly keyAdmin: KeyAdmin;

  constructor(
    readonly backend: IngestBackend,
    metrics: Metrics,
    mirror: KeyTableMirror,
  ) {
    // The admin API writes to the cluster, then applies the same record here at once, so the key it just
    // created (or revoked) behaves so on this node without waiting for the watch to echo it back.
    const keys = backend.keys;
    this.keyAdmin = {
      create: async (name, scopes) => {
        const { record, key } = newKeyRecord(name, scopes);
        await keys.insert(record);
        mirror.upsert(toKeyRow(record));
        return { id: record.id, key };
      },
      revoke: async (id) => {
        const revoked = await keys.revoke(id);
        const now = await keys.get(id);
        if (now) mirror.upsert(toKeyRow(now));
        return revoked;
      },
    };
    const s = backend.sequencer;
    // The same counters as the single-node log, so dashboards read the same on either.
    this.sequencer = {
      get epoch() {
        return s.epoch;
      },
      get head() {
        return s.head;
      },
      drained: () => s.drained(),
      submit: async (items) => {
        const results = await s.submit(items);
        let fresh = 0;
        for (const r of results) if (!r.duplicate) fresh++;
        metrics.signalsIngested.inc(fresh);
        metrics.duplicates.inc(results.length - fresh);
        return results;
      },
    };
  }

  attach(): void {
    // Nothing becomes readable on an ingest node: gateways fan out what they read from the stream.
  }

  notReady(): string | undefined {
    const { sampler } = this.backend;
    return sampler.reachable()
      ? undefined
      : `signal cluster unreachable (${sampler.sample.error ?? 'no recent answer from the stream'})`;
  }

  health(): Record<string, unknown> {
    const { sampler, log } = this.backend;
    const s = sampler.sample;
    return {
      cluster: {
        reachable: sampler.reachable(),
        stream: log.stream,
        last_seq: s.lastSeq,
        leader: s.leader ?? null,
        replicas: {
          current: s.replicas.filter((r) => r.current && !r.offline).length,
          lagging: s.replicas.filter((r) => !r.current && !r.offline).length,
          offline: s.replicas.filter((r) => r.offline).length,
        },
        sample_age_ms: s.at ? Date.now() - s.at : null,
        ...(s.error ? { error: s.error } : {}),
      },
    };
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

/** The ingest role's log: connects to the cluster, mirrors its keys into this node's key table. */
export function ingestLog(): LogDriverFactory<IngestLog> {
  return async (ctx) => {
    const c = ctx.config.cluster;
    if (!c) throw new UsageError('the ingest role needs a cluster block in the config (cluster.nats_urls)');
    if (!ctx.signer) throw new Error('the ingest role signs signals: it needs a signing key');
    const mirror = new KeyTableMirror(ctx.db);
    const backend = await startIngestBackend(
      c,
      ctx.signer,
      ctx.log,
      `catalyst-ingest-${ctx.config.server_id ?? os.hostname()}`,
      {
        onKey: (k) => ('deleted' in k ? mirror.remove(k.id) : mirror.upsert(toKeyRow(k.record))),
        onKeysReady: (ids) => {
          const dropped = mirror.retainOnly(ids);
          ctx.log.info({ keys: ids.size, dropped_local: dropped }, 'api keys mirrored from the cluster');
        },
        onPublish: (seconds) => ctx.metrics.commitSeconds.observe(seconds),
        signalSignatures: ctx.config.log.signal_signatures,
      },
    );
    registerStreamMetrics(ctx.metrics.registry, backend.sampler);
    return new IngestLog(backend, ctx.metrics, mirror);
  };
}

export type IngestServer = Server<IngestLog>;

/** Start an ingest-role server (serve --role ingest). */
export async function startIngest(
  config: Config,
  log: Logger,
  opts: Omit<StartOptions<IngestLog>, 'driver'> = {},
): Promise<IngestServer> {
  const server = await startServer(config, log, { ...opts, driver: ingestLog() });
  // No WebSocket stream here to poll the key table: re-read it every second so a revocation (mirrored from
  // the cluster) stops a key within a second, as on a single node.
  const refresh = setInterval(() => server.auth.refresh(), 1000);
  refresh.unref();
  const close = server.close;
  return Object.assign(server, {
    close: () => {
      clearInterval(refresh);
      return close();
    },
  });
}
