#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { terminalText } from '@catalyst-signal/shared/text';
import { exitCodeOf } from './exit-errors.js';

/**
 * catalyst-server: the operator's command. Each command's module is imported only when it runs, so
 * `--help` loads commander and nothing else. This is the only file that calls process.exit.
 */

const DEFAULT_DATA_DIR = process.env.CATALYST_DATA_DIR ?? './catalyst-data';

/** An error ends the command with the exit code of its class (exit-errors.ts). */
function fail(err: unknown): never {
  const e = err as Error;
  const code = exitCodeOf(err);
  process.stderr.write(`catalyst-server: ${terminalText(e.message)}\n`);
  if (code === 1 && process.env.CATALYST_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exit(code);
}

const run = (fn: () => Promise<number | void>) => fn().then((code) => process.exit(code ?? 0), fail);
// Output can quote stored text (key names, signals): one sanitiser for every terminal line (shared/text.ts).
const print = (s: string): void => void process.stdout.write(terminalText(s.endsWith('\n') ? s : `${s}\n`));
const progress = (s: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r${s}\x1b[K`);
};

const program = new Command()
  .name('catalyst-server')
  .version((createRequire(import.meta.url)('../package.json') as { version: string }).version)
  .description('Catalyst signal server: ingest classifications, sequence, sign, store, stream.')
  .showHelpAfterError();

const dataDirOption = () =>
  new Option('--data-dir <dir>', 'data directory (env CATALYST_DATA_DIR)').default(DEFAULT_DATA_DIR);

program
  .command('serve')
  .description('run the server (first start creates the data directory and prints its keys)')
  .option('-c, --config <file>', 'JSON config file (// comments allowed)')
  .option('--data-dir <dir>', 'data directory (env CATALYST_DATA_DIR, default ./catalyst-data)')
  .option('--host <host>', 'listen address (default 127.0.0.1)')
  .option('--port <port>', 'listen port, 0 = any free (default 8787)')
  .addOption(new Option('--sync <mode>', 'SQLite durability').choices(['normal', 'full']))
  .option('--heartbeat-ms <ms>', 'heartbeat interval')
  .option('--log-level <level>', 'pino level')
  .addOption(
    new Option(
      '--role <role>',
      'cluster mode (needs a cluster block in the config): ingest, gateway or both; absent: single node',
    ).choices(['ingest', 'gateway', 'both']),
  )
  .action((o) =>
    run(async () => {
      const { serve } = await import('./commands/serve.js');
      return serve({
        config: o.config,
        role: o.role,
        flags: {
          data_dir: o.dataDir,
          host: o.host,
          port: o.port,
          sync: o.sync,
          heartbeat_ms: o.heartbeatMs,
          log_level: o.logLevel,
        },
      });
    }),
  );

program
  .command('init')
  .description('create the data directory, database, signing key, a commented config file and the first keys')
  .addOption(dataDirOption())
  .option('--force', 'rewrite the config file of an initialised directory (data is never overwritten)')
  .action((o) =>
    run(async () => {
      const { init } = await import('./commands/init.js');
      print((await init({ dataDir: o.dataDir, force: o.force })).text);
    }),
  );

const keys = program
  .command('keys')
  .description('manage API keys (works while the server runs; with -c and a cluster block: cluster-wide)');
const clusterConfigOption = () =>
  new Option('-c, --config <file>', "config file; if it has a cluster block, the cluster's keys are managed");
/** The config file's cluster block, when -c names one that has it. */
const clusterOf = async (file: string | undefined) =>
  (await import('./commands/cluster-keys.js')).clusterOf(file);
keys
  .command('create')
  .description('create a key and print it once')
  .requiredOption('--name <name>', 'who or what holds it')
  .requiredOption('--scope <scope...>', 'read, publish, admin (repeat or comma-separate)')
  .addOption(dataDirOption())
  .addOption(clusterConfigOption())
  .option('--json', 'print JSON')
  .action((o) =>
    run(async () => {
      const c = await clusterOf(o.config);
      if (c) return print(await (await import('./commands/cluster-keys.js')).clusterKeysCreate(c, o));
      print((await import('./commands/keys.js')).keysCreate(o));
    }),
  );
keys
  .command('list')
  .description('list keys (never their secrets)')
  .addOption(dataDirOption())
  .addOption(clusterConfigOption())
  .option('--json', 'print JSON')
  .action((o) =>
    run(async () => {
      const c = await clusterOf(o.config);
      if (c) return print(await (await import('./commands/cluster-keys.js')).clusterKeysList(c, o));
      print((await import('./commands/keys.js')).keysList(o));
    }),
  );
keys
  .command('revoke <idOrName>')
  .description('revoke a key; a running server closes its sockets within a second')
  .addOption(dataDirOption())
  .addOption(clusterConfigOption())
  .action((key, o) =>
    run(async () => {
      const c = await clusterOf(o.config);
      if (c) return print(await (await import('./commands/cluster-keys.js')).clusterKeysRevoke(c, { key }));
      print((await import('./commands/keys.js')).keysRevoke({ ...o, key }));
    }),
  );
keys
  .command('rotate <idOrName>')
  .description('create a replacement key; the old one keeps working for the grace period, then stops')
  .option('--grace <duration>', 'how long the old key stays valid (30m, 24h, 7d)', '24h')
  .addOption(dataDirOption())
  .addOption(clusterConfigOption())
  .option('--json', 'print JSON')
  .action((key, o) =>
    run(async () => {
      const c = await clusterOf(o.config);
      if (c)
        return print(await (await import('./commands/cluster-keys.js')).clusterKeysRotate(c, { ...o, key }));
      print((await import('./commands/keys.js')).keysRotate({ ...o, key }));
    }),
  );
keys
  .command('signing')
  .description("show the server's signing public key and fingerprint, for friends to pin")
  .addOption(dataDirOption())
  .option('--json', 'print JSON')
  .action((o) => run(async () => print(await (await import('./commands/keys.js')).keysSigning(o))));

program
  .command('publish [file]')
  .description('post classifications from a JSONL file (or - for stdin), reporting each line')
  .option('--url <url>', 'server URL', process.env.CATALYST_URL ?? 'http://127.0.0.1:8787')
  .option('--key-file <file>', 'file holding the publish key (default: env CATALYST_PUBLISH_KEY)')
  // Still accepted, not advertised: a key on the command line is in the process list (ps, /proc) for anyone
  // on the machine, and in the shell's history.
  .addOption(new Option('--key <key>').hideHelp())
  .option('--batch <n>', 'classifications per request', '100')
  .action((file, o) =>
    run(async () => {
      const { publish, publishKey } = await import('./commands/publish.js');
      const key = publishKey({ keyFile: o.keyFile, key: o.key, env: process.env.CATALYST_PUBLISH_KEY });
      for (const w of key.warnings) process.stderr.write(`catalyst-server: warning: ${w}\n`);
      const s = await publish(
        file ?? '-',
        { url: o.url, key: key.key, batch: Number(o.batch) || 100 },
        print,
        progress,
      );
      if (process.stderr.isTTY) process.stderr.write('\n');
      print(`accepted ${s.accepted}, duplicate ${s.duplicate}, rejected ${s.rejected}`);
      return s.rejected ? 1 : 0;
    }),
  );

const db = program.command('db').description('database maintenance (safe while the server runs)');
db.command('backup <file>')
  .description('online, consistent copy via SQLite backup API')
  .addOption(dataDirOption())
  .action((file, o) =>
    run(async () => {
      const msg = await (await import('./commands/db.js')).dbBackup({ dataDir: o.dataDir, file }, progress);
      if (process.stderr.isTTY) process.stderr.write('\n');
      print(msg);
    }),
  );
db.command('prune')
  .description('delete signals older than N days (seqs are never reused)')
  .requiredOption('--keep-days <n>', 'days of history to keep')
  .addOption(dataDirOption())
  .action((o) => run(async () => print((await import('./commands/db.js')).dbPrune(o))));
db.command('check')
  .description('SQLite integrity check plus sequence invariants')
  .addOption(dataDirOption())
  .action((o) =>
    run(async () => {
      const r = (await import('./commands/db.js')).dbCheck(o);
      print(r.lines.join('\n'));
      return r.ok ? 0 : 1;
    }),
  );
db.command('replica-reset')
  .description(
    'gateway only: move a diverged replica aside (kept); the next start re-bootstraps from the cluster',
  )
  .addOption(dataDirOption())
  .action((o) => run(async () => print((await import('./commands/replica.js')).replicaReset(o))));

const outcomes = program
  .command('outcomes')
  .description("signals' outcomes from market data (docs/outcomes.md)");
outcomes
  .command('backfill')
  .description(
    'compute the outcomes of the signals classified from --from to --to (default now), at the data API pace; resumable; the server must be stopped',
  )
  .requiredOption('--from <date>', 'first New York date (YYYY-MM-DD) or an ISO 8601 instant')
  .option('--to <date>', 'last New York date included, or an instant (default: now)')
  .requiredOption('-c, --config <file>', 'the config file with the outcomes block')
  .option('--data-dir <dir>', 'data directory (env CATALYST_DATA_DIR, default: the config)')
  .option('--calls-per-minute <n>', 'data API calls a minute, at most 200 (default 190)')
  .action((o) =>
    run(async () => {
      const m = await import('./commands/outcomes.js');
      print(await m.outcomesBackfill(o, m.progressReporter(process.stderr)));
    }),
  );

program
  .command('stats')
  .description(
    'head, retention, keys and size of a data directory (with -c and a cluster block: of the cluster log)',
  )
  .addOption(dataDirOption())
  .addOption(clusterConfigOption())
  .option('--json', 'print JSON')
  .action((o) =>
    run(async () => {
      const c = await clusterOf(o.config);
      if (c) return print(await (await import('./commands/cluster-stats.js')).clusterStats(c, o));
      print((await import('./commands/db.js')).stats(o));
    }),
  );

program.parseAsync().catch(fail);
