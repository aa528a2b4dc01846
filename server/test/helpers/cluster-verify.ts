import { verify, type KeyObject } from 'node:crypto';
import { canonicalJson, signedPart, type Signal } from '@catalyst-signal/shared';
import { subjectFor } from '../../src/jetstream/cluster-log.js';
import type { NatsHandle } from '../../src/jetstream/connection.js';
import { readRange } from '../../src/jetstream/read-range.js';

export interface ClusterLogReport {
  lastSeq: number;
  /** source_id → seq, as stored. */
  bySource: Map<string, number>;
  /** source_id → the stored signal. */
  signals: Map<string, Signal>;
  /** Problems found; empty when the log is consistent. */
  problems: string[];
}

const MAX_PROBLEMS = 20;

/**
 * Reads the whole cluster log and checks what every driver must guarantee: stream seqs 1..last with no hole,
 * each message's bytes in RFC 8785 form, its signed seq equal to its stream seq, one subject per source_id, the cluster epoch, a valid
 * signature, and no source_id stored twice.
 */
export async function verifyClusterLog(
  h: NatsHandle,
  stream: string,
  epoch: string,
  publicKey: KeyObject,
): Promise<ClusterLogReport> {
  const info = await h.jsm.streams.info(stream);
  const { first_seq, last_seq, messages } = info.state;
  const problems: string[] = [];
  const problem = (p: string) => void (problems.length < MAX_PROBLEMS && problems.push(p));
  if (last_seq > 0 && first_seq !== 1) problem(`first seq ${first_seq}, expected 1`);
  if (messages !== last_seq) problem(`${messages} messages for last seq ${last_seq}: holes`);
  const bySource = new Map<string, number>();
  const signals = new Map<string, Signal>();
  await readRange(h, stream, 1, last_seq, (e) => {
    let s: Signal;
    try {
      s = JSON.parse(e.json) as Signal;
    } catch {
      return problem(`seq ${e.seq}: not JSON`);
    }
    // The stored bytes are the log's leaf: exactly the RFC 8785 form, whichever node sequenced them.
    if (e.json !== canonicalJson(s)) problem(`seq ${e.seq}: stored bytes are not the RFC 8785 form`);
    if (s.seq !== e.seq) problem(`stream seq ${e.seq} holds a signal signed as seq ${s.seq}`);
    if (s.epoch !== epoch) problem(`seq ${e.seq}: epoch ${s.epoch} != ${epoch}`);
    if (e.subject !== subjectFor(s.source_id))
      problem(`seq ${e.seq}: subject ${e.subject} is not its source_id's`);
    const earlier = bySource.get(s.source_id);
    if (earlier !== undefined) problem(`source_id ${s.source_id} stored twice: seqs ${earlier} and ${e.seq}`);
    bySource.set(s.source_id, e.seq);
    signals.set(s.source_id, s);
    const [header, , sig] = (s.sig ?? '').split('.');
    const input = Buffer.from(`${header}.${Buffer.from(canonicalJson(signedPart(s))).toString('base64url')}`);
    if (!sig || !verify(null, input, publicKey, Buffer.from(sig, 'base64url')))
      problem(`seq ${e.seq}: signature does not verify`);
  });
  return { lastSeq: last_seq, bySource, signals, problems };
}
