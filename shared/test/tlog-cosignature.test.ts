import { generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TlogFormatError,
  cosign,
  cosignatureMessage,
  cosignatureVerifier,
  cosignerVerifierKey,
  ed25519Cosigner,
  formatCheckpoint,
  openNote,
  parseCosignatureLine,
  parseNote,
  signNote,
  splitCosignature,
  utf8Text,
  verifiedCosignatures,
} from '../src/index.js';
import { ed25519Verify, noteKey, rawPublicKey, sha256 } from './helpers/tlog-node.js';

function witness(name: string) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pub = rawPublicKey(privateKey);
  const cosigner = ed25519Cosigner(sha256, name, pub, (m) => new Uint8Array(sign(null, m, privateKey)));
  const vkey = cosignerVerifierKey(sha256, name, pub);
  return { cosigner, vkey, verifier: cosignatureVerifier(sha256, vkey, ed25519Verify) };
}

const text = formatCheckpoint({ origin: 'example.com/log', size: 42, rootHash: new Uint8Array(32).fill(7) });

describe('C2SP tlog-cosignature/v1', () => {
  it("parses the spec's example line: key ID, then the u64 timestamp of its `time 1679315147` message", () => {
    const line =
      '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==';
    const s = parseCosignatureLine(line);
    expect(s.name).toBe('witness.example.com/w1');
    expect(s.keyId).toBe(0x8d66cf3f);
    const { timestamp, sig } = splitCosignature(s.signature);
    expect(timestamp).toBe(1679315147);
    expect(sig.length).toBe(64);
  });

  it('the signed message is the spec\'s: "cosignature/v1", "time <t>", then the whole checkpoint body', () => {
    const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    expect(utf8Text(cosignatureMessage(body, 1679315147))).toBe(
      'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
  });

  it('a cosignature verifies on the log-signed note, and the log key and unknown witnesses are ignored', () => {
    const log = noteKey('example.com/log');
    const a = witness('w.example/a');
    const b = witness('w.example/b');
    const note = signNote(text, [log.signer]) + cosign(a.cosigner, text, 1700000000);
    // The log's own verifier ignores the cosignature line (another key type, so another key ID).
    expect(openNote(note, [log.verifier]).unknown.map((s) => s.name)).toEqual(['w.example/a']);
    expect(verifiedCosignatures(note, [a.verifier, b.verifier])).toEqual([
      { name: 'w.example/a', vkey: a.vkey, timestamp: 1700000000 },
    ]);
    // The vkey is type 0x04: the log verifier's parser refuses it, and the cosignature parser refuses a 0x01 key.
    expect(() => cosignatureVerifier(sha256, log.vkey, ed25519Verify)).toThrow(TlogFormatError);
    expect(Buffer.from(a.vkey.split('+')[2]!, 'base64')[0]).toBe(0x04);
  });

  it('any one-byte change of the checkpoint text or of the cosignature makes it fail', () => {
    const w = witness('w.example/p');
    const line = cosign(w.cosigner, text, 1700000123);
    const raw = parseCosignatureLine(line).signature;
    expect(w.verifier.verify(text, raw)).toEqual({ timestamp: 1700000123 });
    fc.assert(
      fc.property(fc.nat({ max: raw.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = raw.slice();
        bad[at]! ^= x;
        expect(w.verifier.verify(text, bad)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.nat({ max: text.length - 2 }), (at) => {
        const c = text[at] === 'A' ? 'B' : 'A';
        const bad = text.slice(0, at) + c + text.slice(at + 1);
        expect(w.verifier.verify(bad, raw)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('a cosignature line parses as a signature line of the note it is appended to', () => {
    const log = noteKey('example.com/log');
    const w = witness('w.example/q');
    const note = signNote(text, [log.signer]) + cosign(w.cosigner, text, 1);
    expect(parseNote(note).signatures.map((s) => s.name)).toEqual(['example.com/log', 'w.example/q']);
  });
});
