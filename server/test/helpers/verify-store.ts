import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ClassificationSchema,
  canonicalJson,
  effectiveAction,
  signedPart,
  type Signal,
} from '@catalyst-signal/shared';
import { getMeta, openDb } from '../../src/store/db.js';
import { SIGNING_KEY_FILE } from '../../src/signing.js';
import type { Attempt } from './publishers.js';

export interface StoreReport {
  head: number;
  rows: number;
  epoch: string;
  /** Problems found; empty when the store is consistent with what publishers were told. */
  problems: string[];
  acked: number;
  /** Acknowledged but missing, or stored at another seq / with other content. */
  lost: number;
  unknownStored: number;
  unknownAbsent: number;
  refused: number;
  /** Stored bodies by seq, for comparing with what clients received. */
  bodies: string[];
}

const MAX_PROBLEMS = 20;

/**
 * Read a data directory (server stopped or killed) and check it against every publisher attempt:
 * seqs 1..head contiguous, each row's columns equal to its body, each body's signature valid, every acked
 * classification stored at its acked seq with the content sent, nothing refused stored, nothing stored
 * that nobody sent.
 */
export function verifyStore(dataDir: string, attempts: Iterable<Attempt>): StoreReport {
  const db = openDb(dataDir);
  const problems: string[] = [];
  const problem = (p: string) => void (problems.length < MAX_PROBLEMS && problems.push(p));
  try {
    const epoch = getMeta(db, 'epoch')!;
    const head = Number(getMeta(db, 'head_seq'));
    const rows = db
      .prepare(
        `SELECT seq, source_id, symbol, catalyst, direction, confidence, action, asset_class, sentiment,
                keywords, body FROM signals ORDER BY seq`,
      )
      .all() as {
      seq: number;
      source_id: string;
      symbol: string;
      catalyst: string;
      direction: string;
      confidence: number;
      action: string;
      asset_class: string | null;
      sentiment: number | null;
      keywords: string | null;
      body: string;
    }[];
    const pub = createPublicKey(readFileSync(path.join(dataDir, SIGNING_KEY_FILE)));
    const bySource = new Map<string, Signal>();
    const bodies: string[] = [];
    if (rows.length !== head) problem(`head ${head} but ${rows.length} rows`);
    rows.forEach((r, i) => {
      if (r.seq !== i + 1) problem(`row ${i} has seq ${r.seq}, expected ${i + 1}`);
      let s: Signal;
      try {
        s = JSON.parse(r.body) as Signal;
      } catch {
        return problem(`seq ${r.seq}: body is not JSON`);
      }
      if (
        s.seq !== r.seq ||
        s.source_id !== r.source_id ||
        s.symbol !== r.symbol ||
        s.catalyst !== r.catalyst ||
        (s.direction ?? '') !== r.direction ||
        s.confidence !== r.confidence ||
        effectiveAction(s) !== r.action ||
        (s.asset_class ?? null) !== r.asset_class ||
        (s.sentiment ?? null) !== r.sentiment ||
        (s.keywords?.length ? `,${s.keywords.join(',')},` : null) !== r.keywords
      ) {
        problem(`seq ${r.seq}: columns differ from body`);
      }
      if (s.epoch !== epoch) problem(`seq ${r.seq}: epoch ${s.epoch} != ${epoch}`);
      const [header, , sig] = (s.sig ?? '').split('.');
      const input = Buffer.from(
        `${header}.${Buffer.from(canonicalJson(signedPart(s))).toString('base64url')}`,
      );
      if (!sig || !verify(null, input, pub, Buffer.from(sig, 'base64url')))
        problem(`seq ${r.seq}: signature does not verify`);
      bySource.set(r.source_id, s);
      bodies.push(r.body);
    });
    let acked = 0;
    let lost = 0;
    let unknownStored = 0;
    let unknownAbsent = 0;
    let refused = 0;
    const known = new Set<string>();
    for (const a of attempts) {
      known.add(a.body.source_id);
      const stored = bySource.get(a.body.source_id);
      if (stored && !sameContent(a, stored))
        problem(`${a.body.source_id}: stored content differs from what was sent`);
      if (a.state === 'acked') {
        acked++;
        if (!stored || stored.seq !== a.seq || !sameContent(a, stored)) {
          lost++;
          problem(
            `acked ${a.body.source_id} seq ${a.seq}: ${stored ? `stored at ${stored.seq}` : 'missing'}`,
          );
        }
      } else if (a.state === 'refused') {
        refused++;
        if (stored) problem(`refused (${a.detail}) ${a.body.source_id} is stored at ${stored.seq}`);
      } else if (stored) unknownStored++;
      else unknownAbsent++;
    }
    for (const [sid, s] of bySource) if (!known.has(sid)) problem(`seq ${s.seq}: ${sid} was never sent`);
    return {
      head,
      rows: rows.length,
      epoch,
      problems,
      acked,
      lost,
      unknownStored,
      unknownAbsent,
      refused,
      bodies,
    };
  } finally {
    db.close();
  }
}

function sameContent(a: Attempt, s: Signal): boolean {
  const sent = ClassificationSchema.parse(a.body);
  const { seq: _seq, epoch: _e, ingested_at: _i, sig: _s, ...rest } = s;
  return canonicalJson(sent) === canonicalJson(rest);
}
