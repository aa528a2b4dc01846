import { statSync } from 'node:fs';
import path from 'node:path';
import { dbSizeBytes, getMeta } from '../store/db.js';
import { KeyStore } from '../store/keys.js';
import { CLUSTER_EPOCH_KEY } from '../store/replica.js';
import { SignalStore } from '../store/signals.js';
import { UsageError } from '../errors.js';
import { openExistingDb } from './data-dir.js';

/** Online, consistent copy through SQLite's backup API; safe while the server writes. */
export async function dbBackup(
  o: { dataDir: string; file: string },
  progress: (msg: string) => void,
): Promise<string> {
  const db = openExistingDb(o.dataDir);
  try {
    const target = path.resolve(o.file);
    await db.backup(target, {
      progress({ totalPages, remainingPages }) {
        progress(`backup: ${totalPages - remainingPages}/${totalPages} pages`);
        return 1000;
      },
    });
    return `backup written to ${target} (${statSync(target).size} bytes)`;
  } finally {
    db.close();
  }
}

export function dbPrune(o: { dataDir: string; keepDays: string }): string {
  const days = Number(o.keepDays);
  if (!Number.isFinite(days) || days < 0) throw new UsageError('--keep-days must be a number >= 0');
  const db = openExistingDb(o.dataDir);
  try {
    const store = new SignalStore(db);
    const deleted = store.pruneBefore(Date.now() - days * 86_400_000);
    return `deleted ${deleted} signal(s) older than ${days} day(s); head stays ${store.head} (seqs are never reused), oldest kept ${store.firstSeq()}`;
  } finally {
    db.close();
  }
}

export interface CheckReport {
  ok: boolean;
  lines: string[];
}

/** SQLite integrity plus the log's own invariants: contiguous retained seqs, head >= newest. */
export function dbCheck(o: { dataDir: string }): CheckReport {
  const db = openExistingDb(o.dataDir);
  try {
    const lines: string[] = [];
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    lines.push(`integrity_check: ${integrity}`);
    const { n, lo, hi } = db.prepare('SELECT count(*) n, min(seq) lo, max(seq) hi FROM signals').get() as {
      n: number;
      lo: number | null;
      hi: number | null;
    };
    const head = Number(getMeta(db, 'head_seq'));
    const contiguous = n === 0 || hi! - lo! + 1 === n;
    lines.push(
      `signals: ${n} retained (${lo ?? '-'}..${hi ?? '-'}), head ${head}, contiguous: ${contiguous ? 'yes' : 'NO'}`,
    );
    const clusterEpoch = getMeta(db, CLUSTER_EPOCH_KEY);
    if (clusterEpoch !== undefined)
      lines.push(
        `gateway replica of cluster epoch ${clusterEpoch} (if the gateway reports it diverged: stop it, \`catalyst-server db replica-reset\`, start it)`,
      );
    const headOk = hi === null || head >= hi;
    if (!headOk) lines.push(`head ${head} is below the newest stored seq ${hi}: seqs could be reused`);
    return { ok: integrity === 'ok' && contiguous && headOk, lines };
  } finally {
    db.close();
  }
}

export function stats(o: { dataDir: string; json?: boolean }): string {
  const db = openExistingDb(o.dataDir);
  try {
    const store = new SignalStore(db);
    const keys = new KeyStore(db).list();
    const s = {
      data_dir: o.dataDir,
      epoch: store.epoch,
      head_seq: store.head,
      first_seq: store.firstSeq(),
      retained: store.countAfter(store.firstSeq() - 1),
      keys_active: keys.filter((k) => !k.revoked_at).length,
      keys_revoked: keys.filter((k) => k.revoked_at).length,
      db_bytes: dbSizeBytes(o.dataDir),
      created_at: getMeta(db, 'created_at'),
    };
    return o.json
      ? JSON.stringify(s, null, 2)
      : Object.entries(s)
          .map(([k, v]) => `${k.padEnd(14)} ${v}`)
          .join('\n');
  } finally {
    db.close();
  }
}
