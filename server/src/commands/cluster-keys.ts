import { loadConfig, type ClusterConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { connectNats } from '../jetstream/connection.js';
import { ClusterKeys, newKeyRecord, type KeyRecord } from '../jetstream/keys-kv.js';
import { LAST_ADMIN_MESSAGE, wouldRevokeLastAdmin } from '../auth/last-admin.js';
import { formatKeyTable, parseDuration, parseScopes } from './keys.js';

/**
 * `catalyst-server keys … -c FILE` when FILE has a cluster block: the same commands, against the cluster's
 * keys bucket (every node mirrors it). Only hashes are stored; a new key is printed once, here.
 */

/** The cluster block of a config file, or undefined (then the data directory's key table is used). */
export function clusterOf(configFile: string | undefined): ClusterConfig | undefined {
  return configFile ? loadConfig({ file: configFile, env: process.env }).cluster : undefined;
}

async function withClusterKeys<T>(c: ClusterConfig, fn: (keys: ClusterKeys) => Promise<T>): Promise<T> {
  const h = await connectNats({
    urls: c.nats_urls,
    name: 'catalyst-server-keys',
    timeoutMs: c.request_timeout_ms,
    ...(c.tls ? { tls: c.tls } : {}),
    ...(c.credentials_file ? { credentials_file: c.credentials_file } : {}),
  });
  try {
    return await fn(await ClusterKeys.open(h, c.replicas));
  } finally {
    await h.close();
  }
}

/** `ID|NAME` to exactly one record (by id, else the one active key with that name), or a reason. */
async function resolve(keys: ClusterKeys, idOrName: string): Promise<KeyRecord> {
  if (/^[0-9a-f]{12}$/.test(idOrName)) {
    const r = await keys.get(idOrName);
    if (r) return r;
  }
  const byName = (await keys.list()).filter((r) => r.name === idOrName && !r.revoked_at);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1)
    throw new UsageError(`${byName.length} active keys are named ${idOrName}; give the id`);
  throw new UsageError(`no key with id or name ${idOrName}`);
}

export function clusterKeysCreate(
  c: ClusterConfig,
  o: { name: string; scope: string[]; json?: boolean },
): Promise<string> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.name)) throw new UsageError('--name: 1-64 letters, digits, . _ -');
  const scopes = parseScopes(o.scope);
  return withClusterKeys(c, async (keys) => {
    const { record, key } = newKeyRecord(o.name, scopes);
    await keys.insert(record);
    const out = { id: record.id, name: o.name, scopes, key };
    return o.json
      ? JSON.stringify(out)
      : `Created key ${record.id} (${o.name}, ${scopes.join(',')}) in the cluster. Shown once:\n${key}`;
  });
}

export function clusterKeysList(c: ClusterConfig, o: { json?: boolean }): Promise<string> {
  return withClusterKeys(c, async (keys) => {
    const rows = (await keys.list()).map(({ hash: _h, ...r }) => r);
    if (o.json) return JSON.stringify(rows, null, 2);
    if (!rows.length) return 'no keys';
    // The cluster's key bucket records no use (each node would have to write it): no LAST USED column.
    return formatKeyTable(rows, { lastUsed: false });
  });
}

export function clusterKeysRevoke(c: ClusterConfig, o: { key: string }): Promise<string> {
  return withClusterKeys(c, async (keys) => {
    const r = await resolve(keys, o.key);
    if (r.revoked_at) return `key ${r.id} (${r.name}) was already revoked at ${r.revoked_at}`;
    if (wouldRevokeLastAdmin(await keys.list(), r.id)) throw new UsageError(LAST_ADMIN_MESSAGE(r.id, r.name));
    await keys.revoke(r.id);
    return `revoked key ${r.id} (${r.name}) cluster-wide; every node drops it when its mirror sees the change`;
  });
}

export function clusterKeysRotate(
  c: ClusterConfig,
  o: { key: string; grace: string; json?: boolean },
): Promise<string> {
  const graceMs = parseDuration(o.grace);
  return withClusterKeys(c, async (keys) => {
    const r = await resolve(keys, o.key);
    if (r.revoked_at) throw new UsageError(`key ${r.id} is revoked; create a new one instead`);
    const { record, key } = newKeyRecord(r.name, r.scopes);
    await keys.insert(record);
    const until = new Date(Date.now() + graceMs);
    await keys.expireAt(r.id, until);
    const out = {
      id: record.id,
      name: r.name,
      scopes: r.scopes,
      key,
      old_id: r.id,
      old_valid_until: until.toISOString(),
    };
    return o.json
      ? JSON.stringify(out)
      : `New key ${record.id} (${r.name}, ${r.scopes.join(',')}). Shown once:\n${key}\nOld key ${r.id} keeps working until ${out.old_valid_until}.`;
  });
}
