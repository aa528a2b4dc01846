import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SIGNING_KEY_FILE } from '../../src/signing.js';
import { runCli, spawnServer } from '../helpers/cli.js';
import { describeWithNats, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { classification, tempDir } from '../helpers/server.js';

// docs/operations.md "Try it on one machine", R1: one JetStream node, one ingest, one gateway, each its own
// process. What an operator meets there: an ingest node's first start creates the signing key and no API keys
// (the first come from `keys create -c`), `keys signing` on the gateway's data directory says where the key is
// instead of "created on first start", and /healthz carries the fields docs/protocol.md describes. Then, as the
// doc goes on, a `both` node with a copy of the signing key signs checkpoints, and the gateway serves them.

describeWithNats(
  'one-machine cluster (R1): ingest + gateway as documented, then a both node that signs checkpoints',
  { timeout: 60_000 },
  () => {
    let nats: NatsCluster;
    beforeAll(async () => {
      nats = await startNatsCluster({ size: 1 });
    });
    afterAll(async () => {
      await nats?.stop();
    });

    it('first start makes no keys; keys signing on a gateway points to the ingest and GET /v1/keys/signing', async () => {
      const dir = tempDir('catalyst-one-machine-');
      const conf = path.join(dir, 'cluster.json');
      writeFileSync(conf, JSON.stringify({ cluster: { nats_urls: nats.urls, replicas: 1 } }));
      const ingestDir = path.join(dir, 'ingest');
      const gatewayDir = path.join(dir, 'gateway');
      const ingest = await spawnServer(ingestDir, ['-c', conf, '--role', 'ingest']);
      const gateway = await spawnServer(gatewayDir, ['-c', conf, '--role', 'gateway']);

      // Each start names its role, and the ingest says where the first keys come from (a single node prints them).
      await expect
        .poll(() => ingest.stderr(), { timeout: 10_000 })
        .toMatch(/^catalyst-server \(ingest\) listening on http:\/\/127\.0\.0\.1:\d+$/m);
      expect(ingest.stderr()).toContain(
        `the cluster has no API keys yet: create them with \`npx --no -- catalyst-server keys create -c ${conf} --name ops --scope admin\``,
      );
      await expect
        .poll(() => gateway.stderr(), { timeout: 10_000 })
        .toMatch(/^catalyst-server \(gateway\) listening on http:\/\/127\.0\.0\.1:\d+ \(WebSocket ws:/m);
      expect(gateway.stderr()).not.toMatch(/no API keys/);

      const none = await runCli(['keys', 'list', '-c', conf]);
      expect(none.code, none.stderr).toBe(0);
      expect(none.stdout.trim()).toBe('no keys');
      const created = await runCli(['keys', 'create', '-c', conf, '--name', 'friend', '--scope', 'read']);
      expect(created.code, created.stderr).toBe(0);

      expect(existsSync(path.join(ingestDir, SIGNING_KEY_FILE))).toBe(true);
      expect(existsSync(path.join(gatewayDir, SIGNING_KEY_FILE))).toBe(false);
      const onIngest = await runCli(['keys', 'signing', '--data-dir', ingestDir, '--json']);
      expect(onIngest.code, onIngest.stderr).toBe(0);
      const fp = (JSON.parse(onIngest.stdout) as { fingerprint: string }).fingerprint;
      const jwks = (await (await fetch(`${gateway.url}/v1/keys/signing`)).json()) as {
        keys: { kid: string }[];
      };
      expect(fp).toBe(`SHA256:${jwks.keys[0]!.kid}`);

      const onGateway = await runCli(['keys', 'signing', '--data-dir', gatewayDir]);
      expect(onGateway.code).toBe(2);
      expect(onGateway.stderr).toMatch(/is a cluster gateway's replica: gateways hold no signing-key\.pem/);
      expect(onGateway.stderr).toMatch(/ingest node's data directory.*GET \/v1\/keys\/signing/);
      expect(onGateway.stderr).not.toMatch(/creates it on its first start/);

      const ih = (await (await fetch(`${ingest.url}/healthz`)).json()) as Record<string, unknown>;
      expect(ih['cluster']).toMatchObject({
        reachable: true,
        stream: 'CATALYST_SIGNALS',
        leader: null,
        replicas: { current: 0, lagging: 0, offline: 0 },
      });
      const gh = (await (await fetch(`${gateway.url}/healthz`)).json()) as Record<string, unknown>;
      expect(gh['replica']).toMatchObject({ role: 'gateway', replica_lag: 0 });

      // No both node: nothing signs checkpoints.
      const friend = (
        JSON.parse(
          (await runCli(['keys', 'create', '-c', conf, '--name', 'f2', '--scope', 'read', '--json'])).stdout,
        ) as { key: string }
      ).key;
      const publish = (
        JSON.parse(
          (await runCli(['keys', 'create', '-c', conf, '--name', 'bot', '--scope', 'publish', '--json']))
            .stdout,
        ) as { key: string }
      ).key;
      const checkpoint = () =>
        fetch(`${gateway.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${friend}` } });
      expect((await checkpoint()).status).toBe(404);
      const bothDir = path.join(dir, 'both');
      mkdirSync(bothDir);
      copyFileSync(path.join(ingestDir, SIGNING_KEY_FILE), path.join(bothDir, SIGNING_KEY_FILE));
      const both = await spawnServer(bothDir, ['-c', conf, '--role', 'both']);
      await expect
        .poll(
          async () =>
            ((await (await fetch(`${both.url}/healthz`)).json()) as Record<string, unknown>)[
              'checkpoint_signer'
            ],
          { timeout: 15_000 },
        )
        .toBe(true);
      const posted = await fetch(`${ingest.url}/v1/signals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${publish}`, 'content-type': 'application/json' },
        body: JSON.stringify(classification()),
      });
      expect(posted.status).toBe(201);
      // The gateway serves the checkpoint the both node signed over that signal (a tree of size 1).
      const size = async () => {
        const r = await checkpoint();
        return r.status === 200 ? (await r.text()).split('\n')[1] : `HTTP ${r.status}`;
      };
      await expect.poll(size, { timeout: 15_000 }).toBe('1');
    });
  },
);
