import { expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import {
  CLUSTER_NAMES,
  clusterSigningJwk,
  ensureClusterLog,
  ensureSigningKey,
  subjectFor,
} from '../../src/jetstream/cluster-log.js';
import { createSigner } from '../../src/signing.js';
import { redactUrl } from '../../src/jetstream/connection.js';
import { ClusterKeys, KeyMirror, toKeyRecord } from '../../src/jetstream/keys-kv.js';
import { generateApiKey, parseApiKey } from '../../src/auth/api-keys.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { useCluster } from './cluster-fixture.js';

describeWithNats('cluster log setup on a real 3-node JetStream cluster', () => {
  const cluster = useCluster({ timeoutMs: 2000 });

  it('one subject per source_id: 32 hex chars of sha256, any source_id a single token', () => {
    expect(subjectFor('abc')).toBe('catalyst.signals.ba7816bf8f01cfea414140de5dae2223');
    expect(subjectFor('a.b.*>')).toMatch(/^catalyst\.signals\.[0-9a-f]{32}$/);
    expect(subjectFor('x')).not.toBe(subjectFor('y'));
  });

  it('three nodes starting at once agree on one stream and one epoch', async () => {
    const hs = await Promise.all([cluster.open('a'), cluster.open('b'), cluster.open('c')]);
    const logs = await Promise.all(
      hs.map((h) => ensureClusterLog(h, { replicas: 3, duplicateWindowMs: 1000 })),
    );
    const epochs = new Set(logs.map((l) => l.epoch));
    expect(epochs.size).toBe(1);
    expect([...epochs][0]).toMatch(/^[0-9a-f]{16}$/);
    const info = await hs[0]!.jsm.streams.info(CLUSTER_NAMES.stream);
    expect(info.config.num_replicas).toBe(3);
    expect(info.config.allow_direct).toBe(true);
    expect(info.config.deny_delete).toBe(true);
    expect(info.config.duplicate_window).toBe(1000 * 1e6);
    // A later start with another window updates it in place and keeps the epoch.
    const again = await ensureClusterLog(hs[1]!, { replicas: 3, duplicateWindowMs: 2000 });
    expect(again.epoch).toBe(logs[0]!.epoch);
    expect(again.info.config.duplicate_window).toBe(2000 * 1e6);
    // Deleting a message (which would break stream seq = signal seq) is refused by the stream.
    await hs[0]!.js.publish(subjectFor('del-me'), '{}');
    await expect(hs[0]!.jsm.streams.deleteMessage(CLUSTER_NAMES.stream, 1)).rejects.toThrow();
  });

  it('every ingest node must sign with the cluster key: a different one is refused with the fix', async () => {
    const h = await cluster.open('signing');
    const log = await ensureClusterLog(h, { replicas: 3, duplicateWindowMs: 2000 });
    const a = await createSigner(generateKeyPairSync('ed25519').privateKey);
    const b = await createSigner(generateKeyPairSync('ed25519').privateKey);
    await ensureSigningKey(log.meta, a.publicJwk as Record<string, unknown>);
    await ensureSigningKey(log.meta, a.publicJwk as Record<string, unknown>);
    await expect(ensureSigningKey(log.meta, b.publicJwk as Record<string, unknown>)).rejects.toThrow(
      /copy the cluster's signing-key.pem/,
    );
    expect((await clusterSigningJwk(log.meta))?.['kid']).toBe(a.fingerprint);
  });

  it('keys: only hashes stored; insert, revoke, expire and a watching mirror see every change', async () => {
    const h = await cluster.open('keys');
    const keys = await ClusterKeys.open(h, 3);
    const mirror = new KeyMirror();
    let ready = false;
    const w = await keys.watch(
      (c) => mirror.apply(c),
      () => (ready = true),
    );
    await pollUntil('initial key state', async () => ready || undefined, 5000);
    const k = generateApiKey();
    const record = toKeyRecord({
      id: k.id,
      name: 'bot',
      scopes: ['publish'],
      hash: k.hash,
      created_at: new Date().toISOString(),
      revoked_at: null,
      expires_at: null,
    });
    await keys.insert(record);
    const raw = (await keys.kv.get(k.id))!.string();
    expect(raw).not.toContain(parseApiKey(k.key)!.secret);
    expect(raw).toContain(k.hash.toString('hex'));
    await pollUntil('mirror sees the key', async () => mirror.get(k.id), 5000);
    expect(mirror.get(k.id)!.hash.equals(k.hash)).toBe(true);
    expect(await keys.revoke(k.id)).toBe(true);
    expect(await keys.revoke(k.id)).toBe(false);
    await pollUntil('mirror sees the revoke', async () => mirror.get(k.id)?.revoked_at ?? undefined, 5000);
    expect((await keys.list()).map((r) => r.id)).toContain(k.id);
    w.stop();
  });

  it('never shows a password from a URL', () => {
    expect(redactUrl('nats://user:secret@10.0.0.1:4222')).toBe('nats://[redacted]@10.0.0.1:4222');
    expect(redactUrl('nats://10.0.0.1:4222')).toBe('nats://10.0.0.1:4222');
  });

  it('knows the stream leader and can kill and restart it', async () => {
    const leader = await cluster.nats.waitStreamLeader(CLUSTER_NAMES.stream);
    await leader.kill();
    expect(leader.running).toBe(false);
    const next = await cluster.nats.waitStreamLeader(CLUSTER_NAMES.stream);
    expect(next.name).not.toBe(leader.name);
    await leader.restart();
    expect(leader.running).toBe(true);
  });
});
