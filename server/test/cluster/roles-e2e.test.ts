import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createPublicKey, verify } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { canonicalJson, signedPart, type Signal } from '@catalyst-signal/shared';
import { Journal } from '../../../client/src/journal/index.js';
import { startClient, writeConfig, type ClientProc } from '../../../client/test/helpers/client-process.js';
import { SIGNING_KEY_FILE } from '../../src/signing.js';
import { runCli, spawnServer, type ServerProcess } from '../helpers/cli.js';
import { describeWithNats, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/server.js';
import { connect } from '../helpers/ws-client.js';

// Issue 13 end to end, every part its own process as deployed: a 3-node nats-server cluster, `serve --role
// ingest`, two `serve --role gateway`, a real `catalyst-client run` (paper) with both gateways in server.urls.
// The gateway it is on is killed with SIGKILL; it must resume on the other and apply every seq exactly once,
// in order (its journal's UNIQUE (epoch, seq) turns a second apply into a fatal error).

const HEARTBEAT_MS = 500;
/** Processes start slowly on a loaded 2-core machine. */
const WAIT_MS = 30_000;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const streamOf = (url: string) => `ws://${new URL(url).host}/v1/stream`;

let n = 0;
const classification = () => ({
  source_id: `roles-e2e-${process.pid}-${n++}`,
  symbol: 'BTC',
  catalyst: 'earnings',
  direction: 'long',
  confidence: 0.9,
  price: 60000,
  headline: 'headline',
  classified_at: new Date().toISOString(),
});

describeWithNats(
  'serve --role ingest|gateway|both as child processes on a real 3-node cluster',
  { timeout: 90_000 },
  () => {
    let cluster: NatsCluster;
    let conf: string;
    let ingest: ServerProcess;
    /** Outlives the first test: the both-role node of the second signs with this ingest node's key. */
    let ingestDir = '';
    const keys = { publish: '', read: '', admin: '' };

    const serve = (role: string, dir: string) =>
      spawnServer(dir, ['-c', conf, '--role', role, '--heartbeat-ms', String(HEARTBEAT_MS)], {
        CATALYST_LOG_LEVEL: 'info',
      });
    /** Poll /readyz (a child process's state: there is no event to wait on) until 200, within timeoutMs. */
    const untilReady = async (url: string, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        const r = await fetch(`${url}/readyz`);
        if (r.status === 200) return;
        last = `${r.status} ${await r.text()}`;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
    };
    const post = async (url: string, body: unknown, key = keys.publish) => {
      const r = await fetch(`${url}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as { seq: number; epoch: string } };
    };

    beforeAll(async () => {
      cluster = await startNatsCluster({ size: 3 });
      ingestDir = mkdtempSync(path.join(os.tmpdir(), 'catalyst-roles-ingest-'));
      conf = path.join(ingestDir, 'cluster.json');
      writeFileSync(
        conf,
        JSON.stringify({ cluster: { nats_urls: cluster.urls, replicas: 3, request_timeout_ms: 2000 } }),
      );
      for (const scope of ['publish', 'read', 'admin'] as const) {
        const r = await runCli(['keys', 'create', '-c', conf, '--name', scope, '--scope', scope, '--json']);
        expect(r.stderr).toBe('');
        keys[scope] = (JSON.parse(r.stdout) as { key: string }).key;
      }
    });
    afterAll(async () => {
      await cluster?.stop();
      if (ingestDir) rmSync(ingestDir, { recursive: true, force: true });
    });

    it('ingest + 2 gateways: a client on gateway 1 killed -9 resumes on gateway 2, every seq once, in order', async () => {
      // Gateways started first wait (read-only) until the ingest node has created the cluster log.
      const gwDirs = [tempDir(), tempDir()];
      const gateways = gwDirs.map((d) => serve('gateway', d));
      ingest = await serve('ingest', path.join(ingestDir, 'data'));
      const [gw1, gw2] = await Promise.all(gateways);

      // A gateway never signs: no key file in its data directory; it serves the cluster's public key.
      for (const d of gwDirs) expect(existsSync(path.join(d, SIGNING_KEY_FILE))).toBe(false);
      const jwks = async (url: string) => (await fetch(`${url}/v1/keys/signing`)).json();
      expect(await jwks(gw1!.url)).toEqual(await jwks(ingest.url));
      // Key admin on a gateway is refused and says where to go, rather than changing only its mirror.
      const admin = await fetch(`${gw2!.url}/v1/admin/keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.admin}` },
        body: JSON.stringify({ name: 'x', scopes: ['read'] }),
      });
      expect(admin.status).toBe(403);
      expect(((await admin.json()) as { detail: string }).detail).toMatch(/ingest node/);

      for (let i = 1; i <= 3; i++)
        expect(await post(ingest.url, classification())).toMatchObject({ status: 201, body: { seq: i } });

      const dir = tempDir();
      const clientConf = writeConfig(dir, {
        server: {
          urls: [gw1!.url, gw2!.url],
          start_from: 'all',
          reconnect: { initial_delay_ms: 100, max_delay_ms: 300 },
        },
      });
      const client: ClientProc = startClient(
        ['-c', clientConf, 'run'],
        { CATALYST_SERVER_KEY: keys.read },
        dir,
      );
      try {
        await client.waitStdout(/^#3 /m, WAIT_MS);
        // Printed once caught up (after the signals' lines): wait for it rather than expect it already.
        await client.waitStdout(new RegExp(`connected to ${esc(streamOf(gw1!.url))}`), WAIT_MS);

        gw1!.child.kill('SIGKILL');
        await client.waitStdout(
          new RegExp(`connection lost to ${esc(streamOf(gw1!.url))} .*; trying ${esc(streamOf(gw2!.url))}`),
          WAIT_MS,
        );
        for (let i = 4; i <= 6; i++)
          expect(await post(ingest.url, classification())).toMatchObject({ status: 201, body: { seq: i } });
        await client.waitStdout(/^#6 /m, WAIT_MS);
        expect(client.stdout).toMatch(new RegExp(`reconnected to ${esc(streamOf(gw2!.url))}`));
        client.child.kill('SIGINT');
        expect((await client.exited).code).toBe(0);
      } finally {
        client.child.kill('SIGKILL');
      }
      const printed = [...client.stdout.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]));
      expect(printed).toEqual([1, 2, 3, 4, 5, 6]);
      const j = Journal.open(path.join(dir, 'catalyst-client-data', 'journal.sqlite'));
      try {
        expect(
          j
            .decisions({ limit: 100 })
            .map((d) => d.seq)
            .sort((a, b) => a - b),
        ).toEqual([1, 2, 3, 4, 5, 6]);
      } finally {
        j.close();
      }
    });

    it('--role both: POST and WebSocket on one port; the signal comes back signed with /v1/keys/signing', async () => {
      // Every ingest node signs with the cluster's key: a new one gets the first ingest node's key file.
      const dir = tempDir();
      copyFileSync(path.join(ingestDir, 'data', SIGNING_KEY_FILE), path.join(dir, SIGNING_KEY_FILE));
      const both = await serve('both', dir);
      // Listening comes before the replica has caught up and the keys are mirrored; until then readyz and the
      // WebSocket upgrade answer 503 (a real client retries; this smoke test waits for readyz instead).
      await untilReady(both.url, WAIT_MS);
      const ws = connect(both.url.replace('http', 'ws'), keys.read);
      await ws.opened;
      await ws.frame('hello', WAIT_MS);
      ws.send({ type: 'subscribe' });
      const r = await post(both.url, classification());
      expect(r.status).toBe(201);
      const got = await ws.until(
        () => ws.signals().find((s) => s.seq === r.body.seq) as Signal | undefined,
        WAIT_MS,
        `seq ${r.body.seq} over the WebSocket`,
      );
      const { keys: jwks } = (await (await fetch(`${both.url}/v1/keys/signing`)).json()) as {
        keys: object[];
      };
      const publicKey = createPublicKey({ key: jwks[0] as never, format: 'jwk' });
      const [header, , sig] = (got.sig ?? '').split('.');
      const input = Buffer.from(
        `${header}.${Buffer.from(canonicalJson(signedPart(got))).toString('base64url')}`,
      );
      expect(verify(null, input, publicKey, Buffer.from(sig ?? '', 'base64url'))).toBe(true);
      expect(got.epoch).toBe(r.body.epoch);
    });
  },
);
