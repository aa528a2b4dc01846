import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInitialKeys, formatIssuedKeys } from '../bootstrap.js';
import { loadConfig, type Config } from '../config.js';
import { UsageError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { lockServedDir, startServer, type Server } from '../app.js';
import { DB_FILE } from '../store/db.js';

/** What a cluster-mode process does (`serve --role`); without a cluster block there is no role. */
export const ROLES = ['ingest', 'gateway', 'both'] as const;
export type Role = (typeof ROLES)[number];

export interface ServeOptions {
  config?: string;
  flags: Partial<Record<keyof Config, unknown>>;
  /** Cluster mode only: what this process does. Absent: the single-node server. */
  role?: string;
}

/** Which server to run, or why not: a role needs a cluster block, and a cluster block needs a role. */
export function chooseRole(config: Config, role: string | undefined): Role | undefined {
  if (role !== undefined && !(ROLES as readonly string[]).includes(role))
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}; got ${role}`);
  if (role && !config.cluster)
    throw new UsageError(
      `--role ${role} is for cluster mode and needs a cluster block in the config (cluster.nats_urls); without --role, serve runs the single-node server`,
    );
  if (!role && config.cluster)
    throw new UsageError(
      `the config has a cluster block: say what this process does with --role ${ROLES.join('|')}`,
    );
  return role as Role | undefined;
}

async function startRole(config: Config, log: Logger, role: Role | undefined): Promise<Server> {
  // The data directory's lock first, so a second serve on it changes nothing (not even first-start keys).
  const lock = lockServedDir(config.data_dir);
  try {
    if (role === 'gateway') {
      const { startGatewayNode } = await import('../roles/gateway.js');
      return await startGatewayNode(config, log, { lock });
    }
    if (role === 'both') {
      const { startBoth } = await import('../roles/both.js');
      return await startBoth(config, log, { lock });
    }
    if (role === 'ingest') {
      const { startIngest } = await import('../roles/ingest.js');
      return await startIngest(config, log, { lock });
    }
  } catch (err) {
    lock.release();
    throw err;
  }
  return startServer(config, log, { lock });
}

/** Run until SIGINT/SIGTERM; resolves with the exit code. */
export async function serve(opts: ServeOptions): Promise<number> {
  const config = loadConfig({ file: opts.config, env: process.env, flags: opts.flags });
  const role = chooseRole(config, opts.role);
  const log = createLogger(config.log_level);

  // Keys only from the start that creates the database, never because the key table has no admin now (that
  // would print fresh keys into a journal after the last admin key was revoked), and only after listening: a
  // start that fails (port in use) prints no keys. In cluster mode keys live in the cluster
  // (`catalyst-server keys create -c <config>`): none are made locally.
  const created = !existsSync(path.join(config.data_dir, DB_FILE));
  const server = await startRole(config, log, role);
  const issued = role || !created ? [] : createInitialKeys(server.keys);
  server.auth.refresh();

  // The signal handlers exist before the human line says "listening": a supervisor (or a test) that stops the
  // server the moment it reads that line gets a clean close, not Node's default exit.
  const done = new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      const hard = setTimeout(() => {
        log.error('shutdown took longer than 5 s; exiting');
        resolve(1);
      }, 5000);
      hard.unref();
      server.close().then(
        () => (clearTimeout(hard), resolve(0)),
        (err: unknown) => (log.error({ err }, 'shutdown failed'), resolve(1)),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  if (issued.length)
    process.stderr.write(`\n${formatIssuedKeys(issued)}\nData directory: ${config.data_dir}\n\n`);
  // Every start, not only the first: a restarted server is otherwise only JSON lines to a person reading it.
  // The role is named, as two or three nodes of one cluster often share one terminal or journal.
  const where = server.stream ? `${server.url} (WebSocket ${server.wsUrl}/v1/stream)` : server.url;
  process.stderr.write(`catalyst-server${role ? ` (${role})` : ''} listening on ${where}\n`);
  // A single node prints its first keys above; a cluster makes none, and an operator who expected them must
  // learn here where they come from (the keys live in the cluster, so any host with the config can make them).
  if ((role === 'ingest' || role === 'both') && server.keys.list().length === 0) {
    const create = `npx --no -- catalyst-server keys create -c ${opts.config ?? '<config>'}`;
    process.stderr.write(
      `the cluster has no API keys yet: create them with \`${create} --name ops --scope admin\` (then --scope publish for the publisher, --scope read for each friend)\n`,
    );
  }
  return done;
}
