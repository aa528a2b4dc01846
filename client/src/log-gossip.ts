import { PATHS, fromBase64, verifyConsistency, type Checkpoint } from '@catalyst-signal/shared';
import type { Logger } from 'pino';
import { fetchLogText, type ServerHttp } from './http.js';
import { LogMisbehaviour, LogVerifier, logVkey, sha256, writeEvidence } from './log-verify.js';

/**
 * Several gateways of one cluster must serve one history (docs/transparency-log.md, "several gateways"): the
 * client asks each for its checkpoint, on start and every `log.gossip_interval_ms`, and compares them. Same size
 * with another root is a split view (conclusive evidence); a smaller one must be a prefix of the larger, proven
 * by the larger gateway. A gateway that does not answer, or serves a checkpoint the pinned key did not sign, is
 * skipped: it shows nothing about the log (anyone can serve garbage), and the stream's checks still apply.
 */

export interface GossipOptions {
  baseUrls: readonly string[];
  key: string;
  /** The pinned server signing key's `x`: the only key a checkpoint is trusted under. */
  jwkX: string;
  evidenceDir: string;
  log: Pick<Logger, 'warn' | 'debug'>;
  signal?: AbortSignal | undefined;
  now?: () => number;
}

interface Served {
  url: string;
  origin: string;
  checkpoint: Checkpoint;
  note: string;
}

/** A hung gateway holds the start comparison (and so the first signal) this long at most; skipped then. */
const GOSSIP_TIMEOUT_MS = 3000;

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** One round: every gateway's checkpoint, compared. Throws LogMisbehaviour (evidence written) on a split view. */
export async function compareGateways(o: GossipOptions): Promise<void> {
  // Opening checks the signature with the pinned key; the verifier is used for nothing else here.
  const opener = new LogVerifier({
    baseUrls: o.baseUrls,
    key: o.key,
    jwkX: o.jwkX,
    store: { verifiedCheckpoint: () => undefined, saveVerifiedCheckpoint: () => undefined },
    maxWaitMs: 0,
    evidenceDir: o.evidenceDir,
  });
  const http = (baseUrl: string): ServerHttp => ({
    baseUrl,
    key: o.key,
    signal: o.signal,
    timeoutMs: GOSSIP_TIMEOUT_MS,
  });
  const served: Served[] = [];
  await Promise.all(
    o.baseUrls.map(async (url) => {
      try {
        const note = await fetchLogText(http(url), PATHS.logCheckpoint);
        served.push({ url, ...opener.open(note) });
      } catch (e) {
        o.log.debug({ url, err: (e as Error).message }, 'gateway checkpoint not compared');
      }
    }),
  );
  const byOrigin = new Map<string, Served[]>();
  for (const s of served) byOrigin.set(s.origin, [...(byOrigin.get(s.origin) ?? []), s]);
  for (const [origin, list] of byOrigin) {
    // In size order, each consistent with the next: then every pair is (consistency is transitive).
    list.sort((a, b) => a.checkpoint.size - b.checkpoint.size || a.url.localeCompare(b.url));
    for (let i = 0; i + 1 < list.length; i++) await comparePair(o, origin, list[i]!, list[i + 1]!);
  }
}

async function comparePair(o: GossipOptions, origin: string, small: Served, large: Served): Promise<void> {
  const [a, b] = [small.checkpoint, large.checkpoint];
  let hashes: string[] = [];
  if (a.size === b.size) {
    if (b64(a.rootHash) === b64(b.rootHash)) return;
  } else if (a.size > 0) {
    try {
      const text = await fetchLogText(
        { baseUrl: large.url, key: o.key, signal: o.signal, timeoutMs: GOSSIP_TIMEOUT_MS },
        `${PATHS.logConsistency}?from=${a.size}&to=${b.size}`,
      );
      hashes = text.split('\n').filter((l) => l !== '');
    } catch (e) {
      // No proof is not evidence (a node restarting, a gateway a step behind): compared again next round.
      o.log.debug({ url: large.url, err: (e as Error).message }, 'gateway consistency not compared');
      return;
    }
    let proof: Uint8Array[] | undefined;
    try {
      proof = hashes.map((h) => fromBase64(h, 'consistency proof'));
    } catch {
      proof = undefined;
    }
    if (proof && verifyConsistency(sha256, a.size, b.size, a.rootHash, b.rootHash, proof)) return;
  } else return; // the empty tree is a prefix of every tree
  const what =
    a.size === b.size
      ? `gateways ${small.url} and ${large.url} signed two different trees of size ${a.size}`
      : `the checkpoint of size ${a.size} from ${small.url} is not proven a prefix of size ${b.size} from ${large.url}`;
  throw writeEvidence(
    o.evidenceDir,
    {
      claim: 'inconsistent_checkpoints',
      server: large.url,
      old_server: small.url,
      origin,
      vkey: logVkey(origin, o.jwkX),
      old_checkpoint: small.note,
      new_checkpoint: large.note,
      ...(a.size !== b.size ? { consistency_proof: hashes } : {}),
    },
    `TRANSPARENCY LOG: ${what}: the cluster serves a split view of its history`,
    (o.now ?? Date.now)(),
  );
}

/**
 * Compares the gateways now and every `intervalMs`. `first` settles after the first round: it rejects with the
 * LogMisbehaviour it found (a signal must not be applied before the start comparison), else resolves.
 * `onFailure` hears every misbehaviour found (halt).
 */
export function startGossip(
  o: GossipOptions & { intervalMs: number; onFailure: (e: LogMisbehaviour) => void },
): { first: Promise<void>; stop(): void } {
  const aborts = new AbortController();
  const opts = { ...o, signal: aborts.signal };
  let running: Promise<void> | undefined;
  const round = () =>
    (running ??= compareGateways(opts)
      .catch((e: unknown) => {
        if (e instanceof LogMisbehaviour) {
          o.onFailure(e);
          throw e;
        }
        o.log.warn({ err: (e as Error).message }, 'gateway checkpoint comparison failed');
      })
      .finally(() => (running = undefined)));
  const first = round();
  first.catch(() => undefined); // heard through onFailure; awaited by whoever needs it
  const timer = setInterval(() => void round().catch(() => undefined), o.intervalMs);
  timer.unref();
  return {
    first,
    stop() {
      clearInterval(timer);
      aborts.abort();
    },
  };
}
