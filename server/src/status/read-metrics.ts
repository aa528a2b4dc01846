import type { Histogram } from 'prom-client';
import type { Metrics } from '../metrics.js';
import type { Buckets } from './quantile.js';
import type { Sample } from './window.js';

async function bucketsOf(h: Histogram): Promise<Buckets> {
  const { values } = await h.get();
  const rows = values
    .filter((v) => v.metricName?.endsWith('_bucket'))
    .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value }))
    .sort((a, b) => a.le - b.le);
  return { le: rows.map((r) => r.le), counts: rows.map((r) => r.count) };
}

/**
 * One reading of the counters the status page shows, from the server's own Prometheus metrics (the same
 * numbers /metrics exposes, so the page and a Grafana board never disagree).
 */
export async function readSample(m: Metrics, t: number): Promise<Sample> {
  const [ingested, published, duplicates, closes, limited, commit, fanout] = await Promise.all([
    m.signalsIngested.get(),
    m.signalsPublished.get(),
    m.duplicates.get(),
    m.wsCloses.get(),
    m.rateLimited.get(),
    bucketsOf(m.commitSeconds),
    bucketsOf(m.fanoutSeconds),
  ]);
  const rateLimited: Record<string, number> = {};
  for (const v of limited.values) {
    const kind = String(v.labels.kind ?? 'other');
    rateLimited[kind] = (rateLimited[kind] ?? 0) + v.value;
  }
  return {
    t,
    ingested: ingested.values[0]?.value ?? 0,
    published: published.values[0]?.value ?? 0,
    duplicates: duplicates.values[0]?.value ?? 0,
    slowConsumerCloses: closes.values
      .filter((v) => v.labels.reason === 'slow_consumer')
      .reduce((n, v) => n + v.value, 0),
    rateLimited,
    commit,
    fanout,
  };
}

/** The database size as the catalyst_db_size_bytes gauge reports it; undefined where the log has no file. */
export async function readDbSize(m: Metrics): Promise<number | undefined> {
  const g = m.registry.getSingleMetric('catalyst_db_size_bytes');
  if (!g) return undefined;
  const v = (await g.get()).values[0]?.value;
  return v === undefined || !Number.isFinite(v) ? undefined : v;
}
