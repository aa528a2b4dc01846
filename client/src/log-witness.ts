import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import {
  ClientFrame,
  cosign,
  cosignerVerifierKey,
  ed25519Cosigner,
  parseNote,
  type Cosigner,
  type CosignFrame,
} from '@catalyst-signal/shared';
import { UsageError } from './errors.js';
import { PRIVATE_DIR, PRIVATE_FILE } from './file-modes.js';
import { sha256 } from './log-verify.js';

/**
 * The client as a witness (docs/transparency-log.md "Witnesses"): it cosigns each checkpoint it verified as
 * consistent with everything it saw (C2SP tlog-cosignature/v1) and hands the line back over the stream it came
 * on, so a friend needs no inbound port. Its key is its own, never the server's: a witness vouches for itself.
 */

/** A default key name: stable per machine, without the spaces and '+' key names may not have. */
export const defaultWitnessName = (): string =>
  `witness.${hostname().replace(/[^A-Za-z0-9._-]/g, '-') || 'local'}`;

export interface WitnessKey {
  name: string;
  vkey: string;
  cosigner: Cosigner;
  path: string;
}

function rawPublic(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url'));
}

/**
 * The witness key at `keyFile` (relative to the data dir), generated there (0600) on first use. A file that is
 * not an Ed25519 private key is refused with one line, never replaced: it may be someone's key.
 */
export function loadWitnessKey(dataDir: string, keyFile: string, name: string): WitnessKey {
  const path = isAbsolute(keyFile) ? keyFile : join(dataDir, keyFile);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
    mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR });
    pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    // 'wx': two processes starting at once must not each write a different key.
    try {
      writeFileSync(path, pem, { mode: PRIVATE_FILE, flag: 'wx' });
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      pem = readFileSync(path, 'utf8');
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new UsageError(`log.witness.key_file ${path}: not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new UsageError(`log.witness.key_file ${path}: not an Ed25519 key (${key.asymmetricKeyType})`);
  const pub = rawPublic(key);
  return {
    name,
    path,
    vkey: cosignerVerifierKey(sha256, name, pub),
    cosigner: ed25519Cosigner(sha256, name, pub, (m) => new Uint8Array(sign(null, m, key))),
  };
}

/**
 * Turns checkpoints the verifier accepted as its new latest into `cosign` frames: once per size, only growing
 * (a cosignature says "the largest consistent tree I saw"), timestamped in Unix seconds.
 */
export class Witness {
  private lastSize = -1;

  constructor(
    private readonly key: WitnessKey,
    private readonly now: () => number = Date.now,
  ) {}

  get vkey(): string {
    return this.key.vkey;
  }

  /** `note` is the verified checkpoint as served (any signature lines after its text are ignored). */
  cosign(note: string, size: number): CosignFrame | undefined {
    if (size <= this.lastSize) return undefined;
    this.lastSize = size;
    const { text } = parseNote(note);
    return {
      type: ClientFrame.cosign,
      size,
      cosignature: cosign(this.key.cosigner, text, Math.floor(this.now() / 1000)),
    };
  }
}
