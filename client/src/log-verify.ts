import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  PATHS,
  canonicalJson,
  ed25519Verifier,
  ed25519VerifierKey,
  formatTlogProof,
  fromBase64,
  leafHash,
  openCheckpoint,
  parseNote,
  parseTlogProof,
  toBase64,
  utf8Bytes,
  verifyConsistency,
  verifyInclusion,
  type Checkpoint,
  type CheckpointFrame,
  type CosignFrame,
  type NoteVerifier,
  type Sha256,
  type Signal,
  type StreamCoreOptions,
} from '@catalyst-signal/shared';
import {
  HttpError,
  fetchLogBytes,
  fetchLogText,
  failover,
  startingAt,
  streamUrl,
  type ServerHttp,
} from './http.js';
import { TileProver } from './log-tile-proofs.js';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { VerifiedCheckpointRow } from './journal/index.js';

/**
 * The client side of the transparency log (docs/transparency-log.md): every signal is applied only once an
 * inclusion proof places its exact bytes in a checkpoint signed with the pinned server key, and every checkpoint
 * is proven consistent with the latest one this journal verified before. A failure is not retried around: it
 * is written down as evidence (both signed checkpoints, the proof, the leaf) and trading halts.
 */

export const sha256: Sha256 = (d) => new Uint8Array(createHash('sha256').update(d).digest());

export const ed25519Verify = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => {
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') },
      format: 'jwk',
    });
    return edVerify(null, msg, key, sig);
  } catch {
    return false;
  }
};

/** The leaf bytes of a signal: its RFC 8785 form, `sig` included, exactly as the server stores and serves it. */
export const leafBytes = (signal: Signal): Uint8Array => utf8Bytes(canonicalJson(signal));

/** The log's verifier key for `origin`: the pinned server signing key (a JWK's `x`) under the origin's name. */
export function logVkey(origin: string, jwkX: string): string {
  return ed25519VerifierKey(sha256, origin, new Uint8Array(Buffer.from(jwkX, 'base64url')));
}

export const EVIDENCE_FORMAT = 'catalyst-tlog-evidence/v1';

/** What an evidence file claims; `log verify-evidence` re-checks it offline from the file alone (and a key). */
export const EvidenceSchema = z.strictObject({
  format: z.literal(EVIDENCE_FORMAT),
  claim: z.enum(['inconsistent_checkpoints', 'inclusion_failed']),
  found_at: z.string(),
  server: z.string(),
  /** The gateway that served old_checkpoint, when two gateways of one cluster were compared (log-gossip.ts). */
  old_server: z.string().optional(),
  origin: z.string().min(1),
  /** The verifier key the checkpoints were checked with (derived from the pinned key; compare it yourself). */
  vkey: z.string().min(1),
  /** The checkpoint this client had verified before, or another gateway served (inconsistent_checkpoints). */
  old_checkpoint: z.string().optional(),
  /** The checkpoint the server served now. */
  new_checkpoint: z.string(),
  /** Base64 hashes from GET /v1/log/consistency (inconsistent_checkpoints, sizes differ). */
  consistency_proof: z.array(z.string()).optional(),
  /** inclusion_failed: the seq, the leaf bytes (base64) as served, and the served tlog-proof file. */
  seq: z.int().min(1).optional(),
  leaf: z.string().optional(),
  tlog_proof: z.string().optional(),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

/** The log proved the server misbehaved: trading halts, and `evidencePath` holds the proof of it. */
export class LogMisbehaviour extends Error {
  override name = 'LogMisbehaviour';
  constructor(
    message: string,
    readonly evidence: Evidence,
    readonly evidencePath: string | undefined,
  ) {
    super(evidencePath ? `${message}; evidence written to ${evidencePath}` : message);
  }
}

/** Writes an evidence file into `dir` and returns the halt that names it (also used by log-gossip.ts). */
export function writeEvidence(
  dir: string,
  e: Omit<Evidence, 'format' | 'found_at'>,
  message: string,
  now: number,
): LogMisbehaviour {
  const full: Evidence = { format: EVIDENCE_FORMAT, found_at: new Date(now).toISOString(), ...e };
  let path: string | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    path = join(dir, `tlog-evidence-${full.found_at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(path, JSON.stringify(full, null, 2) + '\n', { mode: 0o644 });
  } catch {
    path = undefined; // the halt matters more than the file; the message still says what was found
  }
  return new LogMisbehaviour(message, full, path);
}

/** A signal that could not be proven in time (no checkpoint covering it, the log unreachable): not applied. */
export class ProofTimeout extends Error {
  override name = 'ProofTimeout';
}

export interface LogVerifierOptions {
  baseUrls: readonly string[];
  key: string;
  /** The pinned server signing key's `x` (Ed25519, base64url): the only key a checkpoint is trusted under. */
  jwkX: string;
  store: {
    verifiedCheckpoint(origin: string): VerifiedCheckpointRow | undefined;
    saveVerifiedCheckpoint(row: VerifiedCheckpointRow): void;
  };
  maxWaitMs: number;
  /** Where evidence files go (the journal's directory). */
  evidenceDir: string;
  signal?: AbortSignal | undefined;
  now?: () => number;
  /** Between two asks for a proof the server does not have yet. */
  pollMs?: number;
}

interface Opened {
  origin: string;
  checkpoint: Checkpoint;
  note: string;
}

/** Checks signals and checkpoints against the server's log; keeps the latest verified checkpoint in the journal. */
export class LogVerifier {
  private readonly verifiers = new Map<string, NoteVerifier>();
  private readonly now: () => number;
  /** Inclusion proofs from checkpoint frames, by leaf index, against checkpoints already accepted. */
  private readonly framed = new Map<number, { opened: Opened; hashes: string[]; server: string }>();
  /** Frames are taken one at a time, in order (each one's consistency builds on the last). */
  private frames: Promise<void> = Promise.resolve();
  private wake: (() => void)[] = [];
  /** Set once checkpoint frames arrive: a signal then waits for its frame before asking over REST. */
  private frameWaitMs: number | undefined;
  /** Size of the latest checkpoint a frame brought since the last subscribe: a leaf below it has had its frame. */
  private frameSize = 0;
  /** How signals were proven: from a checkpoint frame, or over REST (tests and the debug log read it). */
  readonly stats = { framed: 0, rest: 0, frames: 0, tiles: 0 };
  /** The latest checkpoint accepted as the verified one, and the server it came from (for tile proofs). */
  private latest: { opened: Opened; server: string } | undefined;
  /** Proofs from hash tiles for leaves no frame proved (a burst past max_proofs): a few requests, not one each. */
  private readonly tiles = new TileProver((path, maxBytes) => this.tileBytes(path, maxBytes), sha256);
  /** What a frame proved wrong while no signal was waiting: the next prove throws it. */
  private failure: LogMisbehaviour | undefined;

  constructor(private readonly o: LogVerifierOptions) {
    this.now = o.now ?? Date.now;
  }

  private verifierFor(origin: string): NoteVerifier {
    let v = this.verifiers.get(origin);
    if (!v)
      this.verifiers.set(origin, (v = ed25519Verifier(sha256, logVkey(origin, this.o.jwkX), ed25519Verify)));
    return v;
  }

  /** Opens a served checkpoint: its origin line names the key, the key is the pinned one. */
  open(note: string): Opened {
    const origin = parseNote(note).text.split('\n', 1)[0]!;
    const { checkpoint } = openCheckpoint(note, origin, [this.verifierFor(origin)]);
    return { origin, checkpoint, note };
  }

  private http(baseUrl: string): ServerHttp {
    return { baseUrl, key: this.o.key, signal: this.o.signal };
  }

  private get(path: string, from?: string): Promise<{ text: string; baseUrl: string }> {
    const bases = from ? [from, ...this.o.baseUrls.filter((u) => u !== from)] : this.o.baseUrls;
    return failover(bases, async (baseUrl) => ({
      text: await fetchLogText(this.http(baseUrl), path),
      baseUrl,
    }));
  }

  private evidence(e: Omit<Evidence, 'format' | 'found_at'>, message: string): LogMisbehaviour {
    return writeEvidence(this.o.evidenceDir, e, message, this.now());
  }

  /**
   * Accepts `opened` as the new latest checkpoint if it extends the verified one (consistency proof from the
   * server). Same size with another root, or a proof that fails: evidence and LogMisbehaviour. A smaller one
   * (a gateway behind) is checked as a prefix of the verified one and not stored. Returns false when the
   * server cannot prove it yet (ask again).
   */
  async acceptCheckpoint(
    opened: Opened,
    server: string,
    hint?: { from_size: number; hashes: string[] },
  ): Promise<boolean> {
    const { origin, checkpoint: next, note } = opened;
    const row = this.o.store.verifiedCheckpoint(origin);
    const save = () => {
      this.o.store.saveVerifiedCheckpoint({ origin, size: next.size, note, verified_at: this.now() });
      this.latest = { opened, server };
    };
    if (!row) {
      save(); // the first checkpoint of this log this journal sees: trust starts here (docs: what this covers)
      return true;
    }
    const prev = this.open(row.note).checkpoint;
    const [small, large] = prev.size <= next.size ? [prev, next] : [next, prev];
    let hashes: string[] = [];
    // A checkpoint frame carries the proof from the size this client said it verified: no request then.
    if (hint && hint.from_size === prev.size && prev.size < next.size) hashes = hint.hashes;
    else if (small.size !== large.size && small.size > 0) {
      try {
        const r = await this.get(`${PATHS.logConsistency}?from=${small.size}&to=${large.size}`, server);
        hashes = r.text.split('\n').filter((l) => l !== '');
      } catch (e) {
        // A gateway behind cannot prove up to our size yet: not evidence, ask again.
        if (e instanceof HttpError && e.status === 400) return false;
        throw e;
      }
    }
    let proof: Uint8Array[] | undefined;
    try {
      proof = hashes.map((h) => fromBase64(h, 'consistency proof'));
    } catch {
      proof = undefined;
    }
    if (!proof || !verifyConsistency(sha256, small.size, large.size, small.rootHash, large.rootHash, proof)) {
      const what =
        prev.size === next.size
          ? `two different trees of size ${next.size} signed`
          : `the checkpoint of size ${next.size} is not consistent with the verified one of size ${prev.size}`;
      throw this.evidence(
        {
          claim: 'inconsistent_checkpoints',
          server,
          origin,
          vkey: logVkey(origin, this.o.jwkX),
          old_checkpoint: row.note,
          new_checkpoint: note,
          ...(prev.size !== next.size ? { consistency_proof: hashes } : {}),
        },
        `TRANSPARENCY LOG: ${what}: the server rewrote or forked its history`,
      );
    }
    if (next.size > prev.size) save();
    else if (next.size === prev.size && !this.latest) this.latest = { opened, server };
    return true;
  }

  /**
   * The latest checkpoint the servers serve, accepted as `acceptCheckpoint` does (evidence and LogMisbehaviour
   * when it contradicts the verified one). Undefined while no server can prove it consistent yet.
   */
  async latestAccepted(): Promise<Checkpoint | undefined> {
    const { text, baseUrl } = await this.get(PATHS.logCheckpoint);
    const opened = this.open(text);
    return (await this.acceptCheckpoint(opened, baseUrl)) ? opened.checkpoint : undefined;
  }

  /** A hash tile (`/v1/log/tile/...`), asked first of the server the latest accepted checkpoint came from. */
  tileBytes(path: string, maxBytes: number): Promise<Uint8Array> {
    const bases = this.latest ? startingAt(this.o.baseUrls, this.latest.server) : this.o.baseUrls;
    return failover(bases, (baseUrl) => fetchLogBytes(this.http(baseUrl), path, maxBytes));
  }

  /** subscribe.checkpoints.from_size: the size this journal verified for the log the hello names. */
  fromSize(origin: string): number | undefined {
    return this.o.store.verifiedCheckpoint(origin)?.size;
  }

  /**
   * A subscribe asked for checkpoint frames: signals from now on wait for their frame (the replay's proofs come
   * in the frame after it), up to one interval + 1 s, before asking over REST.
   */
  expectFrames(intervalMs: number): void {
    this.frameWaitMs = intervalMs + 1000;
    this.frameSize = 0;
  }

  /**
   * A checkpoint frame from the stream: verified (pinned key, consistency with the verified checkpoint, from
   * the frame's own proof when it starts there) and its inclusion proofs kept for the signals they cover.
   * `onFailure` hears what it proves wrong (halt at once, even with no signal waiting).
   */
  onFrame(
    frame: CheckpointFrame,
    server: string,
    intervalMs: number,
    onFailure: (e: LogMisbehaviour) => void,
    onLatest?: (c: { note: string; size: number }) => void,
  ): void {
    this.frameWaitMs ??= intervalMs + 1000;
    this.frames = this.frames
      .then(async () => {
        this.stats.frames++;
        const opened = this.open(frame.checkpoint);
        if (!(await this.acceptCheckpoint(opened, server, frame.consistency))) return;
        // Only the latest verified one: a smaller checkpoint (a gateway behind) is a prefix, not news.
        if (onLatest && this.o.store.verifiedCheckpoint(opened.origin)?.size === opened.checkpoint.size)
          onLatest({ note: opened.note, size: opened.checkpoint.size });
        for (const p of frame.proofs)
          if (p.index < opened.checkpoint.size)
            this.framed.set(p.index, { opened, hashes: p.hashes, server });
        this.frameSize = Math.max(this.frameSize, opened.checkpoint.size);
        // Bounded: proofs for signals this client never asks about (filtered, already applied) age out.
        for (const k of this.framed.keys()) {
          if (this.framed.size <= 4096) break;
          this.framed.delete(k);
        }
      })
      .catch((e: unknown) => {
        if (e instanceof LogMisbehaviour) {
          this.failure ??= e;
          onFailure(e);
        }
        // Anything else (a malformed frame, a failed request) leaves those signals to REST.
      })
      .finally(() => {
        const w = this.wake;
        this.wake = [];
        for (const f of w) f();
      });
  }

  /**
   * Resolves once `signal` is proven: its bytes are leaf seq-1 of a checkpoint signed with the pinned key and
   * consistent with the verified one. Waits (polling) for a checkpoint covering it, at most maxWaitMs.
   */
  async prove(signal: Signal, server?: string): Promise<void> {
    const deadline = this.now() + this.o.maxWaitMs;
    let pollMs = this.o.pollMs ?? 25;
    let last = 'no answer yet';
    // With checkpoint frames, the proof normally arrives in the next one; REST only when it did not.
    if (this.frameWaitMs !== undefined) {
      const until = Math.min(deadline, this.now() + this.frameWaitMs);
      for (;;) {
        if (this.failure) throw this.failure;
        const hit = this.framed.get(signal.seq - 1);
        if (hit) {
          this.framed.delete(signal.seq - 1);
          const file = formatTlogProof({
            index: signal.seq - 1,
            proof: hit.hashes.map((h) => fromBase64(h, 'inclusion proof')),
            checkpoint: hit.opened.note,
          });
          // Its checkpoint was accepted when the frame came; a later frame may have moved the verified one on.
          if (await this.checkProof(signal, file, hit.server, true)) {
            this.stats.framed++;
            return;
          }
          break;
        }
        // A frame covered this leaf without its proof (past max_proofs, or paged from history): REST now.
        if (signal.seq - 1 < this.frameSize) break;
        const left = until - this.now();
        if (left <= 0 || this.o.signal?.aborted) break;
        await new Promise<void>((r) => {
          const t = setTimeout(done, left);
          function done() {
            clearTimeout(t);
            r();
          }
          this.wake.push(done);
        });
      }
      last = 'no checkpoint frame proved it';
    }
    if (await this.proveFromTiles(signal)) {
      this.stats.tiles++;
      return;
    }
    for (;;) {
      if (this.o.signal?.aborted) throw new ProofTimeout(`seq ${signal.seq}: stopping before it was proven`);
      if (this.failure) throw this.failure;
      try {
        const r = await this.get(`${PATHS.logProof}/${signal.seq}`, server);
        if (await this.checkProof(signal, r.text, r.baseUrl)) {
          this.stats.rest++;
          return;
        }
        last = 'the serving gateway is behind the verified checkpoint';
      } catch (e) {
        if (e instanceof LogMisbehaviour) throw e;
        last = (e as Error).message;
        // 4xx other than a missing seq is the answer (key, request): waiting would not change it.
        if (e instanceof HttpError && e.status < 500 && e.status !== 404 && e.status !== 429) throw e;
      }
      const left = deadline - this.now();
      if (left <= 0)
        throw new ProofTimeout(
          `seq ${signal.seq} not proven in the transparency log within log.max_proof_wait_ms (${this.o.maxWaitMs} ms): ${last}`,
        );
      await new Promise((r) => setTimeout(r, Math.min(pollMs, left)));
      pollMs = Math.min(pollMs * 2, 100);
    }
  }

  /**
   * From the hash tiles of the latest accepted checkpoint, checked against its signed root. False when it does
   * not cover the leaf, a tile is not served, or the proof does not verify: the tlog-proof then decides (and
   * writes the evidence), since tiles are not signed and prove nothing wrong on their own.
   */
  private async proveFromTiles(signal: Signal): Promise<boolean> {
    const latest = this.latest;
    const index = signal.seq - 1;
    if (!latest || index >= latest.opened.checkpoint.size || this.o.signal?.aborted) return false;
    const { size, rootHash } = latest.opened.checkpoint;
    try {
      const proof = await this.tiles.inclusion(index, size);
      return verifyInclusion(sha256, index, size, leafHash(sha256, leafBytes(signal)), proof, rootHash);
    } catch {
      return false;
    }
  }

  /** `accepted`: the proof's checkpoint was already accepted (it came in a frame): only the inclusion is left. */
  private async checkProof(signal: Signal, file: string, server: string, accepted = false): Promise<boolean> {
    const p = parseTlogProof(file);
    const opened = this.open(p.checkpoint);
    if (!accepted && !(await this.acceptCheckpoint(opened, server))) return false;
    const leaf = leafBytes(signal);
    const cp = opened.checkpoint;
    if (
      p.index === signal.seq - 1 &&
      verifyInclusion(sha256, p.index, cp.size, leafHash(sha256, leaf), p.proof, cp.rootHash)
    )
      return true;
    throw this.evidence(
      {
        claim: 'inclusion_failed',
        server,
        origin: opened.origin,
        vkey: logVkey(opened.origin, this.o.jwkX),
        new_checkpoint: opened.note,
        seq: signal.seq,
        leaf: toBase64(leaf),
        tlog_proof: file,
      },
      `TRANSPARENCY LOG: signal seq ${signal.seq} as served is not leaf ${signal.seq - 1} of the signed checkpoint of size ${cp.size}: the server rewrote it`,
    );
  }
}

/** The outcome of re-checking an evidence file offline. */
export interface EvidenceVerdict {
  /** True: the file shows what it claims, under `vkey`. */
  holds: boolean;
  /** Conclusive on its own (two signed roots for one size), or it shows the server could not prove it. */
  conclusive: boolean;
  lines: string[];
}

/**
 * Re-checks an evidence file with nothing but the file and a verifier key (default: the one it names, which
 * the reader should compare with the server's `log_vkey` / pinned key).
 */
export function verifyEvidence(raw: unknown, vkey?: string): EvidenceVerdict {
  const ev = EvidenceSchema.parse(raw);
  const key = vkey ?? ev.vkey;
  const v = ed25519Verifier(sha256, key, ed25519Verify);
  const lines = [`log ${ev.origin}, key ${key}`, `from ${ev.server} at ${ev.found_at}`];
  const open = (note: string, what: string) => {
    const c = openCheckpoint(note, ev.origin, [v]).checkpoint;
    lines.push(`${what}: size ${c.size}, root ${toBase64(c.rootHash)}, signature valid`);
    return c;
  };
  const next = open(ev.new_checkpoint, 'served checkpoint');
  if (ev.claim === 'inconsistent_checkpoints') {
    if (!ev.old_checkpoint) throw new Error('evidence: inconsistent_checkpoints needs old_checkpoint');
    const prev = open(ev.old_checkpoint, 'verified before');
    if (prev.size === next.size) {
      const differ = toBase64(prev.rootHash) !== toBase64(next.rootHash);
      lines.push(differ ? 'two different roots signed for the same size' : 'the roots are equal');
      return { holds: differ, conclusive: differ, lines };
    }
    const [a, b] = prev.size < next.size ? [prev, next] : [next, prev];
    const proof = (ev.consistency_proof ?? []).map((h) => fromBase64(h, 'consistency proof'));
    const ok = verifyConsistency(sha256, a.size, b.size, a.rootHash, b.rootHash, proof);
    lines.push(
      ok
        ? 'the consistency proof verifies: no inconsistency shown'
        : `the server's consistency proof from ${a.size} to ${b.size} does not verify (if the log was honest, GET /v1/log/consistency?from=${a.size}&to=${b.size} would give one that does)`,
    );
    return { holds: !ok, conclusive: false, lines };
  }
  if (ev.seq === undefined || ev.leaf === undefined || ev.tlog_proof === undefined)
    throw new Error('evidence: inclusion_failed needs seq, leaf and tlog_proof');
  const p = parseTlogProof(ev.tlog_proof);
  if (p.checkpoint !== ev.new_checkpoint)
    throw new Error('evidence: the proof file carries another checkpoint');
  const leaf = fromBase64(ev.leaf, 'leaf');
  const ok =
    p.index === ev.seq - 1 &&
    verifyInclusion(sha256, p.index, next.size, leafHash(sha256, leaf), p.proof, next.rootHash);
  lines.push(
    ok
      ? `seq ${ev.seq} is included: no rewrite shown`
      : `seq ${ev.seq} as served (${leaf.length} bytes) is not leaf ${ev.seq - 1} of the signed tree of size ${next.size} with the served proof`,
  );
  return { holds: !ok, conclusive: false, lines };
}

/**
 * `run`'s prover per config `log.verify`: off → undefined; on → every signal proven; auto → as on once the
 * server answered its checkpoint, off (warned once) when it answers a 4xx (a server without a log). Until the
 * server was asked successfully, auto proves: a signal is never applied unproven on a guess.
 */
export function logProver(o: {
  config: Pick<Config, 'server' | 'log'>;
  key: string;
  jwkX: string;
  journal: LogVerifierOptions['store'];
  evidenceDir: string;
  log: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /**
   * Each checkpoint frame accepted as the latest verified one, with a way to answer on its socket (the witness
   * cosigns it; the witness policy counts its cosignatures).
   */
  onCheckpoint?: (c: { note: string; size: number }, reply: (f: CosignFrame) => void) => void;
}):
  | {
      /** True once proven; false when the server turned out to have no log (auto). */
      prove(signal: Signal): Promise<boolean>;
      stop(): void;
      stats: LogVerifier['stats'];
      /** The stream's checkpoint frames; `onFailure` halts at once on what one proves wrong. */
      checkpoints(
        onFailure: (e: LogMisbehaviour) => void,
      ): NonNullable<StreamCoreOptions<Signal>['checkpoints']>;
    }
  | undefined {
  const mode = o.config.log.verify;
  if (mode === 'off') return undefined;
  const baseUrls = o.config.server.urls?.length ? o.config.server.urls : [o.config.server.url];
  const aborts = new AbortController();
  const verifier = new LogVerifier({
    baseUrls,
    key: o.key,
    jwkX: o.jwkX,
    store: o.journal,
    maxWaitMs: o.config.log.max_proof_wait_ms,
    evidenceDir: o.evidenceDir,
    signal: aborts.signal,
  });
  let on = mode === 'on' ? true : undefined;
  let intervalMs = 500; // the server's, from hello.log
  return {
    stop: () => aborts.abort(),
    stats: verifier.stats,
    checkpoints: (onFailure) => ({
      fromSize(hello) {
        if (!hello.log) return undefined;
        on = true; // a server that announces its log has one
        intervalMs = hello.log.checkpoint_interval_ms;
        verifier.expectFrames(intervalMs);
        return verifier.fromSize(hello.log.origin);
      },
      onFrame(frame, url, reply) {
        // The stream URL's gateway answers REST too (the consistency proof when the frame has none).
        const base = baseUrls.find((b) => streamUrl(b) === url) ?? baseUrls[0]!;
        const seen = o.onCheckpoint;
        verifier.onFrame(frame, base, intervalMs, onFailure, seen && ((c) => seen(c, reply)));
      },
    }),
    async prove(signal) {
      if (on === undefined) {
        try {
          await failover(baseUrls, (baseUrl) =>
            fetchLogText({ baseUrl, key: o.key, signal: aborts.signal }, PATHS.logCheckpoint),
          );
          on = true;
          o.log.info('transparency log: every signal is proven before it is applied');
        } catch (e) {
          // A 4xx is the server's answer (no such route: a server without a log); 5xx or no answer is not.
          if (e instanceof HttpError && e.status >= 400 && e.status < 500) {
            on = false;
            o.log.warn(
              `the server has no transparency log (GET /v1/log/checkpoint: HTTP ${e.status}): signals are checked by their signatures only (log.verify: auto)`,
            );
          }
        }
      }
      if (on === false) return false;
      const t0 = performance.now();
      await verifier.prove(signal);
      o.log.debug(
        { seq: signal.seq, proof_ms: +(performance.now() - t0).toFixed(2), ...verifier.stats },
        'proven in the log',
      );
      return true;
    },
  };
}
