/**
 * The one place a sequenced classification becomes bytes: what is signed and what is stored, served and (as
 * the transparency log's leaf) hashed. Every driver calls this, so the single-node log and the cluster log
 * cannot drift apart in what they sign or in how they serialise (docs/transparency-log.md).
 */
import {
  CanonicalJsonError,
  canonicalJson,
  illFormedStringPath,
  type Classification,
  type Signal,
} from '@catalyst-signal/shared';
import type { SignFn, StoredSignal } from './types.js';

/** A signal before its signature: the classification plus what sequencing adds. */
export type UnsignedSignal = Omit<Signal, 'sig'>;

/**
 * What sequencing adds to a classification; the signature covers all of it. A copy, never the caller's object.
 * Object.assign, not a spread: `{ ...c, seq, ... }` of zod's parsed output cost about 3.3 µs a signal (2 % of
 * single-signal ingest's CPU), this about 0.2 µs. Key order is free: the stored form is canonical (sorted keys).
 */
export function unsignedSignal(
  c: Classification,
  seq: number,
  epoch: string,
  ingestedAt: string,
): UnsignedSignal {
  const u = Object.assign({}, c) as UnsignedSignal;
  u.seq = seq;
  u.epoch = epoch;
  u.ingested_at = ingestedAt;
  return u;
}

/**
 * The bytes a signal's signature covers: the RFC 8785 form of the signal without `sig`. Refuses a string with
 * a lone surrogate (no RFC 8785 form; the ingest edge answers 400 first), so nothing unverifiable is signed.
 */
export function signedPayload(unsigned: UnsignedSignal): string {
  const bad = illFormedStringPath(unsigned);
  if (bad) throw new CanonicalJsonError(`${bad}: lone surrogate, no RFC 8785 form`);
  return canonicalJson(unsigned);
}

/**
 * Signs and serialises once. The stored JSON is the RFC 8785 canonical form of the whole signal including
 * `sig`: the same bytes on every node and in every answer, so a hash of them (the log's leaf) can be checked
 * by anyone holding what they were served, in any language.
 */
export function seal(unsigned: UnsignedSignal, sign: SignFn): StoredSignal {
  const sig = sign(unsigned);
  // Not a spread (see unsignedSignal): a copy with the signature added.
  const signal: Signal = sig === undefined ? unsigned : Object.assign({}, unsigned, { sig });
  return { signal, json: canonicalJson(signal) };
}

/**
 * The SignFn every driver seals with: the node's key, or no per-signal signature at all when the operator
 * turned them off (config `log.signal_signatures: false`) once every client verifies the transparency log
 * instead: a signal is then proven by its checkpoint (one signature per checkpoint, not one per signal).
 */
export function signalSigner(signer: { sign(u: UnsignedSignal): string }, perSignal: boolean): SignFn {
  return perSignal ? (u) => signer.sign(u) : () => undefined;
}

/** A leaf is at most this many bytes: C2SP entry bundles prefix each with a uint16 length. */
export const MAX_LEAF_BYTES = 0xffff;
/**
 * What sequencing adds to a classification at most, in bytes: `"epoch"` (64), `"ingested_at"` (24), `"seq"`
 * (16 digits) and `"sig"` (the schema's 512), with their names, quotes and commas.
 */
const SEALED_EXTRA = 11 + 64 + 17 + 24 + 7 + 16 + 9 + 512;
/**
 * RFC 8785 can lengthen only number tokens (`9e20`, 4 bytes, is written as 21 digits); strings and whitespace
 * only shrink. So a classification parsed from `rawBytes` of JSON has a canonical form of at most this factor.
 */
const MAX_CANONICAL_GROWTH = 5.25;

/**
 * Why this classification's stored form could exceed a leaf's limit, or undefined. Exact (one canonical
 * serialisation) only when the body it came from is large enough for that to be possible: the ingest hot path
 * pays nothing for ordinary signals. Today's schema keeps every classification far below it (about 15 KB at
 * most); this guards any field added later.
 */
export function leafTooLarge(c: Classification, rawBytes: number): string | undefined {
  if (rawBytes * MAX_CANONICAL_GROWTH + SEALED_EXTRA <= MAX_LEAF_BYTES) return undefined;
  const bytes = new TextEncoder().encode(canonicalJson(c)).length + SEALED_EXTRA;
  if (bytes <= MAX_LEAF_BYTES) return undefined;
  return `stored with its seq, epoch, time and signature it could take ${bytes} bytes; one signal may take at most ${MAX_LEAF_BYTES} (the transparency log's entry limit): shorten its text or meta`;
}

/** The transparency log's leaf for a stored signal: its stored bytes, UTF-8. */
export function leafBytes(stored: Pick<StoredSignal, 'json'>): Uint8Array {
  return new TextEncoder().encode(stored.json);
}
