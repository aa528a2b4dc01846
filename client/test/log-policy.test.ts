import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  cosign,
  cosignerVerifierKey,
  ed25519Cosigner,
  ed25519Signer,
  formatCheckpoint,
  signNote,
} from '@catalyst-signal/shared';
import { parseConfig } from '../src/config.js';
import { WitnessPolicy } from '../src/log-policy.js';
import { sha256 } from '../src/log-verify.js';

/** The witness policy's pure core: time and notes are arguments (client/src/log-policy.ts). */

function key(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
  return { name, pub, sign: (m: Uint8Array) => new Uint8Array(sign(null, m, privateKey)) };
}

const log = key('catalyst.test/policy');
const [a, b, c] = ['w.test/a', 'w.test/b', 'w.test/c'].map(key) as [
  ReturnType<typeof key>,
  ReturnType<typeof key>,
  ReturnType<typeof key>,
];
const keys = [a, b, c].map((w) => cosignerVerifierKey(sha256, w.name, w.pub));

/** The log's checkpoint of `size`, cosigned by `by`. */
function note(size: number, by: ReturnType<typeof key>[]): string {
  const text = formatCheckpoint({ origin: log.name, size, rootHash: new Uint8Array(32).fill(size) });
  const signed = signNote(text, [ed25519Signer(sha256, log.name, log.pub, log.sign)]);
  return signed + by.map((w) => cosign(ed25519Cosigner(sha256, w.name, w.pub, w.sign), text, 1)).join('');
}

describe('witness policy (k of n within a bound)', () => {
  it('alerts only once a checkpoint acted on stays short of the quorum past within_ms', () => {
    const p = new WitnessPolicy({ keys, quorum: 2, within_ms: 1000 });
    p.observe(note(5, []), 5, 0);
    expect(p.check(1000)).toMatchObject({ ok: true });
    expect(p.check(1001)).toEqual({ ok: false, size: 5, sinceMs: 0, cosigned: 0, need: 2 });
    // One cosignature is not a quorum.
    p.observe(note(5, [a]), 5, 1100);
    expect(p.check(1200)).toMatchObject({ ok: false, cosigned: 1 });
    // A later checkpoint (verified consistent before it is observed) with the quorum covers the earlier one.
    p.observe(note(7, [a, c]), 7, 1300);
    expect(p.check(1300)).toEqual({ ok: true, cosigned: 2, need: 2 });
  });

  it('the oldest uncovered checkpoint counts; a quorum on an older one does not cover a newer one', () => {
    const p = new WitnessPolicy({ keys, quorum: 1, within_ms: 1000 });
    p.observe(note(3, []), 3, 0);
    p.observe(note(4, []), 4, 500);
    p.observe(note(3, [b]), 3, 600);
    expect(p.check(1400)).toMatchObject({ ok: true });
    expect(p.check(1501)).toMatchObject({ ok: false, size: 4, sinceMs: 500 });
  });

  it('lines from keys outside the policy, and cosignatures of another text, do not count', () => {
    const other = key('w.test/other');
    const p = new WitnessPolicy({ keys: keys.slice(0, 2), quorum: 1, within_ms: 1000 });
    const text6 = formatCheckpoint({ origin: log.name, size: 6, rootHash: new Uint8Array(32).fill(6) });
    const forged =
      note(6, [c, other]) + cosign(ed25519Cosigner(sha256, a.name, a.pub, a.sign), text6 + 'x\n', 1);
    p.observe(forged, 6, 0);
    expect(p.check(2000)).toMatchObject({ ok: false, cosigned: 0 });
  });

  it('refuses a log key (type 0x01) among the witness keys, naming it', () => {
    const vkey = `${log.name}+00000000+${Buffer.concat([Buffer.from([1]), log.pub]).toString('base64')}`;
    expect(() => new WitnessPolicy({ keys: [vkey], quorum: 1, within_ms: 1000 })).toThrow(
      /log\.witness_policy\.keys\[0\]/,
    );
  });
});

describe('log.witness_policy config', () => {
  it('a key that is not a witness vkey, or a quorum above the keys, is a config error', () => {
    const bad = { log: { witness_policy: { keys: ['nope'], quorum: 1 } } };
    expect(() => parseConfig(bad)).toThrow(/not a witness verifier key/);
    expect(() => parseConfig({ log: { witness_policy: { keys, quorum: 4 } } })).toThrow(/quorum is more/);
    expect(parseConfig({ log: { witness_policy: { keys, quorum: 3 } } }).log.witness_policy).toEqual({
      keys,
      quorum: 3,
      within_ms: 60_000,
    });
  });
});
