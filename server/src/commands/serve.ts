import { ensureInitialKeys, formatIssuedKeys } from '../bootstrap.js';
import { loadConfig, type Config } from '../config.js';
import { createLogger } from '../logger.js';
import { lockServedDir, startServer } from '../app.js';

export interface ServeOptions {
  config?: string;
  flags: Partial<Record<keyof Config, unknown>>;
}

/** Run until SIGINT/SIGTERM; resolves with the exit code. */
export async function serve(opts: ServeOptions): Promise<number> {
  const config = loadConfig({ file: opts.config, env: process.env, flags: opts.flags });
  const log = createLogger(config.log_level);

  // The data directory's lock first, so a second serve on it changes nothing (not even first-start keys).
  // The first start's keys only after listening: a start that fails (port in use) prints no keys.
  const server = await startServer(config, log, { lock: lockServedDir(config.data_dir) });
  const issued = ensureInitialKeys(server.keys);
  server.auth.refresh();
  if (issued.length)
    process.stderr.write(`\n${formatIssuedKeys(issued)}\nData directory: ${config.data_dir}\n\n`);
  if (issued.length || process.stderr.isTTY)
    process.stderr.write(
      `catalyst-server listening on ${server.url} (WebSocket ${server.wsUrl}/v1/stream)\n`,
    );

  return new Promise<number>((resolve) => {
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
}
