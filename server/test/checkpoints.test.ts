import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MemoryTree,
  ed25519Signer,
  ed25519VerifierKey,
  parseCheckpoint,
  parseNote,
  utf8Bytes,
} from '@catalyst-signal/shared';
import { CheckpointLog, type CheckpointedTree } from '../src/log/checkpoints.js';
import { sha256 } from '../src/log/tlog-crypto.js';
import { createLogger } from '../src/logger.js';
import { createSigner } from '../src/signing.js';

/** A tree the test can rewrite: the real in-memory Merkle tree plus a checkpoint table. */
class TestTree implements CheckpointedTree {
  tree = new MemoryTree(sha256);
  readonly saved: { size: number; note: string }[] = [];
  unavailable: string | undefined;
  get size() {
    return this.tree.size;
  }
  read = (level: number, index: number) => this.tree.read(level, index);
  root = (n: number) => this.tree.root(n);
  inclusion = (i: number, n: number) => this.tree.inclusion(i, n);
  consistency = (m: number, n: number) => this.tree.consistency(m, n);
  latestCheckpoint = () => this.saved.at(-1);
  saveCheckpoint = (size: number, note: string) => void this.saved.push({ size, note });
  append(...leaves: string[]) {
    for (const l of leaves) this.tree.append(utf8Bytes(l));
  }
}

async function checkpointLog(tree: TestTree) {
  const s = await createSigner(generateKeyPairSync('ed25519').privateKey);
  const origin = 'catalyst.test/signals';
  return new CheckpointLog({
    tree,
    origin,
    signer: ed25519Signer(sha256, origin, s.publicKeyRaw, s.signBytes),
    vkey: ed25519VerifierKey(sha256, origin, s.publicKeyRaw),
    // Long: the test signs by calling signNow(), never through the timer.
    intervalMs: 3_600_000,
    log: createLogger('silent'),
  });
}

const sizeOf = (note: string | undefined) => parseCheckpoint(parseNote(note!).text).size;

describe('CheckpointLog: never two inconsistent checkpoints', () => {
  it('signs a grown tree that extends the last checkpoint', async () => {
    const t = new TestTree();
    t.append('a', 'b', 'c');
    const log = await checkpointLog(t);
    log.signNow();
    expect(sizeOf(log.checkpoint())).toBe(3);
    t.append('d', 'e');
    log.signNow();
    expect(sizeOf(log.checkpoint())).toBe(5);
    expect(t.saved.map((s) => s.size)).toEqual([3, 5]);
    log.close();
  });

  it('refuses to sign a history rewritten under a signed checkpoint, and stops serving proofs', async () => {
    const t = new TestTree();
    t.append('a', 'b', 'c');
    const log = await checkpointLog(t);
    log.signNow();
    // The store's past changes under the signer (a rewritten row, a restored old backup with other signals).
    t.tree = new MemoryTree(sha256);
    t.append('a', 'B', 'c', 'd', 'e');
    log.signNow();
    expect(t.saved.map((s) => s.size)).toEqual([3]);
    expect(sizeOf(log.checkpoint())).toBe(3);
    expect(log.unavailable()).toMatch(/not consistent with the checkpoint signed at size 3/);
    expect(log.proof(1)).toEqual({ kind: 'unavailable', why: log.unavailable() });
    t.append('f');
    log.signNow();
    expect(t.saved).toHaveLength(1);
    log.close();
  });

  it('a restarted signer continues from the stored checkpoint, and checks the tree against it', async () => {
    const t = new TestTree();
    t.append('a', 'b');
    const first = await checkpointLog(t);
    first.signNow();
    first.close();
    t.tree = new MemoryTree(sha256);
    t.append('x', 'b', 'c');
    const second = await checkpointLog(t);
    second.signNow();
    expect(t.saved.map((s) => s.size)).toEqual([2]);
    expect(second.unavailable()).toMatch(/not consistent/);
    second.close();
  });
});
