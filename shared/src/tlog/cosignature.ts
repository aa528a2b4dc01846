/**
 * C2SP tlog-cosignature/v1 (https://c2sp.org/tlog-cosignature) with Ed25519: a witness's timestamped signature
 * of a checkpoint it verified as consistent with everything it saw before, written as one more signed-note line.
 * The key ID uses type 0x04, so a cosigner key can never be mistaken for (or replayed as) the log's own 0x01 key.
 */
import { concatBytes, fromBase64, TlogFormatError, toBase64, utf8Bytes } from './bytes.js';
import type { Sha256 } from './merkle.js';
import {
  checkKeyName,
  keyIdBytes,
  noteKeyId,
  parseNote,
  parseVerifierKey,
  type Ed25519Verify,
  type NoteSignature,
} from './note.js';

/** Signature type byte of an Ed25519 cosignature/v1 (key IDs and vkeys). */
export const COSIGNATURE_V1_TYPE = 0x04;
/** u64 timestamp ‖ 64-byte Ed25519 signature. */
const COSIGNATURE_BYTES = 8 + 64;
const EM_DASH = '\u2014';

/** What a witness signs: `cosignature/v1\ntime <t>\n` and the checkpoint's whole note text (with its "\n"). */
export function cosignatureMessage(checkpointText: string, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    throw new TlogFormatError('cosignature timestamp: not a non-negative integer of seconds');
  if (!checkpointText.endsWith('\n')) throw new TlogFormatError('checkpoint text must end in a newline');
  return utf8Bytes(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`);
}

/** `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`: a witness's verifier key. */
export function cosignerVerifierKey(h: Sha256, name: string, publicKey: Uint8Array): string {
  checkKeyName(name);
  if (publicKey.length !== 32) throw new TlogFormatError('an Ed25519 public key is 32 bytes');
  const id = noteKeyId(h, name, COSIGNATURE_V1_TYPE, publicKey);
  const hex = Array.from(keyIdBytes(id), (x) => x.toString(16).padStart(2, '0')).join('');
  return `${name}+${hex}+${toBase64(concatBytes(new Uint8Array([COSIGNATURE_V1_TYPE]), publicKey))}`;
}

export interface Cosigner {
  readonly name: string;
  readonly keyId: number;
  sign(message: Uint8Array): Uint8Array;
}

/** A cosigner for `name` with an Ed25519 key: its raw 32-byte public key and a signing function. */
export function ed25519Cosigner(
  h: Sha256,
  name: string,
  publicKey: Uint8Array,
  sign: (message: Uint8Array) => Uint8Array,
): Cosigner {
  checkKeyName(name);
  return { name, keyId: noteKeyId(h, name, COSIGNATURE_V1_TYPE, publicKey), sign };
}

/** The signature line (`— <name> <base64>\n`) cosigning `checkpointText` at `timestamp` (Unix seconds). */
export function cosign(cosigner: Cosigner, checkpointText: string, timestamp: number): string {
  const sig = cosigner.sign(cosignatureMessage(checkpointText, timestamp));
  if (sig.length !== 64) throw new TlogFormatError('an Ed25519 signature is 64 bytes');
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(timestamp));
  return `${EM_DASH} ${cosigner.name} ${toBase64(concatBytes(keyIdBytes(cosigner.keyId), ts, sig))}\n`;
}

export interface CosignatureVerifier {
  readonly name: string;
  readonly keyId: number;
  /** The vkey this verifier was made from (what a policy names). */
  readonly vkey: string;
  /** The cosignature's timestamp when `signature` (the bytes after the key ID) cosigns `checkpointText`. */
  verify(checkpointText: string, signature: Uint8Array): { timestamp: number } | undefined;
}

/** The timestamp and Ed25519 signature inside a cosignature's bytes (after the key ID). */
export function splitCosignature(signature: Uint8Array): { timestamp: number; sig: Uint8Array } {
  if (signature.length !== COSIGNATURE_BYTES)
    throw new TlogFormatError(`a cosignature is ${COSIGNATURE_BYTES} bytes after its key ID`);
  const t = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
  // The spec allows up to 2^63 - 1; past 2^53 the time is absurd and cannot be a JS number exactly.
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) throw new TlogFormatError('cosignature timestamp out of range');
  return { timestamp: Number(t), sig: signature.subarray(8) };
}

/** A cosignature verifier from a witness vkey (type 0x04); refuses other key types and a wrong key ID. */
export function cosignatureVerifier(h: Sha256, vkey: string, verify: Ed25519Verify): CosignatureVerifier {
  const { name, keyId, publicKey } = parseVerifierKey(h, vkey, COSIGNATURE_V1_TYPE);
  return {
    name,
    keyId,
    vkey,
    verify: (text, signature) => {
      let parts: { timestamp: number; sig: Uint8Array };
      try {
        parts = splitCosignature(signature);
      } catch {
        return undefined;
      }
      return verify(publicKey, cosignatureMessage(text, parts.timestamp), parts.sig)
        ? { timestamp: parts.timestamp }
        : undefined;
    },
  };
}

/** A parsed cosignature line: one signed-note signature line. */
export function parseCosignatureLine(line: string): NoteSignature {
  const m = /^\u2014 (\S+) (\S+)\n?$/u.exec(line);
  if (!m) throw new TlogFormatError('cosignature line: expected "— <name> <base64>"');
  const [, name, b64] = m as unknown as [string, string, string];
  checkKeyName(name);
  const raw = fromBase64(b64, 'cosignature line');
  if (raw.length !== 4 + COSIGNATURE_BYTES) throw new TlogFormatError('cosignature line: wrong length');
  const keyId = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0;
  return { name, keyId, signature: raw.subarray(4) };
}

export interface VerifiedCosignature {
  name: string;
  vkey: string;
  timestamp: number;
}

/**
 * The cosignatures on a signed note that verify with one of `verifiers` (one per witness). Lines from unknown
 * keys are ignored, as signed-note requires; a known key's line that fails is not counted (a witness that did
 * not cosign this text has not vouched for it), but never makes the note itself invalid.
 */
export function verifiedCosignatures(
  note: string,
  verifiers: readonly CosignatureVerifier[],
): VerifiedCosignature[] {
  const { text, signatures } = parseNote(note);
  const out: VerifiedCosignature[] = [];
  for (const s of signatures) {
    const v = verifiers.find((k) => k.name === s.name && k.keyId === s.keyId);
    if (!v || out.some((x) => x.vkey === v.vkey)) continue;
    const ok = v.verify(text, s.signature);
    if (ok) out.push({ name: v.name, vkey: v.vkey, timestamp: ok.timestamp });
  }
  return out;
}

/** The note with `lines` (each `— ...\n`) appended after its existing signatures. */
export function appendSignatureLines(note: string, lines: readonly string[]): string {
  return note + lines.join('');
}
