import { AlpacaMarketData, CachedMarketData } from '@catalyst-signal/shared/market-data';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { SignalLogReader } from '../log/types.js';
import type { Logger } from '../logger.js';
import { OutcomeDb } from '../store/outcome-db.js';
import { ClusterOutcomes, type OutcomeCluster } from '../roles/outcome-holder.js';
import { OutcomeWorker, startOutcomeLoop, type OutcomeLoop, type OutcomeWorkerDeps } from './worker.js';

/** The outcome worker as `serve` runs it: Alpaca's data API, the cache and outcomes in outcomes.db. */
export function startOutcomes(
  cfg: NonNullable<Config['outcomes']>,
  dataDir: string,
  reader: SignalLogReader,
  log: Logger,
): OutcomeLoop & { db: OutcomeDb; readonly computing: boolean } {
  const api = outcomeMarketData(cfg);
  const db = new OutcomeDb(dataDir);
  const worker = new OutcomeWorker({
    reader,
    market: new CachedMarketData(api, db),
    db,
    now: Date.now,
    benchmark: cfg.benchmark,
    onError: (seq, err) =>
      log.warn({ seq, err: (err as Error).message }, 'outcomes: market data failed; retrying in 5 minutes'),
  });
  const loop = startOutcomeLoop(worker, cfg.interval_s * 1000, (err) =>
    log.error({ err }, 'outcomes: a worker run failed'),
  );
  let stopping: Promise<void> | undefined;
  return {
    db,
    computing: true,
    stop: () =>
      (stopping ??= (async () => {
        await loop.stop();
        db.close();
      })()),
  };
}

/**
 * Outcomes on a cluster node (docs/outcomes.md "Cluster mode"): every node mirrors what the lease holder
 * published into its own outcomes.db and serves it; a `both` node with an outcomes block contends to compute.
 */
export async function startClusterOutcomes(
  cfg: Config['outcomes'],
  dataDir: string,
  reader: SignalLogReader,
  log: Logger,
  cluster: OutcomeCluster,
): Promise<{ db: OutcomeDb; readonly computing: boolean; stop(): Promise<void> }> {
  const api = cfg && cluster.mayCompute ? outcomeMarketData(cfg) : undefined;
  const db = new OutcomeDb(dataDir);
  const compute =
    cfg && api
      ? (save: NonNullable<OutcomeWorkerDeps['save']>) =>
          startOutcomeLoop(
            new OutcomeWorker({
              reader,
              market: new CachedMarketData(api, db),
              db,
              now: Date.now,
              benchmark: cfg.benchmark,
              save,
              onError: (seq, err) =>
                log.warn(
                  { seq, err: (err as Error).message },
                  'outcomes: a job failed; retrying in 5 minutes',
                ),
            }),
            cfg.interval_s * 1000,
            (err) => log.error({ err }, 'outcomes: a worker run failed'),
          )
      : undefined;
  let running: ClusterOutcomes;
  try {
    running = await ClusterOutcomes.start({ cluster, db, log, compute });
  } catch (err) {
    db.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    db,
    get computing() {
      return running.computing;
    },
    stop: () =>
      (stopping ??= (async () => {
        await running.close();
        db.close();
      })()),
  };
}

/** Alpaca's data API as the config names it; the secret from the environment variable it names. */
export function outcomeMarketData(
  cfg: NonNullable<Config['outcomes']>,
  callsPerMinute?: number,
): AlpacaMarketData {
  const secret = process.env[cfg.alpaca_secret_env];
  if (!secret)
    throw new ConfigError(
      `outcomes: set ${cfg.alpaca_secret_env} to the Alpaca secret key (outcomes.alpaca_secret_env names it)`,
    );
  return new AlpacaMarketData({
    keyId: cfg.alpaca_key_id,
    secret,
    baseUrl: cfg.data_url,
    callsPerMinute,
  });
}
