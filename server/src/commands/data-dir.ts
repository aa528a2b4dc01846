import { existsSync, readFileSync } from 'node:fs';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { SIGNING_KEY_FILE } from '../signing.js';
import { DB_FILE, openDb, type Db, type OpenOptions } from '../store/db.js';

/**
 * Only `init` and `serve` (first start) create a data directory. Every other command works on an existing
 * one: run from the wrong directory or with a typo in --data-dir, it must say so, not quietly create a
 * fresh database (and a new signing key) and answer "no keys" or a new fingerprint.
 */
export function requireDataDir(dataDir: string): string {
  const dir = path.resolve(dataDir);
  const hint = `create one with \`catalyst-server init --data-dir ${dataDir}\`, or pass the right --data-dir / CATALYST_DATA_DIR`;
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
  const file = path.join(requireDataDir(dataDir), SIGNING_KEY_FILE);
  if (!existsSync(file))
    throw new UsageError(
      `${path.dirname(file)} has no ${SIGNING_KEY_FILE} yet: the server creates it on its first start (or run init)`,
    );
  return createPrivateKey(readFileSync(file));
}
