import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MemoryTree,
  cosign,
  cosignerVerifierKey,
  ed25519Cosigner,
  ed25519Verifier,
  formatCheckpoint,
  leafHash,
  openCheckpoint,
  signNote,
  toBase64,
  utf8Bytes,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';
import { ed25519Verify, noteKey, rawPublicKey, sha256 } from './helpers/tlog-node.js';

function cosignerKey(name: string) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pub = rawPublicKey(privateKey);
  return {
    vkey: cosignerVerifierKey(sha256, name, pub),
    cosigner: ed25519Cosigner(sha256, name, pub, (m) => new Uint8Array(sign(null, m, privateKey))),
  };
}

/**
 * Interop with the reference implementation, Go's golang.org/x/mod/sumdb/{note,tlog} (Debian: golang-go and
 * golang-golang-x-mod-dev), built in GOPATH mode: no network. Required in CI; a laptop without Go skips, saying so.
 */
const GOPATH = '/usr/share/gocode';
const XMOD = path.join(GOPATH, 'src/golang.org/x/mod/sumdb');
const go = spawnSync('go', ['version'], { encoding: 'utf8' });
const haveGo = go.status === 0 && existsSync(path.join(XMOD, 'tlog')) && existsSync(path.join(XMOD, 'note'));
const ci = process.env.CI === 'true';
const skip = !haveGo && !ci;
const title = (t: string) =>
  skip ? `${t} (SKIPPED: go or ${XMOD} missing; apt-get install golang-go golang-golang-x-mod-dev)` : t;

const ORIGIN = 'catalyst.test/interop';
const work = mkdtempSync(path.join(os.tmpdir(), 'catalyst-go-interop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function buildInterop(): string {
  if (!haveGo)
    throw new Error(
      `CI=true but go or golang.org/x/mod is not installed (${go.error?.message ?? go.stderr ?? ''})`,
    );
  copyFileSync(path.join(import.meta.dirname, 'go-interop/main.go'), path.join(work, 'main.go'));
  const bin = path.join(work, 'interop');
  const env = { ...process.env, GOPATH, GO111MODULE: 'off', GOCACHE: path.join(work, 'cache'), GOFLAGS: '' };
  const b = spawnSync('go', ['build', '-o', bin, 'main.go'], { cwd: work, env, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`go build failed: ${b.stderr}`);
  return bin;
}

type B64 = string;
interface GoAnswer {
  noteTexts: string[];
  noteErrors: string[];
  inclusionErrors: string[];
  consistencyErrors: string[];
  roots: B64[];
  recordProofs: { a: number; b: number; proof: B64[] }[];
  treeProofs: { a: number; b: number; proof: B64[] }[];
  vkey: string;
  note: string;
  cosignErrors: string[][];
}

const b64 = (b: Uint8Array) => toBase64(b);
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const flipFirst = (b: Uint8Array) => b.map((x, i) => (i === 0 ? x ^ 1 : x));

describe('interop with Go sumdb/note and sumdb/tlog', () => {
  it.skipIf(skip)(title('Go verifies our checkpoint and proofs; we verify Go’s'), () => {
    const bin = buildInterop();
    const n = 70;
    const leaves = Array.from({ length: n }, (_, i) =>
      utf8Bytes(`{"seq":${i + 1},"symbol":"T${i}","sig":"${'x'.repeat(i % 7)}"}`),
    );
    const tree = new MemoryTree(sha256);
    leaves.forEach((l) => tree.append(l));
    const key = noteKey(ORIGIN);
    const checkpoint = signNote(formatCheckpoint({ origin: ORIGIN, size: n, rootHash: tree.root() }), [
      noteKey('witness.example').signer,
      key.signer,
    ]);

    const inclusion = [];
    const consistency = [];
    const pairsRecord: { a: number; b: number }[] = [];
    const pairsTree: { a: number; b: number }[] = [];
    for (let size = 1; size <= n; size += 3)
      for (let index = 0; index < size; index += 1 + Math.floor(size / 5)) {
        pairsRecord.push({ a: index, b: size });
        inclusion.push({
          index,
          size,
          leaf: b64(leaves[index]!),
          proof: tree.inclusion(index, size).map(b64),
          root: b64(tree.root(size)),
        });
      }
    for (let second = 1; second <= n; second += 4)
      for (let first = 1; first <= second; first += 1 + Math.floor(second / 6)) {
        pairsTree.push({ a: first, b: second });
        consistency.push({
          first,
          second,
          proof: tree.consistency(first, second).map(b64),
          firstRoot: b64(tree.root(first)),
          secondRoot: b64(tree.root(second)),
        });
      }
    // Tampered cases Go must refuse: one proof hash flipped, another leaf, a changed checkpoint text.
    const badInclusion = { ...inclusion[40]!, leaf: b64(leaves[0]!) };
    const flippedInclusion = {
      ...inclusion[41]!,
      proof: inclusion[41]!.proof.map((p, i) => (i === 0 ? b64(flipFirst(unb64(p))) : p)),
    };
    const nonTrivial = consistency.find((c) => c.proof.length > 1)!;
    const flippedConsistency = {
      ...nonTrivial,
      proof: nonTrivial.proof.map((p, i) => (i === 1 ? b64(flipFirst(unb64(p))) : p)),
    };
    const tamperedNote = checkpoint.replace(`\n${n}\n`, `\n${n + 1}\n`);
    // Witness cosignatures appended, as the server serves them: Go must ignore their keys (type 0x04, unknown
    // to it) and still open the note, and check each cosignature itself. A third witness never cosigned.
    const text = formatCheckpoint({ origin: ORIGIN, size: n, rootHash: tree.root() });
    const witnesses = ['w.example/a', 'w.example/b', 'w.example/c'].map(cosignerKey);
    const lines = witnesses.slice(0, 2).map((w, i) => cosign(w.cosigner, text, 1_790_000_000 + i));
    const cosigned = checkpoint + lines.join('');
    // One byte of the first line's timestamp changed: that cosignature no longer verifies.
    const raw = unb64(lines[0]!.trim().split(' ')[2]!);
    raw[11]! ^= 1;
    const badTime = checkpoint + lines[0]!.replace(/ \S+\n$/, ` ${b64(raw)}\n`) + lines[1]!;

    const run = spawnSync(bin, [], {
      input: JSON.stringify({
        vkey: key.vkey,
        notes: [checkpoint, tamperedNote, cosigned],
        witnesses: witnesses.map((w) => w.vkey),
        cosigned: [cosigned, badTime],
        inclusion: [...inclusion, badInclusion, flippedInclusion],
        consistency: [...consistency, flippedConsistency],
        leaves: leaves.map(b64),
        proveRecord: pairsRecord,
        proveTree: pairsTree,
        origin: 'go.example/interop',
      }),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const ans = JSON.parse(run.stdout) as GoAnswer;

    // (a) Go accepts ours, and refuses the tampered ones.
    expect(ans.noteErrors[0]).toBe('');
    expect(ans.noteTexts[0]).toBe(`${ORIGIN}\n${n}\n${b64(tree.root())}\n`);
    expect(ans.noteErrors[1]).not.toBe('');
    expect(ans.noteErrors[2]).toBe('');
    expect(ans.noteTexts[2]).toBe(text);
    expect(ans.cosignErrors[0]!.slice(0, 2)).toEqual(['', '']);
    expect(ans.cosignErrors[0]![2]).toMatch(/no cosignature/);
    expect(ans.cosignErrors[1]![0]).toMatch(/does not verify/);
    expect(ans.cosignErrors[1]![1]).toBe('');
    expect(ans.inclusionErrors.slice(0, inclusion.length)).toEqual(inclusion.map(() => ''));
    expect(ans.inclusionErrors.slice(inclusion.length)).toEqual([expect.any(String), expect.any(String)]);
    expect(ans.inclusionErrors.slice(inclusion.length).every((e) => e !== '')).toBe(true);
    expect(ans.consistencyErrors.slice(0, consistency.length)).toEqual(consistency.map(() => ''));
    expect(ans.consistencyErrors.at(-1)).not.toBe('');

    // (b) Go's roots are ours; Go's proofs verify with our code; Go's signed checkpoint opens with our verifier.
    expect(ans.roots).toEqual(Array.from({ length: n }, (_, i) => b64(tree.root(i + 1))));
    for (const p of ans.recordProofs) {
      const proof = p.proof.map(unb64);
      expect(proof.map(b64), `record ${p.a} of ${p.b}`).toEqual(tree.inclusion(p.a, p.b).map(b64));
      expect(verifyInclusion(sha256, p.a, p.b, leafHash(sha256, leaves[p.a]!), proof, tree.root(p.b))).toBe(
        true,
      );
    }
    for (const p of ans.treeProofs) {
      const proof = p.proof.map(unb64);
      expect(proof.map(b64), `tree ${p.a} -> ${p.b}`).toEqual(tree.consistency(p.a, p.b).map(b64));
      expect(
        verifyConsistency(sha256, p.a, p.b, tree.root(p.a), tree.root(p.b), proof),
        `tree ${p.a} -> ${p.b}`,
      ).toBe(true);
    }
    const theirs = ed25519Verifier(sha256, ans.vkey, ed25519Verify);
    const opened = openCheckpoint(ans.note, 'go.example/interop', [theirs]);
    expect(opened.checkpoint.size).toBe(n);
    expect(b64(opened.checkpoint.rootHash)).toBe(b64(tree.root()));
  });
});
