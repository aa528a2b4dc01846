import { generateKeyPairSync } from 'node:crypto';
import { expect, it } from 'vitest';
import {
  MemoryTree,
  ed25519Signer,
  ed25519VerifierKey,
  formatCheckpoint,
  openCheckpoint,
  ed25519Verifier,
  signNote,
  utf8Bytes,
  verifyConsistency,
} from '@catalyst-signal/shared';
import { readPublished, FencedPublisher } from '../../src/jetstream/checkpoint-kv.js';
import { sha256 } from '../../src/log/tlog-crypto.js';
import { createLogger } from '../../src/logger.js';
import { CheckpointHolder } from '../../src/roles/checkpoint-holder.js';
import { createSigner } from '../../src/signing.js';
import { ed25519Verify } from '../helpers/ed25519.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { useCluster } from './cluster-fixture.js';

const origin = 'catalyst-signals/holder-test';

function tree(leaves: string[]) {
  const t = new MemoryTree(sha256);
  for (const l of leaves) t.append(utf8Bytes(l));
  return {
    t,
    view: {
      get size() {
        return t.size;
      },
      unavailable: undefined,
      read: (l: number, i: number) => t.read(l, i),
      root: (n: number) => t.root(n),
      inclusion: (i: number, n: number) => t.inclusion(i, n),
      consistency: (a: number, b: number) => t.consistency(a, b),
    },
  };
}

describeWithNats('the checkpoint holder seeds from the published checkpoint', () => {
  const c = useCluster({ size: 1, connect: 'checkpoint-holder-test', clusterLog: true });

  it('waits for its replica to reach the published size, then signs on consistently; refuses a tree that differs', async () => {
    const meta = c.clusterLog.meta;
    const key = await createSigner(generateKeyPairSync('ed25519').privateKey);
    const sign = (size: number, root: Uint8Array) =>
      signNote(formatCheckpoint({ origin, size, rootHash: root }), [
        ed25519Signer(sha256, origin, key.publicKeyRaw, key.signBytes),
      ]);
    const leaves = Array.from({ length: 8 }, (_, i) => `leaf ${i}`);
    // A predecessor published size 5.
    const full = tree(leaves.slice(0, 5));
    const first = sign(5, full.t.root(5));
    await new FencedPublisher(meta, await readPublished(meta)).publish(first);
    const opts = { meta, origin, key, intervalMs: 50, termMs: 600, skewMs: 100, log: createLogger('silent') };

    // A node whose replica has another leaf 2: it takes the lease and refuses to sign from that checkpoint.
    const forked = tree(['leaf 0', 'leaf 1', 'forged', 'leaf 3', 'leaf 4']);
    const bad = new CheckpointHolder({
      ...opts,
      tree: forked.view,
      node: 'forked',
      replicaProblem: () => undefined,
    }).start();
    // It wrote the lease, then ended its term in KV (until_ms 0) instead of signing.
    await pollUntil(
      'the forked node to take the lease and give it up',
      async () => {
        const e = await meta.get('checkpoint_lease');
        const r = e?.json<{ node: string; until_ms: number }>();
        return r?.node === 'forked' && r.until_ms === 0 ? true : undefined;
      },
      10_000,
    );
    expect(bad.signing).toBe(false);
    await bad.close();
    expect((await readPublished(meta))?.note).toBe(first);

    // A node whose replica is behind (3 of 5): holds the lease but does not sign until it has the 5 leaves.
    const behind = tree(leaves.slice(0, 3));
    const good = new CheckpointHolder({
      ...opts,
      tree: behind.view,
      node: 'behind',
      replicaProblem: () => undefined,
    }).start();
    await pollUntil(
      'the behind node to take the lease',
      async () => (good.lease.isHeld() ? true : undefined),
      10_000,
    );
    expect(good.signing).toBe(false);
    for (const l of leaves.slice(3)) behind.t.append(utf8Bytes(l));
    good.grew();
    expect(good.signing).toBe(true);
    const published = await pollUntil(
      'a checkpoint of size 8',
      async () => {
        const p = await readPublished(meta);
        const cp =
          p &&
          openCheckpoint(p.note, origin, [
            ed25519Verifier(sha256, ed25519VerifierKey(sha256, origin, key.publicKeyRaw), ed25519Verify),
          ]).checkpoint;
        return cp?.size === 8 ? cp : undefined;
      },
      10_000,
    );
    expect(
      verifyConsistency(sha256, 5, 8, full.t.root(5), published.rootHash, behind.t.consistency(5, 8)),
    ).toBe(true);
    await good.close();
  });
});
