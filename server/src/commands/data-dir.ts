import { existsSync, readFileSync } from 'node:fs';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { SIGNING_KEY_FILE } from '../signing.js';
import { DB_FILE, getMeta, openDb, type Db, type OpenOptions } from '../store/db.js';
import { CLUSTER_EPOCH_KEY } from '../store/replica.js';

/**
 * Only `init` and `serve` (first start) create a data directory. Every other command works on an existing
 * one: run from the wrong directory or with a typo in --data-dir, it must say so, not quietly create a
 * fresh database (and a new signing key) and answer "no keys" or a new fingerprint.
 */
export function requireDataDir(dataDir: string): string {
  const dir = path.resolve(dataDir);
  const hint = `create one with \`npx --no -- catalyst-server init --data-dir ${dataDir}\`, or pass the right --data-dir / CATALYST_DATA_DIR`;
  if (!existsSync(dir)) throw new UsageError(`no data directory at ${dir}: ${hint}`);
  if (!existsSync(path.join(dir, DB_FILE)))
    throw new UsageError(`${dir} is not an initialised data directory (no ${DB_FILE}): ${hint}`);
  return dir;
}

/** Open the database of an existing data directory (never creates one). */
export function openExistingDb(dataDir: string, options: Omit<OpenOptions, 'mustExist'> = {}): Db {
  return openDb(requireDataDir(dataDir), { ...options, mustExist: true });
}

/** The signing key of an existing data directory (never generates one). */
export function loadExistingSigningKey(dataDir: string): KeyObject {
  const dir = requireDataDir(dataDir);
  const file = path.join(dir, SIGNING_KEY_FILE);
  if (!existsSync(file)) {
    // A gateway's replica never gets a signing key (only ingest nodes sign): "created on first start" would
    // send its operator waiting for something that never comes.
    if (isGatewayReplica(dir))
      throw new UsageError(
        `${dir} is a cluster gateway's replica: gateways hold no ${SIGNING_KEY_FILE} (only ingest nodes sign). Run \`keys signing\` on the ingest node's data directory, or read the public key any node serves: GET /v1/keys/signing (e.g. curl -s http://127.0.0.1:8787/v1/keys/signing; its kid is the fingerprint after SHA256:)`,
      );
    throw new UsageError(
      `${dir} has no ${SIGNING_KEY_FILE} yet: a single node creates it on its first start (or run init); in cluster mode the first ingest node's start does`,
    );
  }
  return createPrivateKey(readFileSync(file));
}

/** Whether the data directory holds a gateway's replica of a cluster log (it records the cluster's epoch). */
function isGatewayReplica(dir: string): boolean {
  const db = openExistingDb(dir, { readonly: true });
  try {
    return getMeta(db, CLUSTER_EPOCH_KEY) !== undefined;
  } finally {
    db.close();
  }
}
