import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { StatusReplica } from '@catalyst-signal/shared';
import { startServer, type LogDriverFactory, type Server, type StartOptions } from '../app.js';
import type { Config } from '../config.js';
import type { FanOut, KeyAdmin, Sequencer, SignalLogDriver, SignalLogReader } from '../log/types.js';
import type { Logger } from '../logger.js';
import type { ServedLog } from '../log/served.js';
import type { WitnessBook } from '../log/witnesses.js';
import { CheckpointHolder } from './checkpoint-holder.js';
import { gatewayLog } from './gateway.js';
import type { GatewayLog } from './gateway-log.js';
import { ingestLog, type IngestLog } from './ingest.js';
import type { OutcomeClusterLink } from './outcome-holder.js';

/**
 * Role `both`: one process that is an ingest node and a gateway. POST goes to the cluster sequencer exactly
 * as on an ingest node; reads and the WebSocket are served from the local replica fed by the follower exactly
 * as on a gateway (a signal posted here reaches this node's sockets through the stream, like everyone else's),
 * so the replay -> live guarantee is the gateway's. Both halves share the ingest side's NATS connection.
 */
export class BothLog implements SignalLogDriver {
  readonly kind = 'jetstream-both';
  readonly reader: SignalLogReader;
  readonly sequencer: Sequencer;
  /** Key admin writes to the cluster (the ingest side's): this node may write. */
  readonly keyAdmin: KeyAdmin;
  readonly aheadWaitMs: number;
  /** Served from the gateway half's mirror, like every node: the holder only signs and publishes. */
  readonly transparency: ServedLog;
  /** Cosign frames land in the cluster's bucket through the gateway half, like on every node. */
  readonly witnesses: WitnessBook | undefined;

  constructor(
    readonly ingest: IngestLog,
    readonly gateway: GatewayLog,
    /** Contends for the checkpoint lease: a `both` node has the signing key and a tree. */
    readonly checkpoints: CheckpointHolder | undefined,
  ) {
    this.reader = gateway.reader;
    this.sequencer = ingest.sequencer;
    this.keyAdmin = ingest.keyAdmin;
    this.aheadWaitMs = gateway.aheadWaitMs;
    this.transparency = gateway.transparency;
    this.witnesses = gateway.witnesses;
    if (checkpoints) gateway.applied.push(() => checkpoints.grew());
  }

  /** Outcomes: a `both` node has the replica the worker reads and may write, so it may hold the lease. */
  get outcomeCluster(): OutcomeClusterLink {
    return { ...this.gateway.outcomeCluster, mayCompute: true };
  }

  logHead(): Promise<number> {
    return this.gateway.logHead();
  }

  attach(fanOut: FanOut): void {
    this.gateway.attach(fanOut);
  }

  notReady(): string | undefined {
    return this.ingest.notReady() ?? this.gateway.notReady();
  }

  refuseClients(): string | undefined {
    return this.gateway.refuseClients();
  }

  statusReplica(): StatusReplica {
    return this.gateway.statusReplica();
  }

  health(): Record<string, unknown> {
    return {
      ...this.ingest.health(),
      ...this.gateway.health(),
      // Whether this node holds the checkpoint lease and signs now (docs/transparency-log.md).
      checkpoint_signer: this.checkpoints?.signing ?? false,
    };
  }

  async close(): Promise<void> {
    // The signer first (ending its lease term at once), then the gateway half (it reads over the ingest
    // half's connection), then drain the sequencer.
    await this.checkpoints?.close();
    await this.gateway.close();
    await this.ingest.close();
  }
}

/** The ingest driver first (it creates or checks the cluster log), then a gateway on its connection. */
export function bothLog(): LogDriverFactory<BothLog> {
  return async (ctx) => {
    const ingest = await ingestLog()(ctx);
    try {
      const { handle, log } = ingest.backend;
      const gateway = await gatewayLog({ nats: handle, cluster: log, log: ctx.log })(ctx);
      const c = ctx.config.cluster;
      const holder =
        ctx.signer && c
          ? new CheckpointHolder({
              meta: log.meta,
              tree: gateway.replica.store.tree,
              replicaProblem: () => (gateway.replica.diverged ? 'replica diverged' : undefined),
              origin: gateway.transparency.origin,
              key: ctx.signer,
              intervalMs: ctx.config.log.checkpoint_interval_ms,
              node: `${ctx.config.server_id ?? os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
              termMs: c.lease_term_ms,
              skewMs: c.lease_skew_ms,
              log: ctx.log,
            }).start()
          : undefined;
      return new BothLog(ingest, gateway, holder);
    } catch (err) {
      await ingest.close();
      throw err;
    }
  };
}

/** Start a server with both roles (serve --role both). */
export async function startBoth(
  config: Config,
  log: Logger,
  opts: Omit<StartOptions<BothLog>, 'driver'> = {},
): Promise<Server<BothLog>> {
  const server = await startServer(config, log, { ...opts, driver: bothLog() });
  server.driver.gateway.onDiverged = () => server.stream.shutdown();
  return server;
}
