import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import {
  ed25519Verifier,
  fromBase64,
  openCheckpoint,
  verifyConsistency,
  type Checkpoint,
} from '@catalyst-signal/shared';
import { type Server } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { sha256 } from '../../src/log/tlog-crypto.js';
import { createLogger } from '../../src/logger.js';
import { startBoth, type BothLog } from '../../src/roles/both.js';
import { startGatewayNode } from '../../src/roles/gateway.js';
import { startIngest } from '../../src/roles/ingest.js';
import { SIGNING_KEY_FILE } from '../../src/signing.js';
import { insertClusterKey } from '../helpers/cluster-keys.js';
import { ed25519Verify } from '../helpers/ed25519.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { classification, tempDir } from '../helpers/server.js';
import { connect } from '../helpers/ws-client.js';
import { useCluster } from './cluster-fixture.js';

const TERM = { lease_term_ms: 1500, lease_skew_ms: 200 };

describeWithNats(
  'cluster checkpoints: one lease holder signs, every node serves',
  { timeout: 60_000 },
  () => {
    const c = useCluster({ size: 1, connect: 'cluster-checkpoints-test' });

    it('two both nodes and a gateway: one signs, all serve the same checkpoint, frames too; handover stays consistent', async () => {
      const keys = await ClusterKeys.open(c.h, 1);
      const [pub, read] = await Promise.all([
        insertClusterKey(keys, ['publish']),
        insertClusterKey(keys, ['read']),
      ]);
      const config = (dir: string) =>
        loadConfig({
          flags: {
            data_dir: dir,
            port: 0,
            host: '127.0.0.1',
            log_level: 'silent',
            cluster: { nats_urls: c.urls, replicas: 1, request_timeout_ms: 2000, ...TERM },
            log: { checkpoint_interval_ms: 100 },
          },
        });
      const log = createLogger('silent');
      const [dirA, dirB, dirG] = [tempDir('cp-a-'), tempDir('cp-b-'), tempDir('cp-g-')];
      const servers: Server[] = [];
      try {
        const a = await startBoth(config(dirA), log);
        servers.push(a);
        // Every ingest node signs with the cluster's one key.
        copyFileSync(path.join(dirA, SIGNING_KEY_FILE), path.join(dirB, SIGNING_KEY_FILE));
        const b = await startBoth(config(dirB), log);
        servers.push(b);
        const g = await startGatewayNode(config(dirG), log);
        servers.push(g);
        for (const s of servers)
          await pollUntil('keys mirrored', async () => (s.keys.get(read.id) ? true : undefined), 10_000);

        const post = async (to: Server, n: number) => {
          for (let i = 0; i < n; i++) {
            const r = await fetch(`${to.url}/v1/signals`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${pub.key}` },
              body: JSON.stringify(classification()),
            });
            expect(r.status).toBe(201);
          }
        };
        const served = async (s: Server) => {
          const r = await fetch(`${s.url}/v1/log/checkpoint`, {
            headers: { authorization: `Bearer ${read.key}` },
          });
          return r.status === 200 ? await r.text() : undefined;
        };
        const vkey = a.driver.transparency.vkey;
        const origin = a.driver.transparency.origin;
        expect(origin).toBe(`catalyst-signals/${a.epoch}`);
        const open = (note: string): Checkpoint =>
          openCheckpoint(note, origin, [ed25519Verifier(sha256, vkey, ed25519Verify)]).checkpoint;
        /** Every live node serves the same note, of `size`. */
        const allServe = (nodes: Server[], size: number) =>
          pollUntil(
            `every node to serve a checkpoint of size ${size}`,
            async () => {
              const notes = await Promise.all(nodes.map(served));
              if (notes.some((n) => n === undefined || open(n).size !== size)) return undefined;
              return new Set(notes).size === 1 ? notes[0]! : undefined;
            },
            20_000,
          );

        await post(a, 20);
        const first = await allServe([a, b, g], 20);
        const holders = () =>
          [a, b].filter((s) => (s.driver as unknown as BothLog).checkpoints?.signing).length;
        expect(holders()).toBe(1);
        // The gateway's hello announces the log with the cluster's key; its checkpoint frame proves the replay.
        const ws = connect(g.wsUrl, read.key);
        const hello = await ws.frame('hello');
        expect(hello['log']).toMatchObject({ origin, vkey });
        ws.send({ type: 'subscribe', from_seq: 0, checkpoints: {} });
        const frame = await ws.frame('checkpoint');
        expect(frame['checkpoint']).toBe(first);
        expect((frame['proofs'] as unknown[]).length).toBe(20);

        // The holder stops (its lease ends in KV): the other takes over, seeded from the published checkpoint.
        const holder = (a.driver as unknown as BothLog).checkpoints!.signing ? a : b;
        const other = holder === a ? b : a;
        await holder.close();
        await pollUntil(
          'the other node to sign',
          async () => ((other.driver as unknown as BothLog).checkpoints!.signing ? true : undefined),
          TERM.lease_term_ms * 3,
        );
        await post(other, 10);
        const next = await allServe([other, g], 30);
        const r = await fetch(`${g.url}/v1/log/consistency?from=20&to=30`, {
          headers: { authorization: `Bearer ${read.key}` },
        });
        const proof = (await r.text())
          .split('\n')
          .filter(Boolean)
          .map((l) => fromBase64(l));
        expect(verifyConsistency(sha256, 20, 30, open(first).rootHash, open(next).rootHash, proof)).toBe(
          true,
        );
        // The open socket got every checkpoint across the handover, each proven consistent with the one before.
        await ws.until(
          () => ws.frames.find((f) => f.type === 'checkpoint' && f['checkpoint'] === next),
          10_000,
          'the size-30 frame',
        );
        const frames = ws.frames.filter((f) => f.type === 'checkpoint');
        for (let i = 1; i < frames.length; i++) {
          const [before, now] = [
            open(frames[i - 1]!['checkpoint'] as string),
            open(frames[i]!['checkpoint'] as string),
          ];
          const cons = frames[i]!['consistency'] as { from_size: number; hashes: string[] };
          expect(cons.from_size).toBe(before.size);
          const hashes = cons.hashes.map((h) => fromBase64(h));
          expect(
            verifyConsistency(sha256, before.size, now.size, before.rootHash, now.rootHash, hashes),
          ).toBe(true);
        }
      } finally {
        for (const s of servers.reverse()) await s.close();
      }
    });
  },
);

describeWithNats('a cluster with no both node', { timeout: 60_000 }, () => {
  const c = useCluster({ size: 1, connect: 'cluster-no-signer-test' });

  it('a cluster without a both node signs nothing: gateways answer 404, so clients turn log verification off', async () => {
    const keys = await ClusterKeys.open(c.h, 1);
    const read = await insertClusterKey(keys, ['read']);
    const cfg = (dir: string) =>
      loadConfig({
        flags: {
          data_dir: dir,
          port: 0,
          host: '127.0.0.1',
          log_level: 'silent',
          cluster: { nats_urls: c.urls, replicas: 1, request_timeout_ms: 2000 },
        },
      });
    const log = createLogger('silent');
    const ingest = await startIngest(cfg(tempDir('cp-ingest-')), log);
    const g = await startGatewayNode(cfg(tempDir('cp-gw-')), log);
    try {
      await pollUntil('keys mirrored', async () => (g.keys.get(read.id) ? true : undefined), 10_000);
      const r = await fetch(`${g.url}/v1/log/checkpoint`, {
        headers: { authorization: `Bearer ${read.key}` },
      });
      expect(r.status).toBe(404);
      expect(await r.text()).toMatch(/publishes no transparency-log checkpoints/);
      const ws = connect(g.wsUrl, read.key);
      expect((await ws.frame('hello'))['log']).toBeUndefined();
    } finally {
      await g.close();
      await ingest.close();
    }
  });
});
