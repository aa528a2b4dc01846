/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys (signature type 0x01). Crypto is injected
 * (see merkle.ts Sha256) so the same code runs on the server, in the CLI and in a page.
 */
import { concatBytes, fromBase64, TlogFormatError, toBase64, toHex, utf8Bytes, utf8Text } from './bytes.js';
import type { Sha256 } from './merkle.js';

/** Ed25519 signature type byte of signed-note. */
export const ED25519_TYPE = 0x01;
/** Go's note.Open refuses more; the spec asks for at least 16. */
export const MAX_NOTE_SIGNATURES = 100;
const EM_DASH = '\u2014';

export type Ed25519Verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(message: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the key ID. */
  signature: Uint8Array;
}

export interface OpenedNote {
  /** The signed text, ending in "\n". */
  text: string;
  /** Signatures that verified with a known key. */
  verified: NoteSignature[];
  /** Signatures from keys the caller does not know: ignored, as the spec requires. */
  unknown: NoteSignature[];
}

/** A note or proof that does not verify, as opposed to one that is malformed (TlogFormatError). */
export class TlogVerificationError extends Error {
  override name = 'TlogVerificationError';
}

/** Key names are non-empty, without Unicode spaces or '+'. */
export function checkKeyName(name: string): void {
  if (name === '' || /[\s+\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name))
    throw new TlogFormatError(`key name ${JSON.stringify(name)}: empty, or has a space or '+'`);
}

/** key ID = SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4], big-endian. */
export function noteKeyId(h: Sha256, name: string, type: number, publicKey: Uint8Array): number {
  const d = h(concatBytes(utf8Bytes(name + '\n'), new Uint8Array([type]), publicKey));
  return ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
}

export const keyIdBytes = (id: number) =>
  new Uint8Array([id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]);

/** `<name>+<hex key ID>+<base64(0x01 ‖ public key)>` for an Ed25519 key. */
export function ed25519VerifierKey(h: Sha256, name: string, publicKey: Uint8Array): string {
  checkKeyName(name);
  if (publicKey.length !== 32) throw new TlogFormatError('an Ed25519 public key is 32 bytes');
  const id = noteKeyId(h, name, ED25519_TYPE, publicKey);
  return `${name}+${toHex(keyIdBytes(id))}+${toBase64(concatBytes(new Uint8Array([ED25519_TYPE]), publicKey))}`;
}

/**
 * A vkey's name and raw public key, for signature type `type` (0x01 note signer, 0x04 cosigner): refuses other
 * types and a key ID that does not match the key.
 */
export function parseVerifierKey(
  h: Sha256,
  vkey: string,
  type: number = ED25519_TYPE,
): { name: string; keyId: number; publicKey: Uint8Array } {
  // Split at the first two '+' only: the base64 key may contain '+' itself.
  const a = vkey.indexOf('+');
  const b = vkey.indexOf('+', a + 1);
  if (a < 0 || b < 0) throw new TlogFormatError('verifier key: expected <name>+<hex id>+<base64 key>');
  const [name, hexId, b64] = [vkey.slice(0, a), vkey.slice(a + 1, b), vkey.slice(b + 1)];
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new TlogFormatError('verifier key: the key ID is not 8 hex digits');
  const key = fromBase64(b64, 'verifier key');
  const hexType = `0x${type.toString(16).padStart(2, '0')}`;
  if (key.length !== 33 || key[0] !== type)
    throw new TlogFormatError(`verifier key: not an Ed25519 key (type ${hexType} and 32 bytes)`);
  const publicKey = key.subarray(1);
  const keyId = Number.parseInt(hexId, 16);
  if (keyId !== noteKeyId(h, name, type, publicKey))
    throw new TlogFormatError('verifier key: the key ID does not match the name and key');
  return { name, keyId, publicKey };
}

/** A verifier from a vkey string; refuses other key types, and a key ID that does not match the key. */
export function ed25519Verifier(h: Sha256, vkey: string, verify: Ed25519Verify): NoteVerifier {
  const { name, keyId, publicKey } = parseVerifierKey(h, vkey);
  return { name, keyId, verify: (m, s) => s.length === 64 && verify(publicKey, m, s) };
}

/** A signer for `name` with an Ed25519 key, its raw 32-byte public key and a signing function. */
export function ed25519Signer(
  h: Sha256,
  name: string,
  publicKey: Uint8Array,
  sign: (message: Uint8Array) => Uint8Array,
): NoteSigner {
  checkKeyName(name);
  return { name, keyId: noteKeyId(h, name, ED25519_TYPE, publicKey), sign };
}

/** Text a note may carry: ends in "\n", valid UTF-8 by construction, no control characters but "\n". */
function checkText(text: string): void {
  if (!text.endsWith('\n')) throw new TlogFormatError('note text must end in a newline');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new TlogFormatError('note has a control character');
}

/** Signs `text` (ending in "\n") with each signer: text, a blank line, one signature line each. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  if (signers.length === 0) throw new TlogFormatError('a note needs at least one signer');
  const message = utf8Bytes(text);
  const lines = signers.map(
    (s) => `${EM_DASH} ${s.name} ${toBase64(concatBytes(keyIdBytes(s.keyId), s.sign(message)))}\n`,
  );
  return `${text}\n${lines.join('')}`;
}

/** Splits a signed note into its text and signature lines, checking the format only (no keys needed). */
export function parseNote(note: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  const s = typeof note === 'string' ? note : utf8Text(note);
  checkText(s);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new TlogFormatError('note has no blank line before its signatures');
  const text = s.slice(0, split + 1);
  const lines = s
    .slice(split + 2)
    .slice(0, -1)
    .split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES)
    throw new TlogFormatError(`note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new TlogFormatError(`note signature line ${i + 1} is malformed`);
    const [, name, b64] = m as unknown as [string, string, string];
    checkKeyName(name);
    const raw = fromBase64(b64, `note signature line ${i + 1}`);
    if (raw.length < 5) throw new TlogFormatError(`note signature line ${i + 1} is too short`);
    const keyId = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0;
    return { name, keyId, signature: raw.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Verifies a signed note: signatures from unknown keys (name and ID not both known) are ignored; one from a
 * known key that fails rejects the whole note; at least one known key must have signed.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = parseNote(note);
  const message = utf8Bytes(text);
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  for (const sig of signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v) {
      unknown.push(sig);
      continue;
    }
    if (!v.verify(message, sig.signature))
      throw new TlogVerificationError(`note signature by ${sig.name} does not verify`);
    if (!verified.some((x) => x.name === sig.name && x.keyId === sig.keyId)) verified.push(sig);
  }
  if (verified.length === 0) throw new TlogVerificationError('note is not signed by any known key');
  return { text, verified, unknown };
}
