import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import {
  ed25519Verifier,
  ed25519VerifierKey,
  fromBase64,
  openCheckpoint,
  verifyConsistency,
  type Checkpoint,
} from '@catalyst-signal/shared';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { sha256 } from '../../src/log/tlog-crypto.js';
import { SIGNING_KEY_FILE } from '../../src/signing.js';
import { spawnServer, type ServerProcess } from '../helpers/cli.js';
import { insertClusterKey } from '../helpers/cluster-keys.js';
import { ed25519Verify } from '../helpers/ed25519.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { classification, tempDir } from '../helpers/server.js';
import { useCluster } from './cluster-fixture.js';

// Time budget: ~15 s (three server processes on a standalone nats-server, one lease term after the kill).
const TERM = { lease_term_ms: 2000, lease_skew_ms: 300 };

describeWithNats('kill -9 of the checkpoint lease holder', { timeout: 60_000 }, () => {
  const c = useCluster({ size: 1, connect: 'checkpoint-holder-kill-test' });

  it('the other both node signs within the term, and its next checkpoint is consistent with the last', async () => {
    const keys = await ClusterKeys.open(c.h, 1);
    const [pub, read] = await Promise.all([
      insertClusterKey(keys, ['publish']),
      insertClusterKey(keys, ['read']),
    ]);
    const dir = tempDir('cp-kill-');
    const conf = path.join(dir, 'cluster.json');
    writeFileSync(
      conf,
      JSON.stringify({
        cluster: { nats_urls: c.urls, replicas: 1, request_timeout_ms: 2000, ...TERM },
        log: { checkpoint_interval_ms: 100 },
      }),
    );
    const serve = (role: string, name: string) =>
      spawnServer(path.join(dir, name), ['-c', conf, '--role', role]);
    const a = await serve('both', 'a');
    mkdirSync(path.join(dir, 'b'), { mode: 0o700 });
    copyFileSync(path.join(dir, 'a', SIGNING_KEY_FILE), path.join(dir, 'b', SIGNING_KEY_FILE));
    const [b, g] = await Promise.all([serve('both', 'b'), serve('gateway', 'g')]);

    const auth = { authorization: `Bearer ${read.key}` };
    const post = async (to: ServerProcess, n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await fetch(`${to.url}/v1/signals`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${pub.key}` },
          body: JSON.stringify(classification()),
        });
        expect(r.status).toBe(201);
      }
    };
    const served = async (s: ServerProcess) => {
      const r = await fetch(`${s.url}/v1/log/checkpoint`, { headers: auth });
      return r.status === 200 ? await r.text() : undefined;
    };
    const signs = async (s: ServerProcess) =>
      ((await (await fetch(`${s.url}/healthz`)).json()) as { checkpoint_signer?: boolean }).checkpoint_signer;

    // The cluster's verifier key, as a client learns it: the hello's log.vkey (here from the ingest side's JWK).
    await pollUntil(
      'the gateway to be ready',
      async () => ((await fetch(`${g.url}/readyz`)).ok ? true : undefined),
      30_000,
    );
    const jwks = (await (await fetch(`${g.url}/v1/keys/signing`)).json()) as { keys: { x: string }[] };
    const epoch = ((await (await fetch(`${g.url}/healthz`)).json()) as { epoch: string }).epoch;
    const origin = `catalyst-signals/${epoch}`;
    const vkey = ed25519VerifierKey(
      sha256,
      origin,
      new Uint8Array(Buffer.from(jwks.keys[0]!.x, 'base64url')),
    );
    const open = (note: string): Checkpoint =>
      openCheckpoint(note, origin, [ed25519Verifier(sha256, vkey, ed25519Verify)]).checkpoint;
    const allServe = (nodes: ServerProcess[], size: number) =>
      pollUntil(
        `every node to serve a checkpoint of size ${size}`,
        async () => {
          const notes = await Promise.all(nodes.map(served));
          if (notes.some((n) => n === undefined || open(n).size !== size)) return undefined;
          return new Set(notes).size === 1 ? notes[0]! : undefined;
        },
        30_000,
      );

    await post(a, 15);
    const before = await allServe([a, b, g], 15);
    const flags = await Promise.all([signs(a), signs(b)]);
    expect(flags.filter(Boolean)).toHaveLength(1);
    const [holder, other] = flags[0] ? [a, b] : [b, a];

    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    await pollUntil(
      'the other node to sign',
      async () => ((await signs(other)) ? true : undefined),
      20_000,
      20,
    );
    const handoverMs = Date.now() - killedAt;
    console.log(
      `checkpoint signer handover: ${handoverMs} ms after kill -9 (term ${TERM.lease_term_ms}, margin ${TERM.lease_skew_ms})`,
    );
    expect(handoverMs).toBeLessThan(TERM.lease_term_ms + TERM.lease_skew_ms + 2000);

    await post(other, 10);
    const after = await allServe([other, g], 25);
    const r = await fetch(`${g.url}/v1/log/consistency?from=15&to=25`, { headers: auth });
    const proof = (await r.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => fromBase64(l));
    expect(verifyConsistency(sha256, 15, 25, open(before).rootHash, open(after).rootHash, proof)).toBe(true);
  });
});
