import { readFileSync, writeFileSync } from 'node:fs';
import { SignalSchema, type Signal } from '@catalyst-signal/shared';
import type { Context } from '../context.js';
import { LogHalted, UsageError } from '../errors.js';
import { failover, fetchHistory, fetchLogText } from '../http.js';
import { Journal } from '../journal/index.js';
import { pinnedOrFetch } from '../keys.js';
import { LogMisbehaviour, LogVerifier, leafBytes, verifyEvidence } from '../log-verify.js';
import { tileLeaves, type TileLeaves } from '../log-tiles.js';
import { defaultWitnessName, loadWitnessKey } from '../log-witness.js';
import { PATHS, parseTlogProof } from '@catalyst-signal/shared';

/** `catalyst-client log ...`: the transparency log from the command line (docs/transparency-log.md). */

async function verifierFor(ctx: Context, journal: Journal): Promise<LogVerifier> {
  const key = await pinnedOrFetch(ctx.config, journal);
  if (!ctx.secrets.serverKey)
    throw new UsageError(`${ctx.config.server.key_env} is not set (environment or .env)`);
  return new LogVerifier({
    baseUrls: ctx.config.server.urls,
    key: ctx.secrets.serverKey,
    jwkX: (key.jwk as { x?: string }).x ?? '',
    store: journal,
    maxWaitMs: ctx.config.log.max_proof_wait_ms,
    evidenceDir: ctx.dataDir,
  });
}

const halted = (e: LogMisbehaviour) =>
  new LogHalted(`LOG CHECK FAILED: ${e.message}`, e.evidencePath, {
    first: `give the evidence to the server operator and your friends${e.evidencePath ? ` (check it: catalyst-client log verify-evidence ${e.evidencePath})` : ''}`,
    commands: ['log verify'],
  });

/**
 * `log verify`: every signal this journal decided (current epoch) proven again, from scratch, against the
 * server's log as it is now, and the log's checkpoint against the one the journal verified last.
 */
export async function logVerifyCommand(ctx: Context, progress: (line: string) => void): Promise<string> {
  const journal = Journal.openExisting(ctx.journalPath, ctx.configPath);
  try {
    const epoch = journal.cursor().epoch;
    if (!epoch) return 'nothing to verify: this journal has not decided a signal yet';
    const verifier = await verifierFor(ctx, journal);
    const total = journal.journaledSignalCount(epoch);
    // Most signals at once from the hash tiles; the rest (and any the tiles disagree with) one proof each.
    let tiles: TileLeaves;
    try {
      tiles = await tileLeaves(verifier, progress);
    } catch (e) {
      if (e instanceof LogMisbehaviour) throw halted(e);
      throw e;
    }
    if (!tiles.ok) progress(`hash tiles not used (${tiles.why}): one proof per signal`);
    let done = 0;
    let fromTiles = 0;
    let lastReport = Date.now();
    for (const row of journal.journaledSignals(epoch)) {
      const signal = SignalSchema.parse(JSON.parse(row.signal)) as Signal;
      if (tiles.ok && tiles.has(signal)) fromTiles++;
      else {
        try {
          await verifier.prove(signal);
        } catch (e) {
          throw e instanceof LogMisbehaviour ? halted(e) : e;
        }
      }
      done++;
      if (Date.now() - lastReport >= 2000) {
        lastReport = Date.now();
        progress(`verified ${done}/${total} signals (seq ${row.seq})`);
      }
    }
    const how = tiles.ok
      ? ` (${fromTiles} from ${tiles.tiles} hash tile${tiles.tiles === 1 ? '' : 's'} of the checkpoint of size ${tiles.size}, ${done - fromTiles} by their own proof)`
      : '';
    return `all ${done} journaled signals of epoch ${epoch} are in the server's log, consistent with the checkpoint this journal verified${how}`;
  } finally {
    journal.close();
  }
}

/** `log proof SEQ`: one signal's tlog-proof file, checked against the pinned key before it is written. */
export async function logProofCommand(ctx: Context, seq: number, out: string | undefined): Promise<string> {
  const journal = Journal.openExisting(ctx.journalPath, ctx.configPath);
  try {
    const verifier = await verifierFor(ctx, journal);
    const key = ctx.secrets.serverKey;
    const page = await failover(ctx.config.server.urls, (baseUrl, failFast) =>
      fetchHistory({ baseUrl, key, failFast }, seq - 1, 1),
    );
    const signal = page.signals[0];
    if (signal?.seq !== seq) throw new UsageError(`the server has no signal with seq ${seq}`);
    try {
      await verifier.prove(signal);
    } catch (e) {
      throw e instanceof LogMisbehaviour ? halted(e) : e;
    }
    const file = await failover(ctx.config.server.urls, (baseUrl) =>
      fetchLogText({ baseUrl, key }, `${PATHS.logProof}/${seq}`),
    );
    parseTlogProof(file);
    const path = out ?? `tlog-proof-${seq}.txt`;
    writeFileSync(path, file);
    writeFileSync(`${path}.leaf`, leafBytes(signal));
    return `wrote ${path} (and the signal's leaf bytes to ${path}.leaf): seq ${seq} is proven against a checkpoint signed with the pinned key`;
  } finally {
    journal.close();
  }
}

/** `log verify-evidence FILE`: offline; exit 0 when the file shows what it claims, 1 when it does not. */
export function logVerifyEvidenceCommand(
  path: string,
  vkey: string | undefined,
): { code: number; text: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${path}: not a readable JSON evidence file (${(e as Error).message})`);
  }
  const v = verifyEvidence(raw, vkey);
  const verdict = v.holds
    ? v.conclusive
      ? 'EVIDENCE HOLDS (conclusive): the log signed two different histories'
      : 'EVIDENCE HOLDS: the server could not prove its signed checkpoints cover what it served'
    : 'evidence does NOT hold';
  return { code: v.holds ? 0 : 1, text: [...v.lines, verdict].join('\n') };
}

/** `log witness-key`: the witness verifier key (type 0x04), generating the private key on first use. */
export function logWitnessKeyCommand(ctx: Context): string {
  const w = ctx.config.log.witness;
  return loadWitnessKey(ctx.dataDir, w.key_file, w.name ?? defaultWitnessName()).vkey;
}
