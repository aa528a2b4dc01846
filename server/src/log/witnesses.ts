/**
 * The server side of witnessing (docs/transparency-log.md "Witnesses"): a `cosign` frame's line is kept only
 * when it is a valid C2SP tlog-cosignature/v1, by a configured witness key, of a checkpoint this log signed;
 * everything else is counted and dropped. Kept lines are appended to the checkpoint note the log serves.
 */
import {
  TlogFormatError,
  cosignatureVerifier,
  parseCosignatureLine,
  parseNote,
  type CosignatureVerifier,
} from '@catalyst-signal/shared';
import { ed25519Verify, sha256 } from './tlog-crypto.js';

/** What became of one cosign frame (the metric's `result` label). */
export type CosignVerdict =
  'stored' | 'duplicate' | 'malformed' | 'unknown_key' | 'bad_signature' | 'unknown_size';

export interface CosignatureRows {
  /**
   * True when stored, false when this witness already has a line for this size. A store shared by several
   * nodes (cluster mode) answers later and announces stored lines itself, on every node (WitnessBook.announce).
   */
  put(
    witness: string,
    size: number,
    line: string,
    cosignedS: number,
    receivedMs: number,
  ): boolean | Promise<boolean>;
  lines(size: number): string[];
  signedNote(size: number): string | undefined;
}

export interface WitnessBookOptions {
  witnesses: readonly { name: string; vkey: string }[];
  rows: CosignatureRows;
  now?: () => number;
}

export class WitnessBook {
  private readonly verifiers: CosignatureVerifier[];
  private readonly listeners: ((size: number) => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly o: WitnessBookOptions) {
    this.now = o.now ?? Date.now;
    // A bad vkey in the config is the operator's to fix at start, with the key named.
    this.verifiers = o.witnesses.map((w) => {
      try {
        return cosignatureVerifier(sha256, w.vkey, ed25519Verify);
      } catch (e) {
        throw new TlogFormatError(`log.witnesses ${w.name}: ${(e as Error).message}`);
      }
    });
  }

  get size(): number {
    return this.verifiers.length;
  }

  /** Called after a cosignature was stored, with the size it cosigned (to re-serve that checkpoint). */
  onCosigned(listener: (size: number) => void): void {
    this.listeners.push(listener);
  }

  /** A cosignature for `size` is now served: re-serve that checkpoint. */
  announce(size: number): void {
    for (const l of this.listeners) l(size);
  }

  /** Checks and keeps one cosignature line for the checkpoint of `size`. */
  receive(size: number, line: string): CosignVerdict | Promise<CosignVerdict> {
    const c = this.check(size, line);
    if (typeof c === 'string') return c;
    const canonical = line.endsWith('\n') ? line : line + '\n';
    const put = this.o.rows.put(c.vkey, size, canonical, c.timestamp, this.now());
    if (typeof put !== 'boolean') return put.then((stored) => (stored ? 'stored' : 'duplicate'));
    if (!put) return 'duplicate';
    this.announce(size);
    return 'stored';
  }

  /**
   * Whether a line read back from a store other nodes write (cluster mode) is a configured witness's valid
   * cosignature of the note signed at `size`; undefined while that note is not known here. So a node serves
   * only lines it verified itself, whoever wrote them.
   */
  valid(size: number, line: string): boolean | undefined {
    const c = this.check(size, line);
    return c === 'unknown_size' ? undefined : typeof c !== 'string';
  }

  private check(
    size: number,
    line: string,
  ): { vkey: string; timestamp: number } | 'malformed' | 'unknown_key' | 'unknown_size' | 'bad_signature' {
    let sig;
    try {
      sig = parseCosignatureLine(line);
    } catch {
      return 'malformed';
    }
    const v = this.verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v) return 'unknown_key';
    const note = this.o.rows.signedNote(size);
    if (!note) return 'unknown_size';
    const ok = v.verify(parseNote(note).text, sig.signature);
    if (!ok) return 'bad_signature';
    return { vkey: v.vkey, timestamp: ok.timestamp };
  }

  /** `note` (the log's signed checkpoint of `size`) with every cosignature kept for it. */
  attach(size: number, note: string): string {
    const lines = this.o.rows.lines(size);
    return lines.length ? note + lines.join('') : note;
  }
}
