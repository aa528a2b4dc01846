import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TlogFormatError,
  TlogVerificationError,
  ed25519Verifier,
  formatCheckpoint,
  formatTlogProof,
  fromBase64,
  MemoryTree,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseNote,
  parseTlogProof,
  signNote,
  utf8Bytes,
  verifyTlogProof,
} from '../src/index.js';
import { ed25519Verify, keyFromSeed, noteKey, sha256 } from './helpers/tlog-node.js';

describe('C2SP signed-note vectors', () => {
  it('signed-note.md: example.com/foo verifies its example note', () => {
    const v = ed25519Verifier(
      sha256,
      'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      ed25519Verify,
    );
    const note =
      'This is an example message.\n\n' +
      '— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    const opened = openNote(note, [v]);
    expect(opened.text).toBe('This is an example message.\n');
    expect(opened.verified.map((s) => s.name)).toEqual(['example.com/foo']);
    expect(() => openNote(note.replace('example message', 'example massage'), [v])).toThrow(
      TlogVerificationError,
    );
  });

  it("Go's note test key signs the same bytes (Ed25519 is deterministic), and its vkey's ID matches", () => {
    const seed = fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz').subarray(1);
    const k = noteKey('PeterNeumann', keyFromSeed(seed));
    expect(k.vkey).toBe('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
    const text =
      "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    expect(signNote(text, [k.signer])).toBe(
      text +
        '\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n',
    );
  });

  it('refuses malformed verifier keys: wrong ID, other algorithm, wrong length', () => {
    const bad = [
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==',
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3',
    ];
    for (const vkey of bad)
      expect(() => ed25519Verifier(sha256, vkey, ed25519Verify), vkey).toThrow(TlogFormatError);
  });
});

describe('signed notes', () => {
  const log = noteKey('example.com/log');
  const witness = noteKey('witness.example');
  const textArb = fc
    .array(fc.string({ unit: fc.constantFrom('a', 'Z', ' ', 'é', '😀', '—', '\n', '+', '0') }), {
      minLength: 1,
      maxLength: 6,
    })
    .map((lines) => lines.join('\n') + '\n');

  it('round-trips any text; unknown signers are ignored; a changed text or a bad known signature is refused', () => {
    fc.assert(
      fc.property(textArb, (text) => {
        const note = signNote(text, [witness.signer, log.signer]);
        const opened = openNote(note, [log.verifier]);
        expect(opened.text).toBe(text);
        expect(opened.unknown.map((s) => s.name)).toEqual(['witness.example']);
        expect(openNote(note, [log.verifier, witness.verifier]).verified).toHaveLength(2);
        expect(() => openNote(note, [noteKey('example.com/log').verifier])).toThrow(TlogVerificationError);
        expect(() => openNote('x' + note, [log.verifier])).toThrow(TlogVerificationError);
      }),
      { numRuns: 50 },
    );
  });

  it('accepts 16 signature lines (the spec minimum), refuses more than 100, control characters, a missing blank line', () => {
    const others = Array.from({ length: 15 }, (_, i) => noteKey(`w${i}.example`).signer);
    expect(openNote(signNote('t\n', [...others, log.signer]), [log.verifier]).unknown).toHaveLength(15);
    const many = signNote('t\n', [log.signer]) + `— x.example ${'A'.repeat(12)}\n`.repeat(100);
    expect(() => parseNote(many)).toThrow(/more than 100/);
    expect(() => openNote(signNote('t\n', [log.signer]).replace('t', 't\r'), [log.verifier])).toThrow(
      TlogFormatError,
    );
    expect(() => parseNote('t\n— example.com/log AAAAAAAA\n')).toThrow(TlogFormatError);
    expect(() => parseNote(new Uint8Array([0x74, 0xff, 0x0a, 0x0a]))).toThrow(/UTF-8/);
  });
});

describe('checkpoints and tlog-proof files', () => {
  const key = noteKey('example.com/signals');

  it('tlog-checkpoint.md example text parses; the format is strict about size and hash', () => {
    const text = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const c = parseCheckpoint(text);
    expect(c).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163 });
    expect(formatCheckpoint(c)).toBe(text);
    expect(() => parseCheckpoint(text.replace('20852163', '020852163'))).toThrow(TlogFormatError);
    expect(() => parseCheckpoint(text.replace('CsUY', 'CsU'))).toThrow(TlogFormatError);
    expect(() => parseCheckpoint('o\n1\n')).toThrow(TlogFormatError);
    expect(parseCheckpoint(text + 'ext\n').extensions).toEqual(['ext']);
  });

  it('a proof file for each entry verifies offline; another entry, origin or key does not', () => {
    const t = new MemoryTree(sha256);
    const leaves = Array.from({ length: 13 }, (_, i) => utf8Bytes(`{"seq":${i + 1}}`));
    leaves.forEach((l) => t.append(l));
    const checkpoint = signNote(
      formatCheckpoint({ origin: 'example.com/signals', size: 13, rootHash: t.root() }),
      [key.signer],
    );
    expect(openCheckpoint(checkpoint, 'example.com/signals', [key.verifier]).checkpoint.size).toBe(13);
    for (let i = 0; i < 13; i++) {
      const file = formatTlogProof({ index: i, proof: t.inclusion(i), checkpoint });
      expect(parseTlogProof(file)).toMatchObject({ index: i, checkpoint });
      expect(verifyTlogProof(sha256, file, leaves[i]!, 'example.com/signals', [key.verifier]).index).toBe(i);
      expect(() =>
        verifyTlogProof(sha256, file, leaves[(i + 1) % 13]!, 'example.com/signals', [key.verifier]),
      ).toThrow(TlogVerificationError);
    }
    const file = formatTlogProof({ extra: utf8Bytes('x'), index: 0, proof: t.inclusion(0), checkpoint });
    expect(parseTlogProof(file).extra).toEqual(utf8Bytes('x'));
    expect(() => verifyTlogProof(sha256, file, leaves[0]!, 'example.com/other', [key.verifier])).toThrow(
      /origin/,
    );
    expect(() =>
      verifyTlogProof(sha256, file, leaves[0]!, 'example.com/signals', [
        noteKey('example.com/signals').verifier,
      ]),
    ).toThrow(TlogVerificationError);
    // A 1-entry tree's proof has no hash lines.
    expect(formatTlogProof({ index: 0, proof: [], checkpoint })).toBe(
      `c2sp.org/tlog-proof@v1\nindex 0\n\n${checkpoint}`,
    );
  });
});
