import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MemoryTree,
  ed25519Signer,
  ed25519VerifierKey,
  formatCheckpoint,
  signNote,
  utf8Bytes,
} from '@catalyst-signal/shared';
import type { CheckpointSigned } from '../src/log/checkpoints.js';
import { CheckpointMirror } from '../src/log/mirror.js';
import { sha256 } from '../src/log/tlog-crypto.js';
import { createSigner } from '../src/signing.js';

const origin = 'catalyst-signals/test-epoch';

async function key() {
  const s = await createSigner(generateKeyPairSync('ed25519').privateKey);
  return {
    vkey: ed25519VerifierKey(sha256, origin, s.publicKeyRaw),
    sign: (size: number, root: Uint8Array, o = origin) =>
      signNote(formatCheckpoint({ origin: o, size, rootHash: root }), [
        ed25519Signer(sha256, o, s.publicKeyRaw, s.signBytes),
      ]),
  };
}

/** The holder's tree (what it signs) and this node's replica tree (what the mirror proves from). */
function trees(n: number) {
  const holder = new MemoryTree(sha256);
  const replica = new MemoryTree(sha256);
  for (let i = 0; i < n; i++) holder.append(utf8Bytes(`leaf ${i}`));
  const mirrored = {
    get size() {
      return replica.size;
    },
    unavailable: undefined,
    read: (l: number, i: number) => replica.read(l, i),
    root: (s: number) => replica.root(s),
    inclusion: (i: number, s: number) => replica.inclusion(i, s),
    consistency: (a: number, b: number) => replica.consistency(a, b),
  };
  return { holder, replica, mirrored };
}

function mirror(tree: ReturnType<typeof trees>['mirrored']) {
  const mismatches: string[] = [];
  const errors: string[] = [];
  const served: CheckpointSigned[] = [];
  const m = new CheckpointMirror({
    tree,
    origin,
    onMismatch: (d) => mismatches.push(d),
    onError: (d) => errors.push(d),
  });
  m.onSigned((c) => served.push(c));
  return { m, mismatches, errors, served };
}

describe('CheckpointMirror: serve only what verified and what this replica proves', () => {
  it('waits for the verifier key and for the replica to reach the size, then serves with its root', async () => {
    const k = await key();
    const t = trees(5);
    const { m, served } = mirror(t.mirrored);
    const note = k.sign(5, t.holder.root(5));
    m.offer(note);
    expect(m.unavailable()).toMatch(/signing key is not known/);
    m.setVerifierKey(k.vkey);
    for (let i = 0; i < 4; i++) t.replica.append(utf8Bytes(`leaf ${i}`));
    m.grew();
    expect(m.checkpoint()).toBeUndefined(); // the replica has 4 of 5 leaves
    t.replica.append(utf8Bytes('leaf 4'));
    m.grew();
    expect(m.checkpoint()).toBe(note);
    expect(served).toEqual([{ size: 5, note, previousSize: 0 }]);
    expect(m.proof(5).kind).toBe('proof');
    expect(m.proof(6)).toEqual({ kind: 'pending', covered: 5 });
    expect(m.vkey).toBe(k.vkey);
  });

  it('refuses a note signed by another key or for another origin', async () => {
    const [k, other] = [await key(), await key()];
    const t = trees(2);
    for (let i = 0; i < 2; i++) t.replica.append(utf8Bytes(`leaf ${i}`));
    const { m, errors } = mirror(t.mirrored);
    m.setVerifierKey(k.vkey);
    m.offer(other.sign(2, t.holder.root(2)));
    m.offer(k.sign(2, t.holder.root(2), 'catalyst-signals/another-epoch'));
    expect(m.checkpoint()).toBeUndefined();
    expect(errors).toHaveLength(2);
  });

  it('a replica whose tree differs from the signed root is reported diverged and serves nothing', async () => {
    const k = await key();
    const t = trees(3);
    for (const l of ['leaf 0', 'leaf X', 'leaf 2']) t.replica.append(utf8Bytes(l));
    const { m, mismatches } = mirror(t.mirrored);
    m.setVerifierKey(k.vkey);
    m.offer(k.sign(3, t.holder.root(3)));
    expect(mismatches).toEqual(["this replica's tree of size 3 is not the one the cluster signed"]);
    expect(m.checkpoint()).toBeUndefined();
    expect(m.unavailable()).toBe(mismatches[0]);
  });

  it('two signed roots for one size halt the mirror; an older note is ignored', async () => {
    const k = await key();
    const t = trees(4);
    for (let i = 0; i < 4; i++) t.replica.append(utf8Bytes(`leaf ${i}`));
    const { m, mismatches } = mirror(t.mirrored);
    m.setVerifierKey(k.vkey);
    const four = k.sign(4, t.holder.root(4));
    m.offer(four);
    m.offer(k.sign(2, t.holder.root(2)));
    expect(m.checkpoint()).toBe(four);
    m.offer(k.sign(4, t.holder.root(3)));
    expect(mismatches).toEqual(['the cluster signed two checkpoints of size 4 with different roots']);
    expect(m.unavailable()).toBeDefined();
  });
});
