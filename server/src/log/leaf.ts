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

/** What sequencing adds to a classification; the signature covers all of it. */
export function unsignedSignal(
  c: Classification,
  seq: number,
  epoch: string,
  ingestedAt: string,
): UnsignedSignal {
  return { ...c, seq, epoch, ingested_at: ingestedAt };
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
  const signal: Signal = { ...unsigned, sig: sign(unsigned) };
  return { signal, json: canonicalJson(signal) };
}

/** The transparency log's leaf for a stored signal: its stored bytes, UTF-8. */
export function leafBytes(stored: Pick<StoredSignal, 'json'>): Uint8Array {
  return new TextEncoder().encode(stored.json);
}
