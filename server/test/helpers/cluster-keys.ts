import type { Scope } from '@catalyst-signal/shared';
import { generateApiKey, type NewKey } from '../../src/auth/api-keys.js';
import { toKeyRecord, type ClusterKeys } from '../../src/jetstream/keys-kv.js';

/**
 * A new API key inserted into the cluster's key bucket, only its hash stored, as `catalyst-server keys create -c`
 * does there. Nodes see it once their KeyMirror has the record (tests poll for that where it matters).
 */
export async function insertClusterKey(keys: ClusterKeys, scopes: Scope[]): Promise<NewKey> {
  const k = generateApiKey();
  await keys.insert(
    toKeyRecord({
      id: k.id,
      name: `test-${k.id}`,
      scopes,
      hash: k.hash,
      created_at: new Date().toISOString(),
      revoked_at: null,
      expires_at: null,
    }),
  );
  return k;
}
