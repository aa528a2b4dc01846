/**
 * A gateway as its own process, for tests that must kill -9 one: `node --import tsx gateway-child.ts`.
 * Env: GW_NATS_URLS (comma-separated), GW_CONFIG (JSON config flags: data_dir, port, ...). Logs pino JSON on
 * stdout; the test reads the port from the "listening" line. `serve --role gateway` makes the same
 * startGateway call (after waiting for the log read-only); this child creates the log itself instead.
 */
import { loadConfig } from '../../src/config.js';
import { ensureClusterLog } from '../../src/jetstream/cluster-log.js';
import { connectNats } from '../../src/jetstream/connection.js';
import { createLogger } from '../../src/logger.js';
import { startGateway } from '../../src/roles/gateway.js';

const config = loadConfig({ flags: JSON.parse(process.env['GW_CONFIG'] ?? '{}') as Record<string, unknown> });
const log = createLogger(config.log_level);
const nats = await connectNats({
  urls: (process.env['GW_NATS_URLS'] ?? '').split(','),
  name: 'catalyst-gateway-test',
  logger: log,
});
const cluster = await ensureClusterLog(nats, { replicas: 3 });
const gw = await startGateway(config, { nats, cluster, log });
const stop = () => {
  void gw
    .close()
    .then(() => nats.close())
    .then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
