import { copyFileSync } from 'node:fs';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import path from 'node:path';
import { expect, it } from 'vitest';
import {
  ClientFrame,
  cosign,
  cosignatureVerifier,
  cosignerVerifierKey,
  ed25519Cosigner,
  parseNote,
  verifiedCosignatures,
  type Cosigner,
} from '@catalyst-signal/shared';
import { type Server } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { ed25519Verify, sha256 } from '../../src/log/tlog-crypto.js';
import { createLogger } from '../../src/logger.js';
import { startBoth } from '../../src/roles/both.js';
import { startGatewayNode } from '../../src/roles/gateway.js';
import { SIGNING_KEY_FILE } from '../../src/signing.js';
import { insertClusterKey } from '../helpers/cluster-keys.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { classification, tempDir } from '../helpers/server.js';
import { connect, type TestWs } from '../helpers/ws-client.js';
import { useCluster } from './cluster-fixture.js';

/**
 * Issue 24, witnesses in cluster mode (docs/transparency-log.md "Witnesses"): a cosignature sent to any node
 * is verified there, shared through the cluster's bucket and served by every node, on GET and on a re-sent
 * checkpoint frame; a bad one is dropped and counted; a repeat is a no-op.
 */

function witness(name: string): { cosigner: Cosigner; vkey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pub = new Uint8Array(
    Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url'),
  );
  return {
    vkey: cosignerVerifierKey(sha256, name, pub),
    cosigner: ed25519Cosigner(sha256, name, pub, (m) => new Uint8Array(sign(null, m, privateKey))),
  };
}

async function counts(s: Server): Promise<Record<string, number>> {
  const m = await s.metrics.cosignatures.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.result), v.value]));
}

describeWithNats('witnesses in cluster mode', { timeout: 60_000 }, () => {
  const c = useCluster({ size: 1, connect: 'cluster-witnesses-test' });

  it('a cosignature sent to the gateway is served by all three nodes; a bad one is dropped; a friend on another node sees quorum', async () => {
    const keys = await ClusterKeys.open(c.h, 1);
    const [pub, read] = await Promise.all([
      insertClusterKey(keys, ['publish']),
      insertClusterKey(keys, ['read']),
    ]);
    const alice = witness('w.test/alice');
    const config = (dir: string) =>
      loadConfig({
        flags: {
          data_dir: dir,
          port: 0,
          host: '127.0.0.1',
          log_level: 'silent',
          cluster: { nats_urls: c.urls, replicas: 1, request_timeout_ms: 2000 },
          log: { checkpoint_interval_ms: 50, witnesses: [{ name: 'alice', vkey: alice.vkey }] },
        },
      });
    const log = createLogger('silent');
    const [dirA, dirB, dirG] = [tempDir('wit-a-'), tempDir('wit-b-'), tempDir('wit-g-')];
    const servers: Server[] = [];
    try {
      const a = await startBoth(config(dirA), log);
      servers.push(a);
      copyFileSync(path.join(dirA, SIGNING_KEY_FILE), path.join(dirB, SIGNING_KEY_FILE));
      const b = await startBoth(config(dirB), log);
      servers.push(b);
      const g = await startGatewayNode(config(dirG), log);
      servers.push(g);
      for (const s of servers)
        await pollUntil('keys mirrored', async () => (s.keys.get(read.id) ? true : undefined), 10_000);
      for (let i = 0; i < 5; i++) {
        const r = await fetch(`${a.url}/v1/signals`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${pub.key}` },
          body: JSON.stringify(classification()),
        });
        expect(r.status).toBe(201);
      }
      const served = async (s: Server) => {
        const r = await fetch(`${s.url}/v1/log/checkpoint`, {
          headers: { authorization: `Bearer ${read.key}` },
        });
        return r.status === 200 ? await r.text() : undefined;
      };
      const note = await pollUntil(
        'every node to serve the checkpoint of size 5',
        async () => {
          const notes = await Promise.all(servers.map(served));
          const sizes = notes.map((n) => n && Number(parseNote(n).text.split('\n')[1]));
          return sizes.every((n) => n === 5) && new Set(notes).size === 1 ? notes[0] : undefined;
        },
        20_000,
      );
      const { text } = parseNote(note);

      /** A live socket with checkpoint frames, once the first one (served as `expected`) arrived. */
      const socket = async (s: Server, expected = note) => {
        const ws = connect(s.wsUrl, read.key);
        await ws.frame('hello');
        ws.send({ type: ClientFrame.subscribe, checkpoints: {} });
        expect((await ws.frame('checkpoint')).checkpoint).toBe(expected);
        return ws;
      };
      const handled = async (ws: TestWs, id: string) => {
        ws.send({ type: ClientFrame.ping, id });
        await ws.until(() => ws.frames.find((f) => f.type === 'pong' && f.id === id));
      };
      // A friend with a 1-of-1 policy (alice) on node B, live before the cosignature exists.
      const friend = await socket(b);
      const quorum = (n: string) =>
        verifiedCosignatures(n, [cosignatureVerifier(sha256, alice.vkey, ed25519Verify)]).length >= 1;
      expect(quorum(note)).toBe(false);

      // Alice's key over another text (forged or mistaken), sent to the gateway: dropped and counted there.
      const forger = await socket(g);
      const now = Math.floor(Date.now() / 1000);
      const wrong = text.replace('\n5\n', '\n6\n');
      forger.send({ type: ClientFrame.cosign, size: 5, cosignature: cosign(alice.cosigner, wrong, now) });
      await handled(forger, 'forged');

      // Alice, connected to the gateway, cosigns what she verified.
      const line = cosign(alice.cosigner, text, now);
      const witnessWs = await socket(g);
      witnessWs.send({ type: ClientFrame.cosign, size: 5, cosignature: line });
      for (const s of servers)
        await pollUntil(
          'every node to serve the cosignature',
          async () => ((await served(s)) === note + line ? true : undefined),
          10_000,
        );

      // The friend on B got the checkpoint again with the cosignature: the policy's quorum is met.
      const again = await friend.until(
        () => friend.frames.find((f) => f.type === 'checkpoint' && f.checkpoint !== note),
        10_000,
        'the re-sent checkpoint frame',
      );
      expect(again.checkpoint).toBe(note + line);
      expect(again.proofs).toEqual([]);
      expect(quorum(again.checkpoint as string)).toBe(true);

      // A line written straight into the bucket (a stolen node's NATS user) is served by no node that did not
      // verify it: every node checks each line itself. Seen once the friend got the checkpoint a third time.
      const kv = await c.h.kvm.open('catalyst_cosignatures');
      await kv.create('5.forged', cosign(alice.cosigner, wrong, now));
      await friend.until(
        () => friend.frames.filter((f) => f.type === 'checkpoint').length >= 3,
        10_000,
        'the frame re-sent after the forged line',
      );
      expect(friend.frames.filter((f) => f.type === 'checkpoint').at(-1)!.checkpoint).toBe(note + line);
      for (const s of servers) expect(await served(s)).toBe(note + line);

      // The same cosignature sent again through another node: create-only, a no-op.
      const repeat = await socket(a, note + line);
      repeat.send({ type: ClientFrame.cosign, size: 5, cosignature: line });
      await pollUntil(
        'the repeat to be counted on A',
        async () => ((await counts(a))['duplicate'] === 1 ? true : undefined),
        10_000,
      );
      expect(await served(a)).toBe(note + line);
      expect(await counts(g)).toEqual({ bad_signature: 1, stored: 1 });
      // Bounded: the bucket's stream keeps the newest 64 sizes of up to 64 witnesses, dropping the oldest.
      const bucket = await c.h.jsm.streams.info('KV_catalyst_cosignatures');
      expect(bucket.config).toMatchObject({ max_msgs: 64 * 64, discard: 'old' });
    } finally {
      for (const s of servers.reverse()) await s.close();
    }
  });
});
