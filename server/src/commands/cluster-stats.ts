import type { ClusterConfig } from '../config.js';
import { CLUSTER_NAMES, streamInfoOrNull } from '../jetstream/cluster-log.js';
import { connectNats } from '../jetstream/connection.js';
import { ClusterKeys } from '../jetstream/keys-kv.js';

/** `catalyst-server stats -c FILE` with a cluster block: the cluster log's state instead of a data directory's. */
export async function clusterStats(c: ClusterConfig, o: { json?: boolean }): Promise<string> {
  const h = await connectNats({
    urls: c.nats_urls,
    name: 'catalyst-server-stats',
    timeoutMs: c.request_timeout_ms,
    ...(c.tls ? { tls: c.tls } : {}),
    ...(c.credentials_file ? { credentials_file: c.credentials_file } : {}),
  });
  try {
    const stream = c.stream ?? CLUSTER_NAMES.stream;
    const info = await streamInfoOrNull(h, stream);
    if (!info) return `no stream ${stream} yet: start an ingest node first`;
    const meta = await h.kvm.open(CLUSTER_NAMES.metaBucket);
    const epoch = (await meta.get(CLUSTER_NAMES.epochKey))?.string();
    const keys = await (await ClusterKeys.open(h, c.replicas)).list();
    const peers = info.cluster?.replicas ?? [];
    const s = {
      stream,
      epoch,
      head_seq: info.state.last_seq,
      first_seq: info.state.first_seq,
      retained: info.state.messages,
      bytes: info.state.bytes,
      replicas: info.config.num_replicas,
      leader: info.cluster?.leader ?? '(none)',
      followers:
        peers
          .map((p) => `${p.name}:${p.offline ? 'offline' : p.current ? 'current' : `lag ${p.lag ?? '?'}`}`)
          .join(' ') || '-',
      keys_active: keys.filter((k) => !k.revoked_at).length,
      keys_revoked: keys.filter((k) => k.revoked_at).length,
    };
    return o.json
      ? JSON.stringify(s, null, 2)
      : Object.entries(s)
          .map(([k, v]) => `${k.padEnd(14)} ${v}`)
          .join('\n');
  } finally {
    await h.close();
  }
}
