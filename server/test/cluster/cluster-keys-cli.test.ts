import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { hashSecret, parseApiKey } from '../../src/auth/api-keys.js';
import { ensureClusterLog, subjectFor } from '../../src/jetstream/cluster-log.js';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { runCli } from '../helpers/cli.js';
import { describeWithNats } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/server.js';
import { useCluster } from './cluster-fixture.js';

describeWithNats('catalyst-server keys -c <config with a cluster block>: keys live in the cluster', () => {
  const cluster = useCluster({ size: 1, connect: 'keys-cli-test' });

  it('create prints the key once and stores only its hash; list, rotate and revoke act on the bucket', async () => {
    const conf = path.join(tempDir(), 'cluster.json');
    writeFileSync(conf, JSON.stringify({ cluster: { nats_urls: cluster.urls, replicas: 1 } }));
    const created = await runCli([
      'keys',
      'create',
      '-c',
      conf,
      '--name',
      'bot',
      '--scope',
      'publish',
      '--json',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const out = JSON.parse(created.stdout) as { id: string; key: string };
    const parsed = parseApiKey(out.key)!;
    const stored = await (await ClusterKeys.open(cluster.h, 1)).get(out.id);
    expect(stored?.hash).toBe(hashSecret(parsed.secret).toString('hex'));
    expect(JSON.stringify(stored)).not.toContain(parsed.secret);

    const list = await runCli(['keys', 'list', '-c', conf]);
    expect(list.stdout).toMatch(new RegExp(`${out.id}\\s+bot\\s+publish\\s+active`));
    const rotated = JSON.parse(
      (await runCli(['keys', 'rotate', 'bot', '-c', conf, '--grace', '1h', '--json'])).stdout,
    ) as { id: string; old_id: string };
    expect(rotated.old_id).toBe(out.id);
    const revoke = await runCli(['keys', 'revoke', rotated.id, '-c', conf]);
    expect(revoke.code).toBe(0);
    const rows = JSON.parse((await runCli(['keys', 'list', '-c', conf, '--json'])).stdout) as {
      id: string;
      revoked_at: string | null;
      expires_at: string | null;
      hash?: string;
    }[];
    expect(rows.find((r) => r.id === rotated.id)?.revoked_at).not.toBeNull();
    expect(rows.find((r) => r.id === out.id)?.expires_at).not.toBeNull();
    expect(rows.every((r) => r.hash === undefined)).toBe(true);
  });

  it('stats -c shows the cluster log: head, epoch, replicas, leader, keys', async () => {
    const conf = path.join(tempDir(), 'cluster.json');
    writeFileSync(conf, JSON.stringify({ cluster: { nats_urls: cluster.urls, replicas: 1 } }));
    const before = await runCli(['stats', '-c', conf]);
    expect(before.stdout).toMatch(/no stream CATALYST_SIGNALS yet/);
    const log = await ensureClusterLog(cluster.h, { replicas: 1 });
    await cluster.h.js.publish(subjectFor('x'), '{}');
    const s = JSON.parse((await runCli(['stats', '-c', conf, '--json'])).stdout) as Record<string, unknown>;
    expect(s).toMatchObject({ stream: 'CATALYST_SIGNALS', epoch: log.epoch, head_seq: 1, replicas: 1 });
    expect(s['keys_active']).toBeGreaterThanOrEqual(1);
  });

  it("revoke refuses the cluster's last admin key in one line (exit 2); with a second one it revokes", async () => {
    const conf = path.join(tempDir(), 'cluster.json');
    writeFileSync(conf, JSON.stringify({ cluster: { nats_urls: cluster.urls, replicas: 1 } }));
    const admin = async (name: string) =>
      JSON.parse(
        (await runCli(['keys', 'create', '-c', conf, '--name', name, '--scope', 'admin', '--json'])).stdout,
      ) as {
        id: string;
      };
    const keys = await ClusterKeys.open(cluster.h, 1);
    // Whatever admin keys earlier tests left: this one is made the last.
    for (const k of await keys.list())
      if (k.scopes.includes('admin') && !k.revoked_at) await keys.revoke(k.id);
    const ops = await admin('ops');
    const refused = await runCli(['keys', 'revoke', ops.id, '-c', conf]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^catalyst-server: key \w+ \(ops\) is the last admin key: create another admin key first/,
    );
    expect((await keys.get(ops.id))?.revoked_at).toBeNull();
    await admin('ops-2');
    expect((await runCli(['keys', 'revoke', ops.id, '-c', conf])).code).toBe(0);
  });
});
