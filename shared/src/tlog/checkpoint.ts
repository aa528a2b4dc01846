/**
 * C2SP tlog-checkpoint (the signed note text of a tree head) and tlog-proof (one entry's offline-verifiable
 * inclusion proof: https://c2sp.org/tlog-proof).
 */
import { fromBase64, TlogFormatError, toBase64 } from './bytes.js';
import { leafHash, verifyInclusion, type Sha256 } from './merkle.js';
import { openNote, TlogVerificationError, type NoteVerifier, type OpenedNote } from './note.js';

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** Opaque extension lines (NOT RECOMMENDED by the spec; kept so a parsed checkpoint round-trips). */
  extensions?: string[];
}

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
const DECIMAL = /^(0|[1-9][0-9]*)$/;

function decimal(s: string, what: string): number {
  const n = Number(s);
  if (!DECIMAL.test(s) || !Number.isSafeInteger(n))
    throw new TlogFormatError(`${what}: not a decimal without leading zeros`);
  return n;
}

function hash32(s: string, what: string): Uint8Array {
  const b = fromBase64(s, what);
  if (b.length !== 32) throw new TlogFormatError(`${what}: not a 32-byte hash`);
  return b;
}

/** The note text of a checkpoint: `<origin>\n<size>\n<base64 root>\n` and any extension lines. */
export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin === '' || c.origin.includes('\n'))
    throw new TlogFormatError('checkpoint origin: empty or multi-line');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new TlogFormatError('checkpoint size: not a size');
  if (c.rootHash.length !== 32) throw new TlogFormatError('checkpoint root: not a 32-byte hash');
  const ext = c.extensions ?? [];
  if (ext.some((l) => l === '' || l.includes('\n')))
    throw new TlogFormatError('checkpoint extension line: empty or multi-line');
  return [c.origin, String(c.size), toBase64(c.rootHash), ...ext].map((l) => l + '\n').join('');
}

/** Parses a checkpoint's note text (what openNote returns), not the signed note itself. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new TlogFormatError('checkpoint text must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new TlogFormatError('checkpoint has fewer than three lines');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === '') throw new TlogFormatError('checkpoint origin is empty');
  if (extensions.some((l) => l === '')) throw new TlogFormatError('checkpoint has an empty extension line');
  return {
    origin,
    size: decimal(size, 'checkpoint size'),
    rootHash: hash32(root, 'checkpoint root'),
    ...(extensions.length ? { extensions } : {}),
  };
}

/** Opens a signed checkpoint: the note verifies with a known key, and the origin is the expected one. */
export function openCheckpoint(
  note: string | Uint8Array,
  origin: string,
  verifiers: readonly NoteVerifier[],
): { checkpoint: Checkpoint; note: OpenedNote } {
  const opened = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== origin)
    throw new TlogFormatError(
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(origin)}`,
    );
  return { checkpoint, note: opened };
}

export interface TlogProof {
  /** Opaque, unauthenticated extra data. */
  extra?: Uint8Array;
  /** The entry's 0-based index. */
  index: number;
  /** Inclusion proof, the leaf's sibling first. */
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  checkpoint: string;
}

export function formatTlogProof(p: TlogProof): string {
  const lines = [TLOG_PROOF_HEADER];
  if (p.extra) lines.push(`extra ${toBase64(p.extra)}`);
  lines.push(`index ${p.index}`, ...p.proof.map(toBase64));
  return lines.map((l) => l + '\n').join('') + '\n' + p.checkpoint;
}

/** Parses a tlog-proof file; the checkpoint that follows the first blank line is kept verbatim. */
export function parseTlogProof(file: string): TlogProof {
  const split = file.indexOf('\n\n');
  if (split < 0) throw new TlogFormatError('tlog-proof: no blank line before the checkpoint');
  const lines = file.slice(0, split).split('\n');
  if (lines[0] !== TLOG_PROOF_HEADER)
    throw new TlogFormatError(`tlog-proof: first line is not ${TLOG_PROOF_HEADER}`);
  let at = 1;
  let extra: Uint8Array | undefined;
  if (lines[at]?.startsWith('extra ')) extra = fromBase64(lines[at++]!.slice(6), 'tlog-proof extra');
  const indexLine = lines[at++];
  if (!indexLine?.startsWith('index ')) throw new TlogFormatError('tlog-proof: no index line');
  const index = decimal(indexLine.slice(6), 'tlog-proof index');
  const proof = lines.slice(at).map((l, i) => hash32(l, `tlog-proof hash ${i + 1}`));
  return { ...(extra ? { extra } : {}), index, proof, checkpoint: file.slice(split + 2) };
}

/**
 * Verifies a tlog-proof file for `leaf` (the entry's bytes): the checkpoint is signed by a known key for
 * `origin`, and the inclusion proof binds the leaf at its index to the checkpoint's root. Throws on any failure.
 */
export function verifyTlogProof(
  h: Sha256,
  file: string,
  leaf: Uint8Array,
  origin: string,
  verifiers: readonly NoteVerifier[],
): { index: number; checkpoint: Checkpoint } {
  const p = parseTlogProof(file);
  const { checkpoint } = openCheckpoint(p.checkpoint, origin, verifiers);
  if (!verifyInclusion(h, p.index, checkpoint.size, leafHash(h, leaf), p.proof, checkpoint.rootHash))
    throw new TlogVerificationError(
      `tlog-proof: entry ${p.index} is not in the checkpoint of size ${checkpoint.size}`,
    );
  return { index: p.index, checkpoint };
}
